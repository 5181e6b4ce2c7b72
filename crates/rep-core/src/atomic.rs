use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::hashing::{FileDigest, HashingWriter};
use crate::secret::{SecretLeak, SecretSet};

/// A failure to write an artefact. Nothing is left under the final name in any case.
#[derive(Debug, thiserror::Error)]
pub enum ArtefactError {
    /// The bytes contained a configured secret.
    #[error(transparent)]
    SecretLeak(#[from] SecretLeak),
    /// The filesystem refused.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

impl ArtefactError {
    pub(crate) fn io(path: &Path, source: io::Error) -> ArtefactError {
        ArtefactError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, fsync, rename)
/// after checking them against the secret guard.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    secrets: &SecretSet,
) -> Result<FileDigest, ArtefactError> {
    secrets.check(bytes, path)?;
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)
        .map_err(|e| ArtefactError::io(path, e))?;
    file.commit()
}

/// A file written in a streaming fashion under a temporary name and renamed into place only
/// by [`AtomicFile::commit`]; dropped without commit, the temporary file is removed.
pub struct AtomicFile {
    path: PathBuf,
    temp: PathBuf,
    writer: Option<HashingWriter<BufWriter<File>>>,
}

impl AtomicFile {
    /// Opens the temporary file next to `path`.
    pub fn create(path: &Path) -> Result<AtomicFile, ArtefactError> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                fs::create_dir_all(dir).map_err(|e| ArtefactError::io(dir, e))?;
            }
        }
        let temp = temp_name(path);
        let file = File::create(&temp).map_err(|e| ArtefactError::io(&temp, e))?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            temp,
            writer: Some(HashingWriter::new(BufWriter::new(file))),
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs and renames into place; returns the digest of what was written.
    pub fn commit(mut self) -> Result<FileDigest, ArtefactError> {
        let writer = self.writer.take().expect("AtomicFile committed twice");
        let (buffered, digest) = writer.finish();
        let file = buffered
            .into_inner()
            .map_err(|e| ArtefactError::io(&self.temp, e.into_error()))?;
        file.sync_all()
            .map_err(|e| ArtefactError::io(&self.temp, e))?;
        drop(file);
        fs::rename(&self.temp, &self.path).map_err(|e| ArtefactError::io(&self.path, e))?;
        Ok(digest)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer
            .as_mut()
            .expect("AtomicFile written after commit")
            .write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.writer.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn writes_atomically_and_refuses_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b.json");
        let mut secrets = SecretSet::new();
        secrets.add(&Secret::new("hunter2hunter2"));
        let digest = write_atomic(&path, b"{}", &secrets).unwrap();
        assert_eq!(digest.bytes, 2);
        assert_eq!(fs::read(&path).unwrap(), b"{}");

        let leak = dir.path().join("leak.json");
        assert!(matches!(
            write_atomic(&leak, b"pw=hunter2hunter2", &secrets),
            Err(ArtefactError::SecretLeak(_))
        ));
        assert!(!leak.exists());
        // no temporary file is left behind either
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn uncommitted_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"half").unwrap();
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
