//! `rep-reconcile`: step 4 of the runbook. Prints `ok` or `anomalia`.

use clap::Parser;
use rep_core::Step;
use rep_reconcile::{run_reconcile, ReconcileRequest};

/// Compares the snapshot with the target for its window, row by row per entity kind; writes
/// reconciliation.json and replication-v1-reconcile-<ts>.json.
#[derive(Parser)]
#[command(name = "rep-reconcile", version, about)]
struct Args {
    #[command(flatten)]
    common: rep_cli::CommonArgs,
    #[command(flatten)]
    input: rep_cli::SnapshotArgs,
    /// The run_id the export printed (also in the manifest).
    #[arg(long, value_name = "ID")]
    run_id: String,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let request = ReconcileRequest {
        snapshot: args.input.snapshot,
        manifest: args.input.manifest,
        run_id: args.run_id,
    };
    rep_cli::run_with_config(Step::Reconcile, &args.common, |config, layout| async move {
        run_reconcile(&config, &layout, &request).await
    })
}
