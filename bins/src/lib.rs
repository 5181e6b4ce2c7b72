//! What the five runbook binaries share: common flags, logging set-up, configuration loading
//! and the mapping of a [`StepOutcome`] to a printed line and an exit code.
//!
//! The binaries hold no replication logic; it lives in `rep-source`, `rep-target`,
//! `rep-reconcile` and `rep-gate`. This crate is not meant to be embedded.
//!
//! ```no_run
//! use clap::Parser;
//! use rep_core::Step;
//!
//! #[derive(Parser)]
//! struct Args {
//!     #[command(flatten)]
//!     common: rep_cli::CommonArgs,
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     let args = Args::parse();
//!     rep_cli::run_with_config(Step::Export, &args.common, |config, layout| async move {
//!         rep_core::StepOutcome::new(rep_core::ExitClass::Success, "nothing to do", None)
//!     })
//! }
//! ```
#![deny(missing_docs)]

use std::future::Future;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use rep_core::{
    secrets_from_environment, Config, ContextLayout, ExitClass, Report, Step, StepOutcome,
    CONTEXT_DIR_ENV, DEFAULT_CONFIG_FILE, DEFAULT_CONTEXT_DIR,
};

/// Flags every step accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// The replication config file (entity kinds, paging, gate); holds no secret.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG_FILE)]
    pub config: PathBuf,
    /// Root of evidence/, reports/ and checkpoints/.
    #[arg(long, value_name = "DIR", env = CONTEXT_DIR_ENV, default_value = DEFAULT_CONTEXT_DIR)]
    pub context_dir: PathBuf,
}

impl CommonArgs {
    /// The context layout.
    pub fn layout(&self) -> ContextLayout {
        ContextLayout::new(&self.context_dir)
    }
}

/// The snapshot a step reads, with its manifest.
#[derive(Debug, Clone, clap::Args)]
pub struct SnapshotArgs {
    /// snapshot.csv written by rep-snapshot-export.
    #[arg(long, value_name = "CSV")]
    pub snapshot: PathBuf,
    /// manifest.json written with it.
    #[arg(long, value_name = "JSON")]
    pub manifest: PathBuf,
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`); stdout carries only the verdict.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// Runs an async step on a fresh runtime.
pub fn block_on<F: Future<Output = StepOutcome>>(future: F) -> StepOutcome {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(future),
        Err(e) => StepOutcome::new(
            ExitClass::Runtime,
            format!("cannot start the async runtime: {e}"),
            None,
        ),
    }
}

/// Loads the configuration from `--config` and `.env` in the working directory, then runs
/// `step`. A configuration error still writes the step's report (`success=false`) and exits 2.
pub fn run_with_config<F, Fut>(step: Step, common: &CommonArgs, run: F) -> ExitCode
where
    F: FnOnce(Config, ContextLayout) -> Fut,
    Fut: Future<Output = StepOutcome>,
{
    init_tracing();
    let layout = common.layout();
    let outcome = match Config::load(&common.config, std::path::Path::new(".")) {
        Ok(config) => block_on(run(config, layout)),
        Err(e) => config_failure(step, &layout, &e.to_string()),
    };
    exit_with(outcome)
}

fn config_failure(step: Step, layout: &ContextLayout, message: &str) -> StepOutcome {
    let secrets = secrets_from_environment(std::path::Path::new("."));
    let line = format!("{message}; fix it and run {} again", step.binary());
    Report::new(step).conclude(layout, ExitClass::Usage, &line, &secrets)
}

/// Prints the outcome (the verdict on stdout, a failure on stderr as one `error:` line) with
/// the report path, and returns the exit code.
pub fn exit_with(outcome: StepOutcome) -> ExitCode {
    let report = outcome
        .report
        .as_ref()
        .map(|p| format!(" [report: {}]", p.display()))
        .unwrap_or_default();
    match outcome.class {
        ExitClass::Success => println!("{}{report}", outcome.summary),
        ExitClass::Negative => println!("{}{report}", outcome.summary),
        _ => eprintln!("error: {}{report}", outcome.summary),
    }
    ExitCode::from(outcome.class.code())
}
