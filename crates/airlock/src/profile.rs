//! What `airlock login` and `airlock pair` stored, for an SDK program: the CLI's config
//! directory, its file formats, and a [`Profile`] that builds the same signed-in
//! [`GatewayClient`] the CLI uses.
//!
//! The directory is `$AIRLOCK_CONFIG_DIR` when set, else `<user config dir>/airlock`
//! (`~/.config/airlock` on Linux, `~/Library/Application Support/airlock` on macOS,
//! `%APPDATA%\airlock` on Windows). Its files, each written atomically and owner-only:
//!
//! | file | content |
//! |---|---|
//! | `config.json` | [`Config`]: gateway URL, client id, enforcer id, workspace, OIDC issuer (no secrets) |
//! | `credentials.json` | [`Credentials`]: client secret and PAT |
//! | `tokens.json` | OAuth tokens ([`FileTokenStore`]) |
//! | `pairing.json` | the pairing, with this enforcer's X25519 secret ([`Pairing::save`]) |
//! | `replay-journal` | decisions already seen ([`FileReplayJournal`]) |
//!
//! A [`Profile`] reads the stored state only: the CLI's flags and `AIRLOCK_*` environment
//! overrides (other than `AIRLOCK_CONFIG_DIR`) are the CLI's, not the profile's.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use airlock_auth::{AuthClient, AuthConfig, AuthSession, FileTokenStore};
use airlock_crypto::FileReplayJournal;
use airlock_gateway::{GatewayClient, Pairing};
use airlock_http::{BoxFuture, SecretToken, TokenSource, TokenSourceError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The environment variable that overrides the config directory.
pub const CONFIG_DIR_ENV: &str = "AIRLOCK_CONFIG_DIR";
/// The production gateway, used when none is configured.
pub const DEFAULT_GATEWAY_URL: &str = "https://igw.airlocks.io";
/// The non-secret configuration's file.
pub const CONFIG_FILE: &str = "config.json";
/// The secrets' file.
pub const CREDENTIALS_FILE: &str = "credentials.json";
/// The OAuth tokens' file.
pub const TOKENS_FILE: &str = "tokens.json";
/// The pairing's file.
pub const PAIRING_FILE: &str = "pairing.json";
/// The replay journal's file.
pub const JOURNAL_FILE: &str = "replay-journal";

/// The non-secret configuration (`config.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Config {
    /// The gateway base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_url: Option<String>,
    /// The enforcer app's client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// This enforcer's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcer_id: Option<String>,
    /// The workspace pinned with `airlock config set workspace` (else it follows the
    /// current directory). The `workspaceName` that `login` used to freeze is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// The OIDC issuer of an OAuth sign-in (`login --device`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_url: Option<String>,
    /// The OIDC client id of an OAuth sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_client_id: Option<String>,
    /// Whether the OAuth client authenticates with a secret (`Credentials::oauth_client_secret`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub oauth_confidential: bool,
}

/// The secrets (`credentials.json`): redacted in `Debug`, zeroized on drop.
#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Credentials {
    /// The enforcer app's client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Zeroizing<String>>,
    /// The user's personal access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pat: Option<Zeroizing<String>>,
    /// The secret of a confidential OpenID client (`login --device --issuer ... --client-secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_client_secret: Option<Zeroizing<String>>,
    /// The nonce of the last pairing started, by which `status --check` asks the gateway
    /// whether the stored pairing still holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing_nonce: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |s: &Option<Zeroizing<String>>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("Credentials")
            .field("client_secret", &redact(&self.client_secret))
            .field("pat", &redact(&self.pat))
            .field("oauth_client_secret", &redact(&self.oauth_client_secret))
            .field(
                "pairing_nonce",
                &self.pairing_nonce.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The default config directory: `$AIRLOCK_CONFIG_DIR`, else `<user config dir>/airlock`;
/// `None` when the system has no user config directory.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(dir.into());
    }
    dirs::config_dir().map(|d| d.join("airlock"))
}

/// This machine's host name, best effort (the default enforcer id is `airlock-cli-<host>`).
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The current directory's name: the workspace unless one is pinned.
pub fn current_dir_name() -> Option<String> {
    std::env::current_dir()
        .ok()?
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
}

/// Reads the JSON file `name` of `dir`; a missing file is the default value.
pub fn read_json<T: DeserializeOwned + Default>(dir: &Path, name: &str) -> Result<T, ProfileError> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            serde_json::from_slice(&bytes).map_err(|e| ProfileError::Corrupt {
                file: path,
                source: Box::new(e),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(ProfileError::Io {
            file: path,
            source: e,
        }),
    }
}

/// Why a [`Profile`] could not be loaded or could not build a client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// `$AIRLOCK_CONFIG_DIR` is unset and the system has no user config directory.
    #[error("no config directory on this system: set {CONFIG_DIR_ENV}")]
    NoDefaultDirectory,
    /// The config directory does not exist: the CLI never signed in there.
    #[error("no airlock config directory at {}: run `airlock login`", dir.display())]
    MissingDirectory {
        /// The directory looked for.
        dir: PathBuf,
    },
    /// Nobody is signed in (no PAT, no OAuth session), or the app's credentials are missing.
    #[error("not signed in ({what}) in {}: run `airlock login --pat TOKEN` or `airlock login --device`", dir.display())]
    NotSignedIn {
        /// The config directory.
        dir: PathBuf,
        /// What is missing.
        what: &'static str,
    },
    /// No pairing is stored.
    #[error("not paired in {}: run `airlock pair`", dir.display())]
    NotPaired {
        /// The config directory.
        dir: PathBuf,
    },
    /// A file is not valid (fix or delete it).
    #[error("{} is not valid (fix or delete it)", file.display())]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// What is wrong with it.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file could not be read.
    #[error("cannot read {}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The gateway client could not be configured (e.g. a stored gateway URL over plain
    /// `http://` to a host that is not loopback).
    #[error("cannot configure the gateway client")]
    Client(#[source] airlock_gateway::Error),
}

/// What `airlock login` and `airlock pair` stored in a config directory.
///
/// ```no_run
/// use std::time::Duration;
/// use airlock::prelude::*;
/// use airlock::profile::Profile;
///
/// # async fn gate() -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
/// let profile = Profile::load()?; // `airlock login` + `airlock pair` ran on this machine
/// let client = profile.client()?;
/// let action = CommandAction::new("git push");
/// let pending = client
///     .encrypt_and_submit(profile.pairing()?, &action, SubmitOptions::new())
///     .await?;
/// let outcome = client
///     .await_decision(&pending, AwaitOptions::new(Duration::from_secs(600)))
///     .await?;
/// Ok(outcome.is_approved()) // only a verified approval from the paired approver
/// # }
/// ```
///
/// `Debug` shows no secret.
#[derive(Debug)]
pub struct Profile {
    dir: PathBuf,
    config: Config,
    credentials: Credentials,
    pairing: Option<Pairing>,
}

impl Profile {
    /// Loads the default config directory ([`default_dir`]: the CLI's).
    pub fn load() -> Result<Self, ProfileError> {
        Self::load_from(default_dir().ok_or(ProfileError::NoDefaultDirectory)?)
    }

    /// Loads the config directory `dir`.
    pub fn load_from(dir: impl Into<PathBuf>) -> Result<Self, ProfileError> {
        let dir = dir.into();
        if !dir.is_dir() {
            return Err(ProfileError::MissingDirectory { dir });
        }
        let config = read_json(&dir, CONFIG_FILE)?;
        let credentials = read_json(&dir, CREDENTIALS_FILE)?;
        let path = dir.join(PAIRING_FILE);
        let pairing = if path.exists() {
            Some(Pairing::load(&path).map_err(|e| ProfileError::Corrupt {
                file: path,
                source: Box::new(e),
            })?)
        } else {
            None
        };
        Ok(Self {
            dir,
            config,
            credentials,
            pairing,
        })
    }

    /// The config directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The stored configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The gateway URL (stored, else [`DEFAULT_GATEWAY_URL`]).
    pub fn gateway_url(&self) -> &str {
        self.config
            .gateway_url
            .as_deref()
            .unwrap_or(DEFAULT_GATEWAY_URL)
    }

    /// This enforcer's id (stored, else `airlock-cli-<host>`, as the CLI does).
    pub fn enforcer_id(&self) -> String {
        self.config
            .enforcer_id
            .clone()
            .unwrap_or_else(|| format!("airlock-cli-{}", host_name()))
    }

    /// The workspace: pinned with `airlock config set workspace`, else the current
    /// directory's name, else `default` (as the CLI does).
    pub fn workspace(&self) -> String {
        self.config
            .workspace
            .clone()
            .or_else(current_dir_name)
            .unwrap_or_else(|| "default".to_owned())
    }

    /// The stored pairing; [`ProfileError::NotPaired`] when `airlock pair` has not run.
    pub fn pairing(&self) -> Result<&Pairing, ProfileError> {
        self.pairing
            .as_ref()
            .ok_or_else(|| ProfileError::NotPaired {
                dir: self.dir.clone(),
            })
    }

    /// A client signed in as the CLI is: the app credentials, the enforcer id, the stored
    /// PAT (else the refreshing OAuth session over `tokens.json`), and the CLI's replay
    /// journal, so that a decision seen by either is refused by the other.
    pub fn client(&self) -> Result<GatewayClient, ProfileError> {
        let not_signed_in = |what| ProfileError::NotSignedIn {
            dir: self.dir.clone(),
            what,
        };
        let client_id = self
            .config
            .client_id
            .clone()
            .ok_or_else(|| not_signed_in("no client id"))?;
        let secret = self
            .credentials
            .client_secret
            .as_ref()
            .ok_or_else(|| not_signed_in("no client secret"))?;
        let journal_path = self.dir.join(JOURNAL_FILE);
        let journal =
            FileReplayJournal::open(&journal_path).map_err(|e| ProfileError::Corrupt {
                file: journal_path,
                source: Box::new(e),
            })?;
        let builder = GatewayClient::builder(self.gateway_url())
            .client_credentials(client_id, SecretToken::new(secret.as_str()))
            .enforcer_id(self.enforcer_id())
            .replay_journal(Arc::new(journal));
        let builder = if let Some(pat) = &self.credentials.pat {
            builder.pat(SecretToken::new(pat.as_str()))
        } else {
            builder.token_source(Arc::new(
                self.oauth()?
                    .ok_or_else(|| not_signed_in("no PAT, no OAuth session"))?,
            ))
        };
        builder.build().map_err(ProfileError::Client)
    }

    /// The OAuth session over `tokens.json`, opened on first use; `None` without an OAuth
    /// sign-in.
    fn oauth(&self) -> Result<Option<LazySession>, ProfileError> {
        let (Some(issuer), Some(client_id)) =
            (&self.config.issuer_url, &self.config.oauth_client_id)
        else {
            return Ok(None);
        };
        let tokens = self.dir.join(TOKENS_FILE);
        if !tokens.exists() {
            return Ok(None);
        }
        let mut config =
            AuthConfig::new(issuer, client_id.clone()).map_err(|e| ProfileError::Corrupt {
                file: self.dir.join(CONFIG_FILE),
                source: Box::new(e),
            })?;
        if self.config.oauth_confidential
            && let Some(secret) = &self.credentials.oauth_client_secret
        {
            config = config.with_client_secret(SecretToken::new(secret.as_str()));
        }
        Ok(Some(LazySession {
            client: AuthClient::new(config),
            store: FileTokenStore::new(tokens),
            session: tokio::sync::OnceCell::new(),
        }))
    }
}

/// An [`AuthSession`] opened (its token file read) on the first request, so that
/// [`Profile::client`] need not be async.
#[derive(Debug)]
struct LazySession {
    client: AuthClient,
    store: FileTokenStore,
    session: tokio::sync::OnceCell<AuthSession>,
}

impl TokenSource for LazySession {
    fn access_token(
        &self,
        force_refresh: bool,
    ) -> BoxFuture<'_, Result<SecretToken, TokenSourceError>> {
        Box::pin(async move {
            let session = self
                .session
                .get_or_try_init(|| {
                    AuthSession::open(self.client.clone(), Arc::new(self.store.clone()))
                })
                .await
                .map_err(|e| TokenSourceError {
                    message: e.to_string(),
                    source: Some(Box::new(e)),
                })?;
            TokenSource::access_token(session, force_refresh).await
        })
    }
}
