//! `rep-go-no-go`: step 5 of the runbook. Prints `GO` or `NO-GO`.
use std::path::PathBuf;

use clap::Parser;
use rep_gate::{run_go_no_go, GateRequest};

/// Judges the four reports of a cycle and re-verifies every evidence file they name; writes
/// replication-v1-go-no-go-<ts>.json with the decision and the promotion window.
#[derive(Parser)]
#[command(name = "rep-go-no-go", version, about)]
struct Args {
    #[command(flatten)]
    common: rep_cli::CommonArgs,
    /// replication-v1-preflight-<ts>.json.
    #[arg(long, value_name = "JSON")]
    preflight_report: PathBuf,
    /// replication-v1-export-<ts>.json.
    #[arg(long, value_name = "JSON")]
    export_report: PathBuf,
    /// replication-v1-import-<ts>.json of the apply.
    #[arg(long, value_name = "JSON")]
    import_report: PathBuf,
    /// replication-v1-reconcile-<ts>.json.
    #[arg(long, value_name = "JSON")]
    reconcile_report: PathBuf,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    rep_cli::init_tracing();
    let layout = args.common.layout();
    let secrets = rep_core::secrets_from_environment(std::path::Path::new("."));
    let request = GateRequest {
        preflight: args.preflight_report,
        export: args.export_report,
        import: args.import_report,
        reconcile: args.reconcile_report,
    };
    rep_cli::exit_with(run_go_no_go(&layout, &secrets, &request))
}
