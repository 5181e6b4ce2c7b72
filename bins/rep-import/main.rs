//! `rep-import`: step 3 of the runbook (dry-run by default, `--apply` to write).
use std::path::PathBuf;

use clap::Parser;
use rep_core::Step;
use rep_target::{run_import, ImportRequest};

/// Verifies a snapshot against its manifest and plans (dry-run) or applies (--apply) it to the
/// target in one transaction; writes the audit SQL and replication-v1-import-<ts>.json.
#[derive(Parser)]
#[command(name = "rep-import", version, about)]
struct Args {
    #[command(flatten)]
    common: rep_cli::CommonArgs,
    #[command(flatten)]
    input: rep_cli::SnapshotArgs,
    /// Write to the target (refused without a READY preflight and a dry-run of this snapshot).
    #[arg(long)]
    apply: bool,
    /// The READY preflight report authorising --apply (default: the newest one).
    #[arg(long, value_name = "JSON")]
    preflight_report: Option<PathBuf>,
    /// The dry-run import report of this snapshot (default: the newest one).
    #[arg(long, value_name = "JSON")]
    dry_run_report: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let request = ImportRequest {
        snapshot: args.input.snapshot,
        manifest: args.input.manifest,
        apply: args.apply,
        preflight_report: args.preflight_report,
        dry_run_report: args.dry_run_report,
    };
    rep_cli::run_with_config(Step::Import, &args.common, |config, layout| async move {
        run_import(&config, &layout, request).await
    })
}
