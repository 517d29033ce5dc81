//! Replay journals: remember which decisions were already used.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One remembered fact, e.g. "signer `k1` used nonce `n1`".
///
/// Keys are namespaced tuples of strings, stored as a JSON array text so that no two
/// different tuples share a key (`("a|b","c")` and `("a","b|c")` stay distinct).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReplayKey(String);

impl ReplayKey {
    /// A key in namespace `kind` made of `parts`.
    #[must_use]
    pub fn new(kind: &str, parts: &[&str]) -> Self {
        let mut all = Vec::with_capacity(parts.len() + 1);
        all.push(kind);
        all.extend_from_slice(parts);
        // Serializing a slice of strings to JSON cannot fail.
        Self(serde_json::to_string(&all).unwrap_or_default())
    }

    /// The pair (`signerKeyId`, `nonce`) of a decision.
    #[must_use]
    pub fn signer_nonce(signer_key_id: &str, nonce: &str) -> Self {
        Self::new("signer-nonce", &[signer_key_id, nonce])
    }

    /// The pair (`requestId`, `artifactHash`) of a decision.
    #[must_use]
    pub fn request_artifact(request_id: &str, artifact_hash: &str) -> Self {
        Self::new("request-artifact", &[request_id, artifact_hash])
    }

    /// The key's text form (a JSON array of strings).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplayKey({})", self.0)
    }
}

impl fmt::Display for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a journal refused or failed to record keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A key was already recorded and has not expired: this is a replay. Nothing was
    /// recorded.
    #[error("replay detected: {key} was already used")]
    Replayed {
        /// The first key found already used.
        key: ReplayKey,
    },
    /// The journal file exists but is not a valid journal. It is never silently reset:
    /// inspect or remove it yourself.
    #[error("replay journal {path} is corrupt")]
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: serde_json::Error,
    },
    /// Reading or writing the journal file failed. On a write failure nothing was
    /// recorded.
    #[error("replay journal {path}: I/O error")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

impl ReplayError {
    /// Whether this is a detected replay (as opposed to a storage failure).
    #[must_use]
    pub fn is_replay(&self) -> bool {
        matches!(self, Self::Replayed { .. })
    }
}

/// Remembers used keys until they expire.
///
/// Implementations must be atomic per call: either every key is new (or expired) and all
/// are recorded with `retain_until`, or nothing is recorded and the call fails.
pub trait ReplayJournal: Send + Sync + fmt::Debug {
    /// Records `keys` until `retain_until`, unless one of them is already recorded with an
    /// expiry after `now`, in which case nothing is recorded and
    /// [`ReplayError::Replayed`] is returned. Entries expired at `now` are pruned.
    ///
    /// # Errors
    ///
    /// [`ReplayError::Replayed`], or a storage failure.
    fn check_and_record(
        &self,
        keys: &[ReplayKey],
        retain_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), ReplayError>;

    /// Checks that a record could be stored now, so a caller can refuse to ask a human for
    /// a decision it could not accept. The default (in-memory journals) always can.
    ///
    /// # Errors
    ///
    /// The storage failure a record would meet.
    fn check_writable(&self) -> Result<(), ReplayError> {
        Ok(())
    }
}

/// Expiry as whole Unix seconds, rounded up so an entry never expires early.
fn until_seconds(t: OffsetDateTime) -> i64 {
    let secs = t.unix_timestamp();
    if t.nanosecond() > 0 {
        secs.saturating_add(1)
    } else {
        secs
    }
}

/// The shared journal logic: prune, check, record. Returns the first replayed key.
fn apply(
    entries: &mut HashMap<ReplayKey, i64>,
    keys: &[ReplayKey],
    retain_until: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), ReplayError> {
    let now_secs = now.unix_timestamp();
    // An entry is live while its expiry is strictly after `now`.
    entries.retain(|_, until| *until > now_secs);
    if let Some(key) = keys.iter().find(|k| entries.contains_key(*k)) {
        return Err(ReplayError::Replayed { key: key.clone() });
    }
    let until = until_seconds(retain_until);
    for key in keys {
        entries.insert(key.clone(), until);
    }
    Ok(())
}

/// The entries of a journal behind a mutex: the state shared by both journals.
#[derive(Debug, Default)]
struct Entries(Mutex<HashMap<ReplayKey, i64>>);

impl Entries {
    fn lock(&self) -> MutexGuard<'_, HashMap<ReplayKey, i64>> {
        // The guarded state is only replaced wholesale after success, so it is consistent
        // even if another thread panicked while holding the lock.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `len` and `is_empty` of a journal type over its [`Entries`].
macro_rules! entry_counts {
    ($journal:ty) => {
        impl $journal {
            /// Number of entries held (including expired ones not yet pruned).
            #[must_use]
            pub fn len(&self) -> usize {
                self.entries.lock().len()
            }

            /// Whether the journal holds no entries.
            #[must_use]
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }
        }
    };
}

/// An in-memory journal. Forgets everything on restart; use [`FileReplayJournal`] when a
/// restart must not reopen the replay window.
#[derive(Debug, Default)]
pub struct MemoryReplayJournal {
    entries: Entries,
}

impl MemoryReplayJournal {
    /// An empty journal.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

entry_counts!(MemoryReplayJournal);

impl ReplayJournal for MemoryReplayJournal {
    fn check_and_record(
        &self,
        keys: &[ReplayKey],
        retain_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), ReplayError> {
        apply(&mut self.entries.lock(), keys, retain_until, now)
    }
}

/// The on-disk form of the journal.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalFile {
    version: u32,
    /// Key → expiry in Unix seconds.
    entries: Vec<JournalEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalEntry {
    key: ReplayKey,
    until: i64,
}

const JOURNAL_VERSION: u32 = 1;

/// A journal kept in a JSON file, so a restart does not reopen the replay window, shared
/// safely by the processes that use the same file.
///
/// Every record takes an advisory lock on a lock file next to the journal (`<path>.lock`),
/// re-reads the journal, checks and records, and rewrites it whole, atomically and with
/// owner-only permissions ([`crate::fs::atomic_write`]) before releasing the lock: many
/// processes recording at once lose nothing, and a key recorded by one is a replay for all.
/// If the write fails, the call fails and nothing is recorded.
#[derive(Debug)]
pub struct FileReplayJournal {
    path: PathBuf,
    lock_path: PathBuf,
    /// The entries as of the last read or record (for [`len`](Self::len)).
    entries: Entries,
}

impl FileReplayJournal {
    /// Opens the journal at `path`, loading it if it exists. A missing file is an empty
    /// journal (created on the first record, with its parent directory `0700` if needed).
    ///
    /// # Errors
    ///
    /// [`ReplayError::Corrupt`] when the file is not a valid journal,
    /// [`ReplayError::Io`] when it cannot be read. Neither resets the file.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, ReplayError> {
        let path = path.into();
        let mut lock_path = path.clone().into_os_string();
        lock_path.push(".lock");
        let journal = Self {
            lock_path: lock_path.into(),
            entries: Entries::default(),
            path,
        };
        *journal.entries.lock() = journal.read()?;
        Ok(journal)
    }

    /// The journal file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, source: io::Error) -> ReplayError {
        ReplayError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// The entries on disk now (none when the file does not exist).
    fn read(&self) -> Result<HashMap<ReplayKey, i64>, ReplayError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => parse_journal(&bytes).map_err(|source| ReplayError::Corrupt {
                path: self.path.clone(),
                source,
            }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(HashMap::new()),
            Err(source) => Err(self.io_error(source)),
        }
    }
}

entry_counts!(FileReplayJournal);

fn parse_journal(bytes: &[u8]) -> Result<HashMap<ReplayKey, i64>, serde_json::Error> {
    let file: JournalFile = serde_json::from_slice(bytes)?;
    if file.version != JOURNAL_VERSION {
        return Err(<serde_json::Error as serde::de::Error>::custom(
            format_args!(
                "unsupported journal version {} (expected {JOURNAL_VERSION})",
                file.version
            ),
        ));
    }
    let mut entries = HashMap::with_capacity(file.entries.len());
    for entry in file.entries {
        // Keep the latest expiry if a key appears twice.
        let until = entries.entry(entry.key).or_insert(entry.until);
        *until = (*until).max(entry.until);
    }
    Ok(entries)
}

fn render_journal(entries: &HashMap<ReplayKey, i64>) -> Vec<u8> {
    let mut list: Vec<JournalEntry> = entries
        .iter()
        .map(|(key, until)| JournalEntry {
            key: key.clone(),
            until: *until,
        })
        .collect();
    list.sort_by(|a, b| a.key.cmp(&b.key));
    let file = JournalFile {
        version: JOURNAL_VERSION,
        entries: list,
    };
    // Serializing strings and integers to JSON cannot fail.
    serde_json::to_vec(&file).unwrap_or_default()
}

impl ReplayJournal for FileReplayJournal {
    fn check_and_record(
        &self,
        keys: &[ReplayKey],
        retain_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), ReplayError> {
        // One thread of this process at a time, then one process at a time.
        let mut cached = self.entries.lock();
        let _lock = crate::fs::lock_exclusive(&self.lock_path).map_err(|e| self.io_error(e))?;
        let mut next = self.read()?;
        let result = apply(&mut next, keys, retain_until, now);
        if result.is_ok() {
            crate::fs::atomic_write(&self.path, &render_journal(&next))
                .map_err(|e| self.io_error(e))?;
        }
        *cached = next;
        result
    }

    fn check_writable(&self) -> Result<(), ReplayError> {
        crate::fs::check_writable(&self.path).map_err(|e| self.io_error(e))?;
        crate::fs::lock_exclusive(&self.lock_path).map_err(|e| self.io_error(e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn keys_are_unambiguous() {
        assert_ne!(
            ReplayKey::new("k", &["a|b", "c"]),
            ReplayKey::new("k", &["a", "b|c"])
        );
        assert_ne!(
            ReplayKey::signer_nonce("a", "b"),
            ReplayKey::request_artifact("a", "b")
        );
    }

    #[test]
    fn memory_journal_refuses_replay_and_is_atomic() {
        let j = MemoryReplayJournal::new();
        let a = ReplayKey::signer_nonce("k", "n1");
        let b = ReplayKey::request_artifact("r", "h");
        let c = ReplayKey::signer_nonce("k", "n2");
        j.check_and_record(&[a.clone(), b.clone()], t(600), t(0))
            .unwrap();
        let err = j
            .check_and_record(&[c.clone(), b.clone()], t(600), t(1))
            .unwrap_err();
        assert!(matches!(&err, ReplayError::Replayed { key } if *key == b));
        // `c` was not recorded by the failed call.
        j.check_and_record(std::slice::from_ref(&c), t(600), t(2))
            .unwrap();
        assert_eq!(j.len(), 3);
    }

    #[test]
    fn expired_entries_are_pruned_and_reusable() {
        let j = MemoryReplayJournal::new();
        let a = ReplayKey::signer_nonce("k", "n");
        j.check_and_record(std::slice::from_ref(&a), t(600), t(0))
            .unwrap();
        assert!(
            j.check_and_record(std::slice::from_ref(&a), t(1200), t(599))
                .is_err()
        );
        j.check_and_record(std::slice::from_ref(&a), t(1200), t(600))
            .unwrap();
        j.check_and_record(&[ReplayKey::signer_nonce("k", "m")], t(5000), t(1200))
            .unwrap();
        assert_eq!(j.len(), 1);
    }

    #[test]
    fn retention_rounds_up() {
        let j = MemoryReplayJournal::new();
        let a = ReplayKey::signer_nonce("k", "n");
        j.check_and_record(
            std::slice::from_ref(&a),
            t(10) + Duration::milliseconds(1),
            t(0),
        )
        .unwrap();
        assert!(
            j.check_and_record(std::slice::from_ref(&a), t(20), t(10))
                .is_err()
        );
    }

    #[test]
    fn file_journals_sharing_a_path_see_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let a = FileReplayJournal::open(&path).unwrap();
        let b = FileReplayJournal::open(&path).unwrap();
        let key = ReplayKey::signer_nonce("k", "n");
        a.check_and_record(std::slice::from_ref(&key), t(600), t(0))
            .unwrap();
        // `b` opened before the record, and still sees it: it re-reads under the lock.
        let err = b
            .check_and_record(std::slice::from_ref(&key), t(600), t(1))
            .unwrap_err();
        assert!(err.is_replay(), "{err}");
        b.check_and_record(&[ReplayKey::signer_nonce("k", "m")], t(600), t(1))
            .unwrap();
        assert_eq!(FileReplayJournal::open(&path).unwrap().len(), 2);
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        std::thread::scope(|scope| {
            for w in 0..8 {
                let path = &path;
                scope.spawn(move || {
                    // A journal per writer, as separate processes would have.
                    let j = FileReplayJournal::open(path).unwrap();
                    for n in 0..10 {
                        let key = ReplayKey::signer_nonce("k", &format!("{w}-{n}"));
                        j.check_and_record(&[key], t(600), t(0)).unwrap();
                    }
                });
            }
        });
        assert_eq!(FileReplayJournal::open(&path).unwrap().len(), 80);
    }

    #[test]
    fn check_writable_finds_what_a_record_would_meet() {
        let dir = tempfile::tempdir().unwrap();
        let ok = FileReplayJournal::open(dir.path().join("sub").join("journal")).unwrap();
        ok.check_writable().unwrap();
        // The journal's path is a directory: neither a check nor a record can succeed.
        let path = dir.path().join("journal");
        std::fs::create_dir(&path).unwrap();
        let err = FileReplayJournal::open(&path)
            .map(|j| j.check_writable())
            .and_then(|r| r)
            .unwrap_err();
        assert!(matches!(err, ReplayError::Io { .. }), "{err}");
        // The directory is a file: nothing can be created in it.
        let blocked = dir.path().join("file");
        std::fs::write(&blocked, b"x").unwrap();
        assert!(matches!(
            FileReplayJournal::open(blocked.join("journal")),
            Err(ReplayError::Io { .. })
        ));
    }
}
