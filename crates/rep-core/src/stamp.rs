use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::hashing::sha256_hex;

/// The current instant in UTC.
pub fn now_utc() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// The `<ts>` of SPEC.md file names: UTC, second precision, sortable, safe in file names
/// (`20260301T120000Z`).
pub fn file_stamp(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .expect("a UTC instant always formats")
}

/// An instant as every artefact writes it: RFC 3339 in UTC with exactly six fractional
/// digits (`2026-03-01T00:00:00.000000Z`), so that text order equals time order.
pub fn utc_micros(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
        .expect("a UTC instant always formats")
}

/// Parses an RFC 3339 instant with an explicit offset (`Z` or `±hh:mm`).
pub fn parse_rfc3339(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(text, &Rfc3339)
}

/// A new run id: the export's start stamp plus a short hash that separates runs started in the
/// same second (`20260301T120000Z-1a2b3c4d`).
pub fn new_run_id(at: OffsetDateTime) -> String {
    let entropy = format!(
        "{}:{}:{:?}",
        at.unix_timestamp_nanos(),
        std::process::id(),
        std::thread::current().id()
    );
    format!(
        "{}-{}",
        file_stamp(at),
        &sha256_hex(entropy.as_bytes())[..8]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn stamps_are_utc_and_sortable() {
        let t = datetime!(2026-03-01 09:00:00.5 -03:00);
        assert_eq!(file_stamp(t), "20260301T120000Z");
        assert_eq!(utc_micros(t), "2026-03-01T12:00:00.500000Z");
        let id = new_run_id(t);
        assert!(
            id.starts_with("20260301T120000Z-") && id.len() == 25,
            "{id}"
        );
    }
}
