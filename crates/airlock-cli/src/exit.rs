//! Exit codes and the error type every command returns.

use std::fmt;
use std::process::ExitCode;

use airlock::gateway::Error as GatewayError;

/// The exit codes of `airlock` (documented in the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Success; for `approve` / `run`: approved (verified).
    Success,
    /// `approve` / `run`: rejected (by the approver or a DND policy). Other commands: the
    /// operation failed (a demo step misbehaved, the sandbox could not start, ...).
    Rejected,
    /// A decision or pairing response failed verification (forged, unsigned, replayed, hash
    /// mismatch, unknown signer).
    Verification,
    /// No decision before the deadline (or the artifact expired undecided).
    Timeout,
    /// The gateway could not be reached or is unavailable (connect failure, 502/503/504,
    /// rate limited).
    Unavailable,
    /// The user must act first: not signed in, not paired, credentials refused, consent
    /// missing, pairing revoked.
    NotReady,
    /// The exchange was withdrawn or cancelled before a decision.
    Withdrawn,
    /// Any other failure (unexpected gateway answer, local storage, internal error).
    Failure,
    /// The command line is wrong.
    Usage,
    /// `canonicalize` / `hash`: the input is not canonicalizable JSON.
    DataError,
    /// `canonicalize` / `hash`: the input cannot be read.
    NoInput,
    /// Writing the output failed.
    IoError,
    /// `run`: the command exists but cannot be executed.
    CannotExecute,
    /// `run`: the command was not found.
    NotFound,
    /// Interrupted (Ctrl-C or SIGTERM); a request already submitted was withdrawn.
    Interrupted,
    /// The reader of stdout went away (a closed pipe): the output stopped there, quietly
    /// (128 + `SIGPIPE`, as for a process that `SIGPIPE` ended).
    ClosedPipe,
    /// `run`: the approved command's own exit status (128 + N when killed by signal N).
    Child(u8),
}

impl Exit {
    /// The numeric exit status.
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Rejected => 1,
            Self::Verification => 2,
            Self::Timeout => 3,
            Self::Unavailable => 4,
            Self::NotReady => 5,
            Self::Withdrawn => 6,
            Self::Failure => 7,
            Self::Usage => 64,
            Self::DataError => 65,
            Self::NoInput => 66,
            Self::IoError => 74,
            Self::CannotExecute => 126,
            Self::NotFound => 127,
            Self::Interrupted => 130,
            Self::ClosedPipe => 141,
            Self::Child(code) => code,
        }
    }

    /// The `outcome` of `approve --json` that goes with this exit code, so the two always
    /// agree: `approved` for 0, the failure's name otherwise (`error` for the rest).
    pub(crate) fn outcome(self) -> &'static str {
        match self {
            Self::Success => "approved",
            Self::Rejected => "rejected",
            Self::Verification => "verification_failed",
            Self::Timeout => "timeout",
            Self::Unavailable => "unavailable",
            Self::NotReady => "not_ready",
            Self::Withdrawn => "withdrawn",
            Self::Interrupted => "interrupted",
            _ => "error",
        }
    }

    /// The category of a gateway failure.
    pub(crate) fn of_gateway(e: &GatewayError) -> Self {
        if e.is_verification() {
            Self::Verification
        } else if e.is_timeout() {
            Self::Timeout
        } else if e.is_unauthorized()
            || is_pairing_gone(e)
            || e.is_consent_required()
            || e.is_consent_pending()
            || e.is_consent_denied()
            || matches!(e, GatewayError::Auth(_))
        {
            Self::NotReady
        } else if is_unreachable(e) || e.is_retryable() {
            Self::Unavailable
        } else {
            Self::Failure
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// The gateway could not be reached: a transport failure (connect, TLS, reset) or a
/// gateway-unavailable status (502, 503, 504). Never a decision timeout or a verification
/// failure.
pub(crate) fn is_unreachable(e: &GatewayError) -> bool {
    matches!(e, GatewayError::Transport(_))
        || matches!(e.status().map(|s| s.as_u16()), Some(502..=504))
}

/// The gateway no longer knows the pairing: `pairing_revoked`, or `pairing_not_found` (a
/// routing token it does not know). Only pairing again helps.
pub(crate) fn is_pairing_gone(e: &GatewayError) -> bool {
    e.is_pairing_revoked() || e.code().is_some_and(|c| c.as_str() == "pairing_not_found")
}

/// What to do about a refused pairing, in the words of every command.
pub(crate) const PAIR_AGAIN: &str = "run `airlock unpair && airlock pair`";

/// A failed command: what to print on stderr and the exit code.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) exit: Exit,
    pub(crate) message: String,
}

impl CliError {
    /// A failure the user was already told about: only the exit code is left to give.
    pub(crate) fn silent(exit: Exit) -> Self {
        Self::new(exit, "")
    }

    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    /// A gateway failure while doing `context`: what happened, at which gateway, and the
    /// next step. A consent error names the URL where the user grants it.
    pub(crate) fn gateway(context: &str, e: &GatewayError) -> Self {
        let at = crate::connect::gateway_in_use()
            .map(|url| format!("the gateway at {url}"))
            .unwrap_or_else(|| "the gateway".to_owned());
        let check = "(`airlock status --check`)";
        let what = match e {
            GatewayError::Transport(t) if t.is_connect() => {
                let (cause, refused) = cause(e);
                let next = if refused {
                    "is it running?"
                } else {
                    "check the URL and the network"
                };
                format!("cannot reach {at}: {cause} — {next} {check}")
            }
            GatewayError::Transport(_) => {
                format!("the connection to {at} failed: {} {check}", cause(e).0)
            }
            _ if is_pairing_gone(e) => {
                format!("{at} no longer knows this pairing ({e}) — {PAIR_AGAIN}")
            }
            _ if e.is_unauthorized() => {
                let app = e.code().is_some_and(|c| c.as_str() == "invalid_client");
                let next = if app {
                    "check the app credentials (--client-id, --client-secret)"
                } else {
                    "sign in again with `airlock login --pat TOKEN` or `airlock login --device`"
                };
                format!("{at} refused the credentials ({}) — {next}", chain(e))
            }
            _ if e.is_quota_exceeded() => {
                let wait = e
                    .retry_after()
                    .map(|d| format!(" for {}s", d.as_secs()))
                    .unwrap_or_default();
                format!(
                    "{at} is limiting this app ({}) — wait{wait} and try again",
                    chain(e)
                )
            }
            _ if is_unreachable(e) => {
                format!(
                    "{at} is unavailable ({}) — try again later {check}",
                    chain(e)
                )
            }
            _ => {
                let mut text = chain(e);
                if let Some(url) = e.consent().and_then(|c| c.consent_url.as_deref()) {
                    text.push_str(&format!(" (consent: {url})"));
                }
                text
            }
        };
        Self::new(Exit::of_gateway(e), format!("{context}: {what}"))
    }
}

/// The useful part of a transport failure: the operating system's words for it
/// ("connection refused"), else the innermost cause; and whether the connection was refused
/// (nothing listens there).
fn cause(e: &dyn std::error::Error) -> (String, bool) {
    let mut innermost = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            let refused = io.kind() == std::io::ErrorKind::ConnectionRefused;
            let text = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                std::io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
                std::io::ErrorKind::TimedOut => "connection timed out".to_owned(),
                _ => io.to_string(),
            };
            return (text, refused);
        }
        innermost = s.to_string();
        source = s.source();
    }
    (innermost, false)
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// An error and its sources, joined by `: ` (each only when it adds text).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct() {
        let all = [
            Exit::Success,
            Exit::Rejected,
            Exit::Verification,
            Exit::Timeout,
            Exit::Unavailable,
            Exit::NotReady,
            Exit::Withdrawn,
            Exit::Failure,
            Exit::Usage,
            Exit::DataError,
            Exit::NoInput,
            Exit::IoError,
            Exit::CannotExecute,
            Exit::NotFound,
            Exit::Interrupted,
            Exit::ClosedPipe,
        ];
        let mut codes: Vec<u8> = all.iter().map(|e| e.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert_eq!(Exit::Verification.code(), 2);
        assert_eq!(Exit::Timeout.code(), 3);
    }

    #[test]
    fn gateway_errors_map_to_categories() {
        let timeout = GatewayError::Timeout {
            after: std::time::Duration::from_secs(1),
        };
        assert_eq!(Exit::of_gateway(&timeout), Exit::Timeout);
        let invalid = GatewayError::InvalidInput {
            message: "x".into(),
        };
        assert_eq!(Exit::of_gateway(&invalid), Exit::Failure);
    }
}
