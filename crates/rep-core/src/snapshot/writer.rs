use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::{KindStats, KindSummary, SnapshotError, SnapshotRow, SNAPSHOT_HEADER};
use crate::atomic::{ArtefactError, AtomicFile};
use crate::hashing::FileDigest;
use crate::secret::SecretSet;

/// Streams rows into `snapshot.csv` (RFC 4180: CRLF line ends, quotes only where needed),
/// under a temporary name until [`SnapshotWriter::finish`].
///
/// Rows must arrive grouped by entity kind in ascending order and, within a kind, in
/// ascending watermark order; an id seen twice in one kind is refused. Both rules are what make
/// the same source state and window give a byte-identical file and no row appear twice.
pub struct SnapshotWriter {
    csv: csv::Writer<AtomicFile>,
    secrets: SecretSet,
    stats: BTreeMap<String, KindStats>,
    current_kind: Option<String>,
    last_watermark: String,
    seen_ids: HashSet<String>,
    rows: u64,
}

/// What a finished snapshot holds.
#[derive(Debug, Clone)]
pub struct SnapshotSummary {
    /// Size and SHA-256 of the file.
    pub file: FileDigest,
    /// Total rows.
    pub rows: u64,
    /// Per kind, in file order.
    pub kinds: Vec<KindSummary>,
}

impl SnapshotWriter {
    /// Starts a snapshot at `path` and writes the header.
    pub fn create(path: &Path, secrets: &SecretSet) -> Result<SnapshotWriter, SnapshotError> {
        let file = AtomicFile::create(path)?;
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(file);
        csv.write_record(SNAPSHOT_HEADER)
            .map_err(|e| SnapshotError::write(path, e))?;
        Ok(SnapshotWriter {
            csv,
            secrets: secrets.clone(),
            stats: BTreeMap::new(),
            current_kind: None,
            last_watermark: String::new(),
            seen_ids: HashSet::new(),
            rows: 0,
        })
    }

    /// Declares a kind so that it appears in the summary even with zero rows.
    pub fn declare_kind(&mut self, entity_kind: &str) {
        self.stats
            .entry(entity_kind.to_string())
            .or_insert_with(|| KindStats::new(entity_kind));
    }

    /// Appends one row.
    pub fn write(&mut self, row: &SnapshotRow) -> Result<(), SnapshotError> {
        let path = self.csv.get_ref().path().to_path_buf();
        let line = self.rows + 2;
        if self.current_kind.as_deref() != Some(row.entity_kind.as_str()) {
            if self
                .current_kind
                .as_deref()
                .is_some_and(|k| k >= row.entity_kind.as_str())
            {
                return Err(SnapshotError::order(
                    &path,
                    line,
                    "entity kinds out of order",
                ));
            }
            self.current_kind = Some(row.entity_kind.clone());
            self.last_watermark.clear();
            self.seen_ids.clear();
        }
        if row.watermark < self.last_watermark {
            return Err(SnapshotError::order(
                &path,
                line,
                "watermarks out of order within a kind",
            ));
        }
        if !self.seen_ids.insert(row.entity_id.clone()) {
            return Err(SnapshotError::DuplicateId {
                path,
                line,
                entity_kind: row.entity_kind.clone(),
                entity_id: row.entity_id.clone(),
            });
        }
        for field in [&row.entity_id, &row.payload] {
            self.secrets
                .check(field.as_bytes(), &path)
                .map_err(ArtefactError::from)?;
        }
        self.last_watermark.clone_from(&row.watermark);
        self.csv
            .write_record([
                &row.entity_kind,
                &row.entity_id,
                &row.watermark,
                &row.row_hash,
                &row.payload,
            ])
            .map_err(|e| SnapshotError::write(&path, e))?;
        self.declare_kind(&row.entity_kind);
        self.stats
            .get_mut(&row.entity_kind)
            .expect("declared above")
            .add(row);
        self.rows += 1;
        Ok(())
    }

    /// Flushes and renames the file into place.
    pub fn finish(self) -> Result<SnapshotSummary, SnapshotError> {
        let path = self.csv.get_ref().path().to_path_buf();
        let file = self
            .csv
            .into_inner()
            .map_err(|e| SnapshotError::write(&path, e.into_error().into()))?;
        let digest = file.commit()?;
        Ok(SnapshotSummary {
            file: digest,
            rows: self.rows,
            kinds: self.stats.into_values().map(KindStats::finish).collect(),
        })
    }
}
