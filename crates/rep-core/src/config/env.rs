use std::collections::BTreeMap;
use std::path::Path;

use url::Url;

use super::{ApiKey, ConfigError, ConfigProblem, TargetDbUrl};
use crate::secret::{Secret, SecretSet, MIN_GUARDED_SECRET_LEN};

const PROJECT_URL: &str = "SUPABASE_PROJECT_URL";
const SERVICE_ROLE_KEY: &str = "SUPABASE_SERVICE_ROLE_KEY";
const PUBLISHABLE_KEY: &str = "SUPABASE_PUBLISHABLE_KEY";
const TARGET_DB_URL: &str = "REPLICA_TARGET_DB_URL";

/// Accepted aliases of `SUPABASE_PUBLISHABLE_KEY`, in order of preference.
pub const ENV_PUBLISHABLE_ALIASES: [&str; 2] = ["SUPABASE_ANOM_PUBLIC_KEY", "SUPABASE_ANON_KEY"];

/// Settings that come from the environment (never from the config file).
#[derive(Debug, Clone)]
pub struct EnvSettings {
    /// `SUPABASE_PROJECT_URL`, e.g. `https://abcd.supabase.co`.
    pub project_url: Url,
    /// `SUPABASE_SERVICE_ROLE_KEY`.
    pub service_role_key: ApiKey,
    /// `SUPABASE_PUBLISHABLE_KEY` or an alias; optional for replication itself.
    pub publishable_key: Option<ApiKey>,
    /// `REPLICA_TARGET_DB_URL`.
    pub target_db: TargetDbUrl,
}

/// Reads `.env` in `dir` when present, then overlays the process environment (which wins).
pub(crate) fn collect_vars(dir: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut vars = BTreeMap::new();
    let dotenv = dir.join(".env");
    if dotenv.exists() {
        let iter = dotenvy::from_path_iter(&dotenv).map_err(|e| {
            ConfigError::one(dotenv.display().to_string(), format!("cannot be read: {e}"))
        })?;
        for (line, item) in iter.enumerate() {
            let (k, v) = item.map_err(|e| {
                ConfigError::one(
                    dotenv.display().to_string(),
                    format!(
                        "is malformed near entry {}: {e}; write KEY=value lines",
                        line + 1
                    ),
                )
            })?;
            vars.insert(k, v);
        }
    }
    vars.extend(std::env::vars());
    Ok(vars)
}

/// Every secret-looking value among the variables, valid or not.
pub(crate) fn raw_secret_set(vars: &BTreeMap<String, String>) -> SecretSet {
    let mut set = SecretSet::new();
    for name in [SERVICE_ROLE_KEY, PUBLISHABLE_KEY, TARGET_DB_URL]
        .into_iter()
        .chain(ENV_PUBLISHABLE_ALIASES)
    {
        if let Some(v) = vars.get(name) {
            set.add(&Secret::new(v.trim()));
            if let Ok(url) = TargetDbUrl::parse(v) {
                if let Some(p) = url.password() {
                    set.add(p);
                }
            }
        }
    }
    set
}

impl EnvSettings {
    /// Validates the variables; every problem is reported.
    pub fn from_vars(vars: &BTreeMap<String, String>) -> Result<EnvSettings, ConfigError> {
        let mut problems = Vec::new();
        let mut problem = |location: &str, message: String| {
            problems.push(ConfigProblem {
                location: location.to_string(),
                message,
            })
        };
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());

        let project_url = match get(PROJECT_URL) {
            None => {
                problem(
                    PROJECT_URL,
                    "is not set: add it to .env (e.g. https://abcd.supabase.co)".into(),
                );
                None
            }
            Some(v) => match Url::parse(v) {
                Ok(u) if matches!(u.scheme(), "https" | "http") && u.host_str().is_some() => {
                    if u.query().is_some() || u.path().trim_matches('/').contains("rest") {
                        problem(PROJECT_URL, "must be the project's base URL (https://abcd.supabase.co) without /rest/v1 or a query".into());
                        None
                    } else {
                        Some(u)
                    }
                }
                _ => {
                    problem(
                        PROJECT_URL,
                        format!(
                            "{v:?} is not an http(s) URL: write it as https://abcd.supabase.co"
                        ),
                    );
                    None
                }
            },
        };

        let service_role_key = match get(SERVICE_ROLE_KEY) {
            None => {
                problem(
                    SERVICE_ROLE_KEY,
                    "is not set: add the project's secret (server) key to .env".into(),
                );
                None
            }
            Some(v) => match ApiKey::parse(v) {
                Ok(k) if k.is_server_key() => Some(k),
                Ok(k) => {
                    problem(SERVICE_ROLE_KEY, format!("holds a {}, which cannot read rows behind RLS: use an sb_secret_ key or the service_role JWT", k.label()));
                    None
                }
                Err(why) => {
                    problem(SERVICE_ROLE_KEY, why);
                    None
                }
            },
        };

        let publishable_name = std::iter::once(PUBLISHABLE_KEY)
            .chain(ENV_PUBLISHABLE_ALIASES)
            .find(|n| get(n).is_some());
        let publishable_key = match publishable_name {
            None => None,
            Some(name) => match ApiKey::parse(get(name).unwrap_or_default()) {
                Ok(k) if !k.is_server_key() => Some(k),
                Ok(_) => {
                    problem(name, "holds a server key: the publishable key must be sb_publishable_ or the anon JWT, never a secret".into());
                    None
                }
                Err(why) => {
                    problem(name, why);
                    None
                }
            },
        };

        let target_db = match get(TARGET_DB_URL) {
            None => {
                problem(TARGET_DB_URL, "is not set: add postgres://user:password@host:5432/db?sslmode=verify-full to .env".into());
                None
            }
            Some(v) => match TargetDbUrl::parse(v) {
                Ok(u) => {
                    if let Some(p) = u.password() {
                        if p.expose().len() < MIN_GUARDED_SECRET_LEN {
                            problem(TARGET_DB_URL, format!("has a password shorter than {MIN_GUARDED_SECRET_LEN} characters: use a longer one (short passwords cannot be kept out of evidence reliably)"));
                        }
                    }
                    Some(u)
                }
                Err(why) => {
                    problem(TARGET_DB_URL, why);
                    None
                }
            },
        };

        match (project_url, service_role_key, target_db) {
            (Some(project_url), Some(service_role_key), Some(target_db)) if problems.is_empty() => {
                Ok(EnvSettings {
                    project_url,
                    service_role_key,
                    publishable_key,
                    target_db,
                })
            }
            _ => Err(ConfigError { problems }),
        }
    }

    /// The source project's host name: what artefacts may say about the source.
    pub fn project_host(&self) -> String {
        self.project_url.host_str().unwrap_or_default().to_string()
    }

    /// The secret values of these settings.
    pub fn secret_set(&self) -> SecretSet {
        let mut set = SecretSet::new();
        set.add(self.service_role_key.secret());
        if let Some(k) = &self.publishable_key {
            set.add(k.secret());
        }
        set.add(self.target_db.secret());
        if let Some(p) = self.target_db.password() {
            set.add(p);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn valid_settings_and_alias() {
        let s = EnvSettings::from_vars(&vars(&[
            (PROJECT_URL, "https://abcd.supabase.co"),
            (SERVICE_ROLE_KEY, "sb_secret_0123456789"),
            ("SUPABASE_ANOM_PUBLIC_KEY", "sb_publishable_0123456789"),
            (
                TARGET_DB_URL,
                "postgres://u:longpassword@h:5432/d?sslmode=require",
            ),
        ]))
        .unwrap();
        assert_eq!(s.project_host(), "abcd.supabase.co");
        assert!(s.publishable_key.is_some());
        let set = s.secret_set();
        assert!(set.leaks_in(b"..longpassword.."));
        assert!(set.leaks_in(b"sb_secret_0123456789"));
    }

    #[test]
    fn every_problem_is_reported() {
        let err = EnvSettings::from_vars(&vars(&[
            (SERVICE_ROLE_KEY, "sb_publishable_0123456789"),
            (TARGET_DB_URL, "postgres://u:longpassword@h:5432/d"),
        ]))
        .unwrap_err();
        let locations: Vec<_> = err.problems.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(locations, [PROJECT_URL, SERVICE_ROLE_KEY, TARGET_DB_URL]);
        let text = err.to_string();
        assert!(
            !text.contains("longpassword") && !text.contains("0123456789"),
            "{text}"
        );
    }
}
