use base64::Engine;

use crate::secret::Secret;

/// The four kinds of Supabase API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// New server key `sb_secret_…`: sent in `apikey` only.
    Secret,
    /// New public key `sb_publishable_…`: sent in `apikey` only.
    Publishable,
    /// Legacy JWT (`anon` or `service_role`): sent in `apikey` and `Authorization: Bearer`.
    LegacyJwt {
        /// The `role` claim, when the payload could be read.
        role: Option<String>,
    },
}

/// A Supabase API key with its kind recognised from its shape.
#[derive(Debug, Clone)]
pub struct ApiKey {
    secret: Secret,
    kind: KeyKind,
}

impl ApiKey {
    /// Recognises a key, or says why it is not one.
    pub fn parse(value: &str) -> Result<ApiKey, String> {
        let value = value.trim();
        let kind = if value.starts_with("sb_secret_") {
            KeyKind::Secret
        } else if value.starts_with("sb_publishable_") {
            KeyKind::Publishable
        } else if value.split('.').count() == 3 && value.starts_with("eyJ") {
            KeyKind::LegacyJwt {
                role: jwt_role(value),
            }
        } else {
            return Err(
                "is neither an sb_secret_/sb_publishable_ key nor a legacy JWT: copy it again from the Supabase dashboard (Project Settings → API Keys)"
                    .to_string(),
            );
        };
        Ok(ApiKey {
            secret: Secret::new(value),
            kind,
        })
    }

    /// The key's kind.
    pub fn kind(&self) -> &KeyKind {
        &self.kind
    }

    /// The key value, redacted in formatting.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// True when the key reaches PostgreSQL as `service_role`.
    pub fn is_server_key(&self) -> bool {
        match &self.kind {
            KeyKind::Secret => true,
            KeyKind::Publishable => false,
            KeyKind::LegacyJwt { role } => role.as_deref() == Some("service_role"),
        }
    }

    /// A label safe for logs and reports: the kind and the first six characters.
    pub fn label(&self) -> String {
        let kind = match &self.kind {
            KeyKind::Secret => "secret".to_string(),
            KeyKind::Publishable => "publishable".to_string(),
            KeyKind::LegacyJwt { role } => {
                format!("legacy JWT ({})", role.as_deref().unwrap_or("unknown role"))
            }
        };
        format!("{kind} key {}", self.secret.prefix())
    }
}

fn jwt_role(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("role")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(role: &str) -> String {
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.sig",
            enc(r#"{"alg":"HS256","typ":"JWT"}"#),
            enc(&format!(r#"{{"role":"{role}"}}"#))
        )
    }

    #[test]
    fn recognises_key_kinds() {
        assert!(ApiKey::parse("sb_secret_abc").unwrap().is_server_key());
        assert!(!ApiKey::parse("sb_publishable_abc").unwrap().is_server_key());
        let legacy = ApiKey::parse(&jwt("service_role")).unwrap();
        assert_eq!(
            legacy.kind(),
            &KeyKind::LegacyJwt {
                role: Some("service_role".into())
            }
        );
        assert!(legacy.is_server_key());
        assert!(!ApiKey::parse(&jwt("anon")).unwrap().is_server_key());
        assert!(ApiKey::parse("hello").is_err());
        assert!(
            !format!("{:?}", ApiKey::parse("sb_secret_abcdef123").unwrap()).contains("abcdef123")
        );
    }
}
