//! One server process per SQLite database. SQLite serves one writer at a time inside one process
//! well; two server processes on one file would each run the background jobs, keep their own live
//! stream and rate limits, and race to deduplicate alerts. The server claims the database with an
//! exclusive lock on `<database>.lock` for as long as it runs ([`claim`]); a second server on the
//! same file stops at start-up and says to use PostgreSQL for several instances. The kernel drops
//! the lock when the process ends, however it ends, so a crash leaves nothing to clean up. The CLI
//! does not claim it: `anomalyforge user …` and `token …` work beside a running server.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The claim on a SQLite database; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    path: PathBuf,
}

impl InstanceLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error(
        "another anomalyforge-server{} is already serving {db}: a SQLite database serves one server process. \
         Stop the other one, or run several instances on PostgreSQL (DATABASE_URL=postgres://…)",
        .pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Taken { db: String, pid: Option<u32> },
    #[error("cannot lock {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
}

/// The file of a SQLite URL (`sqlite://var/af.db?mode=rwc` → `var/af.db`); `None` for an in-memory
/// database or another backend.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

/// Claims the database of `url` for this process: `Ok(None)` when it is not a SQLite file (PostgreSQL
/// is made for several instances), the lock while this process is the only server on it, and
/// [`InstanceError::Taken`] naming the other process when it is not.
pub fn claim(url: &str) -> Result<Option<InstanceLock>, InstanceError> {
    let Some(db) = sqlite_file(url) else { return Ok(None) };
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    let path = db.with_file_name(name);
    let io = |cause| InstanceError::Io { path: path.display().to_string(), cause };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(InstanceError::Taken { db: db.display().to_string(), pid: text.trim().parse().ok() });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    // Whose it is, for the message a second server prints.
    file.set_len(0).and_then(|()| file.seek(SeekFrom::Start(0))).map_err(io)?;
    writeln!(file, "{}", std::process::id()).and_then(|()| file.flush()).map_err(io)?;
    Ok(Some(InstanceLock { _file: file, path }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_file("sqlite://var/af.db?mode=rwc"), Some(PathBuf::from("var/af.db")));
        assert_eq!(sqlite_file("sqlite:/tmp/x.db"), Some(PathBuf::from("/tmp/x.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }

    #[test]
    fn a_second_claim_is_refused_naming_the_holder_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/data/af.db?mode=rwc", dir.path().display());
        let first = claim(&url).unwrap().expect("a SQLite file is claimed");
        assert!(first.path().ends_with("data/af.db.lock"));
        let err = claim(&url).unwrap_err().to_string();
        assert!(err.contains(&format!("(pid {})", std::process::id())), "{err}");
        assert!(err.contains("PostgreSQL"), "{err}");
        drop(first);
        assert!(claim(&url).unwrap().is_some(), "free again once released");
        assert!(claim("postgres://u@h/db").unwrap().is_none());
    }
}
