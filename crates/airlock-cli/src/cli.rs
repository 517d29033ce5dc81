//! The command line (clap).

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::sandbox_cmd::{ApproverArg, ConsentArg, SandboxOptions, TamperArg};

/// Human approval for AI-agent actions, end to end encrypted and verified (HARP).
#[derive(Debug, Parser)]
#[command(name = "airlock", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// More diagnostics on stderr (-v warnings, -vv info, -vvv debug; RUST_LOG overrides).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub(crate) verbose: u8,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Walk the whole enforcer lifecycle against an in-process sandbox (no account needed).
    Demo,
    /// Serve the local Airlock platform (gateway, OIDC provider, simulated approver) until
    /// Ctrl-C or SIGTERM.
    Sandbox(SandboxArgs),
    /// Print the RFC 8785 canonical form of a JSON document (exactly those bytes, no newline).
    Canonicalize(InputArgs),
    /// Print the artifact hash of a JSON document: SHA-256 of its RFC 8785 form, lowercase hex.
    Hash(InputArgs),
}

/// `airlock sandbox` options.
#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// TCP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
    /// How the simulated approver decides.
    #[arg(long, value_enum, default_value = "approve")]
    pub(crate) approver: ApproverArg,
    /// Play a compromised relay that tampers with decisions.
    #[arg(long, value_enum, default_value = "none")]
    pub(crate) tamper: TamperArg,
    /// Consent for new (app, user) pairs.
    #[arg(long, value_enum, default_value = "allowed")]
    pub(crate) consent: ConsentArg,
    /// Print one JSON object with the URLs and credentials as the first stdout line.
    #[arg(long)]
    pub(crate) json: bool,
}

impl SandboxArgs {
    pub(crate) fn into_options(self) -> SandboxOptions {
        SandboxOptions {
            port: self.port,
            approver: self.approver,
            tamper: self.tamper,
            consent: self.consent,
            json: self.json,
        }
    }
}

/// The input of `canonicalize` and `hash`.
#[derive(Debug, Args)]
pub(crate) struct InputArgs {
    /// The JSON file; `-` or nothing reads stdin.
    pub(crate) file: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
