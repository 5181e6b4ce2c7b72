use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, ConfigProblem};

/// `replication.toml`: what is replicated and how. Holds no secret.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicationConfig {
    /// `[source]`.
    pub source: SourceSettings,
    /// `[window] safety_lag_minutes`: how far behind now a window must end.
    pub safety_lag_minutes: u32,
    /// `[gate]`.
    pub gate: GateSettings,
    /// `[migrations]`, when configured.
    pub migrations: Option<MigrationsSettings>,
    /// `[entities.<kind>]`, sorted by kind.
    pub entities: Vec<EntityConfig>,
}

/// `[source]`: how the REST API is read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceSettings {
    /// The PostgREST schema (`Accept-Profile`); `public` by default.
    pub schema: String,
    /// Rows asked per page; the client also never asks above the server's cap once seen.
    pub page_size: u32,
    /// Per-request timeout in seconds (Supabase cuts requests at 60 s).
    pub request_timeout_secs: u32,
    /// Retries of a failed request (transport error, 5xx, 429) before giving up.
    pub max_retries: u32,
}

impl Default for SourceSettings {
    fn default() -> Self {
        SourceSettings {
            schema: "public".to_string(),
            page_size: 1000,
            request_timeout_secs: 30,
            max_retries: 4,
        }
    }
}

/// `[gate]`: the upstream sync gate.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GateSettings {
    /// Path of the upstream `syn:go-no-go:v1` report, relative to the config file's directory.
    pub sync_report: Option<PathBuf>,
    /// When true, a missing or non-`GO` sync report fails preflight; otherwise it warns.
    pub sync_report_required: bool,
}

/// The function [`MigrationsSettings::rpc`] names unless the config says otherwise.
pub const DEFAULT_MIGRATIONS_RPC: &str = "rep_applied_migrations";

/// `[migrations]`: the local migrations folder that preflight compares with the versions
/// applied on the source project.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrationsSettings {
    /// The folder of `<digits>_<name>.sql` files (a checkout's `supabase/migrations`); relative
    /// to the config file's directory once loaded with [`ReplicationConfig::load`].
    pub dir: PathBuf,
    /// The `SECURITY DEFINER` function, exposed through the REST API in the source schema,
    /// that returns the applied versions; `rep_applied_migrations` by default.
    pub rpc: String,
    /// When true (the default), a local migration not applied on the source fails preflight;
    /// otherwise it warns.
    pub required: bool,
}

/// One replicated entity kind.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityConfig {
    /// The entity kind (the `[entities.<kind>]` name), written in every artefact.
    pub kind: String,
    /// The source table as exposed by the REST API.
    pub table: String,
    /// Primary key column (single column).
    pub key: String,
    /// Watermark column (`timestamptz`).
    pub watermark: String,
    /// Columns to read; `None` reads every column.
    pub columns: Option<Vec<String>>,
}

impl EntityConfig {
    /// The PostgREST `select=` value.
    pub fn select(&self) -> String {
        match &self.columns {
            Some(cols) => cols.join(","),
            None => "*".to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    source: SourceSettings,
    #[serde(default)]
    window: RawWindow,
    #[serde(default)]
    gate: GateSettings,
    migrations: Option<RawMigrations>,
    #[serde(default)]
    entities: BTreeMap<String, RawEntity>,
}

/// Every field optional, so that a missing `dir` is reported as one problem among the others
/// rather than as a parse error that hides them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMigrations {
    dir: Option<PathBuf>,
    rpc: Option<String>,
    required: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawWindow {
    safety_lag_minutes: u32,
}

impl Default for RawWindow {
    fn default() -> Self {
        RawWindow {
            safety_lag_minutes: 5,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntity {
    table: String,
    key: String,
    watermark: String,
    columns: Option<Vec<String>>,
}

impl ReplicationConfig {
    /// Reads and validates the config file.
    pub fn load(path: &Path) -> Result<ReplicationConfig, ConfigError> {
        let at = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::one(
                &at,
                format!("cannot be read ({e}): pass the replication config with --config"),
            )
        })?;
        let mut config = ReplicationConfig::parse(&text, &at)?;
        if let Some(report) = &config.gate.sync_report {
            if report.is_relative() {
                let base = path.parent().unwrap_or(Path::new("."));
                config.gate.sync_report = Some(base.join(report));
            }
        }
        if let Some(migrations) = &mut config.migrations {
            if migrations.dir.is_relative() {
                let base = path.parent().unwrap_or(Path::new("."));
                migrations.dir = base.join(&migrations.dir);
            }
        }
        Ok(config)
    }

    /// Parses and validates config text; `at` names the file in problems.
    pub fn parse(text: &str, at: &str) -> Result<ReplicationConfig, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!(" at line {}", text[..s.start].lines().count().max(1)))
                .unwrap_or_default();
            ConfigError::one(at, format!("is not valid{line}: {}", e.message().trim()))
        })?;
        let mut problems = Vec::new();
        let mut problem = |key: String, message: String| {
            problems.push(ConfigProblem {
                location: format!("{at}: {key}"),
                message,
            })
        };
        if raw.entities.is_empty() {
            problem(
                "entities".into(),
                "no entity kind is configured: add at least one [entities.<kind>] table".into(),
            );
        }
        if !(1..=10_000).contains(&raw.source.page_size) {
            problem(
                "source.page_size".into(),
                "must be between 1 and 10000".into(),
            );
        }
        if !(1..=600).contains(&raw.source.request_timeout_secs) {
            problem(
                "source.request_timeout_secs".into(),
                "must be between 1 and 600".into(),
            );
        }
        if !is_identifier(&raw.source.schema) {
            problem("source.schema".into(), identifier_rule());
        }
        if text.contains("sb_secret_") || text.contains("service_role") && text.contains("eyJ") {
            problem(
                "(file)".into(),
                "appears to contain an API key: secrets belong in .env or the environment, never in the config file".into(),
            );
        }
        let migrations = raw.migrations.and_then(|m| {
            let rpc = m.rpc.unwrap_or_else(|| DEFAULT_MIGRATIONS_RPC.to_string());
            if !is_identifier(&rpc) {
                problem("migrations.rpc".into(), identifier_rule());
            }
            match m.dir {
                Some(dir) if !dir.as_os_str().is_empty() => Some(MigrationsSettings {
                    dir,
                    rpc,
                    required: m.required.unwrap_or(true),
                }),
                _ => {
                    problem(
                        "migrations.dir".into(),
                        "is required with [migrations]: name the local supabase/migrations folder, relative to this file".into(),
                    );
                    None
                }
            }
        });
        let mut entities = Vec::new();
        for (kind, e) in raw.entities {
            let key = |field: &str| format!("entities.{kind}.{field}");
            if !is_kind_name(&kind) {
                problem(
                    format!("entities.{kind}"),
                    "kind names use lowercase letters, digits and _ and start with a letter".into(),
                );
            }
            for (field, value) in [
                ("table", &e.table),
                ("key", &e.key),
                ("watermark", &e.watermark),
            ] {
                if !is_identifier(value) {
                    problem(key(field), identifier_rule());
                }
            }
            if let Some(cols) = &e.columns {
                for c in cols {
                    if !is_identifier(c) {
                        problem(key("columns"), format!("{c:?}: {}", identifier_rule()));
                    }
                }
                for (field, needed) in [("key", &e.key), ("watermark", &e.watermark)] {
                    if !cols.contains(needed) {
                        problem(
                            key("columns"),
                            format!("must include the {field} column {needed:?}"),
                        );
                    }
                }
            }
            entities.push(EntityConfig {
                kind,
                table: e.table,
                key: e.key,
                watermark: e.watermark,
                columns: e.columns,
            });
        }
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(ReplicationConfig {
            source: raw.source,
            safety_lag_minutes: raw.window.safety_lag_minutes,
            gate: raw.gate,
            migrations,
            entities,
        })
    }

    /// The safety lag as a duration.
    pub fn safety_lag(&self) -> time::Duration {
        time::Duration::minutes(i64::from(self.safety_lag_minutes))
    }
}

fn is_kind_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Identifiers reach URLs and SQL; keeping them plain removes every quoting question.
fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn identifier_rule() -> String {
    "must be a plain identifier (letters, digits, _; at most 63 characters)".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entities_sorted_by_kind() {
        let c = ReplicationConfig::parse(
            r#"
[source]
page_size = 500
[entities.order]
table = "orders"
key = "order_code"
watermark = "updated_at"
[entities.customer]
table = "customers"
key = "id"
watermark = "updated_at"
columns = ["id", "updated_at", "name"]
"#,
            "r.toml",
        )
        .unwrap();
        assert_eq!(c.source.page_size, 500);
        assert_eq!(c.safety_lag_minutes, 5);
        let kinds: Vec<_> = c.entities.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["customer", "order"]);
        assert_eq!(c.entities[0].select(), "id,updated_at,name");
        assert_eq!(c.entities[1].select(), "*");
    }

    #[test]
    fn reports_each_problem_with_its_key() {
        let err = ReplicationConfig::parse(
            r#"
[entities.customer]
table = "customers; drop"
key = "id"
watermark = "updated_at"
columns = ["id"]
"#,
            "r.toml",
        )
        .unwrap_err();
        let locations: Vec<_> = err.problems.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(
            locations,
            [
                "r.toml: entities.customer.table",
                "r.toml: entities.customer.columns"
            ]
        );
        let syntax = ReplicationConfig::parse("[entities.x]\ntable = \n", "r.toml").unwrap_err();
        assert!(syntax.to_string().contains("line"), "{syntax}");
        let unknown = ReplicationConfig::parse("[sauce]\n", "r.toml").unwrap_err();
        assert!(unknown.to_string().contains("sauce"), "{unknown}");
    }

    const ONE_ENTITY: &str =
        "[entities.customer]\ntable = \"customers\"\nkey = \"id\"\nwatermark = \"updated_at\"\n";

    #[test]
    fn migrations_are_optional_and_default_to_required() {
        let none = ReplicationConfig::parse(ONE_ENTITY, "r.toml").unwrap();
        assert_eq!(none.migrations, None);

        let text = format!("[migrations]\ndir = \"supabase/migrations\"\n{ONE_ENTITY}");
        let c = ReplicationConfig::parse(&text, "r.toml").unwrap();
        assert_eq!(
            c.migrations,
            Some(MigrationsSettings {
                dir: PathBuf::from("supabase/migrations"),
                rpc: DEFAULT_MIGRATIONS_RPC.to_string(),
                required: true,
            })
        );

        let text = format!(
            "[migrations]\ndir = \"m\"\nrpc = \"applied_versions\"\nrequired = false\n{ONE_ENTITY}"
        );
        let m = ReplicationConfig::parse(&text, "r.toml")
            .unwrap()
            .migrations
            .unwrap();
        assert_eq!((m.rpc.as_str(), m.required), ("applied_versions", false));
    }

    #[test]
    fn migrations_problems_are_reported_one_per_mistake() {
        let text = format!("[migrations]\nrpc = \"public.versions()\"\n{ONE_ENTITY}");
        let err = ReplicationConfig::parse(&text, "r.toml").unwrap_err();
        let locations: Vec<_> = err.problems.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(
            locations,
            ["r.toml: migrations.rpc", "r.toml: migrations.dir"]
        );
        assert!(err.to_string().contains("plain identifier"), "{err}");

        let text = format!("[migrations]\ndir = \"\"\n{ONE_ENTITY}");
        let err = ReplicationConfig::parse(&text, "r.toml").unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert_eq!(err.problems[0].location, "r.toml: migrations.dir");

        let text = format!("[migrations]\ndir = \"m\"\nfolder = \"x\"\n{ONE_ENTITY}");
        let err = ReplicationConfig::parse(&text, "r.toml").unwrap_err();
        assert!(err.to_string().contains("folder"), "{err}");
    }

    #[test]
    fn migrations_dir_is_relative_to_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replication.toml");
        std::fs::write(
            &path,
            format!("[migrations]\ndir = \"supabase/migrations\"\n{ONE_ENTITY}"),
        )
        .unwrap();
        let c = ReplicationConfig::load(&path).unwrap();
        assert_eq!(
            c.migrations.unwrap().dir,
            dir.path().join("supabase/migrations")
        );
        let absolute = dir.path().join("elsewhere");
        std::fs::write(
            &path,
            format!(
                "[migrations]\ndir = {:?}\n{ONE_ENTITY}",
                absolute.display().to_string()
            ),
        )
        .unwrap();
        assert_eq!(
            ReplicationConfig::load(&path)
                .unwrap()
                .migrations
                .unwrap()
                .dir,
            absolute
        );
    }
}
