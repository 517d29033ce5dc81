//! Local state under the config directory (`$AIRLOCK_CONFIG_DIR`, else
//! `<user config dir>/airlock`): every file written atomically with owner-only permissions.
//!
//! | file | content |
//! |---|---|
//! | `config.json` | gateway URL, client id, enforcer id, workspace, OIDC issuer (no secrets) |
//! | `credentials.json` | client secret and PAT |
//! | `tokens.json` | OAuth tokens (`airlock_auth::FileTokenStore`) |
//! | `pairing.json` | the pairing, with this enforcer's X25519 secret (`Pairing::save`) |
//! | `replay-journal` | decisions already seen (`FileReplayJournal`) |
//! | `patterns.json` | auto-approve patterns per workspace |

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::exit::{CliError, Exit};

/// The environment variable that overrides the config directory.
pub(crate) const CONFIG_DIR_ENV: &str = "AIRLOCK_CONFIG_DIR";

/// The non-secret configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) gateway_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) enforcer_id: Option<String>,
    /// The workspace pinned with `airlock config set workspace` (else it follows the
    /// current directory). The `workspaceName` that `login` used to freeze is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) workspace: Option<String>,
    /// The OIDC issuer of an OAuth sign-in (`login --device`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) issuer_url: Option<String>,
    /// The OIDC client id of an OAuth sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) oauth_client_id: Option<String>,
    /// Whether the OAuth client authenticates with a secret (`Credentials::oauth_client_secret`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) oauth_confidential: bool,
}

/// Secrets: redacted in `Debug`, zeroized on drop.
#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Credentials {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) client_secret: Option<Zeroizing<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pat: Option<Zeroizing<String>>,
    /// The secret of a confidential OpenID client (`login --device --issuer ... --client-secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) oauth_client_secret: Option<Zeroizing<String>>,
    /// The nonce of the last pairing started, by which `status --check` asks the gateway
    /// whether the stored pairing still holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pairing_nonce: Option<String>,
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

/// Auto-approve patterns, per workspace name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Patterns {
    #[serde(default)]
    pub(crate) workspaces: BTreeMap<String, Vec<String>>,
}

/// The workspaces whose Do-Not-Disturb approvals the user trusts on this machine
/// (`airlock dnd trust on`); deny policies are honoured everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DndTrust {
    #[serde(default)]
    pub(crate) workspaces: BTreeSet<String>,
}

/// The config directory and its files.
#[derive(Debug, Clone)]
pub(crate) struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// `$AIRLOCK_CONFIG_DIR`, else `<user config dir>/airlock`.
    pub(crate) fn locate() -> Result<Self, CliError> {
        if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
            return Ok(Self { root: dir.into() });
        }
        dirs::config_dir()
            .map(|d| Self {
                root: d.join("airlock"),
            })
            .ok_or_else(|| {
                CliError::new(
                    Exit::Failure,
                    format!("no config directory on this system: set {CONFIG_DIR_ENV}"),
                )
            })
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn tokens_path(&self) -> PathBuf {
        self.root.join("tokens.json")
    }

    pub(crate) fn pairing_path(&self) -> PathBuf {
        self.root.join("pairing.json")
    }

    pub(crate) fn journal_path(&self) -> PathBuf {
        self.root.join("replay-journal")
    }

    pub(crate) fn read<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T, CliError> {
        let path = self.root.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                serde_json::from_slice(&bytes).map_err(|e| {
                    CliError::new(
                        Exit::Failure,
                        format!("{} is not valid: {e} (fix or delete it)", path.display()),
                    )
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
            Err(e) => Err(CliError::new(
                Exit::Failure,
                format!("cannot read {}: {e}", path.display()),
            )),
        }
    }

    fn write<T: Serialize>(&self, name: &str, value: &T) -> Result<(), CliError> {
        let path = self.root.join(name);
        let json = Zeroizing::new(serde_json::to_vec_pretty(value).map_err(|e| {
            CliError::new(
                Exit::Failure,
                format!("cannot encode {}: {e}", path.display()),
            )
        })?);
        airlock::crypto::fs::atomic_write(&path, &json).map_err(|e| {
            CliError::new(
                Exit::Failure,
                format!("cannot write {}: {e}", path.display()),
            )
        })
    }

    pub(crate) fn config(&self) -> Result<Config, CliError> {
        self.read("config.json")
    }

    pub(crate) fn save_config(&self, config: &Config) -> Result<(), CliError> {
        self.write("config.json", config)
    }

    pub(crate) fn credentials(&self) -> Result<Credentials, CliError> {
        self.read("credentials.json")
    }

    pub(crate) fn save_credentials(&self, credentials: &Credentials) -> Result<(), CliError> {
        self.write("credentials.json", credentials)
    }

    pub(crate) fn patterns(&self) -> Result<Patterns, CliError> {
        self.read("patterns.json")
    }

    pub(crate) fn save_patterns(&self, patterns: &Patterns) -> Result<(), CliError> {
        self.write("patterns.json", patterns)
    }

    pub(crate) fn dnd_trust(&self) -> Result<DndTrust, CliError> {
        self.read("dnd-trust.json")
    }

    pub(crate) fn save_dnd_trust(&self, trust: &DndTrust) -> Result<(), CliError> {
        self.write("dnd-trust.json", trust)
    }

    /// Whether DND approvals are trusted for `workspace` (default: no).
    pub(crate) fn dnd_trusted(&self, workspace: &str) -> Result<bool, CliError> {
        Ok(self.dnd_trust()?.workspaces.contains(workspace))
    }

    /// Removes a state file; a missing file is fine.
    pub(crate) fn remove(&self, path: &Path) -> Result<(), CliError> {
        match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CliError::new(
                Exit::Failure,
                format!("cannot remove {}: {e}", path.display()),
            )),
        }
    }

    /// The stored pairing, if any.
    pub(crate) fn pairing(&self) -> Result<Option<airlock::gateway::Pairing>, CliError> {
        let path = self.pairing_path();
        if !path.exists() {
            return Ok(None);
        }
        airlock::gateway::Pairing::load(&path)
            .map(Some)
            .map_err(|e| CliError::new(Exit::Failure, crate::exit::chain(&e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir {
            root: dir.path().join("nested"),
        };
        assert_eq!(state.config().unwrap(), Config::default());
        let config = Config {
            gateway_url: Some("http://127.0.0.1:1".into()),
            client_id: Some("app".into()),
            ..Config::default()
        };
        state.save_config(&config).unwrap();
        assert_eq!(state.config().unwrap(), config);
        let credentials = Credentials {
            client_secret: Some(Zeroizing::new("s3cret".into())),
            ..Credentials::default()
        };
        assert!(!format!("{credentials:?}").contains("s3cret"));
        state.save_credentials(&credentials).unwrap();
        let back = state.credentials().unwrap();
        assert_eq!(
            back.client_secret.as_deref().map(String::as_str),
            Some("s3cret")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(state.root().join("credentials.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(state.root().join("config.json"), b"{not json").unwrap();
        assert_eq!(state.config().unwrap_err().exit, Exit::Failure);
    }
}
