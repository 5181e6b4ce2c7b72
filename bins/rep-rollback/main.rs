//! `rep-rollback`: containment. Undoes one applied run exactly, without restoring the whole
//! database.
use clap::Parser;
use rep_core::Step;
use rep_target::{run_rollback, RollbackRequest};

/// Restores the rows an applied run changed to what they were before it (inserted rows are
/// deleted, updated rows get their before-images back), marks the run rolled_back and writes
/// replication-v1-rollback-<ts>.json and a corrigir checkpoint. Refused when a later run has
/// changed any of the same rows: undo that run first.
#[derive(Parser)]
#[command(name = "rep-rollback", version, about)]
struct Args {
    #[command(flatten)]
    common: rep_cli::CommonArgs,
    /// The run_id of the applied run to undo.
    #[arg(long, value_name = "ID")]
    run_id: String,
    /// Why the run is undone; recorded in the run's metadata and the report.
    #[arg(long, value_name = "TEXT")]
    reason: String,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let request = RollbackRequest {
        run_id: args.run_id,
        reason: args.reason,
    };
    rep_cli::run_with_config(Step::Rollback, &args.common, |config, layout| async move {
        run_rollback(&config, &layout, &request).await
    })
}
