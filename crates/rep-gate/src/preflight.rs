use std::path::{Path, PathBuf};

use rep_core::{
    secrets_from_environment, write_atomic, Config, Containment, ContextLayout, ExitClass,
    FileDigest, Report, SecretSet, Step, StepOutcome,
};
use rep_source::{RowSource, SupabaseClient};
use rep_target::TargetDb;
use serde_json::Value;

use crate::check::Check;
use crate::migrations;

/// `readiness_status` when no check failed.
pub const READY: &str = "READY";
/// `readiness_status` otherwise.
pub const NOT_READY: &str = "NOT_READY";
/// The upstream sync gate report this preflight reads.
pub const SYNC_GATE_REPORT: &str = "syn:go-no-go:v1";

/// What `rep-preflight` checks.
#[derive(Debug, Clone)]
pub struct PreflightRequest {
    /// The replication config file.
    pub config_path: PathBuf,
    /// Where `.env` is read from (the working directory).
    pub env_dir: PathBuf,
}

/// Step 1: runs every check, writes the preflight report, and contains the cycle when the
/// result is `NOT_READY`. A configuration that cannot be loaded is a failed check too, so the
/// operator always gets the full list; the exit code is then 2 (configuration error).
pub async fn run_preflight(layout: &ContextLayout, request: &PreflightRequest) -> StepOutcome {
    let mut report = Report::new(Step::Preflight);
    let mut checks = Vec::new();

    let config = Config::load(&request.config_path, &request.env_dir);
    let secrets = match &config {
        Ok(c) => c.secrets.clone(),
        Err(_) => secrets_from_environment(&request.env_dir),
    };
    match &config {
        Ok(c) => {
            checks.push(Check::pass(
                "config",
                format!(
                    "{} entity kinds in {}; source {} with {}; target {}",
                    c.replication.entities.len(),
                    request.config_path.display(),
                    c.env.project_host(),
                    c.env.service_role_key.label(),
                    c.env.target_db.redacted()
                ),
            ));
            report.set("source", serde_json::json!({"project_host": c.env.project_host(), "key": c.env.service_role_key.label()}));
            report.set("target", c.env.target_db.redacted());
        }
        Err(e) => checks.push(Check::fail("config", e.to_string())),
    }
    if let Ok(digest) = FileDigest::of_file(&request.config_path) {
        report.input(layout, "config", &request.config_path, &digest);
    }
    checks.push(evidence_dirs_writable(layout, &secrets));
    match &config {
        Ok(c) => {
            checks.extend(target_checks(c).await);
            let source = source_checks(c).await;
            // Asking an unreachable source again would only repeat its retries and its error.
            let reachable = source
                .iter()
                .any(|check| check.name == "source_reachable" && !check.failed());
            checks.extend(source);
            checks.push(migrations::check(c, reachable).await);
            checks.push(sync_gate(c));
        }
        Err(_) => {
            for name in [
                "target_tls",
                "target_schema",
                "source_reachable",
                migrations::NAME,
                "sync_gate",
            ] {
                checks.push(Check::fail(
                    name,
                    "not checked: the configuration is invalid",
                ));
            }
        }
    }

    let failed: Vec<&Check> = checks.iter().filter(|c| c.failed()).collect();
    let ready = failed.is_empty();
    let status = if ready { READY } else { NOT_READY };
    report.set("readiness_status", status);
    report.set("checks", &checks);
    let (class, summary) = if ready {
        (
            ExitClass::Success,
            format!("preflight {READY}: {} checks passed", checks.len()),
        )
    } else {
        let class = if config.is_err() {
            ExitClass::Usage
        } else {
            ExitClass::Negative
        };
        let first = failed[0];
        let more = match failed.len() {
            1 => String::new(),
            n => format!(" (and {} more failed checks)", n - 1),
        };
        (
            class,
            format!(
                "preflight {NOT_READY}: {} failed: {}{more}; fix it and run rep-preflight again",
                first.name, first.detail
            ),
        )
    };
    let outcome = report.conclude(layout, class, &summary, &secrets);
    if ready {
        return outcome;
    }
    Containment {
        step: Step::Preflight,
        run_id: None,
        reason: "preflight_not_ready".to_string(),
        detail: outcome.summary.clone(),
        facts: Value::Null,
    }
    .record(layout, &secrets, outcome)
}

fn evidence_dirs_writable(layout: &ContextLayout, secrets: &SecretSet) -> Check {
    const NAME: &str = "evidence_dirs_writable";
    if let Err(e) = layout.ensure() {
        return Check::fail(
            NAME,
            format!(
                "cannot create the folders under {}: {e}",
                layout.root().display()
            ),
        );
    }
    for dir in [
        layout.evidence_root(),
        layout.reports_dir(),
        layout.checkpoints_dir(),
    ] {
        let probe = dir.join(".rep-preflight-probe");
        let written = write_atomic(&probe, b"probe\n", secrets);
        let _ = std::fs::remove_file(&probe);
        if let Err(e) = written {
            return Check::fail(NAME, e.to_string());
        }
    }
    Check::pass(
        NAME,
        format!(
            "evidence, reports and checkpoints under {} are writable",
            layout.root().display()
        ),
    )
}

async fn target_checks(config: &Config) -> Vec<Check> {
    let db = match TargetDb::connect(&config.env.target_db, &config.secrets).await {
        Ok(db) => db,
        Err(e) => {
            return vec![
                Check::fail("target_tls", e.to_string()),
                Check::fail("target_schema", "not checked: the target is unreachable"),
            ]
        }
    };
    let tls = match db.tls_in_use().await {
        Ok(true) => Check::pass(
            "target_tls",
            format!(
                "connected over TLS (sslmode={})",
                config.env.target_db.tls().as_str()
            ),
        ),
        Ok(false) => Check::fail(
            "target_tls",
            "the target session is not encrypted: enable ssl on the server",
        ),
        Err(e) => Check::fail("target_tls", e.to_string()),
    };
    let schema = match db.schema_missing().await {
        Ok(missing) if missing.is_empty() => Check::pass("target_schema", "replication target schema v1 is applied"),
        Ok(missing) => Check::fail(
            "target_schema",
            format!(
                "missing {}: apply infra/postgres/hostinger/20260228070000_replication_target_v1.sql with psql -v ON_ERROR_STOP=1 -f",
                missing.join(", ")
            ),
        ),
        Err(e) => Check::fail("target_schema", e.to_string()),
    };
    vec![tls, schema]
}

async fn source_checks(config: &Config) -> Vec<Check> {
    let client = match SupabaseClient::new(&config.env, &config.replication.source) {
        Ok(c) => c,
        Err(e) => return vec![Check::fail("source_reachable", e.to_string())],
    };
    let mut checks = Vec::new();
    let mut reachable = true;
    for entity in &config.replication.entities {
        let name = format!("source_table:{}", entity.kind);
        match client.probe(entity).await {
            Ok(()) => checks.push(Check::pass(
                name,
                format!(
                    "{} readable with {} and {}",
                    entity.table, entity.key, entity.watermark
                ),
            )),
            Err(e) => {
                reachable &= e.exit_class() != ExitClass::Runtime;
                checks.push(Check::fail(name, e.to_string()));
            }
        }
    }
    let summary = if reachable {
        Check::pass(
            "source_reachable",
            format!(
                "{} answered with {}",
                config.env.project_host(),
                config.env.service_role_key.label()
            ),
        )
    } else {
        Check::fail(
            "source_reachable",
            format!(
                "{} did not answer: check SUPABASE_PROJECT_URL and the network",
                config.env.project_host()
            ),
        )
    };
    checks.insert(0, summary);
    checks
}

fn sync_gate(config: &Config) -> Check {
    const NAME: &str = "sync_gate";
    let gate = &config.replication.gate;
    let not_go = |detail: String| {
        if gate.sync_report_required {
            Check::fail(NAME, detail)
        } else {
            Check::warn(
                NAME,
                format!("{detail} (not required: [gate] sync_report_required = false)"),
            )
        }
    };
    let Some(path) = &gate.sync_report else {
        return not_go(format!(
            "no {SYNC_GATE_REPORT} report is configured ([gate] sync_report)"
        ));
    };
    match read_sync_report(path) {
        Ok(decision) if decision == "GO" => Check::pass(
            NAME,
            format!("{SYNC_GATE_REPORT} at {} is GO", path.display()),
        ),
        Ok(decision) => not_go(format!(
            "{SYNC_GATE_REPORT} at {} is {decision}, not GO",
            path.display()
        )),
        Err(why) => not_go(format!("{SYNC_GATE_REPORT} at {}: {why}", path.display())),
    }
}

/// The `decision` of an upstream sync gate report, after checking it is one.
fn read_sync_report(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot be read ({e})"))?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| format!("is not JSON ({e})"))?;
    let named = ["report", "gate", "name"]
        .iter()
        .any(|k| doc.get(*k).and_then(Value::as_str) == Some(SYNC_GATE_REPORT));
    if !named {
        return Err(format!(
            "is not a {SYNC_GATE_REPORT} report (no report/gate field naming it)"
        ));
    }
    doc.get("decision")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| "has no decision field".to_string())
}
