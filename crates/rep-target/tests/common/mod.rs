//! Shared fixtures: a real TLS PostgreSQL target (rep-sandbox), a context folder, a Config
//! pointing at the target, and snapshots written with rep-core's own writer.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rep_core::{
    utc_micros, Config, ContextLayout, Manifest, ManifestFile, ManifestKind, ManifestSource,
    ManifestWindow, Report, SecretSet, SnapshotRow, SnapshotWriter, Step, StepOutcome,
    HASH_ALGORITHM, MANIFEST_NAME,
};
use rep_sandbox::TargetSandbox;
use rep_target::{run_import, ImportRequest};
use sqlx::{Connection, PgConnection};
use time::OffsetDateTime;

pub const WINDOW_START: &str = "2026-03-01T00:00:00.000000Z";
pub const WINDOW_END: &str = "2026-03-02T00:00:00.000000Z";

/// The schema migration, from the crate's directory.
pub fn schema_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rep_target::SCHEMA_FILE)
}

pub struct Fixture {
    pub target: TargetSandbox,
    pub dir: tempfile::TempDir,
    pub layout: ContextLayout,
    pub config: Config,
}

impl Fixture {
    /// A target with the schema applied.
    pub fn new() -> Fixture {
        let fixture = Fixture::bare();
        fixture
            .target
            .apply_sql_file(schema_file())
            .expect("schema applies");
        fixture
    }

    /// A target without the schema.
    pub fn bare() -> Fixture {
        let target = TargetSandbox::start().expect("target sandbox starts");
        let dir = tempfile::tempdir().unwrap();
        let layout = ContextLayout::new(dir.path().join("runtime"));
        layout.ensure().unwrap();
        let config = config_for(dir.path(), &target.db_url());
        Fixture {
            target,
            dir,
            layout,
            config,
        }
    }

    pub fn evidence(&self, name: &str) -> PathBuf {
        let dir = self.layout.evidence_root().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    pub async fn conn(&self) -> PgConnection {
        PgConnection::connect(&self.target.db_url()).await.unwrap()
    }

    pub async fn import(&self, snap: &Snap, apply: bool) -> StepOutcome {
        run_import(
            &self.config,
            &self.layout,
            ImportRequest {
                snapshot: snap.snapshot.clone(),
                manifest: snap.manifest.clone(),
                apply,
                ..ImportRequest::default()
            },
        )
        .await
    }

    /// Dry-run then apply, asserting both succeed.
    pub async fn dry_run_and_apply(&self, snap: &Snap) -> serde_json::Value {
        let dry = self.import(snap, false).await;
        assert_eq!(dry.class.code(), 0, "{}", dry.summary);
        let applied = self.import(snap, true).await;
        assert_eq!(applied.class.code(), 0, "{}", applied.summary);
        read_json(applied.report.as_ref().unwrap())
    }

    pub fn write_preflight(&self, status: &str) -> PathBuf {
        let mut report = Report::new(Step::Preflight);
        report.set("readiness_status", status);
        report
            .finish(&self.layout, status == "READY", None, &SecretSet::new())
            .unwrap()
            .path
    }

    /// Every table of the target schema as one fingerprint: any written byte changes it.
    pub async fn fingerprint(&self) -> String {
        let mut conn = self.conn().await;
        let mut parts = Vec::new();
        for table in [
            "replicated_entities_v1",
            "replication_runs_v1",
            "replication_row_history_v1",
        ] {
            let sql = format!(
                "SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM public.{table} t"
            );
            let part: String = sqlx::query_scalar(&sql).fetch_one(&mut conn).await.unwrap();
            parts.push(format!("{table}={part}"));
        }
        parts.join(" ")
    }

    pub async fn entity_count(&self) -> i64 {
        let mut conn = self.conn().await;
        sqlx::query_scalar("SELECT count(*) FROM public.replicated_entities_v1")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }
}

/// Entity rows as comparable text, excluding `replicated_at` (a time, different by nature
/// between two targets).
pub async fn entity_rows(
    conn: &mut PgConnection,
) -> Vec<(
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
)> {
    sqlx::query_as(
        r#"SELECT entity_kind, entity_id, payload::text, payload_canonical, row_hash,
                  to_char(source_watermark AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                  first_run_id, last_run_id
             FROM public.replicated_entities_v1 ORDER BY entity_kind, entity_id"#,
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

pub fn config_for(dir: &Path, db_url: &str) -> Config {
    let config_path = dir.join("replication.toml");
    std::fs::write(
        &config_path,
        r#"
[entities.customer]
table = "customers"
key = "id"
watermark = "updated_at"

[entities.order]
table = "orders"
key = "id"
watermark = "updated_at"
"#,
    )
    .unwrap();
    let vars: BTreeMap<String, String> = [
        ("SUPABASE_PROJECT_URL", "https://abcd.supabase.co"),
        ("SUPABASE_SERVICE_ROLE_KEY", "sb_secret_test0123456789"),
        ("REPLICA_TARGET_DB_URL", db_url),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Config::from_vars(&config_path, &vars).expect("test config is valid")
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

pub fn at(text: &str) -> OffsetDateTime {
    rep_core::parse_rfc3339(text).unwrap()
}

/// A snapshot row from raw JSON (canonicalised like the export does).
pub fn row(kind: &str, id: &str, watermark: &str, json: &str) -> SnapshotRow {
    let payload = rep_core::canonicalize(json).expect("test payload is JSON");
    SnapshotRow::new(kind, id, at(watermark), payload)
}

pub struct Snap {
    pub snapshot: PathBuf,
    pub manifest: PathBuf,
    pub run_id: String,
}

/// Writes `snapshot.csv` and `manifest.json` into `dir` for the given rows (sorted here the
/// way the export orders them); `kinds` are declared even when they have no rows.
pub fn write_snapshot(dir: &Path, run_id: &str, kinds: &[&str], rows: &[SnapshotRow]) -> Snap {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| {
        (&a.entity_kind, &a.watermark, &a.entity_id).cmp(&(
            &b.entity_kind,
            &b.watermark,
            &b.entity_id,
        ))
    });
    let snapshot = dir.join("snapshot.csv");
    let mut writer = SnapshotWriter::create(&snapshot, &SecretSet::new()).unwrap();
    for kind in kinds {
        writer.declare_kind(kind);
    }
    for r in &rows {
        writer.write(r).unwrap();
    }
    let summary = writer.finish().unwrap();
    let manifest = Manifest {
        manifest: MANIFEST_NAME.to_string(),
        schema_version: 1,
        run_id: run_id.to_string(),
        created_at: utc_micros(OffsetDateTime::now_utc()),
        window: ManifestWindow {
            watermark_start: WINDOW_START.to_string(),
            watermark_end: WINDOW_END.to_string(),
        },
        source: ManifestSource {
            project_host: "abcd.supabase.co".to_string(),
            schema: "public".to_string(),
        },
        hash_algorithm: HASH_ALGORITHM.to_string(),
        snapshot: ManifestFile {
            file: "snapshot.csv".to_string(),
            bytes: summary.file.bytes,
            rows: summary.rows,
            sha256: summary.file.sha256.clone(),
        },
        entity_kinds: summary
            .kinds
            .iter()
            .map(|k| ManifestKind {
                table: format!("{}s", k.entity_kind),
                key_column: "id".to_string(),
                watermark_column: "updated_at".to_string(),
                source_count: k.row_count,
                summary: k.clone(),
            })
            .collect(),
    };
    let manifest_path = dir.join("manifest.json");
    std::fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    Snap {
        snapshot,
        manifest: manifest_path,
        run_id: run_id.to_string(),
    }
}
