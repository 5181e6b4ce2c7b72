//! `rep-demo`: the whole runbook on local demo data, ending with the gate's decision.
//!
//! Starts the sandbox (source PostgreSQL behind a PostgREST-protocol server, TLS target),
//! writes `.env` and `replication.toml` into its working folder, runs the five step binaries in
//! order printing each command as an operator would type it, prints the decision and the
//! evidence folder, and stops every server it started.
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::Parser;
use rep_sandbox::{DemoEnvironment, StepBinaries, DEMO_WINDOW};

/// Runs the replication runbook against a throwaway local sandbox.
#[derive(Parser)]
#[command(name = "rep-demo", version, about)]
struct Args {
    /// Working folder for .env, replication.toml and the evidence (emptied first).
    #[arg(long, value_name = "DIR", default_value = "target/rep-demo")]
    workdir: PathBuf,
    /// Folder holding the five step binaries (default: next to rep-demo, built if missing).
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => code,
        Err(line) => {
            eprintln!("error: {line}");
            ExitCode::from(4)
        }
    }
}

fn run(args: &Args) -> Result<ExitCode, String> {
    let binaries = locate_binaries(args.bin_dir.as_deref())?;
    if args.workdir.exists() {
        std::fs::remove_dir_all(&args.workdir)
            .map_err(|e| format!("cannot empty {}: {e}", args.workdir.display()))?;
    }
    println!(
        "# starting the sandbox: source PostgreSQL + PostgREST-protocol API, TLS target PostgreSQL"
    );
    let demo = DemoEnvironment::start(&args.workdir).map_err(|e| e.to_string())?;
    println!(
        "# working folder {} (.env, replication.toml)",
        args.workdir.display()
    );
    println!("$ cd {}", args.workdir.display());
    let runbook = demo
        .run_runbook(&binaries, DEMO_WINDOW, true)
        .map_err(|e| e.to_string())?;
    drop(demo);
    println!();
    let decision = runbook
        .decision
        .as_deref()
        .unwrap_or("NO-GO (the runbook stopped early)");
    println!("decision: {decision}");
    if let Some(dir) = &runbook.evidence_dir {
        println!("evidence: {}", dir.display());
    }
    println!(
        "reports:  {}",
        args.workdir.join(".context/runtime/reports").display()
    );
    Ok(if runbook.go {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The step binaries next to this one; under `cargo run` they are built first when missing,
/// because `cargo run --bin rep-demo` builds only this binary.
fn locate_binaries(explicit: Option<&Path>) -> Result<StepBinaries, String> {
    let dir = match explicit {
        Some(d) => d.to_path_buf(),
        None => std::env::current_exe()
            .map_err(|e| format!("cannot locate rep-demo itself: {e}"))?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    let binaries = StepBinaries::in_dir(&dir);
    if binaries.missing().is_empty() || explicit.is_some() {
        return check(binaries);
    }
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut command = Command::new(cargo);
        command.args(["build", "-p", "rep-cli", "--bins"]);
        if !cfg!(debug_assertions) {
            command.arg("--release");
        }
        println!(
            "# building the step binaries: cargo build -p rep-cli --bins{}",
            if cfg!(debug_assertions) {
                ""
            } else {
                " --release"
            }
        );
        let status = command
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err(
                "building the step binaries failed: run cargo build -p rep-cli --bins and retry"
                    .into(),
            );
        }
    }
    check(binaries)
}

fn check(binaries: StepBinaries) -> Result<StepBinaries, String> {
    match binaries.missing().as_slice() {
        [] => Ok(binaries),
        missing => Err(format!(
            "step binaries not found: {} (build them with cargo build --release -p rep-cli --bins, or pass --bin-dir)",
            missing.join(", ")
        )),
    }
}
