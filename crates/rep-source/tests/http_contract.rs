//! The client's HTTP behaviour against a scripted loopback server: which headers carry the
//! key, what is retried and how often, and what is not.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rep_core::{EntityConfig, EnvSettings, ExitClass, SourceSettings, Window};
use rep_source::{RowSource, SourceError, SupabaseClient};
use time::macros::datetime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SECRET: &str = "sb_secret_contracttest0123456789";
// header {"alg":"HS256","typ":"JWT"}, payload {"role":"service_role"}
const LEGACY: &str =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJlLWNvbnRyYWN0";

#[derive(Clone)]
struct Canned {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn canned(status: u16, headers: &[(&'static str, &str)], body: &str) -> Canned {
    Canned {
        status,
        headers: headers.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        body: body.to_string(),
    }
}

/// Serves `script` one answer per connection (the last one repeats) and records each
/// request's head, lowercased.
async fn serve(script: Vec<Canned>) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => head.extend_from_slice(&buf[..k]),
                }
            }
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).to_string());
            let answer = &script[n.min(script.len() - 1)];
            n += 1;
            let mut out = format!(
                "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                answer.status,
                answer.body.len()
            );
            for (k, v) in &answer.headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&answer.body);
            let _ = stream.write_all(out.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (addr, seen)
}

fn env(addr: SocketAddr, key: &str) -> EnvSettings {
    let vars: BTreeMap<String, String> = [
        ("SUPABASE_PROJECT_URL", format!("http://{addr}")),
        ("SUPABASE_SERVICE_ROLE_KEY", key.to_string()),
        (
            "REPLICA_TARGET_DB_URL",
            "postgres://u:longpassword@h:5432/d?sslmode=require".to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    EnvSettings::from_vars(&vars).unwrap()
}

fn settings(max_retries: u32) -> SourceSettings {
    SourceSettings {
        max_retries,
        request_timeout_secs: 5,
        ..SourceSettings::default()
    }
}

fn entity() -> EntityConfig {
    EntityConfig {
        kind: "customer".into(),
        table: "customers".into(),
        key: "id".into(),
        watermark: "updated_at".into(),
        columns: None,
    }
}

fn window() -> Window {
    Window::from_bounds(
        datetime!(2026-03-01 00:00 UTC),
        datetime!(2026-03-02 00:00 UTC),
    )
}

const TWO_ROWS: &str = r#"[{"id":1,"updated_at":"2026-03-01T00:00:00+00:00"},{"id":9007199254740993,"updated_at":"2026-03-01T00:00:00.5+00:00"}]"#;

#[tokio::test]
async fn retries_503_and_429_then_reads_with_the_key_in_apikey_only() {
    let (addr, seen) = serve(vec![
        canned(503, &[], "upstream busy"),
        canned(429, &[("retry-after", "0")], ""),
        canned(206, &[("content-range", "0-1/2")], TWO_ROWS),
        canned(200, &[("content-range", "*/2")], "[]"),
    ])
    .await;
    let client = SupabaseClient::new(&env(addr, SECRET), &settings(3)).unwrap();
    let mut ids = Vec::new();
    let read = client
        .read_window(&entity(), &window(), &mut |row| {
            ids.push(row.entity_id);
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(ids, ["1", "9007199254740993"]);
    assert_eq!((read.rows_read, read.server_count, read.pages), (2, 2, 2));

    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 4);
    for (i, head) in heads.iter().enumerate() {
        let request_line = head.lines().next().unwrap();
        assert!(
            request_line.starts_with("GET /rest/v1/customers?"),
            "{request_line}"
        );
        assert!(!request_line.contains(SECRET), "key in URL");
        let lower = head.to_ascii_lowercase();
        assert!(lower.contains(&format!("apikey: {}", SECRET.to_ascii_lowercase())));
        assert!(!lower.contains("authorization:"), "{head}");
        assert!(lower.contains("user-agent: rep/"), "{head}");
        assert!(lower.contains("accept: application/json"), "{head}");
        assert!(!lower.contains("accept-profile"), "{head}");
        assert!(lower.contains("timezone=utc"), "{head}");
        // The three tries of the first page ask for the count; the next page does not.
        assert_eq!(lower.contains("count=exact"), i < 3, "{head}");
    }
    assert!(heads[3].contains("or=%28updated_at.gt."), "{}", heads[3]);
    assert!(
        heads[3].contains("updated_at=gte.2026-03-01T00%3A00%3A00.5%2B00%3A00"),
        "{}",
        heads[3]
    );
}

#[tokio::test]
async fn a_legacy_jwt_goes_in_apikey_and_bearer() {
    let (addr, seen) = serve(vec![canned(200, &[], r#"[]"#)]).await;
    let client = SupabaseClient::new(&env(addr, LEGACY), &settings(0)).unwrap();
    client.probe(&entity()).await.unwrap();
    let head = seen.lock().unwrap()[0].clone();
    assert!(head.contains(&format!("apikey: {LEGACY}")), "{head}");
    assert!(
        head.contains(&format!("authorization: Bearer {LEGACY}")),
        "{head}"
    );
    assert!(head.contains("select=id%2Cupdated_at&limit=1"), "{head}");
}

#[tokio::test]
async fn gives_up_after_max_retries_as_a_runtime_failure() {
    let (addr, seen) = serve(vec![canned(
        503,
        &[],
        r#"{"code":"57014","details":null,"hint":null,"message":"canceling statement due to statement timeout"}"#,
    )])
    .await;
    let client = SupabaseClient::new(&env(addr, SECRET), &settings(2)).unwrap();
    let err = client
        .read_window(&entity(), &window(), &mut |_| Ok(()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SourceError::ServerFailure { status: 503, attempts: 3, postgrest: Some(p), .. } if p.code.as_deref() == Some("57014")),
        "{err:?}"
    );
    assert_eq!(err.exit_class(), ExitClass::Runtime);
    assert_eq!(seen.lock().unwrap().len(), 3);
    assert!(!err.to_string().contains(SECRET));
}

#[tokio::test]
async fn a_refused_key_is_not_retried() {
    let (addr, seen) = serve(vec![canned(
        401,
        &[],
        r#"{"code":"PGRST301","details":null,"hint":null,"message":"Expected 3 parts in JWT; got 1"}"#,
    )])
    .await;
    let client = SupabaseClient::new(&env(addr, SECRET), &settings(4)).unwrap();
    let err = client.probe(&entity()).await.unwrap_err();
    assert!(
        matches!(err, SourceError::KeyRefused { status: 401, .. }),
        "{err:?}"
    );
    assert_eq!(err.exit_class(), ExitClass::Usage);
    let text = err.to_string();
    assert!(
        text.contains("PGRST301") && text.contains("secret key sb_sec…"),
        "{text}"
    );
    assert!(!text.contains(SECRET));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_unreachable_source_is_tried_max_retries_plus_one_times() {
    // Bind then drop: nothing listens on the port any more.
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let client = SupabaseClient::new(&env(addr, SECRET), &settings(1)).unwrap();
    let err = client.probe(&entity()).await.unwrap_err();
    assert!(
        matches!(err, SourceError::Unreachable { attempts: 2, .. }),
        "{err:?}"
    );
    assert_eq!(err.exit_class(), ExitClass::Runtime);
    assert!(!err.to_string().contains('?'), "{err}");
}

#[tokio::test]
async fn a_first_page_without_a_count_is_refused() {
    let (addr, _) = serve(vec![canned(200, &[("content-range", "0-1/*")], TWO_ROWS)]).await;
    let client = SupabaseClient::new(&env(addr, SECRET), &settings(0)).unwrap();
    let err = client
        .read_window(&entity(), &window(), &mut |_| Ok(()))
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::Protocol { .. }), "{err:?}");
}

#[tokio::test]
async fn applied_migrations_post_with_retries_and_page_past_the_row_cap() {
    let (addr, seen) = serve(vec![
        canned(503, &[], "upstream busy"),
        canned(
            206,
            &[("content-range", "0-1/3")],
            r#"["20260102000000","20260101000000"]"#,
        ),
        canned(
            206,
            &[("content-range", "2-2/3")],
            r#"[{"version":"20260103000000"}]"#,
        ),
    ])
    .await;
    let client = SupabaseClient::new(&env(addr, SECRET), &settings(2)).unwrap();
    let versions = client
        .applied_migrations("rep_applied_migrations")
        .await
        .unwrap();
    assert_eq!(
        versions,
        ["20260101000000", "20260102000000", "20260103000000"]
    );

    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 3);
    for head in &heads {
        let lower = head.to_ascii_lowercase();
        assert!(lower.contains(&format!("apikey: {}", SECRET.to_ascii_lowercase())));
        assert!(!lower.contains("authorization:"), "{head}");
        assert!(lower.contains("content-type: application/json"), "{head}");
        assert!(lower.contains("content-length: 2"), "{head}");
        assert!(lower.contains("prefer: count=exact"), "{head}");
        assert!(!lower.contains("content-profile"), "{head}");
    }
    let line = |i: usize| heads[i].lines().next().unwrap().to_string();
    assert_eq!(line(0), "POST /rest/v1/rpc/rep_applied_migrations HTTP/1.1");
    assert_eq!(line(1), line(0));
    assert_eq!(
        line(2),
        "POST /rest/v1/rpc/rep_applied_migrations?offset=2 HTTP/1.1"
    );
}

#[tokio::test]
async fn applied_migrations_refusals_say_what_to_do() {
    let not_found = r#"{"code":"PGRST202","details":"Searched for the function public.rep_applied_migrations without parameters or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.","hint":null,"message":"Could not find the function public.rep_applied_migrations without parameters in the schema cache"}"#;
    let denied = r#"{"code":"42501","details":null,"hint":null,"message":"permission denied for function rep_applied_migrations"}"#;
    for (status, body, expect_class, needle) in [
        (
            404,
            not_found,
            ExitClass::Usage,
            "fixtures/source/migrations_rpc.sql",
        ),
        (
            403,
            denied,
            ExitClass::Usage,
            "grant EXECUTE on it to service_role only",
        ),
        (
            401,
            r#"{"message":"Invalid API key"}"#,
            ExitClass::Usage,
            "SUPABASE_SERVICE_ROLE_KEY",
        ),
        (
            300,
            r#"{"code":"PGRST203","details":null,"hint":null,"message":"Could not choose"}"#,
            ExitClass::Usage,
            "must take no arguments",
        ),
        (
            200,
            r#"{"version":"1"}"#,
            ExitClass::Runtime,
            "expected a JSON array",
        ),
    ] {
        let (addr, seen) = serve(vec![canned(status, &[], body)]).await;
        let client = SupabaseClient::new(&env(addr, SECRET), &settings(3)).unwrap();
        let err = client
            .applied_migrations("rep_applied_migrations")
            .await
            .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.exit_class(), expect_class, "{text}");
        assert!(text.contains(needle), "{status}: {text}");
        assert!(
            text.contains("public.rep_applied_migrations") || status == 401,
            "{text}"
        );
        assert!(!text.contains(SECRET));
        assert_eq!(seen.lock().unwrap().len(), 1, "{status} is not retried");
    }

    // The list moving between two pages is noticed, not merged.
    let (addr, _) = serve(vec![
        canned(206, &[("content-range", "0-0/2")], r#"["1"]"#),
        canned(206, &[("content-range", "1-1/3")], r#"["2"]"#),
    ])
    .await;
    let client = SupabaseClient::new(&env(addr, SECRET), &settings(0)).unwrap();
    let err = client
        .applied_migrations("rep_applied_migrations")
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::RpcAnswer { .. }), "{err:?}");
    assert!(
        err.to_string().contains("changed while they were read"),
        "{err}"
    );

    let err = client.applied_migrations("../orders").await.unwrap_err();
    assert!(matches!(err, SourceError::Setup { .. }), "{err:?}");
}
