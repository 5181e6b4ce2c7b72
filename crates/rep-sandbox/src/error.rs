//! The one error type of the crate.

use std::path::PathBuf;

/// Everything that can go wrong while setting up or using a sandbox.
///
/// Each variant carries the context a person needs to fix the problem (which binary, which
/// path, which port, what the failed command printed) as data, never passwords or keys.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// No usable `initdb`/`pg_ctl` pair was found.
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's postgresql \
         package (apt-get install postgresql) or set PG_BIN_DIR"
    )]
    BinariesNotFound {
        /// The directories that were searched, for debugging.
        searched: Vec<PathBuf>,
    },

    /// Running as root, but the OS account PostgreSQL should run as does not exist.
    #[error(
        "running as root but the OS user `{user}` does not exist (PostgreSQL refuses to run as \
         root): install Debian's postgresql package, which creates it"
    )]
    ClusterUserMissing {
        /// The account that was looked up.
        user: String,
    },

    /// The OS account lookup itself failed.
    #[error("could not look up the OS user `{user}`: {source}")]
    ClusterUserLookup {
        /// The account that was looked up.
        user: String,
        /// The underlying errno.
        source: nix::Error,
    },

    /// A filesystem or process operation on `path` failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A filesystem operation failed.
    #[error("could not {action} {path}: {source}")]
    File {
        /// What was being done, e.g. "write".
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// Changing the owner of a sandbox file failed.
    #[error("could not chown {path} to the cluster user: {source}")]
    Chown {
        /// The path whose owner should have changed.
        path: PathBuf,
        /// The underlying errno.
        source: nix::Error,
    },

    /// A PostgreSQL command-line tool could not be started.
    #[error("could not run {binary}: {source}")]
    Spawn {
        /// The binary that was run.
        binary: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A PostgreSQL command-line tool exited unsuccessfully.
    #[error("{binary} {args} failed ({status}): {stderr}")]
    CommandFailed {
        /// The binary that was run.
        binary: PathBuf,
        /// Its arguments, joined by spaces.
        args: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr (and stdout), trimmed.
        stderr: String,
    },

    /// The server did not come up; `log` is the tail of the server log of that attempt.
    #[error("PostgreSQL did not start on 127.0.0.1:{port} (data dir {data_dir}): {log}")]
    ServerStart {
        /// The port that was tried last.
        port: u16,
        /// The cluster's data directory.
        data_dir: PathBuf,
        /// The server's log of the failed attempt.
        log: String,
    },

    /// No free loopback port could be reserved.
    #[error("could not reserve a free port on 127.0.0.1: {source}")]
    NoFreePort {
        /// The underlying error.
        source: std::io::Error,
    },

    /// Generating the sandbox CA or server certificate failed.
    #[error("could not generate the sandbox TLS material: {reason}")]
    Tls {
        /// What rcgen reported.
        reason: String,
    },

    /// A SQL statement or connection failed.
    #[error("{context}: {source}")]
    Sql {
        /// What was being done, e.g. "load fixtures/source/demo.sql".
        context: String,
        /// The underlying error.
        source: sqlx::Error,
    },

    /// A tokio runtime or thread for the sandbox could not be created.
    #[error("could not start the sandbox {what}: {source}")]
    Runtime {
        /// "runtime" or "server thread".
        what: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },

    /// Driving the demo runbook failed (a report could not be read or lacked a field).
    #[error("{0}")]
    Demo(String),

    /// The PostgREST stand-in failed to start.
    #[error("the PostgREST sandbox server failed to start: {reason}")]
    ServerThread {
        /// Why it stopped.
        reason: String,
    },
}

/// Result alias used throughout the crate.
pub type Result<T, E = SandboxError> = std::result::Result<T, E>;

impl SandboxError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn file(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::File {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn sql(context: impl Into<String>, source: sqlx::Error) -> Self {
        Self::Sql {
            context: context.into(),
            source,
        }
    }
}
