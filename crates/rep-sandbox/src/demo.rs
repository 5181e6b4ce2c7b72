//! The runbook on demo data: what `rep-demo` runs and what the end-to-end tests drive.

use std::path::{Path, PathBuf};
use std::process::Command;

use rep_core::{ContextLayout, ReportDoc, Step};

use crate::{Result, SandboxError, SourceSandbox, TargetSandbox};

/// The five step binaries, in runbook order.
pub const STEP_BINARIES: [&str; 5] = [
    "rep-preflight",
    "rep-snapshot-export",
    "rep-import",
    "rep-reconcile",
    "rep-go-no-go",
];

/// The demo window: every demo row's watermark lies in it except the few placed outside on
/// purpose.
pub const DEMO_WINDOW: (&str, &str) = ("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");

const TARGET_SCHEMA_SQL: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../infra/postgres/hostinger/20260228070000_replication_target_v1.sql"
));
const DEMO_CONFIG: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/demo/replication.toml"
));
const DEMO_SYNC_REPORT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/demo/syn-go-no-go-v1.json"
));

/// The folder `[migrations] dir` names in the demo's `replication.toml`.
const DEMO_MIGRATIONS_DIR: &str = "migrations";

/// `fixtures/demo/migrations/`, file by file: exactly the versions `fixtures/source/migrations.sql`
/// marks as applied on the source, so the demo's preflight finds nothing pending.
const DEMO_MIGRATIONS: [(&str, &str); 3] = [
    (
        "20260105090000_create_customers.sql",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/demo/migrations/20260105090000_create_customers.sql"
        )),
    ),
    (
        "20260112093000_create_orders.sql",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/demo/migrations/20260112093000_create_orders.sql"
        )),
    ),
    (
        "20260120101500_create_events.sql",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/demo/migrations/20260120101500_create_events.sql"
        )),
    ),
];

/// Variables a step reads from the environment before `.env`; cleared for the children so an
/// operator's own shell cannot point the demo at a real project.
const ENV_VARS_CLEARED: [&str; 7] = [
    "SUPABASE_PROJECT_URL",
    "SUPABASE_SERVICE_ROLE_KEY",
    "SUPABASE_PUBLISHABLE_KEY",
    "SUPABASE_ANOM_PUBLIC_KEY",
    "SUPABASE_ANON_KEY",
    "REPLICA_TARGET_DB_URL",
    "REP_CONTEXT_DIR",
];

/// Where the step binaries are.
#[derive(Debug, Clone)]
pub struct StepBinaries {
    dir: PathBuf,
}

impl StepBinaries {
    /// Binaries in `dir`.
    pub fn in_dir(dir: impl Into<PathBuf>) -> StepBinaries {
        StepBinaries { dir: dir.into() }
    }

    /// The path of one binary.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The binaries not present.
    pub fn missing(&self) -> Vec<&'static str> {
        STEP_BINARIES
            .into_iter()
            .filter(|b| !self.path(b).is_file())
            .collect()
    }
}

/// One step as run: the command line an operator would type, and what it printed.
#[derive(Debug, Clone)]
pub struct StepRun {
    /// `rep-import --snapshot … --manifest …`.
    pub command_line: String,
    /// The process exit code.
    pub exit_code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error (logs and `error:` lines).
    pub stderr: String,
}

/// A source and a target sandbox with a working folder holding `.env`, `replication.toml`, the
/// sync gate report and the local `migrations/` folder, the target schema applied: everything
/// the runbook needs.
pub struct DemoEnvironment {
    /// The source (PostgreSQL behind the PostgREST-protocol server).
    pub source: SourceSandbox,
    /// The TLS target.
    pub target: TargetSandbox,
    workdir: PathBuf,
}

impl DemoEnvironment {
    /// Starts both sandboxes and prepares `workdir` (created if missing).
    pub fn start(workdir: &Path) -> Result<DemoEnvironment> {
        std::fs::create_dir_all(workdir).map_err(|e| SandboxError::io(workdir, e))?;
        let source = SourceSandbox::start(Default::default())?;
        let target = TargetSandbox::start()?;
        let schema = workdir.join("replication_target_v1.sql");
        write(&schema, TARGET_SCHEMA_SQL)?;
        target.apply_sql_file(&schema)?;
        std::fs::remove_file(&schema).map_err(|e| SandboxError::io(&schema, e))?;
        let keys = source.keys();
        let dotenv = format!(
            "# Written by rep-demo for its throwaway sandbox.\nSUPABASE_PROJECT_URL={}\nSUPABASE_SERVICE_ROLE_KEY={}\nSUPABASE_PUBLISHABLE_KEY={}\nREPLICA_TARGET_DB_URL={}\n",
            source.project_url(),
            keys.secret,
            keys.publishable,
            target.db_url()
        );
        write(&workdir.join(".env"), &dotenv)?;
        write(&workdir.join("replication.toml"), DEMO_CONFIG)?;
        write(&workdir.join("syn-go-no-go-v1.json"), DEMO_SYNC_REPORT)?;
        let migrations = workdir.join(DEMO_MIGRATIONS_DIR);
        std::fs::create_dir_all(&migrations).map_err(|e| SandboxError::io(&migrations, e))?;
        for (name, text) in DEMO_MIGRATIONS {
            write(&migrations.join(name), text)?;
        }
        Ok(DemoEnvironment {
            source,
            target,
            workdir: workdir.to_path_buf(),
        })
    }

    /// The local migrations folder of the working folder (`[migrations] dir`), for tests
    /// that add a migration the source lacks.
    pub fn migrations_dir(&self) -> PathBuf {
        self.workdir.join(DEMO_MIGRATIONS_DIR)
    }

    /// The working folder the steps run in.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// The context layout the steps write to (`<workdir>/.context/runtime`).
    pub fn layout(&self) -> ContextLayout {
        ContextLayout::new(self.workdir.join(rep_core::DEFAULT_CONTEXT_DIR))
    }

    /// Every secret value the sandbox handed to the steps (keys, the target password and URL),
    /// for tests that prove none of them leaks.
    pub fn secret_values(&self) -> Vec<String> {
        let keys = self.source.keys();
        vec![
            keys.secret.clone(),
            keys.publishable.clone(),
            keys.service_role_jwt.clone(),
            keys.anon_jwt.clone(),
            self.target.password().to_string(),
            self.target.db_url(),
        ]
    }

    /// Runs one step binary in the working folder. `args` are relative to it.
    pub fn run_step(&self, binaries: &StepBinaries, name: &str, args: &[&str]) -> Result<StepRun> {
        let program = binaries.path(name);
        let mut command = Command::new(&program);
        command.args(args).current_dir(&self.workdir);
        for var in ENV_VARS_CLEARED {
            command.env_remove(var);
        }
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "info");
        }
        let output = command
            .output()
            .map_err(|e| SandboxError::io(&program, e))?;
        Ok(StepRun {
            command_line: std::iter::once(name)
                .chain(args.iter().copied())
                .collect::<Vec<_>>()
                .join(" "),
            exit_code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// The newest report of `step`, relative to the working folder.
    pub fn newest_report(&self, step: Step) -> Option<PathBuf> {
        let layout = self.layout();
        let newest = layout.reports_of(step).ok()?.pop()?;
        newest
            .strip_prefix(&self.workdir)
            .ok()
            .map(Path::to_path_buf)
    }

    /// Runs the five steps in order (import twice: dry-run, then `--apply`) over `window`,
    /// stopping at the first step that fails. `echo` prints each command line before it runs
    /// and its stdout after, as an operator would see them.
    pub fn run_runbook(
        &self,
        binaries: &StepBinaries,
        window: (&str, &str),
        echo: bool,
    ) -> Result<Runbook> {
        let mut runbook = Runbook::default();
        let mut step = |name: &str, args: Vec<String>| -> Result<bool> {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            if echo {
                println!(
                    "$ {}",
                    std::iter::once(name)
                        .chain(args.iter().copied())
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
            let run = self.run_step(binaries, name, &args)?;
            if echo {
                print!("{}", run.stdout);
                if run.exit_code != 0 {
                    eprint!("{}", run.stderr);
                }
            }
            let ok = run.exit_code == 0;
            runbook.steps.push(run);
            Ok(ok)
        };
        let report = |s: Step| -> String {
            self.newest_report(s)
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };

        if !step("rep-preflight", vec![])? {
            return Ok(runbook);
        }
        if !step(
            "rep-snapshot-export",
            vec![
                "--watermark-start".into(),
                window.0.into(),
                "--watermark-end".into(),
                window.1.into(),
            ],
        )? {
            return Ok(runbook);
        }
        let export_report = report(Step::Export);
        let export = ReportDoc::read(&self.workdir.join(&export_report), Step::Export)
            .map_err(|e| SandboxError::Demo(e.to_string()))?;
        let run_id = export.run_id().unwrap_or_default().to_string();
        let layout = self.layout();
        let relative = |role: &str| -> Result<String> {
            let file = export
                .file(role)
                .ok_or_else(|| SandboxError::Demo(format!("the export report names no {role}")))?;
            let path = layout.resolve(&file.path);
            Ok(path
                .strip_prefix(&self.workdir)
                .unwrap_or(&path)
                .display()
                .to_string())
        };
        let (snapshot, manifest) = (relative("snapshot")?, relative("manifest")?);
        runbook.run_id = Some(run_id.clone());
        runbook.evidence_dir = Path::new(&snapshot).parent().map(|p| self.workdir.join(p));

        let import_args = vec![
            "--snapshot".to_string(),
            snapshot.clone(),
            "--manifest".into(),
            manifest.clone(),
        ];
        if !step("rep-import", import_args.clone())? {
            return Ok(runbook);
        }
        let mut apply_args = import_args;
        apply_args.push("--apply".into());
        if !step("rep-import", apply_args)? {
            return Ok(runbook);
        }
        if !step(
            "rep-reconcile",
            vec![
                "--snapshot".into(),
                snapshot,
                "--manifest".into(),
                manifest,
                "--run-id".into(),
                run_id,
            ],
        )? {
            return Ok(runbook);
        }
        let gate_ok = step(
            "rep-go-no-go",
            vec![
                "--preflight-report".into(),
                report(Step::Preflight),
                "--export-report".into(),
                export_report,
                "--import-report".into(),
                report(Step::Import),
                "--reconcile-report".into(),
                report(Step::Reconcile),
            ],
        )?;
        let gate = ReportDoc::read(&self.workdir.join(report(Step::GoNoGo)), Step::GoNoGo)
            .map_err(|e| SandboxError::Demo(e.to_string()))?;
        runbook.decision = gate.str("decision").map(str::to_string);
        runbook.go = gate_ok && runbook.decision.as_deref() == Some("GO");
        Ok(runbook)
    }
}

/// What a runbook run produced.
#[derive(Debug, Clone, Default)]
pub struct Runbook {
    /// Every step run, in order.
    pub steps: Vec<StepRun>,
    /// The run id the export assigned.
    pub run_id: Option<String>,
    /// The evidence folder of the run.
    pub evidence_dir: Option<PathBuf>,
    /// The gate's `decision`, when the gate ran.
    pub decision: Option<String>,
    /// True when the gate said `GO` and exited 0.
    pub go: bool,
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| SandboxError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded list is written by hand: it must name every file of the fixture folder.
    #[test]
    fn embedded_migrations_are_the_fixture_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo/migrations");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = DEMO_MIGRATIONS.iter().map(|(name, _)| *name).collect();
        assert_eq!(on_disk, embedded);
        assert!(DEMO_CONFIG.contains(&format!("dir = \"{DEMO_MIGRATIONS_DIR}\"")));
    }
}
