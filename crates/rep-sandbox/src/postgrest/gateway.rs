//! The Supabase API gateway's key rules, and the JWT check PostgREST does behind it.
//!
//! Rules (Supabase "API keys" guide and PostgREST's JWT errors):
//! - the `apikey` header is required and must be one of the project's four keys;
//! - `sb_secret_…` and the legacy `service_role` JWT map to the role `service_role`,
//!   `sb_publishable_…` and the legacy `anon` JWT to `anon`;
//! - a secret key is refused from a browser (a `User-Agent` containing `Mozilla`);
//! - an `Authorization: Bearer` token reaches PostgREST, which requires a 3-part HS256 JWT
//!   signed with the project's secret; its `role` claim then decides the role. A new-style
//!   key sent as Bearer therefore fails with PGRST301 "Expected 3 parts in JWT; got 1".

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::hmac;

use super::error::ApiError;
use crate::secret;

/// The four API keys of a sandbox project, plus the secret the legacy JWTs are signed with.
///
/// `Debug` shows only key prefixes: keys must never reach logs or artefacts.
#[derive(Clone)]
pub struct SandboxKeys {
    /// New-style server key, `sb_secret_<random>`; maps to `service_role`.
    pub secret: String,
    /// New-style public key, `sb_publishable_<random>`; maps to `anon`.
    pub publishable: String,
    /// Legacy `service_role` JWT (HS256).
    pub service_role_jwt: String,
    /// Legacy `anon` JWT (HS256).
    pub anon_jwt: String,
    jwt_secret: Vec<u8>,
}

impl std::fmt::Debug for SandboxKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |k: &str| format!("{}…", k.chars().take(6).collect::<String>());
        f.debug_struct("SandboxKeys")
            .field("secret", &redacted(&self.secret))
            .field("publishable", &redacted(&self.publishable))
            .field("service_role_jwt", &redacted(&self.service_role_jwt))
            .field("anon_jwt", &redacted(&self.anon_jwt))
            .finish_non_exhaustive()
    }
}

impl SandboxKeys {
    /// Generates a fresh, random set of keys.
    pub fn generate() -> Self {
        let jwt_secret = secret::random_bytes::<32>().to_vec();
        let key = hmac::Key::new(hmac::HMAC_SHA256, &jwt_secret);
        Self {
            secret: format!("sb_secret_{}", secret::url_safe_token::<24>()),
            publishable: format!("sb_publishable_{}", secret::url_safe_token::<24>()),
            service_role_jwt: legacy_jwt(&key, "service_role"),
            anon_jwt: legacy_jwt(&key, "anon"),
            jwt_secret,
        }
    }

    fn verify_key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, &self.jwt_secret)
    }
}

/// Shaped like a Supabase legacy key: `{"iss":"supabase","ref":…,"role":…,"iat":…,"exp":…}`.
fn legacy_jwt(key: &hmac::Key, role: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let issued_at = 1_767_225_600u64; // 2026-01-01T00:00:00Z
    let expires = 2_082_758_400u64; // 2036-01-01T00:00:00Z
    let payload = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"iss":"supabase","ref":"sandbox","role":"{role}","iat":{issued_at},"exp":{expires}}}"#
    ));
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(hmac::sign(key, signing_input.as_bytes()).as_ref());
    format!("{signing_input}.{signature}")
}

/// The PostgreSQL role a request runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authenticated {
    pub(crate) role: String,
    /// The JWT claims PostgREST would expose as `request.jwt.claims`.
    pub(crate) claims: String,
}

/// Applies the gateway's and PostgREST's rules to a request's headers.
pub(crate) fn authenticate(
    headers: &HeaderMap,
    keys: &SandboxKeys,
) -> Result<Authenticated, ApiError> {
    let apikey = headers
        .get("apikey")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::gateway(
                StatusCode::UNAUTHORIZED,
                "No API key found in request",
                "No `apikey` request header or url param was found.",
            )
        })?;

    let key_role = if apikey == keys.secret {
        let from_browser = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ua| ua.contains("Mozilla"));
        if from_browser {
            return Err(ApiError::gateway(
                StatusCode::UNAUTHORIZED,
                "Forbidden use of secret API key in browser",
                "Secret API keys can only be used in a protected environment and should never be used in a browser.",
            ));
        }
        "service_role"
    } else if apikey == keys.service_role_jwt {
        "service_role"
    } else if apikey == keys.publishable || apikey == keys.anon_jwt {
        "anon"
    } else {
        return Err(ApiError::gateway(
            StatusCode::UNAUTHORIZED,
            "Invalid API key",
            "Double check your Supabase `anon` or `service_role` API key.",
        ));
    };

    match bearer_token(headers) {
        None => Ok(Authenticated {
            role: key_role.to_string(),
            claims: format!(r#"{{"role":"{key_role}"}}"#),
        }),
        Some(token) => verify_jwt(token, keys),
    }
}

/// The token of an `Authorization: Bearer …` header; other schemes are not PostgREST's.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn verify_jwt(token: &str, keys: &SandboxKeys) -> Result<Authenticated, ApiError> {
    if token.is_empty() {
        return Err(ApiError::invalid_jwt(
            "Empty JWT is sent in Authorization header",
        ));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts[..] else {
        return Err(ApiError::invalid_jwt(&format!(
            "Expected 3 parts in JWT; got {}",
            parts.len()
        )));
    };
    let decode_json = |b64: &str| {
        URL_SAFE_NO_PAD
            .decode(b64)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
    };
    let header =
        decode_json(header_b64).ok_or_else(|| ApiError::invalid_jwt("JWT couldn't be decoded"))?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(ApiError::invalid_jwt(
            "Wrong or unsupported encoding algorithm",
        ));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| ApiError::invalid_jwt("JWT cryptographic operation failed"))?;
    let signing_input = format!("{header_b64}.{payload_b64}");
    hmac::verify(&keys.verify_key(), signing_input.as_bytes(), &signature)
        .map_err(|_| ApiError::invalid_jwt("JWT cryptographic operation failed"))?;

    let claims = decode_json(payload_b64).ok_or_else(|| claims_error("Parsing claims failed"))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if let Some(exp) = claims.get("exp") {
        let exp = exp
            .as_u64()
            .ok_or_else(|| claims_error("The JWT 'exp' claim must be a number"))?;
        if exp <= now {
            return Err(claims_error("JWT expired"));
        }
    }
    let role = claims
        .get("role")
        .and_then(|r| r.as_str())
        .ok_or_else(|| claims_error("Parsing claims failed"))?;
    Ok(Authenticated {
        role: role.to_string(),
        claims: claims.to_string(),
    })
}

fn claims_error(message: &str) -> ApiError {
    ApiError::pgrst(StatusCode::UNAUTHORIZED, "PGRST303", message).with_header(
        header::WWW_AUTHENTICATE,
        format!("Bearer error=\"invalid_token\", error_description=\"{message}\""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn keys_map_to_roles() {
        let keys = SandboxKeys::generate();
        let role =
            |pairs: &[(&'static str, &str)]| authenticate(&headers(pairs), &keys).map(|a| a.role);
        assert_eq!(role(&[("apikey", &keys.secret)]).unwrap(), "service_role");
        assert_eq!(role(&[("apikey", &keys.publishable)]).unwrap(), "anon");
        let bearer = format!("Bearer {}", keys.service_role_jwt);
        assert_eq!(
            role(&[
                ("apikey", &keys.service_role_jwt),
                ("authorization", &bearer)
            ])
            .unwrap(),
            "service_role"
        );
        let anon_bearer = format!("Bearer {}", keys.anon_jwt);
        assert_eq!(
            role(&[("apikey", &keys.secret), ("authorization", &anon_bearer)]).unwrap(),
            "anon"
        );
    }

    #[test]
    fn refusals() {
        let keys = SandboxKeys::generate();
        let status = |pairs: &[(&'static str, &str)]| {
            authenticate(&headers(pairs), &keys).unwrap_err().status
        };
        assert_eq!(status(&[]), StatusCode::UNAUTHORIZED);
        assert_eq!(
            status(&[("apikey", "sb_secret_nope")]),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(&[
                ("apikey", &keys.secret),
                ("user-agent", "Mozilla/5.0 (X11)")
            ]),
            StatusCode::UNAUTHORIZED
        );

        let bearer = format!("Bearer {}", keys.secret);
        let err = authenticate(
            &headers(&[("apikey", &keys.secret), ("authorization", &bearer)]),
            &keys,
        )
        .unwrap_err();
        assert_eq!(
            err.body_json(),
            r#"{"code":"PGRST301","details":null,"hint":null,"message":"Expected 3 parts in JWT; got 1"}"#
        );

        // A JWT signed with another secret.
        let forged = legacy_jwt(&hmac::Key::new(hmac::HMAC_SHA256, b"other"), "service_role");
        let bearer = format!("Bearer {forged}");
        let err = authenticate(
            &headers(&[("apikey", &keys.anon_jwt), ("authorization", &bearer)]),
            &keys,
        )
        .unwrap_err();
        assert_eq!(err.code(), Some("PGRST301"));
    }

    #[test]
    fn debug_does_not_leak_keys() {
        let keys = SandboxKeys::generate();
        let shown = format!("{keys:?}");
        assert!(!shown.contains(&keys.secret));
        assert!(!shown.contains(&keys.service_role_jwt));
    }
}
