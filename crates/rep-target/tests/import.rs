//! The import step end to end against a real TLS PostgreSQL target.
mod common;

use std::process::Command;

use common::*;
use rep_core::{ExitClass, TargetDbUrl};
use rep_target::{TargetDb, APPLY_LOCK_KEY};
use serde_json::json;

fn plan(new: u64, changed: u64, unchanged: u64, older: u64) -> serde_json::Value {
    json!({"new": new, "changed": changed, "unchanged": unchanged, "older_than_target": older})
}

fn applied(inserted: u64, updated: u64, unchanged: u64, older: u64) -> serde_json::Value {
    json!({"inserted": inserted, "updated": updated, "unchanged": unchanged, "skipped_older": older})
}

#[tokio::test]
async fn dry_run_plans_every_class_and_writes_nothing_then_apply_follows_the_plan() {
    let fx = Fixture::new();
    fx.write_preflight("READY");
    let first = write_snapshot(
        &fx.evidence("replication-a"),
        "run-a",
        &["customer", "order"],
        &[
            row(
                "customer",
                "1",
                "2026-03-01T10:00:00Z",
                r#"{"id":1,"v":"a"}"#,
            ),
            row(
                "customer",
                "2",
                "2026-03-01T10:00:00Z",
                r#"{"id":2,"v":"a"}"#,
            ),
            row(
                "customer",
                "3",
                "2026-03-01T12:00:00Z",
                r#"{"id":3,"v":"a"}"#,
            ),
            row("order", "1", "2026-03-01T10:00:00Z", r#"{"id":1}"#),
        ],
    );
    let report = fx.dry_run_and_apply(&first).await;
    assert_eq!(report["rows_inserted"], 4);

    let second = write_snapshot(
        &fx.evidence("replication-b"),
        "run-b",
        &["customer", "order"],
        &[
            row(
                "customer",
                "1",
                "2026-03-01T10:00:00Z",
                r#"{"id":1,"v":"a"}"#,
            ),
            row(
                "customer",
                "2",
                "2026-03-01T11:00:00Z",
                r#"{"id":2,"v":"b"}"#,
            ),
            row(
                "customer",
                "3",
                "2026-03-01T11:00:00Z",
                r#"{"id":3,"v":"b"}"#,
            ),
            row(
                "customer",
                "4",
                "2026-03-01T11:00:00Z",
                r#"{"id":4,"v":"b"}"#,
            ),
        ],
    );
    let before = fx.fingerprint().await;
    let dry = fx.import(&second, false).await;
    assert_eq!(dry.class, ExitClass::Success, "{}", dry.summary);
    assert_eq!(
        fx.fingerprint().await,
        before,
        "a dry-run wrote to the target"
    );
    assert!(
        dry.summary
            .contains("1 new, 1 changed, 1 unchanged, 1 older"),
        "{}",
        dry.summary
    );

    let report = read_json(dry.report.as_ref().unwrap());
    assert_eq!(report["report"], "replication-v1-import");
    assert_eq!(report["mode"], "dry_run");
    assert_eq!(report["success"], true);
    assert_eq!(report["run_id"], "run-b");
    assert_eq!(report["plan"]["customer"], plan(1, 1, 1, 1));
    assert_eq!(report["plan"]["order"], plan(0, 0, 0, 0));
    assert_eq!(report["window"]["watermark_start"], WINDOW_START);
    assert_eq!(report["window"]["watermark_end"], WINDOW_END);
    assert_eq!(report["target_tls"], true);
    assert!(report["target"].as_str().unwrap().contains(":***@"));
    let sha = rep_core::FileDigest::of_file(&second.snapshot)
        .unwrap()
        .sha256;
    assert_eq!(report["snapshot_sha256"], sha.as_str());
    let audit = second
        .snapshot
        .parent()
        .unwrap()
        .join("replication-import-run-b.sql");
    let output = &report["outputs"][0];
    assert_eq!(output["role"], "audit_sql");
    assert_eq!(
        output["sha256"],
        rep_core::FileDigest::of_file(&audit)
            .unwrap()
            .sha256
            .as_str()
    );
    let script = std::fs::read_to_string(&audit).unwrap();
    assert!(script.starts_with("-- rep-import audit SQL"));
    assert!(script.contains("-- run_id: run-b\n"));
    assert!(script.contains(&format!("-- snapshot_sha256: {sha}\n")));
    assert!(script.contains("-- plan customer: new=1 changed=1 unchanged=1 older_than_target=1\n"));
    for artefact in [
        std::fs::read(dry.report.as_ref().unwrap()).unwrap(),
        script.into_bytes(),
    ] {
        let text = String::from_utf8(artefact).unwrap();
        assert!(!text.contains(fx.target.password()), "password leaked");
    }

    let outcome = fx.import(&second, true).await;
    assert_eq!(outcome.class, ExitClass::Success, "{}", outcome.summary);
    let report = read_json(outcome.report.as_ref().unwrap());
    assert_eq!(report["mode"], "apply");
    assert_eq!(report["applied"]["customer"], applied(1, 1, 1, 1));
    assert_eq!(report["applied"]["order"], applied(0, 0, 0, 0));
    assert_eq!(report["rows_inserted"], 1);
    assert_eq!(report["rows_updated"], 1);
    assert_eq!(report["rows_unchanged"], 1);
    assert_eq!(report["plan_matches_dry_run"], true);
    let roles: Vec<&str> = report["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["snapshot", "manifest", "preflight_report", "dry_run_report"]
    );

    let mut conn = fx.conn().await;
    let rows = entity_rows(&mut conn).await;
    let customer = |id: &str| {
        rows.iter()
            .find(|r| r.0 == "customer" && r.1 == id)
            .unwrap()
            .clone()
    };
    assert_eq!(customer("1").3, r#"{"id":1,"v":"a"}"#);
    assert_eq!(customer("1").7, "run-a", "unchanged rows are not rewritten");
    assert_eq!(customer("2").3, r#"{"id":2,"v":"b"}"#);
    assert_eq!(
        (customer("2").6.as_str(), customer("2").7.as_str()),
        ("run-a", "run-b")
    );
    assert_eq!(
        customer("3").3,
        r#"{"id":3,"v":"a"}"#,
        "an older row overwrote a newer one"
    );
    assert_eq!(customer("3").5, "2026-03-01T12:00:00.000000Z");
    assert_eq!(customer("4").6, "run-b");

    type HistoryRow = (String, String, Option<String>, Option<String>, String);
    let history: Vec<HistoryRow> = sqlx::query_as(
        "SELECT entity_id, action, previous_payload_canonical, previous_last_run_id, new_row_hash
           FROM public.replication_row_history_v1 WHERE run_id = 'run-b' ORDER BY entity_id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].0, "2");
    assert_eq!(history[0].1, "update");
    assert_eq!(history[0].2.as_deref(), Some(r#"{"id":2,"v":"a"}"#));
    assert_eq!(history[0].3.as_deref(), Some("run-a"));
    assert_eq!(
        (history[1].0.as_str(), history[1].1.as_str()),
        ("4", "insert")
    );
    assert_eq!(history[1].2, None);

    let run: (String, Option<String>, String, serde_json::Value) = sqlx::query_as(
        "SELECT status, snapshot_sha256, to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), metadata
           FROM public.replication_runs_v1 WHERE run_id = 'run-b'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(run.0, "applied");
    assert_eq!(run.1.as_deref(), Some(sha.as_str()));
    assert_eq!(run.2, WINDOW_START);
    assert_eq!(
        run.3["applied"]["customer"],
        json!({"inserted": 1, "updated": 1})
    );
    assert_eq!(run.3["plan"]["customer"], plan(1, 1, 1, 1));
}

#[tokio::test]
async fn second_apply_of_the_same_snapshot_changes_nothing() {
    let fx = Fixture::new();
    fx.write_preflight("READY");
    // Enough rows to cross the lookup/upsert batch (2000 per kind) and the audit statement
    // (500) sizes.
    let rows: Vec<_> = (1..=2200)
        .map(|i| {
            row(
                if i % 22 == 0 { "order" } else { "customer" },
                &i.to_string(),
                "2026-03-01T10:00:00Z",
                &format!(r#"{{"id":{i},"name":"n{i}"}}"#),
            )
        })
        .collect();
    let snap = write_snapshot(
        &fx.evidence("replication-x"),
        "run-x",
        &["customer", "order"],
        &rows,
    );
    let report = fx.dry_run_and_apply(&snap).await;
    assert_eq!(report["rows_inserted"], 2200);
    assert_eq!(report["applied"]["customer"], applied(2100, 0, 0, 0));
    assert_eq!(report["applied"]["order"], applied(100, 0, 0, 0));

    let mut conn = fx.conn().await;
    let entities_before = exact_entities(&mut conn).await;
    let history_before: i64 =
        sqlx::query_scalar("SELECT count(*) FROM public.replication_row_history_v1")
            .fetch_one(&mut conn)
            .await
            .unwrap();

    let again = fx.import(&snap, true).await;
    assert_eq!(again.class, ExitClass::Success, "{}", again.summary);
    let report = read_json(again.report.as_ref().unwrap());
    assert_eq!(report["rows_inserted"], 0);
    assert_eq!(report["rows_updated"], 0);
    assert_eq!(report["rows_unchanged"], 2200);
    assert_eq!(report["applied"]["customer"], applied(0, 0, 2100, 0));
    assert_eq!(report["plan_matches_dry_run"], false);

    assert_eq!(
        exact_entities(&mut conn).await,
        entities_before,
        "a row was rewritten"
    );
    let history_after: i64 =
        sqlx::query_scalar("SELECT count(*) FROM public.replication_row_history_v1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(history_after, history_before);
    let status: String =
        sqlx::query_scalar("SELECT status FROM public.replication_runs_v1 WHERE run_id = 'run-x'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(status, "applied");
}

#[tokio::test]
async fn an_older_snapshot_never_overwrites_newer_target_rows() {
    let fx = Fixture::new();
    fx.write_preflight("READY");
    let newer = write_snapshot(
        &fx.evidence("replication-new"),
        "run-new",
        &["customer"],
        &[
            row("customer", "1", "2026-03-01T20:00:00Z", r#"{"id":1,"v":2}"#),
            row("customer", "2", "2026-03-01T20:00:00Z", r#"{"id":2,"v":2}"#),
        ],
    );
    fx.dry_run_and_apply(&newer).await;
    let mut conn = fx.conn().await;
    let after_newer = entity_rows(&mut conn).await;

    let older = write_snapshot(
        &fx.evidence("replication-old"),
        "run-old",
        &["customer"],
        &[
            row("customer", "1", "2026-03-01T08:00:00Z", r#"{"id":1,"v":1}"#),
            row("customer", "2", "2026-03-01T08:00:00Z", r#"{"id":2,"v":1}"#),
            row("customer", "3", "2026-03-01T08:00:00Z", r#"{"id":3,"v":1}"#),
        ],
    );
    let dry = fx.import(&older, false).await;
    assert_eq!(
        read_json(dry.report.as_ref().unwrap())["plan"]["customer"],
        plan(1, 0, 0, 2)
    );
    let applied_old = fx.import(&older, true).await;
    assert_eq!(
        applied_old.class,
        ExitClass::Success,
        "{}",
        applied_old.summary
    );
    let report = read_json(applied_old.report.as_ref().unwrap());
    assert_eq!(report["applied"]["customer"], applied(1, 0, 0, 2));

    let rows = entity_rows(&mut conn).await;
    assert_eq!(&rows[..2], &after_newer[..], "newer rows changed");
    assert_eq!(rows[2].1, "3");
}

#[tokio::test]
async fn audit_sql_run_by_psql_reaches_the_apply_end_state() {
    let applied_fx = Fixture::new();
    let psql_fx = Fixture::new();
    applied_fx.write_preflight("READY");
    let snap = write_snapshot(
        &applied_fx.evidence("replication-audit"),
        "run-audit",
        &["customer", "order"],
        &hard_rows(),
    );
    applied_fx.dry_run_and_apply(&snap).await;
    let audit = snap
        .snapshot
        .parent()
        .unwrap()
        .join("replication-import-run-audit.sql");

    run_psql(&psql_fx, &audit);
    let mut a = applied_fx.conn().await;
    let mut b = psql_fx.conn().await;
    let applied_rows = entity_rows(&mut a).await;
    assert_eq!(applied_rows.len(), hard_rows().len());
    assert_eq!(entity_rows(&mut b).await, applied_rows);

    assert_eq!(history_rows(&mut b).await, history_rows(&mut a).await);
    assert_eq!(run_row(&mut b).await, run_row(&mut a).await);

    // Like --apply, the script is idempotent.
    run_psql(&psql_fx, &audit);
    assert_eq!(entity_rows(&mut b).await, applied_rows);
    assert_eq!(history_rows(&mut b).await.len(), applied_rows.len());
}

fn run_psql(fx: &Fixture, script: &std::path::Path) {
    let port = fx.target.cluster().port();
    let ca = fx.target.ca_cert_path().display().to_string();
    let conninfo = format!(
        "host=127.0.0.1 port={port} dbname=replica user=replicator sslmode=verify-ca sslrootcert={ca}"
    );
    let out = Command::new("/usr/bin/psql")
        .arg(conninfo)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(script)
        .env("PGPASSWORD", fx.target.password())
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Values that a lossy path would change: big integers, long numerics, exponents, quotes,
/// backslashes, CRLF, emoji, NULL versus "".
fn hard_rows() -> Vec<rep_core::SnapshotRow> {
    vec![
        row(
            "customer",
            "9007199254740993",
            "2026-03-01T00:00:00Z",
            r#"{"id":9007199254740993,"balance":12345678901234567890123456.789012345678,"big":1e+100,"small":1.5e-7,"neg":-0.0}"#,
        ),
        row(
            "customer",
            "it's \"quoted\" \\ back",
            "2026-03-01T01:02:03.456789Z",
            r#"{"name":"O'Brien \"the\" \\ slash","path":"C:\\temp\\'x'","crlf":"line1\r\nline2","emoji":"😀 ação","tab":"a\tb"}"#,
        ),
        row(
            "customer",
            "line\r\nbreak",
            "2026-03-01T02:00:00Z",
            r#"{"empty":"","null":null,"nested":{"z":[1,"",null,{"a":"$$;--"}],"a":true},"colon":":var"}"#,
        ),
        row(
            "order",
            "😀",
            "2026-03-01T03:00:00Z",
            r#"{"id":"😀","note":"\u0001 control"}"#,
        ),
    ]
}

#[tokio::test]
async fn hard_values_round_trip_byte_for_byte() {
    let fx = Fixture::new();
    fx.write_preflight("READY");
    let rows = hard_rows();
    let snap = write_snapshot(
        &fx.evidence("replication-hard"),
        "run-hard",
        &["customer", "order"],
        &rows,
    );
    fx.dry_run_and_apply(&snap).await;

    let url = TargetDbUrl::parse(&fx.target.db_url()).unwrap();
    let db = TargetDb::connect(&url, &fx.config.secrets).await.unwrap();
    let mut seen = 0;
    for kind in ["customer", "order"] {
        for t in db
            .window_rows(kind, at(WINDOW_START), at(WINDOW_END))
            .await
            .unwrap()
        {
            let s = rows
                .iter()
                .find(|r| r.entity_kind == t.entity_kind && r.entity_id == t.entity_id)
                .unwrap_or_else(|| panic!("unexpected id {:?}", t.entity_id));
            assert_eq!(t.payload_canonical, s.payload, "payload bytes changed");
            assert_eq!(t.row_hash, s.row_hash);
            assert_eq!(t.source_watermark, s.watermark);
            assert!(t.jsonb_consistent, "{}", t.entity_id);
            assert!(t.hash_consistent, "{}", t.entity_id);
            seen += 1;
        }
    }
    assert_eq!(seen, rows.len());
    // jsonb alone would not have kept the bytes: that is why payload_canonical exists.
    let mut conn = fx.conn().await;
    let jsonb_text: String = sqlx::query_scalar(
        "SELECT payload->>'big' FROM public.replicated_entities_v1 WHERE entity_id = '9007199254740993'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_ne!(jsonb_text, "1e+100");
}

#[tokio::test]
async fn a_flipped_byte_is_an_integrity_error_and_nothing_reaches_the_target() {
    let fx = Fixture::new();
    fx.write_preflight("READY");
    let snap = write_snapshot(
        &fx.evidence("replication-flip"),
        "run-flip",
        &["customer"],
        &[row(
            "customer",
            "1",
            "2026-03-01T10:00:00Z",
            r#"{"id":1,"name":"abc"}"#,
        )],
    );
    let mut bytes = std::fs::read(&snap.snapshot).unwrap();
    let at_byte = bytes.windows(3).position(|w| w == b"abc").unwrap();
    bytes[at_byte] = b'x';
    std::fs::write(&snap.snapshot, &bytes).unwrap();
    let before = fx.fingerprint().await;

    for apply in [false, true] {
        let outcome = fx.import(&snap, apply).await;
        assert_eq!(outcome.class, ExitClass::Integrity, "{}", outcome.summary);
        assert_eq!(outcome.class.code(), 3);
        assert!(
            outcome
                .summary
                .contains(&snap.snapshot.display().to_string()),
            "{}",
            outcome.summary
        );
        assert!(!outcome.summary.contains('\n'));
        let report = read_json(outcome.report.as_ref().unwrap());
        assert_eq!(report["success"], false);
        assert_eq!(report["mode"], if apply { "apply" } else { "dry_run" });
        assert_eq!(report["error"]["class"], "integrity");
        let checkpoint = fx
            .layout
            .root()
            .join(report["checkpoint"].as_str().unwrap());
        let checkpoint = read_json(&checkpoint);
        assert_eq!(checkpoint["status"], "corrigir");
        assert_eq!(checkpoint["containment_reason"], "snapshot_integrity");
        assert_eq!(checkpoint["run_id"], "run-flip");
    }
    assert_eq!(fx.fingerprint().await, before);
    assert_eq!(fx.entity_count().await, 0);
    assert!(!snap
        .snapshot
        .parent()
        .unwrap()
        .join("replication-import-run-flip.sql")
        .exists());

    // Verification happens before any connection: even an unreachable target gives the
    // integrity verdict, not a runtime error.
    let port = rep_sandbox::free_port().unwrap();
    let mut offline = fx.config.clone();
    offline.env.target_db = TargetDbUrl::parse(&format!(
        "postgres://replicator:some-password-123@127.0.0.1:{port}/replica?sslmode=require"
    ))
    .unwrap();
    let outcome = rep_target::run_import(
        &offline,
        &fx.layout,
        rep_target::ImportRequest {
            snapshot: snap.snapshot.clone(),
            manifest: snap.manifest.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(outcome.class, ExitClass::Integrity, "{}", outcome.summary);
}

#[tokio::test]
async fn apply_is_refused_without_ready_preflight_or_matching_dry_run() {
    let fx = Fixture::new();
    let snap = write_snapshot(
        &fx.evidence("replication-gate"),
        "run-gate",
        &["customer"],
        &[row("customer", "1", "2026-03-01T10:00:00Z", r#"{"id":1}"#)],
    );
    let other = write_snapshot(
        &fx.evidence("replication-other"),
        "run-other",
        &["customer"],
        &[row("customer", "2", "2026-03-01T10:00:00Z", r#"{"id":2}"#)],
    );
    let before = fx.fingerprint().await;
    let refused = |outcome: &rep_core::StepOutcome, needle: &str| {
        assert_eq!(outcome.class, ExitClass::Negative, "{}", outcome.summary);
        assert!(outcome.summary.contains(needle), "{}", outcome.summary);
        let report = read_json(outcome.report.as_ref().unwrap());
        assert_eq!(report["mode"], "apply");
        assert_eq!(report["success"], false);
        assert_eq!(report["error"]["exit_code"], 1);
    };

    refused(&fx.import(&snap, true).await, "no preflight report");
    fx.write_preflight("NOT_READY");
    refused(&fx.import(&snap, true).await, "readiness_status NOT_READY");
    fx.write_preflight("READY");
    refused(
        &fx.import(&snap, true).await,
        "no dry-run import report of run run-gate",
    );
    // A dry-run of another snapshot does not authorise this one.
    assert_eq!(fx.import(&other, false).await.class, ExitClass::Success);
    refused(
        &fx.import(&snap, true).await,
        "no dry-run import report of run run-gate",
    );
    let given = fx
        .layout
        .reports_of(rep_core::Step::Import)
        .unwrap()
        .pop()
        .unwrap();
    let outcome = rep_target::run_import(
        &fx.config,
        &fx.layout,
        rep_target::ImportRequest {
            snapshot: snap.snapshot.clone(),
            manifest: snap.manifest.clone(),
            apply: true,
            preflight_report: None,
            dry_run_report: Some(given),
        },
    )
    .await;
    refused(&outcome, "is not a dry-run of run run-gate");
    assert_eq!(
        fx.fingerprint().await,
        before,
        "a refused apply touched the target"
    );

    // With both, it goes through.
    assert_eq!(fx.import(&snap, false).await.class, ExitClass::Success);
    // A newer NOT_READY preflight wins over the older READY one.
    fx.write_preflight("NOT_READY");
    refused(&fx.import(&snap, true).await, "NOT_READY");
    fx.write_preflight("READY");
    let outcome = fx.import(&snap, true).await;
    assert_eq!(outcome.class, ExitClass::Success, "{}", outcome.summary);
    assert_eq!(fx.entity_count().await, 1);
}

#[tokio::test]
async fn a_second_writer_is_refused_and_a_failed_apply_rolls_back() {
    let fx = Fixture::new();
    fx.write_preflight("READY");
    let snap = write_snapshot(
        &fx.evidence("replication-lock"),
        "run-lock",
        &["customer", "order"],
        &[
            row("customer", "1", "2026-03-01T10:00:00Z", r#"{"id":1}"#),
            row("order", "boom", "2026-03-01T10:00:00Z", r#"{"id":"boom"}"#),
        ],
    );
    assert_eq!(fx.import(&snap, false).await.class, ExitClass::Success);
    let before = fx.fingerprint().await;

    // Another apply holds the lock.
    let mut holder = fx.conn().await;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(APPLY_LOCK_KEY)
        .execute(&mut holder)
        .await
        .unwrap();
    let outcome = fx.import(&snap, true).await;
    assert_eq!(outcome.class, ExitClass::Negative, "{}", outcome.summary);
    assert_eq!(
        outcome.summary,
        "another rep-import --apply is writing this target; wait for it to finish"
    );
    assert_eq!(fx.fingerprint().await, before);
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(APPLY_LOCK_KEY)
        .execute(&mut holder)
        .await
        .unwrap();

    // A statement fails after the first kind was written: all or nothing.
    fx.target
        .cluster()
        .exec_sql(
            "replica",
            "CREATE FUNCTION public.boom() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.entity_id = 'boom' THEN RAISE EXCEPTION 'boom refused by a trigger'; END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER boom BEFORE INSERT ON public.replicated_entities_v1
                 FOR EACH ROW EXECUTE FUNCTION public.boom();",
        )
        .unwrap();
    let outcome = fx.import(&snap, true).await;
    assert_eq!(outcome.class, ExitClass::Runtime, "{}", outcome.summary);
    assert!(
        outcome.summary.contains("boom refused by a trigger"),
        "{}",
        outcome.summary
    );
    assert!(
        outcome.summary.contains("rolled back"),
        "{}",
        outcome.summary
    );
    let report = read_json(outcome.report.as_ref().unwrap());
    assert_eq!(report["failure_recorded"], true);
    assert_eq!(fx.entity_count().await, 0);
    let mut conn = fx.conn().await;
    let (status, error, history): (String, String, i64) = sqlx::query_as(
        "SELECT status, metadata->>'error', (SELECT count(*) FROM public.replication_row_history_v1)
           FROM public.replication_runs_v1 WHERE run_id = 'run-lock'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(status, "failed");
    assert!(error.contains("boom refused"), "{error}");
    assert_eq!(history, 0);

    // Fixed, the same run applies (a failed apply is not a containment).
    fx.target
        .cluster()
        .exec_sql(
            "replica",
            "DROP TRIGGER boom ON public.replicated_entities_v1",
        )
        .unwrap();
    let outcome = fx.import(&snap, true).await;
    assert_eq!(outcome.class, ExitClass::Success, "{}", outcome.summary);
    let (status, error): (String, Option<String>) = sqlx::query_as(
        "SELECT status, metadata->>'error' FROM public.replication_runs_v1 WHERE run_id = 'run-lock'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((status.as_str(), error), ("applied", None));
}

#[tokio::test]
async fn undo_restores_rows_exactly_and_contained_runs_stay_out() {
    let fx = Fixture::new();
    fx.write_preflight("READY");
    let run1 = write_snapshot(
        &fx.evidence("replication-1"),
        "run-1",
        &["customer"],
        &[
            row("customer", "1", "2026-03-01T10:00:00Z", r#"{"id":1,"v":1}"#),
            row("customer", "2", "2026-03-01T10:00:00Z", r#"{"id":2,"v":1}"#),
        ],
    );
    fx.dry_run_and_apply(&run1).await;
    let mut conn = fx.conn().await;
    let after_run1 = exact_entities(&mut conn).await;

    let run2 = write_snapshot(
        &fx.evidence("replication-2"),
        "run-2",
        &["customer"],
        &[
            row("customer", "1", "2026-03-01T11:00:00Z", r#"{"id":1,"v":2}"#),
            row("customer", "3", "2026-03-01T11:00:00Z", r#"{"id":3,"v":2}"#),
        ],
    );
    fx.dry_run_and_apply(&run2).await;

    let url = TargetDbUrl::parse(&fx.target.db_url()).unwrap();
    let db = TargetDb::connect(&url, &fx.config.secrets).await.unwrap();
    // run-1's row 1 was changed by run-2: undoing run-1 first would lose run-2's change.
    let err = db.undo_run("run-1", "test").await.unwrap_err();
    assert_eq!(err.exit_class(), ExitClass::Negative);
    assert!(err.to_string().contains("customer/1"), "{err}");

    let undone = db.undo_run("run-2", "reconcile_anomalia").await.unwrap();
    assert_eq!((undone.deleted, undone.restored), (1, 1));
    assert_eq!(
        exact_entities(&mut conn).await,
        after_run1,
        "undo was not exact"
    );
    assert!(db.undo_run("run-2", "again").await.is_err());

    // A rolled-back run cannot be applied again, nor can a contained one.
    let outcome = fx.import(&run2, true).await;
    assert_eq!(outcome.class, ExitClass::Negative, "{}", outcome.summary);
    assert!(
        outcome.summary.contains("rolled_back"),
        "{}",
        outcome.summary
    );
    db.contain_run("run-1", "reconcile_anomalia").await.unwrap();
    // The dry-run already says so.
    let dry = fx.import(&run1, false).await;
    assert_eq!(dry.class, ExitClass::Success, "{}", dry.summary);
    assert!(
        dry.summary.contains("--apply of this run will be refused"),
        "{}",
        dry.summary
    );
    let report = read_json(dry.report.as_ref().unwrap());
    assert_eq!(report["apply_would_be_refused"], true);
    assert_eq!(
        report["recorded_run"]["containment_reason"],
        "reconcile_anomalia"
    );
    let outcome = fx.import(&run1, true).await;
    assert_eq!(outcome.class, ExitClass::Negative, "{}", outcome.summary);
    assert!(
        outcome.summary.contains("reconcile_anomalia"),
        "{}",
        outcome.summary
    );

    // The contained run can still be undone.
    let undone = db.undo_run("run-1", "reconcile_anomalia").await.unwrap();
    assert_eq!((undone.deleted, undone.restored), (2, 0));
    assert_eq!(exact_entities(&mut conn).await, None);
}

/// Every entity row as text, `replicated_at` included: equal only if nothing was rewritten.
async fn exact_entities(conn: &mut sqlx::PgConnection) -> Option<String> {
    sqlx::query_scalar(
        "SELECT string_agg(t::text, '|' ORDER BY entity_kind, entity_id) FROM public.replicated_entities_v1 t",
    )
    .fetch_one(conn)
    .await
    .unwrap()
}

async fn history_rows(conn: &mut sqlx::PgConnection) -> Vec<(String, String, String, String)> {
    sqlx::query_as(
        "SELECT run_id, entity_kind || '/' || entity_id, action, new_row_hash
           FROM public.replication_row_history_v1 ORDER BY 2",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

type RunRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    serde_json::Value,
);

async fn run_row(conn: &mut sqlx::PgConnection) -> RunRow {
    sqlx::query_as(
        "SELECT status, window_start::text, window_end::text, snapshot_sha256, manifest_sha256, metadata->'applied'
           FROM public.replication_runs_v1",
    )
    .fetch_one(conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_target_without_the_schema_is_a_usage_error() {
    let fx = Fixture::bare();
    let snap = write_snapshot(
        &fx.evidence("replication-noschema"),
        "run-noschema",
        &["customer"],
        &[row("customer", "1", "2026-03-01T10:00:00Z", r#"{"id":1}"#)],
    );
    let outcome = fx.import(&snap, false).await;
    assert_eq!(outcome.class, ExitClass::Usage, "{}", outcome.summary);
    assert!(
        outcome.summary.contains(rep_target::SCHEMA_FILE),
        "{}",
        outcome.summary
    );
    assert!(
        outcome.summary.contains("public.replicated_entities_v1"),
        "{}",
        outcome.summary
    );
}

#[tokio::test]
async fn an_unreachable_target_is_a_runtime_error_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let layout = rep_core::ContextLayout::new(dir.path().join("runtime"));
    let port = rep_sandbox::free_port().unwrap();
    let password = "pw-that-must-not-leak-123";
    let config = config_for(
        dir.path(),
        &format!("postgres://replicator:{password}@127.0.0.1:{port}/replica?sslmode=require"),
    );
    let evidence = layout.evidence_root().join("replication-offline");
    std::fs::create_dir_all(&evidence).unwrap();
    let snap = write_snapshot(
        &evidence,
        "run-offline",
        &["customer"],
        &[row("customer", "1", "2026-03-01T10:00:00Z", r#"{"id":1}"#)],
    );
    let outcome = rep_target::run_import(
        &config,
        &layout,
        rep_target::ImportRequest {
            snapshot: snap.snapshot.clone(),
            manifest: snap.manifest.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(outcome.class, ExitClass::Runtime, "{}", outcome.summary);
    assert_eq!(outcome.class.code(), 4);
    assert!(
        outcome
            .summary
            .starts_with("target unreachable at postgres://replicator:***@127.0.0.1:"),
        "{}",
        outcome.summary
    );
    assert!(outcome
        .summary
        .ends_with("check REPLICA_TARGET_DB_URL and that the server accepts TLS"));
    let report = std::fs::read_to_string(outcome.report.as_ref().unwrap()).unwrap();
    assert!(!report.contains(password) && !outcome.summary.contains(password));
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["success"], false);
    assert_eq!(report["error"]["class"], "runtime");
    assert_eq!(report["run_id"], "run-offline");
}
