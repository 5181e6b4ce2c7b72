//! The client and the export against a real PostgreSQL behind the PostgREST stand-in of
//! `rep-sandbox`, checked row by row against the source database itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rep_core::{
    verify_snapshot, Config, ContextLayout, EntityConfig, EnvSettings, ExitClass, ReportDoc,
    SnapshotRow, SourceSettings, Step, Window,
};
use rep_sandbox::{FaultPlan, GatewayConfig, PostgrestServer, SourceOptions, SourceSandbox};
use rep_source::{run_export, KindRead, RowSource, SourceError, SupabaseClient};
use sqlx::Connection as _;
use time::macros::datetime;

const START: &str = "2026-03-01T00:00:00Z";
const END: &str = "2026-03-02T00:00:00Z";
const DUMMY_TARGET: &str = "postgres://u:longpassword@127.0.0.1:5432/d?sslmode=require";

fn window() -> Window {
    Window::from_bounds(
        datetime!(2026-03-01 00:00 UTC),
        datetime!(2026-03-02 00:00 UTC),
    )
}

fn entity(kind: &str, table: &str, key: &str) -> EntityConfig {
    EntityConfig {
        kind: kind.into(),
        table: table.into(),
        key: key.into(),
        watermark: "updated_at".into(),
        columns: None,
    }
}

fn entities() -> Vec<EntityConfig> {
    vec![
        entity("customer", "customers", "id"),
        entity("event", "events", "id"),
        entity("order", "orders", "order_code"),
    ]
}

fn vars(project_url: &str, key: &str) -> BTreeMap<String, String> {
    [
        ("SUPABASE_PROJECT_URL", project_url),
        ("SUPABASE_SERVICE_ROLE_KEY", key),
        ("REPLICA_TARGET_DB_URL", DUMMY_TARGET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn client(project_url: &str, key: &str, page_size: u32) -> SupabaseClient {
    let env = EnvSettings::from_vars(&vars(project_url, key)).unwrap();
    let settings = SourceSettings {
        page_size,
        max_retries: 2,
        request_timeout_secs: 30,
        ..SourceSettings::default()
    };
    SupabaseClient::new(&env, &settings).unwrap()
}

fn start_sandbox() -> SourceSandbox {
    SourceSandbox::start(SourceOptions::default()).expect("the source sandbox starts")
}

/// Another REST server in front of the same database, with its own cap and fault plan.
fn extra_server(
    sandbox: &SourceSandbox,
    max_rows: u64,
    fault: Option<FaultPlan>,
) -> PostgrestServer {
    PostgrestServer::start(
        &sandbox.cluster().superuser_url(sandbox.database()),
        GatewayConfig {
            max_rows,
            fault,
            ..GatewayConfig::new(sandbox.keys().clone())
        },
    )
    .expect("a second REST server starts")
}

/// The keys of `table` in the window, straight from PostgreSQL.
async fn keys_in_window(sandbox: &SourceSandbox, table: &str, key: &str) -> Vec<String> {
    let mut conn =
        sqlx::PgConnection::connect(&sandbox.cluster().superuser_url(sandbox.database()))
            .await
            .unwrap();
    let sql = format!(
        "SELECT {key}::text FROM public.{table} \
         WHERE updated_at >= $1::timestamptz AND updated_at < $2::timestamptz"
    );
    let keys: Vec<String> = sqlx::query_scalar(&sql)
        .bind(START)
        .bind(END)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    keys
}

async fn read_all(
    client: &SupabaseClient,
    entity: &EntityConfig,
) -> Result<(KindRead, Vec<SnapshotRow>), SourceError> {
    let mut rows = Vec::new();
    let read = client
        .read_window(entity, &window(), &mut |row| {
            rows.push(row);
            Ok(())
        })
        .await?;
    Ok((read, rows))
}

/// Every row of the window exactly once: same key set as SQL, no repeats, the server count.
fn assert_exactly_once(kind: &str, read: &KindRead, rows: &[SnapshotRow], expected: &[String]) {
    let got: BTreeSet<&str> = rows.iter().map(|r| r.entity_id.as_str()).collect();
    let want: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    assert_eq!(got.len(), rows.len(), "{kind}: a row was read twice");
    assert_eq!(got, want, "{kind}: the key sets differ");
    assert_eq!(read.rows_read, expected.len() as u64, "{kind}");
    assert_eq!(read.server_count, expected.len() as u64, "{kind}");
    assert!(rows.iter().all(|r| r.entity_kind == kind));
    assert!(
        rows.windows(2).all(|w| w[0].watermark <= w[1].watermark),
        "{kind}: watermarks out of order"
    );
}

#[tokio::test]
async fn reads_every_row_once_under_the_default_cap_with_either_server_key() {
    let sandbox = start_sandbox();
    let url = sandbox.project_url();
    let secret = client(&url, &sandbox.keys().secret, 5000);
    let legacy = client(&url, &sandbox.keys().service_role_jwt, 5000);

    for entity in entities() {
        secret.probe(&entity).await.unwrap();
        let expected = keys_in_window(&sandbox, &entity.table, &entity.key).await;
        let (read, rows) = read_all(&secret, &entity).await.unwrap();
        assert_exactly_once(&entity.kind, &read, &rows, &expected);
        // Asked for 5000, the server capped at 1000: the client noticed and kept to it.
        assert_eq!(read.effective_page_size, 1000, "{}", entity.kind);
        assert_eq!(
            u64::from(read.pages),
            read.rows_read.div_ceil(1000) + 1,
            "{}",
            entity.kind
        );

        // The legacy service_role JWT reads exactly the same bytes.
        let (legacy_read, legacy_rows) = read_all(&legacy, &entity).await.unwrap();
        assert_eq!(legacy_read, read);
        assert_eq!(legacy_rows, rows, "{}", entity.kind);

        if entity.kind == "customer" {
            let big = rows
                .iter()
                .find(|r| r.entity_id == "9007199254740993")
                .expect("the bigint above 2^53 is in the window");
            for digits in [
                r#""id":9007199254740993"#,
                r#""lifetime_value":9007199254740993"#,
                r#""balance":1234567890123456789012345678.1234567890"#,
                r#""big":123456789012345678901234567890"#,
                r#""score":1e+100"#,
            ] {
                assert!(big.payload.contains(digits), "{digits} in {}", big.payload);
            }
            assert_eq!(big.watermark, "2026-03-01T12:34:56.123456Z");
            // Prefer: timezone=UTC was honoured although the cluster runs in São Paulo.
            assert!(big
                .payload
                .contains(r#""updated_at":"2026-03-01T12:34:56.123456+00:00""#));
            let max = rows
                .iter()
                .find(|r| r.entity_id == "4007")
                .expect("row 4007 is in the window");
            assert!(max
                .payload
                .contains(r#""lifetime_value":9223372036854775807"#));
            assert!(max
                .payload
                .contains(r#""balance":99999999999999999999999999.9999999999"#));
        }
    }
}

#[tokio::test]
async fn pages_through_tied_watermarks_and_reserved_keys_under_a_tiny_cap() {
    let sandbox = start_sandbox();
    let server = extra_server(&sandbox, 7, None);
    let client = client(&server.base_url(), &sandbox.keys().secret, 10);
    let orders = entity("order", "orders", "order_code");
    let expected = keys_in_window(&sandbox, "orders", "order_code").await;
    assert!(expected.iter().any(|k| k.contains(r#",(a.b):"x"\y"#)));
    assert!(expected.iter().any(|k| k.contains("with spaces")));
    assert!(expected.iter().any(|k| k.contains("&c=d+e%f 'q'")));

    let (read, rows) = read_all(&client, &orders).await.unwrap();
    assert_exactly_once("order", &read, &rows, &expected);
    assert_eq!(read.effective_page_size, 7);
    assert_eq!(u64::from(read.pages), read.rows_read.div_ceil(7) + 1);
    let tied = rows
        .iter()
        .filter(|r| r.watermark == "2026-03-01T10:00:00.654321Z")
        .count();
    assert_eq!(tied, 2500);
}

#[tokio::test]
async fn probe_explains_what_is_wrong() {
    let sandbox = start_sandbox();
    let url = sandbox.project_url();
    let good = client(&url, &sandbox.keys().secret, 1000);

    let mut missing_wm = entity("customer", "customers", "id");
    missing_wm.watermark = "modified_at".into();
    let err = good.probe(&missing_wm).await.unwrap_err();
    assert!(
        matches!(&err, SourceError::ColumnMissing { column: Some(c), .. } if c == "modified_at"),
        "{err:?}"
    );
    assert_eq!(err.exit_class(), ExitClass::Usage);
    assert!(
        err.to_string().contains("watermark column \"modified_at\""),
        "{err}"
    );

    let err = good
        .probe(&entity("ghost", "ghosts", "id"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::TableNotExposed { .. }),
        "{err:?}"
    );
    assert_eq!(err.exit_class(), ExitClass::Usage);

    // A well-formed key of another project is refused by the gateway.
    let stranger = client(&url, "sb_secret_not0this0project0key0at0all", 1000);
    let err = stranger
        .probe(&entity("customer", "customers", "id"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::KeyRefused { status: 401, .. }),
        "{err:?}"
    );
    assert_eq!(err.exit_class(), ExitClass::Usage);
    assert!(
        err.to_string().contains("SUPABASE_SERVICE_ROLE_KEY"),
        "{err}"
    );
}

#[tokio::test]
async fn applied_migrations_come_through_the_service_role_only_function() {
    let sandbox = start_sandbox();
    let url = sandbox.project_url();
    let applied = query_versions(&sandbox).await;
    assert_eq!(applied.len(), 3);

    let client = client(&url, &sandbox.keys().secret, 1000);
    let versions = client
        .applied_migrations("rep_applied_migrations")
        .await
        .unwrap();
    assert_eq!(versions, applied);
    let legacy = self::client(&url, &sandbox.keys().service_role_jwt, 1000);
    assert_eq!(
        legacy
            .applied_migrations("rep_applied_migrations")
            .await
            .unwrap(),
        applied
    );

    // A cap below the number of versions: the client pages on and still gets them all.
    let capped = extra_server(&sandbox, 2, None);
    let paged = self::client(&capped.base_url(), &sandbox.keys().secret, 1000);
    assert_eq!(
        paged
            .applied_migrations("rep_applied_migrations")
            .await
            .unwrap(),
        applied
    );
    assert_eq!(capped.request_count(), 2);

    let err = client.applied_migrations("no_such_rpc").await.unwrap_err();
    assert!(
        matches!(&err, SourceError::RpcNotFound { function, .. } if function == "public.no_such_rpc"),
        "{err:?}"
    );
    assert!(err.to_string().contains("PGRST202"), "{err}");

    // A function service_role may not execute.
    sandbox
        .exec_sql(
            "CREATE FUNCTION public.locked_versions() RETURNS SETOF text LANGUAGE sql STABLE AS $$ SELECT '1'::text $$; \
             REVOKE ALL ON FUNCTION public.locked_versions() FROM PUBLIC, anon, authenticated, service_role;",
        )
        .unwrap();
    let err = client
        .applied_migrations("locked_versions")
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::RpcDenied { .. }), "{err:?}");
    assert_eq!(err.exit_class(), ExitClass::Usage);
    assert!(err.to_string().contains("42501"), "{err}");
}

async fn query_versions(sandbox: &SourceSandbox) -> Vec<String> {
    let mut conn =
        sqlx::PgConnection::connect(&sandbox.cluster().superuser_url(sandbox.database()))
            .await
            .unwrap();
    let versions = sqlx::query_scalar(
        "SELECT version FROM supabase_migrations.schema_migrations ORDER BY version",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    versions
}

fn write_config(dir: &Path, project_url: &str, key: &str) -> Config {
    let path = dir.join("replication.toml");
    std::fs::write(
        &path,
        r#"
[source]
page_size = 5000
max_retries = 4

[entities.customer]
table = "customers"
key = "id"
watermark = "updated_at"

[entities.event]
table = "events"
key = "id"
watermark = "updated_at"

[entities.order]
table = "orders"
key = "order_code"
watermark = "updated_at"
"#,
    )
    .unwrap();
    Config::from_vars(&path, &vars(project_url, key)).unwrap()
}

#[tokio::test]
async fn export_survives_503s_and_writes_evidence_that_verifies() {
    let sandbox = start_sandbox();
    let server = extra_server(&sandbox, 1000, Some(FaultPlan::first_requests(3)));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &server.base_url(), &sandbox.keys().secret);
    let layout = ContextLayout::new(dir.path().join("runtime"));

    let outcome = run_export(&config, &layout, START, END).await;
    assert_eq!(outcome.class, ExitClass::Success, "{}", outcome.summary);
    assert!(
        outcome.summary.starts_with("export done: run_id "),
        "{}",
        outcome.summary
    );
    let report = ReportDoc::read(outcome.report.as_ref().unwrap(), Step::Export).unwrap();
    assert!(report.flag("success"));
    let snapshot = layout.resolve(&report.file("snapshot").unwrap().path);
    let manifest = layout.resolve(&report.file("manifest").unwrap().path);
    let verified = verify_snapshot(&snapshot, &manifest).expect("the manifest matches");
    assert_eq!(verified.manifest.run_id, report.run_id().unwrap());
    assert_eq!(
        report.str("snapshot_sha256"),
        Some(verified.snapshot_digest.sha256.as_str())
    );
    assert_eq!(verified.manifest.source.project_host, "127.0.0.1");

    let mut total = 0;
    for e in entities() {
        let expected = keys_in_window(&sandbox, &e.table, &e.key).await;
        let kind = verified
            .manifest
            .entity_kinds
            .iter()
            .find(|k| k.summary.entity_kind == e.kind)
            .unwrap();
        assert_eq!(kind.summary.row_count, expected.len() as u64, "{}", e.kind);
        assert_eq!(kind.source_count, expected.len() as u64, "{}", e.kind);
        assert_eq!(
            report.value["entity_kinds"][&e.kind]["effective_page_size"],
            1000
        );
        let got: BTreeSet<&str> = verified
            .rows
            .iter()
            .filter(|r| r.entity_kind == e.kind)
            .map(|r| r.entity_id.as_str())
            .collect();
        let want: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
        assert_eq!(got, want, "{}", e.kind);
        total += expected.len() as u64;
    }
    assert_eq!(report.count("rows_total"), Some(total));
    assert_eq!(verified.manifest.snapshot.rows, total);
    // The three 503s were retried: one request per page plus one per fault.
    let pages: u64 = entities()
        .iter()
        .map(|e| {
            report.value["entity_kinds"][&e.kind]["pages"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(server.request_count(), pages + 3);

    // Nothing in the evidence or the report holds a key.
    for path in [&snapshot, &manifest, outcome.report.as_ref().unwrap()] {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(!text.contains(&sandbox.keys().secret), "{}", path.display());
    }
}

#[tokio::test]
async fn export_with_a_refused_key_fails_as_usage_and_leaves_no_evidence() {
    let sandbox = start_sandbox();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &sandbox.project_url(),
        "sb_secret_not0this0project0key0at0all",
    );
    let layout = ContextLayout::new(dir.path().join("runtime"));
    let outcome = run_export(&config, &layout, START, END).await;
    assert_eq!(outcome.class, ExitClass::Usage, "{}", outcome.summary);
    assert!(
        outcome.summary.contains("SUPABASE_SERVICE_ROLE_KEY"),
        "{}",
        outcome.summary
    );
    let report = ReportDoc::read(outcome.report.as_ref().unwrap(), Step::Export).unwrap();
    assert!(!report.flag("success"));
    assert_eq!(
        std::fs::read_dir(layout.evidence_root()).unwrap().count(),
        0
    );
}
