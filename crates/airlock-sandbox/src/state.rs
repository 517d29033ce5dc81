//! The state file of [`crate::SandboxConfig::state_dir`]: what a sandbox needs to come back
//! as itself after a restart — the seed of its identity (client secret, PAT, tokens,
//! approver keys), its port, and its pairings. Written atomically, owner-only
//! (`airlock_crypto::fs::atomic_write`); a file that does not read is an error, never a reset.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::SandboxError;
use crate::gateway::SavedPairing;

/// The file name inside the state directory.
const FILE: &str = "sandbox.json";
const VERSION: u32 = 1;

/// The state file's content.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SavedState {
    version: u32,
    /// The identity seed, base64url.
    seed: String,
    pub(crate) port: u16,
    #[serde(default)]
    pub(crate) pairings: Vec<SavedPairing>,
}

impl Drop for SavedState {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.seed.zeroize();
    }
}

impl SavedState {
    pub(crate) fn new(seed: &[u8; 32], port: u16, pairings: Vec<SavedPairing>) -> Self {
        Self {
            version: VERSION,
            seed: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(seed),
            port,
            pairings,
        }
    }

    /// The identity seed.
    pub(crate) fn seed(&self) -> Option<Zeroizing<[u8; 32]>> {
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&self.seed)
                .ok()?,
        );
        let mut seed = Zeroizing::new([0u8; 32]);
        (bytes.len() == 32).then(|| {
            seed.copy_from_slice(&bytes);
            seed
        })
    }
}

/// The state file of `dir`.
pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Reads the state of `dir`: `None` when there is none yet.
///
/// # Errors
///
/// [`SandboxError::State`] when the file cannot be read or does not parse.
pub(crate) fn load(dir: &Path) -> Result<Option<SavedState>, SandboxError> {
    let path = path(dir);
    let bytes = match std::fs::read(&path) {
        Ok(b) => Zeroizing::new(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SandboxError::state(&path, e.to_string())),
    };
    let state: SavedState = serde_json::from_slice(&bytes).map_err(|e| {
        SandboxError::state(
            &path,
            format!("not a sandbox state file ({e}); move it away to start afresh"),
        )
    })?;
    if state.version != VERSION {
        return Err(SandboxError::state(
            &path,
            format!("state version {} is not {VERSION}", state.version),
        ));
    }
    if state.seed().is_none() {
        return Err(SandboxError::state(
            &path,
            "the identity seed does not read",
        ));
    }
    Ok(Some(state))
}

/// Writes the state of `dir`, atomically and owner-only.
///
/// # Errors
///
/// [`SandboxError::State`] when it cannot be written.
pub(crate) fn save(dir: &Path, state: &SavedState) -> Result<(), SandboxError> {
    let path = path(dir);
    let bytes = Zeroizing::new(
        serde_json::to_vec_pretty(state).map_err(|e| SandboxError::state(&path, e.to_string()))?,
    );
    airlock_crypto::fs::atomic_write(&path, &bytes)
        .map_err(|e| SandboxError::state(&path, format!("cannot write: {e}")))
}
