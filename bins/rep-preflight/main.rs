//! `rep-preflight`: step 1 of the runbook. Prints `READY` or `NOT_READY` and the report path.
use clap::Parser;
use rep_gate::{run_preflight, PreflightRequest};

/// Checks configuration, target (TLS and schema), source tables, the sync gate and the
/// evidence folders; writes replication-v1-preflight-<ts>.json.
#[derive(Parser)]
#[command(name = "rep-preflight", version, about)]
struct Args {
    #[command(flatten)]
    common: rep_cli::CommonArgs,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    rep_cli::init_tracing();
    let layout = args.common.layout();
    let request = PreflightRequest {
        config_path: args.common.config.clone(),
        env_dir: ".".into(),
    };
    rep_cli::exit_with(rep_cli::block_on(run_preflight(&layout, &request)))
}
