use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::atomic::{write_atomic, ArtefactError};
use crate::exit::ExitClass;
use crate::hashing::FileDigest;
use crate::layout::ContextLayout;
use crate::manifest::VerifiedSnapshot;
use crate::outcome::StepOutcome;
use crate::secret::SecretSet;
use crate::stamp::{file_stamp, now_utc, utc_micros};

/// Version of the report envelope.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// The five runbook steps, and the rollback that undoes an applied run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// 1: `rep-preflight`.
    Preflight,
    /// 2: `rep-snapshot-export`.
    Export,
    /// 3: `rep-import`.
    Import,
    /// 4: `rep-reconcile`.
    Reconcile,
    /// 5: `rep-go-no-go`.
    GoNoGo,
    /// Containment: `rep-rollback` undoes an applied run exactly.
    Rollback,
}

impl Step {
    /// The `report` field and file-name stem (`replication-v1-export`).
    pub fn report_name(self) -> &'static str {
        match self {
            Step::Preflight => "replication-v1-preflight",
            Step::Export => "replication-v1-export",
            Step::Import => "replication-v1-import",
            Step::Reconcile => "replication-v1-reconcile",
            Step::GoNoGo => "replication-v1-go-no-go",
            Step::Rollback => "replication-v1-rollback",
        }
    }

    /// The binary that runs the step (`tool.name`).
    pub fn binary(self) -> &'static str {
        match self {
            Step::Preflight => "rep-preflight",
            Step::Export => "rep-snapshot-export",
            Step::Import => "rep-import",
            Step::Reconcile => "rep-reconcile",
            Step::GoNoGo => "rep-go-no-go",
            Step::Rollback => "rep-rollback",
        }
    }
}

/// A file a report used or wrote, pinned by hash so the chain can be re-verified offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFile {
    /// What the file is to the step (`snapshot`, `manifest`, `preflight_report`…).
    pub role: String,
    /// Relative to the context root when inside it.
    pub path: String,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// A report being assembled by a step; written once, atomically, by [`Report::finish`].
#[derive(Debug)]
pub struct Report {
    step: Step,
    started_at: OffsetDateTime,
    run_id: Option<String>,
    fields: Map<String, Value>,
    inputs: Vec<ReportFile>,
    outputs: Vec<ReportFile>,
}

/// A report on disk.
#[derive(Debug, Clone)]
pub struct WrittenReport {
    /// Where it was written.
    pub path: PathBuf,
    /// Its digest.
    pub digest: FileDigest,
}

impl Report {
    /// Starts a report; `started_at` is now.
    pub fn new(step: Step) -> Report {
        Report {
            step,
            started_at: now_utc(),
            run_id: None,
            fields: Map::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
        }
    }

    /// The step.
    pub fn step(&self) -> Step {
        self.step
    }

    /// When the step started.
    pub fn started_at(&self) -> OffsetDateTime {
        self.started_at
    }

    /// The `<ts>` of this run of the step.
    pub fn stamp(&self) -> String {
        file_stamp(self.started_at)
    }

    /// Records a verified snapshot as this step's input: both files with their digests, and
    /// `snapshot_sha256`, `manifest_sha256` and `window`, which the gate chains on.
    pub fn record_snapshot(
        &mut self,
        layout: &ContextLayout,
        snapshot: &Path,
        manifest: &Path,
        verified: &VerifiedSnapshot,
    ) {
        self.input(layout, "snapshot", snapshot, &verified.snapshot_digest);
        self.input(layout, "manifest", manifest, &verified.manifest_digest);
        self.set("snapshot_sha256", &verified.snapshot_digest.sha256);
        self.set("manifest_sha256", &verified.manifest_digest.sha256);
        self.set("window", &verified.manifest.window);
    }

    /// Sets `run_id`.
    pub fn set_run_id(&mut self, run_id: &str) {
        self.run_id = Some(run_id.to_string());
    }

    /// Sets a step-specific field.
    pub fn set(&mut self, key: &str, value: impl Serialize) {
        let value = serde_json::to_value(value).expect("report fields always serialize");
        self.fields.insert(key.to_string(), value);
    }

    /// Records a file the step read.
    pub fn input(&mut self, layout: &ContextLayout, role: &str, path: &Path, digest: &FileDigest) {
        self.inputs.push(entry(layout, role, path, digest));
    }

    /// Records a file the step wrote.
    pub fn output(&mut self, layout: &ContextLayout, role: &str, path: &Path, digest: &FileDigest) {
        self.outputs.push(entry(layout, role, path, digest));
    }

    /// Writes the report under `reports/` with the envelope fields of SPEC.md. `error` carries
    /// the class and the one-line message of a failure.
    pub fn finish(
        self,
        layout: &ContextLayout,
        success: bool,
        error: Option<(ExitClass, &str)>,
        secrets: &SecretSet,
    ) -> Result<WrittenReport, ArtefactError> {
        let mut doc = self.fields;
        doc.insert("report".into(), self.step.report_name().into());
        doc.insert("schema_version".into(), REPORT_SCHEMA_VERSION.into());
        doc.insert(
            "tool".into(),
            serde_json::json!({"name": self.step.binary(), "version": env!("CARGO_PKG_VERSION")}),
        );
        doc.insert(
            "run_id".into(),
            self.run_id.map(Value::from).unwrap_or(Value::Null),
        );
        doc.insert("started_at".into(), utc_micros(self.started_at).into());
        doc.insert("finished_at".into(), utc_micros(now_utc()).into());
        doc.insert("success".into(), success.into());
        doc.insert(
            "inputs".into(),
            serde_json::to_value(&self.inputs).expect("serializable"),
        );
        doc.insert(
            "outputs".into(),
            serde_json::to_value(&self.outputs).expect("serializable"),
        );
        doc.insert(
            "error".into(),
            match error {
                Some((class, message)) => serde_json::json!({
                    "class": class.name(),
                    "exit_code": class.code(),
                    "message": secrets.redact(message),
                }),
                None => Value::Null,
            },
        );
        let mut bytes = serde_json::to_vec_pretty(&Value::Object(doc)).expect("serializable");
        bytes.push(b'\n');
        let path = layout.report_path(self.step, &file_stamp(self.started_at));
        let digest = write_atomic(&path, &bytes, secrets)?;
        Ok(WrittenReport { path, digest })
    }
}

impl Report {
    /// Ends a step: writes the report (`success` exactly when `class` is success, the line as
    /// `error` otherwise) and returns the outcome the binary prints. A report that cannot be
    /// written turns the outcome into a runtime failure: no verdict stands without its report.
    pub fn conclude(
        self,
        layout: &ContextLayout,
        class: ExitClass,
        summary: &str,
        secrets: &SecretSet,
    ) -> StepOutcome {
        let summary = secrets.redact(summary);
        let success = class == ExitClass::Success;
        let error = (!success).then_some((class, summary.as_str()));
        match self.finish(layout, success, error, secrets) {
            Ok(written) => StepOutcome::new(class, summary, Some(written.path)),
            Err(e) => StepOutcome::new(
                if success { ExitClass::Runtime } else { class },
                format!("{summary}; and the report could not be written: {e}"),
                None,
            ),
        }
    }
}

fn entry(layout: &ContextLayout, role: &str, path: &Path, digest: &FileDigest) -> ReportFile {
    ReportFile {
        role: role.to_string(),
        path: layout.display_path(path),
        sha256: digest.sha256.clone(),
        bytes: digest.bytes,
    }
}

/// A report read back from disk, for the steps that depend on earlier ones.
#[derive(Debug, Clone)]
pub struct ReportDoc {
    /// Where it was read.
    pub path: PathBuf,
    /// Its digest at read time.
    pub digest: FileDigest,
    /// The whole document.
    pub value: Value,
}

/// A report that cannot be read or is not the report expected.
#[derive(Debug, thiserror::Error)]
pub enum ReportReadError {
    /// Missing or unreadable.
    #[error("cannot read report {}: {source}; pass the path of the report written by the earlier step", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not JSON, or another step's report.
    #[error("{} is not a {expected} report: {message}", path.display())]
    Wrong {
        /// The file.
        path: PathBuf,
        /// The `report` value wanted.
        expected: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl ReportDoc {
    /// Reads a report and checks it is `step`'s.
    pub fn read(path: &Path, step: Step) -> Result<ReportDoc, ReportReadError> {
        let bytes = std::fs::read(path).map_err(|source| ReportReadError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        let wrong = |message: String| ReportReadError::Wrong {
            path: path.to_path_buf(),
            expected: step.report_name(),
            message,
        };
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| wrong(e.to_string()))?;
        let name = value
            .get("report")
            .and_then(Value::as_str)
            .unwrap_or("(none)");
        if name != step.report_name() {
            return Err(wrong(format!("its report field is {name:?}")));
        }
        Ok(ReportDoc {
            path: path.to_path_buf(),
            digest: FileDigest::of_bytes(&bytes),
            value,
        })
    }

    /// A string field.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.value.get(key).and_then(Value::as_str)
    }

    /// A boolean field (`false` when absent).
    pub fn flag(&self, key: &str) -> bool {
        self.value
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// An unsigned field.
    pub fn count(&self, key: &str) -> Option<u64> {
        self.value.get(key).and_then(Value::as_u64)
    }

    /// `run_id`.
    pub fn run_id(&self) -> Option<&str> {
        self.str("run_id")
    }

    /// `inputs` or `outputs`.
    pub fn files(&self, list: &str) -> Vec<ReportFile> {
        self.value
            .get(list)
            .cloned()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }

    /// The file of `role` among inputs and outputs.
    pub fn file(&self, role: &str) -> Option<ReportFile> {
        self.files("inputs")
            .into_iter()
            .chain(self.files("outputs"))
            .find(|f| f.role == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_every_fixed_field() {
        let dir = tempfile::tempdir().unwrap();
        let layout = ContextLayout::new(dir.path());
        let mut report = Report::new(Step::Export);
        report.set_run_id("r1");
        report.set("rows", 3);
        let snap = dir.path().join("evidence/x/snapshot.csv");
        report.output(&layout, "snapshot", &snap, &FileDigest::of_bytes(b"a"));
        let written = report
            .finish(&layout, true, None, &SecretSet::new())
            .unwrap();
        let doc = ReportDoc::read(&written.path, Step::Export).unwrap();
        for key in [
            "report",
            "schema_version",
            "tool",
            "run_id",
            "started_at",
            "finished_at",
            "success",
        ] {
            assert!(doc.value.get(key).is_some(), "missing {key}");
        }
        assert_eq!(doc.str("report"), Some("replication-v1-export"));
        assert_eq!(doc.value["tool"]["name"], "rep-snapshot-export");
        assert_eq!(
            doc.file("snapshot").unwrap().path,
            "evidence/x/snapshot.csv"
        );
        assert!(ReportDoc::read(&written.path, Step::Import).is_err());
    }
}
