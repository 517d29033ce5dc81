//! Token persistence: the [`TokenStore`] trait, [`MemoryTokenStore`] and
//! [`FileTokenStore`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use airlock_http::{BoxFuture, SecretToken};
use zeroize::Zeroizing;

use crate::TokenSet;

/// Why a [`TokenStore`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading or writing the backing storage failed.
    #[error("token store I/O failed on {path}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The stored data is not a token set this version understands.
    #[error("stored tokens in {path} are unreadable: {message}")]
    Corrupt {
        /// The file involved.
        path: PathBuf,
        /// What is wrong (never the content).
        message: String,
    },
    /// A custom store's own failure.
    #[error("token store failed: {0}")]
    Other(String),
}

/// Where a session keeps its tokens between runs.
///
/// `save` must be durable when it returns: a rotated refresh token is saved before it is
/// used, because reusing the previous one makes providers revoke the whole grant.
pub trait TokenStore: Send + Sync + fmt::Debug + 'static {
    /// Loads the saved tokens, `None` when there are none.
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, StoreError>>;
    /// Replaces the saved tokens.
    fn save<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Deletes the saved tokens (no error when there are none).
    fn clear(&self) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Takes the store's refresh lock, shared with every process using the same store, and
    /// holds it until the returned guard is dropped: an [`AuthSession`](crate::AuthSession)
    /// refreshes under it, after loading the tokens again, so a rotating refresh token is
    /// never used twice by two processes. The default (a store of one process) has no such
    /// lock: `None`.
    fn lock_refresh(&self) -> BoxFuture<'_, Result<Option<RefreshLock>, StoreError>> {
        Box::pin(std::future::ready(Ok(None)))
    }
}

/// A held refresh lock of a [`TokenStore`] ([`TokenStore::lock_refresh`]); released on drop.
#[derive(Debug)]
pub struct RefreshLock {
    _lock: airlock_crypto::fs::FileLock,
}

/// Keeps tokens in memory only (lost when the process exits).
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<Option<TokenSet>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<TokenSet>> {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, StoreError>> {
        let tokens = self.slot().clone();
        Box::pin(async move { Ok(tokens) })
    }
    fn save<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), StoreError>> {
        *self.slot() = Some(tokens.clone());
        Box::pin(async { Ok(()) })
    }
    fn clear(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        *self.slot() = None;
        Box::pin(async { Ok(()) })
    }
}

/// Keeps tokens in a JSON file readable by its owner only (mode `0600` on Unix), written
/// atomically with [`airlock_crypto::fs::atomic_write`]: a temporary file in the same
/// directory is written, fsynced, renamed over the target, and the directory is fsynced.
/// File I/O runs on tokio's blocking pool.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// A store backed by `path` (created on first save; its directory must exist or be
    /// creatable).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file this store writes.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The file format (version 1). Secrets live in zeroizing strings.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredTokens {
    version: u32,
    access_token: Zeroizing<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<Zeroizing<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<Zeroizing<String>>,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default)]
    scopes: Vec<String>,
}

const FORMAT_VERSION: u32 = 1;

fn encode(tokens: &TokenSet) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let stored = StoredTokens {
        version: FORMAT_VERSION,
        access_token: Zeroizing::new(tokens.access_token().expose_secret().to_owned()),
        refresh_token: tokens
            .refresh_token()
            .map(|t| Zeroizing::new(t.expose_secret().to_owned())),
        id_token: tokens
            .id_token()
            .map(|t| Zeroizing::new(t.expose_secret().to_owned())),
        expires_at: tokens.expires_at().map(|t| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs()
        }),
        scopes: tokens.scopes().to_vec(),
    };
    serde_json::to_vec_pretty(&stored)
        .map(Zeroizing::new)
        .map_err(|e| StoreError::Other(format!("could not encode tokens: {e}")))
}

fn decode(path: &Path, bytes: &[u8]) -> Result<TokenSet, StoreError> {
    let corrupt = |message: String| StoreError::Corrupt {
        path: path.to_owned(),
        message,
    };
    let stored: StoredTokens = serde_json::from_slice(bytes)
        .map_err(|e| corrupt(format!("invalid JSON at line {}", e.line())))?;
    if stored.version != FORMAT_VERSION {
        return Err(corrupt(format!("unsupported version {}", stored.version)));
    }
    let mut set =
        TokenSet::new(SecretToken::new(stored.access_token.as_str())).with_scopes(stored.scopes);
    if let Some(r) = &stored.refresh_token {
        set = set.with_refresh_token(SecretToken::new(r.as_str()));
    }
    if let Some(i) = &stored.id_token {
        set = set.with_id_token(SecretToken::new(i.as_str()));
    }
    if let Some(secs) = stored.expires_at {
        set = set.with_expires_at(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
    }
    Ok(set)
}

async fn blocking<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce(PathBuf) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || f(owned))
        .await
        .map_err(|e| StoreError::Io {
            path: path.to_owned(),
            source: std::io::Error::other(e.to_string()),
        })?
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, StoreError>> {
        Box::pin(blocking(&self.path, |path| match std::fs::read(&path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                decode(&path, &bytes).map(Some)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io { path, source }),
        }))
    }

    fn save<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), StoreError>> {
        let bytes = encode(tokens);
        Box::pin(blocking(&self.path, move |path| {
            let bytes = bytes?;
            airlock_crypto::fs::atomic_write(&path, &bytes)
                .map_err(|source| StoreError::Io { path, source })
        }))
    }

    /// An advisory lock on `<path>.lock`.
    fn lock_refresh(&self) -> BoxFuture<'_, Result<Option<RefreshLock>, StoreError>> {
        Box::pin(blocking(&self.path, |path| {
            let mut lock_path = path.clone().into_os_string();
            lock_path.push(".lock");
            airlock_crypto::fs::lock_exclusive(&lock_path)
                .map(|lock| Some(RefreshLock { _lock: lock }))
                .map_err(|source| StoreError::Io { path, source })
        }))
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(blocking(&self.path, |path| {
            match std::fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(source) => Err(StoreError::Io { path, source }),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TokenSet {
        TokenSet::new("acc".into())
            .with_refresh_token("ref".into())
            .with_id_token("idt".into())
            .with_expires_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
            .with_scopes(["openid", "offline_access"])
    }

    fn assert_same(a: &TokenSet, b: &TokenSet) {
        assert_eq!(
            a.access_token().expose_secret(),
            b.access_token().expose_secret()
        );
        assert_eq!(
            a.refresh_token().map(SecretToken::expose_secret),
            b.refresh_token().map(SecretToken::expose_secret)
        );
        assert_eq!(
            a.id_token().map(SecretToken::expose_secret),
            b.id_token().map(SecretToken::expose_secret)
        );
        assert_eq!(a.expires_at(), b.expires_at());
        assert_eq!(a.scopes(), b.scopes());
    }

    #[tokio::test]
    async fn memory_store_round_trip() {
        let store = MemoryTokenStore::new();
        assert!(store.load().await.unwrap().is_none());
        store.save(&sample()).await.unwrap();
        assert_same(&store.load().await.unwrap().unwrap(), &sample());
        store.clear().await.unwrap();
        assert!(store.load().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn file_store_round_trip_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path().join("sub/tokens.json"));
        assert!(store.load().await.unwrap().is_none());
        store.save(&sample()).await.unwrap();
        store.save(&sample()).await.unwrap();
        assert_same(&store.load().await.unwrap().unwrap(), &sample());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temp files left behind.
        let entries: Vec<_> = std::fs::read_dir(dir.path().join("sub")).unwrap().collect();
        assert_eq!(entries.len(), 1);
        store.clear().await.unwrap();
        store.clear().await.unwrap();
        assert!(store.load().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn corrupt_file_is_a_typed_error_without_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, b"{\"version\":1,\"access_token\":\"secret-x\"").unwrap();
        let err = FileTokenStore::new(&path).load().await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }));
        assert!(!err.to_string().contains("secret-x"));
        std::fs::write(&path, b"{\"version\":9,\"access_token\":\"a\"}").unwrap();
        let err = FileTokenStore::new(&path).load().await.unwrap_err();
        assert!(err.to_string().contains("unsupported version 9"));
    }
}
