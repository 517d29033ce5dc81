//! Service endpoints: echo, discovery, consent and presence.

use serde::{Deserialize, Deserializer, Serialize};

use crate::macros::wire_enum;
use crate::serde_util::null_as_default;
use crate::timestamp::Timestamp;

/// `GET /echo`: the gateway's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EchoResponse {
    /// The gateway's time in UTC.
    pub utc: Timestamp,
    /// The gateway's local time, kept as sent (it carries the local offset).
    #[serde(default, deserialize_with = "null_as_default")]
    pub local: String,
    /// The gateway's time zone name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub timezone: String,
    /// The gateway's UTC offset in minutes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub offset_minutes: i32,
}

impl EchoResponse {
    /// An echo of `utc` in the UTC zone.
    #[must_use]
    pub fn utc(utc: Timestamp) -> Self {
        Self {
            utc,
            local: utc.to_string(),
            timezone: "UTC".to_owned(),
            offset_minutes: 0,
        }
    }
}

/// `GET /v1/integrations/discovery`: where to sign users in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IntegrationsDiscovery {
    /// The identity provider.
    pub idp: IdpInfo,
    /// Which user credentials the gateway takes (all `false` when absent).
    #[serde(default, deserialize_with = "null_as_default")]
    pub auth: AuthInfo,
}

impl IntegrationsDiscovery {
    /// A discovery document.
    #[must_use]
    pub fn new(idp: IdpInfo, auth: AuthInfo) -> Self {
        Self { idp, auth }
    }
}

/// The identity provider of [`IntegrationsDiscovery`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IdpInfo {
    /// The OIDC realm URL (the issuer); discovery is at
    /// `{base_url}/.well-known/openid-configuration`.
    pub base_url: String,
    /// The OAuth client id; [`IdpInfo::DEFAULT_CLIENT_ID`] when absent or `null`.
    #[serde(
        default = "default_client_id",
        deserialize_with = "client_id_or_default"
    )]
    pub client_id: String,
}

impl IdpInfo {
    /// The client id used when discovery does not name one.
    pub const DEFAULT_CLIENT_ID: &'static str = "airlock-integrations";

    /// An identity provider at `base_url` with `client_id`.
    #[must_use]
    pub fn new(base_url: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            client_id: client_id.into(),
        }
    }

    /// The OIDC discovery URL, `{base_url}/.well-known/openid-configuration`.
    #[must_use]
    pub fn openid_configuration_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.base_url.trim_end_matches('/')
        )
    }
}

fn default_client_id() -> String {
    IdpInfo::DEFAULT_CLIENT_ID.to_owned()
}

fn client_id_or_default<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?
        .filter(|id| !id.is_empty())
        .unwrap_or_else(default_client_id))
}

/// The user-credential options of [`IntegrationsDiscovery`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AuthInfo {
    /// Whether Personal Access Tokens (`X-PAT`) are accepted.
    #[serde(default, deserialize_with = "null_as_default")]
    pub pat_supported: bool,
}

impl AuthInfo {
    /// Auth options.
    #[must_use]
    pub fn new(pat_supported: bool) -> Self {
        Self { pat_supported }
    }
}

wire_enum! {
    /// The user's consent to the enforcer app. Read case-insensitively.
    pub enum ConsentStatus {
        /// Consent given (`Allowed`; `approved`, `granted` read as this too).
        Allowed = "Allowed" | "approved" | "granted",
        /// The consent request waits for the user.
        Pending = "Pending",
        /// The user denied consent.
        Denied = "Denied" | "rejected",
        /// The user has not been asked yet; consent is required.
        Required = "Required" | "consent_required",
        /// Consent was given and later revoked.
        Revoked = "Revoked",
    }
}

impl ConsentStatus {
    /// Whether the enforcer may proceed.
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed)
    }
}

/// `GET /v1/consent/status` (success); refusals come as a [`FlatError`](crate::FlatError).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ConsentStatusResponse {
    /// The consent status.
    pub status: ConsentStatus,
    /// Where the user grants consent, when not allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_url: Option<String>,
    /// The app's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// The app's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
}

impl ConsentStatusResponse {
    /// A status without the optional fields.
    #[must_use]
    pub fn new(status: ConsentStatus) -> Self {
        Self {
            status,
            consent_url: None,
            app_name: None,
            app_id: None,
        }
    }
}

/// `POST /v1/presence/heartbeat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HeartbeatRequest {
    /// The enforcer's id.
    pub enforcer_id: String,
    /// The workspace name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_name: Option<String>,
    /// The enforcer label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcer_label: Option<String>,
}

impl HeartbeatRequest {
    /// How often to send a heartbeat while paired (recommended): 30 seconds.
    pub const RECOMMENDED_INTERVAL: core::time::Duration = core::time::Duration::from_secs(30);

    /// A heartbeat for `enforcer_id`.
    #[must_use]
    pub fn new(enforcer_id: impl Into<String>) -> Self {
        Self {
            enforcer_id: enforcer_id.into(),
            workspace_name: None,
            enforcer_label: None,
        }
    }

    /// Sets the workspace name.
    #[must_use]
    pub fn with_workspace_name(mut self, name: impl Into<String>) -> Self {
        self.workspace_name = Some(name.into());
        self
    }

    /// Sets the enforcer label.
    #[must_use]
    pub fn with_enforcer_label(mut self, label: impl Into<String>) -> Self {
        self.enforcer_label = Some(label.into());
        self
    }
}
