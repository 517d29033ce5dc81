//! `airlock sandbox`: the local Airlock platform, served until Ctrl-C or SIGTERM.

use std::io::Write as _;
use std::path::PathBuf;

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
    pub(crate) state: Option<PathBuf>,
    pub(crate) env: bool,
}

/// Starts the sandbox, announces it, and serves until Ctrl-C or SIGTERM.
pub(crate) async fn run(options: SandboxOptions) -> Result<(), CliError> {
    if options.env {
        return in_background(&options);
    }
    let mut config = SandboxConfig::builder()
        .port(options.port)
        .approver_policy(options.approver.into())
        .tamper(options.tamper.into())
        .consent(options.consent.into());
    if let Some(dir) = &options.state {
        config = config.state_dir(dir);
    }
    let config = config.build();
    let sandbox = Sandbox::start(config).await.map_err(|e| {
        CliError::new(
            Exit::Rejected,
            format!("cannot start the sandbox: {}", chain(&e)),
        )
    })?;
    // Before announcing anything: a SIGTERM right after the announcement must stop us cleanly.
    let mut interrupt = crate::signals::Interrupt::install();
    let info = sandbox.info();
    if let Some(dir) = &options.state {
        // What `--env` prints for the sandbox serving this directory, while it does.
        let lines = serde_json::to_value(info)
            .map_err(|e| CliError::new(Exit::Failure, format!("cannot encode the info: {e}")))
            .and_then(|info| export_lines(&info, std::process::id()))?;
        airlock::crypto::fs::atomic_write(dir.join(ENV_FILE), lines.as_bytes()).map_err(|e| {
            CliError::new(
                Exit::IoError,
                format!("cannot write {}: {e}", dir.join(ENV_FILE).display()),
            )
        })?;
    }
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
    if approver.policy() == ApproverPolicy::Manual {
        let auth = format!("-H 'Authorization: Bearer {}'", info.control_token);
        let control = format!("{}/_sandbox/approver", info.gateway_url);
        errln!("Decide by hand (the approver is manual):");
        errln!("  curl -s {auth} {control}/pending");
        errln!(
            "  curl -s {auth} -H 'Content-Type: application/json' \\\n    -d '{{\"requestId\":\"REQUEST_ID\",\"decision\":\"approve\"}}' {control}/decide"
        );
        errln!("  (\"decision\": \"approve\" or \"reject\"; add \"reason\": \"…\" if you like)");
        errln!();
    }
    if options.open {
        open_in_browser(&sandbox.approver_login_url());
    }
    errln!("Press Ctrl-C to stop.");
    let signal = interrupt.wait().await;
    errln!("Received {signal}: stopping the sandbox.");
    sandbox.shutdown().await;
    Ok(())
}

/// `--env`: starts `airlock sandbox --json` (same options) in the background, in a process
/// group of its own, and prints `export …` lines for its gateway, app credentials, PAT and
/// process id, so that `eval "$(airlock sandbox --env)"` returns at once with the sandbox
/// still serving. Its log (stderr) goes to `sandbox.log` in the state directory, if any.
fn in_background(options: &SandboxOptions) -> Result<(), CliError> {
    use std::io::BufRead as _;
    use std::os::unix::process::CommandExt as _;

    if let Some(lines) = options.state.as_deref().and_then(already_serving) {
        errln!("An Airlock sandbox already serves this state directory: its settings follow.");
        return print_exports(&lines);
    }
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        CliError::new(
            Exit::Rejected,
            format!("cannot start the sandbox: {what}: {e}"),
        )
    };
    let exe = std::env::current_exe().map_err(|e| failed("no path to this program", &e))?;
    let name = |v: &dyn Fn() -> Option<clap::builder::PossibleValue>| {
        v().map(|p| p.get_name().to_owned()).unwrap_or_default()
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["sandbox", "--json", "--port", &options.port.to_string()])
        .args([
            "--approver",
            &name(&|| options.approver.to_possible_value()),
        ])
        .args(["--tamper", &name(&|| options.tamper.to_possible_value())])
        .args(["--consent", &name(&|| options.consent.to_possible_value())]);
    let log = match &options.state {
        Some(dir) => {
            cmd.arg("--state").arg(dir);
            airlock::crypto::fs::create_private_dir_all(dir)
                .and_then(|()| {
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(dir.join("sandbox.log"))
                })
                .map(std::process::Stdio::from)
                .map_err(|e| failed("cannot open its log", &e))?
        }
        None => std::process::Stdio::null(),
    };
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(|e| failed("cannot run it", &e))?;
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped");
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| failed("no answer", &e))?;
    let info: serde_json::Value = match serde_json::from_str(&line) {
        Ok(v) => v,
        Err(_) => {
            let status = child.wait().map_err(|e| failed("no answer", &e))?;
            let hint = match &options.state {
                Some(dir) => format!(" (see {})", dir.join("sandbox.log").display()),
                None => " (run it without --env to see why)".to_owned(),
            };
            return Err(CliError::new(
                Exit::Rejected,
                format!("cannot start the sandbox: it exited with {status}{hint}"),
            ));
        }
    };
    print_exports(&export_lines(&info, child.id())?)?;
    errln!(
        "Airlock sandbox serving {} in the background (process {}); stop it with: kill $AIRLOCK_SANDBOX_PID",
        info["gatewayUrl"].as_str().unwrap_or_default(),
        child.id()
    );
    Ok(())
}

/// The file, in a state directory, holding the `export` lines of the sandbox serving it.
const ENV_FILE: &str = "env";

/// The `export` lines of a running sandbox (its `--json` line) and its process id.
fn export_lines(info: &serde_json::Value, pid: u32) -> Result<String, CliError> {
    let field = |key: &str| info[key].as_str().unwrap_or_default().to_owned();
    let exports = [
        ("AIRLOCK_GATEWAY_URL", field("gatewayUrl")),
        ("AIRLOCK_CLIENT_ID", field("clientId")),
        ("AIRLOCK_CLIENT_SECRET", field("clientSecret")),
        ("AIRLOCK_PAT", field("pat")),
        ("AIRLOCK_SANDBOX_PID", pid.to_string()),
    ];
    let mut lines = String::new();
    for (name, value) in exports {
        // Sandbox values are URL-safe tokens and loopback URLs: nothing a shell would expand.
        if value.is_empty()
            || !value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b))
        {
            return Err(CliError::new(
                Exit::Failure,
                format!("the sandbox gave no usable {name}"),
            ));
        }
        lines.push_str(&format!("export {name}={value}\n"));
    }
    Ok(lines)
}

fn print_exports(lines: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(lines.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::new(Exit::IoError, format!("cannot write the output: {e}")))
}

/// With `--state DIR`: the `export` lines of the sandbox already serving `DIR`, if one does
/// (its env file names a gateway that accepts connections).
fn already_serving(dir: &std::path::Path) -> Option<String> {
    let lines = std::fs::read_to_string(dir.join(ENV_FILE)).ok()?;
    let url = lines
        .lines()
        .find_map(|l| l.strip_prefix("export AIRLOCK_GATEWAY_URL="))?;
    let authority = url.strip_prefix("http://")?;
    std::net::TcpStream::connect(authority).ok()?;
    Some(lines)
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
