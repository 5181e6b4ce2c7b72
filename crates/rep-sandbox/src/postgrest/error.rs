//! Error responses, shaped and statused like PostgREST's (and the Supabase gateway's).

use axum::body::Body;
use axum::http::{header, HeaderName, HeaderValue, Response, StatusCode};
use sqlx::postgres::PgDatabaseError;

pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// An HTTP error with its JSON body (boxed: it travels in `Result`s on every path).
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    detail: Box<ErrorDetail>,
}

#[derive(Debug, Clone)]
struct ErrorDetail {
    body: ErrorBody,
    headers: Vec<(HeaderName, String)>,
}

#[derive(Debug, Clone)]
enum ErrorBody {
    /// PostgREST: `{"code","details","hint","message"}`.
    Pgrst {
        code: String,
        message: String,
        details: Option<String>,
        hint: Option<String>,
    },
    /// The API gateway in front of PostgREST: `{"message","hint"}` (hint optional).
    Gateway {
        message: String,
        hint: Option<String>,
    },
}

impl ApiError {
    fn new(status: StatusCode, body: ErrorBody) -> Self {
        Self {
            status,
            detail: Box::new(ErrorDetail {
                body,
                headers: Vec::new(),
            }),
        }
    }

    pub(crate) fn pgrst(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self::new(
            status,
            ErrorBody::Pgrst {
                code: code.to_string(),
                message: message.into(),
                details: None,
                hint: None,
            },
        )
    }

    pub(crate) fn gateway(status: StatusCode, message: &str, hint: &str) -> Self {
        Self::new(
            status,
            ErrorBody::Gateway {
                message: message.to_string(),
                hint: Some(hint.to_string()),
            },
        )
    }

    /// PGRST127 for what PostgREST supports and the sandbox does not: a test hitting it
    /// learns the stand-in's limit rather than meeting a made-up error.
    pub(crate) fn not_implemented(details: impl std::fmt::Display) -> Self {
        Self::pgrst(
            StatusCode::BAD_REQUEST,
            "PGRST127",
            "Feature not implemented",
        )
        .with_details(format!("rep-sandbox: {details}"))
    }

    /// The gateway's answer for a path outside the routes it proxies.
    pub(crate) fn route_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorBody::Gateway {
                message: "no Route matched with those values".to_string(),
                hint: None,
            },
        )
    }

    pub(crate) fn with_details(mut self, value: impl Into<String>) -> Self {
        if let ErrorBody::Pgrst { details, .. } = &mut self.detail.body {
            *details = Some(value.into());
        }
        self
    }

    pub(crate) fn with_hint(mut self, value: impl Into<String>) -> Self {
        if let ErrorBody::Pgrst { hint, .. } = &mut self.detail.body {
            *hint = Some(value.into());
        }
        self
    }

    pub(crate) fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.detail.headers.push((name, value.into()));
        self
    }

    /// PostgREST's JWT decode errors (PGRST301) also carry `WWW-Authenticate`.
    pub(crate) fn invalid_jwt(message: &str) -> Self {
        Self::pgrst(StatusCode::UNAUTHORIZED, "PGRST301", message).with_header(
            header::WWW_AUTHENTICATE,
            format!(
                "Bearer error=\"invalid_token\", error_description={}",
                json_string(message)
            ),
        )
    }

    /// The JSON body. Keys are written in the order aeson emits them (sorted), independent of
    /// how `serde_json` is configured elsewhere in the workspace.
    pub(crate) fn body_json(&self) -> String {
        match &self.detail.body {
            ErrorBody::Pgrst {
                code,
                message,
                details,
                hint,
            } => format!(
                "{{\"code\":{},\"details\":{},\"hint\":{},\"message\":{}}}",
                json_string(code),
                json_opt(details.as_deref()),
                json_opt(hint.as_deref()),
                json_string(message)
            ),
            ErrorBody::Gateway {
                message,
                hint: Some(hint),
            } => format!(
                "{{\"message\":{},\"hint\":{}}}",
                json_string(message),
                json_string(hint)
            ),
            ErrorBody::Gateway {
                message,
                hint: None,
            } => format!("{{\"message\":{}}}", json_string(message)),
        }
    }

    pub(crate) fn code(&self) -> Option<&str> {
        match &self.detail.body {
            ErrorBody::Pgrst { code, .. } => Some(code),
            ErrorBody::Gateway { .. } => None,
        }
    }

    /// The response; HEAD responses keep the headers and drop the body.
    pub(crate) fn into_response(
        self,
        extra: Vec<(HeaderName, String)>,
        head_only: bool,
    ) -> Response<Body> {
        let body = self.body_json();
        let mut builder = Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, JSON_CONTENT_TYPE);
        if let Some(code) = self.code() {
            builder = builder.header("proxy-status", format!("PostgREST; error={code}"));
        }
        for (name, value) in self.detail.headers.into_iter().chain(extra) {
            if let Ok(value) = HeaderValue::from_str(&value) {
                builder = builder.header(name, value);
            }
        }
        builder
            .body(if head_only {
                Body::empty()
            } else {
                Body::from(body)
            })
            .expect("static header names and checked values always build a response")
    }

    /// Maps a database error to PostgREST's response (`PostgREST.Error.mapSQLtoHTTP`).
    pub(crate) fn from_sqlx(err: &sqlx::Error) -> Self {
        if let Some(db) = err
            .as_database_error()
            .and_then(|e| e.try_downcast_ref::<PgDatabaseError>())
        {
            let mut error = Self::pgrst(
                status_for_sqlstate(db.code(), db.message()),
                db.code(),
                db.message(),
            );
            if let Some(details) = db.detail() {
                error = error.with_details(details);
            }
            if let Some(hint) = db.hint() {
                error = error.with_hint(hint);
            }
            return error;
        }
        match err {
            sqlx::Error::PoolTimedOut => Self::pgrst(
                StatusCode::GATEWAY_TIMEOUT,
                "PGRST003",
                "Timed out acquiring connection from connection pool.",
            ),
            other => Self::pgrst(
                StatusCode::SERVICE_UNAVAILABLE,
                "PGRST000",
                "Database connection error. Retrying the connection.",
            )
            .with_details(other.to_string()),
        }
    }
}

/// `mapSQLtoHTTP` for a request that carries a JWT with a role claim, which through the
/// Supabase gateway is every request (the gateway mints one for the new API keys).
pub(crate) fn status_for_sqlstate(code: &str, message: &str) -> StatusCode {
    let prefix = code.get(..2).unwrap_or(code);
    match code {
        "23503" | "23505" => return StatusCode::CONFLICT,
        "25006" => return StatusCode::METHOD_NOT_ALLOWED,
        "21000" if message.ends_with("requires a WHERE clause") => return StatusCode::BAD_REQUEST,
        "21000" => return StatusCode::INTERNAL_SERVER_ERROR,
        "22023" if message.starts_with("role") && message.ends_with("does not exist") => {
            return StatusCode::UNAUTHORIZED
        }
        "22023" => return StatusCode::BAD_REQUEST,
        "53400" => return StatusCode::INTERNAL_SERVER_ERROR,
        "57P01" => return StatusCode::SERVICE_UNAVAILABLE,
        "P0001" => return StatusCode::BAD_REQUEST,
        "42883" if message.starts_with("function xmlagg(") => return StatusCode::NOT_ACCEPTABLE,
        "42883" | "42P01" => return StatusCode::NOT_FOUND,
        "42P17" => return StatusCode::INTERNAL_SERVER_ERROR,
        "42501" => return StatusCode::FORBIDDEN,
        _ => {}
    }
    match prefix {
        "08" | "53" => StatusCode::SERVICE_UNAVAILABLE,
        "0L" | "0P" | "28" => StatusCode::FORBIDDEN,
        "09" | "25" | "2D" | "38" | "39" | "3B" | "40" | "54" | "55" | "57" | "58" | "F0"
        | "HV" | "P0" | "XX" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn json_string(value: &str) -> String {
    serde_json::to_string(value).expect("a str always serializes")
}

fn json_opt(value: Option<&str>) -> String {
    value.map_or_else(|| "null".to_string(), json_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_keys_are_sorted_like_postgrest() {
        let err = ApiError::invalid_jwt("Expected 3 parts in JWT; got 1");
        assert_eq!(
            err.body_json(),
            r#"{"code":"PGRST301","details":null,"hint":null,"message":"Expected 3 parts in JWT; got 1"}"#
        );
    }

    #[test]
    fn sqlstate_mapping() {
        assert_eq!(
            status_for_sqlstate("42703", "column t.x does not exist"),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status_for_sqlstate("42P01", "relation does not exist"),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status_for_sqlstate("57014", "canceling statement due to statement timeout"),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            status_for_sqlstate("42501", "permission denied for table t"),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status_for_sqlstate("22P02", "invalid input syntax"),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status_for_sqlstate("08006", "connection failure"),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
