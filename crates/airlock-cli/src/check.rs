//! `airlock status --check`: asks the gateway whether the stored sign-in and pairing still
//! hold — one line each on stdout, and a non-zero exit (the first failure's) when one does
//! not. Read-only: the consent status for the sign-in, the pairing session's status (by the
//! nonce recorded when pairing) for the pairing.

use airlock::gateway::GatewayClient;
use airlock::types::PairingState;

use crate::connect::Context;
use crate::exit::{CliError, Exit, PAIR_AGAIN};
use crate::inert::inert;

/// The result of one check: its line and its exit code.
struct Line {
    exit: Exit,
    text: String,
}

impl Line {
    fn ok(text: String) -> Self {
        Self {
            exit: Exit::Success,
            text,
        }
    }

    fn failed(e: CliError) -> Self {
        Self {
            exit: e.exit,
            text: e.message,
        }
    }
}

/// Runs both checks, prints their lines, and returns the first failure's exit code.
pub(crate) async fn run(ctx: &Context) -> Result<Exit, CliError> {
    let client = ctx.signed_in_client().await;
    let sign_in = match &client {
        Ok(client) => sign_in(ctx, client).await,
        Err(e) => Line::failed(CliError::new(e.exit, e.message.clone())),
    };
    let pairing = pairing(ctx, client.as_ref().ok()).await?;
    // The lines quote the gateway (error bodies, a consent URL).
    outln!("sign-in  {}", inert(&sign_in.text));
    outln!("pairing  {}", inert(&pairing.text));
    Ok([sign_in.exit, pairing.exit]
        .into_iter()
        .find(|e| *e != Exit::Success)
        .unwrap_or(Exit::Success))
}

async fn sign_in(ctx: &Context, client: &GatewayClient) -> Line {
    match client.check_consent().await {
        Ok(status) if status.status.is_allowed() => Line::ok(format!(
            "valid: the gateway at {} accepts it; the app has consent",
            ctx.gateway_url
        )),
        Ok(status) => Line {
            exit: Exit::NotReady,
            text: format!(
                "valid, but the app's consent is {:?}{}",
                status.status,
                status
                    .consent_url
                    .map(|url| format!(": grant it at {url}"))
                    .unwrap_or_default()
            ),
        },
        Err(e) => Line::failed(CliError::gateway("not valid", &e)),
    }
}

async fn pairing(ctx: &Context, client: Option<&GatewayClient>) -> Result<Line, CliError> {
    let Some(stored) = ctx.state.pairing()? else {
        return Ok(Line::failed(CliError::new(
            Exit::NotReady,
            "none: run `airlock pair`",
        )));
    };
    let who = format!(
        "signer {}, fingerprint {}",
        stored.signer_key_id(),
        stored.fingerprint()
    );
    let Some(nonce) = ctx.state.credentials()?.pairing_nonce else {
        return Ok(Line::ok(format!(
            "stored ({who}) but not checkable: it predates `status --check` ({PAIR_AGAIN} to make it checkable)"
        )));
    };
    let Some(client) = client else {
        return Ok(Line::failed(CliError::new(
            Exit::NotReady,
            format!("stored ({who}), not checked: sign in first"),
        )));
    };
    // Only the session's state is read (informational: the check never lets anything
    // through); its unverified `responseJson` is not used.
    Ok(match client.raw().get_pairing_status(&nonce).await {
        Ok(status) if status.state == PairingState::Completed => Line::ok(format!("valid ({who})")),
        Ok(status) => Line::failed(CliError::new(
            Exit::NotReady,
            format!("{} at the gateway: {PAIR_AGAIN}", status.state.as_str()),
        )),
        Err(e) if e.is_not_found() => Line::failed(CliError::new(
            Exit::NotReady,
            format!(
                "the gateway at {} no longer knows it: {PAIR_AGAIN}",
                ctx.gateway_url
            ),
        )),
        Err(e) => Line::failed(CliError::gateway("not checked", &e)),
    })
}
