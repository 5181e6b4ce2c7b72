//! Preflight's `migrations` check: no migration pending between the local migrations folder
//! and the source project.
//!
//! The comparison is the one `supabase migration list` makes: the versions of the local
//! `<digits>_<name>.sql` files against the versions recorded in the project's
//! `supabase_migrations.schema_migrations`, versions only (the CLI keeps no checksum). A local
//! version the source lacks is a migration not pushed yet: the source's tables may not have
//! the shape the checkout expects, so replicating now could copy the wrong columns. A source
//! version the folder lacks means the checkout is behind, which is worth a warning only.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rep_core::{Config, MigrationsSettings};
use rep_source::SupabaseClient;

use crate::check::Check;

/// The check's name in the preflight report.
pub(crate) const NAME: &str = "migrations";

/// Versions listed in a detail line at most; the rest are counted.
const LISTED: usize = 10;

/// One local migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalMigration {
    /// The leading digits of the file name.
    pub(crate) version: String,
    /// The file.
    pub(crate) file: PathBuf,
}

/// Why the local migrations folder cannot be compared.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LocalMigrationsError {
    /// The folder cannot be listed.
    #[error("cannot read the migrations folder {}: {source}; check [migrations] dir in the config", dir.display())]
    Unreadable {
        /// The configured folder.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file whose name is not `<digits>_<name>.sql`, which the Supabase CLI would not apply.
    #[error("{} is not named <digits>_<name>.sql: rename it (supabase migration new <name> makes such names) or move it out of the migrations folder", file.display())]
    MalformedName {
        /// The file.
        file: PathBuf,
    },
    /// Two files with one version: only one of them could ever be recorded as applied.
    #[error("{} and {} share the version {version}: give one of them a new version", first.display(), second.display())]
    DuplicateVersion {
        /// The shared version.
        version: String,
        /// The file sorted first.
        first: PathBuf,
        /// The other file.
        second: PathBuf,
    },
}

/// The migrations of `dir`, by version. Hidden files (`.gitkeep`, editors' swap files) and
/// folders are not migrations and are skipped; any other file must be `<digits>_<name>.sql`.
pub(crate) fn read_local(dir: &Path) -> Result<Vec<LocalMigration>, LocalMigrationsError> {
    let unreadable = |source| LocalMigrationsError::Unreadable {
        dir: dir.to_path_buf(),
        source,
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let file = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || entry.file_type().map_err(unreadable)?.is_dir() {
            continue;
        }
        match version_of(&name) {
            Some(version) => found.push(LocalMigration {
                version: version.to_string(),
                file,
            }),
            None => return Err(LocalMigrationsError::MalformedName { file }),
        }
    }
    found.sort_by(|a, b| by_version(&a.version, &b.version).then_with(|| a.file.cmp(&b.file)));
    for pair in found.windows(2) {
        if pair[0].version == pair[1].version {
            return Err(LocalMigrationsError::DuplicateVersion {
                version: pair[0].version.clone(),
                first: pair[0].file.clone(),
                second: pair[1].file.clone(),
            });
        }
    }
    Ok(found)
}

/// The version of a `<digits>_<name>.sql` file name.
fn version_of(file_name: &str) -> Option<&str> {
    let stem = file_name.strip_suffix(".sql")?;
    let (version, name) = stem.split_once('_')?;
    let digits = !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit());
    (digits && !name.is_empty()).then_some(version)
}

/// Versions are digit strings, usually all 14 long (`YYYYMMDDHHMMSS`); ordering by length
/// first keeps a shorter, older scheme's versions before them, as numbers would be.
fn by_version(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// What comparing the local versions with the applied ones found; every list by version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comparison {
    /// Versions both local and applied.
    pub(crate) matched: usize,
    /// The newest matched version.
    pub(crate) newest: Option<String>,
    /// Local versions the source has not applied: `supabase db push` would apply them.
    pub(crate) pending: Vec<String>,
    /// Versions applied on the source that the local folder lacks: the checkout is behind.
    pub(crate) behind: Vec<String>,
}

/// Compares versions exactly as strings, as the Supabase CLI does.
pub(crate) fn compare(local: &[String], applied: &[String]) -> Comparison {
    let local_set: BTreeSet<&str> = local.iter().map(String::as_str).collect();
    let applied_set: BTreeSet<&str> = applied.iter().map(String::as_str).collect();
    let sorted = |set: Vec<&str>| {
        let mut list: Vec<String> = set.into_iter().map(str::to_string).collect();
        list.sort_by(|a, b| by_version(a, b));
        list
    };
    let both = sorted(local_set.intersection(&applied_set).copied().collect());
    Comparison {
        matched: both.len(),
        newest: both.last().cloned(),
        pending: sorted(local_set.difference(&applied_set).copied().collect()),
        behind: sorted(applied_set.difference(&local_set).copied().collect()),
    }
}

/// The `migrations` check for a loaded configuration; `source_reachable` is the outcome of
/// the check of that name.
pub(crate) async fn check(config: &Config, source_reachable: bool) -> Check {
    let Some(settings) = &config.replication.migrations else {
        return Check::warn(
            NAME,
            "not configured: add [migrations] dir = \"supabase/migrations\" to the config so preflight checks that no migration is pending on the source",
        );
    };
    let local = match read_local(&settings.dir) {
        Ok(local) => local,
        Err(e) => return Check::fail(NAME, e.to_string()),
    };
    if !source_reachable {
        return blocking(
            settings,
            "not checked: the source is unreachable (see source_reachable)".to_string(),
        );
    }
    let applied = match SupabaseClient::new(&config.env, &config.replication.source) {
        Ok(client) => client.applied_migrations(&settings.rpc).await,
        Err(e) => Err(e),
    };
    match applied {
        Ok(applied) => {
            let local: Vec<String> = local.into_iter().map(|m| m.version).collect();
            judge(&compare(&local, &applied), settings)
        }
        Err(e) => blocking(
            settings,
            format!("cannot read the migrations applied on the source: {e}"),
        ),
    }
}

/// A `fail` when the check is required, else a `warn` saying it is not.
fn blocking(settings: &MigrationsSettings, detail: String) -> Check {
    if settings.required {
        Check::fail(NAME, detail)
    } else {
        Check::warn(
            NAME,
            format!("{detail} (not required: [migrations] required = false)"),
        )
    }
}

fn judge(comparison: &Comparison, settings: &MigrationsSettings) -> Check {
    let pending = (!comparison.pending.is_empty()).then(|| {
        format!(
            "{} local migration(s) not applied on the source: {}; apply them with supabase db push before replicating",
            comparison.pending.len(),
            listed(&comparison.pending)
        )
    });
    let behind = (!comparison.behind.is_empty()).then(|| {
        format!(
            "the source has {} migration(s) the local folder {} lacks: {}; the checkout is behind: update it before the next change",
            comparison.behind.len(),
            settings.dir.display(),
            listed(&comparison.behind)
        )
    });
    match (pending, behind) {
        (Some(pending), behind) => blocking(
            settings,
            match behind {
                Some(behind) => format!("{pending}; also {behind}"),
                None => pending,
            },
        ),
        (None, Some(behind)) => Check::warn(NAME, behind),
        (None, None) => Check::pass(
            NAME,
            match &comparison.newest {
                Some(newest) => format!(
                    "all {} local migrations are applied on the source and it has no other; newest {newest}",
                    comparison.matched
                ),
                None => "no migration locally nor on the source".to_string(),
            },
        ),
    }
}

/// At most [`LISTED`] versions, then how many more.
fn listed(versions: &[String]) -> String {
    let shown = versions[..versions.len().min(LISTED)].join(", ");
    match versions.len().saturating_sub(LISTED) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckStatus;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn settings(required: bool) -> MigrationsSettings {
        MigrationsSettings {
            dir: PathBuf::from("supabase/migrations"),
            rpc: "rep_applied_migrations".into(),
            required,
        }
    }

    #[test]
    fn compares_versions_both_ways() {
        let c = compare(
            &strings(&["20260101000000", "20260103000000", "20260102000000"]),
            &strings(&["20260102000000", "20260101000000", "20251231000000"]),
        );
        assert_eq!(c.matched, 2);
        assert_eq!(c.newest.as_deref(), Some("20260102000000"));
        assert_eq!(c.pending, ["20260103000000"]);
        assert_eq!(c.behind, ["20251231000000"]);
        // By length first: a 3-digit version is older than any 14-digit one.
        let c = compare(&strings(&["20260101000000", "999"]), &[]);
        assert_eq!(c.pending, ["999", "20260101000000"]);
    }

    #[test]
    fn a_pending_migration_fails_unless_not_required() {
        let c = compare(&strings(&["1", "2"]), &strings(&["1"]));
        let check = judge(&c, &settings(true));
        assert_eq!(check.status, CheckStatus::Fail);
        assert!(check
            .detail
            .contains("1 local migration(s) not applied on the source: 2;"));
        assert!(
            check.detail.contains("supabase db push"),
            "{}",
            check.detail
        );
        let check = judge(&c, &settings(false));
        assert_eq!(check.status, CheckStatus::Warn);
        assert!(check.detail.contains("[migrations] required = false"));
    }

    #[test]
    fn a_checkout_behind_warns_and_in_step_passes() {
        let check = judge(
            &compare(&strings(&["1"]), &strings(&["1", "2"])),
            &settings(true),
        );
        assert_eq!(check.status, CheckStatus::Warn);
        assert!(
            check.detail.contains("the checkout is behind"),
            "{}",
            check.detail
        );
        assert!(
            check.detail.contains("supabase/migrations"),
            "{}",
            check.detail
        );

        let both = compare(&strings(&["1", "2", "3"]), &strings(&["3", "1", "2"]));
        let check = judge(&both, &settings(true));
        assert_eq!(check.status, CheckStatus::Pass);
        assert!(
            check.detail.contains("all 3 local migrations"),
            "{}",
            check.detail
        );
        assert!(check.detail.ends_with("newest 3"), "{}", check.detail);
        let check = judge(&compare(&[], &[]), &settings(true));
        assert_eq!(check.status, CheckStatus::Pass);

        let mixed = judge(
            &compare(&strings(&["1", "2"]), &strings(&["1", "0"])),
            &settings(true),
        );
        assert_eq!(mixed.status, CheckStatus::Fail);
        assert!(
            mixed.detail.contains("; also the source has 1"),
            "{}",
            mixed.detail
        );
    }

    #[test]
    fn long_lists_are_cut_at_ten() {
        let local: Vec<String> = (10..25).map(|n| n.to_string()).collect();
        let check = judge(&compare(&local, &[]), &settings(true));
        assert!(
            check.detail.contains("15 local migration(s) not applied on the source: 10, 11, 12, 13, 14, 15, 16, 17, 18, 19 and 5 more;"),
            "{}",
            check.detail
        );
    }

    #[test]
    fn reads_the_folder_and_names_a_malformed_file() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str| std::fs::write(dir.path().join(name), "select 1;\n").unwrap();
        write("20260102000000_second.sql");
        write("20260101000000_first.sql");
        write(".gitkeep");
        std::fs::create_dir(dir.path().join("archive")).unwrap();
        let local = read_local(dir.path()).unwrap();
        let versions: Vec<&str> = local.iter().map(|m| m.version.as_str()).collect();
        assert_eq!(versions, ["20260101000000", "20260102000000"]);

        for bad in [
            "notes.md",
            "20260103000000.sql",
            "x_y.sql",
            "20260103000000_.sql",
        ] {
            write(bad);
            let err = read_local(dir.path()).unwrap_err();
            assert!(
                matches!(&err, LocalMigrationsError::MalformedName { file } if file.ends_with(bad)),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains(bad), "{err}");
            std::fs::remove_file(dir.path().join(bad)).unwrap();
        }

        write("20260101000000_again.sql");
        let err = read_local(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("share the version 20260101000000"),
            "{err}"
        );

        let err = read_local(&dir.path().join("missing")).unwrap_err();
        assert!(
            matches!(err, LocalMigrationsError::Unreadable { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("[migrations] dir"), "{err}");
    }
}
