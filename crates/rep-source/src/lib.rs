//! The Supabase side of rep: a PostgREST client that reads one watermark window of each
//! configured table exactly once, and the snapshot export step built on it.
//!
//! `rep-source` owns the REST protocol — which header carries which kind of key, the keyset
//! query over `(watermark, key)` with PostgREST's quoting rules, the server's silent row cap,
//! `Content-Range` counts, retries with backoff — and step 2 of the runbook,
//! [`run_export`], which streams the rows into `snapshot.csv` and pins it with
//! `manifest.json`. It does not own the snapshot format, the manifest or the report
//! envelope (all in `rep-core`), nor anything on the target side (`rep-target`).
//!
//! ```no_run
//! use std::path::Path;
//! use rep_core::{Config, ContextLayout, SnapshotRow};
//! use rep_source::{run_export, RowSource, SupabaseClient};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::load(Path::new("replication.toml"), Path::new("."))?;
//!
//! // Preflight: every table readable with its key and watermark columns.
//! let client = SupabaseClient::new(&config.env, &config.replication.source)?;
//! for entity in &config.replication.entities {
//!     client.probe(entity).await?;
//! }
//!
//! // The export step: snapshot.csv, manifest.json and the report.
//! let layout = ContextLayout::new(".context/runtime");
//! let outcome = run_export(&config, &layout, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z").await;
//! println!("{}", outcome.summary);
//! std::process::exit(i32::from(outcome.class.code()));
//! # }
//! ```
#![deny(missing_docs)]

mod client;
mod error;
mod export;
mod postgrest;
mod source;

pub use client::SupabaseClient;
pub use error::{PostgrestError, SourceError};
pub use export::run_export;
pub use source::{KindRead, RowSink, RowSource};
