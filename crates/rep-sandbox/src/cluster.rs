//! A throwaway PostgreSQL cluster: `initdb` + `pg_ctl` in a temporary directory.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::unistd::{Gid, Uid, User};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sqlx::Connection as _;

use crate::blocking::block_on;
use crate::error::{Result, SandboxError};
use crate::{secret, tls};

/// Port races (another process grabbing the port between our probe and the server's bind)
/// are rare; a handful of retries makes them invisible.
const START_ATTEMPTS: usize = 5;

/// The OS account PostgreSQL runs as when the sandbox itself runs as root.
const CLUSTER_OS_USER: &str = "postgres";

/// The cluster's superuser role.
pub(crate) const SUPERUSER: &str = "postgres";

/// Characters left alone in URL userinfo/path/query components; everything else is escaped.
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// How to start a [`PgCluster`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// Serve TLS only: `hostssl` lines in `pg_hba.conf`, plain connections rejected, and a
    /// generated CA whose certificate [`PgCluster::ca_cert_path`] exposes.
    pub tls: bool,
    /// The server's default `TimeZone` (e.g. `America/Sao_Paulo`): what libpq sessions (psql,
    /// PostgREST) render `timestamptz` in unless they set their own. sqlx sessions start in
    /// UTC regardless, because sqlx sends `TimeZone=UTC` when it connects.
    pub timezone: String,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            tls: false,
            timezone: "UTC".to_string(),
        }
    }
}

/// A running PostgreSQL cluster on `127.0.0.1:<port>`, owned by this value.
///
/// Dropping it (also during a panic unwind) stops the server (`pg_ctl stop -m fast`, then
/// `-m immediate`, then SIGKILL) and removes its directory.
pub struct PgCluster {
    dir: Option<tempfile::TempDir>,
    data_dir: PathBuf,
    binaries: Binaries,
    run_as: Option<RunAs>,
    port: u16,
    superuser_password: String,
    ca_cert_path: Option<PathBuf>,
    stopped: bool,
}

impl std::fmt::Debug for PgCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCluster")
            .field("data_dir", &self.data_dir)
            .field("port", &self.port)
            .field("tls", &self.ca_cert_path.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
struct Binaries {
    initdb: PathBuf,
    pg_ctl: PathBuf,
}

#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: Uid,
    gid: Gid,
}

impl PgCluster {
    /// Creates and starts a new cluster.
    ///
    /// The superuser is `postgres` with a random password ([`PgCluster::superuser_password`]);
    /// only password (SCRAM) logins over TCP to 127.0.0.1 are accepted.
    pub fn start(options: ClusterOptions) -> Result<Self> {
        let binaries = find_binaries()?;
        let run_as = cluster_os_user()?;
        let dir = tempfile::Builder::new()
            .prefix("rep-sandbox-pg-")
            .tempdir()
            .map_err(|e| {
                SandboxError::file("create a temporary directory in", std::env::temp_dir(), e)
            })?;
        let root = dir.path().to_path_buf();
        set_mode(&root, 0o700)?;
        chown_to(run_as, &root)?;

        let mut cluster = Self {
            data_dir: root.join("data"),
            dir: Some(dir),
            binaries,
            run_as,
            port: 0,
            superuser_password: secret::alphanumeric_password(32),
            ca_cert_path: None,
            // Nothing to stop until pg_ctl start has been attempted.
            stopped: true,
        };
        cluster.initdb()?;
        if options.tls {
            cluster.install_tls()?;
        }
        cluster.write_config(&options)?;
        cluster.start_server()?;
        Ok(cluster)
    }

    /// The TCP port the server listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The random password of the `postgres` superuser.
    pub fn superuser_password(&self) -> &str {
        &self.superuser_password
    }

    /// The PEM file of the CA that signed the server certificate, when started with TLS.
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.ca_cert_path.as_deref()
    }

    /// The cluster's data directory (inside the temporary directory removed on drop).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The postmaster's process id, read from `postmaster.pid`, while the server runs.
    pub fn postmaster_pid(&self) -> Option<u32> {
        let text = fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// A `postgres://` URL for `user` on database `db`; with TLS it carries
    /// `sslmode=verify-full&sslrootcert=<CA path>` so clients verify the server.
    pub fn url(&self, user: &str, password: &str, db: &str) -> String {
        let mut url = format!(
            "postgres://{}:{}@127.0.0.1:{}/{}",
            utf8_percent_encode(user, URL_COMPONENT),
            utf8_percent_encode(password, URL_COMPONENT),
            self.port,
            utf8_percent_encode(db, URL_COMPONENT),
        );
        if let Some(ca) = &self.ca_cert_path {
            let _ = write!(
                url,
                "?sslmode=verify-full&sslrootcert={}",
                utf8_percent_encode(&ca.to_string_lossy(), URL_COMPONENT)
            );
        }
        url
    }

    /// The superuser URL for database `db`.
    pub fn superuser_url(&self, db: &str) -> String {
        self.url(SUPERUSER, &self.superuser_password, db)
    }

    /// Runs a multi-statement SQL script on `db` as the superuser (simple query protocol, so
    /// `DO` blocks, `COPY`-free scripts and several statements per call all work).
    pub fn exec_sql(&self, db: &str, sql: &str) -> Result<()> {
        let url = self.superuser_url(db);
        block_on(move || async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.map_err(|e| {
                SandboxError::sql(format!("connect to database {db} as {SUPERUSER}"), e)
            })?;
            sqlx::raw_sql(sql)
                .execute(&mut conn)
                .await
                .map_err(|e| SandboxError::sql(format!("run SQL on database {db}"), e))?;
            conn.close()
                .await
                .map_err(|e| SandboxError::sql("close the connection", e))
        })?
    }

    /// Creates database `name` (owned by the superuser).
    pub fn create_database(&self, name: &str) -> Result<()> {
        self.exec_sql(
            "postgres",
            &format!("CREATE DATABASE {}", quote_ident(name)),
        )
    }

    /// Creates a `LOGIN` role with the given password (stored as SCRAM).
    pub fn create_login_role(&self, name: &str, password: &str) -> Result<()> {
        self.exec_sql(
            "postgres",
            &format!(
                "CREATE ROLE {} LOGIN PASSWORD {}",
                quote_ident(name),
                quote_literal(password)
            ),
        )
    }

    /// Stops the server and removes its directory, reporting failures that `Drop` would
    /// swallow.
    pub fn stop(mut self) -> Result<()> {
        let result = self.stop_server();
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_path_buf();
            dir.close()
                .map_err(|e| SandboxError::file("remove", path, e))?;
        }
        result
    }

    fn initdb(&self) -> Result<()> {
        let root = self.root();
        let pwfile = root.join("superuser.pw");
        write_file(&pwfile, self.superuser_password.as_bytes(), 0o600)?;
        chown_to(self.run_as, &pwfile)?;
        let mut pwfile_arg = OsString::from("--pwfile=");
        pwfile_arg.push(&pwfile);
        let result = self.run_tool(
            &self.binaries.initdb,
            &[
                "-D".into(),
                self.data_dir.clone().into_os_string(),
                "-U".into(),
                SUPERUSER.into(),
                pwfile_arg,
                "--auth=scram-sha-256".into(),
                "-E".into(),
                "UTF8".into(),
                "--locale=C".into(),
                // The cluster is thrown away; syncing its files to disk is wasted time.
                "--no-sync".into(),
            ],
        );
        let _ = fs::remove_file(&pwfile);
        result.map(|_| ())
    }

    fn install_tls(&mut self) -> Result<()> {
        let material = tls::generate()?;
        let ca_path = self.root().join("ca.crt");
        write_file(&ca_path, material.ca_pem.as_bytes(), 0o644)?;
        let cert_path = self.data_dir.join("server.crt");
        write_file(&cert_path, material.server_cert_pem.as_bytes(), 0o600)?;
        chown_to(self.run_as, &cert_path)?;
        // PostgreSQL refuses a key that is readable by anyone but its owner.
        let key_path = self.data_dir.join("server.key");
        write_file(&key_path, material.server_key_pem.as_bytes(), 0o600)?;
        chown_to(self.run_as, &key_path)?;
        self.ca_cert_path = Some(ca_path);
        Ok(())
    }

    fn write_config(&self, options: &ClusterOptions) -> Result<()> {
        let conf_path = self.data_dir.join("postgresql.conf");
        let mut conf = fs::read_to_string(&conf_path)
            .map_err(|e| SandboxError::file("read", &conf_path, e))?;
        let socket_dir = self.root().to_string_lossy().into_owned();
        conf.push_str("\n# rep-sandbox\n");
        for (name, value) in [
            ("listen_addresses", "127.0.0.1"),
            ("unix_socket_directories", socket_dir.as_str()),
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
            ("shared_buffers", "32MB"),
            ("max_connections", "40"),
            ("timezone", options.timezone.as_str()),
            ("log_timezone", "UTC"),
            ("logging_collector", "off"),
            ("ssl", if options.tls { "on" } else { "off" }),
        ] {
            let _ = writeln!(conf, "{name} = {}", quote_literal(value));
        }
        if options.tls {
            conf.push_str("ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        }
        fs::write(&conf_path, conf).map_err(|e| SandboxError::file("write", &conf_path, e))?;

        // Only TCP from the loopback address, only with a password; with TLS, plain TCP is
        // rejected outright so that a client that forgot TLS fails loudly.
        let hba = if options.tls {
            "local all all scram-sha-256\n\
             hostssl all all 127.0.0.1/32 scram-sha-256\n\
             hostnossl all all 0.0.0.0/0 reject\n"
        } else {
            "local all all scram-sha-256\n\
             host all all 127.0.0.1/32 scram-sha-256\n"
        };
        let hba_path = self.data_dir.join("pg_hba.conf");
        fs::write(&hba_path, hba).map_err(|e| SandboxError::file("write", &hba_path, e))
    }

    fn start_server(&mut self) -> Result<()> {
        let log_path = self.root().join("postgres.log");
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            let port = free_port()?;
            let log_offset = fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
            self.stopped = false;
            let result = self.run_tool(
                &self.binaries.pg_ctl,
                &[
                    "-D".into(),
                    self.data_dir.clone().into_os_string(),
                    "-l".into(),
                    log_path.clone().into_os_string(),
                    "-w".into(),
                    "-t".into(),
                    "60".into(),
                    "-o".into(),
                    format!("-p {port}").into(),
                    "start".into(),
                ],
            );
            match result {
                Ok(_) => {
                    self.port = port;
                    return Ok(());
                }
                Err(err) => {
                    let log = read_from(&log_path, log_offset);
                    // A failed start can leave a half-started postmaster behind.
                    let _ = self.stop_server();
                    let port_taken =
                        log.contains("could not bind") || log.contains("Address already in use");
                    let error = SandboxError::ServerStart {
                        port,
                        data_dir: self.data_dir.clone(),
                        log: if log.trim().is_empty() {
                            err.to_string()
                        } else {
                            log.trim().to_string()
                        },
                    };
                    if !port_taken {
                        return Err(error);
                    }
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.expect("at least one start attempt was made"))
    }

    fn stop_server(&mut self) -> Result<()> {
        if self.stopped {
            return Ok(());
        }
        let pid = self.postmaster_pid();
        let data_dir = self.data_dir.clone().into_os_string();
        let fast = self.run_tool(
            &self.binaries.pg_ctl,
            &[
                "-D".into(),
                data_dir.clone(),
                "-m".into(),
                "fast".into(),
                "-w".into(),
                "-t".into(),
                "30".into(),
                "stop".into(),
            ],
        );
        let result = match fast {
            Ok(_) => Ok(()),
            Err(fast_err) => self
                .run_tool(
                    &self.binaries.pg_ctl,
                    &[
                        "-D".into(),
                        data_dir,
                        "-m".into(),
                        "immediate".into(),
                        "-w".into(),
                        "-t".into(),
                        "10".into(),
                        "stop".into(),
                    ],
                )
                .map(|_| ())
                .map_err(|_| fast_err),
        };
        if let Some(pid) = pid {
            if process_alive(pid) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        self.stopped = true;
        // "no server running" is what a crashed or never-started server looks like.
        match result {
            Err(SandboxError::CommandFailed { stderr, .. })
                if stderr.contains("Is server running?") || stderr.contains("No such file") =>
            {
                Ok(())
            }
            other => other,
        }
    }

    fn root(&self) -> &Path {
        self.data_dir
            .parent()
            .expect("the data directory lives inside the temporary directory")
    }

    /// Runs a PostgreSQL tool, as the cluster's OS user when we are root.
    fn run_tool(&self, binary: &Path, args: &[OsString]) -> Result<String> {
        let mut command = Command::new(binary);
        command
            .args(args)
            .current_dir(self.root())
            .env("HOME", self.root())
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .env_remove("PGPORT")
            .env_remove("PGHOST")
            .env_remove("PGOPTIONS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(run_as) = self.run_as {
            // std drops supplementary groups itself when switching away from root.
            command.uid(run_as.uid.as_raw()).gid(run_as.gid.as_raw());
        }
        let output = command.output().map_err(|source| SandboxError::Spawn {
            binary: binary.to_path_buf(),
            source,
        })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            return Ok(stdout);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(SandboxError::CommandFailed {
            binary: binary.to_path_buf(),
            args: args
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            status: output.status.to_string(),
            stderr: format!("{}\n{}", stderr.trim(), stdout.trim())
                .trim()
                .to_string(),
        })
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Err(err) = self.stop_server() {
            tracing::warn!(error = %err, "stopping the sandbox PostgreSQL cluster failed");
        }
        // TempDir's own Drop removes the directory.
    }
}

/// Reserves a free TCP port on 127.0.0.1 by binding port 0 and releasing it.
///
/// The port can be taken by someone else before it is used again; callers retry on that.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|source| SandboxError::NoFreePort { source })?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|source| SandboxError::NoFreePort { source })
}

/// Quotes a SQL identifier the way `quote_ident` does, always.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a SQL (and `postgresql.conf`) string literal.
pub(crate) fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn find_binaries() -> Result<Binaries> {
    let mut searched = Vec::new();
    if let Some(dir) = std::env::var_os("PG_BIN_DIR") {
        let dir = PathBuf::from(dir);
        return binaries_in(&dir).ok_or(SandboxError::BinariesNotFound {
            searched: vec![dir],
        });
    }

    let mut versioned: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
            Some((version?, entry.path().join("bin")))
        })
        .collect();
    versioned.sort();
    for (_, dir) in versioned.iter().rev() {
        searched.push(dir.clone());
        if let Some(found) = binaries_in(dir) {
            return Ok(found);
        }
    }

    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if let Some(found) = binaries_in(&dir) {
            return Ok(found);
        }
        searched.push(dir);
    }
    Err(SandboxError::BinariesNotFound { searched })
}

fn binaries_in(dir: &Path) -> Option<Binaries> {
    let initdb = dir.join("initdb");
    let pg_ctl = dir.join("pg_ctl");
    (initdb.is_file() && pg_ctl.is_file()).then_some(Binaries { initdb, pg_ctl })
}

/// PostgreSQL refuses to run as root; when we are root, the server runs as `postgres`.
fn cluster_os_user() -> Result<Option<RunAs>> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    match User::from_name(CLUSTER_OS_USER) {
        Ok(Some(user)) => Ok(Some(RunAs {
            uid: user.uid,
            gid: user.gid,
        })),
        Ok(None) => Err(SandboxError::ClusterUserMissing {
            user: CLUSTER_OS_USER.to_string(),
        }),
        Err(source) => Err(SandboxError::ClusterUserLookup {
            user: CLUSTER_OS_USER.to_string(),
            source,
        }),
    }
}

fn chown_to(run_as: Option<RunAs>, path: &Path) -> Result<()> {
    let Some(run_as) = run_as else {
        return Ok(());
    };
    nix::unistd::chown(path, Some(run_as.uid), Some(run_as.gid)).map_err(|source| {
        SandboxError::Chown {
            path: path.to_path_buf(),
            source,
        }
    })
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| SandboxError::file("set permissions of", path, e))
}

fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    fs::write(path, contents).map_err(|e| SandboxError::file("write", path, e))?;
    set_mode(path, mode)
}

fn read_from(path: &Path, offset: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = fs::File::open(path) {
        if file.seek(SeekFrom::Start(offset)).is_ok() {
            let _ = file.read_to_string(&mut text);
        }
    }
    text
}

/// A zombie (exited, not yet reaped by init) counts as gone: it holds no port or files.
pub(crate) fn process_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(true),
        Err(_) => false,
    }
}
