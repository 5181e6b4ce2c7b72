//! End-to-end: the five step binaries over a real source (PostgreSQL behind the
//! PostgREST-protocol sandbox, 1000-row cap) and a real TLS target.

use std::path::{Path, PathBuf};

use rep_core::{verify_snapshot, ReportDoc, Step};
use rep_sandbox::{DemoEnvironment, StepBinaries, DEMO_WINDOW};
use serde_json::Value;
use sqlx::{Connection, PgConnection};

fn binaries() -> StepBinaries {
    let one = PathBuf::from(env!("CARGO_BIN_EXE_rep-preflight"));
    StepBinaries::in_dir(one.parent().expect("binaries live in a folder"))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn report(demo: &DemoEnvironment, step: Step) -> ReportDoc {
    let path = demo
        .workdir()
        .join(demo.newest_report(step).expect("report written"));
    ReportDoc::read(&path, step).unwrap()
}

const ENVELOPE: [&str; 7] = [
    "report",
    "schema_version",
    "tool",
    "run_id",
    "started_at",
    "finished_at",
    "success",
];

fn assert_fields(doc: &ReportDoc, fields: &[&str]) {
    for field in ENVELOPE.iter().chain(fields) {
        assert!(
            doc.value.get(*field).is_some(),
            "{} lacks {field}",
            doc.path.display()
        );
    }
    assert!(doc.value["tool"]["name"].is_string() && doc.value["tool"]["version"].is_string());
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn assert_no_secret(demo: &DemoEnvironment, outputs: &[String]) {
    let secrets = demo.secret_values();
    assert!(secrets.iter().all(|s| s.len() >= 8));
    let context = demo.workdir().join(".context");
    let files = files_under(&context);
    assert!(!files.is_empty());
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        for s in &secrets {
            assert!(
                memchr_find(&bytes, s.as_bytes()).is_none(),
                "a secret leaked into {}",
                file.display()
            );
        }
    }
    for text in outputs {
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "a secret leaked into step output: {text}"
            );
        }
    }
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn runbook_ends_in_go_with_an_exact_copy() {
    let dir = tempfile::tempdir().unwrap();
    let demo = DemoEnvironment::start(dir.path()).unwrap();
    let runbook = demo.run_runbook(&binaries(), DEMO_WINDOW, false).unwrap();
    let transcript: Vec<String> = runbook
        .steps
        .iter()
        .map(|s| format!("$ {}\n{}{}", s.command_line, s.stdout, s.stderr))
        .collect();
    assert!(
        runbook.go,
        "runbook did not end in GO:\n{}",
        transcript.join("\n")
    );
    assert_eq!(runbook.steps.len(), 6);
    assert!(runbook.steps.iter().all(|s| s.exit_code == 0));
    assert!(runbook.steps.last().unwrap().stdout.contains("GO"));

    // Evidence folder holds the four files; reports folder the five kinds.
    let evidence = runbook.evidence_dir.clone().unwrap();
    let run_id = runbook.run_id.clone().unwrap();
    for name in [
        "snapshot.csv",
        "manifest.json",
        "reconciliation.json",
        &format!("replication-import-{run_id}.sql"),
    ] {
        assert!(evidence.join(name).is_file(), "missing {name}");
    }

    // Every fixed field of SPEC.md, per report.
    let preflight = report(&demo, Step::Preflight);
    assert_fields(&preflight, &["readiness_status", "checks"]);
    assert_eq!(preflight.str("readiness_status"), Some("READY"));
    for check in preflight.value["checks"].as_array().unwrap() {
        assert!(check["name"].is_string() && check["detail"].is_string());
        assert!(
            ["pass", "warn"].contains(&check["status"].as_str().unwrap()),
            "{check}"
        );
    }
    let export = report(&demo, Step::Export);
    assert_fields(&export, &[]);
    assert!(export.flag("success"));
    assert_eq!(export.run_id(), Some(run_id.as_str()));
    let import = report(&demo, Step::Import);
    assert_fields(&import, &["mode"]);
    assert_eq!(import.str("mode"), Some("apply"));
    assert!(import.flag("success"));
    let reconcile = report(&demo, Step::Reconcile);
    assert_fields(
        &reconcile,
        &[
            "classification",
            "entity_kind_drift_count",
            "content_drift_count",
            "only_source_unexpected_ids",
            "only_target_unexpected_ids",
            "expected_differences",
        ],
    );
    assert_eq!(reconcile.str("classification"), Some("ok"));
    for key in [
        "entity_kind_drift_count",
        "content_drift_count",
        "only_source_unexpected_ids",
        "only_target_unexpected_ids",
    ] {
        assert_eq!(reconcile.count(key), Some(0), "{key}");
    }
    let gate = report(&demo, Step::GoNoGo);
    assert_fields(&gate, &["decision", "checks", "promotion_window_open"]);
    assert_eq!(gate.str("decision"), Some("GO"));
    for doc in [&export, &import, &reconcile, &gate] {
        assert_eq!(
            doc.run_id(),
            Some(run_id.as_str()),
            "{}",
            doc.path.display()
        );
    }

    // The snapshot's SHA-256 equals the manifest's, and every file a report names matches.
    let verified = verify_snapshot(
        &evidence.join("snapshot.csv"),
        &evidence.join("manifest.json"),
    )
    .unwrap();
    assert_eq!(
        export.str("snapshot_sha256"),
        Some(verified.snapshot_digest.sha256.as_str())
    );
    assert_eq!(
        verified.manifest.snapshot.sha256,
        verified.snapshot_digest.sha256
    );

    // The 2,500 rows sharing one watermark (cap 1000) are all there, once each.
    let orders: Vec<_> = verified
        .rows
        .iter()
        .filter(|r| r.entity_kind == "order")
        .collect();
    let mut tied = std::collections::BTreeMap::<&str, usize>::new();
    for r in &orders {
        *tied.entry(r.watermark.as_str()).or_default() += 1;
    }
    assert!(
        tied.values().any(|&n| n == 2500),
        "no watermark shared by 2,500 orders"
    );
    assert!(
        verified.rows.len() >= 10_000,
        "{} rows",
        verified.rows.len()
    );

    // Every target row equals its source row value for value, compared as jsonb in PostgreSQL.
    rt().block_on(async {
        let mut source = PgConnection::connect(&demo.source.cluster().superuser_url(demo.source.database())).await.unwrap();
        let mut target = PgConnection::connect(&demo.target.db_url()).await.unwrap();
        for (kind, table, key) in [("customer", "customers", "id"), ("order", "orders", "order_code"), ("event", "events", "id")] {
            let rows: Vec<(String, String)> = sqlx::query_as(&format!(
                "SELECT {key}::text, to_jsonb(t)::text FROM public.{table} t \
                 WHERE updated_at >= $1::timestamptz AND updated_at < $2::timestamptz"
            ))
            .bind(DEMO_WINDOW.0)
            .bind(DEMO_WINDOW.1)
            .fetch_all(&mut source)
            .await
            .unwrap();
            assert!(!rows.is_empty());
            let (ids, docs): (Vec<String>, Vec<String>) = rows.into_iter().unzip();
            let (differ, source_rows, target_rows): (i64, i64, i64) = sqlx::query_as(
                "WITH s AS (SELECT * FROM unnest($1::text[], $2::text[]) AS s(id, doc)), \
                      t AS (SELECT entity_id, payload FROM public.replicated_entities_v1 WHERE entity_kind = $3) \
                 SELECT count(*) FILTER (WHERE s.doc::jsonb IS DISTINCT FROM t.payload), \
                        count(s.id), count(t.entity_id) \
                 FROM s FULL JOIN t ON t.entity_id = s.id",
            )
            .bind(&ids)
            .bind(&docs)
            .bind(kind)
            .fetch_one(&mut target)
            .await
            .unwrap();
            assert_eq!((differ, source_rows), (0, ids.len() as i64), "{kind}: rows differ");
            assert_eq!(target_rows, ids.len() as i64, "{kind}: target has other rows");
        }
    });

    let mut outputs = transcript;
    outputs.push(
        std::fs::read_to_string(evidence.join(format!("replication-import-{run_id}.sql"))).unwrap(),
    );
    assert_no_secret(&demo, &outputs);
}

fn export(demo: &DemoEnvironment) -> (String, String) {
    let run = demo
        .run_step(
            &binaries(),
            "rep-snapshot-export",
            &[
                "--watermark-start",
                DEMO_WINDOW.0,
                "--watermark-end",
                DEMO_WINDOW.1,
            ],
        )
        .unwrap();
    assert_eq!(run.exit_code, 0, "{}{}", run.stdout, run.stderr);
    let doc = report(demo, Step::Export);
    let layout = demo.layout();
    let rel = |role: &str| {
        let p = layout.resolve(&doc.file(role).unwrap().path);
        p.strip_prefix(demo.workdir())
            .unwrap()
            .display()
            .to_string()
    };
    (rel("snapshot"), rel("manifest"))
}

fn target_counts(demo: &DemoEnvironment) -> (i64, i64) {
    rt().block_on(async {
        let mut target = PgConnection::connect(&demo.target.db_url()).await.unwrap();
        let entities: i64 =
            sqlx::query_scalar("SELECT count(*) FROM public.replicated_entities_v1")
                .fetch_one(&mut target)
                .await
                .unwrap();
        let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM public.replication_runs_v1")
            .fetch_one(&mut target)
            .await
            .unwrap();
        (entities, runs)
    })
}

#[test]
fn flipped_byte_in_snapshot_exits_3_and_leaves_the_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let demo = DemoEnvironment::start(dir.path()).unwrap();
    let bins = binaries();
    assert_eq!(
        demo.run_step(&bins, "rep-preflight", &[])
            .unwrap()
            .exit_code,
        0
    );
    let (snapshot, manifest) = export(&demo);
    let path = demo.workdir().join(&snapshot);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();

    for extra in [&[][..], &["--apply"][..]] {
        let mut args = vec![
            "--snapshot",
            snapshot.as_str(),
            "--manifest",
            manifest.as_str(),
        ];
        args.extend_from_slice(extra);
        let run = demo.run_step(&bins, "rep-import", &args).unwrap();
        assert_eq!(run.exit_code, 3, "{}{}", run.stdout, run.stderr);
        let errors: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{}", run.stderr);
        assert!(errors[0].contains("snapshot.csv"), "{}", errors[0]);
    }
    assert_eq!(target_counts(&demo), (0, 0));
    let import = report(&demo, Step::Import);
    assert!(!import.flag("success"));
    let checkpoints = files_under(&demo.layout().checkpoints_dir());
    let checkpoint: Value =
        serde_json::from_slice(&std::fs::read(&checkpoints[0]).unwrap()).unwrap();
    assert_eq!(checkpoint["status"], "corrigir");
}

#[test]
fn apply_without_a_ready_preflight_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let demo = DemoEnvironment::start(dir.path()).unwrap();
    let bins = binaries();
    let (snapshot, manifest) = export(&demo);
    let args = [
        "--snapshot",
        snapshot.as_str(),
        "--manifest",
        manifest.as_str(),
    ];
    assert_eq!(
        demo.run_step(&bins, "rep-import", &args).unwrap().exit_code,
        0
    );

    let mut apply = args.to_vec();
    apply.push("--apply");
    let run = demo.run_step(&bins, "rep-import", &apply).unwrap();
    assert_eq!(run.exit_code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("preflight") || run.stderr.contains("preflight"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(target_counts(&demo), (0, 0));
    let import = report(&demo, Step::Import);
    assert_eq!(import.str("mode"), Some("apply"));
    assert!(!import.flag("success"));
}
