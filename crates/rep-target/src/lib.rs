//! The PostgreSQL side of rep: the writer of the self-hosted replica.
//!
//! `rep-target` owns everything that touches the target database named by
//! `REPLICA_TARGET_DB_URL`:
//!
//! - the connection ([`TargetDb::connect`]): TLS only, `sslmode`/`sslrootcert` from the URL, a
//!   few retries, errors that never carry the password;
//! - the schema check against `infra/postgres/hostinger/20260228070000_replication_target_v1.sql`
//!   ([`TargetDb::schema_missing`]);
//! - step 3 of the runbook, [`run_import`]: verify the snapshot, plan it against the target
//!   and write the audit SQL (dry-run), or apply it in one transaction (`--apply`), always
//!   writing the import report;
//! - containment of a run ([`TargetDb::contain_run`], the runbook's SQL) and exact undo of an
//!   applied run ([`TargetDb::undo_run`]);
//! - the reads reconcile compares with ([`TargetDb::window_rows`], [`TargetDb::rows_by_ids`],
//!   [`TargetDb::kinds_of_ids`], [`TargetDb::payloads_equal_jsonb`]).
//!
//! It does not parse snapshots or write reports by itself (that is `rep-core`), does not read
//! the source (`rep-source`), and does not judge reconciliation or the go/no-go gate
//! (`rep-reconcile`, `rep-gate`). It never creates or migrates the schema: an operator applies
//! the SQL file with `psql`.
//!
//! ```no_run
//! use std::path::Path;
//! use rep_core::{Config, ContextLayout};
//! use rep_target::{run_import, ImportRequest, TargetDb};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::load(Path::new("replication.toml"), Path::new("."))?;
//! let layout = ContextLayout::new(".context/runtime");
//!
//! // Dry-run: plans and writes replication-import-<run_id>.sql next to the snapshot.
//! let dir = Path::new(".context/runtime/evidence/replication-20260301T120000Z");
//! let outcome = run_import(&config, &layout, ImportRequest {
//!     snapshot: dir.join("snapshot.csv"),
//!     manifest: dir.join("manifest.json"),
//!     ..ImportRequest::default()
//! })
//! .await;
//! println!("{} (exit {})", outcome.summary, outcome.class.code());
//!
//! // Reads for reconcile.
//! let db = TargetDb::connect(&config.env.target_db, &config.secrets).await?;
//! assert!(db.tls_in_use().await?);
//! let missing = db.schema_missing().await?;
//! assert!(missing.is_empty(), "apply the schema first: {missing:?}");
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod apply;
mod audit_sql;
mod connect;
mod containment;
mod error;
mod import;
mod plan;
mod rollback;
mod rows;
mod schema;
mod sql;
mod undo;

pub use apply::KindApplied;
pub use connect::TargetDb;
pub use error::TargetError;
pub use import::{run_import, ImportRequest};
pub use plan::KindPlan;
pub use rollback::{run_rollback, RollbackRequest};
pub use rows::TargetRow;
pub use schema::SCHEMA_FILE;
pub use sql::APPLY_LOCK_KEY;
pub use undo::UndoSummary;
