use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::hashing::{FileDigest, HASH_ALGORITHM};
use crate::snapshot::{parse_snapshot, KindSummary, SnapshotError, SnapshotRow};
use crate::stamp::parse_rfc3339;
use crate::window::Window;

/// The `manifest` value naming this document.
pub const MANIFEST_NAME: &str = "replication-v1-manifest";

/// `manifest.json`: names the run, the window, the source and every kind, and pins the
/// snapshot file by size, row count and SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_NAME`].
    pub manifest: String,
    /// Format version of this document.
    pub schema_version: u32,
    /// The run this snapshot belongs to.
    pub run_id: String,
    /// When the export finished (UTC, microseconds).
    pub created_at: String,
    /// The window exported.
    pub window: ManifestWindow,
    /// The source (host only, never a key).
    pub source: ManifestSource,
    /// Algorithm of the file hash, `row_hash` and digests.
    pub hash_algorithm: String,
    /// The snapshot file.
    pub snapshot: ManifestFile,
    /// Per entity kind, sorted by kind.
    pub entity_kinds: Vec<ManifestKind>,
}

/// The exported window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestWindow {
    /// Inclusive start, UTC with microseconds.
    pub watermark_start: String,
    /// Exclusive end, UTC with microseconds.
    pub watermark_end: String,
}

/// Where the rows came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSource {
    /// The Supabase project host.
    pub project_host: String,
    /// The REST schema read.
    pub schema: String,
}

/// The snapshot file pinned by the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// File name, relative to the manifest's directory.
    pub file: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Data rows (header excluded).
    pub rows: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// One entity kind in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestKind {
    /// Source table.
    pub table: String,
    /// Key column.
    pub key_column: String,
    /// Watermark column.
    pub watermark_column: String,
    /// The count the server reported for the window (`Prefer: count=exact`).
    pub source_count: u64,
    /// Rows, watermarks and digest of the kind.
    #[serde(flatten)]
    pub summary: KindSummary,
}

impl Manifest {
    /// The window, parsed back.
    pub fn window(&self) -> Option<Window> {
        let start = parse_rfc3339(&self.window.watermark_start).ok()?;
        let end = parse_rfc3339(&self.window.watermark_end).ok()?;
        Some(Window::from_bounds(start, end))
    }
}

/// A manifest or snapshot that does not match what was recorded: evidence was changed.
#[derive(Debug, thiserror::Error)]
#[error("integrity error: {}: {subject} is {found} but the manifest says {expected}; the evidence changed after export: re-run the export for this window", file.display())]
pub struct IntegrityError {
    /// The file that differs.
    pub file: PathBuf,
    /// What differs (`sha256`, `bytes`, `row count of customer`...).
    pub subject: String,
    /// What the manifest records.
    pub expected: String,
    /// What the file holds.
    pub found: String,
}

/// Why a snapshot could not be verified against its manifest.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The snapshot differs from its manifest.
    #[error(transparent)]
    Integrity(#[from] IntegrityError),
    /// A row-level rule of the format failed (bad row hash, order, duplicate).
    #[error("integrity error: {0}; the snapshot changed after export: re-run the export for this window")]
    Snapshot(SnapshotError),
    /// A file cannot be read.
    #[error("cannot read {}: {source}; check the path", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The manifest is not a manifest.
    #[error("{} is not a replication manifest: {message}", path.display())]
    MalformedManifest {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl VerifyError {
    /// Changed evidence is an integrity error (3); a missing or unreadable file, a usage error (2).
    pub fn exit_class(&self) -> crate::ExitClass {
        match self {
            VerifyError::Integrity(_) | VerifyError::Snapshot(_) => crate::ExitClass::Integrity,
            VerifyError::Unreadable { .. } | VerifyError::MalformedManifest { .. } => {
                crate::ExitClass::Usage
            }
        }
    }
}

/// A snapshot whose bytes matched its manifest; the rows are the ones hashed.
#[derive(Debug, Clone)]
pub struct VerifiedSnapshot {
    /// The manifest.
    pub manifest: Manifest,
    /// Digest of `manifest.json`.
    pub manifest_digest: FileDigest,
    /// Digest of `snapshot.csv`.
    pub snapshot_digest: FileDigest,
    /// The window of the manifest.
    pub window: Window,
    /// Every row, in file order.
    pub rows: Vec<SnapshotRow>,
}

fn mismatch(
    file: &Path,
    subject: impl Into<String>,
    expected: impl ToString,
    found: impl ToString,
) -> IntegrityError {
    IntegrityError {
        file: file.to_path_buf(),
        subject: subject.into(),
        expected: expected.to_string(),
        found: found.to_string(),
    }
}

/// Reads a manifest.
pub fn read_manifest(path: &Path) -> Result<(Manifest, FileDigest), VerifyError> {
    let bytes = std::fs::read(path).map_err(|source| VerifyError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| VerifyError::MalformedManifest {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if manifest.manifest != MANIFEST_NAME || manifest.hash_algorithm != HASH_ALGORITHM {
        return Err(VerifyError::MalformedManifest {
            path: path.to_path_buf(),
            message: format!(
                "expected manifest {MANIFEST_NAME:?} with hash_algorithm {HASH_ALGORITHM:?}"
            ),
        });
    }
    Ok((manifest, FileDigest::of_bytes(&bytes)))
}

/// Checks `snapshot` against `manifest`: SHA-256 and size of the file first (any changed byte
/// stops here), then every row's hash, the order, and per kind the count, watermarks and digest.
/// The rows returned are parsed from the very bytes that were hashed.
pub fn verify_snapshot(
    snapshot: &Path,
    manifest_path: &Path,
) -> Result<VerifiedSnapshot, VerifyError> {
    let (manifest, manifest_digest) = read_manifest(manifest_path)?;
    let bytes = std::fs::read(snapshot).map_err(|source| VerifyError::Unreadable {
        path: snapshot.to_path_buf(),
        source,
    })?;
    let digest = FileDigest::of_bytes(&bytes);
    if digest.sha256 != manifest.snapshot.sha256 {
        return Err(mismatch(
            snapshot,
            "sha256",
            &manifest.snapshot.sha256,
            &digest.sha256,
        )
        .into());
    }
    if digest.bytes != manifest.snapshot.bytes {
        return Err(mismatch(
            snapshot,
            "size in bytes",
            manifest.snapshot.bytes,
            digest.bytes,
        )
        .into());
    }
    let (rows, kinds) = parse_snapshot(snapshot, &bytes).map_err(VerifyError::Snapshot)?;
    if rows.len() as u64 != manifest.snapshot.rows {
        return Err(mismatch(snapshot, "row count", manifest.snapshot.rows, rows.len()).into());
    }
    let window = manifest
        .window()
        .ok_or_else(|| VerifyError::MalformedManifest {
            path: manifest_path.to_path_buf(),
            message: "window bounds are not RFC 3339 instants".to_string(),
        })?;
    for kind in &kinds {
        let recorded = manifest
            .entity_kinds
            .iter()
            .find(|k| k.summary.entity_kind == kind.entity_kind)
            .ok_or_else(|| mismatch(snapshot, "entity kinds", "no such kind", &kind.entity_kind))?;
        let r = &recorded.summary;
        let label = |what: &str| format!("{what} of {}", kind.entity_kind);
        if r.row_count != kind.row_count {
            return Err(mismatch(snapshot, label("row count"), r.row_count, kind.row_count).into());
        }
        if r.digest != kind.digest {
            return Err(mismatch(snapshot, label("digest"), &r.digest, &kind.digest).into());
        }
        if r.min_watermark != kind.min_watermark || r.max_watermark != kind.max_watermark {
            return Err(mismatch(
                snapshot,
                label("watermark range"),
                format!("{:?}..{:?}", r.min_watermark, r.max_watermark),
                format!("{:?}..{:?}", kind.min_watermark, kind.max_watermark),
            )
            .into());
        }
        for bound in [&kind.min_watermark, &kind.max_watermark]
            .into_iter()
            .flatten()
        {
            let inside = parse_rfc3339(bound)
                .map(|t| window.contains(t))
                .unwrap_or(false);
            if !inside {
                return Err(
                    mismatch(snapshot, label("watermark"), "inside the window", bound).into(),
                );
            }
        }
    }
    for recorded in &manifest.entity_kinds {
        let present = kinds
            .iter()
            .any(|k| k.entity_kind == recorded.summary.entity_kind);
        if recorded.summary.row_count > 0 && !present {
            return Err(mismatch(
                snapshot,
                format!("row count of {}", recorded.summary.entity_kind),
                recorded.summary.row_count,
                0,
            )
            .into());
        }
    }
    Ok(VerifiedSnapshot {
        manifest,
        manifest_digest,
        snapshot_digest: digest,
        window,
        rows,
    })
}
