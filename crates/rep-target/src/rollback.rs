use rep_core::{Config, Containment, ContextLayout, ExitClass, Report, Step, StepOutcome};
use serde_json::json;

use crate::connect::TargetDb;

/// What `rep-rollback` is asked to undo.
#[derive(Debug, Clone)]
pub struct RollbackRequest {
    /// The applied run to undo.
    pub run_id: String,
    /// Why, in the operator's words; recorded in the run's metadata and the report.
    pub reason: String,
}

/// Undoes an applied run exactly — rows it inserted deleted, rows it updated restored to their
/// before-images — without touching anything else in the target, then writes the rollback
/// report and a `corrigir` checkpoint: a rolled-back run can never pass the gate again, and the
/// decision stays `NO-GO` until a new complete cycle.
pub async fn run_rollback(
    config: &Config,
    layout: &ContextLayout,
    request: &RollbackRequest,
) -> StepOutcome {
    let mut report = Report::new(Step::Rollback);
    report.set_run_id(&request.run_id);
    report.set("target", config.env.target_db.redacted());
    report.set("reason", &request.reason);
    let result = match TargetDb::connect(&config.env.target_db, &config.secrets).await {
        Ok(db) => {
            let undone = db.undo_run(&request.run_id, &request.reason).await;
            db.close().await;
            undone
        }
        Err(e) => Err(e),
    };
    let (class, line) = match result {
        Ok(undo) => {
            report.set("rows_deleted", undo.deleted);
            report.set("rows_restored", undo.restored);
            report.set("run_status", "rolled_back");
            (
                ExitClass::Success,
                format!(
                    "rolled back run {}: {} inserted rows deleted, {} updated rows restored; the run is rolled_back and can never be applied again",
                    request.run_id, undo.deleted, undo.restored
                ),
            )
        }
        Err(e) => (
            e.exit_class(),
            format!("rollback of run {} failed: {e}", request.run_id),
        ),
    };
    let outcome = report.conclude(layout, class, &line, &config.secrets);
    if outcome.class != ExitClass::Success {
        return outcome;
    }
    Containment {
        step: Step::Rollback,
        run_id: Some(request.run_id.clone()),
        reason: "rolled_back".to_string(),
        detail: request.reason.clone(),
        facts: json!({"summary": outcome.summary}),
    }
    .record(layout, &config.secrets, outcome)
}
