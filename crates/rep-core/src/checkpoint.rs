use std::path::PathBuf;

use serde_json::{json, Value};

use crate::atomic::{write_atomic, ArtefactError};
use crate::hashing::FileDigest;
use crate::layout::ContextLayout;
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

impl Containment {
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
}
