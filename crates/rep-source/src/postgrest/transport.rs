//! One request against the REST API (a GET of a table, a POST calling a function), tried again
//! on transient failure.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::Retryable;
use rep_core::{now_utc, EnvSettings, SourceSettings};
use reqwest::header::{HeaderName, HeaderValue, CONTENT_RANGE, CONTENT_TYPE, RETRY_AFTER};
use reqwest::redirect::Policy;
use reqwest::Method;
use url::Url;

use super::auth::{content_profile, default_headers, HeaderProblem};
use super::retry;
use crate::error::PostgrestError;

/// A 2xx answer, body read in full.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_range: Option<String>,
    pub(crate) body: Vec<u8>,
}

/// Why the last try failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No HTTP answer (connect, TLS, timeout, body cut short).
    Transport { cause: String },
    /// An answer with a status other than 2xx.
    Status {
        status: u16,
        retry_after: Option<Duration>,
        postgrest: Option<Box<PostgrestError>>,
    },
}

impl Failure {
    fn is_retryable(&self) -> bool {
        match self {
            Failure::Transport { .. } => true,
            Failure::Status { status, .. } => retry::is_retryable_status(*status),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::Status { retry_after, .. } => *retry_after,
            Failure::Transport { .. } => None,
        }
    }
}

/// A request that failed for good.
#[derive(Debug)]
pub(crate) struct Failed {
    /// `GET` or `POST`.
    pub(crate) method: &'static str,
    /// URL path (no query) of the request.
    pub(crate) path: String,
    /// Tries made.
    pub(crate) attempts: u32,
    /// The last failure.
    pub(crate) failure: Failure,
}

/// The HTTP client bound to one project's REST root.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    http: reqwest::Client,
    base: Url,
    max_retries: u32,
    /// Sent with every POST; see [`content_profile`].
    content_profile: Option<HeaderValue>,
}

/// What one request sends on top of the default headers.
#[derive(Debug, Clone, Copy)]
struct Outgoing<'a> {
    method: &'static str,
    url: &'a Url,
    prefer: &'static str,
    /// A JSON body (POST only).
    json: Option<&'a [u8]>,
}

impl Transport {
    pub(crate) fn new(env: &EnvSettings, settings: &SourceSettings) -> Result<Transport, String> {
        let headers = default_headers(&env.service_role_key, &settings.schema)
            .map_err(|HeaderProblem(m)| m)?;
        let timeout = Duration::from_secs(u64::from(settings.request_timeout_secs.max(1)));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A redirect would carry the `apikey` header to wherever it points (reqwest drops
            // only `Authorization` across hosts): a REST API has no business redirecting.
            .redirect(Policy::none())
            .build()
            .map_err(|e| format!("the HTTP client cannot start: {}", chain(&e)))?;
        let content_profile = content_profile(&settings.schema).map_err(|HeaderProblem(m)| m)?;
        Ok(Transport {
            http,
            base: rest_root(&env.project_url),
            max_retries: settings.max_retries,
            content_profile,
        })
    }

    /// `<project>/rest/v1/<table>`.
    pub(crate) fn table_url(&self, table: &str) -> Url {
        self.base
            .join(table)
            .expect("a plain identifier is a valid relative URL")
    }

    /// `<project>/rest/v1/rpc/<function>`.
    pub(crate) fn rpc_url(&self, function: &str) -> Url {
        self.base
            .join(&format!("rpc/{function}"))
            .expect("a plain identifier is a valid relative URL")
    }

    /// GETs `url` with `query` and the `Prefer` preferences, retrying transport errors, 5xx
    /// and 429 up to `max_retries` times with exponential backoff (or the server's
    /// `Retry-After` when it sends one).
    pub(crate) async fn get(
        &self,
        url: &Url,
        query: &str,
        prefer: &'static str,
    ) -> Result<Answer, Failed> {
        self.send("GET", url, query, prefer, None).await
    }

    /// POSTs the JSON `body` to `url` with `query` and the `Prefer` preferences, retried like
    /// [`Transport::get`]. Only for calls that change nothing (a function that reads): a POST
    /// whose answer was lost may have run, and runs again on the retry.
    pub(crate) async fn post_json(
        &self,
        url: &Url,
        query: &str,
        prefer: &'static str,
        body: &[u8],
    ) -> Result<Answer, Failed> {
        self.send("POST", url, query, prefer, Some(body)).await
    }

    async fn send(
        &self,
        method: &'static str,
        url: &Url,
        query: &str,
        prefer: &'static str,
        json: Option<&[u8]>,
    ) -> Result<Answer, Failed> {
        let mut url = url.clone();
        url.set_query((!query.is_empty()).then_some(query));
        let path = url.path().to_string();
        let outgoing = Outgoing {
            method,
            url: &url,
            prefer,
            json,
        };
        let attempts = AtomicU32::new(0);
        let result = (|| async {
            attempts.fetch_add(1, Ordering::Relaxed);
            self.once(outgoing).await
        })
        .retry(retry::backoff(self.max_retries))
        .when(Failure::is_retryable)
        .adjust(|failure, next| next.map(|wait| failure.retry_after().unwrap_or(wait)))
        .notify(|failure, wait| {
            tracing::warn!(method, path = %path, wait_ms = wait.as_millis() as u64, "source request failed ({}); retrying", describe(failure));
        })
        .await;
        result.map_err(|failure| Failed {
            method,
            path: path.clone(),
            attempts: attempts.load(Ordering::Relaxed),
            failure,
        })
    }

    async fn once(&self, outgoing: Outgoing<'_>) -> Result<Answer, Failure> {
        let method =
            Method::from_bytes(outgoing.method.as_bytes()).expect("GET and POST are methods");
        let mut request = self
            .http
            .request(method, outgoing.url.clone())
            .header("Prefer", HeaderValue::from_static(outgoing.prefer));
        if let Some(body) = outgoing.json {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.to_vec());
            if let Some(profile) = &self.content_profile {
                request = request.header(HeaderName::from_static("content-profile"), profile);
            }
        }
        let response = request
            .send()
            .await
            .map_err(|e| Failure::Transport { cause: chain(&e) })?;
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let content_range = header(CONTENT_RANGE);
        let retry_after = header(RETRY_AFTER).and_then(|v| retry::retry_after(&v, now_utc()));
        let body = response
            .bytes()
            .await
            .map_err(|e| Failure::Transport { cause: chain(&e) })?;
        if (200..300).contains(&status) {
            Ok(Answer {
                status,
                content_range,
                body: body.to_vec(),
            })
        } else {
            Err(Failure::Status {
                status,
                retry_after,
                postgrest: PostgrestError::parse(&body).map(Box::new),
            })
        }
    }
}

/// The REST root of a project URL, keeping any path prefix a proxy may put before it.
fn rest_root(project_url: &Url) -> Url {
    let mut base = project_url.clone();
    base.set_query(None);
    base.set_fragment(None);
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.join("rest/v1/")
        .expect("rest/v1/ is a valid relative URL")
}

/// A transport error and its causes on one line. reqwest's own message includes the URL;
/// dropping it keeps the query (and any future secret in it) out of logs and reports.
fn chain(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut current: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = current {
        let text = match e.downcast_ref::<reqwest::Error>() {
            Some(r) if r.url().is_some() => {
                let mut bare = String::new();
                if r.is_timeout() {
                    bare.push_str("timed out");
                } else if r.is_connect() {
                    bare.push_str("cannot connect");
                } else if r.is_body() || r.is_decode() {
                    bare.push_str("response body cut short");
                } else {
                    bare.push_str("request failed");
                }
                bare
            }
            _ => e.to_string(),
        };
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

fn describe(failure: &Failure) -> String {
    match failure {
        Failure::Transport { cause } => cause.clone(),
        Failure::Status {
            status, postgrest, ..
        } => match postgrest {
            Some(e) => format!("HTTP {status}: {e}"),
            None => format!("HTTP {status}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_root_keeps_any_prefix() {
        let root = |u: &str| rest_root(&Url::parse(u).unwrap()).to_string();
        assert_eq!(
            root("https://abcd.supabase.co"),
            "https://abcd.supabase.co/rest/v1/"
        );
        assert_eq!(
            root("http://127.0.0.1:5433/"),
            "http://127.0.0.1:5433/rest/v1/"
        );
        assert_eq!(
            root("https://proxy.example/sb"),
            "https://proxy.example/sb/rest/v1/"
        );
    }
}
