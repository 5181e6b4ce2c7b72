//! TargetDb against a real TLS PostgreSQL: connection rules, schema check, containment and
//! the reads reconcile uses.
mod common;

use common::*;
use rep_core::{ExitClass, TargetDbUrl};
use rep_target::{TargetDb, TargetError};

#[tokio::test]
async fn schema_applies_twice_and_connection_is_tls() {
    let fx = Fixture::bare();
    let url = TargetDbUrl::parse(&fx.target.db_url()).unwrap();
    let db = TargetDb::connect(&url, &fx.config.secrets).await.unwrap();
    assert!(db.tls_in_use().await.unwrap());

    let missing = db.schema_missing().await.unwrap();
    assert!(
        missing.contains(&"public.replication_runs_v1".to_string()),
        "{missing:?}"
    );
    assert_eq!(missing.len(), 3, "{missing:?}");

    fx.target.apply_sql_file(schema_file()).unwrap();
    fx.target
        .apply_sql_file(schema_file())
        .expect("second application is a no-op");
    assert_eq!(db.schema_missing().await.unwrap(), Vec::<String>::new());

    // A column dropped by hand is named precisely.
    fx.target
        .exec_sql("ALTER TABLE public.replication_runs_v1 DROP COLUMN manifest_sha256")
        .unwrap();
    assert_eq!(
        db.schema_missing().await.unwrap(),
        vec!["public.replication_runs_v1.manifest_sha256".to_string()]
    );
    // ...and the migration puts it back.
    fx.target.apply_sql_file(schema_file()).unwrap();
    assert!(db.schema_missing().await.unwrap().is_empty());
}

#[tokio::test]
async fn missing_privileges_are_reported() {
    let fx = Fixture::new();
    fx.target
        .cluster()
        .exec_sql(
            "replica",
            "CREATE ROLE reader LOGIN PASSWORD 'reader-password-123';
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;",
        )
        .unwrap();
    let url = fx
        .target
        .cluster()
        .url("reader", "reader-password-123", "replica");
    let url = TargetDbUrl::parse(&url).unwrap();
    let db = TargetDb::connect(&url, &fx.config.secrets).await.unwrap();
    let missing = db.schema_missing().await.unwrap();
    assert_eq!(
        missing,
        vec![
            "INSERT, UPDATE privilege on public.replication_runs_v1".to_string(),
            "INSERT, UPDATE, DELETE privilege on public.replicated_entities_v1".to_string(),
            "INSERT privilege on public.replication_row_history_v1".to_string(),
        ]
    );
}

#[tokio::test]
async fn sslrootcert_from_the_url_is_honoured_and_errors_hide_the_password() {
    let fx = Fixture::new();
    let good = fx.target.db_url();
    let password = fx.target.password().to_string();

    // A CA that did not sign the server certificate: verify-full must refuse.
    let other_ca = fx.dir.path().join("other-ca.pem");
    let unrelated = rep_sandbox::PgCluster::start(rep_sandbox::ClusterOptions {
        tls: true,
        ..Default::default()
    })
    .unwrap();
    std::fs::copy(unrelated.ca_cert_path().unwrap(), &other_ca).unwrap();
    drop(unrelated);
    let wrong_ca = replace_query(&good, "sslrootcert", other_ca.to_str().unwrap());
    let url = TargetDbUrl::parse(&wrong_ca).unwrap();
    let err = TargetDb::connect(&url, &fx.config.secrets)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, TargetError::Unreachable { .. }), "{text}");
    assert_eq!(err.exit_class(), ExitClass::Runtime);
    assert!(!text.contains(&password), "{text}");
    assert!(text.contains("check REPLICA_TARGET_DB_URL"), "{text}");
    // sslmode=require with a root certificate verifies the chain too, as libpq does.
    let require_wrong_ca = replace_query(&wrong_ca, "sslmode", "require");
    let url = TargetDbUrl::parse(&require_wrong_ca).unwrap();
    let err = TargetDb::connect(&url, &fx.config.secrets)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
    // ...and without one, require encrypts without verifying.
    let require_plain = replace_query(&good, "sslmode", "require");
    let require_plain = require_plain
        .split("&sslrootcert")
        .next()
        .unwrap()
        .to_string();
    let url = TargetDbUrl::parse(&require_plain).unwrap();
    let db = TargetDb::connect(&url, &fx.config.secrets).await.unwrap();
    assert!(db.tls_in_use().await.unwrap());

    // A wrong password: one line, no password, no retry storm.
    let wrong_pw = good.replace(&password, "not-the-password-1234");
    let url = TargetDbUrl::parse(&wrong_pw).unwrap();
    let started = std::time::Instant::now();
    let err = TargetDb::connect(&url, &fx.config.secrets)
        .await
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let text = err.to_string();
    assert!(
        !text.contains("not-the-password-1234") && !text.contains(&password),
        "{text}"
    );
    assert!(!text.contains('\n'));

    // Nothing listens: unreachable after the retries.
    let port = rep_sandbox::free_port().unwrap();
    let closed =
        format!("postgres://replicator:{password}@127.0.0.1:{port}/replica?sslmode=require");
    let url = TargetDbUrl::parse(&closed).unwrap();
    let err = TargetDb::connect(&url, &fx.config.secrets)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("target unreachable at postgres://replicator:***@127.0.0.1:"),
        "{text}"
    );
    assert!(!text.contains(&password), "{text}");
}

fn replace_query(url: &str, key: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == key {
                value.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

#[tokio::test]
async fn containment_runs_the_runbook_sql_and_always_records() {
    let fx = Fixture::new();
    let url = TargetDbUrl::parse(&fx.target.db_url()).unwrap();
    let db = TargetDb::connect(&url, &fx.config.secrets).await.unwrap();

    // No row yet: one is created, failed, with the reason.
    assert!(!db.contain_run("run-a", "reconcile_anomalia").await.unwrap());
    // Existing row: updated in place, earlier metadata kept.
    fx.target
        .exec_sql(
            "INSERT INTO public.replication_runs_v1 (run_id, status, metadata)
             VALUES ('run-b', 'applied', '{\"plan\": 1}')",
        )
        .unwrap();
    assert!(db.contain_run("run-b", "snapshot_integrity").await.unwrap());

    let mut conn = fx.conn().await;
    type RunRow = (String, String, Option<String>, Option<i32>, bool);
    let rows: Vec<RunRow> = sqlx::query_as(
        "SELECT run_id, status, metadata->>'containment_reason', (metadata->>'plan')::int,
                ended_at IS NOT NULL
           FROM public.replication_runs_v1 ORDER BY run_id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            (
                "run-a".into(),
                "failed".into(),
                Some("reconcile_anomalia".into()),
                None,
                true
            ),
            (
                "run-b".into(),
                "failed".into(),
                Some("snapshot_integrity".into()),
                Some(1),
                true
            ),
        ]
    );
}

#[tokio::test]
async fn reads_for_reconcile_are_computed_by_postgres() {
    let fx = Fixture::new();
    let dir = fx.evidence("replication-reads");
    let snap = write_snapshot(
        &dir,
        "run-reads",
        &["customer", "order"],
        &[
            row(
                "customer",
                "1",
                "2026-03-01T10:00:00Z",
                r#"{"id":1,"n":1e+100}"#,
            ),
            row("customer", "2", "2026-03-01T11:00:00.5Z", r#"{"id":2}"#),
            row(
                "order",
                "1",
                "2026-03-01T12:00:00Z",
                r#"{"id":1,"total":"9.99"}"#,
            ),
        ],
    );
    fx.write_preflight("READY");
    fx.dry_run_and_apply(&snap).await;
    // A row outside the window, in another kind, with the same id as a customer.
    fx.target
        .exec_sql(
            "INSERT INTO public.replicated_entities_v1
               (entity_kind, entity_id, payload, payload_canonical, row_hash, source_watermark, first_run_id, last_run_id)
             VALUES ('invoice', '2', '{\"id\":2}', '{\"id\":2}', 'deadbeef', '2026-02-01T00:00:00Z', 'x', 'x')",
        )
        .unwrap();

    let url = TargetDbUrl::parse(&fx.target.db_url()).unwrap();
    let db = TargetDb::connect(&url, &fx.config.secrets).await.unwrap();
    let rows = db
        .window_rows("customer", at(WINDOW_START), at(WINDOW_END))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].entity_id, "1");
    assert_eq!(rows[0].source_watermark, "2026-03-01T10:00:00.000000Z");
    assert_eq!(rows[1].source_watermark, "2026-03-01T11:00:00.500000Z");
    assert_eq!(rows[0].payload_canonical, r#"{"id":1,"n":1e+100}"#);
    assert_eq!(rows[0].last_run_id, "run-reads");
    assert!(rows.iter().all(|r| r.jsonb_consistent && r.hash_consistent));

    // Half-open: a window ending exactly at a watermark excludes it.
    let rows = db
        .window_rows("customer", at(WINDOW_START), at("2026-03-01T11:00:00.5Z"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);

    let by_id = db
        .rows_by_ids("invoice", &["2".to_string(), "9".to_string()])
        .await
        .unwrap();
    assert_eq!(by_id.len(), 1);
    assert!(by_id[0].jsonb_consistent && !by_id[0].hash_consistent);

    let kinds = db
        .kinds_of_ids(&["2".to_string(), "404".to_string()])
        .await
        .unwrap();
    assert_eq!(
        kinds,
        vec![
            ("2".to_string(), "customer".to_string()),
            ("2".to_string(), "invoice".to_string())
        ]
    );

    // A payload edited behind rep's back is caught by both flags.
    fx.target
        .exec_sql(
            "UPDATE public.replicated_entities_v1 SET payload = '{\"id\":3}' WHERE entity_kind = 'customer' AND entity_id = '2';
             UPDATE public.replicated_entities_v1 SET payload_canonical = '{\"id\": 1, \"n\": 1e+100}' WHERE entity_kind = 'customer' AND entity_id = '1';",
        )
        .unwrap();
    let rows = db
        .rows_by_ids("customer", &["1".to_string(), "2".to_string()])
        .await
        .unwrap();
    assert!(rows[0].jsonb_consistent && !rows[0].hash_consistent);
    assert!(!rows[1].jsonb_consistent && rows[1].hash_consistent);
}
