//! Atomic, owner-only file writes for state files (replay journal, tokens, pairing keys).
//!
//! Shared by the gateway, auth and CLI crates so every state file is written the same way.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};

/// Writes `bytes` to `path` atomically, readable and writable by the owner only.
///
/// Steps: create the parent directory if missing (mode `0700` on Unix for every directory
/// created), write a temporary file in the same directory (created exclusively with mode
/// `0600`), `fsync` it, rename it over `path`, then `fsync` the directory so the rename
/// itself is durable. Readers see either the old or the new content, never a mix; after
/// a crash at most the temporary file is left behind.
///
/// The final file always has mode `0600`, whatever the process umask and even if an older
/// file at `path` had wider permissions. A symlink at `path` is replaced by the new file,
/// never followed (the file it pointed to is untouched), and the temporary file is created
/// with `O_EXCL`, so a planted symlink cannot redirect it. Symlinks in the *directory* part
/// of `path` are followed: keep state in a directory only its owner can write to (the
/// directories this function creates are `0700`). On non-Unix platforms the permission and
/// directory-`fsync` steps are skipped.
///
/// # Errors
///
/// Any I/O error (full disk, read-only directory, `path` being a directory, …). On error
/// the previous content of `path` is untouched and the temporary file is removed.
///
/// # Example
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state").join("tokens.json");
/// airlock_crypto::fs::atomic_write(&path, br#"{"v":1}"#)?;
/// assert_eq!(std::fs::read(&path)?, br#"{"v":1}"#);
/// # Ok(()) }
/// ```
pub fn atomic_write(path: impl AsRef<Path>, bytes: &[u8]) -> io::Result<()> {
    let path = path.as_ref();
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        )
    })?;
    let dir = parent_dir(path);
    create_private_dir_all(&dir)?;

    let temp = temp_path(&dir, file_name);
    let result = write_new_private(&temp, bytes).and_then(|()| fs::rename(&temp, path));
    if let Err(err) = result {
        let _ = fs::remove_file(&temp);
        return Err(err);
    }
    sync_dir(&dir)
}

/// Creates `dir` and its missing parents, each new one with mode `0700` on Unix.
/// Existing directories are left as they are.
///
/// # Errors
///
/// Any I/O error from creating the directories.
pub fn create_private_dir_all(dir: impl AsRef<Path>) -> io::Result<()> {
    let dir = dir.as_ref();
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// An exclusive advisory lock on a lock file, held until dropped. Processes that take the
/// same lock ([`lock_exclusive`]) run one at a time; others are not stopped.
#[derive(Debug)]
pub struct FileLock {
    // Closing the file releases the lock.
    _file: File,
}

/// Takes the exclusive advisory lock of `path` (`flock` on Unix, `LockFileEx` on Windows),
/// waiting while another process holds it. The lock file is created if missing (mode
/// `0600`, parent directories `0700`) and never removed; its content is unused.
///
/// # Errors
///
/// Any I/O error from creating, opening or locking the file.
pub fn lock_exclusive(path: impl AsRef<Path>) -> io::Result<FileLock> {
    let path = path.as_ref();
    create_private_dir_all(parent_dir(path))?;
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    file.lock()?;
    Ok(FileLock { _file: file })
}

/// Checks that [`atomic_write`] to `path` can succeed now: its directory exists or can be
/// created, a file can be created and written there (a one-byte probe, removed at once),
/// and `path` is not something else than a file. For finding a read-only or full state
/// directory *before* work that would be lost, not a guarantee for later.
///
/// # Errors
///
/// The I/O error that a write would meet.
pub fn check_writable(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        )
    })?;
    if path.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            format!("{} is a directory", path.display()),
        ));
    }
    let dir = parent_dir(path);
    create_private_dir_all(&dir)?;
    let probe = temp_path(&dir, file_name);
    let result = write_new_private(&probe, b"\n");
    let _ = fs::remove_file(&probe);
    result
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn temp_path(dir: &Path, file_name: &std::ffi::OsStr) -> PathBuf {
    let mut name = OsString::from(".");
    name.push(file_name);
    name.push(format!(".{:016x}.tmp", OsRng.next_u64()));
    dir.join(name)
}

fn write_new_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        atomic_write(&path, b"one").unwrap();
        atomic_write(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("state.json")]);
    }

    #[cfg(unix)]
    #[test]
    fn owner_only_permissions_for_file_and_new_dirs() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("b").join("state.json");
        atomic_write(&path, b"x").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&dir.path().join("a").join("b")), 0o700);

        // An existing file with wider permissions is replaced by an owner-only one.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        atomic_write(&path, b"y").unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn path_that_is_a_directory_fails_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("taken");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inner"), b"keep").unwrap();
        assert!(atomic_write(&target, b"x").is_err());
        assert!(target.is_dir());
        assert_eq!(fs::read(target.join("inner")).unwrap(), b"keep");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("taken")]);
    }

    #[test]
    fn path_without_file_name_is_invalid_input() {
        let err = atomic_write("/", b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
