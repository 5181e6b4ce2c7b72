//! Real clusters: lifecycle as root, TLS-only targets.

use std::time::Duration;

use rep_sandbox::{ClusterOptions, PgCluster, TargetSandbox};
use sqlx::{Connection, PgConnection};

fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("test runtime")
        .block_on(fut)
}

/// A zombie counts as gone: it holds no port, socket or files.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

fn wait_gone(pid: u32) -> bool {
    for _ in 0..50 {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The zone in postgresql.conf (sqlx sessions themselves always start in UTC).
fn configured_timezone(superuser_url: &str) -> String {
    block_on(async {
        let mut conn = PgConnection::connect(superuser_url).await.unwrap();
        sqlx::query_scalar(
            "SELECT setting FROM pg_file_settings WHERE name = 'timezone' ORDER BY seqno DESC LIMIT 1",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap()
    })
}

fn process_uid(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn cluster_starts_runs_sql_and_leaves_nothing_behind() {
    let cluster = PgCluster::start(ClusterOptions {
        tls: false,
        timezone: "America/Sao_Paulo".into(),
    })
    .expect("cluster starts");
    let pid = cluster
        .postmaster_pid()
        .expect("postmaster.pid is readable");
    let data_dir = cluster.data_dir().to_path_buf();
    assert!(alive(pid));
    assert!(cluster.ca_cert_path().is_none());

    if nix::unistd::geteuid().is_root() {
        let postgres = nix::unistd::User::from_name("postgres").unwrap().unwrap();
        assert_eq!(
            process_uid(pid),
            Some(postgres.uid.as_raw()),
            "the server must not run as root"
        );
    }

    cluster.create_database("app").unwrap();
    cluster.create_login_role("app_user", "p'a ss").unwrap();
    cluster
        .exec_sql("app", "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2); GRANT SELECT ON t TO app_user;")
        .unwrap();
    let url = cluster.url("app_user", "p'a ss", "app");
    let count: i64 = block_on(async {
        let mut conn = PgConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    });
    assert_eq!(count, 2);
    assert_eq!(
        configured_timezone(&cluster.superuser_url("app")),
        "America/Sao_Paulo"
    );

    // Only password logins: a wrong password is refused.
    let wrong = cluster.url("app_user", "wrong", "app");
    assert!(block_on(PgConnection::connect(&wrong)).is_err());

    drop(cluster);
    assert!(wait_gone(pid), "postmaster {pid} still running after drop");
    assert!(!data_dir.exists(), "{} not removed", data_dir.display());
}

#[test]
fn cluster_is_stopped_when_a_test_panics() {
    let (tx, rx) = std::sync::mpsc::channel();
    let outcome = std::panic::catch_unwind(move || {
        let cluster = PgCluster::start(ClusterOptions::default()).unwrap();
        tx.send((
            cluster.postmaster_pid().unwrap(),
            cluster.data_dir().to_path_buf(),
        ))
        .unwrap();
        panic!("simulated test failure");
    });
    assert!(outcome.is_err());
    let (pid, data_dir) = rx.recv().unwrap();
    assert!(wait_gone(pid), "postmaster {pid} survived the unwind");
    assert!(!data_dir.exists());
}

#[test]
fn tls_target_accepts_only_verified_tls() {
    let target = TargetSandbox::start().expect("target starts");
    let url = target.db_url();
    assert!(url.starts_with("postgres://replicator:"));
    assert!(
        url.contains("/replica?sslmode=verify-full&sslrootcert="),
        "{url}"
    );
    assert!(target.ca_cert_path().is_file());

    let (ssl, owner): (bool, String) = block_on(async {
        let mut conn = PgConnection::connect(&url)
            .await
            .expect("verify-full connection");
        let ssl = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let owner = sqlx::query_scalar(
            "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = current_database()",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        (ssl, owner)
    });
    assert!(ssl);
    assert_eq!(
        configured_timezone(&target.superuser_url()),
        rep_sandbox::TARGET_TIMEZONE
    );
    assert_eq!(owner, "replicator");

    // Plain TCP is refused outright.
    let plain = format!(
        "postgres://replicator:{}@127.0.0.1:{}/replica?sslmode=disable",
        target.password(),
        target.cluster().port()
    );
    let err = block_on(PgConnection::connect(&plain)).expect_err("non-TLS must be refused");
    assert!(err.to_string().contains("pg_hba.conf"), "{err}");

    // verify-full without the sandbox CA fails: the server certificate is not publicly trusted.
    let untrusted = format!(
        "postgres://replicator:{}@127.0.0.1:{}/replica?sslmode=verify-full",
        target.password(),
        target.cluster().port()
    );
    assert!(block_on(PgConnection::connect(&untrusted)).is_err());

    // The replicator owns `public` and can apply a schema file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("schema.sql");
    std::fs::write(&file, "CREATE TABLE public.t (id bigint PRIMARY KEY); INSERT INTO public.t VALUES (9007199254740993);").unwrap();
    target.apply_sql_file(&file).unwrap();
    let id: i64 = block_on(async {
        let mut conn = PgConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT id FROM public.t")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    });
    assert_eq!(id, 9_007_199_254_740_993);

    // The superuser URL works too, over TLS.
    let superuser = target.superuser_url();
    block_on(async {
        let conn = PgConnection::connect(&superuser).await.unwrap();
        conn.close().await.unwrap();
    });
}

#[test]
fn free_port_is_bindable() {
    let port = rep_sandbox::free_port().unwrap();
    std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
}
