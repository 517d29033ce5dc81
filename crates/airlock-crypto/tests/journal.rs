//! The file-backed replay journal.

use std::fs;

use airlock_crypto::{FileReplayJournal, ReplayError, ReplayJournal, ReplayKey};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-02-24 10:00:00 UTC);
const LATER: OffsetDateTime = datetime!(2026-02-24 10:10:00 UTC);

fn key(n: &str) -> ReplayKey {
    ReplayKey::signer_nonce("key-phone", n)
}

#[test]
fn survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.json");
    let journal = FileReplayJournal::open(&path).unwrap();
    assert!(journal.is_empty());
    assert!(!path.exists(), "nothing is written before the first record");
    journal
        .check_and_record(&[key("a"), key("b")], LATER, NOW)
        .unwrap();
    drop(journal);

    let journal = FileReplayJournal::open(&path).unwrap();
    assert_eq!(journal.len(), 2);
    let err = journal
        .check_and_record(&[key("c"), key("b")], LATER, NOW)
        .unwrap_err();
    assert!(
        matches!(&err, ReplayError::Replayed { key: k } if *k == key("b")),
        "{err:?}"
    );
    assert!(err.is_replay());
    // `c` was not recorded, on disk either.
    drop(journal);
    let journal = FileReplayJournal::open(&path).unwrap();
    journal.check_and_record(&[key("c")], LATER, NOW).unwrap();

    // Expired entries are pruned from the file on the next write.
    journal
        .check_and_record(&[key("d")], datetime!(2026-02-24 10:30:00 UTC), LATER)
        .unwrap();
    drop(journal);
    assert_eq!(FileReplayJournal::open(&path).unwrap().len(), 1);
}

#[test]
fn creates_parent_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("state")
        .join("airlock")
        .join("journal.json");
    let journal = FileReplayJournal::open(&path).unwrap();
    journal.check_and_record(&[key("a")], LATER, NOW).unwrap();
    assert!(path.is_file());
    assert_eq!(journal.path(), path);
}

#[cfg(unix)]
#[test]
fn file_and_new_directory_are_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("new");
    let path = parent.join("journal.json");
    FileReplayJournal::open(&path)
        .unwrap()
        .check_and_record(&[key("a")], LATER, NOW)
        .unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::metadata(&parent).unwrap().permissions().mode() & 0o777,
        0o700
    );
}

#[test]
fn corrupt_file_is_a_typed_error_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.json");
    for content in [
        &b"{ this is not json"[..],
        br#"{"version":1,"entries":[{"key":"x"}]}"#,
        br#"{"version":2,"entries":[]}"#,
        br#"[]"#,
        b"",
    ] {
        fs::write(&path, content).unwrap();
        let err = FileReplayJournal::open(&path).unwrap_err();
        assert!(matches!(err, ReplayError::Corrupt { .. }), "{err:?}");
        assert_eq!(fs::read(&path).unwrap(), content, "never reset");
    }
}

#[test]
fn unreadable_path_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be cannot be read as a journal.
    let err = FileReplayJournal::open(dir.path()).unwrap_err();
    assert!(matches!(err, ReplayError::Io { .. }), "{err:?}");
}

#[test]
fn failing_write_is_a_typed_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.json");
    let journal = FileReplayJournal::open(&path).unwrap();
    journal.check_and_record(&[key("a")], LATER, NOW).unwrap();
    let before = fs::read(&path).unwrap();

    // Make every write fail: replace the file by a non-empty directory.
    fs::remove_file(&path).unwrap();
    fs::create_dir(&path).unwrap();
    fs::write(path.join("occupant"), b"x").unwrap();
    let err = journal
        .check_and_record(&[key("b")], LATER, NOW)
        .unwrap_err();
    assert!(matches!(err, ReplayError::Io { .. }), "{err:?}");
    assert!(!err.is_replay());
    // `b` was not recorded; while the journal cannot be read, even a key it holds is
    // refused (the file, shared with other processes, is the truth: fail closed).
    assert_eq!(journal.len(), 1);
    assert!(journal.check_and_record(&[key("a")], LATER, NOW).is_err());
    // Once the file is back, `a` is a replay again.
    fs::remove_dir_all(&path).unwrap();
    fs::write(&path, &before).unwrap();
    assert!(
        journal
            .check_and_record(&[key("a")], LATER, NOW)
            .unwrap_err()
            .is_replay()
    );

    // Writes work again: `b` can be recorded; `a` is still remembered.
    journal.check_and_record(&[key("b")], LATER, NOW).unwrap();
    drop(journal);
    let journal = FileReplayJournal::open(&path).unwrap();
    assert_eq!(journal.len(), 2);
}

#[test]
fn failing_write_under_a_file_parent() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    fs::write(&blocker, b"x").unwrap();
    // Already opening it fails: the path cannot exist.
    let err = FileReplayJournal::open(blocker.join("journal.json")).unwrap_err();
    assert!(matches!(err, ReplayError::Io { .. }), "{err:?}");
    assert_eq!(fs::read(&blocker).unwrap(), b"x");
}

#[test]
fn journals_are_usable_as_trait_objects_across_threads() {
    let dir = tempfile::tempdir().unwrap();
    let journal: std::sync::Arc<dyn ReplayJournal> =
        std::sync::Arc::new(FileReplayJournal::open(dir.path().join("j.json")).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let journal = journal.clone();
            std::thread::spawn(move || {
                journal
                    .check_and_record(&[key("same"), key(&i.to_string())], LATER, NOW)
                    .is_ok()
            })
        })
        .collect();
    let successes = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|ok| *ok)
        .count();
    assert_eq!(
        successes, 1,
        "exactly one of the racing records of the same key wins"
    );
}
