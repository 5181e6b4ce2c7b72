use time::OffsetDateTime;

use crate::canonical::row_hash;
use crate::stamp::utc_micros;

/// The exact header of `snapshot.csv` (SPEC.md); scripts outside the project parse it.
pub const SNAPSHOT_HEADER: [&str; 5] = [
    "entity_kind",
    "entity_id",
    "watermark",
    "row_hash",
    "payload",
];

/// One row of `snapshot.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRow {
    /// The configured entity kind.
    pub entity_kind: String,
    /// The primary key value as text (a JSON number's digits, or a string's characters).
    pub entity_id: String,
    /// The watermark in UTC with microseconds (`2026-03-01T00:00:00.000000Z`).
    pub watermark: String,
    /// Lowercase hex SHA-256 of `payload`.
    pub row_hash: String,
    /// The whole source row as canonical JSON.
    pub payload: String,
}

impl SnapshotRow {
    /// Builds a row from a canonical payload, computing its hash.
    pub fn new(
        entity_kind: impl Into<String>,
        entity_id: impl Into<String>,
        watermark: OffsetDateTime,
        payload: String,
    ) -> SnapshotRow {
        SnapshotRow {
            entity_kind: entity_kind.into(),
            entity_id: entity_id.into(),
            watermark: utc_micros(watermark),
            row_hash: row_hash(&payload),
            payload,
        }
    }
}
