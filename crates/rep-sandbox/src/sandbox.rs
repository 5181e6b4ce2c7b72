//! Ready-made source and target environments built from the pieces above.

use std::path::Path;

use sqlx::Connection as _;

use crate::blocking::block_on;
use crate::cluster::{quote_ident, ClusterOptions, PgCluster};
use crate::error::{Result, SandboxError};
use crate::postgrest::{FaultPlan, GatewayConfig, PostgrestServer, SandboxKeys};
use crate::secret;

const ROLES_SQL: &str = include_str!("../../../fixtures/source/roles.sql");
const DEMO_SQL: &str = include_str!("../../../fixtures/source/demo.sql");
const MIGRATIONS_SQL: &str = include_str!("../../../fixtures/source/migrations.sql");
const MIGRATIONS_RPC_SQL: &str = include_str!("../../../fixtures/source/migrations_rpc.sql");

/// The source fixtures: `(roles.sql, demo.sql)`.
///
/// `roles.sql` creates Supabase's `anon`, `authenticated` and `service_role` roles and their
/// grants; `demo.sql` creates `customers`, `orders` and `events` with deterministic data,
/// 10,000+ rows inside the window `[2026-03-01T00:00:00Z, 2026-03-02T00:00:00Z)`.
pub fn demo_source_sql() -> (&'static str, &'static str) {
    (ROLES_SQL, DEMO_SQL)
}

/// The migration fixtures loaded with the demo: `(migrations.sql, migrations_rpc.sql)`.
///
/// `migrations.sql` creates the Supabase CLI's `supabase_migrations.schema_migrations` with
/// the versions of `fixtures/demo/migrations/` applied; `migrations_rpc.sql` creates
/// `public.rep_applied_migrations()`, the `SECURITY DEFINER` function, executable by
/// `service_role` only, through which preflight reads them.
pub fn migrations_source_sql() -> (&'static str, &'static str) {
    (MIGRATIONS_SQL, MIGRATIONS_RPC_SQL)
}

/// The time zone the source cluster runs in unless told otherwise: deliberately not UTC, so
/// that a client forgetting `Prefer: timezone=UTC` sees `-03:00` offsets.
pub const SOURCE_TIMEZONE: &str = "America/Sao_Paulo";

/// The time zone of [`TargetSandbox::start`]: neither UTC nor the source's, with a
/// half-hour offset, so that code relying on the session time zone shows up in tests.
pub const TARGET_TIMEZONE: &str = "Asia/Kolkata";

/// How to start a [`SourceSandbox`].
#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// The cluster's default time zone. Default [`SOURCE_TIMEZONE`].
    pub timezone: String,
    /// The database the REST API serves. Default `source`.
    pub database: String,
    /// Load `fixtures/source/demo.sql`, then the migration fixtures of
    /// [`migrations_source_sql`] (roles are always loaded). Default true.
    pub load_demo: bool,
    /// The silent per-response row cap. Default 1000; 0 disables it.
    pub max_rows: u64,
    /// Per-request `statement_timeout`. Default 8000 ms.
    pub statement_timeout_ms: u64,
    /// GET requests that should fail with 503.
    pub fault: Option<FaultPlan>,
}

impl Default for SourceOptions {
    fn default() -> Self {
        Self {
            timezone: SOURCE_TIMEZONE.to_string(),
            database: "source".to_string(),
            load_demo: true,
            max_rows: 1000,
            statement_timeout_ms: 8000,
            fault: None,
        }
    }
}

/// A fake Supabase project: a PostgreSQL cluster with the source fixtures loaded and a
/// PostgREST/gateway stand-in in front of it.
pub struct SourceSandbox {
    // Field order matters: the server (and its pool) must go before the cluster stops.
    server: PostgrestServer,
    keys: SandboxKeys,
    database: String,
    cluster: PgCluster,
}

impl std::fmt::Debug for SourceSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSandbox")
            .field("project_url", &self.project_url())
            .field("database", &self.database)
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

impl SourceSandbox {
    /// Starts the cluster (no TLS), creates the database, loads the fixtures and starts the
    /// REST server.
    pub fn start(options: SourceOptions) -> Result<Self> {
        let cluster = PgCluster::start(ClusterOptions {
            tls: false,
            timezone: options.timezone.clone(),
        })?;
        cluster.create_database(&options.database)?;
        let (roles, demo) = demo_source_sql();
        cluster.exec_sql(&options.database, roles)?;
        if options.load_demo {
            cluster.exec_sql(&options.database, demo)?;
            let (migrations, migrations_rpc) = migrations_source_sql();
            cluster.exec_sql(&options.database, migrations)?;
            cluster.exec_sql(&options.database, migrations_rpc)?;
        }
        let keys = SandboxKeys::generate();
        let server = PostgrestServer::start(
            &cluster.superuser_url(&options.database),
            GatewayConfig {
                keys: keys.clone(),
                max_rows: options.max_rows,
                schema: "public".to_string(),
                statement_timeout_ms: options.statement_timeout_ms,
                fault: options.fault,
            },
        )?;
        Ok(Self {
            server,
            keys,
            database: options.database,
            cluster,
        })
    }

    /// The PostgreSQL cluster behind the API (for setting up extra tables or data).
    pub fn cluster(&self) -> &PgCluster {
        &self.cluster
    }

    /// The REST server.
    pub fn server(&self) -> &PostgrestServer {
        &self.server
    }

    /// The project's API keys.
    pub fn keys(&self) -> &SandboxKeys {
        &self.keys
    }

    /// What `SUPABASE_PROJECT_URL` would be: `http://127.0.0.1:<port>`.
    pub fn project_url(&self) -> String {
        self.server.base_url()
    }

    /// The database the API serves.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Runs SQL on the served database as the superuser.
    pub fn exec_sql(&self, sql: &str) -> Result<()> {
        self.cluster.exec_sql(&self.database, sql)
    }
}

/// A self-hosted replica target: a TLS-only cluster with database `replica` owned by the
/// login role `replicator`.
pub struct TargetSandbox {
    replicator_password: String,
    cluster: PgCluster,
}

impl std::fmt::Debug for TargetSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetSandbox")
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

impl TargetSandbox {
    /// The database the replica lives in.
    pub const DATABASE: &'static str = "replica";
    /// The role the replication tools log in as.
    pub const ROLE: &'static str = "replicator";

    /// Starts a TLS cluster in [`TARGET_TIMEZONE`].
    pub fn start() -> Result<Self> {
        Self::start_with_timezone(TARGET_TIMEZONE)
    }

    /// Starts a TLS cluster in the given time zone.
    pub fn start_with_timezone(timezone: &str) -> Result<Self> {
        let cluster = PgCluster::start(ClusterOptions {
            tls: true,
            timezone: timezone.to_string(),
        })?;
        let replicator_password = secret::alphanumeric_password(32);
        cluster.create_login_role(Self::ROLE, &replicator_password)?;
        cluster.exec_sql(
            "postgres",
            &format!(
                "CREATE DATABASE {} OWNER {}",
                quote_ident(Self::DATABASE),
                quote_ident(Self::ROLE)
            ),
        )?;
        // PostgreSQL 15 no longer lets everyone create in `public`; the owner of the
        // database should own its public schema, as on a freshly provisioned server.
        cluster.exec_sql(
            Self::DATABASE,
            &format!("ALTER SCHEMA public OWNER TO {}", quote_ident(Self::ROLE)),
        )?;
        Ok(Self {
            replicator_password,
            cluster,
        })
    }

    /// `postgres://replicator:<pw>@127.0.0.1:<port>/replica?sslmode=verify-full&sslrootcert=<ca>`
    /// — what `REPLICA_TARGET_DB_URL` would be.
    pub fn db_url(&self) -> String {
        self.cluster
            .url(Self::ROLE, &self.replicator_password, Self::DATABASE)
    }

    /// The random password of `replicator` (part of [`TargetSandbox::db_url`]).
    pub fn password(&self) -> &str {
        &self.replicator_password
    }

    /// The superuser URL of the `replica` database (for assertions and sabotage in tests).
    pub fn superuser_url(&self) -> String {
        self.cluster.superuser_url(Self::DATABASE)
    }

    /// The underlying cluster.
    pub fn cluster(&self) -> &PgCluster {
        &self.cluster
    }

    /// The CA certificate clients must trust.
    pub fn ca_cert_path(&self) -> &Path {
        self.cluster
            .ca_cert_path()
            .expect("the target cluster always runs with TLS")
    }

    /// Runs a SQL file on `replica` as `replicator` (e.g. the target schema migration).
    pub fn apply_sql_file(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let sql = std::fs::read_to_string(path).map_err(|e| SandboxError::file("read", path, e))?;
        self.exec_sql(&sql).map_err(|err| match err {
            SandboxError::Sql { source, .. } => SandboxError::sql(
                format!("apply {} as {}", path.display(), Self::ROLE),
                source,
            ),
            other => other,
        })
    }

    /// Runs SQL on `replica` as `replicator`.
    pub fn exec_sql(&self, sql: &str) -> Result<()> {
        let url = self.db_url();
        block_on(move || async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.map_err(|e| {
                SandboxError::sql(
                    format!("connect to {} as {}", Self::DATABASE, Self::ROLE),
                    e,
                )
            })?;
            sqlx::raw_sql(sql).execute(&mut conn).await.map_err(|e| {
                SandboxError::sql(
                    format!("run SQL on {} as {}", Self::DATABASE, Self::ROLE),
                    e,
                )
            })?;
            conn.close()
                .await
                .map_err(|e| SandboxError::sql("close the connection", e))
        })?
    }
}
