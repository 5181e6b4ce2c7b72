mod api_key;
mod env;
mod replication;
mod target_url;

use std::path::{Path, PathBuf};

pub use api_key::{ApiKey, KeyKind};
pub use env::{EnvSettings, ENV_PUBLISHABLE_ALIASES};
pub use replication::{
    EntityConfig, GateSettings, MigrationsSettings, ReplicationConfig, SourceSettings,
    DEFAULT_MIGRATIONS_RPC,
};
pub use target_url::{TargetDbUrl, TlsMode};

use crate::secret::SecretSet;

/// Default name of the checked-in replication config.
pub const DEFAULT_CONFIG_FILE: &str = "replication.toml";

/// One problem found in the configuration: where it is and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The variable, file or `file: key` at fault.
    pub location: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// The configuration could not be loaded. Every problem found is listed, so an operator fixes
/// them in one pass rather than one run per mistake.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {}", problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
pub struct ConfigError {
    /// The problems, in the order found.
    pub problems: Vec<ConfigProblem>,
}

impl ConfigError {
    pub(crate) fn one(location: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            problems: vec![ConfigProblem {
                location: location.into(),
                message: message.into(),
            }],
        }
    }
}

/// Everything a step needs to know: secrets from the environment, the replicated entity kinds
/// from the config file, and the set of secret values no artefact may contain.
#[derive(Debug, Clone)]
pub struct Config {
    /// Settings from the environment and `.env`.
    pub env: EnvSettings,
    /// Settings from `replication.toml`.
    pub replication: ReplicationConfig,
    /// Path of the config file read.
    pub config_path: PathBuf,
    /// Every configured secret value.
    pub secrets: SecretSet,
}

impl Config {
    /// Loads `.env` from `env_dir` (real environment variables win), then the config file.
    /// Both are validated; all problems found in both are reported together.
    pub fn load(config_path: &Path, env_dir: &Path) -> Result<Config, ConfigError> {
        let vars = env::collect_vars(env_dir)?;
        Config::from_vars(config_path, &vars)
    }

    /// Like [`Config::load`] with the variables given explicitly (for embedding and tests).
    pub fn from_vars(
        config_path: &Path,
        vars: &std::collections::BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let env = EnvSettings::from_vars(vars);
        let replication = ReplicationConfig::load(config_path);
        match (env, replication) {
            (Ok(env), Ok(replication)) => {
                let secrets = env.secret_set();
                Ok(Config {
                    env,
                    replication,
                    config_path: config_path.to_path_buf(),
                    secrets,
                })
            }
            (env, replication) => {
                let mut problems = Vec::new();
                if let Err(e) = env {
                    problems.extend(e.problems);
                }
                if let Err(e) = replication {
                    problems.extend(e.problems);
                }
                Err(ConfigError { problems })
            }
        }
    }
}

/// Collects the secret values that can be found without a valid configuration (from `.env`
/// and the environment), so that even a step that fails on configuration keeps them out of
/// its report and log lines.
pub fn secrets_from_environment(env_dir: &Path) -> SecretSet {
    match env::collect_vars(env_dir) {
        Ok(vars) => env::raw_secret_set(&vars),
        Err(_) => env::raw_secret_set(&std::env::vars().collect()),
    }
}
