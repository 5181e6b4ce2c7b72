use std::io;
use std::path::{Path, PathBuf};

use crate::report::Step;

/// Default context root (SPEC.md).
pub const DEFAULT_CONTEXT_DIR: &str = ".context/runtime";

/// Environment variable overriding the context root.
pub const CONTEXT_DIR_ENV: &str = "REP_CONTEXT_DIR";

/// The evidence, reports and checkpoints folders under one context root.
#[derive(Debug, Clone)]
pub struct ContextLayout {
    root: PathBuf,
}

impl ContextLayout {
    /// A layout rooted at `root` (nothing is created yet).
    pub fn new(root: impl Into<PathBuf>) -> ContextLayout {
        ContextLayout { root: root.into() }
    }

    /// The context root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `evidence/`.
    pub fn evidence_root(&self) -> PathBuf {
        self.root.join("evidence")
    }

    /// `evidence/replication-<ts>/`.
    pub fn evidence_dir(&self, stamp: &str) -> PathBuf {
        self.evidence_root().join(format!("replication-{stamp}"))
    }

    /// `reports/`.
    pub fn reports_dir(&self) -> PathBuf {
        self.root.join("reports")
    }

    /// `checkpoints/`.
    pub fn checkpoints_dir(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// Creates the three folders.
    pub fn ensure(&self) -> io::Result<()> {
        for dir in [
            self.evidence_root(),
            self.reports_dir(),
            self.checkpoints_dir(),
        ] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(())
    }

    /// `reports/replication-v1-<step>-<ts>.json`; a second report of the same step in the same
    /// second gets `-2`, `-3`… so that no report ever replaces another.
    pub fn report_path(&self, step: Step, stamp: &str) -> PathBuf {
        unique(
            self.reports_dir(),
            &format!("{}-{stamp}", step.report_name()),
        )
    }

    /// `checkpoints/replication-v1-<ts>.json`, made unique the same way.
    pub fn checkpoint_path(&self, stamp: &str) -> PathBuf {
        unique(self.checkpoints_dir(), &format!("replication-v1-{stamp}"))
    }

    /// Every report of `step`, oldest first (names sort by time).
    pub fn reports_of(&self, step: Step) -> io::Result<Vec<PathBuf>> {
        let prefix = format!("{}-", step.report_name());
        let mut found = Vec::new();
        match std::fs::read_dir(self.reports_dir()) {
            Ok(entries) => {
                for entry in entries {
                    let name = entry?.file_name().to_string_lossy().into_owned();
                    let rest = name.strip_prefix(&prefix).unwrap_or("");
                    // `replication-v1-import-…` must not pick up another step sharing a prefix.
                    if rest.starts_with(|c: char| c.is_ascii_digit()) && name.ends_with(".json") {
                        found.push(self.reports_dir().join(name));
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        found.sort_by_key(|p| sort_key(p));
        Ok(found)
    }

    /// How a path is written in reports: relative to the context root when inside it (so the
    /// evidence stays verifiable after being moved or committed elsewhere), else absolute (so a
    /// later step run from another folder still finds it).
    pub fn display_path(&self, path: &Path) -> String {
        let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let full = absolute(path);
        match full.strip_prefix(absolute(&self.root)) {
            Ok(rel) => rel.display().to_string(),
            Err(_) => full.display().to_string(),
        }
    }

    /// The inverse of [`ContextLayout::display_path`].
    pub fn resolve(&self, shown: &str) -> PathBuf {
        let p = Path::new(shown);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.root.join(p)
        }
    }
}

fn unique(dir: PathBuf, stem: &str) -> PathBuf {
    let first = dir.join(format!("{stem}.json"));
    if !first.exists() {
        return first;
    }
    (2..)
        .map(|n| dir.join(format!("{stem}-{n}.json")))
        .find(|p| !p.exists())
        .expect("some suffix is free")
}

/// `…-<ts>.json` < `…-<ts>-2.json` < `…-<ts>-10.json`.
fn sort_key(p: &Path) -> (String, u32) {
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((head, n)) if n.len() < 4 && n.chars().all(|c| c.is_ascii_digit()) => {
            (head.to_string(), n.parse().unwrap_or(0))
        }
        _ => (stem, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_paths_never_collide_and_sort_by_time() {
        let dir = tempfile::tempdir().unwrap();
        let layout = ContextLayout::new(dir.path());
        layout.ensure().unwrap();
        let a = layout.report_path(Step::Import, "20260301T120000Z");
        std::fs::write(&a, "{}").unwrap();
        let b = layout.report_path(Step::Import, "20260301T120000Z");
        assert!(b.ends_with("replication-v1-import-20260301T120000Z-2.json"));
        std::fs::write(&b, "{}").unwrap();
        let c = layout.report_path(Step::Import, "20260301T115959Z");
        std::fs::write(&c, "{}").unwrap();
        std::fs::write(layout.report_path(Step::Export, "20260301T120001Z"), "{}").unwrap();
        assert_eq!(
            layout.reports_of(Step::Import).unwrap(),
            vec![c, a.clone(), b]
        );
        assert_eq!(
            layout.display_path(&a),
            "reports/replication-v1-import-20260301T120000Z.json"
        );
        assert_eq!(layout.resolve(&layout.display_path(&a)), a);
    }
}
