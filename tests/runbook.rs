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
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
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
    let migrations = preflight_check(&preflight, "migrations");
    assert_eq!(migrations["status"], "pass", "{migrations}");
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

/// The preflight check named `name`.
fn preflight_check(preflight: &ReportDoc, name: &str) -> Value {
    preflight.value["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {}", preflight.value["checks"]))
        .clone()
}

#[test]
fn a_migration_not_applied_on_the_source_makes_preflight_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let demo = DemoEnvironment::start(dir.path()).unwrap();
    let bins = binaries();
    let migrations = demo.migrations_dir();

    // A migration written locally but never pushed: NOT_READY (1), the version named.
    let pending = migrations.join("20260301000000_add_loyalty_points.sql");
    std::fs::write(
        &pending,
        "ALTER TABLE public.customers ADD COLUMN loyalty_points bigint;\n",
    )
    .unwrap();
    let run = demo.run_step(&bins, "rep-preflight", &[]).unwrap();
    assert_eq!(run.exit_code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("NOT_READY"), "{}", run.stdout);
    let preflight = report(&demo, Step::Preflight);
    assert_eq!(preflight.str("readiness_status"), Some("NOT_READY"));
    let check = preflight_check(&preflight, "migrations");
    assert_eq!(check["status"], "fail", "{check}");
    let detail = check["detail"].as_str().unwrap();
    assert!(detail.contains("20260301000000"), "{detail}");
    assert!(detail.contains("supabase db push"), "{detail}");
    // Everything else still holds: the pending migration is the one reason.
    let failed: Vec<&Value> = preflight.value["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");

    // A file the Supabase CLI would not take for a migration: failed, the file named.
    std::fs::remove_file(&pending).unwrap();
    std::fs::write(migrations.join("notes.txt"), "todo\n").unwrap();
    let run = demo.run_step(&bins, "rep-preflight", &[]).unwrap();
    assert_eq!(run.exit_code, 1, "{}{}", run.stdout, run.stderr);
    let check = preflight_check(&report(&demo, Step::Preflight), "migrations");
    assert_eq!(check["status"], "fail", "{check}");
    assert!(
        check["detail"].as_str().unwrap().contains("notes.txt"),
        "{check}"
    );

    // Back in step: READY again.
    std::fs::remove_file(migrations.join("notes.txt")).unwrap();
    let run = demo.run_step(&bins, "rep-preflight", &[]).unwrap();
    assert_eq!(run.exit_code, 0, "{}{}", run.stdout, run.stderr);
    assert_no_secret(&demo, &[run.stdout, run.stderr]);
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

/// The documented exit code and one line naming `needle`: a negative verdict or refusal
/// (exit 1) is the single stdout line; any other failure is the single `error:` line on stderr.
fn assert_one_error_line(run: &rep_sandbox::StepRun, code: i32, needle: &str) {
    assert_eq!(
        run.exit_code, code,
        "{}: {}{}",
        run.command_line, run.stdout, run.stderr
    );
    let lines: Vec<&str> = if code == 1 {
        run.stdout.lines().collect()
    } else {
        run.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect()
    };
    assert_eq!(
        lines.len(),
        1,
        "{}: {}{}",
        run.command_line,
        run.stdout,
        run.stderr
    );
    assert!(
        lines[0].contains(needle),
        "{}: {:?} lacks {needle:?}",
        run.command_line,
        lines[0]
    );
}

#[test]
fn after_go_tampered_evidence_and_target_drift_are_caught_and_contained() {
    let dir = tempfile::tempdir().unwrap();
    let demo = DemoEnvironment::start(dir.path()).unwrap();
    let bins = binaries();
    let first = demo.run_runbook(&bins, DEMO_WINDOW, false).unwrap();
    assert!(first.go);
    let gate = report(&demo, Step::GoNoGo);
    assert_eq!(gate.value["consecutive_go_cycles"], 1);
    assert_eq!(gate.value["promotion_window_open"], false);

    // A second complete cycle on the next window opens the promotion window.
    let second = demo
        .run_runbook(
            &bins,
            ("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"),
            false,
        )
        .unwrap();
    assert!(second.go, "{:?}", second.steps.last());
    let gate = report(&demo, Step::GoNoGo);
    assert_eq!(gate.value["consecutive_go_cycles"], 2);
    assert_eq!(gate.value["promotion_window_open"], true);

    let reports: Vec<String> = [Step::Preflight, Step::Export, Step::Import, Step::Reconcile]
        .into_iter()
        .map(|s| demo.newest_report(s).unwrap().display().to_string())
        .collect();
    let gate_args = |reconcile: &str| {
        vec![
            "--preflight-report".to_string(),
            reports[0].clone(),
            "--export-report".to_string(),
            reports[1].clone(),
            "--import-report".to_string(),
            reports[2].clone(),
            "--reconcile-report".to_string(),
            reconcile.to_string(),
        ]
    };
    let run_gate = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        demo.run_step(&bins, "rep-go-no-go", &args).unwrap()
    };

    // Tampered evidence: one byte appended to the manifest → NO-GO with exit 3.
    let evidence = second.evidence_dir.clone().unwrap();
    let manifest = evidence.join("manifest.json");
    let original = std::fs::read(&manifest).unwrap();
    let mut changed = original.clone();
    changed.push(b' ');
    std::fs::write(&manifest, &changed).unwrap();
    let run = run_gate(gate_args(&reports[3]));
    assert_one_error_line(&run, 3, "evidence_intact");
    assert_eq!(report(&demo, Step::GoNoGo).str("decision"), Some("NO-GO"));
    std::fs::write(&manifest, &original).unwrap();

    // Drift: a target row edited behind rep's back → anomalia, the run contained, NO-GO.
    rt().block_on(async {
        let mut target = PgConnection::connect(&demo.target.db_url()).await.unwrap();
        let edited = sqlx::query(
            "UPDATE public.replicated_entities_v1 \
             SET payload = payload || '{\"name\":\"edited\"}', \
                 payload_canonical = (payload || '{\"name\":\"edited\"}')::text, \
                 row_hash = encode(sha256(convert_to((payload || '{\"name\":\"edited\"}')::text, 'UTF8')), 'hex') \
             WHERE entity_kind = 'customer' AND source_watermark >= '2026-03-02T00:00:00Z' \
               AND entity_id = (SELECT min(entity_id) FROM public.replicated_entities_v1 \
                                WHERE entity_kind = 'customer' AND source_watermark >= '2026-03-02T00:00:00Z')",
        )
        .execute(&mut target)
        .await
        .unwrap();
        assert_eq!(edited.rows_affected(), 1);
    });
    let run_id = second.run_id.clone().unwrap();
    let rel = |p: &Path| {
        p.strip_prefix(demo.workdir())
            .unwrap()
            .display()
            .to_string()
    };
    let (snapshot, manifest) = (rel(&evidence.join("snapshot.csv")), rel(&manifest));
    let run = demo
        .run_step(
            &bins,
            "rep-reconcile",
            &[
                "--snapshot",
                &snapshot,
                "--manifest",
                &manifest,
                "--run-id",
                &run_id,
            ],
        )
        .unwrap();
    assert_eq!(run.exit_code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("anomalia"), "{}", run.stdout);
    let reconcile = report(&demo, Step::Reconcile);
    assert_eq!(reconcile.str("classification"), Some("anomalia"));
    assert_eq!(reconcile.count("content_drift_count"), Some(1));
    let (status, reason): (String, Option<String>) = rt().block_on(async {
        let mut target = PgConnection::connect(&demo.target.db_url()).await.unwrap();
        sqlx::query_as("SELECT status, metadata->>'containment_reason' FROM public.replication_runs_v1 WHERE run_id = $1")
            .bind(&run_id)
            .fetch_one(&mut target)
            .await
            .unwrap()
    });
    assert_eq!(
        (status.as_str(), reason.as_deref()),
        ("failed", Some("reconcile_anomalia"))
    );
    let checkpoints = files_under(&demo.layout().checkpoints_dir());
    let contained = checkpoints.iter().any(|p| {
        let doc: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        doc["status"] == "corrigir"
            && doc["containment_reason"] == "reconcile_anomalia"
            && doc["run_id"] == run_id.as_str()
    });
    assert!(contained, "no corrigir checkpoint for the anomalia");

    let newest = demo
        .newest_report(Step::Reconcile)
        .unwrap()
        .display()
        .to_string();
    let run = run_gate(gate_args(&newest));
    assert_eq!(run.exit_code, 1, "{}{}", run.stdout, run.stderr);
    let gate = report(&demo, Step::GoNoGo);
    assert_eq!(gate.str("decision"), Some("NO-GO"));
    assert_eq!(gate.value["promotion_window_open"], false);

    // Even with the earlier, clean reconcile report the contained run stays NO-GO (and that
    // report's reconciliation.json has since been rewritten, which the gate also sees).
    let run = run_gate(gate_args(&reports[3]));
    assert_one_error_line(&run, 3, "run_not_contained");

    // Rollback refuses to undo a run whose rows changed since it was applied (the drift)...
    let rollback = |id: &str| {
        demo.run_step(
            &bins,
            "rep-rollback",
            &["--run-id", id, "--reason", "operator drill"],
        )
        .unwrap()
    };
    let run = rollback(&run_id);
    assert_one_error_line(&run, 1, "changed since it was applied");

    // ...and undoes a clean run exactly: the first window's rows go, the second's stay.
    let counts_by_window = || -> (i64, i64) {
        rt().block_on(async {
            let mut target = PgConnection::connect(&demo.target.db_url()).await.unwrap();
            sqlx::query_as(
                "SELECT count(*) FILTER (WHERE source_watermark < '2026-03-02T00:00:00Z'), \
                        count(*) FILTER (WHERE source_watermark >= '2026-03-02T00:00:00Z') \
                 FROM public.replicated_entities_v1",
            )
            .fetch_one(&mut target)
            .await
            .unwrap()
        })
    };
    let (first_rows, second_rows) = counts_by_window();
    assert!(
        first_rows >= 10_000 && second_rows > 0,
        "{first_rows} {second_rows}"
    );
    let first_run = first.run_id.clone().unwrap();
    let run = rollback(&first_run);
    assert_eq!(run.exit_code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains(&format!("{first_rows} inserted rows deleted")),
        "{}",
        run.stdout
    );
    assert_eq!(counts_by_window(), (0, second_rows));
    let status: String = rt().block_on(async {
        let mut target = PgConnection::connect(&demo.target.db_url()).await.unwrap();
        sqlx::query_scalar("SELECT status FROM public.replication_runs_v1 WHERE run_id = $1")
            .bind(&first_run)
            .fetch_one(&mut target)
            .await
            .unwrap()
    });
    assert_eq!(status, "rolled_back");
    let run = rollback(&first_run);
    assert_one_error_line(&run, 1, "already rolled back");
    let first_dir = first.evidence_dir.clone().unwrap();
    let (snapshot, manifest) = (
        rel(&first_dir.join("snapshot.csv")),
        rel(&first_dir.join("manifest.json")),
    );
    let run = demo
        .run_step(
            &bins,
            "rep-import",
            &["--snapshot", &snapshot, "--manifest", &manifest, "--apply"],
        )
        .unwrap();
    assert_eq!(
        run.exit_code, 1,
        "a rolled-back run must never be applied again: {}{}",
        run.stdout, run.stderr
    );
    assert_eq!(counts_by_window(), (0, second_rows));
}

#[test]
fn bad_input_gets_one_clear_line_its_exit_code_and_writes_nothing_half_done() {
    let dir = tempfile::tempdir().unwrap();
    let demo = DemoEnvironment::start(dir.path()).unwrap();
    let bins = binaries();
    let step = |name: &str, args: &[&str]| demo.run_step(&bins, name, args).unwrap();
    let evidence_dirs = || files_under(&demo.layout().evidence_root()).len();

    // Windows: empty, in the future, without an offset → 2, and no evidence written.
    let run = step(
        "rep-snapshot-export",
        &[
            "--watermark-start",
            "2026-03-02T00:00:00Z",
            "--watermark-end",
            "2026-03-01T00:00:00Z",
        ],
    );
    assert_one_error_line(&run, 2, "not after --watermark-start");
    let run = step(
        "rep-snapshot-export",
        &[
            "--watermark-start",
            "2026-03-01T00:00:00Z",
            "--watermark-end",
            "2999-01-01T00:00:00Z",
        ],
    );
    assert_one_error_line(&run, 2, "safety lag");
    let run = step(
        "rep-snapshot-export",
        &[
            "--watermark-start",
            "2026-03-01T00:00:00",
            "--watermark-end",
            "2026-03-02T00:00:00Z",
        ],
    );
    assert_one_error_line(&run, 2, "explicit offset");
    assert_eq!(evidence_dirs(), 0);
    assert!(!report(&demo, Step::Export).flag("success"));

    // A flag that does not exist → 2 (usage).
    let run = step("rep-import", &["--snapshots", "x"]);
    assert_eq!(run.exit_code, 2);

    // Missing files → 2, naming them.
    let run = step(
        "rep-import",
        &[
            "--snapshot",
            "nope/snapshot.csv",
            "--manifest",
            "nope/manifest.json",
        ],
    );
    assert_one_error_line(&run, 2, "nope/manifest.json");
    let run = step(
        "rep-go-no-go",
        &[
            "--preflight-report",
            "a.json",
            "--export-report",
            "b.json",
            "--import-report",
            "c.json",
            "--reconcile-report",
            "d.json",
        ],
    );
    assert_one_error_line(&run, 2, "a.json");

    // A run id that is not the manifest's → 2.
    let (snapshot, manifest) = export(&demo);
    let run = step(
        "rep-reconcile",
        &[
            "--snapshot",
            &snapshot,
            "--manifest",
            &manifest,
            "--run-id",
            "someone-else",
        ],
    );
    assert_one_error_line(&run, 2, "does not match the manifest's run_id");

    // The target unreachable → preflight NOT_READY (1), import 4; no password in any line.
    let dotenv_path = demo.workdir().join(".env");
    let dotenv = std::fs::read_to_string(&dotenv_path).unwrap();
    let port = demo.target.cluster().port().to_string();
    let closed = rep_sandbox::free_port().unwrap().to_string();
    std::fs::write(
        &dotenv_path,
        dotenv.replace(&format!(":{port}/"), &format!(":{closed}/")),
    )
    .unwrap();
    let run = step("rep-preflight", &[]);
    assert_eq!(run.exit_code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("NOT_READY") && run.stdout.contains("target_tls"),
        "{}",
        run.stdout
    );
    let run = step(
        "rep-import",
        &["--snapshot", &snapshot, "--manifest", &manifest],
    );
    assert_one_error_line(&run, 4, "REPLICA_TARGET_DB_URL");

    // A missing variable → preflight 2 with the variable named and the report NOT_READY.
    let without_target: String = dotenv
        .lines()
        .filter(|l| !l.starts_with("REPLICA_TARGET_DB_URL"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&dotenv_path, without_target).unwrap();
    let run = step("rep-preflight", &[]);
    assert_one_error_line(&run, 2, "REPLICA_TARGET_DB_URL: is not set");
    assert_eq!(
        report(&demo, Step::Preflight).str("readiness_status"),
        Some("NOT_READY")
    );
    let run = step(
        "rep-import",
        &["--snapshot", &snapshot, "--manifest", &manifest],
    );
    assert_one_error_line(&run, 2, "REPLICA_TARGET_DB_URL");

    // TLS off in the URL → 2: TLS is mandatory.
    let plain = dotenv.replace("sslmode=verify-full", "sslmode=disable");
    std::fs::write(&dotenv_path, plain).unwrap();
    let run = step("rep-preflight", &[]);
    assert_one_error_line(&run, 2, "TLS is mandatory");

    std::fs::write(&dotenv_path, &dotenv).unwrap();
    assert_eq!(target_counts(&demo), (0, 0));
    assert_no_secret(&demo, &[]);
}
