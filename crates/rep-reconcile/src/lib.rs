//! Step 4 of the runbook: proves that the replica holds exactly what a snapshot says.
//!
//! `rep-reconcile` owns the comparison of a verified snapshot with the target, row by row and
//! per entity kind, the classification of every difference (content drift, `entity_kind`
//! drift, ids only on one side, and differences a named rule explains), `reconciliation.json`
//! and the reconcile report. It does not read the source (the snapshot is the source's word)
//! and does not write replicated rows; on `anomalia` it only contains the run.
//!
//! ```no_run
//! use rep_core::{Config, ContextLayout};
//! use rep_reconcile::{run_reconcile, ReconcileRequest};
//! # async fn demo() {
//! let config = Config::load("replication.toml".as_ref(), ".".as_ref()).unwrap();
//! let layout = ContextLayout::new(".context/runtime");
//! let outcome = run_reconcile(&config, &layout, &ReconcileRequest {
//!     snapshot: "evidence/replication-20260301T120000Z/snapshot.csv".into(),
//!     manifest: "evidence/replication-20260301T120000Z/manifest.json".into(),
//!     run_id: "20260301T120000Z-1a2b3c4d".into(),
//! }).await;
//! println!("{}", outcome.summary);
//! # }
//! ```
#![deny(missing_docs)]

mod compare;
mod step;

pub use step::{run_reconcile, ReconcileRequest, CLASSIFICATION_ANOMALIA, CLASSIFICATION_OK};
