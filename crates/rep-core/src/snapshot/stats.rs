use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::SnapshotRow;

/// What the snapshot holds for one entity kind; recorded in the manifest and recomputed by
/// every reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindSummary {
    /// The entity kind.
    pub entity_kind: String,
    /// Rows of this kind.
    pub row_count: u64,
    /// Smallest watermark, `None` when there are no rows.
    pub min_watermark: Option<String>,
    /// Largest watermark, `None` when there are no rows.
    pub max_watermark: Option<String>,
    /// SHA-256 over `["<entity_id>","<watermark>","<row_hash>"]\n` for each row in file order:
    /// a digest of the kind's rows that does not depend on how the CSV was quoted.
    pub digest: String,
}

pub(crate) struct KindStats {
    entity_kind: String,
    row_count: u64,
    min_watermark: Option<String>,
    max_watermark: Option<String>,
    hasher: Sha256,
}

impl KindStats {
    pub(crate) fn new(entity_kind: &str) -> KindStats {
        KindStats {
            entity_kind: entity_kind.to_string(),
            row_count: 0,
            min_watermark: None,
            max_watermark: None,
            hasher: Sha256::new(),
        }
    }

    pub(crate) fn add(&mut self, row: &SnapshotRow) {
        self.row_count += 1;
        if self
            .min_watermark
            .as_deref()
            .is_none_or(|m| row.watermark.as_str() < m)
        {
            self.min_watermark = Some(row.watermark.clone());
        }
        if self
            .max_watermark
            .as_deref()
            .is_none_or(|m| row.watermark.as_str() > m)
        {
            self.max_watermark = Some(row.watermark.clone());
        }
        let line = serde_json::to_string(&[&row.entity_id, &row.watermark, &row.row_hash])
            .expect("strings always serialize");
        self.hasher.update(line.as_bytes());
        self.hasher.update(b"\n");
    }

    pub(crate) fn finish(self) -> KindSummary {
        KindSummary {
            entity_kind: self.entity_kind,
            row_count: self.row_count,
            min_watermark: self.min_watermark,
            max_watermark: self.max_watermark,
            digest: hex::encode(self.hasher.finalize()),
        }
    }
}
