use std::path::PathBuf;

use serde_json::{json, Value};

use crate::atomic::{write_atomic, ArtefactError};
use crate::exit::ExitClass;
use crate::hashing::FileDigest;
use crate::layout::ContextLayout;
use crate::outcome::StepOutcome;
use crate::report::Step;
use crate::secret::SecretSet;
use crate::stamp::{file_stamp, now_utc, utc_micros};

/// The status every containment checkpoint carries (SPEC.md): the run must be corrected.
pub const CHECKPOINT_STATUS: &str = "corrigir";

/// Why a run was stopped, written as `checkpoints/replication-v1-<ts>.json`.
#[derive(Debug, Clone)]
pub struct Containment {
    /// The step that aborted.
    pub step: Step,
    /// The run, when one exists (preflight runs before any).
    pub run_id: Option<String>,
    /// Short machine-readable reason (`preflight_not_ready`, `snapshot_integrity`, `reconcile_anomalia`…).
    pub reason: String,
    /// The one-line explanation.
    pub detail: String,
    /// Extra facts (report path, counts).
    pub facts: Value,
}

/// A checkpoint found on disk.
#[derive(Debug, Clone)]
pub struct RecordedCheckpoint {
    /// Where it is.
    pub path: PathBuf,
    /// Its `containment_reason`.
    pub reason: String,
    /// Its `step`.
    pub step: String,
}

impl Containment {
    /// Every checkpoint that contained `run_id`, oldest first. A contained run stays `NO-GO`:
    /// only a new complete cycle (a new run) can pass the gate again.
    pub fn recorded_for(
        layout: &ContextLayout,
        run_id: &str,
    ) -> std::io::Result<Vec<RecordedCheckpoint>> {
        let mut found = Vec::new();
        let entries = match std::fs::read_dir(layout.checkpoints_dir()) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let Ok(doc) = serde_json::from_slice::<Value>(&std::fs::read(&path)?) else {
                continue;
            };
            if doc.get("run_id").and_then(Value::as_str) == Some(run_id) {
                let text = |k: &str| {
                    doc.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                found.push(RecordedCheckpoint {
                    reason: text("containment_reason"),
                    step: text("step"),
                    path,
                });
            }
        }
        found.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(found)
    }

    /// Writes the checkpoint; the decision stays `NO-GO` until a new complete cycle.
    pub fn write(
        &self,
        layout: &ContextLayout,
        secrets: &SecretSet,
    ) -> Result<(PathBuf, FileDigest), ArtefactError> {
        let now = now_utc();
        let doc = json!({
            "checkpoint": "replication-v1-checkpoint",
            "schema_version": 1,
            "status": CHECKPOINT_STATUS,
            "decision": "NO-GO",
            "step": self.step.report_name(),
            "run_id": self.run_id,
            "containment_reason": self.reason,
            "detail": secrets.redact(&self.detail),
            "facts": self.facts,
            "created_at": utc_micros(now),
        });
        let mut bytes = serde_json::to_vec_pretty(&doc).expect("serializable");
        bytes.push(b'\n');
        let path = layout.checkpoint_path(&file_stamp(now));
        let digest = write_atomic(&path, &bytes, secrets)?;
        Ok((path, digest))
    }

    /// Contains a step that ended negatively: writes the checkpoint, naming the step's report
    /// among its facts, and passes the outcome on. A checkpoint that cannot be written makes
    /// the outcome a runtime failure, since an uncontained abort must not look handled.
    pub fn record(
        mut self,
        layout: &ContextLayout,
        secrets: &SecretSet,
        outcome: StepOutcome,
    ) -> StepOutcome {
        if let (Some(report), Value::Object(facts)) = (&outcome.report, &mut self.facts) {
            facts.insert("report".into(), layout.display_path(report).into());
        } else if let (Some(report), Value::Null) = (&outcome.report, &self.facts) {
            self.facts = json!({"report": layout.display_path(report)});
        }
        match self.write(layout, secrets) {
            Ok(_) => outcome,
            Err(e) => StepOutcome::new(
                ExitClass::Runtime,
                format!(
                    "{}; and the containment checkpoint could not be written: {e}",
                    outcome.summary
                ),
                outcome.report,
            ),
        }
    }
}
