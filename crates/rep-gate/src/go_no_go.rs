use std::collections::BTreeSet;
use std::path::PathBuf;

use rep_core::{
    Containment, ContextLayout, ExitClass, FileDigest, Report, ReportDoc, ReportReadError,
    SecretSet, Step, StepOutcome,
};
use serde_json::json;

use crate::check::Check;
use crate::preflight::READY;

/// `decision` when every check passed.
pub const GO: &str = "GO";
/// `decision` otherwise.
pub const NO_GO: &str = "NO-GO";
/// Consecutive `GO` cycles (distinct runs) needed before promotion.
pub const PROMOTION_GO_CYCLES: usize = 2;

/// The four reports the gate judges.
#[derive(Debug, Clone)]
pub struct GateRequest {
    /// `replication-v1-preflight-<ts>.json`.
    pub preflight: PathBuf,
    /// `replication-v1-export-<ts>.json`.
    pub export: PathBuf,
    /// `replication-v1-import-<ts>.json` (the apply).
    pub import: PathBuf,
    /// `replication-v1-reconcile-<ts>.json`.
    pub reconcile: PathBuf,
}

struct Reports {
    preflight: ReportDoc,
    export: ReportDoc,
    import: ReportDoc,
    reconcile: ReportDoc,
}

/// Step 5: `GO` only when every check of SPEC.md holds, including that every evidence file the
/// four reports name still has its recorded hash. A tampered file makes the decision `NO-GO`
/// with exit code 3. The report also says whether the promotion window is open.
pub fn run_go_no_go(
    layout: &ContextLayout,
    secrets: &SecretSet,
    request: &GateRequest,
) -> StepOutcome {
    let mut report = Report::new(Step::GoNoGo);
    let reports = match read_reports(request) {
        Ok(r) => r,
        Err(e) => {
            let line = format!("{e}");
            report.set("decision", NO_GO);
            return finish(layout, secrets, report, ExitClass::Usage, line, None);
        }
    };
    for (role, doc) in [
        ("preflight_report", &reports.preflight),
        ("export_report", &reports.export),
        ("import_report", &reports.import),
        ("reconcile_report", &reports.reconcile),
    ] {
        report.input(layout, role, &doc.path, &doc.digest);
    }
    let run_id = reports.export.run_id().unwrap_or_default().to_string();
    if !run_id.is_empty() {
        report.set_run_id(&run_id);
    }

    let mut checks = verdict_checks(&reports);
    checks.extend(chain_checks(&reports));
    checks.push(containment_check(layout, &run_id));
    let tampered = evidence_check(layout, &reports);
    let integrity_failed = tampered.failed();
    checks.push(tampered);

    let go = checks.iter().all(|c| !c.failed());
    let decision = if go { GO } else { NO_GO };
    // A reconcile report without the counter cannot vouch for a clean streak.
    let unclassified = reports.reconcile.count("unclassified_anomaly_count");
    let (streak, streak_clean) = go_streak(layout, go, &run_id, unclassified);
    let window_open = streak >= PROMOTION_GO_CYCLES && streak_clean;

    report.set("decision", decision);
    report.set("checks", &checks);
    report.set("snapshot_sha256", reports.export.str("snapshot_sha256"));
    report.set("unclassified_anomaly_count", unclassified);
    report.set("consecutive_go_cycles", streak);
    report.set("promotion_window_open", window_open);
    report.set(
        "promotion",
        json!({
            "window_open": window_open,
            "consecutive_go_cycles": streak,
            "required_go_cycles": PROMOTION_GO_CYCLES,
            "unclassified_anomalies_in_streak": !streak_clean,
        }),
    );

    if go {
        let line = format!(
            "decision {GO}: run_id {run_id}, {} checks passed; promotion window {} ({streak} consecutive GO cycles)",
            checks.len(),
            if window_open { "open" } else { "closed" }
        );
        return finish(
            layout,
            secrets,
            report,
            ExitClass::Success,
            line,
            Some(&run_id),
        );
    }
    let failed: Vec<&Check> = checks.iter().filter(|c| c.failed()).collect();
    let line = format!(
        "decision {NO_GO}: {} failed: {}{}; the run stays contained until a new complete cycle passes",
        failed[0].name,
        failed[0].detail,
        if failed.len() > 1 { format!(" (and {} more failed checks)", failed.len() - 1) } else { String::new() }
    );
    let class = if integrity_failed {
        ExitClass::Integrity
    } else {
        ExitClass::Negative
    };
    finish(layout, secrets, report, class, line, Some(&run_id))
}

fn finish(
    layout: &ContextLayout,
    secrets: &SecretSet,
    report: Report,
    class: ExitClass,
    line: String,
    run_id: Option<&str>,
) -> StepOutcome {
    let outcome = report.conclude(layout, class, &line, secrets);
    if class == ExitClass::Success {
        return outcome;
    }
    Containment {
        step: Step::GoNoGo,
        run_id: run_id.filter(|r| !r.is_empty()).map(str::to_string),
        reason: "go_no_go_no_go".to_string(),
        detail: outcome.summary.clone(),
        facts: serde_json::Value::Null,
    }
    .record(layout, secrets, outcome)
}

fn read_reports(request: &GateRequest) -> Result<Reports, ReportReadError> {
    Ok(Reports {
        preflight: ReportDoc::read(&request.preflight, Step::Preflight)?,
        export: ReportDoc::read(&request.export, Step::Export)?,
        import: ReportDoc::read(&request.import, Step::Import)?,
        reconcile: ReportDoc::read(&request.reconcile, Step::Reconcile)?,
    })
}

fn verdict_checks(r: &Reports) -> Vec<Check> {
    let status = r.preflight.str("readiness_status").unwrap_or("(missing)");
    let mode = r.import.str("mode").unwrap_or("(missing)");
    let classification = r.reconcile.str("classification").unwrap_or("(missing)");
    let zero = |key: &str| r.reconcile.count(key) == Some(0);
    let counters = [
        "entity_kind_drift_count",
        "content_drift_count",
        "only_source_unexpected_ids",
        "only_target_unexpected_ids",
    ];
    let nonzero: Vec<String> = counters
        .iter()
        .filter(|k| !zero(k))
        .map(|k| {
            format!(
                "{k}={}",
                r.reconcile
                    .value
                    .get(*k)
                    .map(|v| v.to_string())
                    .unwrap_or("missing".into())
            )
        })
        .collect();
    vec![
        Check::expect(
            "preflight_ready",
            status == READY,
            format!("readiness_status {status}"),
        ),
        Check::expect(
            "export_succeeded",
            r.export.flag("success"),
            format!("export success={}", r.export.flag("success")),
        ),
        Check::expect(
            "import_applied",
            mode == "apply" && r.import.flag("success"),
            format!("import mode={mode} success={}", r.import.flag("success")),
        ),
        Check::expect(
            "reconcile_ok",
            classification == "ok" && nonzero.is_empty(),
            if nonzero.is_empty() {
                format!("classification {classification}, zero drift, zero unexpected ids")
            } else {
                format!("classification {classification}, {}", nonzero.join(", "))
            },
        ),
    ]
}

fn chain_checks(r: &Reports) -> Vec<Check> {
    let run_ids: BTreeSet<Option<&str>> = [&r.export, &r.import, &r.reconcile]
        .iter()
        .map(|d| d.run_id())
        .collect();
    let same_run = run_ids.len() == 1 && !run_ids.contains(&None);
    let snapshot_of = |doc: &ReportDoc| doc.file("snapshot").map(|f| f.sha256);
    let snapshots: BTreeSet<Option<String>> = [&r.export, &r.import, &r.reconcile]
        .iter()
        .map(|d| snapshot_of(d))
        .collect();
    let same_snapshot = snapshots.len() == 1 && !snapshots.contains(&None);
    let preflight_used = r.import.file("preflight_report").map(|f| f.sha256);
    let preflight_chained = preflight_used.as_deref() == Some(r.preflight.digest.sha256.as_str());
    vec![
        Check::expect(
            "same_run",
            same_run,
            format!(
                "run_id of export, import, reconcile: {}",
                join(run_ids.iter().map(|r| r.unwrap_or("(none)").to_string()))
            ),
        ),
        Check::expect(
            "same_snapshot",
            same_snapshot,
            format!(
                "snapshot sha256 of export, import, reconcile: {}",
                join(
                    snapshots
                        .iter()
                        .map(|s| s.clone().unwrap_or("(none)".into()))
                )
            ),
        ),
        Check::expect(
            "preflight_chained",
            preflight_chained,
            if preflight_chained {
                "the apply was authorised by this preflight report".to_string()
            } else {
                "the import report does not name this preflight report (by sha256) as its authorisation".to_string()
            },
        ),
    ]
}

/// A run contained at any step (anomalia, integrity, rollback, an earlier `NO-GO`) stays
/// `NO-GO`, even when its four reports look fine: only a new complete cycle can pass.
fn containment_check(layout: &ContextLayout, run_id: &str) -> Check {
    const NAME: &str = "run_not_contained";
    match Containment::recorded_for(layout, run_id) {
        Ok(found) if found.is_empty() => Check::pass(
            NAME,
            format!("no containment checkpoint names run {run_id}"),
        ),
        Ok(found) => Check::fail(
            NAME,
            format!(
                "run {run_id} was contained ({}): start a new complete cycle",
                found
                    .iter()
                    .map(|c| format!(
                        "{} at {} in {}",
                        c.reason,
                        c.step,
                        layout.display_path(&c.path)
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
        Err(e) => Check::fail(
            NAME,
            format!("cannot read {}: {e}", layout.checkpoints_dir().display()),
        ),
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(" / ")
}

/// Re-hashes every file named by the four reports.
fn evidence_check(layout: &ContextLayout, r: &Reports) -> Check {
    const NAME: &str = "evidence_intact";
    let mut checked = 0;
    let mut problems = Vec::new();
    for doc in [&r.preflight, &r.export, &r.import, &r.reconcile] {
        for file in doc.files("inputs").into_iter().chain(doc.files("outputs")) {
            let path = layout.resolve(&file.path);
            checked += 1;
            match FileDigest::of_file(&path) {
                Ok(d) if d.sha256 == file.sha256 => {}
                Ok(_) => problems.push(format!(
                    "{} changed since {} recorded it",
                    file.path,
                    doc.str("report").unwrap_or("?")
                )),
                Err(e) => problems.push(format!("{} cannot be read ({e})", file.path)),
            }
        }
    }
    if problems.is_empty() {
        Check::pass(
            NAME,
            format!("{checked} evidence files match their recorded sha256"),
        )
    } else {
        Check::fail(
            NAME,
            format!("tampered or missing evidence: {}", problems.join("; ")),
        )
    }
}

/// Consecutive `GO` cycles ending with this one, counted over distinct runs, and whether
/// none of them carried an unclassified anomaly.
fn go_streak(
    layout: &ContextLayout,
    go: bool,
    run_id: &str,
    unclassified: Option<u64>,
) -> (usize, bool) {
    if !go {
        return (0, unclassified == Some(0));
    }
    let mut runs = BTreeSet::from([run_id.to_string()]);
    let mut clean = unclassified == Some(0);
    let earlier = layout.reports_of(Step::GoNoGo).unwrap_or_default();
    for path in earlier.iter().rev() {
        let Ok(doc) = ReportDoc::read(path, Step::GoNoGo) else {
            break;
        };
        if doc.str("decision") != Some(GO) {
            break;
        }
        clean &= doc.count("unclassified_anomaly_count") == Some(0);
        if let Some(id) = doc.run_id() {
            runs.insert(id.to_string());
        }
    }
    (runs.len(), clean)
}
