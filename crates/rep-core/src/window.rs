use time::{Duration, OffsetDateTime};

use crate::stamp::{parse_rfc3339, utc_micros};

/// A watermark window `[start, end)`, both ends in UTC with microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    start: OffsetDateTime,
    end: OffsetDateTime,
}

/// Why a window was refused. Each variant says which bound and what to do.
#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    /// A bound is not RFC 3339 with an explicit offset.
    #[error("--{flag} {value:?} is not an RFC 3339 instant with an explicit offset: write it like 2026-03-01T00:00:00Z or 2026-03-01T00:00:00-03:00")]
    Unparsable {
        /// `watermark-start` or `watermark-end`.
        flag: &'static str,
        /// The text given.
        value: String,
    },
    /// A bound carries more than microsecond precision, which no artefact could record.
    #[error("--{flag} {value:?} has sub-microsecond digits: give at most 6 fractional digits")]
    TooPrecise {
        /// `watermark-start` or `watermark-end`.
        flag: &'static str,
        /// The text given.
        value: String,
    },
    /// `end <= start`.
    #[error("--watermark-end {end} is not after --watermark-start {start}: the window [start, end) would be empty")]
    Empty {
        /// Normalised start.
        start: String,
        /// Normalised end.
        end: String,
    },
    /// `end` is later than now minus the safety lag.
    #[error("--watermark-end {end} is later than now minus the safety lag ({latest}): rows of transactions still in flight could be skipped; choose an end at or before {latest}")]
    TooRecent {
        /// Normalised end.
        end: String,
        /// The latest end allowed now.
        latest: String,
    },
}

impl Window {
    /// Parses and validates a window given on the command line.
    pub fn parse(
        start: &str,
        end: &str,
        now: OffsetDateTime,
        safety_lag: Duration,
    ) -> Result<Window, WindowError> {
        let start = parse_bound("watermark-start", start)?;
        let end = parse_bound("watermark-end", end)?;
        let window = Window { start, end };
        if end <= start {
            return Err(WindowError::Empty {
                start: window.start_text(),
                end: window.end_text(),
            });
        }
        let latest = now - safety_lag;
        if end > latest {
            return Err(WindowError::TooRecent {
                end: window.end_text(),
                latest: utc_micros(latest),
            });
        }
        Ok(window)
    }

    /// Builds a window from instants already validated elsewhere (e.g. read back from a manifest).
    pub fn from_bounds(start: OffsetDateTime, end: OffsetDateTime) -> Window {
        Window { start, end }
    }

    /// Inclusive start.
    pub fn start(&self) -> OffsetDateTime {
        self.start
    }

    /// Exclusive end.
    pub fn end(&self) -> OffsetDateTime {
        self.end
    }

    /// Start in the artefact format.
    pub fn start_text(&self) -> String {
        utc_micros(self.start)
    }

    /// End in the artefact format.
    pub fn end_text(&self) -> String {
        utc_micros(self.end)
    }

    /// True when `at` lies in `[start, end)`.
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.start <= at && at < self.end
    }
}

fn parse_bound(flag: &'static str, value: &str) -> Result<OffsetDateTime, WindowError> {
    let at = parse_rfc3339(value).map_err(|_| WindowError::Unparsable {
        flag,
        value: value.to_string(),
    })?;
    if at.nanosecond() % 1_000 != 0 {
        return Err(WindowError::TooPrecise {
            flag,
            value: value.to_string(),
        });
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-10 00:00:00 UTC);

    #[test]
    fn normalises_offsets_to_utc() {
        let w = Window::parse(
            "2026-03-01T00:00:00-03:00",
            "2026-03-02T00:00:00Z",
            NOW,
            Duration::minutes(5),
        )
        .unwrap();
        assert_eq!(w.start_text(), "2026-03-01T03:00:00.000000Z");
        assert!(w.contains(datetime!(2026-03-01 03:00:00 UTC)));
        assert!(!w.contains(datetime!(2026-03-02 00:00:00 UTC)));
    }

    #[test]
    fn refuses_bad_windows() {
        let lag = Duration::minutes(5);
        let err = |s, e| Window::parse(s, e, NOW, lag).unwrap_err();
        assert!(matches!(
            err("2026-03-01T00:00:00", "2026-03-02T00:00:00Z"),
            WindowError::Unparsable { .. }
        ));
        assert!(matches!(
            err("2026-03-02T00:00:00Z", "2026-03-01T00:00:00Z"),
            WindowError::Empty { .. }
        ));
        assert!(matches!(
            err("2026-03-01T00:00:00Z", "2026-03-09T23:58:00Z"),
            WindowError::TooRecent { .. }
        ));
        assert!(matches!(
            err("2026-03-01T00:00:00.1234567Z", "2026-03-02T00:00:00Z"),
            WindowError::TooPrecise { .. }
        ));
    }
}
