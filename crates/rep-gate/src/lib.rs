//! The two judgements that bracket a replication cycle: preflight (step 1) and the go/no-go
//! gate (step 5).
//!
//! `rep-gate` owns the list of checks each judgement makes, their `pass`/`fail`/`warn`
//! outcomes, the verdicts `READY`/`NOT_READY` and `GO`/`NO-GO`, the promotion window, and the
//! containment checkpoint written on a negative verdict. It does not move rows: it asks
//! `rep-source` and `rep-target` whether they can, and reads the reports the other steps wrote.
//!
//! ```no_run
//! use rep_core::{ContextLayout, SecretSet};
//! use rep_gate::{run_go_no_go, GateRequest};
//!
//! let layout = ContextLayout::new(".context/runtime");
//! let outcome = run_go_no_go(&layout, &SecretSet::new(), &GateRequest {
//!     preflight: "reports/replication-v1-preflight-20260301T115500Z.json".into(),
//!     export: "reports/replication-v1-export-20260301T120000Z.json".into(),
//!     import: "reports/replication-v1-import-20260301T120500Z.json".into(),
//!     reconcile: "reports/replication-v1-reconcile-20260301T121000Z.json".into(),
//! });
//! println!("{} (exit {})", outcome.summary, outcome.class.code());
//! ```
#![deny(missing_docs)]

mod check;
mod go_no_go;
mod migrations;
mod preflight;

pub use check::{Check, CheckStatus};
pub use go_no_go::{run_go_no_go, GateRequest, GO, NO_GO, PROMOTION_GO_CYCLES};
pub use preflight::{run_preflight, PreflightRequest, NOT_READY, READY, SYNC_GATE_REPORT};
