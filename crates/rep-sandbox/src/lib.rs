//! Local stand-ins for the two ends of a replication, for tests and the demo.
//!
//! This crate owns:
//! - [`PgCluster`]: a throwaway PostgreSQL cluster (`initdb` + `pg_ctl`) on a free loopback
//!   port in a temporary directory, optionally TLS-only with a generated CA, stopped and
//!   deleted on drop. When run as root the server runs as the OS user `postgres`.
//! - [`PostgrestServer`]: an HTTP server speaking the read side of PostgREST under
//!   `/rest/v1/<table>` and its calls of functions without arguments under
//!   `POST /rest/v1/rpc/<function>`, behind the Supabase gateway's API-key rules
//!   ([`SandboxKeys`]), with the row cap, `Range`/`Content-Range`, counts, `Prefer: timezone`,
//!   filter grammar and error bodies of the real thing. Bodies are rendered by PostgreSQL's
//!   `json_agg`, as PostgREST does, so values arrive exactly as Supabase sends them.
//! - [`SourceSandbox`] (a fake Supabase project loaded with `fixtures/source/*.sql`) and
//!   [`TargetSandbox`] (a TLS-only replica database with a `replicator` login).
//! - [`DemoEnvironment`]: both sandboxes plus a working folder ready for the five step
//!   binaries, which the `rep-demo` binary and end-to-end tests drive.
//!
//! It does not own anything production code runs: no replication logic, no client for the
//! REST API (that is `rep-source`), no target writer (`rep-target`). Writes through the REST
//! API (POST/PATCH/DELETE on tables), function arguments, resource embedding, JSON paths and
//! full-text search are not implemented by the stand-in.
//!
//! The API is blocking; async work runs on private runtimes, so it can be called from plain
//! tests and from inside `#[tokio::test]` alike.
//!
//! ```no_run
//! use rep_sandbox::{SourceOptions, SourceSandbox, TargetSandbox};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let source = SourceSandbox::start(SourceOptions::default())?;
//! let target = TargetSandbox::start()?;
//! // Point a replication step at the sandboxes.
//! let status = std::process::Command::new("rep-preflight")
//!     .env("SUPABASE_PROJECT_URL", source.project_url())
//!     .env("SUPABASE_SERVICE_ROLE_KEY", &source.keys().secret)
//!     .env("SUPABASE_PUBLISHABLE_KEY", &source.keys().publishable)
//!     .env("REPLICA_TARGET_DB_URL", target.db_url())
//!     .status()?;
//! println!("preflight exited with {status}");
//! // Both servers stop and their directories are removed when the values drop.
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod blocking;
mod cluster;
mod demo;
mod error;
mod postgrest;
mod sandbox;
mod secret;
mod tls;

pub use cluster::{free_port, ClusterOptions, PgCluster};
pub use demo::{DemoEnvironment, Runbook, StepBinaries, StepRun, DEMO_WINDOW, STEP_BINARIES};
pub use error::{Result, SandboxError};
pub use postgrest::{FaultPlan, GatewayConfig, PostgrestServer, SandboxKeys};
pub use sandbox::{
    demo_source_sql, migrations_source_sql, SourceOptions, SourceSandbox, TargetSandbox,
    SOURCE_TIMEZONE, TARGET_TIMEZONE,
};
