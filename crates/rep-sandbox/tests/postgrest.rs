//! The PostgREST stand-in over real HTTP, against the demo fixtures.
//!
//! One sandbox serves every check (its start is the slow part), so the checks run in one
//! test, each as a named function that says what it proves.

use std::collections::HashSet;

use rep_sandbox::{FaultPlan, GatewayConfig, PostgrestServer, SourceOptions, SourceSandbox};
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::{Connection, PgConnection};

const WINDOW_START: &str = "2026-03-01T00:00:00Z";
const WINDOW_END: &str = "2026-03-02T00:00:00Z";
const TIE: &str = "2026-03-01T10:00:00.654321+00:00";
const RESERVED_KEY: &str = r#"ORD-00017,(a.b):"x"\y"#;

struct Api<'a> {
    sandbox: &'a SourceSandbox,
    client: Client,
}

impl Api<'_> {
    /// GET `/rest/v1/{path_and_query}` with the secret key and a server User-Agent.
    fn get(&self, path_and_query: &str, headers: &[(&str, &str)]) -> Response {
        self.request(
            reqwest::Method::GET,
            path_and_query,
            &self.sandbox.keys().secret,
            headers,
        )
    }

    /// POST `/rest/v1/{path_and_query}` with a JSON body.
    fn post(
        &self,
        path_and_query: &str,
        apikey: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        let url = format!("{}/rest/v1/{path_and_query}", self.sandbox.project_url());
        let mut req = self
            .client
            .post(url)
            .header("user-agent", "rep-sandbox-tests/1")
            .header("apikey", apikey)
            .header("content-type", "application/json")
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().expect("the sandbox answers")
    }

    fn request(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        apikey: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        let url = format!("{}/rest/v1/{path_and_query}", self.sandbox.project_url());
        let mut req = self
            .client
            .request(method, url)
            .header("user-agent", "rep-sandbox-tests/1")
            .header("apikey", apikey);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().expect("the sandbox answers")
    }
}

fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

fn json(resp: Response) -> Value {
    serde_json::from_str(&resp.text().unwrap()).expect("a JSON body")
}

/// Percent-encodes a query-string value completely (what a careful client does).
fn enc(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A value quoted for use inside `or=(…)`/`in.(…)`.
fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

fn window_filter() -> String {
    format!(
        "updated_at=gte.{}&updated_at=lt.{}",
        enc(WINDOW_START),
        enc(WINDOW_END)
    )
}

#[test]
fn rest_api_behaves_like_supabase() {
    let sandbox = SourceSandbox::start(SourceOptions::default()).expect("source sandbox starts");
    let api = Api {
        sandbox: &sandbox,
        client: Client::new(),
    };

    fixture_shape_matches_its_description(&api);
    cap_truncates_silently(&api);
    exact_count_gives_206_and_the_total(&api);
    offset_past_the_end_is_416(&api);
    range_header_pages_like_limit(&api);
    keyset_page_with_reserved_characters(&api);
    full_keyset_walk_sees_every_row_once(&api);
    quoted_values_with_escapes(&api);
    big_numbers_keep_every_digit(&api);
    timestamps_follow_prefer_timezone(&api);
    key_rules(&api);
    rls_hides_rows_from_the_publishable_key(&api);
    errors_look_like_postgrest(&api);
    functions_are_called_like_postgrest(&api);
    function_errors_look_like_postgrest(&api);
    fault_plan_fails_the_chosen_requests(&api);
    statement_timeout_is_a_500_57014(&sandbox);
    requests_are_counted(&api);
}

fn fixture_shape_matches_its_description(api: &Api) {
    let total = |path: &str| {
        let resp = api.get(path, &[("prefer", "count=exact")]);
        let range = header(&resp, "content-range").unwrap();
        range.rsplit('/').next().unwrap().parse::<u64>().unwrap()
    };
    let window = window_filter();
    let customers = total(&format!("customers?select=id&{window}"));
    let orders = total(&format!("orders?select=order_code&{window}"));
    let events = total(&format!("events?select=id&{window}"));
    assert_eq!((customers, orders, events), (4005, 4004, 2502));
    assert!(customers + orders + events >= 10_000);
    assert_eq!(
        total(&format!(
            "orders?select=order_code&updated_at=eq.{}",
            enc(TIE)
        )),
        2500
    );
    // One row per table exactly at each bound; the start is in, the end is out.
    for (table, key) in [
        ("customers", "id"),
        ("orders", "order_code"),
        ("events", "id"),
    ] {
        assert_eq!(
            total(&format!(
                "{table}?select={key}&updated_at=eq.{}",
                enc(WINDOW_START)
            )),
            1
        );
        assert_eq!(
            total(&format!(
                "{table}?select={key}&updated_at=eq.{}",
                enc(WINDOW_END)
            )),
            1
        );
        assert!(
            total(&format!(
                "{table}?select={key}&updated_at=lt.{}",
                enc(WINDOW_START)
            )) >= 1
        );
        assert!(
            total(&format!(
                "{table}?select={key}&updated_at=gt.{}",
                enc(WINDOW_END)
            )) >= 1
        );
    }
}

fn cap_truncates_silently(api: &Api) {
    api.sandbox
        .exec_sql("CREATE TABLE public.numbers AS SELECT g::bigint AS id FROM generate_series(1, 10000) AS g;")
        .unwrap();
    let resp = api.get("numbers?select=id&order=id.asc&offset=5000&limit=5000", &[]);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header(&resp, "content-range").as_deref(),
        Some("5000-5999/*")
    );
    assert_eq!(
        header(&resp, "content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
    let rows = json(resp);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1000);
    assert_eq!(rows[0]["id"].to_string(), "5001");
    assert_eq!(rows[999]["id"].to_string(), "6000");

    // No limit at all: still capped.
    let resp = api.get("numbers?select=id", &[]);
    assert_eq!(header(&resp, "content-range").as_deref(), Some("0-999/*"));
}

fn exact_count_gives_206_and_the_total(api: &Api) {
    let path = format!(
        "customers?select=id&{}&order=updated_at.asc,id.asc",
        window_filter()
    );
    let resp = api.get(&path, &[("prefer", "count=exact")]);
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&resp, "content-range").as_deref(),
        Some("0-999/4005")
    );
    assert_eq!(
        header(&resp, "preference-applied").as_deref(),
        Some("count=exact")
    );
    assert_eq!(json(resp).as_array().unwrap().len(), 1000);

    // The last page is complete: 200.
    let resp = api.get(&format!("{path}&offset=4000"), &[("prefer", "count=exact")]);
    assert_eq!(
        resp.status(),
        StatusCode::PARTIAL_CONTENT,
        "4000-4004 of 4005 is still partial"
    );
    assert_eq!(
        header(&resp, "content-range").as_deref(),
        Some("4000-4004/4005")
    );

    let resp = api.get(
        "events?select=id&kind=eq.boundary",
        &[("prefer", "count=exact")],
    );
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "content-range").as_deref(), Some("0-3/4"));

    // planned and estimated give a number too (estimates may differ from the exact count).
    let resp = api.get(&path, &[("prefer", "count=planned")]);
    let range = header(&resp, "content-range").unwrap();
    assert!(
        range.starts_with("0-999/") && !range.ends_with('*'),
        "{range}"
    );
    let resp = api.get(&path, &[("prefer", "count=estimated")]);
    let range = header(&resp, "content-range").unwrap();
    assert!(
        range.starts_with("0-999/") && !range.ends_with('*'),
        "{range}"
    );
}

fn offset_past_the_end_is_416(api: &Api) {
    let path = format!("customers?select=id&{}&offset=5000", window_filter());
    let resp = api.get(&path, &[("prefer", "count=exact")]);
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&resp, "content-range").as_deref(), Some("*/4005"));
    assert_eq!(
        resp.text().unwrap(),
        r#"{"code":"PGRST103","details":"An offset of 5000 was requested, but there are only 4005 rows.","hint":null,"message":"Requested range not satisfiable"}"#
    );
    // Exactly at the end: an empty partial page, not an error.
    let resp = api.get(
        &format!("customers?select=id&{}&offset=4005", window_filter()),
        &[("prefer", "count=exact")],
    );
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&resp, "content-range").as_deref(), Some("*/4005"));
    assert_eq!(resp.text().unwrap(), "[]");
    // Without a count the server cannot know: 200 and an empty page.
    let resp = api.get(&path, &[]);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "content-range").as_deref(), Some("*/*"));
}

fn range_header_pages_like_limit(api: &Api) {
    let resp = api.get(
        "numbers?select=id&order=id.asc",
        &[("range-unit", "items"), ("range", "10-19")],
    );
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "content-range").as_deref(), Some("10-19/*"));
    let rows = json(resp);
    assert_eq!(rows[0]["id"].to_string(), "11");
    assert_eq!(rows.as_array().unwrap().len(), 10);

    let resp = api.get("numbers?select=id", &[("range", "9-5")]);
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(json(resp)["code"], "PGRST103");
}

fn keyset_page_with_reserved_characters(api: &Api) {
    let tree = format!(
        "(updated_at.gt.{tie},and(updated_at.eq.{tie},order_code.gt.{key}))",
        tie = quoted(TIE),
        key = quoted(RESERVED_KEY)
    );
    let path = format!(
        "orders?select=order_code,updated_at&or={}&updated_at=gte.{}&order=updated_at.asc,order_code.asc&limit=5",
        enc(&tree),
        enc(TIE)
    );
    let resp = api.get(&path, &[("prefer", "timezone=UTC")]);
    assert_eq!(resp.status(), StatusCode::OK);
    let got: Vec<String> = json(resp)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["order_code"].as_str().unwrap().to_string())
        .collect();

    // The oracle: PostgreSQL's own row comparison.
    let expected: Vec<String> = query_source(
        api.sandbox,
        "SELECT order_code FROM public.orders WHERE (updated_at, order_code) > ($1::timestamptz, $2) \
         ORDER BY updated_at, order_code LIMIT 5",
        &[TIE, RESERVED_KEY],
    );
    assert_eq!(got, expected);
    assert_eq!(got[0], "ORD-00018");
}

fn full_keyset_walk_sees_every_row_once(api: &Api) {
    let mut seen = HashSet::new();
    let mut last: Option<(String, String)> = None;
    let mut pages = 0;
    loop {
        let mut path = format!(
            "orders?select=order_code,updated_at&{}&order=updated_at.asc,order_code.asc&limit=1000",
            window_filter()
        );
        if let Some((wm, key)) = &last {
            let tree = format!(
                "(updated_at.gt.{w},and(updated_at.eq.{w},order_code.gt.{k}))",
                w = quoted(wm),
                k = quoted(key)
            );
            path.push_str(&format!("&or={}", enc(&tree)));
        }
        let rows = json(api.get(&path, &[("prefer", "timezone=UTC")]));
        let rows = rows.as_array().unwrap();
        pages += 1;
        for row in rows {
            assert!(
                seen.insert(row["order_code"].as_str().unwrap().to_string()),
                "repeated {row}"
            );
        }
        match rows.last() {
            Some(row) => {
                last = Some((
                    row["updated_at"].as_str().unwrap().to_string(),
                    row["order_code"].as_str().unwrap().to_string(),
                ))
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 4004);
    assert_eq!(
        pages, 6,
        "four full pages, one of 4 rows, and a final empty one"
    );
    assert!(seen.contains(RESERVED_KEY));
    assert!(seen.contains("ORD-a;b&c=d+e%f 'q'"));
    assert!(!seen.contains("ORD-END") && seen.contains("ORD-START"));
}

fn quoted_values_with_escapes(api: &Api) {
    let list = format!(
        "({},{})",
        quoted(r#"ORD-"quoted" \ back"#),
        quoted(RESERVED_KEY)
    );
    let resp = api.get(
        &format!(
            "orders?select=order_code&order_code=in.{}&order=order_code.asc",
            enc(&list)
        ),
        &[],
    );
    let rows = json(resp);
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    assert_eq!(rows[0]["order_code"], r#"ORD-"quoted" \ back"#);

    // A top-level value is taken verbatim: no quoting, no escapes.
    let resp = api.get(
        &format!(
            "orders?select=order_code&order_code=eq.{}",
            enc(RESERVED_KEY)
        ),
        &[],
    );
    assert_eq!(json(resp).as_array().unwrap().len(), 1);
    let resp = api.get(
        &format!(
            "orders?select=order_code&order_code=eq.{}",
            enc(&quoted(RESERVED_KEY))
        ),
        &[],
    );
    assert_eq!(
        json(resp).as_array().unwrap().len(),
        0,
        "quotes are part of a top-level value"
    );

    // An unencoded `+` is a space and `;` separates parameters, as in PostgREST.
    let resp = api.get(
        "orders?select=order_code&order_code=eq.ORD-a;b&c=d+e%25f%20'q'",
        &[],
    );
    assert_eq!(json(resp).as_array().unwrap().len(), 0);
}

fn big_numbers_keep_every_digit(api: &Api) {
    let resp = api.get(
        "customers?id=eq.9007199254740993",
        &[("prefer", "timezone=UTC")],
    );
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().unwrap();
    for needle in [
        r#""id":9007199254740993"#,
        r#""lifetime_value":9007199254740993"#,
        r#""balance":1234567890123456789012345678.1234567890"#,
        r#""score":1e+100"#,
        r#""big": 123456789012345678901234567890"#,
        r#""tags":["a,b","say \"hi\"",null,"back\\slash","","{braces}"]"#,
        r#""updated_at":"2026-03-01T12:34:56.123456+00:00""#,
        r#"CR\rLF\n"#,
        "🚀",
    ] {
        assert!(body.contains(needle), "missing {needle} in {body}");
    }
    let resp = api.get(
        "customers?select=score,lifetime_value&id=in.(4001,4007,4008)&order=id.asc",
        &[],
    );
    assert_eq!(
        resp.text().unwrap(),
        "[{\"score\":1.5e-07,\"lifetime_value\":0}, \n {\"score\":\"NaN\",\"lifetime_value\":9223372036854775807}, \n {\"score\":\"-Infinity\",\"lifetime_value\":-9223372036854775808}]"
    );
}

fn timestamps_follow_prefer_timezone(api: &Api) {
    // The source cluster runs in America/Sao_Paulo; PostgREST's sessions inherit that.
    let resp = api.get("customers?select=updated_at&id=eq.4001", &[]);
    assert_eq!(header(&resp, "preference-applied"), None);
    assert_eq!(
        resp.text().unwrap(),
        r#"[{"updated_at":"2026-02-28T21:00:00-03:00"}]"#
    );

    let resp = api.get(
        "customers?select=updated_at&id=eq.4001",
        &[("prefer", "timezone=UTC")],
    );
    assert_eq!(
        header(&resp, "preference-applied").as_deref(),
        Some("timezone=UTC")
    );
    assert_eq!(
        resp.text().unwrap(),
        r#"[{"updated_at":"2026-03-01T00:00:00+00:00"}]"#
    );

    // An unknown zone is ignored (lenient), or refused with handling=strict.
    let resp = api.get(
        "customers?select=updated_at&id=eq.4001",
        &[("prefer", "timezone=Mars/Base")],
    );
    assert_eq!(
        resp.text().unwrap(),
        r#"[{"updated_at":"2026-02-28T21:00:00-03:00"}]"#
    );
    let resp = api.get(
        "customers?select=updated_at&id=eq.4001",
        &[("prefer", "handling=strict, timezone=Mars/Base")],
    );
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(resp)["code"], "PGRST122");

    // Filters parse instants with their offsets, whatever the session zone.
    let resp = api.get(
        &format!(
            "customers?select=id&updated_at=eq.{}",
            enc("2026-02-28T21:00:00-03:00")
        ),
        &[("prefer", "timezone=UTC")],
    );
    assert_eq!(resp.text().unwrap(), r#"[{"id":4001}]"#);
}

fn key_rules(api: &Api) {
    let keys = api.sandbox.keys();
    let url = format!(
        "{}/rest/v1/customers?select=id&limit=1",
        api.sandbox.project_url()
    );

    // A new-style key as Bearer reaches PostgREST as a malformed JWT.
    let resp = api.get(
        "customers?select=id&limit=1",
        &[("authorization", &format!("Bearer {}", keys.secret))],
    );
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&resp, "www-authenticate")
        .unwrap()
        .contains("invalid_token"));
    assert_eq!(
        resp.text().unwrap(),
        r#"{"code":"PGRST301","details":null,"hint":null,"message":"Expected 3 parts in JWT; got 1"}"#
    );

    let unknown = api.request(
        reqwest::Method::GET,
        "customers?select=id",
        "sb_secret_not-a-real-key",
        &[],
    );
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(unknown)["message"], "Invalid API key");

    let missing = api.client.get(&url).send().unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(missing)["message"], "No API key found in request");

    let browser = api
        .client
        .get(&url)
        .header("apikey", &keys.secret)
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        )
        .send()
        .unwrap();
    assert_eq!(browser.status(), StatusCode::UNAUTHORIZED);

    // Legacy JWTs: in apikey and as Bearer.
    let legacy = api.request(
        reqwest::Method::GET,
        "customers?select=id&limit=1",
        &keys.service_role_jwt,
        &[(
            "authorization",
            &format!("Bearer {}", keys.service_role_jwt),
        )],
    );
    assert_eq!(legacy.status(), StatusCode::OK);
    assert_eq!(json(legacy).as_array().unwrap().len(), 1);

    // A tampered JWT fails its signature check.
    let mut forged = keys.service_role_jwt.clone();
    forged.pop();
    forged.push(if keys.service_role_jwt.ends_with('A') {
        'B'
    } else {
        'A'
    });
    let resp = api.get(
        "customers?select=id",
        &[("authorization", &format!("Bearer {forged}"))],
    );
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(resp)["code"], "PGRST301");

    let post = api.request(reqwest::Method::POST, "customers", &keys.secret, &[]);
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json(post)["code"], "PGRST117");

    let off_route = api
        .client
        .get(format!("{}/nope", api.sandbox.project_url()))
        .send()
        .unwrap();
    assert_eq!(off_route.status(), StatusCode::NOT_FOUND);

    let head = api.request(
        reqwest::Method::HEAD,
        "customers?select=id&limit=3",
        &keys.secret,
        &[],
    );
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(header(&head, "content-range").as_deref(), Some("0-2/*"));
    assert!(head.text().unwrap().is_empty());
}

fn rls_hides_rows_from_the_publishable_key(api: &Api) {
    let keys = api.sandbox.keys();
    let anon = api.request(
        reqwest::Method::GET,
        "customers?select=id",
        &keys.publishable,
        &[("prefer", "count=exact")],
    );
    assert_eq!(anon.status(), StatusCode::OK);
    assert_eq!(header(&anon, "content-range").as_deref(), Some("*/0"));
    assert_eq!(anon.text().unwrap(), "[]");

    let anon_jwt = api.request(
        reqwest::Method::GET,
        "orders?select=order_code",
        &keys.anon_jwt,
        &[],
    );
    assert_eq!(anon_jwt.text().unwrap(), "[]");

    let service = api.get("customers?select=id", &[("prefer", "count=exact")]);
    assert_eq!(
        header(&service, "content-range").as_deref(),
        Some("0-999/4010")
    );
}

fn errors_look_like_postgrest(api: &Api) {
    let resp = api.get("customers?select=id,nope", &[]);
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // PostgreSQL's own error, hint included, passed through with PostgREST's key order.
    assert_eq!(
        resp.text().unwrap(),
        r#"{"code":"42703","details":null,"hint":"Perhaps you meant to reference the column \"customers.note\".","message":"column customers.nope does not exist"}"#
    );
    let resp = api.get("customers?nope=eq.1", &[]);
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(resp)["code"], "42703");

    let resp = api.get("no_such_table", &[]);
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        resp.text().unwrap(),
        r#"{"code":"PGRST205","details":null,"hint":null,"message":"Could not find the table 'public.no_such_table' in the schema cache"}"#
    );

    let resp = api.get("customers?id=eq.not-a-number", &[]);
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(resp)["code"], "22P02");

    let resp = api.get("customers?or=(id.eq.1", &[]);
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(resp)["code"], "PGRST100");

    let resp = api.get("customers?select=id,orders(*)", &[]);
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(resp)["code"], "PGRST127");

    // Injection attempts stay values.
    let resp = api.get(
        &format!("orders?order_code=eq.{}", enc("x'; DROP TABLE orders; --")),
        &[],
    );
    assert_eq!(resp.text().unwrap(), "[]");
    let resp = api.get(
        &format!(
            "orders?select={}",
            enc("\"order_code\"\"; DROP TABLE orders; --\"")
        ),
        &[],
    );
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json(api.get("orders?select=order_code&limit=1", &[]))
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// The versions of `fixtures/demo/migrations/`, the local folder the demo compares.
fn demo_migration_versions() -> Vec<String> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo/migrations");
    let mut versions: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.split('_').next().unwrap().to_string()
        })
        .collect();
    versions.sort();
    versions
}

fn functions_are_called_like_postgrest(api: &Api) {
    let secret = &api.sandbox.keys().secret;
    // SETOF text → an array of strings: the versions applied, exactly the demo's local folder.
    let resp = api.post("rpc/rep_applied_migrations", secret, "{}", &[]);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "content-range").as_deref(), Some("0-2/*"));
    let versions: Vec<String> = serde_json::from_value(json(resp)).unwrap();
    assert_eq!(versions, demo_migration_versions());
    assert_eq!(
        query_source(
            api.sandbox,
            "SELECT version FROM supabase_migrations.schema_migrations ORDER BY version",
            &[]
        ),
        versions
    );

    // An empty body is a call without arguments; the legacy service_role JWT works too.
    let keys = api.sandbox.keys();
    let resp = api.post(
        "rpc/rep_applied_migrations",
        &keys.service_role_jwt,
        "",
        &[(
            "authorization",
            &format!("Bearer {}", keys.service_role_jwt),
        )],
    );
    assert_eq!(json(resp).as_array().unwrap().len(), 3);

    // Counts, offsets and the row cap apply to a function's rows as to a table's.
    let resp = api.post(
        "rpc/rep_applied_migrations?offset=1",
        secret,
        "{}",
        &[("prefer", "count=exact")],
    );
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&resp, "content-range").as_deref(), Some("1-2/3"));
    assert_eq!(json(resp), serde_json::json!(versions[1..]));
    let capped = PostgrestServer::start(
        &api.sandbox.cluster().superuser_url(api.sandbox.database()),
        GatewayConfig {
            max_rows: 2,
            ..GatewayConfig::new(keys.clone())
        },
    )
    .unwrap();
    let resp = Client::new()
        .post(format!(
            "{}/rest/v1/rpc/rep_applied_migrations",
            capped.base_url()
        ))
        .header("apikey", secret)
        .header("prefer", "count=exact")
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(header(&resp, "content-range").as_deref(), Some("0-1/3"));
    assert_eq!(json(resp), serde_json::json!(versions[..2]));

    // A table → an array of objects; a single scalar → the value itself.
    api.sandbox
        .exec_sql(
            "CREATE FUNCTION public.migration_rows() RETURNS TABLE (version text, name text)              LANGUAGE sql STABLE AS $$ SELECT version, name FROM supabase_migrations.schema_migrations ORDER BY version LIMIT 1 $$;              GRANT USAGE ON SCHEMA supabase_migrations TO service_role;              GRANT SELECT ON supabase_migrations.schema_migrations TO service_role;              CREATE FUNCTION public.answer() RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT 9007199254740993 $$;",
        )
        .unwrap();
    let resp = api.post("rpc/migration_rows", secret, "{}", &[]);
    assert_eq!(
        resp.text().unwrap(),
        format!(
            r#"[{{"version":"{}","name":"create_customers"}}]"#,
            versions[0]
        )
    );
    let resp = api.post("rpc/answer", secret, "{}", &[]);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().unwrap(), "9007199254740993");
}

fn function_errors_look_like_postgrest(api: &Api) {
    let keys = api.sandbox.keys();
    // EXECUTE is granted to service_role only: the publishable key's anon is refused by
    // PostgreSQL itself, and PostgREST answers 403 with its error.
    for anon_key in [&keys.publishable, &keys.anon_jwt] {
        let resp = api.post("rpc/rep_applied_migrations", anon_key, "{}", &[]);
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            resp.text().unwrap(),
            r#"{"code":"42501","details":null,"hint":null,"message":"permission denied for function rep_applied_migrations"}"#
        );
    }

    let resp = api.post("rpc/no_such_function", &keys.secret, "{}", &[]);
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        resp.text().unwrap(),
        r#"{"code":"PGRST202","details":"Searched for the function public.no_such_function without parameters or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.","hint":null,"message":"Could not find the function public.no_such_function without parameters in the schema cache"}"#
    );
    // An argument the function does not take makes it another function: not found either.
    let resp = api.post(
        "rpc/rep_applied_migrations",
        &keys.secret,
        r#"{"since":"20260101000000"}"#,
        &[],
    );
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let body = json(resp);
    assert_eq!(body["code"], "PGRST202");
    assert_eq!(
        body["message"],
        "Could not find the function public.rep_applied_migrations(since) in the schema cache"
    );

    let resp = api.post("rpc/rep_applied_migrations", &keys.secret, "{", &[]);
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(resp)["code"], "PGRST102");
    let resp = api.get("rpc/rep_applied_migrations", &[]);
    assert_eq!(json(resp)["code"], "PGRST127");
    let resp = api.request(
        reqwest::Method::PUT,
        "rpc/rep_applied_migrations",
        &keys.secret,
        &[],
    );
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    // The gateway still comes first.
    let resp = api.post("rpc/rep_applied_migrations", "sb_secret_nope", "{}", &[]);
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

fn fault_plan_fails_the_chosen_requests(api: &Api) {
    api.sandbox
        .server()
        .set_fault_plan(Some(FaultPlan { first: 2, last: 3 }));
    let statuses: Vec<StatusCode> = (0..4)
        .map(|_| api.get("events?select=id&limit=1", &[]).status())
        .collect();
    assert_eq!(
        statuses,
        vec![
            StatusCode::OK,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::OK
        ]
    );
    api.sandbox
        .server()
        .set_fault_plan(Some(FaultPlan::first_requests(1)));
    let resp = api.get("events?select=id&limit=1", &[]);
    assert_eq!(json(resp)["code"], "PGRST000");
    api.sandbox.server().set_fault_plan(None);
    assert_eq!(
        api.get("events?select=id&limit=1", &[]).status(),
        StatusCode::OK
    );
}

fn statement_timeout_is_a_500_57014(sandbox: &SourceSandbox) {
    sandbox
        .exec_sql("CREATE VIEW public.slow AS SELECT pg_sleep(2)::text AS slept;")
        .unwrap();
    let mut config = GatewayConfig::new(sandbox.keys().clone());
    config.statement_timeout_ms = 200;
    let server =
        PostgrestServer::start(&sandbox.cluster().superuser_url(sandbox.database()), config)
            .unwrap();
    let resp = Client::new()
        .get(format!("{}/rest/v1/slow", server.base_url()))
        .header("apikey", &sandbox.keys().secret)
        .send()
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(json(resp)["code"], "57014");
    assert_eq!(server.request_count(), 1);
}

fn requests_are_counted(api: &Api) {
    let before = api.sandbox.server().request_count();
    api.get("events?select=id&limit=1", &[]);
    assert_eq!(api.sandbox.server().request_count(), before + 1);
}

fn query_source(sandbox: &SourceSandbox, sql: &str, binds: &[&str]) -> Vec<String> {
    let url = sandbox.cluster().superuser_url(sandbox.database());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let mut conn = PgConnection::connect(&url).await.unwrap();
            let mut query = sqlx::query_scalar::<_, String>(sql);
            for b in binds {
                query = query.bind(*b);
            }
            query.fetch_all(&mut conn).await.unwrap()
        })
}
