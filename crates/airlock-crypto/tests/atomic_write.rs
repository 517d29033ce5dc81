//! `fs::atomic_write` under hostile conditions: a permissive umask, a symlink planted at the
//! target, a failing write. (A full disk was checked by hand on an 8 KiB tmpfs: the error is
//! `StorageFull`, the old content stays and no temporary file is left; mounting needs root,
//! so it is not part of the suite.)

#![cfg(unix)]

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::Command;

use airlock_crypto::fs::atomic_write;

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The child half of `owner_only_even_with_umask_000`: runs in a process whose umask is 000.
#[test]
#[ignore = "run by owner_only_even_with_umask_000 in a child process"]
fn umask_child() {
    let Ok(dir) = std::env::var("AIRLOCK_UMASK_CHILD_DIR") else {
        return;
    };
    let path = Path::new(&dir).join("new").join("state.json");
    atomic_write(&path, b"secret").unwrap();
}

#[test]
fn owner_only_even_with_umask_000() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("sh")
        .arg("-c")
        .arg(r#"umask 000 && exec "$0" umask_child --exact --ignored --quiet"#)
        .arg(&exe)
        .env("AIRLOCK_UMASK_CHILD_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let path = dir.path().join("new").join("state.json");
    assert_eq!(fs::read(&path).unwrap(), b"secret");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("new")), 0o700);
}

/// A symlink planted at the target path (e.g. by another user of a shared directory) is
/// replaced by the new file; the file it pointed to is neither written nor re-permissioned.
#[test]
fn a_symlink_at_the_target_is_replaced_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, b"do not touch").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();
    let path = dir.path().join("state.json");
    std::os::unix::fs::symlink(&victim, &path).unwrap();

    atomic_write(&path, b"new").unwrap();

    assert!(fs::symlink_metadata(&path).unwrap().file_type().is_file());
    assert_eq!(fs::read(&path).unwrap(), b"new");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(fs::read(&victim).unwrap(), b"do not touch");
    assert_eq!(mode(&victim), 0o644);
    assert_eq!(names(dir.path()), ["state.json", "victim"]);
}

/// A failing write (here: the target is a non-empty directory, so the rename fails) leaves
/// the old state and no temporary file; a hard link to the old file keeps its content.
#[test]
fn failures_leave_no_temporary_file_and_hard_links_keep_the_old_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    atomic_write(&path, b"v1").unwrap();
    let link = dir.path().join("link");
    fs::hard_link(&path, &link).unwrap();
    atomic_write(&path, b"v2").unwrap();
    // The rename put a new inode in place: the old one (and its link) is untouched.
    assert_eq!(fs::read(&link).unwrap(), b"v1");
    assert_ne!(
        fs::metadata(&path).unwrap().ino(),
        fs::metadata(&link).unwrap().ino()
    );

    let taken = dir.path().join("taken");
    fs::create_dir(&taken).unwrap();
    fs::write(taken.join("x"), b"").unwrap();
    assert!(atomic_write(&taken, b"v").is_err());
    assert_eq!(names(dir.path()), ["link", "state.json", "taken"]);
}
