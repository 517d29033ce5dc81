//! `airlock sandbox`: the local Airlock platform, served until Ctrl-C or SIGTERM.

use std::io::Write as _;

use airlock_sandbox::{ApproverPolicy, ConsentMode, Sandbox, SandboxConfig, TamperMode};
use clap::ValueEnum;

use crate::exit::{CliError, Exit, chain};

/// `--approver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ApproverArg {
    /// Approve every artifact whose hash checks out.
    Approve,
    /// Reject every artifact.
    Reject,
    /// Leave artifacts pending (decide through the control API).
    Manual,
}

impl From<ApproverArg> for ApproverPolicy {
    fn from(a: ApproverArg) -> Self {
        match a {
            ApproverArg::Approve => Self::Approve,
            ApproverArg::Reject => Self::Reject,
            ApproverArg::Manual => Self::Manual,
        }
    }
}

/// `--tamper`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TamperArg {
    /// Honest relay (the default).
    None,
    /// Decisions signed by another key under the paired signer's id.
    ForgeSignature,
    /// Correctly signed decisions for another artifact hash.
    WrongHash,
    /// Earlier decisions delivered again.
    Replay,
    /// Decisions without a signature.
    Unsigned,
    /// An unsigned `approve_all` DND policy for whatever is asked about.
    ForgeDnd,
    /// Pairings answered with the relay's own keys; it then approves what is sent over them.
    SubstitutePairing,
}

impl From<TamperArg> for TamperMode {
    fn from(a: TamperArg) -> Self {
        match a {
            TamperArg::None => Self::None,
            TamperArg::ForgeSignature => Self::ForgeSignature,
            TamperArg::WrongHash => Self::WrongHash,
            TamperArg::Replay => Self::Replay,
            TamperArg::Unsigned => Self::Unsigned,
            TamperArg::ForgeDnd => Self::ForgeDnd,
            TamperArg::SubstitutePairing => Self::SubstitutePairing,
        }
    }
}

/// `--consent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ConsentArg {
    /// Consent granted.
    Allowed,
    /// Consent must be requested, then granted through the control API.
    Required,
    /// Consent denied.
    Denied,
}

impl From<ConsentArg> for ConsentMode {
    fn from(a: ConsentArg) -> Self {
        match a {
            ConsentArg::Allowed => Self::Allowed,
            ConsentArg::Required => Self::Required,
            ConsentArg::Denied => Self::Denied,
        }
    }
}

/// What `airlock sandbox` was asked for.
#[derive(Debug, Clone)]
pub(crate) struct SandboxOptions {
    pub(crate) port: u16,
    pub(crate) approver: ApproverArg,
    pub(crate) tamper: TamperArg,
    pub(crate) consent: ConsentArg,
    pub(crate) json: bool,
    pub(crate) open: bool,
}

/// Starts the sandbox, announces it, and serves until Ctrl-C or SIGTERM.
pub(crate) async fn run(options: SandboxOptions) -> Result<(), CliError> {
    let config = SandboxConfig::builder()
        .port(options.port)
        .approver_policy(options.approver.into())
        .tamper(options.tamper.into())
        .consent(options.consent.into())
        .build();
    let sandbox = Sandbox::start(config).await.map_err(|e| {
        CliError::new(
            Exit::Rejected,
            format!("cannot start the sandbox: {}", chain(&e)),
        )
    })?;
    // Before announcing anything: a SIGTERM right after the announcement must stop us cleanly.
    let mut interrupt = crate::signals::Interrupt::install();
    let info = sandbox.info();
    if options.json {
        let line = serde_json::to_string(info)
            .map_err(|e| CliError::new(Exit::Failure, format!("cannot encode the info: {e}")))?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(|e| CliError::new(Exit::IoError, format!("cannot write the output: {e}")))?;
    }
    let approver = sandbox.approver();
    errln!("Airlock sandbox listening on {}", info.gateway_url);
    errln!("  gateway        {}", info.gateway_url);
    errln!("  issuer (OIDC)  {}", info.issuer_url);
    errln!("  client id      {}", info.client_id);
    errln!("  client secret  {}", info.client_secret);
    errln!("  PAT            {}", info.pat);
    errln!(
        "  approver       {} (policy {}, tamper {}, consent {:?})",
        info.approver_id,
        approver.policy().as_str(),
        approver.tamper().as_str(),
        options.consent
    );
    errln!("  fingerprint    {}", info.approver_fingerprint);
    errln!(
        "  control API    {}/_sandbox/ (bearer {})",
        info.gateway_url,
        info.control_token
    );
    errln!(
        "  approver page  {} (one-time login link)",
        info.approver_url
    );
    errln!();
    errln!("Point the airlock commands at it:");
    errln!("  export AIRLOCK_GATEWAY_URL={}", info.gateway_url);
    errln!("  export AIRLOCK_CLIENT_ID={}", info.client_id);
    errln!("  export AIRLOCK_CLIENT_SECRET={}", info.client_secret);
    errln!("  airlock login --pat {}", info.pat);
    errln!();
    if options.open {
        open_in_browser(&sandbox.approver_login_url());
    }
    errln!("Press Ctrl-C to stop.");
    let signal = interrupt.wait().await;
    errln!("Received {signal}: stopping the sandbox.");
    sandbox.shutdown().await;
    Ok(())
}

/// Opens `url` in the default browser; a failure is a message, not an error: the link is
/// printed above.
fn open_in_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let spawned = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            // Reap it off the runtime; say so if it could not open anything.
            std::thread::spawn(move || {
                if child.wait().is_ok_and(|s| !s.success()) {
                    errln!(
                        "Could not open a browser ({opener} failed): open the approver page link above."
                    );
                }
            });
        }
        Err(e) => {
            errln!("Could not open a browser ({opener}: {e}): open the approver page link above.")
        }
    }
}
