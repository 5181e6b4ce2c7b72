//! The shared ground of every rep step: configuration, the snapshot format, canonical rows,
//! hashing, manifests, and evidence and report writing.
//!
//! `rep-core` owns the file formats of SPEC.md — `snapshot.csv`, `manifest.json`, the report
//! envelope and the containment checkpoint — and the rules that protect them: every artefact is
//! written atomically (temporary file, then rename) and passes a secret guard first. It does not
//! talk to the network or to a database: the Supabase client lives in `rep-source`, the
//! PostgreSQL writer in `rep-target`.
//!
//! ```
//! use rep_core::{canonicalize, row_hash, SecretSet, SnapshotRow, SnapshotWriter};
//! use time::macros::datetime;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let payload = canonicalize(r#"{"updated_at":"2026-03-01T00:00:00+00:00","id":9007199254740993}"#)?;
//! assert_eq!(payload, r#"{"id":9007199254740993,"updated_at":"2026-03-01T00:00:00+00:00"}"#);
//!
//! let mut writer = SnapshotWriter::create(&dir.path().join("snapshot.csv"), &SecretSet::new())?;
//! let row = SnapshotRow::new("customer", "9007199254740993", datetime!(2026-03-01 00:00 UTC), payload);
//! assert_eq!(row.row_hash, row_hash(&row.payload));
//! writer.write(&row)?;
//! let summary = writer.finish()?;
//! assert_eq!(summary.rows, 1);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod atomic;
mod canonical;
mod checkpoint;
mod config;
mod exit;
mod hashing;
mod layout;
mod manifest;
mod outcome;
mod report;
mod secret;
mod snapshot;
mod stamp;
mod window;

pub use atomic::{write_atomic, ArtefactError, AtomicFile};
pub use canonical::{canonical_json, canonicalize, row_hash};
pub use checkpoint::{Containment, RecordedCheckpoint, CHECKPOINT_STATUS};
pub use config::{
    secrets_from_environment, ApiKey, Config, ConfigError, ConfigProblem, EntityConfig,
    EnvSettings, GateSettings, KeyKind, MigrationsSettings, ReplicationConfig, SourceSettings,
    TargetDbUrl, TlsMode, DEFAULT_CONFIG_FILE, DEFAULT_MIGRATIONS_RPC, ENV_PUBLISHABLE_ALIASES,
};
pub use exit::ExitClass;
pub use hashing::{sha256_hex, FileDigest, HASH_ALGORITHM};
pub use layout::{ContextLayout, CONTEXT_DIR_ENV, DEFAULT_CONTEXT_DIR};
pub use manifest::{
    read_manifest, verify_snapshot, IntegrityError, Manifest, ManifestFile, ManifestKind,
    ManifestSource, ManifestWindow, VerifiedSnapshot, VerifyError, MANIFEST_NAME,
};
pub use outcome::{StepFailure, StepOutcome};
pub use report::{
    Report, ReportDoc, ReportFile, ReportReadError, Step, WrittenReport, REPORT_SCHEMA_VERSION,
};
pub use secret::{Secret, SecretLeak, SecretSet, MIN_GUARDED_SECRET_LEN};
pub use snapshot::{
    parse_snapshot, KindSummary, SnapshotError, SnapshotRow, SnapshotSummary, SnapshotWriter,
    SNAPSHOT_HEADER,
};
pub use stamp::{file_stamp, new_run_id, now_utc, parse_rfc3339, utc_micros};
pub use window::{Window, WindowError};
