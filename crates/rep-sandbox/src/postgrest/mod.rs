//! An HTTP stand-in for a Supabase project's REST API: the API gateway's key rules in front
//! of PostgREST's read path and function calls, served on `127.0.0.1` from a thread of its own.

mod error;
mod gateway;
mod prefer;
mod query;
mod range;
mod rpc;
mod sql;

use std::collections::HashSet;
use std::future::IntoFuture as _;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, Method, Response, StatusCode, Uri};
use axum::Router;
use percent_encoding::percent_decode_str;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

pub use gateway::SandboxKeys;

use crate::error::{Result, SandboxError};
use error::{ApiError, JSON_CONTENT_TYPE};
use prefer::{CountPreference, Handling, Preferences};
use range::Page;
use sql::{BodyFormat, ColumnTypes, CountMode, ReadPlan, Statement};

/// How long a stopping server waits for open connections before it drops them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Settings of a [`PostgrestServer`], mirroring a Supabase project's API settings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The project's API keys.
    pub keys: SandboxKeys,
    /// Supabase's "Max rows" (PostgREST `db-max-rows`): the silent cap per response.
    /// Default 1000; 0 disables the cap.
    pub max_rows: u64,
    /// The exposed schema. Default `public`.
    pub schema: String,
    /// `statement_timeout` set for every request's transaction. Default 8000 ms, Supabase's
    /// value for the `authenticated` role.
    pub statement_timeout_ms: u64,
    /// Makes some GET requests fail with 503, for retry tests.
    pub fault: Option<FaultPlan>,
}

impl GatewayConfig {
    /// Supabase's defaults with the given keys.
    pub fn new(keys: SandboxKeys) -> Self {
        Self {
            keys,
            max_rows: 1000,
            schema: "public".to_string(),
            statement_timeout_ms: 8000,
            fault: None,
        }
    }
}

impl Default for GatewayConfig {
    /// Supabase's defaults with freshly generated keys.
    fn default() -> Self {
        Self::new(SandboxKeys::generate())
    }
}

/// Makes GET/HEAD requests number `first..=last` (1-based, counted from when the plan was
/// installed, after the API key was accepted) answer
/// `503 {"code":"PGRST000",…,"message":"Database connection error. Retrying the connection."}`,
/// which is what PostgREST sends while its database is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPlan {
    /// The first failing request (1-based).
    pub first: u64,
    /// The last failing request (inclusive).
    pub last: u64,
}

impl FaultPlan {
    /// Fails the first `n` requests.
    pub fn first_requests(n: u64) -> Self {
        Self { first: 1, last: n }
    }

    fn covers(&self, request: u64) -> bool {
        (self.first..=self.last).contains(&request)
    }
}

/// A running PostgREST + Supabase-gateway stand-in. Dropping it stops the server.
pub struct PostgrestServer {
    port: u16,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for PostgrestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgrestServer")
            .field("port", &self.port)
            .field("requests", &self.request_count())
            .finish_non_exhaustive()
    }
}

/// State shared between the server thread and the owning [`PostgrestServer`].
struct Shared {
    requests: AtomicU64,
    fault: Mutex<FaultState>,
}

struct FaultState {
    plan: Option<FaultPlan>,
    reads_seen: u64,
}

struct AppState {
    pool: PgPool,
    keys: SandboxKeys,
    max_rows: u64,
    schema: String,
    statement_timeout_ms: u64,
    /// `pg_timezone_names`, which `Prefer: timezone=` must match (PostgREST caches it too).
    timezones: HashSet<String>,
    /// The zone a libpq client such as PostgREST's sessions start in; see [`SERVER_TIMEZONE_SQL`].
    server_timezone: String,
    shared: Arc<Shared>,
}

impl PostgrestServer {
    /// Starts serving `http://127.0.0.1:<free port>/rest/v1/<table>` in front of the database
    /// at `db_url`, which should be a superuser URL (requests switch to `anon` or
    /// `service_role` with `SET LOCAL ROLE`, as PostgREST's authenticator does).
    pub fn start(db_url: &str, config: GatewayConfig) -> Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|source| SandboxError::NoFreePort { source })?;
        let port = listener
            .local_addr()
            .map_err(|source| SandboxError::NoFreePort { source })?
            .port();
        listener
            .set_nonblocking(true)
            .map_err(|source| SandboxError::NoFreePort { source })?;

        let shared = Arc::new(Shared {
            requests: AtomicU64::new(0),
            fault: Mutex::new(FaultState {
                plan: config.fault,
                reads_seen: 0,
            }),
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let db_url = db_url.to_string();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("rep-sandbox-postgrest".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = ready_tx.send(Err(format!("tokio runtime: {err}")));
                        return;
                    }
                };
                runtime.block_on(serve(
                    listener,
                    db_url,
                    config,
                    thread_shared,
                    ready_tx,
                    shutdown_rx,
                ));
            })
            .map_err(|source| SandboxError::Runtime {
                what: "server thread",
                source,
            })?;

        let outcome = ready_rx
            .recv()
            .unwrap_or_else(|_| Err("the server thread stopped before it was ready".to_string()));
        if let Err(reason) = outcome {
            let _ = thread.join();
            return Err(SandboxError::ServerThread { reason });
        }
        Ok(Self {
            port,
            shared,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        })
    }

    /// The project URL, `http://127.0.0.1:<port>`; the REST API is under `/rest/v1/`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many HTTP requests have been received so far (any path, any outcome).
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Installs (or clears) a fault plan; request numbering restarts at 1.
    pub fn set_fault_plan(&self, plan: Option<FaultPlan>) {
        let mut fault = self
            .shared
            .fault
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        fault.plan = plan;
        fault.reads_seen = 0;
    }
}

impl Drop for PostgrestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: TcpListener,
    db_url: String,
    config: GatewayConfig,
    shared: Arc<Shared>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
    shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let pool = match PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&db_url)
        .await
    {
        Ok(pool) => pool,
        Err(err) => {
            let _ = ready.send(Err(format!("connect to the source database: {err}")));
            return;
        }
    };
    let timezones =
        match sqlx::query_scalar::<_, String>("SELECT name FROM pg_catalog.pg_timezone_names")
            .fetch_all(&pool)
            .await
        {
            Ok(names) => names.into_iter().collect(),
            Err(err) => {
                let _ = ready.send(Err(format!("read pg_timezone_names: {err}")));
                return;
            }
        };
    let server_timezone = match sqlx::query_scalar::<_, String>(SERVER_TIMEZONE_SQL)
        .fetch_one(&pool)
        .await
    {
        Ok(zone) => zone,
        Err(err) => {
            let _ = ready.send(Err(format!("read the server's default time zone: {err}")));
            return;
        }
    };
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(err) => {
            let _ = ready.send(Err(format!("listen: {err}")));
            return;
        }
    };
    let state = Arc::new(AppState {
        pool: pool.clone(),
        keys: config.keys,
        max_rows: config.max_rows,
        schema: config.schema,
        statement_timeout_ms: config.statement_timeout_ms,
        timezones,
        server_timezone,
        shared,
    });
    let app = Router::new().fallback(handle).with_state(state);
    let _ = ready.send(Ok(()));

    let stopping = Arc::new(tokio::sync::Notify::new());
    let notify = Arc::clone(&stopping);
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = shutdown.await;
        notify.notify_one();
    });
    // Idle keep-alive connections of clients that are still alive could hold a graceful
    // shutdown open indefinitely; after a grace period they are simply dropped.
    tokio::select! {
        result = server.into_future() => {
            if let Err(err) = result {
                tracing::warn!(error = %err, "the PostgREST sandbox server stopped with an error");
            }
        }
        () = async {
            stopping.notified().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {}
    }
    pool.close().await;
}

async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    state.shared.requests.fetch_add(1, Ordering::SeqCst);
    let head_only = method == Method::HEAD;
    let response = match respond(&state, &method, &uri, &headers, &body).await {
        Ok(response) => response,
        Err(err) => err.into_response(Vec::new(), head_only),
    };
    tracing::debug!(%method, path = uri.path(), status = %response.status(), "sandbox REST request");
    response
}

async fn respond(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let resource = match uri.path().strip_prefix("/rest/v1") {
        Some("") => "",
        Some(rest) if rest.starts_with('/') => &rest[1..],
        _ => return Err(ApiError::route_not_found()),
    };
    let auth = gateway::authenticate(headers, &state.keys)?;
    if let Some(function) = resource.strip_prefix("rpc/") {
        return rpc::respond(state, &auth, method, function, uri, headers, body).await;
    }
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::pgrst(
            StatusCode::METHOD_NOT_ALLOWED,
            "PGRST117",
            format!("Unsupported HTTP method: {method}"),
        ));
    }
    if resource.is_empty() {
        return Err(ApiError::pgrst(
            StatusCode::NOT_FOUND,
            "PGRST126",
            "Root endpoint metadata is disabled",
        ));
    }
    let table = percent_decode_str(resource)
        .decode_utf8_lossy()
        .into_owned();
    if table.contains('/') {
        return Err(ApiError::pgrst(
            StatusCode::NOT_FOUND,
            "PGRST125",
            "Invalid path specified in request URL",
        ));
    }
    inject_fault(state)?;

    let query = parse_query(uri)?;
    let prefs = preferences(state, headers)?;
    let page = plan_page(state, headers, &query)?;
    let format = negotiate(headers)?;

    let outcome = read(state, &auth, &table, &query, page, &prefs, format).await?;

    let status = range::status(page.offset, outcome.page_total, outcome.total);
    let mut response_headers: Vec<(HeaderName, String)> = vec![
        (
            header::CONTENT_RANGE,
            range::content_range(page.offset, outcome.page_total, outcome.total),
        ),
        (
            header::CONTENT_LOCATION,
            if query.canonical.is_empty() {
                format!("/{table}")
            } else {
                format!("/{table}?{}", query.canonical)
            },
        ),
    ];
    if let Some(applied) = prefs.applied_header() {
        response_headers.push((HeaderName::from_static("preference-applied"), applied));
    }
    if status == StatusCode::RANGE_NOT_SATISFIABLE {
        let err = ApiError::pgrst(status, "PGRST103", "Requested range not satisfiable")
            .with_details(range::out_of_bounds_details(page.offset, outcome.total));
        return Ok(err.into_response(response_headers, method == Method::HEAD));
    }

    let content_type = match format {
        BodyFormat::Json => JSON_CONTENT_TYPE,
        BodyFormat::Csv => "text/csv; charset=utf-8",
    };
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type);
    for (name, value) in response_headers {
        builder = builder.header(name, value);
    }
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(outcome.body)
    };
    builder.body(body).map_err(|err| {
        ApiError::pgrst(
            StatusCode::INTERNAL_SERVER_ERROR,
            "PGRSTX00",
            err.to_string(),
        )
    })
}

/// The query string, with PostgREST's errors for what does not parse and the sandbox's for
/// what it does not implement.
fn parse_query(uri: &Uri) -> Result<query::ReadQuery, ApiError> {
    query::parse(uri.query().unwrap_or("")).map_err(|err| match err {
        query::QueryError::Parse { message, details } => {
            ApiError::pgrst(StatusCode::BAD_REQUEST, "PGRST100", message).with_details(details)
        }
        query::QueryError::Unsupported { details } => ApiError::not_implemented(details),
    })
}

/// The `Prefer` header; with `handling=strict`, an unknown preference is PGRST122.
fn preferences(state: &AppState, headers: &HeaderMap) -> Result<Preferences, ApiError> {
    let prefs = Preferences::from_headers(headers, &state.timezones);
    if prefs.handling == Some(Handling::Strict) && !prefs.invalid.is_empty() {
        return Err(ApiError::pgrst(
            StatusCode::BAD_REQUEST,
            "PGRST122",
            "Invalid preferences given with handling=strict",
        )
        .with_details(format!("Invalid preferences: {}", prefs.invalid.join(", "))));
    }
    Ok(prefs)
}

/// The rows to answer: `Range` header, `limit`/`offset` and the row cap together.
fn plan_page(
    state: &AppState,
    headers: &HeaderMap,
    query: &query::ReadQuery,
) -> Result<Page, ApiError> {
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    range::plan_page(range_header, query.limit, query.offset, state.max_rows).map_err(|err| {
        ApiError::pgrst(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "PGRST103",
            "Requested range not satisfiable",
        )
        .with_details(err.details())
    })
}

fn inject_fault(state: &AppState) -> Result<(), ApiError> {
    let mut fault = state
        .shared
        .fault
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(plan) = fault.plan else {
        return Ok(());
    };
    fault.reads_seen += 1;
    if plan.covers(fault.reads_seen) {
        return Err(ApiError::pgrst(
            StatusCode::SERVICE_UNAVAILABLE,
            "PGRST000",
            "Database connection error. Retrying the connection.",
        )
        .with_details(format!(
            "rep-sandbox fault injection: request {} of requests {}..={}",
            fault.reads_seen, plan.first, plan.last
        )));
    }
    Ok(())
}

/// JSON unless the client asks for CSV; anything else is PGRST107 (406).
fn negotiate(headers: &HeaderMap) -> Result<BodyFormat, ApiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(BodyFormat::Json);
    };
    for part in accept.split(',') {
        let media = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "" | "*/*" | "application/*" | "application/json" => return Ok(BodyFormat::Json),
            "text/csv" => return Ok(BodyFormat::Csv),
            _ => {}
        }
    }
    Err(ApiError::pgrst(
        StatusCode::NOT_ACCEPTABLE,
        "PGRST107",
        format!("None of these media types are available: {accept}"),
    ))
}

struct ReadOutcome {
    total: Option<i64>,
    page_total: i64,
    body: String,
}

/// The time zone a session opened without a `TimeZone` startup parameter (libpq, hence
/// PostgREST) starts in: role-in-database, role, then database settings, then
/// `postgresql.conf`. sqlx always sends `TimeZone=UTC`, which outranks all of them, so the
/// server re-applies this zone to every request that has no `Prefer: timezone`. Reading
/// `pg_file_settings` needs the superuser the sandbox connects as.
const SERVER_TIMEZONE_SQL: &str = "SELECT coalesce(        (SELECT substr(c, length('timezone=') + 1)           FROM pg_catalog.pg_db_role_setting s CROSS JOIN LATERAL unnest(s.setconfig) AS c          WHERE s.setrole IN (0, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user))            AND s.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))            AND lower(c) LIKE 'timezone=%'          ORDER BY (s.setrole <> 0 AND s.setdatabase <> 0) DESC, (s.setrole <> 0) DESC          LIMIT 1),        (SELECT setting FROM pg_catalog.pg_file_settings          WHERE lower(name) = 'timezone' AND error IS NULL ORDER BY seqno DESC LIMIT 1),        (SELECT boot_val FROM pg_catalog.pg_settings WHERE name = 'TimeZone'))";

/// The table's columns, or nothing when the table does not exist. Looked up per request
/// rather than cached like PostgREST's schema cache, so tests may create tables at any time.
const COLUMNS_SQL: &str = "SELECT a.attname::text, pg_catalog.format_type(a.atttypid, NULL) \
     FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'v', 'm', 'f', 'p')";

async fn read(
    state: &AppState,
    auth: &gateway::Authenticated,
    table: &str,
    query: &query::ReadQuery,
    page: Page,
    prefs: &Preferences,
    format: BodyFormat,
) -> Result<ReadOutcome, ApiError> {
    let db_err = |e: sqlx::Error| ApiError::from_sqlx(&e);
    let mut tx = state.pool.begin().await.map_err(db_err)?;
    // PostgREST runs GET requests in read-only transactions.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;

    let rows: Vec<(Option<String>, Option<String>)> = sqlx::query_as(COLUMNS_SQL)
        .bind(&state.schema)
        .bind(table)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
    if rows.is_empty() {
        return Err(ApiError::pgrst(
            StatusCode::NOT_FOUND,
            "PGRST205",
            format!(
                "Could not find the table '{}.{table}' in the schema cache",
                state.schema
            ),
        ));
    }
    let columns: ColumnTypes = rows
        .into_iter()
        .filter_map(|(name, ty)| Some((name?, ty?)))
        .collect();

    set_request_context(&mut tx, state, auth, prefs).await?;

    let plan = ReadPlan {
        schema: &state.schema,
        table,
        columns: &columns,
        query,
        page,
    };
    let count_mode = match prefs.count {
        Some(CountPreference::Exact) => CountMode::Exact,
        Some(CountPreference::Estimated) if state.max_rows > 0 => {
            CountMode::AtMost(state.max_rows + 1)
        }
        Some(CountPreference::Estimated) => CountMode::Exact,
        Some(CountPreference::Planned) | None => CountMode::None,
    };
    let statement = plan.read_statement(count_mode, format);
    let (total, page_total, body): (Option<i64>, i64, String) =
        bind_all(sqlx::query_as(&statement.sql), &statement)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;

    let total = match prefs.count {
        Some(CountPreference::Planned) => Some(planned_rows(&mut tx, &plan).await?),
        Some(CountPreference::Estimated)
            if state.max_rows > 0 && total.unwrap_or(0) > state.max_rows as i64 =>
        {
            Some(total.unwrap_or(0).max(planned_rows(&mut tx, &plan).await?))
        }
        _ => total,
    };
    tx.commit().await.map_err(db_err)?;
    Ok(ReadOutcome {
        total,
        page_total,
        body,
    })
}

/// What PostgREST sets before the query: search path, role, claims, and the request's
/// statement timeout and time zone, all transaction-local (`SET LOCAL`).
async fn set_request_context(
    tx: &mut Transaction<'_, Postgres>,
    state: &AppState,
    auth: &gateway::Authenticated,
    prefs: &Preferences,
) -> Result<(), ApiError> {
    let timezone = prefs.timezone.as_ref().unwrap_or(&state.server_timezone);
    sqlx::query(
        "SELECT set_config('search_path', $1, true), set_config('role', $2, true), \
         set_config('request.jwt.claims', $3, true), set_config('statement_timeout', $4, true), \
         set_config('timezone', $5, true)",
    )
    .bind(sql::quote_ident(&state.schema))
    .bind(&auth.role)
    .bind(&auth.claims)
    .bind(state.statement_timeout_ms.to_string())
    .bind(timezone)
    .execute(&mut **tx)
    .await
    .map(|_| ())
    .map_err(|e| ApiError::from_sqlx(&e))
}

/// `count=planned`: the planner's row estimate for the count query (`EXPLAIN (FORMAT JSON)`).
async fn planned_rows(
    tx: &mut Transaction<'_, Postgres>,
    plan: &ReadPlan<'_>,
) -> Result<i64, ApiError> {
    let count = plan.count_query();
    let explain = Statement {
        sql: format!("EXPLAIN (FORMAT JSON) {}", count.sql),
        binds: count.binds,
    };
    let plan_json: serde_json::Value = bind_all(sqlx::query_scalar(&explain.sql), &explain)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| ApiError::from_sqlx(&e))?;
    let rows = &plan_json[0]["Plan"]["Plan Rows"];
    Ok(rows
        .as_i64()
        .or_else(|| rows.as_f64().map(|f| f.round() as i64))
        .unwrap_or(0))
}

/// Binds the statement's text parameters in order.
fn bind_all<'q, Q: BindText<'q>>(query: Q, statement: &'q Statement) -> Q {
    statement
        .binds
        .iter()
        .fold(query.persistent(false), |q, value| q.bind_text(value))
}

/// The two sqlx query shapes used here, so binding is written once.
trait BindText<'q> {
    fn bind_text(self, value: &'q str) -> Self;
    fn persistent(self, value: bool) -> Self;
}

impl<'q, O> BindText<'q> for sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments> {
    fn bind_text(self, value: &'q str) -> Self {
        self.bind(value)
    }
    fn persistent(self, value: bool) -> Self {
        sqlx::query::QueryAs::persistent(self, value)
    }
}

impl<'q, O> BindText<'q>
    for sqlx::query::QueryScalar<'q, Postgres, O, sqlx::postgres::PgArguments>
{
    fn bind_text(self, value: &'q str) -> Self {
        self.bind(value)
    }
    fn persistent(self, value: bool) -> Self {
        sqlx::query::QueryScalar::persistent(self, value)
    }
}
