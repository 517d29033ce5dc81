//! The command line (clap).

use std::path::PathBuf;

use clap::{ArgAction, ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::connect::ConnArgs;
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
    /// The interactive test enforcer: setup wizard (or an embedded sandbox), sign-in,
    /// pairing, heartbeat, submit and withdraw, unpair, sign-out.
    Enforcer,
    /// Serve the local Airlock platform (gateway, OIDC provider, simulated approver) until
    /// Ctrl-C or SIGTERM.
    Sandbox(SandboxArgs),
    /// Print the RFC 8785 canonical form of a JSON document (exactly those bytes, no newline).
    Canonicalize(InputArgs),
    /// Print the artifact hash of a JSON document: SHA-256 of its RFC 8785 form, lowercase hex.
    Hash(InputArgs),
    /// Ask the paired approver to approve a command; the exit code says how it ended
    /// (0 approved, 1 rejected, 2 verification failed, 3 timeout, 4+ other failures).
    Approve(ApproveArgs),
    /// Approve, then run the command with its arguments as given (no shell) and exit with
    /// its status. It never runs unless the decision verified as approved.
    Run(RunArgs),
    /// Sign in with a personal access token or the OAuth device grant.
    Login(LoginArgs),
    /// Sign out: revoke what can be revoked, always forget the local identity.
    Logout(ConnOnly),
    /// Pair with the Airlock app (a new code, or claim a code the app generated).
    Pair(PairArgs),
    /// Revoke the pairing and forget it.
    Unpair(ConnOnly),
    /// Show the configuration, the sign-in and the pairing (`--check`: ask the gateway
    /// whether they are still valid).
    Status(StatusArgs),
    /// Pin settings for later commands (`set`), show (`get`) or forget (`unset`) them.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage the auto-approve patterns of a workspace (argv prefix or `/regex/`).
    #[command(subcommand)]
    Patterns(PatternsCommand),
    /// The gate a coding agent runs before each tool call (stdin: the agent's hook payload;
    /// stdout: its answer). Denies on any failure.
    Hook(crate::hook::HookArgs),
    /// Add the Airlock hook to an agent's configuration (keeps everything else).
    Install(crate::install::InstallArgs),
    /// Remove the Airlock hook from an agent's configuration (keeps everything else).
    Uninstall(crate::install::InstallArgs),
    /// Check sign-in, pairing, the gateway and the agents' hooks; one line each.
    Doctor(crate::doctor::DoctorArgs),
    /// Do-Not-Disturb settings of this machine.
    #[command(subcommand)]
    Dnd(DndCommand),
}

/// Options of a command that only needs the connection.
#[derive(Debug, Args)]
pub(crate) struct ConnOnly {
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
}

/// Options shared by `approve` and `run`.
#[derive(Debug, Args)]
pub(crate) struct GateArgs {
    /// The working directory shown to the approver [default: the current directory].
    #[arg(long)]
    pub(crate) cwd: Option<String>,
    /// The shell shown to the approver [default: $SHELL].
    #[arg(long)]
    pub(crate) shell: Option<String>,
    /// The host shown to the approver [default: this host's name].
    #[arg(long)]
    pub(crate) host: Option<String>,
    /// The agent session id (also selects session-scoped DND policies).
    #[arg(long)]
    pub(crate) session_id: Option<String>,
    /// Seconds to wait for a decision; the request expires and is withdrawn then.
    #[arg(long, value_name = "SECONDS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub(crate) timeout: u64,
    /// Allow the command when the gateway cannot be reached (never after a timeout or a
    /// failed verification).
    #[arg(long)]
    pub(crate) fail_open: bool,
}

/// `airlock approve` options.
#[derive(Debug, Args)]
pub(crate) struct ApproveArgs {
    /// The command to approve, as text.
    #[arg(long)]
    pub(crate) command: String,
    #[command(flatten)]
    pub(crate) gate: GateArgs,
    /// Print the outcome as one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
}

/// `airlock run` options.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) gate: GateArgs,
    /// When the process ends, print one JSON object on stdout: the gate's verdict, the exit
    /// code and `endedBy` (`child`: the program's own status, `airlock`: ours).
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, num_args = 1.., value_name = "CMD")]
    pub(crate) argv: Vec<String>,
}

/// `airlock login` options.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("method").required(true).args(["pat", "device"])))]
pub(crate) struct LoginArgs {
    /// Sign in with this personal access token (`airpat_...`).
    #[arg(long, value_name = "TOKEN")]
    pub(crate) pat: Option<String>,
    /// Sign in with the OAuth device grant (prints a URL and a code on stderr).
    #[arg(long)]
    pub(crate) device: bool,
    /// Use this OpenID provider directly instead of gateway discovery; `--client-id` and
    /// `--client-secret` then name the OpenID client.
    #[arg(long, value_name = "URL", requires = "device")]
    pub(crate) issuer: Option<String>,
    /// The scopes to request (repeat; default `openid profile email`).
    #[arg(long = "scope", value_name = "SCOPE", requires = "device")]
    pub(crate) scopes: Vec<String>,
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
}

/// `airlock pair` options.
#[derive(Debug, Args)]
pub(crate) struct PairArgs {
    /// Claim this code generated by the Airlock app instead of showing a new one.
    #[arg(long)]
    pub(crate) code: Option<String>,
    /// Seconds to wait for the approver.
    #[arg(long, value_name = "SECONDS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub(crate) timeout: u64,
    /// The approver key's fingerprint the Airlock app shows (`3F:A0:…`): the pairing is
    /// stored only when the gateway's answer carries that key. Needed without a terminal
    /// (on one, `pair` asks).
    #[arg(long, value_name = "FINGERPRINT")]
    pub(crate) expect_fingerprint: Option<String>,
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
}

/// `airlock status` options.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Ask the gateway whether the sign-in and the pairing are still valid (one line each);
    /// exits non-zero when one is not.
    #[arg(long, conflicts_with = "json")]
    pub(crate) check: bool,
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
}

/// `airlock config` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Store a setting (a flag or its variable still wins).
    Set {
        /// The setting.
        key: ConfigKey,
        /// Its value.
        value: String,
    },
    /// Print a stored setting (nothing, and exit 1, when it is not set).
    Get {
        /// The setting.
        key: ConfigKey,
    },
    /// Forget a stored setting.
    Unset {
        /// The setting.
        key: ConfigKey,
    },
}

/// The settings `airlock config` manages (those of `config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ConfigKey {
    /// The gateway URL (`--gateway`).
    Gateway,
    /// The enforcer app's client id (`--client-id`).
    ClientId,
    /// This enforcer's id (`--enforcer-id`).
    EnforcerId,
    /// The workspace: pinned instead of following the current directory (`--workspace`).
    Workspace,
}

/// `airlock patterns` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum PatternsCommand {
    /// Add an auto-approve pattern to the workspace.
    Add(PatternArg),
    /// Remove an auto-approve pattern from the workspace.
    Remove(PatternArg),
    /// List the workspace's auto-approve patterns, one per line.
    List(ConnOnly),
}

/// `airlock dnd …`.
#[derive(Debug, Subcommand)]
pub(crate) enum DndCommand {
    /// Whether the gateway's Do-Not-Disturb *approvals* let commands of the workspace
    /// through without the approver (`on`), or only its denials count (`off`, the default).
    Trust(DndTrustArgs),
}

/// `airlock dnd trust on|off`.
#[derive(Debug, Args)]
pub(crate) struct DndTrustArgs {
    /// `on` or `off`.
    #[arg(value_parser = ["on", "off"])]
    pub(crate) setting: String,
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
}

/// A pattern and the workspace it belongs to.
#[derive(Debug, Args)]
pub(crate) struct PatternArg {
    /// An argv prefix (`git status` approves `git status -s`), or `/regex/` over the whole command.
    pub(crate) pattern: String,
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
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
    /// Play a compromised relay that tampers with decisions, pairings or DND policies.
    #[arg(long, value_enum, default_value = "none")]
    pub(crate) tamper: TamperArg,
    /// Consent for new (app, user) pairs.
    #[arg(long, value_enum, default_value = "allowed")]
    pub(crate) consent: ConsentArg,
    /// Print one JSON object with the URLs and credentials as the first stdout line.
    #[arg(long)]
    pub(crate) json: bool,
    /// Open the approver page in the default browser (signed in by a one-time link).
    #[arg(long)]
    pub(crate) open: bool,
    /// Keep identity (client secret, PAT, keys), port and pairings in DIR across restarts.
    #[arg(long, value_name = "DIR")]
    pub(crate) state: Option<PathBuf>,
    /// Start in the background and print `export …` lines: `eval "$(airlock sandbox --env)"`.
    #[arg(long, conflicts_with_all = ["json", "open"])]
    pub(crate) env: bool,
}

impl SandboxArgs {
    pub(crate) fn into_options(self) -> SandboxOptions {
        SandboxOptions {
            port: self.port,
            approver: self.approver,
            tamper: self.tamper,
            consent: self.consent,
            json: self.json,
            open: self.open,
            state: self.state,
            env: self.env,
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

    /// Every long flag of every (sub)command.
    fn long_flags(command: &clap::Command, into: &mut Vec<String>) {
        into.extend(
            command
                .get_arguments()
                .filter_map(|a| a.get_long())
                .map(|l| format!("--{l}")),
        );
        into.extend(["--help".to_owned(), "--version".to_owned()]);
        for sub in command.get_subcommands() {
            long_flags(sub, into);
        }
    }

    /// Flags in the crate's messages that belong to another program (an example command).
    const NOT_OURS: &[&str] = &["--force"];

    /// The suggestions the CLI prints name only commands and flags it has: every
    /// `` `airlock …` `` in a string literal of the sources parses, and every `--flag` in one
    /// is a flag of some command.
    #[test]
    fn suggestions_name_only_real_commands_and_flags() {
        let literal = regex::Regex::new(r#""(?:[^"\\]|\\.)*""#).unwrap();
        let command = regex::Regex::new(r"`(airlock [^`]*)`").unwrap();
        let flag = regex::Regex::new(r"--[a-z][a-z0-9-]*").unwrap();
        let mut flags = Vec::new();
        long_flags(&Cli::command(), &mut flags);
        let mut files = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        let mut checked = 0;
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for lit in literal.find_iter(&source).map(|m| m.as_str()) {
                for span in command.captures_iter(lit) {
                    for invocation in span[1].split("&&").map(str::trim) {
                        let words = invocation.split_whitespace();
                        let parsed = Cli::command().try_get_matches_from(words);
                        let unknown = parsed.as_ref().err().map(clap::Error::kind).filter(|k| {
                            matches!(
                                k,
                                clap::error::ErrorKind::UnknownArgument
                                    | clap::error::ErrorKind::InvalidSubcommand
                                    | clap::error::ErrorKind::InvalidValue
                            )
                        });
                        assert!(
                            unknown.is_none(),
                            "{}: `{invocation}`: {unknown:?}",
                            path.display()
                        );
                        checked += 1;
                    }
                }
                for f in flag.find_iter(lit).map(|m| m.as_str()) {
                    assert!(
                        flags.iter().any(|known| known == f) || NOT_OURS.contains(&f),
                        "{}: {f} in {lit} is not a flag of airlock",
                        path.display()
                    );
                }
            }
        }
        assert!(checked > 5, "the scan found the suggestions ({checked})");
    }
}
