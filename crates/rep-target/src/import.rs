use std::path::{Path, PathBuf};

use rep_core::{
    now_utc, read_manifest, utc_micros, verify_snapshot, write_atomic, Config, Containment,
    ContextLayout, ExitClass, FileDigest, Report, ReportDoc, Step, StepFailure, StepOutcome,
    VerifiedSnapshot, VerifyError,
};
use serde_json::json;

use crate::apply::{apply, KindApplied, RunValues};
use crate::audit_sql::{audit_sql_name, render, AuditHeader};
use crate::connect::TargetDb;
use crate::error::TargetError;
use crate::plan::{totals, Plan};
use crate::schema::SCHEMA_FILE;

/// What `rep-import` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// `snapshot.csv` written by the export.
    pub snapshot: PathBuf,
    /// `manifest.json` written with it.
    pub manifest: PathBuf,
    /// Write to the target; without it the step is a dry-run that touches nothing.
    pub apply: bool,
    /// The `READY` preflight report authorising `--apply` (default: the newest one).
    pub preflight_report: Option<PathBuf>,
    /// The dry-run import report of this snapshot (default: the newest dry-run of it).
    pub dry_run_report: Option<PathBuf>,
}

impl From<TargetError> for StepFailure {
    fn from(e: TargetError) -> StepFailure {
        StepFailure::new(e.exit_class(), e.to_string())
    }
}

/// Step 3 of the runbook: verifies the snapshot against its manifest, then plans it against
/// the target and writes the audit SQL (dry-run, the default) or applies it in one
/// transaction (`request.apply`). Always writes `replication-v1-import-<ts>.json`.
///
/// Nothing is sent to the target before the snapshot is verified, and a dry-run only reads
/// (in a read-only transaction). `--apply` is refused unless the newest preflight is `READY`
/// and a successful dry-run of the same run and snapshot exists.
pub async fn run_import(
    config: &Config,
    layout: &ContextLayout,
    request: ImportRequest,
) -> StepOutcome {
    let mut report = Report::new(Step::Import);
    report.set("mode", if request.apply { "apply" } else { "dry_run" });
    report.set("target", config.env.target_db.redacted());
    let result = import(config, layout, &request, &mut report).await;
    let (class, summary) = match result {
        Ok(summary) => (ExitClass::Success, summary),
        Err(f) => (f.class, f.message),
    };
    report.conclude(layout, class, &summary, &config.secrets)
}

async fn import(
    config: &Config,
    layout: &ContextLayout,
    request: &ImportRequest,
    report: &mut Report,
) -> Result<String, StepFailure> {
    let verified = match verify_snapshot(&request.snapshot, &request.manifest) {
        Ok(v) => v,
        Err(e) => return Err(refuse_unverified(config, layout, request, report, e)),
    };
    let run_id = verified.manifest.run_id.clone();
    check_run_id(&run_id)?;
    report.set_run_id(&run_id);
    report.record_snapshot(layout, &request.snapshot, &request.manifest, &verified);
    let values = RunValues {
        run_id: run_id.clone(),
        window_start: verified.window.start_text(),
        window_end: verified.window.end_text(),
        snapshot_sha256: verified.snapshot_digest.sha256.clone(),
        manifest_sha256: verified.manifest_digest.sha256.clone(),
    };
    let kinds: Vec<String> = verified
        .manifest
        .entity_kinds
        .iter()
        .map(|k| k.summary.entity_kind.clone())
        .collect();

    let dry_run = if request.apply {
        let preflight = ready_preflight(layout, request.preflight_report.as_deref())?;
        report.input(
            layout,
            "preflight_report",
            &preflight.path,
            &preflight.digest,
        );
        let dry_run = matching_dry_run(layout, request.dry_run_report.as_deref(), &values)?;
        report.input(layout, "dry_run_report", &dry_run.path, &dry_run.digest);
        Some(dry_run)
    } else {
        None
    };

    let db = TargetDb::connect(&config.env.target_db, &config.secrets).await?;
    tracing::info!(
        target_db = %db.redacted_url(),
        run_id = %run_id,
        rows = verified.rows.len(),
        "connected to the target"
    );
    let missing = db.schema_missing().await?;
    if !missing.is_empty() {
        return Err(StepFailure::new(
            ExitClass::Usage,
            format!(
                "the target schema v1 is not usable (missing {}): apply {SCHEMA_FILE} with psql -v ON_ERROR_STOP=1 -f",
                missing.join(", ")
            ),
        ));
    }
    report.set("target_tls", db.tls_in_use().await?);

    let run = Run {
        config,
        layout,
        db: &db,
        verified: &verified,
        values: &values,
        kinds: &kinds,
    };
    let outcome = match dry_run {
        None => dry_run_step(&run, report, &request.snapshot).await,
        Some(dry_run) => apply_step(&run, report, &dry_run).await,
    };
    db.close().await;
    outcome
}

/// A snapshot that failed verification never reaches the target: the run is contained by
/// a checkpoint only.
fn refuse_unverified(
    config: &Config,
    layout: &ContextLayout,
    request: &ImportRequest,
    report: &mut Report,
    error: VerifyError,
) -> StepFailure {
    let message = error.to_string();
    let claimed_run = read_manifest(&request.manifest).ok().map(|(m, _)| m.run_id);
    if let Some(run_id) = &claimed_run {
        report.set_run_id(run_id);
    }
    // The files as found are evidence of what was refused.
    for (role, path) in [
        ("snapshot", &request.snapshot),
        ("manifest", &request.manifest),
    ] {
        if let Ok(digest) = FileDigest::of_file(path) {
            report.input(layout, role, path, &digest);
        }
    }
    match error {
        VerifyError::Integrity(_) | VerifyError::Snapshot(_) => {
            let containment = Containment {
                step: Step::Import,
                run_id: claimed_run,
                reason: "snapshot_integrity".to_string(),
                detail: message.clone(),
                facts: json!({
                    "snapshot": layout.display_path(&request.snapshot),
                    "manifest": layout.display_path(&request.manifest),
                    "target_written": false,
                }),
            };
            match containment.write(layout, &config.secrets) {
                Ok((path, _)) => report.set("checkpoint", layout.display_path(&path)),
                Err(e) => report.set("checkpoint_error", e.to_string()),
            }
            StepFailure::new(ExitClass::Integrity, message)
        }
        VerifyError::Unreadable { .. } | VerifyError::MalformedManifest { .. } => {
            StepFailure::new(ExitClass::Usage, message)
        }
    }
}

/// The run id names the audit SQL file; anything but a plain name could escape its folder.
fn check_run_id(run_id: &str) -> Result<(), StepFailure> {
    let plain = !run_id.is_empty()
        && run_id.len() <= 128
        && !run_id.starts_with('.')
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(())
    } else {
        Err(StepFailure::new(
            ExitClass::Usage,
            format!("the manifest's run_id {run_id:?} is not a plain name (letters, digits, '-', '_', '.'): use the manifest written by rep-snapshot-export"),
        ))
    }
}

fn read_report(path: &Path, step: Step) -> Result<ReportDoc, StepFailure> {
    ReportDoc::read(path, step).map_err(|e| StepFailure::new(ExitClass::Usage, e.to_string()))
}

fn ready_preflight(layout: &ContextLayout, given: Option<&Path>) -> Result<ReportDoc, StepFailure> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => layout
            .reports_of(Step::Preflight)
            .map_err(|e| {
                StepFailure::new(
                    ExitClass::Runtime,
                    format!("cannot list {}: {e}", layout.reports_dir().display()),
                )
            })?
            .pop()
            .ok_or_else(|| {
                StepFailure::new(
                    ExitClass::Negative,
                    format!(
                        "--apply refused: no preflight report under {}; run rep-preflight and get readiness_status READY first",
                        layout.reports_dir().display()
                    ),
                )
            })?,
    };
    let doc = read_report(&path, Step::Preflight)?;
    match doc.str("readiness_status") {
        Some("READY") => Ok(doc),
        other => Err(StepFailure::new(
            ExitClass::Negative,
            format!(
                "--apply refused: preflight report {} has readiness_status {}; fix its failed checks and run rep-preflight until it is READY",
                layout.display_path(&path),
                other.unwrap_or("(none)")
            ),
        )),
    }
}

/// The dry-run that authorises this apply: the given report, or else the newest dry-run
/// report of this very run and snapshot (a dry-run of another snapshot made since does not
/// hide it).
fn matching_dry_run(
    layout: &ContextLayout,
    given: Option<&Path>,
    values: &RunValues,
) -> Result<ReportDoc, StepFailure> {
    let matches = |doc: &ReportDoc| {
        doc.str("mode") == Some("dry_run")
            && doc.run_id() == Some(values.run_id.as_str())
            && doc.str("snapshot_sha256") == Some(values.snapshot_sha256.as_str())
    };
    let doc = match given {
        Some(path) => {
            let doc = read_report(path, Step::Import)?;
            if !matches(&doc) {
                return Err(StepFailure::new(
                    ExitClass::Negative,
                    format!(
                        "--apply refused: {} is not a dry-run of run {} with snapshot sha256 {} (it has mode {}, run_id {}, snapshot_sha256 {}); run rep-import without --apply on this snapshot first",
                        layout.display_path(path),
                        values.run_id,
                        values.snapshot_sha256,
                        doc.str("mode").unwrap_or("(none)"),
                        doc.run_id().unwrap_or("(none)"),
                        doc.str("snapshot_sha256").unwrap_or("(none)"),
                    ),
                ));
            }
            doc
        }
        None => {
            let reports = layout.reports_of(Step::Import).map_err(|e| {
                StepFailure::new(
                    ExitClass::Runtime,
                    format!("cannot list {}: {e}", layout.reports_dir().display()),
                )
            })?;
            reports
                .iter()
                .rev()
                .filter_map(|p| ReportDoc::read(p, Step::Import).ok())
                .find(|doc| matches(doc))
                .ok_or_else(|| {
                    StepFailure::new(
                        ExitClass::Negative,
                        format!(
                            "--apply refused: no dry-run import report of run {} with snapshot sha256 {}; run rep-import without --apply on this snapshot and review its plan first",
                            values.run_id, values.snapshot_sha256
                        ),
                    )
                })?
        }
    };
    if !doc.flag("success") {
        return Err(StepFailure::new(
            ExitClass::Negative,
            format!(
                "--apply refused: the dry-run {} of this snapshot did not succeed; fix what it reports and run the dry-run again",
                layout.display_path(&doc.path)
            ),
        ));
    }
    Ok(doc)
}

/// What both modes work on once the snapshot is verified and the target reached.
struct Run<'a> {
    config: &'a Config,
    layout: &'a ContextLayout,
    db: &'a TargetDb,
    verified: &'a VerifiedSnapshot,
    values: &'a RunValues,
    kinds: &'a [String],
}

async fn dry_run_step(
    run: &Run<'_>,
    report: &mut Report,
    snapshot: &Path,
) -> Result<String, StepFailure> {
    let Run {
        config,
        layout,
        db,
        verified,
        values,
        kinds,
    } = *run;
    let plan = db.plan_read_only(kinds, &verified.rows).await?;
    report.set("plan", &plan);
    report.set("plan_totals", totals(&plan));
    // The dry-run is where an operator learns that --apply will be refused, not at apply time.
    let recorded = db.run_state(&values.run_id).await?;
    let refusal = recorded
        .as_ref()
        .and_then(|r| r.apply_refusal(&values.snapshot_sha256));
    report.set("recorded_run", &recorded);
    report.set("apply_would_be_refused", refusal.is_some());

    let generated_at = utc_micros(now_utc());
    let metadata = json!({
        "tool": "rep-import audit SQL",
        "mode": "audit_sql",
        "generated_at": generated_at,
        "plan": plan,
    })
    .to_string();
    let script = render(
        values,
        &metadata,
        &AuditHeader {
            generated_at: &generated_at,
            target: db.redacted_url(),
            plan: &plan,
        },
        &verified.rows,
    );
    let dir = snapshot.parent().map(Path::to_path_buf).unwrap_or_default();
    let path = dir.join(audit_sql_name(&values.run_id));
    let digest = write_atomic(&path, script.as_bytes(), &config.secrets)
        .map_err(|e| StepFailure::new(ExitClass::Runtime, e.to_string()))?;
    report.output(layout, "audit_sql", &path, &digest);

    let t = totals(&plan);
    tracing::info!(run_id = %values.run_id, audit_sql = %layout.display_path(&path), "dry-run planned");
    let note = refusal
        .map(|why| format!("; note: --apply of this run will be refused: {why}"))
        .unwrap_or_default();
    Ok(format!(
        "dry-run of run {}: {} new, {} changed, {} unchanged, {} older than the target; nothing was written to the target; audit SQL: {}{note}",
        values.run_id,
        t.new,
        t.changed,
        t.unchanged,
        t.older_than_target,
        layout.display_path(&path)
    ))
}

async fn apply_step(
    run: &Run<'_>,
    report: &mut Report,
    dry_run: &ReportDoc,
) -> Result<String, StepFailure> {
    let Run {
        layout,
        db,
        verified,
        values,
        kinds,
        ..
    } = *run;
    let dry_run_plan: Option<Plan> = dry_run
        .value
        .get("plan")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok());
    let dry_run_path = layout.display_path(&dry_run.path);
    let metadata = |plan: &Plan| {
        json!({
            "tool": "rep-import",
            "tool_version": env!("CARGO_PKG_VERSION"),
            "mode": "apply",
            "dry_run_report": dry_run_path,
            "plan": plan,
        })
        .to_string()
    };
    let applied = match apply(db, values, kinds, &verified.rows, metadata).await {
        Ok(applied) => applied,
        Err(e) => return Err(apply_failed(run, report, e).await),
    };

    report.set("plan", &applied.plan);
    report.set("plan_totals", totals(&applied.plan));
    report.set("dry_run_plan", &dry_run_plan);
    report.set(
        "plan_matches_dry_run",
        dry_run_plan.as_ref() == Some(&applied.plan),
    );
    report.set("applied", &applied.applied);
    let mut total = KindApplied::default();
    for a in applied.applied.values() {
        total.inserted += a.inserted;
        total.updated += a.updated;
        total.unchanged += a.unchanged;
        total.skipped_older += a.skipped_older;
    }
    report.set("rows_inserted", total.inserted);
    report.set("rows_updated", total.updated);
    report.set("rows_unchanged", total.unchanged);
    report.set("rows_skipped_older", total.skipped_older);
    report.set("run_status", "applied");
    Ok(format!(
        "applied run {}: {} inserted, {} updated, {} unchanged, {} skipped as older than the target; run recorded as applied in public.replication_runs_v1",
        values.run_id, total.inserted, total.updated, total.unchanged, total.skipped_older
    ))
}

/// The transaction is gone (rolled back) when this runs. Refusals wrote nothing and are not
/// recorded; real failures are, in a short transaction of their own.
async fn apply_failed(run: &Run<'_>, report: &mut Report, error: TargetError) -> StepFailure {
    let Run {
        config,
        layout,
        db,
        values,
        ..
    } = *run;
    let message = error.to_string();
    match &error {
        TargetError::ApplyBusy | TargetError::RunClosed { .. } => {}
        TargetError::RunOtherSnapshot { .. } => {
            let containment = Containment {
                step: Step::Import,
                run_id: Some(values.run_id.clone()),
                reason: "snapshot_integrity".to_string(),
                detail: message.clone(),
                facts: json!({"snapshot_sha256": values.snapshot_sha256}),
            };
            match containment.write(layout, &config.secrets) {
                Ok((path, _)) => report.set("checkpoint", layout.display_path(&path)),
                Err(e) => report.set("checkpoint_error", e.to_string()),
            }
        }
        _ => {
            report.set("rolled_back", true);
            let recorded = db
                .record_apply_failure(
                    &values.run_id,
                    &message,
                    (&values.window_start, &values.window_end),
                    (&values.snapshot_sha256, &values.manifest_sha256),
                )
                .await;
            report.set("failure_recorded", recorded.is_ok());
            if let Err(e) = recorded {
                tracing::warn!("could not record the failed apply: {e}");
            }
        }
    }
    let class = error.exit_class();
    match error {
        TargetError::Query { .. } => StepFailure::new(
            class,
            format!("{message}; the transaction was rolled back and the target is unchanged"),
        ),
        _ => StepFailure::new(class, message),
    }
}
