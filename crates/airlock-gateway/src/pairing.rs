//! Pairing an enforcer with an approver, and the stored result: [`Pairing`].

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use airlock_crypto::{
    E2eKey, Ed25519PublicKey, TrustedSigners, X25519PublicKey, X25519SecretKey,
    verify_pairing_response,
};
use airlock_types::{
    PairingClaimRequest, PairingInitiateRequest, PairingRevokeRequest, PairingRevokeResponse,
    PairingState, Timestamp,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::GatewayClient;
use crate::error::{Error, PairingEnd, VerificationError};

/// How often a pairing session's status is polled by default: every 2 seconds, the
/// gateway's terms (60 requests a minute per app leave room for the rest of the flow).
/// A `429` or `503` is waited out as its `Retry-After` asks, other failures back off.
pub const DEFAULT_PAIRING_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// How to pair.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PairingMode {
    /// Start a new session; the user types the code we get into the approver app.
    New,
    /// Claim a code the approver app generated.
    Claim(String),
}

/// What [`GatewayClient::start_pairing`] needs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PairingRequest {
    /// The enforcer's id; `None`: the client's default
    /// ([`GatewayClientBuilder::enforcer_id`](crate::GatewayClientBuilder::enforcer_id)).
    pub enforcer_id: Option<String>,
    /// A label shown to the approver (default: the enforcer id when claiming).
    pub label: Option<String>,
    /// The workspace name shown to the approver.
    pub workspace: Option<String>,
    /// New session or claim.
    pub mode: PairingMode,
    /// A stable id of this device (default: the enforcer id).
    pub device_id: Option<String>,
    /// The gateway URL to tell the approver (default: none).
    pub gateway_url: Option<String>,
    /// How often to poll the session status (default [`DEFAULT_PAIRING_POLL_INTERVAL`];
    /// shorter only against a gateway of your own, such as a sandbox in tests).
    pub poll_interval: Duration,
}

impl Default for PairingRequest {
    /// A new pairing session for the client's default enforcer id
    /// ([`GatewayClientBuilder::enforcer_id`](crate::GatewayClientBuilder::enforcer_id)).
    fn default() -> Self {
        Self {
            enforcer_id: None,
            label: None,
            workspace: None,
            mode: PairingMode::New,
            device_id: None,
            gateway_url: None,
            poll_interval: DEFAULT_PAIRING_POLL_INTERVAL,
        }
    }
}

impl PairingRequest {
    /// A new pairing session for `enforcer_id`.
    pub fn new(enforcer_id: impl Into<String>) -> Self {
        Self::default().enforcer_id(enforcer_id)
    }

    /// Claims the approver-generated `code` for `enforcer_id`.
    pub fn claim(enforcer_id: impl Into<String>, code: impl Into<String>) -> Self {
        Self::new(enforcer_id).claiming(code)
    }

    /// Sets the enforcer id (instead of the client's default).
    #[must_use]
    pub fn enforcer_id(mut self, enforcer_id: impl Into<String>) -> Self {
        self.enforcer_id = Some(enforcer_id.into());
        self
    }

    /// Claims the approver-generated `code` instead of starting a new session.
    #[must_use]
    pub fn claiming(mut self, code: impl Into<String>) -> Self {
        self.mode = PairingMode::Claim(code.into());
        self
    }

    /// Sets the label.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the workspace name.
    #[must_use]
    pub fn workspace(mut self, workspace: impl Into<String>) -> Self {
        self.workspace = Some(workspace.into());
        self
    }

    /// Sets the device id.
    #[must_use]
    pub fn device_id(mut self, device_id: impl Into<String>) -> Self {
        self.device_id = Some(device_id.into());
        self
    }

    /// Sets the gateway URL given to the approver.
    #[must_use]
    pub fn gateway_url(mut self, url: impl Into<String>) -> Self {
        self.gateway_url = Some(url.into());
        self
    }

    /// Sets the status poll interval.
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }
}

/// A pairing session in progress: show [`code`](Self::code) to the user, then
/// [`wait`](Self::wait).
pub struct PairingSession {
    client: GatewayClient,
    secret: X25519SecretKey,
    enforcer_id: String,
    nonce: String,
    code: Option<String>,
    expires_at: Timestamp,
    routing_token: Option<String>,
    label: Option<String>,
    workspace: Option<String>,
    poll_interval: Duration,
}

impl fmt::Debug for PairingSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairingSession")
            .field("enforcer_id", &self.enforcer_id)
            .field("nonce", &self.nonce)
            .field("code", &self.code)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl PairingSession {
    /// The code the user types into the approver app (`None` when claiming a code).
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
    /// The session nonce (the approver's response must carry it).
    pub fn nonce(&self) -> &str {
        &self.nonce
    }
    /// When the session expires.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// Polls the session until it completes, ends, or `timeout` passes; verifies the
    /// approver's signed response (signature and nonce binding) and derives the end-to-end
    /// key.
    ///
    /// Errors: [`Error::PairingEnded`] (revoked, or expired: the session expired or nobody
    /// completed it within `timeout`), [`Error::Verification`] (a response that does not verify: never trusted).
    /// Transient failures while polling are ridden out.
    pub async fn wait(self, timeout: Duration) -> Result<Pairing, Error> {
        // The nonce identifies the session; the code (what the user types) is not logged.
        let span = tracing::debug_span!("airlock_pairing_wait", nonce = %self.nonce);
        tracing::Instrument::instrument(self.wait_inner(timeout), span).await
    }

    async fn wait_inner(self, timeout: Duration) -> Result<Pairing, Error> {
        let deadline = Instant::now() + timeout;
        let mut failures: u32 = 0;
        let mut retry_after = None;
        loop {
            match self.client.raw().get_pairing_status(&self.nonce).await {
                Ok(status) => {
                    failures = 0;
                    match status.state {
                        PairingState::Completed => {
                            return self.complete(status.response_json, status.routing_token);
                        }
                        PairingState::Expired => {
                            return Err(Error::PairingEnded(PairingEnd::Expired));
                        }
                        PairingState::Revoked => {
                            return Err(Error::PairingEnded(PairingEnd::Revoked));
                        }
                        _ => {}
                    }
                }
                Err(e) if e.is_expired() => return Err(Error::PairingEnded(PairingEnd::Expired)),
                Err(e) if e.is_pairing_revoked() => {
                    return Err(Error::PairingEnded(PairingEnd::Revoked));
                }
                Err(e) if e.is_transient() => {
                    failures = failures.saturating_add(1);
                    retry_after = e.retry_after();
                    tracing::debug!(error = %e, "transient failure while polling the pairing status");
                }
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::PairingEnded(PairingEnd::Expired));
            }
            let delay = if failures > 0 {
                self.client
                    .retry_policy()
                    .delay(retry_after, failures)
                    .max(self.poll_interval)
            } else {
                self.poll_interval
            };
            tokio::time::sleep(delay.min(deadline - now)).await;
        }
    }

    fn complete(
        self,
        response_json: Option<String>,
        routing_token: Option<String>,
    ) -> Result<Pairing, Error> {
        let incomplete = |what: &str| {
            Error::Verification(Box::new(VerificationError::IncompletePairing(
                what.to_owned(),
            )))
        };
        let response_json =
            response_json.ok_or_else(|| incomplete("the completed session has no responseJson"))?;
        let approver = verify_pairing_response(&response_json, &self.nonce)
            .map_err(|e| Error::Verification(Box::new(VerificationError::Pairing(e))))?;
        let approver_x25519 = approver.x25519_public_key.ok_or_else(|| {
            incomplete("the approver sent no X25519 key: end-to-end encryption is impossible")
        })?;
        let routing_token = routing_token
            .or(self.routing_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| incomplete("the completed session has no routing token"))?;
        let e2e = E2eKey::derive(&self.secret, &approver_x25519).map_err(|e| Error::Crypto {
            message: format!("end-to-end key agreement failed: {e}"),
        })?;
        Ok(Pairing {
            inner: Arc::new(PairingInner {
                routing_token,
                enforcer_id: self.enforcer_id,
                signer_key_id: approver.signer_key_id,
                signer_public_key: approver.signing_key,
                approver_x25519,
                fingerprint: approver.fingerprint,
                paired_at: Timestamp::now(),
                workspace_name: self.workspace,
                enforcer_label: self.label,
                secret: self.secret,
                e2e,
            }),
        })
    }
}

impl GatewayClient {
    /// Starts pairing: generates this enforcer's X25519 key, then initiates a session (or
    /// claims the approver's code). Show [`PairingSession::code`] to the user, then call
    /// [`PairingSession::wait`].
    pub async fn start_pairing(&self, request: PairingRequest) -> Result<PairingSession, Error> {
        let enforcer_id = self.resolve_enforcer_id(request.enforcer_id.as_deref())?;
        let secret = X25519SecretKey::generate();
        let public = secret.public_key().to_base64url();
        let device_id = request
            .device_id
            .clone()
            .unwrap_or_else(|| enforcer_id.clone());
        let (nonce, code, expires_at, routing_token) = match &request.mode {
            PairingMode::New => {
                let mut r = PairingInitiateRequest::new(device_id, enforcer_id.clone())
                    .with_x25519_public_key(public);
                r.enforcer_label.clone_from(&request.label);
                r.workspace_name.clone_from(&request.workspace);
                r.gateway_url.clone_from(&request.gateway_url);
                let resp = self.raw().initiate_pairing(&r).await?;
                (
                    resp.pairing_nonce,
                    Some(resp.pairing_code),
                    resp.expires_at,
                    None,
                )
            }
            PairingMode::Claim(code) => {
                let mut r = PairingClaimRequest::new(
                    code.clone(),
                    device_id,
                    enforcer_id.clone(),
                    request.label.clone().unwrap_or_else(|| enforcer_id.clone()),
                    request.workspace.clone().unwrap_or_default(),
                )
                .with_x25519_public_key(public);
                r.gateway_url.clone_from(&request.gateway_url);
                let resp = self.raw().claim_pairing(&r).await?;
                (
                    resp.pairing_nonce,
                    None,
                    resp.expires_at,
                    resp.routing_token,
                )
            }
        };
        if nonce.is_empty() {
            return Err(Error::Verification(Box::new(
                VerificationError::IncompletePairing(
                    "the gateway returned an empty pairing nonce".to_owned(),
                ),
            )));
        }
        Ok(PairingSession {
            client: self.clone(),
            secret,
            enforcer_id,
            nonce,
            code,
            expires_at,
            routing_token,
            label: request.label,
            workspace: request.workspace,
            poll_interval: request.poll_interval,
        })
    }

    /// The whole pairing flow: [`start_pairing`](Self::start_pairing), `on_code` with the
    /// session (show its code), then [`PairingSession::wait`] up to `timeout`.
    pub async fn pair(
        &self,
        request: PairingRequest,
        timeout: Duration,
        on_code: impl FnOnce(&PairingSession),
    ) -> Result<Pairing, Error> {
        let session = self.start_pairing(request).await?;
        on_code(&session);
        session.wait(timeout).await
    }

    /// Revokes `pairing` on the gateway (`POST /v1/pairing/revoke`).
    pub async fn unpair(&self, pairing: &Pairing) -> Result<PairingRevokeResponse, Error> {
        self.raw()
            .revoke_pairing(&PairingRevokeRequest::new(pairing.routing_token()))
            .await
    }
}

/// A completed, verified pairing: the approver's signing key, the end-to-end key, and the
/// routing token.
///
/// Cheap to clone (shared). Secrets (this enforcer's X25519 key, the end-to-end key, the
/// routing token) are redacted in `Debug` and zeroized when the last clone drops. Serializes
/// (serde) to a JSON document that contains the X25519 secret: store it only with
/// [`Pairing::save`] (atomic, owner-only) or an equally protected store.
#[derive(Clone)]
pub struct Pairing {
    inner: Arc<PairingInner>,
}

struct PairingInner {
    routing_token: String,
    enforcer_id: String,
    signer_key_id: String,
    signer_public_key: Ed25519PublicKey,
    approver_x25519: X25519PublicKey,
    fingerprint: String,
    paired_at: Timestamp,
    workspace_name: Option<String>,
    enforcer_label: Option<String>,
    secret: X25519SecretKey,
    e2e: E2eKey,
}

impl Drop for PairingInner {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.routing_token.zeroize();
    }
}

impl fmt::Debug for Pairing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Pairing")
            .field("enforcer_id", &i.enforcer_id)
            .field("routing_token", &"<redacted>")
            .field("signer_key_id", &i.signer_key_id)
            .field("fingerprint", &i.fingerprint)
            .field("paired_at", &i.paired_at)
            .field("workspace_name", &i.workspace_name)
            .finish_non_exhaustive()
    }
}

impl Pairing {
    /// The routing token the gateway routes artifacts by.
    pub fn routing_token(&self) -> &str {
        &self.inner.routing_token
    }
    /// This enforcer's id.
    pub fn enforcer_id(&self) -> &str {
        &self.inner.enforcer_id
    }
    /// The approver's signer key id.
    pub fn signer_key_id(&self) -> &str {
        &self.inner.signer_key_id
    }
    /// The approver's Ed25519 signing key.
    pub fn signer_public_key(&self) -> &Ed25519PublicKey {
        &self.inner.signer_public_key
    }
    /// The approver's X25519 key.
    pub fn approver_x25519_public_key(&self) -> &X25519PublicKey {
        &self.inner.approver_x25519
    }
    /// This enforcer's X25519 public key.
    pub fn x25519_public_key(&self) -> X25519PublicKey {
        self.inner.secret.public_key()
    }
    /// The fingerprint of the approver's signing key, to show the user.
    pub fn fingerprint(&self) -> &str {
        &self.inner.fingerprint
    }
    /// When the pairing completed.
    pub fn paired_at(&self) -> Timestamp {
        self.inner.paired_at
    }
    /// The workspace name given when pairing.
    pub fn workspace_name(&self) -> Option<&str> {
        self.inner.workspace_name.as_deref()
    }
    /// The enforcer label given when pairing.
    pub fn enforcer_label(&self) -> Option<&str> {
        self.inner.enforcer_label.as_deref()
    }
    /// The signers whose decisions are trusted: the paired approver's key.
    pub fn trusted_signers(&self) -> TrustedSigners {
        TrustedSigners::new().with(
            self.inner.signer_key_id.clone(),
            self.inner.signer_public_key,
        )
    }
    /// The end-to-end key that seals artifacts for the approver.
    pub fn e2e_key(&self) -> &E2eKey {
        &self.inner.e2e
    }

    /// Writes the pairing to `path` atomically with owner-only permissions.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        crate::store::save_json(self, path.as_ref(), "the pairing")
    }

    /// Reads a pairing written by [`Pairing::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        crate::store::load_json(path.as_ref(), "pairing file")
    }
}

/// The stored form of a [`Pairing`].
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PairingFile {
    version: u32,
    enforcer_id: String,
    routing_token: SecretText,
    signer_key_id: String,
    signer_public_key: Ed25519PublicKey,
    approver_x25519_public_key: X25519PublicKey,
    /// This enforcer's X25519 secret, base64url without padding.
    enforcer_x25519_secret_key: SecretText,
    fingerprint: String,
    paired_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workspace_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enforcer_label: Option<String>,
}

const PAIRING_FILE_VERSION: u32 = 1;

/// A string zeroized on drop, (de)serialized as a plain JSON string.
struct SecretText(Zeroizing<String>);

impl Serialize for SecretText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| SecretText(Zeroizing::new(s)))
    }
}

impl Serialize for Pairing {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let i = &self.inner;
        let secret = i.secret.to_bytes();
        PairingFile {
            version: PAIRING_FILE_VERSION,
            enforcer_id: i.enforcer_id.clone(),
            routing_token: SecretText(Zeroizing::new(i.routing_token.clone())),
            signer_key_id: i.signer_key_id.clone(),
            signer_public_key: i.signer_public_key,
            approver_x25519_public_key: i.approver_x25519,
            enforcer_x25519_secret_key: SecretText(Zeroizing::new(
                URL_SAFE_NO_PAD.encode(&secret[..]),
            )),
            fingerprint: i.fingerprint.clone(),
            paired_at: i.paired_at,
            workspace_name: i.workspace_name.clone(),
            enforcer_label: i.enforcer_label.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Pairing {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let file = PairingFile::deserialize(deserializer)?;
        if file.version != PAIRING_FILE_VERSION {
            return Err(D::Error::custom(format!(
                "unsupported pairing file version {}",
                file.version
            )));
        }
        let decoded = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(file.enforcer_x25519_secret_key.0.as_bytes())
                .map_err(|_| D::Error::custom("enforcerX25519SecretKey is not base64url"))?,
        );
        let mut bytes = Zeroizing::new([0u8; 32]);
        if decoded.len() != 32 {
            return Err(D::Error::custom("enforcerX25519SecretKey must be 32 bytes"));
        }
        bytes.copy_from_slice(&decoded);
        let secret = X25519SecretKey::from_bytes(*bytes);
        let e2e = E2eKey::derive(&secret, &file.approver_x25519_public_key)
            .map_err(|e| D::Error::custom(format!("cannot derive the end-to-end key: {e}")))?;
        Ok(Pairing {
            inner: Arc::new(PairingInner {
                routing_token: file.routing_token.0.to_string(),
                enforcer_id: file.enforcer_id,
                signer_key_id: file.signer_key_id,
                signer_public_key: file.signer_public_key,
                approver_x25519: file.approver_x25519_public_key,
                fingerprint: file.signer_public_key.fingerprint(),
                paired_at: file.paired_at,
                workspace_name: file.workspace_name,
                enforcer_label: file.enforcer_label,
                secret,
                e2e,
            }),
        })
    }
}
