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
use std::path::{Path, PathBuf};

use airlock::profile::{
    CONFIG_DIR_ENV, CONFIG_FILE, CREDENTIALS_FILE, JOURNAL_FILE, PAIRING_FILE, TOKENS_FILE,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The formats of `config.json` and `credentials.json`: the library's, which
/// `airlock::Profile` reads too.
pub(crate) use airlock::profile::{Config, Credentials};

use crate::exit::{CliError, Exit, chain};

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
        airlock::profile::default_dir()
            .map(|root| Self { root })
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
        self.root.join(TOKENS_FILE)
    }

    pub(crate) fn pairing_path(&self) -> PathBuf {
        self.root.join(PAIRING_FILE)
    }

    pub(crate) fn journal_path(&self) -> PathBuf {
        self.root.join(JOURNAL_FILE)
    }

    pub(crate) fn read<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T, CliError> {
        airlock::profile::read_json(&self.root, name)
            .map_err(|e| CliError::new(Exit::Failure, chain(&e)))
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
        self.read(CONFIG_FILE)
    }

    pub(crate) fn save_config(&self, config: &Config) -> Result<(), CliError> {
        self.write(CONFIG_FILE, config)
    }

    pub(crate) fn credentials(&self) -> Result<Credentials, CliError> {
        self.read(CREDENTIALS_FILE)
    }

    pub(crate) fn save_credentials(&self, credentials: &Credentials) -> Result<(), CliError> {
        self.write(CREDENTIALS_FILE, credentials)
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
        let mut config = Config::default();
        config.gateway_url = Some("http://127.0.0.1:1".into());
        config.client_id = Some("app".into());
        state.save_config(&config).unwrap();
        assert_eq!(state.config().unwrap(), config);
        let mut credentials = Credentials::default();
        credentials.client_secret = Some(Zeroizing::new("s3cret".into()));
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
