//! Step 2 of the runbook: the snapshot export.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rep_core::{
    file_stamp, new_run_id, now_utc, utc_micros, write_atomic, Config, ContextLayout, ExitClass,
    FileDigest, Manifest, ManifestFile, ManifestKind, ManifestSource, ManifestWindow, Report,
    SnapshotRow, SnapshotSummary, SnapshotWriter, Step, StepFailure, StepOutcome, Window,
    HASH_ALGORITHM, MANIFEST_NAME,
};
use serde_json::json;

use crate::client::SupabaseClient;
use crate::error::{snapshot_exit_class, SourceError};
use crate::source::{KindRead, RowSource};

const SNAPSHOT_FILE: &str = "snapshot.csv";
const MANIFEST_FILE: &str = "manifest.json";
const MANIFEST_SCHEMA_VERSION: u32 = 1;

impl From<SourceError> for StepFailure {
    fn from(e: SourceError) -> StepFailure {
        StepFailure::new(e.exit_class(), e.to_string())
    }
}

/// What a successful export wrote.
struct Exported {
    run_id: String,
    snapshot: PathBuf,
    snapshot_digest: FileDigest,
    manifest: PathBuf,
    manifest_digest: FileDigest,
    rows: u64,
}

/// Runs the snapshot export for `[watermark_start, watermark_end)`: reads every configured
/// entity kind through the REST API into `evidence/replication-<ts>/snapshot.csv`, writes
/// `manifest.json` beside it and the export report, and says how it went.
///
/// On failure nothing is left under a final name in the evidence folder (the snapshot is
/// written under a temporary name and the manifest only after it), and the report records
/// `success=false` with the error.
pub async fn run_export(
    config: &Config,
    layout: &ContextLayout,
    watermark_start: &str,
    watermark_end: &str,
) -> StepOutcome {
    let mut report = Report::new(Step::Export);
    let outcome = match Window::parse(
        watermark_start,
        watermark_end,
        now_utc(),
        config.replication.safety_lag(),
    ) {
        Err(e) => Err(StepFailure::new(ExitClass::Usage, e.to_string())),
        Ok(window) => match SupabaseClient::new(&config.env, &config.replication.source) {
            Err(e) => Err(e.into()),
            Ok(client) => export_with(&client, config, layout, &window, &mut report).await,
        },
    };
    finish(report, layout, config, outcome)
}

/// The export against any [`RowSource`]; `report` collects the fields as they become known,
/// so that a failed run still reports what it had read.
async fn export_with<S: RowSource>(
    source: &S,
    config: &Config,
    layout: &ContextLayout,
    window: &Window,
    report: &mut Report,
) -> Result<Exported, StepFailure> {
    let run_id = new_run_id(report.started_at());
    report.set_run_id(&run_id);
    report.set(
        "window",
        json!({"watermark_start": window.start_text(), "watermark_end": window.end_text()}),
    );
    report.set(
        "source",
        json!({
            "project_host": config.env.project_host(),
            "schema": config.replication.source.schema,
            "key": config.env.service_role_key.label(),
        }),
    );
    let dir = claim_evidence_dir(layout, &file_stamp(report.started_at()))?;
    tracing::info!(run_id = %run_id, dir = %dir.display(), "export started");
    let result = write_evidence(source, config, window, &run_id, &dir, report).await;
    if result.is_ok() {
        report.set("evidence_dir", layout.display_path(&dir));
    } else {
        // Only an empty folder can be left by a failure: the writers clean up after
        // themselves, and a snapshot without its manifest is removed below.
        let _ = std::fs::remove_file(dir.join(SNAPSHOT_FILE));
        let _ = std::fs::remove_dir(&dir);
    }
    result
}

/// Creates `evidence/replication-<ts>/`, refusing one that already exists: a second export
/// started in the same second must not replace the first one's evidence.
fn claim_evidence_dir(layout: &ContextLayout, stamp: &str) -> Result<PathBuf, StepFailure> {
    let dir = layout.evidence_dir(stamp);
    let io = |e: std::io::Error, what: &Path| {
        StepFailure::new(
            ExitClass::Runtime,
            format!(
                "cannot create the evidence folder {}: {e}; check that the context folder is writable",
                what.display()
            ),
        )
    };
    std::fs::create_dir_all(layout.evidence_root()).map_err(|e| io(e, &layout.evidence_root()))?;
    match std::fs::create_dir(&dir) {
        Ok(()) => Ok(dir),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(StepFailure::new(
            ExitClass::Runtime,
            format!(
                "the evidence folder {} already exists (another export started in the same second); wait a second and run the export again",
                dir.display()
            ),
        )),
        Err(e) => Err(io(e, &dir)),
    }
}

async fn write_evidence<S: RowSource>(
    source: &S,
    config: &Config,
    window: &Window,
    run_id: &str,
    dir: &Path,
    report: &mut Report,
) -> Result<Exported, StepFailure> {
    let snapshot_path = dir.join(SNAPSHOT_FILE);
    let entities = &config.replication.entities;
    let mut writer = SnapshotWriter::create(&snapshot_path, &config.secrets)
        .map_err(|e| StepFailure::new(snapshot_exit_class(&e), e.to_string()))?;
    for entity in entities {
        writer.declare_kind(&entity.kind);
    }
    let mut reads: Vec<KindRead> = Vec::with_capacity(entities.len());
    let mut per_kind = BTreeMap::new();
    for entity in entities {
        let mut sink = |row: SnapshotRow| writer.write(&row);
        let read = source.read_window(entity, window, &mut sink).await;
        let read = match read {
            Ok(read) => read,
            Err(e) => {
                report.set("entity_kinds", &per_kind);
                report.set("failed_entity_kind", &entity.kind);
                return Err(e.into());
            }
        };
        tracing::info!(
            entity_kind = %entity.kind,
            rows = read.rows_read,
            pages = read.pages,
            effective_page_size = read.effective_page_size,
            "entity kind read"
        );
        per_kind.insert(
            entity.kind.clone(),
            json!({
                "table": entity.table,
                "rows": read.rows_read,
                "server_count": read.server_count,
                "pages": read.pages,
                "effective_page_size": read.effective_page_size,
            }),
        );
        reads.push(read);
    }
    let summary = writer
        .finish()
        .map_err(|e| StepFailure::new(snapshot_exit_class(&e), e.to_string()))?;
    for kind in &summary.kinds {
        if let Some(entry) = per_kind.get_mut(&kind.entity_kind) {
            entry["min_watermark"] = json!(kind.min_watermark);
            entry["max_watermark"] = json!(kind.max_watermark);
        }
    }
    report.set("entity_kinds", &per_kind);
    report.set("rows_total", summary.rows);
    report.set("snapshot_sha256", &summary.file.sha256);

    let manifest = manifest(config, window, run_id, &summary, &reads);
    let mut bytes = serde_json::to_vec_pretty(&manifest).expect("a manifest always serializes");
    bytes.push(b'\n');
    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest_digest = write_atomic(&manifest_path, &bytes, &config.secrets)
        .map_err(|e| StepFailure::new(ExitClass::Runtime, e.to_string()))?;
    Ok(Exported {
        run_id: run_id.to_string(),
        snapshot: snapshot_path,
        snapshot_digest: summary.file,
        manifest: manifest_path,
        manifest_digest,
        rows: summary.rows,
    })
}

fn manifest(
    config: &Config,
    window: &Window,
    run_id: &str,
    summary: &SnapshotSummary,
    reads: &[KindRead],
) -> Manifest {
    let entity_kinds = config
        .replication
        .entities
        .iter()
        .zip(reads)
        .map(|(entity, read)| ManifestKind {
            table: entity.table.clone(),
            key_column: entity.key.clone(),
            watermark_column: entity.watermark.clone(),
            source_count: read.server_count,
            summary: summary
                .kinds
                .iter()
                .find(|k| k.entity_kind == entity.kind)
                .cloned()
                .expect("every configured kind was declared to the writer"),
        })
        .collect();
    Manifest {
        manifest: MANIFEST_NAME.to_string(),
        schema_version: MANIFEST_SCHEMA_VERSION,
        run_id: run_id.to_string(),
        created_at: utc_micros(now_utc()),
        window: ManifestWindow {
            watermark_start: window.start_text(),
            watermark_end: window.end_text(),
        },
        source: ManifestSource {
            project_host: config.env.project_host(),
            schema: config.replication.source.schema.clone(),
        },
        hash_algorithm: HASH_ALGORITHM.to_string(),
        snapshot: ManifestFile {
            file: SNAPSHOT_FILE.to_string(),
            bytes: summary.file.bytes,
            rows: summary.rows,
            sha256: summary.file.sha256.clone(),
        },
        entity_kinds,
    }
}

/// Writes the report and turns the result into the step's outcome.
fn finish(
    mut report: Report,
    layout: &ContextLayout,
    config: &Config,
    outcome: Result<Exported, StepFailure>,
) -> StepOutcome {
    let (class, line) = match outcome {
        Ok(done) => {
            report.output(layout, "snapshot", &done.snapshot, &done.snapshot_digest);
            report.output(layout, "manifest", &done.manifest, &done.manifest_digest);
            let line = format!(
                "export done: run_id {}, {} rows in {} kinds, snapshot {} sha256 {}",
                done.run_id,
                done.rows,
                config.replication.entities.len(),
                done.snapshot.display(),
                done.snapshot_digest.sha256
            );
            (ExitClass::Success, line)
        }
        Err(failure) => (failure.class, format!("export failed: {}", failure.message)),
    };
    report.conclude(layout, class, &line, &config.secrets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::RowSink;
    use rep_core::{verify_snapshot, EntityConfig, ReportDoc};
    use time::macros::datetime;

    /// Rows per kind; `fail_kind` makes that kind fail after delivering its rows.
    struct FakeSource {
        fail_kind: Option<&'static str>,
    }

    impl RowSource for FakeSource {
        async fn read_window(
            &self,
            entity: &EntityConfig,
            _window: &Window,
            sink: &mut RowSink<'_>,
        ) -> Result<KindRead, SourceError> {
            let ids: &[&str] = if entity.kind == "customer" {
                &["1", "9007199254740993"]
            } else {
                &[]
            };
            for (i, id) in ids.iter().enumerate() {
                let payload = format!(r#"{{"id":{id}}}"#);
                let at = datetime!(2026-03-01 00:00 UTC) + time::Duration::seconds(i as i64);
                sink(SnapshotRow::new(entity.kind.as_str(), *id, at, payload)).unwrap();
            }
            if self.fail_kind == Some(entity.kind.as_str()) {
                return Err(SourceError::CountMismatch {
                    entity_kind: entity.kind.clone(),
                    server_count: 3,
                    rows_read: ids.len() as u64,
                });
            }
            Ok(KindRead {
                rows_read: ids.len() as u64,
                server_count: ids.len() as u64,
                pages: 1,
                effective_page_size: 1000,
            })
        }

        async fn probe(&self, _entity: &EntityConfig) -> Result<(), SourceError> {
            Ok(())
        }
    }

    fn config(dir: &Path) -> Config {
        let path = dir.join("replication.toml");
        std::fs::write(
            &path,
            "[entities.customer]\ntable = \"customers\"\nkey = \"id\"\nwatermark = \"updated_at\"\n\
             [entities.event]\ntable = \"events\"\nkey = \"id\"\nwatermark = \"updated_at\"\n",
        )
        .unwrap();
        let vars = [
            ("SUPABASE_PROJECT_URL", "https://abcd.supabase.co"),
            ("SUPABASE_SERVICE_ROLE_KEY", "sb_secret_0123456789abcdef"),
            (
                "REPLICA_TARGET_DB_URL",
                "postgres://u:longpassword@h:5432/d?sslmode=require",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Config::from_vars(&path, &vars).unwrap()
    }

    async fn export(source: &FakeSource, dir: &Path) -> (StepOutcome, ContextLayout) {
        let config = config(dir);
        let layout = ContextLayout::new(dir.join("ctx"));
        let window = Window::from_bounds(
            datetime!(2026-03-01 00:00 UTC),
            datetime!(2026-03-02 00:00 UTC),
        );
        let mut report = Report::new(Step::Export);
        let outcome = export_with(source, &config, &layout, &window, &mut report).await;
        (finish(report, &layout, &config, outcome), layout)
    }

    #[tokio::test]
    async fn writes_a_verifiable_snapshot_manifest_and_report() {
        let dir = tempfile::tempdir().unwrap();
        let (outcome, layout) = export(&FakeSource { fail_kind: None }, dir.path()).await;
        assert_eq!(outcome.class, ExitClass::Success, "{}", outcome.summary);
        assert!(
            outcome.summary.starts_with("export done: run_id ")
                && outcome.summary.contains("2 rows in 2 kinds"),
            "{}",
            outcome.summary
        );
        let report = ReportDoc::read(outcome.report.as_ref().unwrap(), Step::Export).unwrap();
        assert!(report.flag("success"));
        assert_eq!(report.count("rows_total"), Some(2));
        assert!(report
            .str("evidence_dir")
            .unwrap()
            .starts_with("evidence/replication-"));
        let snapshot = layout.resolve(&report.file("snapshot").unwrap().path);
        let manifest = layout.resolve(&report.file("manifest").unwrap().path);
        let verified = verify_snapshot(&snapshot, &manifest).unwrap();
        assert_eq!(verified.manifest.run_id, report.run_id().unwrap());
        assert_eq!(
            verified.snapshot_digest.sha256,
            report.str("snapshot_sha256").unwrap()
        );
        let kinds: Vec<_> = verified
            .manifest
            .entity_kinds
            .iter()
            .map(|k| (k.summary.entity_kind.as_str(), k.summary.row_count))
            .collect();
        assert_eq!(kinds, [("customer", 2), ("event", 0)]);
        assert_eq!(
            report.value["entity_kinds"]["customer"]["max_watermark"],
            "2026-03-01T00:00:01.000000Z"
        );
        assert_eq!(report.value["source"]["key"], "secret key sb_sec…");
        let text = std::fs::read_to_string(outcome.report.unwrap()).unwrap();
        assert!(!text.contains("0123456789abcdef"));
    }

    #[tokio::test]
    async fn a_failed_kind_leaves_no_evidence_and_reports_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let (outcome, layout) = export(
            &FakeSource {
                fail_kind: Some("event"),
            },
            dir.path(),
        )
        .await;
        assert_eq!(outcome.class, ExitClass::Integrity);
        assert!(outcome
            .summary
            .starts_with("export failed: integrity error"));
        let report = ReportDoc::read(outcome.report.as_ref().unwrap(), Step::Export).unwrap();
        assert!(!report.flag("success"));
        assert_eq!(report.value["error"]["exit_code"], 3);
        assert_eq!(report.str("failed_entity_kind"), Some("event"));
        assert!(report.files("outputs").is_empty());
        let left: Vec<_> = std::fs::read_dir(layout.evidence_root()).unwrap().collect();
        assert!(left.is_empty(), "evidence left behind: {left:?}");
    }

    #[test]
    fn the_export_future_can_be_spawned() {
        fn assert_send<T: Send>(_: &T) {}
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let layout = ContextLayout::new(dir.path());
        assert_send(&run_export(&config, &layout, "", ""));
    }

    #[tokio::test]
    async fn a_bad_window_is_a_usage_error_with_a_report() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let layout = ContextLayout::new(dir.path().join("ctx"));
        let outcome = run_export(
            &config,
            &layout,
            "2026-03-02T00:00:00Z",
            "2026-03-01T00:00:00Z",
        )
        .await;
        assert_eq!(outcome.class, ExitClass::Usage);
        assert!(
            outcome.summary.contains("--watermark-end"),
            "{}",
            outcome.summary
        );
        let report = ReportDoc::read(outcome.report.as_ref().unwrap(), Step::Export).unwrap();
        assert_eq!(report.value["error"]["exit_code"], 2);
        assert!(!layout.evidence_root().exists());
    }
}
