//! `rep-snapshot-export`: step 2 of the runbook.
use clap::Parser;
use rep_core::Step;

/// Reads every configured table for the window [start, end) through the REST API and writes
/// snapshot.csv, manifest.json and replication-v1-export-<ts>.json.
#[derive(Parser)]
#[command(name = "rep-snapshot-export", version, about)]
struct Args {
    #[command(flatten)]
    common: rep_cli::CommonArgs,
    /// Inclusive window start, RFC 3339 with an offset (2026-03-01T00:00:00Z).
    #[arg(long, value_name = "ISO")]
    watermark_start: String,
    /// Exclusive window end, RFC 3339 with an offset; not later than now minus the safety lag.
    #[arg(long, value_name = "ISO")]
    watermark_end: String,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    rep_cli::run_with_config(Step::Export, &args.common, |config, layout| async move {
        rep_source::run_export(&config, &layout, &args.watermark_start, &args.watermark_end).await
    })
}
