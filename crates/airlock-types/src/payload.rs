use serde::{Deserialize, Serialize};

/// An AES-256-GCM ciphertext in the gateway's wire form:
/// `{"alg":"AES-256-GCM","data":b64,"nonce":b64,"tag":b64}` with standard, padded base64.
///
/// Readers accept a missing `tag` (then the tag is appended to `data`) and an optional `aad`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EncryptedPayload {
    /// The algorithm, `AES-256-GCM`.
    pub alg: String,
    /// The ciphertext (standard base64).
    pub data: String,
    /// The 12-byte nonce (standard base64).
    pub nonce: String,
    /// The 16-byte tag (standard base64); absent when appended to `data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Additional authenticated data (standard base64), when used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<String>,
}

impl EncryptedPayload {
    /// The algorithm name on the wire.
    pub const ALG_AES_256_GCM: &'static str = "AES-256-GCM";

    /// Builds the wire form from its base64 parts.
    pub fn new(data: String, nonce: String, tag: Option<String>) -> Self {
        Self {
            alg: Self::ALG_AES_256_GCM.to_owned(),
            data,
            nonce,
            tag,
            aad: None,
        }
    }
}
