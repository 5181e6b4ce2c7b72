use std::fmt;
use std::path::{Path, PathBuf};

/// A secret value (API key, password, URL with a password).
///
/// `Debug` and `Display` print `***`, so a secret can sit in any struct that is logged or
/// formatted without leaking. The value is reachable only through [`Secret::expose`], which
/// makes every place that needs the raw bytes easy to find.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The raw value. Call only where the value must leave the process (a header, a connection).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The first six characters, as Supabase advises for logs; the rest is never shown.
    pub fn prefix(&self) -> String {
        let shown: String = self.0.chars().take(6).collect();
        format!("{shown}…")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Secret values shorter than this are too likely to match ordinary data to be searched for;
/// configuration validation rejects such short secrets instead.
pub const MIN_GUARDED_SECRET_LEN: usize = 8;

/// The set of configured secret values that no artefact may contain.
///
/// Every writer in the workspace passes its bytes through [`SecretSet::check`] before they reach
/// a final file name: the guard is the last line of defence behind `Secret`'s redacting `Debug`.
#[derive(Clone, Default)]
pub struct SecretSet {
    values: Vec<String>,
}

impl fmt::Debug for SecretSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretSet({} values)", self.values.len())
    }
}

impl SecretSet {
    /// An empty set (guards nothing).
    pub fn new() -> SecretSet {
        SecretSet::default()
    }

    /// Adds a secret to guard.
    pub fn add(&mut self, secret: &Secret) {
        let value = secret.expose();
        if value.len() >= MIN_GUARDED_SECRET_LEN && !self.values.iter().any(|v| v == value) {
            self.values.push(value.to_string());
        }
    }

    /// How many values are guarded.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when nothing is guarded.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// True when `bytes` contains any guarded value.
    pub fn leaks_in(&self, bytes: &[u8]) -> bool {
        self.values
            .iter()
            .any(|v| memchr::memmem::find(bytes, v.as_bytes()).is_some())
    }

    /// Refuses `bytes` destined for `artefact` when they contain a guarded value.
    pub fn check(&self, bytes: &[u8], artefact: &Path) -> Result<(), SecretLeak> {
        if self.leaks_in(bytes) {
            return Err(SecretLeak {
                artefact: artefact.to_path_buf(),
            });
        }
        Ok(())
    }

    /// Replaces every guarded value in `text` with `***` (for error messages from libraries
    /// that may echo a connection string).
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in &self.values {
            out = out.replace(v.as_str(), "***");
        }
        out
    }
}

/// An artefact was about to contain a configured secret; nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("refusing to write {}: it would contain a configured secret (a key or password); nothing was written", artefact.display())]
pub struct SecretLeak {
    /// The file that would have held the secret.
    pub artefact: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("sb_secret_abcdefgh");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        assert_eq!(s.prefix(), "sb_sec…");
    }

    #[test]
    fn guard_refuses_bytes_containing_a_secret() {
        let mut set = SecretSet::new();
        set.add(&Secret::new("sb_secret_abcdefgh"));
        set.add(&Secret::new("short"));
        assert_eq!(set.len(), 1);
        assert!(set
            .check(b"x,sb_secret_abcdefgh,y", Path::new("r.json"))
            .is_err());
        assert!(set.check(b"short is fine", Path::new("r.json")).is_ok());
        assert_eq!(set.redact("k=sb_secret_abcdefgh"), "k=***");
    }
}
