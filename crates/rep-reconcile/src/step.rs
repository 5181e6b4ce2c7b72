use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rep_core::{
    verify_snapshot, write_atomic, Config, Containment, ContextLayout, ExitClass, Report,
    SnapshotRow, Step, StepFailure, StepOutcome, VerifiedSnapshot, VerifyError,
};
use rep_target::TargetDb;
use serde_json::{json, Value};

use crate::compare::{compare_kind, Finding, KindReconciliation, TargetView, SAMPLE_LIMIT};

/// The `classification` of a clean comparison.
pub const CLASSIFICATION_OK: &str = "ok";
/// The `classification` of a comparison with any unexplained difference.
pub const CLASSIFICATION_ANOMALIA: &str = "anomalia";

/// What `rep-reconcile` is asked to compare.
#[derive(Debug, Clone)]
pub struct ReconcileRequest {
    /// `snapshot.csv`.
    pub snapshot: PathBuf,
    /// `manifest.json`.
    pub manifest: PathBuf,
    /// The run being reconciled; must be the manifest's.
    pub run_id: String,
}

/// Step 4: compares the snapshot with the target for the window, row by row and per kind,
/// writes `reconciliation.json` next to the snapshot and the reconcile report, and contains
/// the run when the result is `anomalia`.
pub async fn run_reconcile(
    config: &Config,
    layout: &ContextLayout,
    request: &ReconcileRequest,
) -> StepOutcome {
    let mut report = Report::new(Step::Reconcile);
    report.set_run_id(&request.run_id);
    report.set("target", config.env.target_db.redacted());
    let (class, summary, containment) = match reconcile(config, layout, request, &mut report).await
    {
        Ok(Verdict::Ok(line)) => (ExitClass::Success, line, None),
        Ok(Verdict::Anomalia { line, facts }) => (
            ExitClass::Negative,
            line,
            Some(("reconcile_anomalia", facts)),
        ),
        Err(failure) => {
            report.set("classification", CLASSIFICATION_ANOMALIA);
            let containment = (failure.class == ExitClass::Integrity)
                .then_some(("snapshot_integrity", Value::Null));
            (failure.class, failure.message, containment)
        }
    };
    let outcome = report.conclude(layout, class, &summary, &config.secrets);
    match containment {
        None => outcome,
        Some((reason, facts)) => Containment {
            step: Step::Reconcile,
            run_id: Some(request.run_id.clone()),
            reason: reason.to_string(),
            detail: outcome.summary.clone(),
            facts,
        }
        .record(layout, &config.secrets, outcome),
    }
}

enum Verdict {
    Ok(String),
    Anomalia { line: String, facts: Value },
}

async fn reconcile(
    config: &Config,
    layout: &ContextLayout,
    request: &ReconcileRequest,
    report: &mut Report,
) -> Result<Verdict, StepFailure> {
    let verified = match verify_snapshot(&request.snapshot, &request.manifest) {
        Ok(v) => v,
        Err(e) => return Err(contain_integrity(config, request, e).await),
    };
    report.record_snapshot(layout, &request.snapshot, &request.manifest, &verified);
    if verified.manifest.run_id != request.run_id {
        return Err(StepFailure::new(
            ExitClass::Usage,
            format!(
                "--run-id {} does not match the manifest's run_id {}: pass the run_id printed by the export of this snapshot",
                request.run_id, verified.manifest.run_id
            ),
        ));
    }

    let db = TargetDb::connect(&config.env.target_db, &config.secrets).await?;
    let kinds = compare_all(&db, &verified).await?;

    let totals = Totals::of(&kinds);
    let evidence_path = evidence_dir(&request.snapshot).join("reconciliation.json");
    let evidence = reconciliation_document(&verified, &kinds, &totals);
    let mut bytes = serde_json::to_vec_pretty(&evidence).expect("serializable");
    bytes.push(b'\n');
    let digest = write_atomic(&evidence_path, &bytes, &config.secrets)
        .map_err(|e| StepFailure::new(ExitClass::Runtime, e.to_string()))?;
    report.output(layout, "reconciliation", &evidence_path, &digest);

    for (key, value) in totals.fields() {
        report.set(key, value);
    }
    report.set("entity_kinds", per_kind_fields(&kinds));
    report.set("samples", samples(&kinds));
    report.set("expected_differences", expected_list(&kinds));

    if totals.unexplained() == 0 {
        report.set("classification", CLASSIFICATION_OK);
        return Ok(Verdict::Ok(format!(
            "reconcile ok: run_id {}, {} rows matched, {} expected differences",
            request.run_id, totals.matched, totals.expected
        )));
    }
    report.set("classification", CLASSIFICATION_ANOMALIA);
    let line = format!(
        "reconcile anomalia: run_id {}: {} content drift, {} entity_kind drift, {} only in source, {} only in target; the run is contained (status failed, checkpoint corrigir): inspect {} and re-run the cycle",
        request.run_id,
        totals.content_drift,
        totals.kind_drift,
        totals.only_source,
        totals.only_target,
        layout.display_path(&evidence_path)
    );
    db.contain_run(&request.run_id, "reconcile_anomalia")
        .await?;
    Ok(Verdict::Anomalia {
        line,
        facts: totals.as_json(),
    })
}

async fn compare_all(
    db: &TargetDb,
    verified: &VerifiedSnapshot,
) -> Result<Vec<KindReconciliation>, StepFailure> {
    let window = verified.window;
    let mut by_kind: BTreeMap<&str, Vec<&SnapshotRow>> = verified
        .manifest
        .entity_kinds
        .iter()
        .map(|k| (k.summary.entity_kind.as_str(), Vec::new()))
        .collect();
    for row in &verified.rows {
        by_kind
            .entry(row.entity_kind.as_str())
            .or_default()
            .push(row);
    }
    let mut kinds = Vec::new();
    for (kind, rows) in by_kind {
        let in_window = db.window_rows(kind, window.start(), window.end()).await?;
        let present: std::collections::HashSet<&str> =
            in_window.iter().map(|r| r.entity_id.as_str()).collect();
        let missing: Vec<String> = rows
            .iter()
            .filter(|r| !present.contains(r.entity_id.as_str()))
            .map(|r| r.entity_id.clone())
            .collect();
        let (outside_window, other_kinds) = if missing.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let outside = db.rows_by_ids(kind, &missing).await?;
            let still: Vec<String> = {
                let found: std::collections::HashSet<&str> =
                    outside.iter().map(|r| r.entity_id.as_str()).collect();
                missing
                    .iter()
                    .filter(|id| !found.contains(id.as_str()))
                    .cloned()
                    .collect()
            };
            let others = if still.is_empty() {
                Vec::new()
            } else {
                db.kinds_of_ids(&still).await?
            };
            (outside, others)
        };
        kinds.push(compare_kind(
            kind,
            &rows,
            TargetView {
                in_window,
                outside_window,
                other_kinds,
            },
        ));
    }
    Ok(kinds)
}

async fn contain_integrity(
    config: &Config,
    request: &ReconcileRequest,
    error: VerifyError,
) -> StepFailure {
    let class = error.exit_class();
    let message = error.to_string();
    if class == ExitClass::Integrity {
        // The snapshot no longer proves anything: mark the run failed so that no gate can pass
        // it, even if the target cannot be reached right now (the checkpoint still records it).
        if let Ok(db) = TargetDb::connect(&config.env.target_db, &config.secrets).await {
            let _ = db.contain_run(&request.run_id, "snapshot_integrity").await;
        }
    }
    StepFailure::new(class, message)
}

fn evidence_dir(snapshot: &Path) -> PathBuf {
    snapshot
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

#[derive(Default)]
struct Totals {
    snapshot_rows: u64,
    target_rows: u64,
    matched: u64,
    content_drift: u64,
    kind_drift: u64,
    only_source: u64,
    only_target: u64,
    expected: u64,
}

impl Totals {
    fn of(kinds: &[KindReconciliation]) -> Totals {
        let mut t = Totals::default();
        for k in kinds {
            t.snapshot_rows += k.snapshot_rows;
            t.target_rows += k.target_rows_in_window;
            t.matched += k.matched;
            t.content_drift += k.content_drift.len() as u64;
            t.kind_drift += k.entity_kind_drift.len() as u64;
            t.only_source += k.only_source_unexpected.len() as u64;
            t.only_target += k.only_target_unexpected.len() as u64;
            t.expected += k.expected_differences.len() as u64;
        }
        t
    }

    fn unexplained(&self) -> u64 {
        self.content_drift + self.kind_drift + self.only_source + self.only_target
    }

    /// The report's fixed counters (SPEC.md step 4).
    fn fields(&self) -> [(&'static str, u64); 9] {
        [
            ("snapshot_rows", self.snapshot_rows),
            ("target_rows_in_window", self.target_rows),
            ("matched_rows", self.matched),
            ("entity_kind_drift_count", self.kind_drift),
            ("content_drift_count", self.content_drift),
            ("only_source_unexpected_ids", self.only_source),
            ("only_target_unexpected_ids", self.only_target),
            ("expected_difference_count", self.expected),
            ("unclassified_anomaly_count", self.unexplained()),
        ]
    }

    fn as_json(&self) -> Value {
        Value::Object(
            self.fields()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.into()))
                .collect(),
        )
    }
}

/// Per kind, the same counters as the totals.
fn per_kind_fields(kinds: &[KindReconciliation]) -> Value {
    kinds
        .iter()
        .map(|k| {
            (
                k.entity_kind.clone(),
                Totals::of(std::slice::from_ref(k)).as_json(),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Per kind and category, the first [`SAMPLE_LIMIT`] findings rendered by `each`.
fn sampled(
    kind: &KindReconciliation,
    each: impl Fn(&Finding) -> Value,
) -> serde_json::Map<String, Value> {
    kind.categories()
        .into_iter()
        .map(|(name, findings)| {
            let shown: Vec<Value> = findings.iter().take(SAMPLE_LIMIT).map(&each).collect();
            (name.to_string(), shown.into())
        })
        .collect()
}

fn samples(kinds: &[KindReconciliation]) -> Value {
    kinds
        .iter()
        .map(|k| {
            (
                k.entity_kind.clone(),
                sampled(k, |f| f.entity_id.clone().into()).into(),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn expected_list(kinds: &[KindReconciliation]) -> Vec<Value> {
    kinds
        .iter()
        .flat_map(|k| {
            k.expected_differences.iter().take(SAMPLE_LIMIT).map(move |f| {
                json!({"entity_kind": k.entity_kind, "entity_id": f.entity_id, "rule": f.rule, "detail": f.detail})
            })
        })
        .collect()
}

fn reconciliation_document(
    verified: &VerifiedSnapshot,
    kinds: &[KindReconciliation],
    totals: &Totals,
) -> Value {
    let classification = if totals.unexplained() == 0 {
        CLASSIFICATION_OK
    } else {
        CLASSIFICATION_ANOMALIA
    };
    let per_kind: Vec<Value> = kinds
        .iter()
        .map(|k| {
            let mut entry = sampled(k, |f| serde_json::to_value(f).expect("serializable"));
            entry.insert("entity_kind".into(), k.entity_kind.clone().into());
            entry.insert(
                "counts".into(),
                Totals::of(std::slice::from_ref(k)).as_json(),
            );
            entry.into()
        })
        .collect();
    json!({
        "reconciliation": "replication-v1-reconciliation",
        "schema_version": 1,
        "run_id": verified.manifest.run_id,
        "window": verified.manifest.window,
        "snapshot_sha256": verified.snapshot_digest.sha256,
        "classification": classification,
        "totals": totals.as_json(),
        "sample_limit": SAMPLE_LIMIT,
        "entity_kinds": per_kind,
    })
}
