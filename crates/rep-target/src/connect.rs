use std::io::ErrorKind;
use std::str::FromStr;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use rep_core::{SecretSet, TargetDbUrl};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgSslMode};
use sqlx::Connection;

use crate::error::{one_line, Ctx, TargetError};

/// How long one connection attempt may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Retries after the first attempt; a VPS restarting PostgreSQL is back within seconds.
const CONNECT_RETRIES: usize = 3;
/// Each step does its work sequentially; two connections leave room for recording a failure
/// while a broken transaction is still being dropped.
const POOL_SIZE: u32 = 2;

/// A connection pool to the replication target, over TLS.
///
/// Every method maps driver errors to [`TargetError`] with the secrets of the configuration
/// redacted, so its errors can be printed and stored as they are.
#[derive(Clone)]
pub struct TargetDb {
    pub(crate) pool: PgPool,
    pub(crate) secrets: SecretSet,
    redacted: String,
}

impl std::fmt::Debug for TargetDb {
    // By hand, so that no driver type holding the password is ever formatted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetDb")
            .field("target", &self.redacted)
            .finish_non_exhaustive()
    }
}

impl TargetDb {
    /// Opens the pool, retrying a few times with backoff when the server cannot be reached.
    ///
    /// The URL's `sslmode` (`require`, `verify-ca` or `verify-full`, already enforced by
    /// [`TargetDbUrl`]) and `sslrootcert` are honoured by the driver; a server that does not
    /// speak TLS is refused rather than used in clear.
    pub async fn connect(url: &TargetDbUrl, secrets: &SecretSet) -> Result<TargetDb, TargetError> {
        let mut secrets = secrets.clone();
        secrets.add(url.secret());
        if let Some(password) = url.password() {
            secrets.add(password);
        }
        let redacted = url.redacted().to_string();
        let options =
            PgConnectOptions::from_str(url.secret().expose()).map_err(|e| TargetError::BadUrl {
                target: redacted.clone(),
                cause: one_line(&secrets.redact(&e.to_string())),
            })?;
        let options = match options.get_application_name() {
            Some(_) => options,
            None => options.application_name("rep"),
        };
        // As libpq does: `sslmode=require` with a root certificate verifies the chain. sqlx
        // alone would encrypt but accept any certificate, ignoring the CA the operator named.
        let options =
            if matches!(options.get_ssl_mode(), PgSslMode::Require) && names_root_cert(url) {
                options.ssl_mode(PgSslMode::VerifyCa)
            } else {
                options
            };
        // The first connection is opened by hand rather than by the pool: the pool would retry
        // a refused connection silently until its timeout and then report only "timed out",
        // losing the cause the operator needs.
        let attempt = || {
            let options = options.clone();
            async move {
                match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
                    .await
                {
                    Ok(result) => result.map_err(Attempt::Driver),
                    Err(_) => Err(Attempt::TimedOut),
                }
            }
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(500))
            .with_max_delay(Duration::from_secs(4))
            .with_max_times(CONNECT_RETRIES);
        let first = attempt
            .retry(backoff)
            .when(Attempt::is_transient)
            .notify(|e, wait| {
                tracing::warn!(
                    target_db = %redacted,
                    retry_in_ms = wait.as_millis() as u64,
                    "target not reachable yet: {}",
                    e.describe(&secrets)
                );
            })
            .await
            .map_err(|e| TargetError::Unreachable {
                target: redacted.clone(),
                cause: e.describe(&secrets),
            })?;
        let _ = first.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(options);
        Ok(TargetDb {
            pool,
            secrets,
            redacted,
        })
    }

    /// The target URL with its password replaced by `***`.
    pub fn redacted_url(&self) -> &str {
        &self.redacted
    }

    /// True when this session's connection is encrypted, as the server sees it.
    pub async fn tls_in_use(&self) -> Result<bool, TargetError> {
        let ssl: Option<bool> =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| Ctx::new(&self.secrets, "TLS check").err(e))?;
        Ok(ssl.unwrap_or(false))
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn names_root_cert(url: &TargetDbUrl) -> bool {
    url::Url::parse(url.secret().expose()).is_ok_and(|u| {
        u.query_pairs().any(|(k, v)| {
            matches!(&*k, "sslrootcert" | "ssl-root-cert" | "ssl-ca") && !v.is_empty()
        })
    })
}

/// Why one connection attempt failed.
enum Attempt {
    Driver(sqlx::Error),
    TimedOut,
}

impl Attempt {
    /// Only failures that a later attempt can cure are retried: a refused password or an
    /// untrusted certificate will be refused again.
    fn is_transient(&self) -> bool {
        match self {
            Attempt::TimedOut => true,
            // TLS failures also arrive as I/O errors (InvalidData); only network trouble is
            // worth another attempt.
            Attempt::Driver(sqlx::Error::Io(e)) => matches!(
                e.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::NotConnected
                    | ErrorKind::TimedOut
                    | ErrorKind::UnexpectedEof
                    | ErrorKind::BrokenPipe
                    | ErrorKind::Interrupted
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::AddrNotAvailable
            ),
            Attempt::Driver(sqlx::Error::Database(db)) => db.code().is_some_and(|c| {
                // 57P03 starting up, 08xxx connection exceptions, 53300 too many connections.
                c == "57P03" || c.starts_with("08") || c == "53300"
            }),
            Attempt::Driver(_) => false,
        }
    }

    fn describe(&self, secrets: &SecretSet) -> String {
        match self {
            Attempt::TimedOut => format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
            Attempt::Driver(sqlx::Error::Database(db)) => one_line(&secrets.redact(db.message())),
            Attempt::Driver(other) => one_line(&secrets.redact(&other.to_string())),
        }
    }
}
