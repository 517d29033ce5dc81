//! Resolving the gateway, the app credentials and the user identity from flags, environment
//! and stored state, and building the SDK clients from them.

use std::sync::Arc;

use airlock::auth::{AuthClient, AuthConfig, AuthSession, FileTokenStore};
use airlock::crypto::FileReplayJournal;
use airlock::gateway::{GatewayClient, GatewayClientBuilder};
use airlock::http::{HttpClient, HyperTransport, SecretToken, TokenSource};
use clap::Args;
use zeroize::Zeroizing;

use crate::exit::{CliError, Exit, chain};
use crate::state::{Config, StateDir};

pub(crate) use airlock::profile::{DEFAULT_GATEWAY_URL, current_dir_name, host_name};

/// The environment variable of a PAT that overrides the stored identity.
pub(crate) const PAT_ENV: &str = "AIRLOCK_PAT";

/// Gateway and app credentials: flags, else environment, else the stored configuration.
#[derive(Debug, Clone, Args)]
pub(crate) struct ConnArgs {
    /// The gateway base URL [default: stored, else https://igw.airlocks.io].
    #[arg(long = "gateway", value_name = "URL", env = "AIRLOCK_GATEWAY_URL")]
    pub(crate) gateway_url: Option<String>,
    /// The enforcer app's client id.
    #[arg(long, value_name = "ID", env = "AIRLOCK_CLIENT_ID")]
    pub(crate) client_id: Option<String>,
    /// The enforcer app's client secret.
    #[arg(
        long,
        value_name = "SECRET",
        env = "AIRLOCK_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub(crate) client_secret: Option<String>,
    /// This enforcer's id [default: stored, else airlock-cli-<host>].
    #[arg(long, value_name = "ID", env = "AIRLOCK_ENFORCER_ID")]
    pub(crate) enforcer_id: Option<String>,
    /// The workspace (shown to the approver; selects the auto-approve patterns) [default:
    /// pinned with `airlock config set workspace`, else the current directory's name].
    #[arg(long, value_name = "NAME", env = "AIRLOCK_WORKSPACE")]
    pub(crate) workspace: Option<String>,
}

/// How the user is identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthMethod {
    Pat,
    OAuth,
}

impl AuthMethod {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pat => "pat",
            Self::OAuth => "oauth",
        }
    }
}

/// Everything resolved for one invocation. `Debug` redacts the client secret.
pub(crate) struct Context {
    pub(crate) state: StateDir,
    pub(crate) config: Config,
    pub(crate) gateway_url: String,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<Zeroizing<String>>,
    pub(crate) enforcer_id: String,
    pub(crate) workspace: String,
    pub(crate) http: Arc<dyn HttpClient>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("state", &self.state)
            .field("gateway_url", &self.gateway_url)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("enforcer_id", &self.enforcer_id)
            .field("workspace", &self.workspace)
            .finish_non_exhaustive()
    }
}

/// The gateway of this invocation (the last [`Context::resolve`]d), so that every error
/// about it names it.
static GATEWAY_IN_USE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// The gateway URL of this invocation, once resolved.
pub(crate) fn gateway_in_use() -> Option<String> {
    GATEWAY_IN_USE.lock().map_or(None, |url| url.clone())
}

impl Context {
    /// Resolves `args` against the stored state.
    pub(crate) fn resolve(args: &ConnArgs) -> Result<Self, CliError> {
        let state = StateDir::locate()?;
        let config = state.config()?;
        let credentials = state.credentials()?;
        let gateway_url = args
            .gateway_url
            .clone()
            .or_else(|| config.gateway_url.clone())
            .unwrap_or_else(|| DEFAULT_GATEWAY_URL.to_owned());
        let client_id = args.client_id.clone().or_else(|| config.client_id.clone());
        let client_secret = args
            .client_secret
            .clone()
            .map(Zeroizing::new)
            .or_else(|| credentials.client_secret.clone());
        let enforcer_id = args
            .enforcer_id
            .clone()
            .or_else(|| config.enforcer_id.clone())
            .unwrap_or_else(|| format!("airlock-cli-{}", host_name()));
        // The workspace follows the current directory unless pinned: patterns of one
        // project never apply in another.
        let workspace = args
            .workspace
            .clone()
            .or_else(|| config.workspace.clone())
            .or_else(current_dir_name)
            .unwrap_or_else(|| "default".to_owned());
        if let Ok(mut url) = GATEWAY_IN_USE.lock() {
            *url = Some(gateway_url.clone());
        }
        Ok(Self {
            state,
            config,
            gateway_url,
            client_id,
            client_secret,
            enforcer_id,
            workspace,
            http: Arc::new(HyperTransport::new()),
        })
    }

    /// A client builder with the app credentials, the enforcer id and the file replay
    /// journal, and no user identity yet.
    pub(crate) fn app_builder(&self) -> Result<GatewayClientBuilder, CliError> {
        let client_id = self.client_id.clone().ok_or_else(|| {
            CliError::new(
                Exit::NotReady,
                "no client id: pass --client-id or set AIRLOCK_CLIENT_ID (or run airlock login with it)",
            )
        })?;
        let secret = self.client_secret.as_ref().ok_or_else(|| {
            CliError::new(
                Exit::NotReady,
                "no client secret: pass --client-secret or set AIRLOCK_CLIENT_SECRET (or run airlock login with it)",
            )
        })?;
        let journal = FileReplayJournal::open(self.state.journal_path()).map_err(|e| {
            CliError::new(
                Exit::Failure,
                format!("cannot open the replay journal: {}", chain(&e)),
            )
        })?;
        Ok(GatewayClient::builder(self.gateway_url.clone())
            .transport(Arc::clone(&self.http))
            .client_credentials(client_id, SecretToken::new(secret.as_str()))
            .enforcer_id(self.enforcer_id.clone())
            .replay_journal(Arc::new(journal)))
    }

    /// The stored (or `AIRLOCK_PAT`) identity: PAT first, else the OAuth session.
    pub(crate) async fn identity(&self) -> Result<Option<Identity>, CliError> {
        if let Some(pat) = std::env::var(PAT_ENV).ok().filter(|p| !p.is_empty()) {
            return Ok(Some(Identity::Pat(SecretToken::new(pat))));
        }
        if let Some(pat) = self.state.credentials()?.pat.as_ref() {
            return Ok(Some(Identity::Pat(SecretToken::new(pat.as_str()))));
        }
        match self.oauth_session().await? {
            Some(session) if session.is_signed_in().await => Ok(Some(Identity::OAuth(session))),
            _ => Ok(None),
        }
    }

    /// The OAuth session over the stored tokens, when an OAuth sign-in is configured.
    pub(crate) async fn oauth_session(&self) -> Result<Option<Arc<AuthSession>>, CliError> {
        let (Some(issuer), Some(client_id)) =
            (&self.config.issuer_url, &self.config.oauth_client_id)
        else {
            return Ok(None);
        };
        let mut config = AuthConfig::new(issuer, client_id.clone()).map_err(|e| {
            CliError::new(
                Exit::Failure,
                format!("stored OIDC settings are invalid: {}", chain(&e)),
            )
        })?;
        if self.config.oauth_confidential
            && let Some(secret) = self.state.credentials()?.oauth_client_secret.as_ref()
        {
            config = config.with_client_secret(SecretToken::new(secret.as_str()));
        }
        let client = AuthClient::with_http_client(config, Arc::clone(&self.http));
        let store = Arc::new(FileTokenStore::new(self.state.tokens_path()));
        let session = AuthSession::open(client, store).await.map_err(|e| {
            CliError::new(
                Exit::Failure,
                format!("cannot read the stored session: {}", chain(&e)),
            )
        })?;
        Ok(Some(Arc::new(session)))
    }

    /// A client signed in as the stored user; `NotReady` when nobody is signed in.
    pub(crate) async fn signed_in_client(&self) -> Result<GatewayClient, CliError> {
        let identity = self
            .identity()
            .await?
            .ok_or_else(|| CliError::new(Exit::NotReady, format!("not signed in: {SIGN_IN}")))?;
        let builder = self.app_builder()?;
        let builder = match identity {
            Identity::Pat(pat) => builder.pat(pat),
            Identity::OAuth(session) => builder.token_source(session as Arc<dyn TokenSource>),
        };
        builder
            .build()
            .map_err(|e| CliError::gateway("cannot configure the gateway client", &e))
    }

    /// The stored pairing; `NotReady` when not paired.
    pub(crate) fn require_pairing(&self) -> Result<airlock::gateway::Pairing, CliError> {
        self.state
            .pairing()?
            .ok_or_else(|| CliError::new(Exit::NotReady, "not paired: run `airlock pair` first"))
    }

    /// The pairing and a signed-in client, for a command that asks the approver. When both
    /// are missing, says so once, in the order to fix them.
    pub(crate) async fn ready(
        &self,
    ) -> Result<(airlock::gateway::Pairing, GatewayClient), CliError> {
        let pairing = self.state.pairing()?;
        if pairing.is_none() && self.identity().await?.is_none() {
            return Err(CliError::new(
                Exit::NotReady,
                format!("not signed in and not paired: first {SIGN_IN}, then run `airlock pair`"),
            ));
        }
        let client = self.signed_in_client().await?;
        let pairing = pairing.map_or_else(|| self.require_pairing(), Ok)?;
        Ok((pairing, client))
    }
}

/// How to sign in, in the words of every command.
const SIGN_IN: &str = "run `airlock login --pat TOKEN` or `airlock login --device`";

/// A user identity.
pub(crate) enum Identity {
    Pat(SecretToken),
    OAuth(Arc<AuthSession>),
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pat(_) => "Identity::Pat(<redacted>)",
            Self::OAuth(_) => "Identity::OAuth",
        })
    }
}

impl Identity {
    pub(crate) fn method(&self) -> AuthMethod {
        match self {
            Self::Pat(_) => AuthMethod::Pat,
            Self::OAuth(_) => AuthMethod::OAuth,
        }
    }
}
