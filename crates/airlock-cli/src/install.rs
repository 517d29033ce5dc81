//! `airlock install` / `airlock uninstall`: our hook merged into (or removed from) an agent's
//! hook configuration file. Every other key and hook of the user stays as it was, in its
//! order and byte for byte (untouched values are carried as raw JSON); twice is once; the
//! write is atomic, keeps the file's permissions, follows a symlinked file to its target and
//! keeps a backup of the previous content.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::exit::{CliError, Exit};
use crate::hook::{AGENT_TIMEOUT, Agent, DEFAULT_DEADLINE};

/// Where the hook goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Scope {
    /// The user's own configuration (every project).
    User,
    /// The project's shared configuration (committed).
    Project,
    /// The project's configuration on this machine only (not committed; Claude Code).
    Local,
}

impl Scope {
    /// The name on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Project => "project",
            Self::Local => "local",
        }
    }
}

/// `airlock install` and `airlock uninstall` options.
#[derive(Debug, clap::Args)]
pub(crate) struct InstallArgs {
    /// The agent.
    #[arg(value_enum)]
    pub(crate) agent: Agent,
    /// Which configuration file [default: user; copilot: project].
    #[arg(long, value_enum)]
    pub(crate) scope: Option<Scope>,
    /// Print the resulting file on stdout instead of writing it.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// The hook events an agent's file gets our hook for.
pub(crate) fn events(agent: Agent) -> &'static [&'static str] {
    match agent {
        Agent::ClaudeCode | Agent::Copilot => &["PreToolUse"],
        Agent::Cursor => &[
            "beforeShellExecution",
            "beforeMCPExecution",
            "beforeReadFile",
        ],
    }
}

/// The default scope of `agent`.
fn default_scope(agent: Agent) -> Scope {
    match agent {
        Agent::Copilot => Scope::Project,
        Agent::ClaudeCode | Agent::Cursor => Scope::User,
    }
}

/// The configuration file of `agent` at `scope` (project scopes: under the current
/// directory).
pub(crate) fn config_path(agent: Agent, scope: Scope) -> Result<PathBuf, CliError> {
    let home = || {
        dirs::home_dir()
            .ok_or_else(|| CliError::new(Exit::Failure, "no home directory on this system"))
    };
    let cwd = || {
        std::env::current_dir()
            .map_err(|e| CliError::new(Exit::Failure, format!("no current directory: {e}")))
    };
    let unsupported = |hint: &str| {
        Err(CliError::new(
            Exit::Usage,
            format!("{} has no {} scope; {hint}", agent.name(), scope.name()),
        ))
    };
    Ok(match (agent, scope) {
        (Agent::ClaudeCode, Scope::User) => home()?.join(".claude/settings.json"),
        (Agent::ClaudeCode, Scope::Project) => cwd()?.join(".claude/settings.json"),
        (Agent::ClaudeCode, Scope::Local) => cwd()?.join(".claude/settings.local.json"),
        (Agent::Cursor, Scope::User) => home()?.join(".cursor/hooks.json"),
        (Agent::Cursor, Scope::Project) => cwd()?.join(".cursor/hooks.json"),
        (Agent::Cursor, Scope::Local) => return unsupported("use --scope project or user"),
        (Agent::Copilot, Scope::Project) => cwd()?.join(".github/hooks/airlock.json"),
        (Agent::Copilot, _) => {
            return unsupported("Copilot hooks live in the repository: use --scope project");
        }
    })
}

/// Every configuration file `agent` may have (for `doctor`): scope and path.
pub(crate) fn config_paths(agent: Agent) -> Vec<(Scope, PathBuf)> {
    [Scope::User, Scope::Project, Scope::Local]
        .into_iter()
        .filter_map(|s| config_path(agent, s).ok().map(|p| (s, p)))
        .collect()
}

/// The command our hook entry runs: this binary, `hook AGENT --timeout S`.
fn hook_command(agent: Agent) -> Result<String, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::new(Exit::Failure, format!("cannot locate airlock itself: {e}")))?;
    let args = [
        "hook".to_owned(),
        agent.name().to_owned(),
        "--timeout".to_owned(),
        DEFAULT_DEADLINE.to_string(),
    ];
    Ok(crate::approve::display_command(
        &exe.display().to_string(),
        &args,
    ))
}

/// Whether `command` runs `airlock hook …` (whatever the path and the flags).
pub(crate) fn is_our_command(command: &str) -> bool {
    let command = command.trim_start();
    let (program, rest) = match command.chars().next() {
        Some(q @ ('\'' | '"')) => match command[1..].find(q) {
            Some(end) => (&command[1..=end], &command[end + 2..]),
            None => return false,
        },
        _ => command
            .split_once(char::is_whitespace)
            .unwrap_or((command, "")),
    };
    let name = Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    matches!(name.as_str(), "airlock" | "airlock.exe")
        && rest.split_whitespace().next() == Some("hook")
}

/// Our hook as found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Installed {
    /// The events it is installed for.
    pub(crate) events: Vec<String>,
    /// The hook commands.
    pub(crate) commands: Vec<String>,
    /// The agent's timeout for it, in seconds (`None`: the agent's default).
    pub(crate) timeouts: Vec<Option<u64>>,
}

/// Our hook entries in the JSON configuration `text` of `agent`.
pub(crate) fn find_installed(agent: Agent, text: &str) -> Installed {
    let mut found = Installed {
        events: Vec::new(),
        commands: Vec::new(),
        timeouts: Vec::new(),
    };
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return found;
    };
    for event in events(agent) {
        let entries = value["hooks"][*event]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let hooks: Vec<Value> = match agent {
            Agent::ClaudeCode => entries
                .iter()
                .flat_map(|g| g["hooks"].as_array().cloned().unwrap_or_default())
                .collect(),
            Agent::Cursor | Agent::Copilot => entries,
        };
        for hook in hooks {
            if let Some(command) = hook["command"].as_str().filter(|c| is_our_command(c)) {
                if !found.events.iter().any(|e| e == event) {
                    found.events.push((*event).to_owned());
                }
                found.commands.push(command.to_owned());
                found.timeouts.push(hook["timeout"].as_u64());
            }
        }
    }
    found
}

/// A JSON value being edited: the user's parts carried as raw text (byte for byte, in
/// their order), the parts we build or rebuild as values (pretty-printed at their depth).
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
enum Node {
    Raw(Box<RawValue>),
    Value(Value),
    Object(IndexMap<String, Node>),
    Array(Vec<Node>),
}

impl Node {
    fn value(&self) -> Option<Value> {
        match self {
            Self::Raw(raw) => serde_json::from_str(raw.get()).ok(),
            Self::Value(v) => Some(v.clone()),
            Self::Object(_) | Self::Array(_) => None,
        }
    }

    /// Whether this is a hook entry running our command.
    fn is_our_hook(&self) -> bool {
        self.value()
            .and_then(|v| v["command"].as_str().map(is_our_command))
            .unwrap_or(false)
    }
}

/// `raw` parsed as `T` of raw parts.
fn parse<T: serde::de::DeserializeOwned>(raw: &RawValue) -> Option<T> {
    serde_json::from_str(raw.get()).ok()
}

fn object(raw: &RawValue) -> Option<IndexMap<String, Node>> {
    let map: IndexMap<String, Box<RawValue>> = parse(raw)?;
    Some(map.into_iter().map(|(k, v)| (k, Node::Raw(v))).collect())
}

fn array(raw: &RawValue) -> Option<Vec<Node>> {
    let list: Vec<Box<RawValue>> = parse(raw)?;
    Some(list.into_iter().map(Node::Raw).collect())
}

fn invalid(path: &Path, what: impl std::fmt::Display) -> CliError {
    CliError::new(
        Exit::Failure,
        format!(
            "{} {what}; fix it first (nothing was changed)",
            path.display()
        ),
    )
}

/// The configuration `before` (a file's content; empty: no file) with our hook installed
/// (`install`) or removed. `None`: nothing to change.
pub(crate) fn edit(
    agent: Agent,
    path: &Path,
    before: &str,
    install: bool,
    command: &str,
) -> Result<Option<String>, CliError> {
    let mut top = if before.trim().is_empty() {
        IndexMap::new()
    } else {
        serde_json::from_str::<Box<RawValue>>(before)
            .ok()
            .as_deref()
            .and_then(object)
            .ok_or_else(|| invalid(path, "is not a JSON object"))?
    };
    let mut hooks = match top.get("hooks") {
        Some(Node::Raw(raw)) => {
            object(raw).ok_or_else(|| invalid(path, "has \"hooks\" that is not an object"))?
        }
        _ => IndexMap::new(),
    };
    let entry = match agent {
        Agent::Cursor => json!({"command": command, "timeout": AGENT_TIMEOUT}),
        Agent::ClaudeCode | Agent::Copilot => {
            json!({"type": "command", "command": command, "timeout": AGENT_TIMEOUT})
        }
    };
    let wanted = match agent {
        Agent::ClaudeCode => json!({"matcher": "*", "hooks": [entry]}),
        Agent::Cursor | Agent::Copilot => entry,
    };
    let mut changed = false;
    for event in events(agent) {
        let entries = match hooks.get(*event) {
            Some(Node::Raw(raw)) => array(raw)
                .ok_or_else(|| invalid(path, format!("has hooks.{event} that is not an array")))?,
            _ => Vec::new(),
        };
        let exact = entries
            .iter()
            .filter(|e| e.value().as_ref() == Some(&wanted))
            .count();
        let (mut kept, ours) = without_ours(agent, entries);
        if (install && exact == 1 && ours == 1) || (!install && ours == 0) {
            continue; // already as wanted
        }
        if install {
            kept.push(Node::Value(wanted.clone()));
        }
        changed = true;
        if kept.is_empty() {
            hooks.shift_remove(*event);
        } else {
            hooks.insert((*event).to_owned(), Node::Array(kept));
        }
    }
    if !changed {
        return Ok(None);
    }
    if hooks.is_empty() && !install {
        top.shift_remove("hooks");
    } else {
        if agent == Agent::Cursor && !top.contains_key("version") {
            top.shift_insert(0, "version".to_owned(), Node::Value(1.into()));
        }
        top.insert("hooks".to_owned(), Node::Object(hooks));
    }
    let mut text = serde_json::to_string_pretty(&top)
        .map_err(|e| CliError::new(Exit::Failure, format!("cannot encode the file: {e}")))?;
    text.push('\n');
    Ok(Some(text))
}

/// `entries` without our hooks (a Claude Code matcher group loses our hooks, and goes when
/// that empties it), and how many of ours there were.
fn without_ours(agent: Agent, entries: Vec<Node>) -> (Vec<Node>, usize) {
    let mut ours = 0;
    let mut kept = Vec::with_capacity(entries.len() + 1);
    for entry in entries {
        if agent != Agent::ClaudeCode {
            if entry.is_our_hook() {
                ours += 1;
            } else {
                kept.push(entry);
            }
            continue;
        }
        let group = match &entry {
            Node::Raw(raw) => object(raw).and_then(|g| {
                let list = match g.get("hooks")? {
                    Node::Raw(raw) => array(raw)?,
                    _ => return None,
                };
                Some((g, list))
            }),
            _ => None,
        };
        let Some((mut group, list)) = group else {
            kept.push(entry);
            continue;
        };
        let n = list.len();
        let others: Vec<_> = list.into_iter().filter(|h| !h.is_our_hook()).collect();
        ours += n - others.len();
        if others.len() == n {
            kept.push(entry);
        } else if !others.is_empty() {
            group.insert("hooks".to_owned(), Node::Array(others));
            kept.push(Node::Object(group));
        }
    }
    (kept, ours)
}

/// `airlock install` (`install`) or `airlock uninstall`.
pub(crate) fn run(args: &InstallArgs, install: bool) -> Result<(), CliError> {
    let agent = args.agent;
    let path = config_path(agent, args.scope.unwrap_or_else(|| default_scope(agent)))?;
    // A symlinked file (dotfiles) is edited where it lives; the link stays.
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    let before = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(CliError::new(
                Exit::Failure,
                format!("cannot read {}: {e}", path.display()),
            ));
        }
    };
    let command = if install {
        hook_command(agent)?
    } else {
        String::new()
    };
    let after = edit(
        agent,
        &path,
        before.as_deref().unwrap_or(""),
        install,
        &command,
    )?;
    let shown = crate::inert::inert(&path.display().to_string()).into_owned();
    let Some(after) = after else {
        if args.dry_run {
            crate::output::stdout_bytes(
                crate::inert::inert_lines(before.as_deref().unwrap_or("")).as_bytes(),
            );
        }
        errln!(
            "The Airlock hook for {} is {} in {shown}; nothing to change.",
            agent.name(),
            if install {
                "already installed"
            } else {
                "not installed"
            }
        );
        return Ok(());
    };
    if args.dry_run {
        crate::output::stdout_bytes(crate::inert::inert_lines(&after).as_bytes());
        return Ok(());
    }
    write_config(&path, before.as_deref(), &after)?;
    let backup = before
        .map(|_| {
            format!(
                " (previous version: {})",
                crate::inert::inert(&backup_path(&path).display().to_string())
            )
        })
        .unwrap_or_default();
    if install {
        errln!(
            "Installed the Airlock hook for {} in {shown}{backup}.",
            agent.name()
        );
    } else {
        errln!(
            "Removed the Airlock hook for {} from {shown}{backup}.",
            agent.name()
        );
    }
    Ok(())
}

fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".airlock-backup");
    path.with_file_name(name)
}

/// Writes `text` to `path` atomically with the permissions it had, after saving `previous`
/// (owner-only) next to it.
fn write_config(path: &Path, previous: Option<&str>, text: &str) -> Result<(), CliError> {
    let io = |what: &str, p: &Path, e: std::io::Error| {
        CliError::new(Exit::Failure, format!("cannot {what} {}: {e}", p.display()))
    };
    let permissions = std::fs::metadata(path).ok().map(|m| m.permissions());
    if let Some(previous) = previous {
        let backup = backup_path(path);
        airlock::crypto::fs::atomic_write(&backup, previous.as_bytes())
            .map_err(|e| io("write", &backup, e))?;
    }
    airlock::crypto::fs::atomic_write(path, text.as_bytes()).map_err(|e| io("write", path, e))?;
    if let Some(permissions) = permissions {
        std::fs::set_permissions(path, permissions).map_err(|e| io("set the mode of", path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "/opt/bin/airlock hook claude-code --timeout 590";

    fn edited(agent: Agent, before: &str, install: bool) -> Option<String> {
        edit(agent, Path::new("f.json"), before, install, CMD).unwrap()
    }

    #[test]
    fn our_command_is_recognized_by_program_and_subcommand() {
        assert!(is_our_command("airlock hook claude-code"));
        assert!(is_our_command(
            "/usr/local/bin/airlock hook cursor --timeout 5"
        ));
        assert!(is_our_command("'/my dir/airlock' hook cursor"));
        assert!(!is_our_command("airlock approve --command 'airlock hook'"));
        assert!(!is_our_command("echo airlock hook"));
        assert!(!is_our_command("/bin/notairlock hook x"));
        assert!(!is_our_command("'unterminated hook"));
    }

    #[test]
    fn install_keeps_the_users_keys_and_hooks_in_order_and_twice_is_once() {
        let before = r#"{
  "zeta": {"b": 1, "a": [3, 2]},
  "hooks": {
    "PostToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "fmt"}]}],
    "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit.sh"}]}]
  },
  "alpha": true
}
"#;
        let once = edited(Agent::ClaudeCode, before, true).unwrap();
        // The user's values are carried byte for byte, in their order.
        let z = once.find(r#""zeta": {"b": 1, "a": [3, 2]}"#).unwrap();
        let h = once.find(r#""hooks""#).unwrap();
        let a = once.find(r#""alpha": true"#).unwrap();
        assert!(z < h && h < a, "{once}");
        assert!(once.contains(
            r#"{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit.sh"}]}"#
        ));
        assert!(once.contains(
            r#"[{"matcher": "Write", "hooks": [{"type": "command", "command": "fmt"}]}]"#
        ));
        let v: Value = serde_json::from_str(&once).unwrap();
        let pre = v["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(pre.len(), 2);
        assert_eq!(pre[1]["matcher"], "*");
        assert_eq!(pre[1]["hooks"][0]["command"], CMD);
        assert_eq!(pre[1]["hooks"][0]["timeout"], AGENT_TIMEOUT);
        assert_eq!(edited(Agent::ClaudeCode, &once, true), None);
        // Uninstall restores the user's content (same keys, order and values).
        let removed = edited(Agent::ClaudeCode, &once, false).unwrap();
        let original: Value = serde_json::from_str(before).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&removed).unwrap(), original);
        assert_eq!(edited(Agent::ClaudeCode, &removed, false), None);
    }

    #[test]
    fn our_hook_sharing_a_group_with_the_users_is_taken_out_alone() {
        let before = r#"{"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [
            {"type": "command", "command": "audit.sh"},
            {"type": "command", "command": "airlock hook claude-code", "timeout": 60}]}]}}"#;
        let after = edited(Agent::ClaudeCode, before, true).unwrap();
        let v: Value = serde_json::from_str(&after).unwrap();
        let pre = v["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(
            pre[0]["hooks"],
            json!([{"type": "command", "command": "audit.sh"}])
        );
        assert_eq!(pre[1]["hooks"][0]["command"], CMD);
        assert_eq!(
            find_installed(Agent::ClaudeCode, &after).commands,
            vec![CMD]
        );
        assert_eq!(
            find_installed(Agent::ClaudeCode, &after).timeouts,
            vec![Some(600)]
        );
    }

    #[test]
    fn cursor_and_copilot_get_flat_entries() {
        let before = r#"{"hooks": {"beforeShellExecution": [{"command": "./audit.sh"}]}}"#;
        let after = edited(Agent::Cursor, before, true).unwrap();
        let v: Value = serde_json::from_str(&after).unwrap();
        assert_eq!(v["version"], 1);
        assert!(after.find("\"version\"").unwrap() < after.find("\"hooks\"").unwrap());
        for event in events(Agent::Cursor) {
            let list = v["hooks"][*event].as_array().unwrap();
            assert_eq!(list.last().unwrap()["command"], CMD, "{event}");
        }
        assert_eq!(
            v["hooks"]["beforeShellExecution"][0]["command"],
            "./audit.sh"
        );
        assert_eq!(find_installed(Agent::Cursor, &after).events.len(), 3);
        assert_eq!(edited(Agent::Cursor, &after, true), None);
        let copilot = edited(Agent::Copilot, "", true).unwrap();
        let v: Value = serde_json::from_str(&copilot).unwrap();
        assert_eq!(v["hooks"]["PreToolUse"][0]["type"], "command");
        assert_eq!(v["hooks"]["PreToolUse"][0]["command"], CMD);
    }

    #[test]
    fn a_file_that_is_not_a_config_object_is_left_alone() {
        for bad in [
            "[1]",
            "{",
            r#"{"hooks": []}"#,
            r#"{"hooks": {"PreToolUse": {}}}"#,
        ] {
            let e = edit(Agent::ClaudeCode, Path::new("f.json"), bad, true, CMD).unwrap_err();
            assert!(
                e.message.contains("nothing was changed"),
                "{bad}: {}",
                e.message
            );
        }
    }
}
