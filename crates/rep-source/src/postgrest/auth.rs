//! The headers every request carries, and which of them hold the key.

use rep_core::{ApiKey, KeyKind};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, USER_AGENT};

/// A fixed, non-browser `User-Agent`: Supabase refuses a secret key sent with a browser's.
pub(crate) const TOOL_USER_AGENT: &str = concat!("rep/", env!("CARGO_PKG_VERSION"));

/// Asks PostgREST to render `timestamptz` in UTC, so the watermarks read are comparable as
/// sent; the count preference is added to the first page only.
pub(crate) const PREFER_UTC: &str = "timezone=UTC";

/// The first page's preferences: the exact count of the window rides on the same request.
pub(crate) const PREFER_UTC_WITH_COUNT: &str = "count=exact, timezone=UTC";

/// A function call's preferences: the exact count of its rows, so that an answer cut by the
/// server's row cap is noticed rather than taken for the whole list.
pub(crate) const PREFER_COUNT: &str = "count=exact";

/// A header value could not be built (a key with characters HTTP forbids).
#[derive(Debug)]
pub(crate) struct HeaderProblem(pub(crate) String);

/// The default headers of every request.
///
/// `sb_secret_…`/`sb_publishable_…` keys go in `apikey` only: sent as a Bearer token they
/// reach PostgREST as a malformed JWT and are refused (`401 PGRST301`). A legacy JWT goes in
/// both `apikey` (for the gateway) and `Authorization` (for PostgREST's role switch).
/// Key headers are marked sensitive so that no `Debug` of a request shows them.
pub(crate) fn default_headers(key: &ApiKey, schema: &str) -> Result<HeaderMap, HeaderProblem> {
    let mut headers = HeaderMap::new();
    let sensitive = |value: String| {
        HeaderValue::from_str(&value)
            .map(|mut v| {
                v.set_sensitive(true);
                v
            })
            .map_err(|_| {
                HeaderProblem(format!(
                    "the {} contains characters that cannot travel in an HTTP header: copy it again from the Supabase dashboard",
                    key.label()
                ))
            })
    };
    headers.insert(
        HeaderName::from_static("apikey"),
        sensitive(key.secret().expose().to_string())?,
    );
    if matches!(key.kind(), KeyKind::LegacyJwt { .. }) {
        headers.insert(
            AUTHORIZATION,
            sensitive(format!("Bearer {}", key.secret().expose()))?,
        );
    }
    headers.insert(USER_AGENT, HeaderValue::from_static(TOOL_USER_AGENT));
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    if schema != "public" {
        let value = HeaderValue::from_str(schema).map_err(|_| {
            HeaderProblem(format!("schema {schema:?} cannot travel in an HTTP header"))
        })?;
        headers.insert(HeaderName::from_static("accept-profile"), value);
    }
    Ok(headers)
}

/// `Content-Profile` for a request with a body: PostgREST picks the schema of a POST from it,
/// not from the `Accept-Profile` of [`default_headers`]. `None` for `public`, its default.
pub(crate) fn content_profile(schema: &str) -> Result<Option<HeaderValue>, HeaderProblem> {
    if schema == "public" {
        return Ok(None);
    }
    HeaderValue::from_str(schema)
        .map(Some)
        .map_err(|_| HeaderProblem(format!("schema {schema:?} cannot travel in an HTTP header")))
}

#[cfg(test)]
mod tests {
    use super::*;

    // A syntactically valid legacy JWT (header.payload.signature) with role service_role.
    const LEGACY: &str =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl";

    #[test]
    fn new_keys_go_in_apikey_only() {
        for raw in ["sb_secret_0123456789abcdef", "sb_publishable_0123456789"] {
            let key = ApiKey::parse(raw).unwrap();
            let h = default_headers(&key, "public").unwrap();
            assert_eq!(h["apikey"], raw);
            assert!(h.get(AUTHORIZATION).is_none());
            assert!(h.get("accept-profile").is_none());
            assert!(h["apikey"].is_sensitive());
        }
    }

    #[test]
    fn legacy_jwt_goes_in_apikey_and_bearer() {
        let key = ApiKey::parse(LEGACY).unwrap();
        assert!(key.is_server_key());
        let h = default_headers(&key, "api").unwrap();
        assert_eq!(h["apikey"], LEGACY);
        assert_eq!(h[AUTHORIZATION], format!("Bearer {LEGACY}").as_str());
        assert!(h[AUTHORIZATION].is_sensitive());
        assert_eq!(h["accept-profile"], "api");
        assert_eq!(h[ACCEPT], "application/json");
        let ua = h[USER_AGENT].to_str().unwrap();
        assert!(ua.starts_with("rep/") && !ua.contains("Mozilla"), "{ua}");
        assert!(!format!("{h:?}").contains("c2lnbmF0dXJl"));
    }

    #[test]
    fn a_post_names_its_schema_unless_public() {
        assert_eq!(content_profile("public").unwrap(), None);
        assert_eq!(content_profile("api").unwrap().unwrap(), "api");
    }
}
