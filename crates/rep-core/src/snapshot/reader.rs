use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::{KindStats, KindSummary, SnapshotRow, SNAPSHOT_HEADER};
use crate::atomic::ArtefactError;
use crate::canonical::row_hash;

/// A snapshot that cannot be written or read as the format requires.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Writing the file failed (I/O or secret guard).
    #[error(transparent)]
    Artefact(#[from] ArtefactError),
    /// The CSV layer failed while writing.
    #[error("cannot write {}: {message}", path.display())]
    Write {
        /// The snapshot file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
    /// The file is not a well-formed snapshot.
    #[error("{}:{line}: {message}", path.display())]
    Malformed {
        /// The snapshot file.
        path: PathBuf,
        /// 1-based line of the record.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// Rows are not in `(entity_kind, watermark, source key)` order.
    #[error("{}:{line}: {message}", path.display())]
    Order {
        /// The snapshot file.
        path: PathBuf,
        /// 1-based line of the record.
        line: u64,
        /// What is out of order.
        message: String,
    },
    /// The same id appears twice in one kind.
    #[error("{}:{line}: entity {entity_kind}/{entity_id} appears twice", path.display())]
    DuplicateId {
        /// The snapshot file.
        path: PathBuf,
        /// 1-based line of the second occurrence.
        line: u64,
        /// Kind.
        entity_kind: String,
        /// Id.
        entity_id: String,
    },
    /// A row's `row_hash` does not match its payload.
    #[error("{}:{line}: row_hash of {entity_kind}/{entity_id} does not match its payload", path.display())]
    RowHash {
        /// The snapshot file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// Kind.
        entity_kind: String,
        /// Id.
        entity_id: String,
    },
}

impl SnapshotError {
    pub(crate) fn write(path: &Path, e: csv::Error) -> SnapshotError {
        SnapshotError::Write {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }

    pub(crate) fn order(path: &Path, line: u64, message: &str) -> SnapshotError {
        SnapshotError::Order {
            path: path.to_path_buf(),
            line,
            message: message.to_string(),
        }
    }

    fn malformed(path: &Path, line: u64, message: impl Into<String>) -> SnapshotError {
        SnapshotError::Malformed {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}

/// Parses snapshot bytes (already read and hashed by the caller) and checks every rule of the
/// format: exact header, five fields, row hashes, order, no duplicate id per kind.
/// Returns the rows and the per-kind summaries recomputed from them.
pub fn parse_snapshot(
    path: &Path,
    bytes: &[u8],
) -> Result<(Vec<SnapshotRow>, Vec<KindSummary>), SnapshotError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| SnapshotError::malformed(path, 1, e.to_string()))?;
    if header.iter().ne(SNAPSHOT_HEADER) {
        return Err(SnapshotError::malformed(
            path,
            1,
            format!("header must be exactly {}", SNAPSHOT_HEADER.join(",")),
        ));
    }
    let mut rows = Vec::new();
    let mut stats: BTreeMap<String, KindStats> = BTreeMap::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut previous: Option<(String, String)> = None;
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            SnapshotError::malformed(path, line, e.to_string())
        })?;
        // Counting lines is linear in the file: do it only for a record that fails.
        let offset = record.position().map(|p| p.byte());
        let line = || offset.map(|o| line_at(bytes, o)).unwrap_or(0);
        let row = SnapshotRow {
            entity_kind: record[0].to_string(),
            entity_id: record[1].to_string(),
            watermark: record[2].to_string(),
            row_hash: record[3].to_string(),
            payload: record[4].to_string(),
        };
        if row_hash(&row.payload) != row.row_hash {
            return Err(SnapshotError::RowHash {
                path: path.to_path_buf(),
                line: line(),
                entity_kind: row.entity_kind,
                entity_id: row.entity_id,
            });
        }
        if let Some((kind, watermark)) = &previous {
            if (kind.as_str(), watermark.as_str())
                > (row.entity_kind.as_str(), row.watermark.as_str())
            {
                return Err(SnapshotError::order(
                    path,
                    line(),
                    "rows are not ordered by (entity_kind, watermark)",
                ));
            }
        }
        if !seen.insert((row.entity_kind.clone(), row.entity_id.clone())) {
            return Err(SnapshotError::DuplicateId {
                path: path.to_path_buf(),
                line: line(),
                entity_kind: row.entity_kind,
                entity_id: row.entity_id,
            });
        }
        previous = Some((row.entity_kind.clone(), row.watermark.clone()));
        stats
            .entry(row.entity_kind.clone())
            .or_insert_with(|| KindStats::new(&row.entity_kind))
            .add(&row);
        rows.push(row);
    }
    Ok((rows, stats.into_values().map(KindStats::finish).collect()))
}

/// 1-based line at which the record starting at `offset` begins. The CSV reader's own line
/// count can lag by one after a CRLF terminator, so the line is derived from the bytes.
fn line_at(bytes: &[u8], offset: u64) -> u64 {
    let mut start = offset as usize;
    while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
        start += 1;
    }
    1 + bytes[..start].iter().filter(|&&b| b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretSet;
    use crate::snapshot::SnapshotWriter;
    use time::macros::datetime;

    fn row(kind: &str, id: &str, payload: &str) -> SnapshotRow {
        SnapshotRow::new(
            kind,
            id,
            datetime!(2026-03-01 00:00:00.5 UTC),
            payload.to_string(),
        )
    }

    #[test]
    fn round_trips_hard_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.csv");
        let mut w = SnapshotWriter::create(&path, &SecretSet::new()).unwrap();
        w.declare_kind("empty");
        let rows = vec![
            row(
                "a",
                "x,\"y\"\r\n",
                r#"{"n":9007199254740993,"s":"a,\"b\"\\\r\n😀"}"#,
            ),
            row("a", "2", r#"{"n":null,"s":""}"#),
        ];
        for r in &rows {
            w.write(r).unwrap();
        }
        let summary = w.finish().unwrap();
        assert_eq!(summary.rows, 2);
        assert_eq!(summary.kinds.len(), 2);
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(b"entity_kind,entity_id,watermark,row_hash,payload\r\n"));
        let (back, kinds) = parse_snapshot(&path, &bytes).unwrap();
        assert_eq!(back, rows);
        assert_eq!(kinds[0], summary.kinds[0]);
    }

    #[test]
    fn refuses_duplicates_and_bad_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.csv");
        let mut w = SnapshotWriter::create(&path, &SecretSet::new()).unwrap();
        w.write(&row("a", "1", "{}")).unwrap();
        assert!(matches!(
            w.write(&row("a", "1", "{}")),
            Err(SnapshotError::DuplicateId { .. })
        ));
        let bad = "entity_kind,entity_id,watermark,row_hash,payload\r\na,1,2026-03-01T00:00:00.000000Z,00,{}\r\n";
        let err = parse_snapshot(&path, bad.as_bytes()).unwrap_err();
        assert!(
            matches!(err, SnapshotError::RowHash { line: 2, .. }),
            "{err:?}"
        );
    }
}
