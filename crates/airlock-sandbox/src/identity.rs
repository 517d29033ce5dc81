//! [`SandboxIdentity`]: the secrets and keys that make a sandbox recognizable across restarts.

use std::fmt;

use base64::Engine as _;
use rand::RngCore as _;
use sha2::Digest as _;
use zeroize::Zeroizing;

/// The credentials and keys of a sandbox: the app's client secret, the user's PAT, the
/// approver and control bearer tokens, and the simulated approver's Ed25519 signing key and
/// X25519 key.
///
/// A fresh sandbox makes a random one. Give the same identity to a sandbox restarted on the
/// same port ([`SandboxConfigBuilder::identity`](crate::SandboxConfigBuilder::identity)) and
/// the same clients, PAT and approver keys keep working (pairings themselves live in memory
/// and do not survive, unless kept by
/// [`SandboxConfigBuilder::state_dir`](crate::SandboxConfigBuilder::state_dir)). [`Sandbox::identity`](crate::Sandbox::identity) returns the identity
/// in use; [`SandboxIdentity::from_seed`] derives one reproducibly.
///
/// Holds secrets: `Debug` prints none of them, they are zeroized on drop, and there is no
/// `PartialEq`.
#[derive(Clone)]
pub struct SandboxIdentity {
    pub(crate) client_secret: Zeroizing<String>,
    pub(crate) pat: Zeroizing<String>,
    pub(crate) approver_token: Zeroizing<String>,
    pub(crate) control_token: Zeroizing<String>,
    pub(crate) approver_signing_seed: Zeroizing<[u8; 32]>,
    pub(crate) approver_x25519: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for SandboxIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxIdentity").finish_non_exhaustive()
    }
}

impl SandboxIdentity {
    /// A random identity (what a sandbox uses unless given one).
    pub fn generate() -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(seed.as_mut());
        Self::from_seed(&seed)
    }

    /// The identity derived from `seed`: the same seed always gives the same secrets and
    /// keys (each is SHA-256 of a purpose label and the seed). Keep the seed secret like
    /// the credentials it yields.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let part = |label: &str| -> Zeroizing<[u8; 32]> {
            let mut h = sha2::Sha256::new();
            h.update(b"airlock-sandbox identity v1\0");
            h.update(label.as_bytes());
            h.update([0u8]);
            h.update(seed);
            Zeroizing::new(h.finalize().into())
        };
        let token = |prefix: &str, label: &str| {
            let bytes = part(label);
            Zeroizing::new(format!(
                "{prefix}{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref())
            ))
        };
        Self {
            client_secret: token("sbx_secret_", "client-secret"),
            pat: token("airpat_sbx_", "pat"),
            approver_token: token("sbx_approver_", "approver-token"),
            control_token: token("sbx_control_", "control-token"),
            approver_signing_seed: part("approver-ed25519"),
            approver_x25519: part("approver-x25519"),
        }
    }

    /// The confidential app's client secret.
    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// The sandbox user's personal access token.
    pub fn pat(&self) -> &str {
        &self.pat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_reproducible_and_distinct() {
        let a = SandboxIdentity::from_seed(&[7; 32]);
        let b = SandboxIdentity::from_seed(&[7; 32]);
        let c = SandboxIdentity::from_seed(&[8; 32]);
        assert_eq!(a.pat(), b.pat());
        assert_eq!(*a.approver_signing_seed, *b.approver_signing_seed);
        assert_ne!(a.pat(), c.pat());
        assert_ne!(*a.approver_x25519, *a.approver_signing_seed);
        assert!(a.pat().starts_with("airpat_sbx_"));
        assert_ne!(
            SandboxIdentity::generate().pat(),
            SandboxIdentity::generate().pat()
        );
        let debug = format!("{a:?}");
        assert!(!debug.contains(a.pat()) && !debug.contains(a.client_secret()));
    }
}
