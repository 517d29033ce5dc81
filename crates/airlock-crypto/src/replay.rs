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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded state is only replaced wholesale after success, so it is consistent
    // even if another thread panicked while holding the lock.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An in-memory journal. Forgets everything on restart; use [`FileReplayJournal`] when a
/// restart must not reopen the replay window.
#[derive(Debug, Default)]
pub struct MemoryReplayJournal {
    entries: Mutex<HashMap<ReplayKey, i64>>,
}

impl MemoryReplayJournal {
    /// An empty journal.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries held (including expired ones not yet pruned).
    #[must_use]
    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    /// Whether the journal holds no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReplayJournal for MemoryReplayJournal {
    fn check_and_record(
        &self,
        keys: &[ReplayKey],
        retain_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), ReplayError> {
        apply(&mut lock(&self.entries), keys, retain_until, now)
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

/// A journal kept in a JSON file, so a restart does not reopen the replay window.
///
/// The file is loaded on [`open`](Self::open) and rewritten whole, atomically and with
/// owner-only permissions ([`crate::fs::atomic_write`]), on every successful record. If
/// the write fails, the call fails and the in-memory state is unchanged.
///
/// One journal file belongs to one process: two processes writing the same file would
/// lose each other's entries (there is no cross-process lock).
#[derive(Debug)]
pub struct FileReplayJournal {
    path: PathBuf,
    entries: Mutex<HashMap<ReplayKey, i64>>,
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
        let entries = match std::fs::read(&path) {
            Ok(bytes) => parse_journal(&bytes).map_err(|source| ReplayError::Corrupt {
                path: path.clone(),
                source,
            })?,
            Err(err) if err.kind() == io::ErrorKind::NotFound => HashMap::new(),
            Err(source) => return Err(ReplayError::Io { path, source }),
        };
        Ok(Self {
            path,
            entries: Mutex::new(entries),
        })
    }

    /// The journal file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of entries held (including expired ones not yet pruned).
    #[must_use]
    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    /// Whether the journal holds no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

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
        let mut guard = lock(&self.entries);
        let mut next = guard.clone();
        apply(&mut next, keys, retain_until, now)?;
        crate::fs::atomic_write(&self.path, &render_journal(&next)).map_err(|source| {
            ReplayError::Io {
                path: self.path.clone(),
                source,
            }
        })?;
        *guard = next;
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
}
