//! The `airlock` command: a guided demo, the local sandbox platform, a scriptable approval
//! gate for any command, and RFC 8785 tools. Thin: every capability it shows is a call into
//! the `airlock` SDK or `airlock-sandbox`.
//!
//! See the crate README for the commands, their output and their exit codes.

#![forbid(unsafe_code)]

#[macro_use]
mod output;

mod account;
mod approve;
mod check;
mod cli;
mod config_cmd;
mod connect;
mod demo;
mod doctor;
mod enforcer;
mod exit;
mod hook;
mod inert;
mod install;
mod jcs_cmd;
mod progress;
mod sandbox_cmd;
mod signals;
mod state;

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory as _, FromArgMatches as _};

use crate::account::Stderr;
use crate::approve::{ApproveRequest, Verdict};
use crate::cli::{Cli, Command, DndCommand, GateArgs, PatternsCommand};
use crate::connect::{ConnArgs, Context};
use crate::exit::{CliError, Exit};

fn main() -> ExitCode {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return clap_exit(&e).into(),
    };
    init_tracing(cli.verbose);
    match run(cli.command, &matches) {
        Ok(exit) => exit.into(),
        Err(e) => {
            if !e.message.is_empty() {
                errln!("airlock: {}", inert::inert_lines(&e.to_string()));
            }
            e.exit.into()
        }
    }
}

/// `--help` and `--version` print on stdout and succeed; a usage error is one line
/// `airlock: …` and a hint on stderr, and exits 64 so it can never be mistaken for a
/// decision's exit code.
fn clap_exit(e: &clap::Error) -> Exit {
    use clap::error::ErrorKind;
    if !e.use_stderr() {
        // Styled only on a terminal without NO_COLOR (clap's own detection).
        return e
            .print()
            .map_or_else(|e| output::stdout_failed(&e), |()| Exit::Success);
    }
    let rendered = e.render().to_string();
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        // `airlock` or `airlock patterns` alone: the help is the hint.
        errln!("{}", rendered.trim_end());
    } else {
        let args: Vec<String> = std::env::args().collect();
        let (message, hint) = usage_error(&rendered, &args);
        errln!("airlock: {message}");
        errln!("  {hint}");
    }
    Exit::Usage
}

/// Clap's rendered error as one line and a hint: clap's tip when it has one, else the
/// usage; both name the `--help` of the (sub)command typed in `args`.
fn usage_error(rendered: &str, args: &[String]) -> (String, String) {
    let mut paragraphs = rendered.split("\n\n").map(str::trim);
    let mut first = paragraphs.next().unwrap_or_default().lines().map(str::trim);
    let mut message = first
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_owned();
    let details: Vec<&str> = first.filter(|l| !l.is_empty()).collect();
    if !details.is_empty() {
        message.push(' ');
        message.push_str(&details.join(", "));
    }
    let rest: Vec<&str> = paragraphs.flat_map(str::lines).map(str::trim).collect();
    let help = format!("see `{} --help`", subcommand_path(args).join(" "));
    let hint = if let Some(tip) = rest.iter().find_map(|l| l.strip_prefix("tip: ")) {
        format!("tip: {tip} ({help})")
    } else if let Some(usage) = rest.iter().find_map(|l| l.strip_prefix("Usage: ")) {
        format!("usage: {usage} ({help})")
    } else {
        help
    };
    (message, hint)
}

/// The (sub)command names at the start of `args` (after the program), as typed:
/// `["airlock", "patterns", "add"]` for `airlock -v patterns add x`.
fn subcommand_path(args: &[String]) -> Vec<String> {
    let mut command = Cli::command();
    let mut path = vec![command.get_name().to_owned()];
    for arg in args.iter().skip(1) {
        let Some(sub) = command.find_subcommand(arg).cloned() else {
            if arg.starts_with('-') {
                continue;
            }
            break;
        };
        path.push(sub.get_name().to_owned());
        command = sub;
    }
    path
}

/// Diagnostics go to stderr: errors only by default, more with `-v`; `RUST_LOG` overrides.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "error",
        1 => "warn",
        2 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(output::stderr_colours())
        .with_target(false)
        .try_init();
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            CliError::new(
                Exit::Failure,
                format!("cannot start the async runtime: {e}"),
            )
        })
}

fn gate_request(gate: GateArgs, command: String, json: bool) -> ApproveRequest {
    ApproveRequest {
        command,
        cwd: gate.cwd,
        shell: gate.shell,
        host: gate.host,
        session_id: gate.session_id,
        timeout: std::time::Duration::from_secs(gate.timeout),
        fail_open: gate.fail_open,
        json,
        exec: None,
    }
}

/// Asks for approval of `request`. From the first moment, Ctrl-C or SIGTERM ends the process
/// with 130 (the request withdrawn once one was submitted), after the verdict's report; a
/// state that cannot be read (a corrupt `config.json`) is a verdict too, so `--json` still
/// prints its object.
fn ask(conn: &ConnArgs, request: &ApproveRequest) -> Verdict {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(e) => return approve::failed(e),
    };
    let json = request.json;
    signals::exit_on_interrupt(&runtime, move |signal| {
        let message = format!("interrupted by {signal}; nothing was approved");
        approve::failed(CliError::new(Exit::Interrupted, message)).report(json);
    });
    match Context::resolve(conn) {
        Ok(ctx) => runtime.block_on(approve::approve(&ctx, request)),
        Err(e) => approve::failed(e),
    }
}

/// Whether `arg` of subcommand `sub` was typed on the command line (not from the
/// environment or a default).
fn on_command_line(matches: &ArgMatches, sub: &str, arg: &str) -> bool {
    matches
        .subcommand_matches(sub)
        .and_then(|m| m.value_source(arg))
        == Some(ValueSource::CommandLine)
}

fn run(command: Command, matches: &ArgMatches) -> Result<Exit, CliError> {
    match command {
        Command::Demo => runtime()?.block_on(demo::run()).map(|()| Exit::Success),
        Command::Enforcer => runtime()?.block_on(enforcer::run()).map(|()| Exit::Success),
        Command::Sandbox(args) => runtime()?
            .block_on(sandbox_cmd::run(args.into_options()))
            .map(|()| Exit::Success),
        Command::Canonicalize(args) => {
            jcs_cmd::run_canonicalize(&jcs_cmd::Input::from_arg(args.file)).map(|()| Exit::Success)
        }
        Command::Hash(args) => {
            jcs_cmd::run_hash(&jcs_cmd::Input::from_arg(args.file)).map(|()| Exit::Success)
        }
        Command::Approve(args) => {
            let request = gate_request(args.gate, args.command, args.json);
            let verdict = ask(&args.conn, &request);
            verdict.report(request.json);
            Ok(verdict.exit)
        }
        Command::Run(args) => {
            // The program is resolved before anyone is asked: 127/126 without a request.
            let exe = match approve::Executable::resolve(&args.argv, args.gate.cwd.as_deref()) {
                Ok(exe) => exe,
                Err(e) => return Ok(approve::ran(args.json, approve::failed(e), None)),
            };
            let text = approve::display_command(&args.argv[0], &args.argv[1..]);
            let mut request = gate_request(args.gate, text, args.json);
            request.exec = Some(exe);
            let verdict = ask(&args.conn, &request);
            Ok(approve::run_approved(&request, verdict))
        }
        Command::Login(args) => {
            let mut ctx = Context::resolve(&args.conn)?;
            if args.issuer.is_some() {
                // With --issuer, --client-id/--client-secret name the OpenID client: the app
                // credentials of the environment must not be mistaken for it.
                if !on_command_line(matches, "login", "client_id") {
                    return Err(CliError::new(
                        Exit::Usage,
                        "--issuer needs --client-id (the OpenID client) on the command line",
                    ));
                }
                if !on_command_line(matches, "login", "client_secret") {
                    ctx.client_secret = None;
                }
            }
            let how = match args.pat {
                Some(pat) => account::Login::Pat(zeroize::Zeroizing::new(pat)),
                None => account::Login::Device {
                    issuer: args.issuer,
                    scopes: args.scopes,
                },
            };
            runtime()?.block_on(account::login(ctx, how, &mut Stderr))?;
            Ok(Exit::Success)
        }
        Command::Logout(args) => {
            let ctx = Context::resolve(&args.conn)?;
            runtime()?.block_on(account::logout(ctx, &mut Stderr))?;
            Ok(Exit::Success)
        }
        Command::Pair(args) => {
            let ctx = Context::resolve(&args.conn)?;
            let timeout = std::time::Duration::from_secs(args.timeout);
            let confirm = account::Confirm::new(args.expect_fingerprint)?;
            let pairing = runtime()?.block_on(account::pair(
                &ctx,
                args.code,
                timeout,
                &confirm,
                &mut Stderr,
            ))?;
            confirm.check(&pairing)?;
            account::save_pairing(&ctx, &pairing)?;
            errln!(
                "Paired with signer {} (fingerprint {}).",
                inert::inert(pairing.signer_key_id()),
                pairing.fingerprint()
            );
            Ok(Exit::Success)
        }
        Command::Unpair(args) => {
            let ctx = Context::resolve(&args.conn)?;
            runtime()?.block_on(account::unpair(ctx, &mut Stderr))?;
            Ok(Exit::Success)
        }
        Command::Status(args) if args.check => {
            let ctx = Context::resolve(&args.conn)?;
            runtime()?.block_on(check::run(&ctx))
        }
        Command::Status(args) => {
            let ctx = Context::resolve(&args.conn)?;
            runtime()?.block_on(account::status(ctx, args.json))?;
            Ok(Exit::Success)
        }
        Command::Config(command) => config_cmd::run(command),
        Command::Patterns(command) => patterns(command).map(|()| Exit::Success),
        Command::Hook(args) => Ok(hook::run(args)),
        Command::Install(args) => install::run(&args, true).map(|()| Exit::Success),
        Command::Uninstall(args) => install::run(&args, false).map(|()| Exit::Success),
        Command::Doctor(args) => runtime()?.block_on(doctor::run(&args)),
        Command::Dnd(DndCommand::Trust(args)) => {
            approve::dnd_trust(&args.conn, args.setting == "on").map(|()| Exit::Success)
        }
    }
}

fn patterns(command: PatternsCommand) -> Result<(), CliError> {
    match command {
        PatternsCommand::Add(arg) => {
            let ctx = Context::resolve(&arg.conn)?;
            // Refuse a pattern that would approve anything, or nothing, now.
            airlock::gateway::command::Pattern::parse(&arg.pattern)
                .map_err(|e| CliError::new(Exit::Usage, format!("refused: {e}")))?;
            let mut all = ctx.state.patterns()?;
            let list = all.workspaces.entry(ctx.workspace.clone()).or_default();
            if list.contains(&arg.pattern) {
                errln!(
                    "{:?} is already an auto-approve pattern of {}.",
                    arg.pattern,
                    ctx.workspace
                );
                return Ok(());
            }
            list.push(arg.pattern.clone());
            ctx.state.save_patterns(&all)?;
            errln!(
                "Added {:?} to the auto-approve patterns of {}.",
                arg.pattern,
                ctx.workspace
            );
            Ok(())
        }
        PatternsCommand::Remove(arg) => {
            let ctx = Context::resolve(&arg.conn)?;
            let mut all = ctx.state.patterns()?;
            let list = all.workspaces.entry(ctx.workspace.clone()).or_default();
            let before = list.len();
            list.retain(|p| *p != arg.pattern);
            if list.len() == before {
                return Err(CliError::new(
                    Exit::Failure,
                    format!(
                        "{:?} is not an auto-approve pattern of {}",
                        arg.pattern, ctx.workspace
                    ),
                ));
            }
            if list.is_empty() {
                all.workspaces.remove(&ctx.workspace);
            }
            ctx.state.save_patterns(&all)?;
            errln!(
                "Removed {:?} from the auto-approve patterns of {}.",
                arg.pattern,
                ctx.workspace
            );
            Ok(())
        }
        PatternsCommand::List(args) => {
            let ctx = Context::resolve(&args.conn)?;
            let all = ctx.state.patterns()?;
            for p in all.workspaces.get(&ctx.workspace).into_iter().flatten() {
                outln!("{}", inert::inert(p));
            }
            Ok(())
        }
    }
}
