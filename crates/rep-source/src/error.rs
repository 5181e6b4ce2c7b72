//! The one error type of the crate, with the context an operator needs as data.

use std::fmt;

use rep_core::{ExitClass, SnapshotError};
use serde::Serialize;
use serde_json::Value;

use crate::postgrest::transport::{Failed, Failure};

/// A PostgREST error body, `{"code","details","hint","message"}`, as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PostgrestError {
    /// PostgREST (`PGRST…`) or PostgreSQL (`42703`) error code.
    pub code: Option<String>,
    /// Human-readable message.
    pub message: Option<String>,
    /// Details, when given.
    pub details: Option<String>,
    /// A hint, when given.
    pub hint: Option<String>,
}

impl PostgrestError {
    /// Reads an error body; `None` when it is not PostgREST's JSON (a gateway's HTML page).
    pub(crate) fn parse(body: &[u8]) -> Option<PostgrestError> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let object = value.as_object()?;
        // `details` is sometimes an object or array rather than a string: keep it as JSON text.
        let field = |name: &str| match object.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(one_line(s)),
            Some(other) => Some(one_line(&other.to_string())),
        };
        let error = PostgrestError {
            code: field("code"),
            message: field("message"),
            details: field("details"),
            hint: field("hint"),
        };
        (error.code.is_some() || error.message.is_some()).then_some(error)
    }

    fn code_is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

/// Error texts end up in one-line summaries; a multi-line server message would break them.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl fmt::Display for PostgrestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code.as_deref().unwrap_or("(no code)"))?;
        if let Some(m) = &self.message {
            write!(f, " {m}")?;
        }
        if let Some(d) = &self.details {
            write!(f, " (details: {d})")?;
        }
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// `: <code message…>` after a status, or nothing when the body was not PostgREST's.
fn said(postgrest: &Option<Box<PostgrestError>>) -> String {
    postgrest
        .as_ref()
        .map(|e| format!(": {e}"))
        .unwrap_or_default()
}

fn of_kind(entity_kind: &Option<String>) -> String {
    entity_kind
        .as_ref()
        .map(|k| format!(" (entity kind {k})"))
        .unwrap_or_default()
}

fn which_column(role: &str, column: &Option<String>) -> String {
    match column {
        Some(c) => format!("{role} {c:?}"),
        None => role.to_string(),
    }
}

/// Why reading the source failed.
///
/// Paths carry no query string; no variant ever holds a key (at most its
/// [`rep_core::ApiKey::label`]).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The client could not be built from the settings.
    #[error("cannot set up the Supabase client: {message}")]
    Setup {
        /// What is wrong and what to do.
        message: String,
    },

    /// No HTTP answer after every retry (connection refused, DNS, TLS, timeout).
    #[error("source unreachable: {method} {path}{} got no answer after {attempts} attempt(s): {cause}; check SUPABASE_PROJECT_URL and the network, then run the step again", of_kind(entity_kind))]
    Unreachable {
        /// The entity kind being read, when any.
        entity_kind: Option<String>,
        /// `GET` or `POST`.
        method: &'static str,
        /// URL path of the request.
        path: String,
        /// Tries made.
        attempts: u32,
        /// The last transport error.
        cause: String,
    },

    /// The server kept answering 5xx or 429 until the retries ran out.
    #[error("source failing: {method} {path}{} answered HTTP {status} after {attempts} attempt(s){}; the project is overloaded or down: run the step again later", of_kind(entity_kind), said(postgrest))]
    ServerFailure {
        /// The entity kind being read, when any.
        entity_kind: Option<String>,
        /// `GET` or `POST`.
        method: &'static str,
        /// URL path of the request.
        path: String,
        /// The last status.
        status: u16,
        /// Tries made.
        attempts: u32,
        /// The last PostgREST error body, when it was one.
        postgrest: Option<Box<PostgrestError>>,
    },

    /// The key was refused (`401`, or `403` from the gateway).
    #[error("the source refused the {key_label}: {method} {path} answered HTTP {status}{}; set SUPABASE_SERVICE_ROLE_KEY to this project's sb_secret_ key or service_role JWT", said(postgrest))]
    KeyRefused {
        /// `GET` or `POST`.
        method: &'static str,
        /// URL path of the request.
        path: String,
        /// The status (401 or 403).
        status: u16,
        /// Kind and first characters of the key sent.
        key_label: String,
        /// The PostgREST error body, when it was one.
        postgrest: Option<Box<PostgrestError>>,
    },

    /// The table is not exposed by the REST API (`404`, `PGRST205`/`42P01`).
    #[error("table {table:?} (entity kind {entity_kind}) is not exposed by the REST API in schema {schema:?}{}; check entities.{entity_kind}.table in the config and that the schema is exposed in the project's API settings", said(postgrest))]
    TableNotExposed {
        /// The entity kind.
        entity_kind: String,
        /// The configured table.
        table: String,
        /// The schema asked for.
        schema: String,
        /// The PostgREST error body, when it was one.
        postgrest: Option<Box<PostgrestError>>,
    },

    /// The schema is not exposed (`406`, `PGRST106`).
    #[error("schema {schema:?} is not exposed by the REST API{}; set source.schema in the config to an exposed schema or expose it in the project's API settings", said(postgrest))]
    SchemaNotExposed {
        /// The schema asked for.
        schema: String,
        /// The PostgREST error body, when it was one.
        postgrest: Option<Box<PostgrestError>>,
    },

    /// A configured column does not exist (`42703`).
    #[error("table {table:?} (entity kind {entity_kind}) has no {}{}; fix entities.{entity_kind} in the config", which_column(role, column), said(postgrest))]
    ColumnMissing {
        /// The entity kind.
        entity_kind: String,
        /// The configured table.
        table: String,
        /// The missing column, when the server's message names one of ours.
        column: Option<String>,
        /// What the column is to the config: `key column`, `watermark column`, or
        /// `key or watermark column` when the server did not say which.
        role: &'static str,
        /// The PostgREST error body.
        postgrest: Option<Box<PostgrestError>>,
    },

    /// Any other 4xx: the request is wrong for this source (a type mismatch, missing grants).
    #[error("the source refused GET {path}{} with HTTP {status}{}; check the configuration of this entity kind against the source table", of_kind(entity_kind), said(postgrest))]
    Rejected {
        /// The entity kind being read, when any.
        entity_kind: Option<String>,
        /// URL path of the request.
        path: String,
        /// The status.
        status: u16,
        /// The PostgREST error body, when it was one.
        postgrest: Option<Box<PostgrestError>>,
    },

    /// A 2xx answer that is not what PostgREST sends (no JSON array, no count).
    #[error(
        "unexpected answer to {method} {path}{}: {message}; is SUPABASE_PROJECT_URL a Supabase project?",
        of_kind(entity_kind)
    )]
    Protocol {
        /// The entity kind being read, when any.
        entity_kind: Option<String>,
        /// `GET` or `POST`.
        method: &'static str,
        /// URL path of the request.
        path: String,
        /// What was wrong.
        message: String,
    },

    /// The function that lists the applied migrations is not exposed (`404`, `PGRST202`).
    #[error("function {function} is not exposed by the REST API{}; create it in the source project with fixtures/source/migrations_rpc.sql (EXECUTE granted to service_role only), or set [migrations] rpc to the function that returns the applied versions", said(postgrest))]
    RpcNotFound {
        /// `<schema>.<function>`.
        function: String,
        /// The PostgREST error body, when it was one.
        postgrest: Option<Box<PostgrestError>>,
    },

    /// The key's role may not execute the function (`403`, `42501`).
    #[error("the {key_label} may not execute {function}{}; grant EXECUTE on it to service_role only, as fixtures/source/migrations_rpc.sql does, and set SUPABASE_SERVICE_ROLE_KEY to the server key", said(postgrest))]
    RpcDenied {
        /// `<schema>.<function>`.
        function: String,
        /// Kind and first characters of the key sent.
        key_label: String,
        /// The PostgREST error body.
        postgrest: Option<Box<PostgrestError>>,
    },

    /// Any other refusal of the call (ambiguous overloads, a failing function body).
    #[error("the source refused to run {function} with HTTP {status}{}; it must take no arguments and return the applied versions, as fixtures/source/migrations_rpc.sql defines it", said(postgrest))]
    RpcRejected {
        /// `<schema>.<function>`.
        function: String,
        /// The status.
        status: u16,
        /// The PostgREST error body, when it was one.
        postgrest: Option<Box<PostgrestError>>,
    },

    /// The function answered, but not with a list of versions, or the list changed while it
    /// was read page by page.
    #[error("unexpected answer from {function} (POST {path}): {message}")]
    RpcAnswer {
        /// `<schema>.<function>`.
        function: String,
        /// URL path of the request.
        path: String,
        /// What was wrong and what to do.
        message: String,
    },

    /// A row whose key or watermark cannot be used.
    #[error("integrity error: entity kind {entity_kind}, row {}: {message}", entity_id.as_deref().unwrap_or("(no key)"))]
    BadRow {
        /// The entity kind.
        entity_kind: String,
        /// The row's key, when it has a usable one.
        entity_id: Option<String>,
        /// What is wrong and what to do.
        message: String,
    },

    /// The server returned a row outside the window asked for.
    #[error("integrity error: entity kind {entity_kind}, row {entity_id}: watermark {watermark} lies outside the window [{window_start}, {window_end}); the source ignored the window filter")]
    OutsideWindow {
        /// The entity kind.
        entity_kind: String,
        /// The row's key.
        entity_id: String,
        /// The watermark as sent.
        watermark: String,
        /// Window start.
        window_start: String,
        /// Window end.
        window_end: String,
    },

    /// A key came back twice within one window: paging would repeat or never end.
    #[error("integrity error: entity kind {entity_kind}: key {entity_id} was returned twice while paging (page {page}); the key column must be unique: check entities.{entity_kind}.key")]
    DuplicateKey {
        /// The entity kind.
        entity_kind: String,
        /// The repeated key.
        entity_id: String,
        /// The page (1-based) where it came back.
        page: u32,
    },

    /// Rows did not come in ascending watermark order.
    #[error("integrity error: entity kind {entity_kind}: row {entity_id} has watermark {watermark}, before the previous row's {previous}; the source ignored the requested order")]
    OutOfOrder {
        /// The entity kind.
        entity_kind: String,
        /// The row's key.
        entity_id: String,
        /// Its watermark.
        watermark: String,
        /// The previous row's watermark.
        previous: String,
    },

    /// The rows read differ from the count the server reported for the window.
    #[error("integrity error: entity kind {entity_kind}: the source counted {server_count} rows in the window but {rows_read} were read; rows changed during the export or paging lost rows: run the export again")]
    CountMismatch {
        /// The entity kind.
        entity_kind: String,
        /// `Content-Range` total of the first page.
        server_count: u64,
        /// Rows delivered to the sink.
        rows_read: u64,
    },

    /// The sink (the snapshot writer) refused a row.
    #[error("entity kind {entity_kind}: {source}")]
    Sink {
        /// The entity kind.
        entity_kind: String,
        /// The writer's error.
        source: SnapshotError,
    },
}

impl SourceError {
    /// The exit class of SPEC.md this error maps to.
    pub fn exit_class(&self) -> ExitClass {
        match self {
            SourceError::Unreachable { .. }
            | SourceError::ServerFailure { .. }
            | SourceError::Protocol { .. }
            | SourceError::RpcAnswer { .. } => ExitClass::Runtime,
            SourceError::Setup { .. }
            | SourceError::KeyRefused { .. }
            | SourceError::TableNotExposed { .. }
            | SourceError::SchemaNotExposed { .. }
            | SourceError::ColumnMissing { .. }
            | SourceError::Rejected { .. }
            | SourceError::RpcNotFound { .. }
            | SourceError::RpcDenied { .. }
            | SourceError::RpcRejected { .. } => ExitClass::Usage,
            SourceError::BadRow { .. }
            | SourceError::OutsideWindow { .. }
            | SourceError::DuplicateKey { .. }
            | SourceError::OutOfOrder { .. }
            | SourceError::CountMismatch { .. } => ExitClass::Integrity,
            SourceError::Sink { source, .. } => snapshot_exit_class(source),
        }
    }
}

/// The exit class of a snapshot writer's error: failing on the disk is a runtime problem;
/// refusing a row means the rows broke a rule of the snapshot format (order, a repeated id,
/// a secret in a payload).
pub(crate) fn snapshot_exit_class(error: &SnapshotError) -> ExitClass {
    match error {
        SnapshotError::Artefact(rep_core::ArtefactError::Io { .. })
        | SnapshotError::Write { .. } => ExitClass::Runtime,
        _ => ExitClass::Integrity,
    }
}

/// What a request was for, so that a refusal can be explained in the operator's terms.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext<'a> {
    pub(crate) entity_kind: Option<&'a str>,
    pub(crate) table: &'a str,
    pub(crate) key_column: &'a str,
    pub(crate) watermark_column: &'a str,
    pub(crate) schema: &'a str,
    pub(crate) key_label: &'a str,
}

impl RequestContext<'_> {
    /// Explains a request that failed for good.
    pub(crate) fn explain(&self, failed: Failed) -> SourceError {
        match failed.failure {
            Failure::Transport { cause } => SourceError::Unreachable {
                entity_kind: self.entity_kind.map(str::to_string),
                method: failed.method,
                path: failed.path,
                attempts: failed.attempts,
                cause,
            },
            Failure::Status {
                status, postgrest, ..
            } => self.refusal(&failed.path, status, failed.attempts, postgrest),
        }
    }

    /// Explains a final HTTP status that is not success (retries already spent) of a table
    /// read, which is always a GET.
    pub(crate) fn refusal(
        &self,
        path: &str,
        status: u16,
        attempts: u32,
        postgrest: Option<Box<PostgrestError>>,
    ) -> SourceError {
        let kind = self.entity_kind.map(str::to_string);
        let refused = Refused {
            method: "GET",
            path,
            status,
            attempts,
            key_label: self.key_label,
            entity_kind: kind.clone(),
        };
        let postgrest = match refused.server_or_key(postgrest) {
            Ok(error) => return error,
            Err(postgrest) => postgrest,
        };
        let code = |c: &str| postgrest.as_ref().is_some_and(|e| e.code_is(c));
        if code("42703") {
            let column = postgrest
                .as_ref()
                .and_then(|e| e.message.as_deref())
                .and_then(|m| named_column(m, &[self.key_column, self.watermark_column]));
            let role = match column.as_deref() {
                Some(c) if c == self.key_column => "key column",
                Some(_) => "watermark column",
                None => "key or watermark column",
            };
            return SourceError::ColumnMissing {
                entity_kind: self.entity_kind.unwrap_or("-").to_string(),
                table: self.table.to_string(),
                column,
                role,
                postgrest,
            };
        }
        if code("PGRST106") {
            return SourceError::SchemaNotExposed {
                schema: self.schema.to_string(),
                postgrest,
            };
        }
        if status == 404 || code("PGRST205") || code("42P01") {
            return SourceError::TableNotExposed {
                entity_kind: self.entity_kind.unwrap_or("-").to_string(),
                table: self.table.to_string(),
                schema: self.schema.to_string(),
                postgrest,
            };
        }
        SourceError::Rejected {
            entity_kind: kind,
            path: path.to_string(),
            status,
            postgrest,
        }
    }
}

/// What a function call was for, so that a refusal names the function and what to do.
#[derive(Debug, Clone)]
pub(crate) struct RpcContext<'a> {
    /// `<schema>.<function>`.
    pub(crate) function: String,
    pub(crate) key_label: &'a str,
}

impl RpcContext<'_> {
    /// Explains a call that failed for good.
    pub(crate) fn explain(&self, failed: Failed) -> SourceError {
        let (status, postgrest) = match failed.failure {
            Failure::Transport { cause } => {
                return SourceError::Unreachable {
                    entity_kind: None,
                    method: failed.method,
                    path: failed.path,
                    attempts: failed.attempts,
                    cause,
                }
            }
            Failure::Status {
                status, postgrest, ..
            } => (status, postgrest),
        };
        let refused = Refused {
            method: failed.method,
            path: &failed.path,
            status,
            attempts: failed.attempts,
            key_label: self.key_label,
            entity_kind: None,
        };
        let postgrest = match refused.server_or_key(postgrest) {
            Ok(error) => return error,
            Err(postgrest) => postgrest,
        };
        let code = |c: &str| postgrest.as_ref().is_some_and(|e| e.code_is(c));
        let function = self.function.clone();
        if status == 403 || code("42501") {
            SourceError::RpcDenied {
                function,
                key_label: self.key_label.to_string(),
                postgrest,
            }
        } else if code("PGRST202") || (status == 404 && postgrest.is_some()) {
            SourceError::RpcNotFound {
                function,
                postgrest,
            }
        } else {
            SourceError::RpcRejected {
                function,
                status,
                postgrest,
            }
        }
    }

    /// A 2xx answer that is not a list of versions.
    pub(crate) fn answer(&self, path: &str, message: String) -> SourceError {
        SourceError::RpcAnswer {
            function: self.function.clone(),
            path: path.to_string(),
            message,
        }
    }
}

/// A final non-success status, before it is explained in the terms of what was asked.
struct Refused<'a> {
    method: &'static str,
    path: &'a str,
    status: u16,
    attempts: u32,
    key_label: &'a str,
    entity_kind: Option<String>,
}

impl Refused<'_> {
    /// The refusals every request shares: the server failing (5xx, 429) and the key refused
    /// (401, or a 403 that is not PostgREST's, which is the gateway's). Anything else is the
    /// caller's to explain: the body is handed back.
    fn server_or_key(
        self,
        postgrest: Option<Box<PostgrestError>>,
    ) -> Result<SourceError, Option<Box<PostgrestError>>> {
        if self.status == 429 || self.status >= 500 {
            return Ok(SourceError::ServerFailure {
                entity_kind: self.entity_kind,
                method: self.method,
                path: self.path.to_string(),
                status: self.status,
                attempts: self.attempts,
                postgrest,
            });
        }
        if self.status == 401 || (self.status == 403 && postgrest.is_none()) {
            return Ok(SourceError::KeyRefused {
                method: self.method,
                path: self.path.to_string(),
                status: self.status,
                key_label: self.key_label.to_string(),
                postgrest,
            });
        }
        Err(postgrest)
    }
}

/// Which of `columns` PostgreSQL's "column t.x does not exist" message names.
///
/// The name is matched as a whole identifier, so `id` is not found inside `updated_id`.
fn named_column(message: &str, columns: &[&str]) -> Option<String> {
    let words: Vec<&str> = message
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let found: Vec<&&str> = columns.iter().filter(|c| words.contains(c)).collect();
    match found.as_slice() {
        [one] => Some(one.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RequestContext<'static> {
        RequestContext {
            entity_kind: Some("order"),
            table: "orders",
            key_column: "order_code",
            watermark_column: "updated_at",
            schema: "public",
            key_label: "secret key sb_sec…",
        }
    }

    fn body(code: &str, message: &str) -> Option<Box<PostgrestError>> {
        PostgrestError::parse(
            format!(r#"{{"code":"{code}","details":null,"hint":null,"message":"{message}"}}"#)
                .as_bytes(),
        )
        .map(Box::new)
    }

    #[test]
    fn parses_postgrest_bodies_only() {
        let e = PostgrestError::parse(
            br#"{"code":"PGRST301","details":{"a":1},"hint":null,"message":"Expected 3 parts\nin JWT; got 1"}"#,
        )
        .unwrap();
        assert_eq!(e.code.as_deref(), Some("PGRST301"));
        assert_eq!(e.message.as_deref(), Some("Expected 3 parts in JWT; got 1"));
        assert_eq!(e.details.as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(e.hint, None);
        assert!(PostgrestError::parse(b"<html>Bad gateway</html>").is_none());
        assert!(PostgrestError::parse(b"[]").is_none());
    }

    #[test]
    fn names_the_missing_column() {
        let err = ctx().refusal(
            "/rest/v1/orders",
            400,
            1,
            body("42703", "column orders.updated_at does not exist"),
        );
        assert!(
            matches!(&err, SourceError::ColumnMissing { column: Some(c), .. } if c == "updated_at")
        );
        assert_eq!(err.exit_class(), ExitClass::Usage);
        let text = err.to_string();
        assert!(text.contains("watermark column \"updated_at\""), "{text}");
        assert!(text.contains("entities.order"), "{text}");

        assert_eq!(
            named_column("column t.updated_id does not exist", &["id", "updated_at"]),
            None
        );
    }

    #[test]
    fn classifies_refusals() {
        let c = ctx();
        let e = c.refusal(
            "/rest/v1/orders",
            401,
            1,
            body("PGRST301", "Expected 3 parts in JWT; got 1"),
        );
        assert!(matches!(e, SourceError::KeyRefused { status: 401, .. }));
        assert!(e.to_string().contains("SUPABASE_SERVICE_ROLE_KEY"), "{e}");
        let e = c.refusal(
            "/rest/v1/nope",
            404,
            1,
            body("PGRST205", "Could not find the table"),
        );
        assert!(matches!(e, SourceError::TableNotExposed { .. }));
        assert_eq!(e.exit_class(), ExitClass::Usage);
        let e = c.refusal("/rest/v1/orders", 503, 5, None);
        assert!(matches!(e, SourceError::ServerFailure { attempts: 5, .. }));
        assert_eq!(e.exit_class(), ExitClass::Runtime);
        let e = c.refusal("/rest/v1/orders", 406, 1, body("PGRST106", "schema"));
        assert!(matches!(e, SourceError::SchemaNotExposed { .. }));
        let e = c.refusal("/rest/v1/orders", 400, 1, body("22007", "invalid input"));
        assert!(matches!(e, SourceError::Rejected { status: 400, .. }));
    }

    #[test]
    fn count_mismatch_is_an_integrity_error() {
        let e = SourceError::CountMismatch {
            entity_kind: "order".into(),
            server_count: 2500,
            rows_read: 2499,
        };
        assert_eq!(e.exit_class(), ExitClass::Integrity);
        assert!(e.to_string().contains("2500") && e.to_string().contains("2499"));
    }
}
