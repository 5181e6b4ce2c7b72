use url::Url;

use crate::secret::Secret;

/// How the target connection is protected; plain connections are never accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Encrypted, certificate not verified.
    Require,
    /// Encrypted, certificate chain verified.
    VerifyCa,
    /// Encrypted, chain and host name verified.
    VerifyFull,
}

impl TlsMode {
    /// The libpq `sslmode` value.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }
}

/// `REPLICA_TARGET_DB_URL`: the connection string (secret) with the parts that may be shown.
#[derive(Debug, Clone)]
pub struct TargetDbUrl {
    url: Secret,
    password: Option<Secret>,
    redacted: String,
    tls: TlsMode,
}

impl TargetDbUrl {
    /// Parses and validates a `postgres://` URL; TLS is mandatory.
    pub fn parse(value: &str) -> Result<TargetDbUrl, String> {
        let url = Url::parse(value.trim()).map_err(|e| {
            format!("is not a URL ({e}): write it as postgres://user:password@host:5432/db?sslmode=verify-full")
        })?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(format!(
                "has scheme {:?}: it must start with postgres:// or postgresql://",
                url.scheme()
            ));
        }
        if url.host_str().unwrap_or("").is_empty() {
            return Err("names no host: add the target's host name".to_string());
        }
        let sslmode = url
            .query_pairs()
            .find(|(k, _)| k == "sslmode")
            .map(|(_, v)| v.into_owned());
        let tls = match sslmode.as_deref() {
            Some("require") => TlsMode::Require,
            Some("verify-ca") => TlsMode::VerifyCa,
            Some("verify-full") => TlsMode::VerifyFull,
            Some(other) => {
                return Err(format!(
                    "has sslmode={other}: TLS is mandatory, use sslmode=require, verify-ca or verify-full"
                ))
            }
            None => {
                return Err(
                    "has no sslmode: TLS is mandatory, add ?sslmode=verify-full (or require, verify-ca)"
                        .to_string(),
                )
            }
        };
        let password = url.password().map(|p| {
            let decoded = percent_decode(p);
            Secret::new(decoded)
        });
        let mut shown = url.clone();
        if url.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        Ok(TargetDbUrl {
            url: Secret::new(value.trim()),
            password,
            redacted: shown.to_string(),
            tls,
        })
    }

    /// The full URL, for the driver only.
    pub fn secret(&self) -> &Secret {
        &self.url
    }

    /// The password, when the URL has one.
    pub fn password(&self) -> Option<&Secret> {
        self.password.as_ref()
    }

    /// The URL with the password replaced by `***`: safe for logs and reports.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The TLS mode required by the URL.
    pub fn tls(&self) -> TlsMode {
        self.tls
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("p={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_mandatory_and_password_is_hidden() {
        let u = TargetDbUrl::parse(
            "postgres://rep:p%40ss+word@db.example:5432/replica?sslmode=verify-full",
        )
        .unwrap();
        assert_eq!(u.tls(), TlsMode::VerifyFull);
        assert_eq!(u.password().unwrap().expose(), "p@ss+word");
        assert_eq!(
            u.redacted(),
            "postgres://rep:***@db.example:5432/replica?sslmode=verify-full"
        );
        assert!(TargetDbUrl::parse("postgres://a:b@h/db")
            .unwrap_err()
            .contains("TLS is mandatory"));
        assert!(TargetDbUrl::parse("postgres://a:b@h/db?sslmode=prefer").is_err());
        assert!(TargetDbUrl::parse("mysql://a:b@h/db?sslmode=require").is_err());
    }
}
