//! `airlock login`, `logout`, `pair`, `unpair` and `status`.

use std::sync::Arc;
use std::time::Duration;

use airlock::auth::{AuthClient, AuthConfig, AuthSession, FileTokenStore, RevocationOutcome};
use airlock::gateway::{
    Error as GatewayError, GatewayClient, Pairing, PairingRequest, PairingSession,
};
use airlock::http::SecretToken;
use serde_json::json;
use zeroize::Zeroizing;

use crate::connect::{AuthMethod, Context, Identity, PAT_ENV};
use crate::exit::{CliError, Exit, chain};

/// Where the account flows tell the user what is happening, a line at a time: stderr for the
/// `airlock` commands ([`Stderr`]), the terminal of `airlock enforcer`.
pub(crate) trait Say {
    fn say(&mut self, line: &str);
}

/// The `airlock` commands' progress: stderr (stdout carries results only).
#[derive(Debug)]
pub(crate) struct Stderr;

impl Say for Stderr {
    fn say(&mut self, line: &str) {
        // Lines quote the gateway (consent URLs, messages): inert on the terminal.
        errln!("{}", crate::inert::inert_lines(line));
    }
}

/// How to sign in.
#[derive(Debug)]
pub(crate) enum Login {
    Pat(Zeroizing<String>),
    Device {
        /// Use this OpenID provider directly instead of gateway discovery.
        issuer: Option<String>,
        scopes: Vec<String>,
    },
}

/// Saves the gateway and app settings of this invocation, so later commands need no flags.
fn remember_connection(ctx: &mut Context, app_secret: bool) -> Result<(), CliError> {
    let mut config = ctx.state.config()?;
    config.gateway_url = Some(ctx.gateway_url.clone());
    if app_secret {
        config.client_id.clone_from(&ctx.client_id);
    }
    config.enforcer_id = Some(ctx.enforcer_id.clone());
    ctx.state.save_config(&config)?;
    ctx.config = config;
    if app_secret {
        let mut credentials = ctx.state.credentials()?;
        credentials.client_secret.clone_from(&ctx.client_secret);
        ctx.state.save_credentials(&credentials)?;
    }
    Ok(())
}

/// Checks that the gateway accepts the identity and tells the user about the app's consent:
/// `Err` when the credentials are refused or the gateway cannot be asked.
pub(crate) async fn check_identity(
    client: &GatewayClient,
    out: &mut dyn Say,
) -> Result<(), CliError> {
    match client.check_consent().await {
        Ok(status) if status.status.is_allowed() => {
            out.say("The gateway accepts this identity; the app has consent.");
        }
        Ok(status) => {
            out.say(&format!("Signed in, but consent is {:?}.", status.status));
            if let Some(url) = status.consent_url {
                out.say(&format!("Grant it at {url}"));
            }
        }
        Err(e) if e.is_unauthorized() => {
            return Err(CliError::gateway("the gateway refused the credentials", &e));
        }
        Err(e) => {
            let guidance = consent_guidance(&e)
                .ok_or_else(|| CliError::gateway("cannot check the sign-in", &e))?;
            for line in guidance {
                out.say(&line);
            }
        }
    }
    Ok(())
}

/// What a consent error (`app_consent_required`, `_pending`, `_denied`) asks of the user,
/// with the consent URL when the gateway gave one; `None` for any other error.
pub(crate) fn consent_guidance(e: &GatewayError) -> Option<Vec<String>> {
    let details = e.consent()?;
    let what = if e.is_consent_denied() {
        "was denied"
    } else if e.is_consent_pending() {
        "is pending"
    } else {
        "is required"
    };
    let mut lines = vec![format!("Signed in, but this app's consent {what}.")];
    if let Some(url) = &details.consent_url {
        lines.push(format!(
            "Open {url} to grant it, then run your command again."
        ));
    }
    Some(lines)
}

pub(crate) async fn login(mut ctx: Context, how: Login, out: &mut dyn Say) -> Result<(), CliError> {
    match how {
        Login::Pat(pat) => {
            let client = ctx
                .app_builder()?
                .pat(SecretToken::new(pat.as_str()))
                .build()
                .map_err(|e| CliError::gateway("cannot configure the gateway client", &e))?;
            check_identity(&client, out).await?;
            remember_connection(&mut ctx, true)?;
            let mut credentials = ctx.state.credentials()?;
            credentials.pat = Some(pat);
            ctx.state.save_credentials(&credentials)?;
            // A PAT replaces an OAuth session.
            ctx.state.remove(&ctx.state.tokens_path())?;
            out.say(&format!(
                "Signed in with a personal access token ({}).",
                ctx.state.root().display()
            ));
            Ok(())
        }
        Login::Device { issuer, scopes } => login_device(ctx, issuer, scopes, out).await,
    }
}

async fn login_device(
    mut ctx: Context,
    issuer: Option<String>,
    scopes: Vec<String>,
    out: &mut dyn Say,
) -> Result<(), CliError> {
    let direct = issuer.is_some();
    let (issuer, oidc_client_id, confidential) = match issuer {
        Some(issuer) => {
            let id = ctx.client_id.clone().ok_or_else(|| {
                CliError::new(
                    Exit::Usage,
                    "--issuer needs --client-id (the OpenID client)",
                )
            })?;
            (issuer, id, ctx.client_secret.is_some())
        }
        None => {
            let anonymous = ctx
                .app_builder()?
                .build()
                .map_err(|e| CliError::gateway("cannot configure the gateway client", &e))?;
            let discovery = anonymous
                .discover()
                .await
                .map_err(|e| CliError::gateway("gateway discovery failed", &e))?;
            (discovery.idp.base_url, discovery.idp.client_id, false)
        }
    };
    let mut config = AuthConfig::new(&issuer, oidc_client_id.clone()).map_err(|e| {
        CliError::new(
            Exit::Usage,
            format!("invalid OpenID settings: {}", chain(&e)),
        )
    })?;
    if confidential && let Some(secret) = &ctx.client_secret {
        config = config.with_client_secret(SecretToken::new(secret.as_str()));
    }
    if !scopes.is_empty() {
        config = config.with_scopes(scopes);
    }
    let client = AuthClient::with_http_client(config, Arc::clone(&ctx.http));
    let tokens = client
        .device_login(|device| {
            out.say(&format!("To sign in, open {}", device.verification_uri()));
            out.say(&format!("and enter the code {}", device.user_code()));
            if let Some(complete) = device.verification_uri_complete() {
                out.say(&format!("(or open {complete})"));
            }
            out.say("Waiting for the sign-in...");
        })
        .await
        .map_err(|e| {
            let exit = if e.is_access_denied() || e.is_expired_token() {
                Exit::NotReady
            } else if e.is_transport() {
                Exit::Unavailable
            } else {
                Exit::Failure
            };
            CliError::new(exit, format!("device sign-in failed: {}", chain(&e)))
        })?;
    let session = AuthSession::open(
        client,
        Arc::new(FileTokenStore::new(ctx.state.tokens_path())),
    )
    .await
    .map_err(|e| {
        CliError::new(
            Exit::Failure,
            format!("cannot open the token store: {}", chain(&e)),
        )
    })?;
    session.sign_in(tokens).await.map_err(|e| {
        CliError::new(
            Exit::Failure,
            format!("cannot store the tokens: {}", chain(&e)),
        )
    })?;
    // OAuth replaces a stored PAT.
    let mut credentials = ctx.state.credentials()?;
    credentials.pat = None;
    credentials.oauth_client_secret = if confidential {
        ctx.client_secret.clone()
    } else {
        None
    };
    ctx.state.save_credentials(&credentials)?;
    remember_connection(&mut ctx, !direct)?;
    ctx.config.issuer_url = Some(issuer);
    ctx.config.oauth_client_id = Some(oidc_client_id);
    ctx.config.oauth_confidential = confidential;
    ctx.state.save_config(&ctx.config)?;
    out.say("Signed in (OAuth device grant).");
    if !direct {
        let gateway = ctx
            .app_builder()?
            .token_source(Arc::new(session))
            .build()
            .map_err(|e| CliError::gateway("cannot configure the gateway client", &e))?;
        check_identity(&gateway, out).await?;
    }
    Ok(())
}

pub(crate) async fn logout(ctx: Context, out: &mut dyn Say) -> Result<(), CliError> {
    let mut credentials = ctx.state.credentials()?;
    let had_pat = credentials.pat.take().is_some();
    ctx.state.save_credentials(&credentials)?;
    if had_pat {
        out.say(
            "Forgot the personal access token (revoke it in the Airlock web app if it leaked).",
        );
    }
    let session = match ctx.oauth_session().await {
        Ok(s) => s,
        Err(e) => {
            out.say(&format!("warning: {e}"));
            None
        }
    };
    if let Some(session) = session {
        match session.logout().await {
            Ok(RevocationOutcome::Revoked) => out.say("The OAuth tokens were revoked."),
            Ok(RevocationOutcome::NotSupported) => {
                out.say("The provider cannot revoke tokens; they expire by themselves.");
            }
            Ok(RevocationOutcome::Failed(failures)) => {
                for (kind, e) in failures {
                    out.say(&format!(
                        "warning: revoking the {kind:?} failed: {}",
                        chain(&e)
                    ));
                }
            }
            Ok(_) => {}
            Err(e) => out.say(&format!("warning: {}", chain(&e))),
        }
    }
    // Whatever happened above, no identity stays behind.
    ctx.state.remove(&ctx.state.tokens_path())?;
    let mut credentials = ctx.state.credentials()?;
    if credentials.oauth_client_secret.take().is_some() {
        ctx.state.save_credentials(&credentials)?;
    }
    let mut config = ctx.state.config()?;
    config.issuer_url = None;
    config.oauth_client_id = None;
    config.oauth_confidential = false;
    ctx.state.save_config(&config)?;
    out.say("Signed out.");
    Ok(())
}

/// `airlock pair`: pairs (a new code, or a claimed one) and verifies the approver's
/// response; the caller shows the fingerprint and saves the pairing.
pub(crate) async fn pair(
    ctx: &Context,
    code: Option<String>,
    timeout: Duration,
    confirm: &Confirm,
    out: &mut dyn Say,
) -> Result<Pairing, CliError> {
    if ctx.state.pairing()?.is_some() {
        return Err(CliError::new(
            Exit::Failure,
            "already paired: run `airlock unpair` first",
        ));
    }
    let client = ctx.signed_in_client().await?;
    confirm.possible()?;
    let label = format!("airlock CLI on {}", crate::connect::host_name());
    let session = start_pairing(ctx, &client, code, label, out)
        .await
        .map_err(|e| CliError::gateway("cannot start pairing", &e))?;
    session
        .wait(timeout)
        .await
        .map_err(|e| CliError::gateway("pairing failed", &e))
}

/// How `airlock pair` confirms the approver's key before storing the pairing: the gateway
/// relays the pairing answer, and a relay that answers with keys of its own could read every
/// request and sign every approval. Only the human, comparing the fingerprint with the one
/// the Airlock app shows, can tell.
#[derive(Debug)]
pub(crate) enum Confirm {
    /// `--expect-fingerprint`: compared in constant time.
    Expect(String),
    /// Ask on the terminal.
    Ask,
    /// Neither: pairing is refused before it starts.
    Impossible,
}

impl Confirm {
    pub(crate) fn new(expect: Option<String>) -> Result<Self, CliError> {
        use std::io::IsTerminal as _;
        Ok(match expect {
            Some(fp) if fp.trim().is_empty() => {
                return Err(CliError::new(Exit::Usage, "--expect-fingerprint is empty"));
            }
            Some(fp) => Self::Expect(fp.trim().to_ascii_uppercase()),
            None if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => Self::Ask,
            None => Self::Impossible,
        })
    }

    /// Refuses (exit 5) when the key could not be confirmed.
    fn possible(&self) -> Result<(), CliError> {
        match self {
            Self::Impossible => Err(CliError::new(
                Exit::NotReady,
                "pairing needs the approver key confirmed: run `airlock pair` on a terminal, \
                 or pass --expect-fingerprint with the fingerprint the Airlock app shows",
            )),
            _ => Ok(()),
        }
    }

    /// Checks the paired key: exit 2 (nothing stored) when it is not the expected one or
    /// the user says it is not the one the app shows.
    pub(crate) fn check(&self, pairing: &Pairing) -> Result<(), CliError> {
        use subtle::ConstantTimeEq as _;
        let got = pairing.fingerprint();
        let refused = |why: &str| {
            CliError::new(
                Exit::Verification,
                format!(
                    "the approver key's fingerprint {got} {why}; nothing was stored (a relay may \
                     have answered with keys of its own) — run `airlock pair` again"
                ),
            )
        };
        match self {
            Self::Expect(want) => {
                if bool::from(want.as_bytes().ct_eq(got.to_ascii_uppercase().as_bytes())) {
                    Ok(())
                } else {
                    Err(refused("is not the one expected"))
                }
            }
            Self::Ask => {
                errln!("The approver's key fingerprint is {got}.");
                errln!("Does the Airlock app show exactly this fingerprint? [y/N] ");
                let mut answer = String::new();
                let _ = std::io::stdin().read_line(&mut answer);
                if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
                    Ok(())
                } else {
                    Err(refused("was not confirmed"))
                }
            }
            Self::Impossible => self.possible(),
        }
    }
}

/// Starts pairing as `label`: a new code, which the user is told to enter in the Airlock
/// app, or claiming `code`, which the app generated. The caller waits for the session.
pub(crate) async fn start_pairing(
    ctx: &Context,
    client: &GatewayClient,
    code: Option<String>,
    label: String,
    out: &mut dyn Say,
) -> Result<PairingSession, GatewayError> {
    let request = match code {
        Some(code) => PairingRequest::claim(ctx.enforcer_id.clone(), code),
        None => PairingRequest::new(ctx.enforcer_id.clone()),
    }
    .label(label)
    .workspace(ctx.workspace.clone())
    .gateway_url(ctx.gateway_url.clone());
    let session = client.start_pairing(request).await?;
    remember_pairing_nonce(ctx, Some(session.nonce().to_owned()));
    match session.code() {
        Some(code) => out.say(&format!(
            "Enter the pairing code {code} in the Airlock app (expires {}).",
            session.expires_at()
        )),
        None => out.say("Claimed the code; waiting for the approver to confirm."),
    }
    Ok(session)
}

/// Records the nonce `status --check` asks about (best effort: only the check needs it).
fn remember_pairing_nonce(ctx: &Context, nonce: Option<String>) {
    let saved = ctx.state.credentials().and_then(|mut credentials| {
        credentials.pairing_nonce = nonce;
        ctx.state.save_credentials(&credentials)
    });
    if let Err(e) = saved {
        tracing::warn!(error = %e, "cannot record the pairing nonce");
    }
}

/// Stores `pairing` (atomic, owner-only).
pub(crate) fn save_pairing(ctx: &Context, pairing: &Pairing) -> Result<(), CliError> {
    pairing
        .save(ctx.state.pairing_path())
        .map_err(|e| CliError::gateway("cannot save the pairing", &e))
}

pub(crate) async fn unpair(ctx: Context, out: &mut dyn Say) -> Result<(), CliError> {
    let Some(pairing) = ctx.state.pairing()? else {
        out.say("Not paired.");
        return Ok(());
    };
    let client = ctx.signed_in_client().await?;
    match client.unpair(&pairing).await {
        Ok(_) => out.say("Unpaired: the gateway revoked the routing token."),
        // A stale routing token: the gateway has forgotten the pairing already.
        Err(e)
            if e.is_pairing_revoked()
                || matches!(e.status().map(|s| s.as_u16()), Some(404 | 410)) =>
        {
            out.say(&format!(
                "The gateway no longer knows this pairing ({e}); removing it locally."
            ));
        }
        Err(e) => {
            return Err(CliError::gateway(
                "cannot revoke the pairing (kept locally)",
                &e,
            ));
        }
    }
    remember_pairing_nonce(&ctx, None);
    ctx.state.remove(&ctx.state.pairing_path())
}

pub(crate) async fn status(ctx: Context, json: bool) -> Result<(), CliError> {
    let identity = ctx.identity().await?;
    let method = identity.as_ref().map(Identity::method);
    let pat_from_env = std::env::var(PAT_ENV).is_ok_and(|p| !p.is_empty());
    let pairing = ctx.state.pairing()?;
    let dnd_trusted = ctx.state.dnd_trusted(&ctx.workspace)?;
    if json {
        let value = json!({
            "dndTrust": dnd_trusted,
            "signedIn": identity.is_some(),
            "authMethod": method.map(AuthMethod::as_str),
            "paired": pairing.is_some(),
            "gatewayUrl": ctx.gateway_url,
            "clientId": ctx.client_id,
            "enforcerId": ctx.enforcer_id,
            "workspace": ctx.workspace,
            "configDir": ctx.state.root().display().to_string(),
            "pairing": pairing.as_ref().map(|p| json!({
                "signerKeyId": p.signer_key_id(),
                "fingerprint": p.fingerprint(),
                "pairedAt": p.paired_at(),
            })),
        });
        outln!("{value}");
    } else {
        let signed_in = match method {
            Some(AuthMethod::Pat) if pat_from_env => {
                "yes (personal access token from AIRLOCK_PAT)".to_owned()
            }
            Some(m) => format!(
                "yes ({})",
                if m == AuthMethod::Pat {
                    "personal access token"
                } else {
                    "OAuth"
                }
            ),
            None => "no".to_owned(),
        };
        outln!("gateway      {}", ctx.gateway_url);
        outln!(
            "client id    {}",
            ctx.client_id.as_deref().unwrap_or("(not set)")
        );
        outln!("enforcer id  {}", ctx.enforcer_id);
        outln!("workspace    {}", ctx.workspace);
        outln!("signed in    {signed_in}");
        match &pairing {
            Some(p) => outln!(
                "paired       yes (signer {}, fingerprint {}, since {})",
                p.signer_key_id(),
                p.fingerprint(),
                p.paired_at()
            ),
            None => outln!("paired       no"),
        }
        outln!(
            "DND trust    {}",
            if dnd_trusted {
                "on (the gateway's DND approvals let commands through)"
            } else {
                "off (DND approvals ignored; denials block)"
            }
        );
        outln!("config dir   {}", ctx.state.root().display());
    }
    Ok(())
}
