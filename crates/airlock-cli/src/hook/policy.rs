//! Which tool calls need the approver: every tool but the read-only ones (configurable per
//! workspace), and always a read of a secret-looking file or any touch of the agent's hook
//! configuration or airlock's state directory. The latter are also never auto-approved.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::payload::{Tool, ToolCall};

/// Tools that only read, allowed without asking unless they touch a secret-looking file.
pub(crate) const DEFAULT_UNGATED: &[&str] = &[
    "Read",
    "Glob",
    "Grep",
    "LS",
    "NotebookRead",
    "TodoRead",
    "TodoWrite",
    "BashOutput",
];

/// `hooks.json` in the state directory: per workspace, the tools allowed without asking.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HookSettings {
    #[serde(default)]
    pub(crate) workspaces: BTreeMap<String, WorkspaceHooks>,
}

/// One workspace's hook settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WorkspaceHooks {
    /// Tool names (or `prefix*`) allowed without the approver; replaces
    /// [`DEFAULT_UNGATED`].
    pub(crate) ungated_tools: Vec<String>,
}

/// What a tool call needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Allowed without a request: an ungated tool touching nothing sensitive.
    Nothing,
    /// The approver (or a local choice: DND, patterns).
    Approval,
    /// The approver only: the call touches the hooks' configuration or airlock's state, so
    /// neither patterns nor DND policies may approve it.
    Approver,
}

/// The rules of one workspace on this machine.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    ungated: Vec<String>,
    state_dir: PathBuf,
}

impl Rules {
    pub(crate) fn new(settings: &HookSettings, workspace: &str, state_dir: &Path) -> Self {
        let ungated = settings.workspaces.get(workspace).map_or_else(
            || DEFAULT_UNGATED.iter().map(|t| (*t).to_owned()).collect(),
            |w| w.ungated_tools.clone(),
        );
        Self {
            ungated,
            state_dir: normalize(state_dir, None),
        }
    }

    fn is_ungated(&self, name: &str) -> bool {
        self.ungated.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => p == name,
        })
    }

    /// What `call` needs.
    pub(crate) fn need(&self, call: &ToolCall) -> Need {
        let cwd = call.cwd.as_deref().map(Path::new);
        let paths: Vec<PathBuf> = touched_paths(&call.tool)
            .into_iter()
            .map(|p| normalize(Path::new(p), cwd))
            .collect();
        let protected = paths.iter().any(|p| self.is_protected(p))
            || matches!(&call.tool, Tool::Shell { command, .. } if self.mentions_protected(command));
        if protected {
            Need::Approver
        } else if !self.is_ungated(&call.name) || paths.iter().any(|p| looks_secret(p)) {
            Need::Approval
        } else {
            Need::Nothing
        }
    }

    /// The agents' hook configuration files and airlock's state directory.
    fn is_protected(&self, path: &Path) -> bool {
        let text = path.to_string_lossy();
        path.starts_with(&self.state_dir)
            || PROTECTED_FILES.iter().any(|f| text.ends_with(f))
            || text.contains("/.github/hooks/")
    }

    /// Whether shell text names a protected file (text can write anywhere: in doubt, ask).
    fn mentions_protected(&self, command: &str) -> bool {
        let state = self.state_dir.to_string_lossy();
        command.contains(state.as_ref()) || PROTECTED_FRAGMENTS.iter().any(|f| command.contains(f))
    }
}

const PROTECTED_FILES: &[&str] = &[
    "/.claude/settings.json",
    "/.claude/settings.local.json",
    "/.cursor/hooks.json",
];

const PROTECTED_FRAGMENTS: &[&str] = &[
    ".claude",
    ".cursor",
    "hooks.json",
    ".github/hooks",
    "AIRLOCK_CONFIG_DIR",
    ".config/airlock",
];

/// The files a tool call reads or writes, as given.
fn touched_paths(tool: &Tool) -> Vec<&str> {
    match tool {
        Tool::Write { path, .. }
        | Tool::Edit { path, .. }
        | Tool::Notebook { path, .. }
        | Tool::Read { path } => vec![path],
        Tool::Other { input } => ["file_path", "path", "notebook_path"]
            .iter()
            .filter_map(|k| input.get(*k).and_then(serde_json::Value::as_str))
            .collect(),
        Tool::Shell { .. } | Tool::Fetch { .. } | Tool::Mcp { .. } => Vec::new(),
    }
}

/// `path` made absolute against `cwd` (when relative) and cleaned of `.` and `..`, then
/// with symlinks of its existing parent resolved.
fn normalize(path: &Path, cwd: Option<&Path>) -> PathBuf {
    let joined = match cwd {
        Some(cwd) if path.is_relative() => cwd.join(path),
        _ => path.to_path_buf(),
    };
    let mut clean = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    let resolved = clean
        .parent()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .zip(clean.file_name())
        .map(|(parent, name)| parent.join(name));
    resolved.unwrap_or(clean)
}

/// Whether a file looks like it holds secrets: `.env*`, private keys, credential files.
pub(crate) fn looks_secret(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let in_dir = |d: &str| path.components().any(|c| c.as_os_str() == d);
    name == ".env"
        || name.starts_with(".env.")
        || name.ends_with(".env")
        || [".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".kdbx"]
            .iter()
            .any(|ext| name.ends_with(ext))
        || (name.starts_with("id_") && !name.ends_with(".pub"))
        || [
            ".netrc",
            ".npmrc",
            ".pypirc",
            ".pgpass",
            ".git-credentials",
            "credentials",
            "credentials.json",
            "secrets.json",
            "secrets.yaml",
            "secrets.yml",
            "kubeconfig",
        ]
        .contains(&name.as_str())
        || in_dir(".ssh")
        || in_dir(".aws")
        || in_dir(".gnupg")
        || in_dir(".kube")
        || (in_dir(".docker") && name == "config.json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::payload::Edit;
    use serde_json::json;

    fn call(name: &str, tool: Tool) -> ToolCall {
        ToolCall {
            name: name.into(),
            tool,
            cwd: Some("/home/dev/widgets".into()),
            session_id: None,
        }
    }

    fn rules() -> Rules {
        Rules::new(
            &HookSettings::default(),
            "widgets",
            Path::new("/home/dev/.config/airlock"),
        )
    }

    fn read(path: &str) -> ToolCall {
        call("Read", Tool::Read { path: path.into() })
    }

    fn write(path: &str) -> ToolCall {
        call(
            "Write",
            Tool::Write {
                path: path.into(),
                content: String::new(),
            },
        )
    }

    fn shell(command: &str) -> ToolCall {
        call(
            "Bash",
            Tool::Shell {
                command: command.into(),
                description: None,
            },
        )
    }

    #[test]
    fn read_only_tools_pass_unless_the_file_looks_secret() {
        let r = rules();
        assert_eq!(r.need(&read("README.md")), Need::Nothing);
        let grep = Tool::Other {
            input: json!({"pattern": "x", "path": "src"}),
        };
        assert_eq!(r.need(&call("Grep", grep)), Need::Nothing);
        for secret in [
            ".env",
            ".env.production",
            "/home/dev/.ssh/config",
            "deploy/server.pem",
            "/home/dev/.ssh/id_ed25519",
            "/home/dev/.aws/credentials",
            "sub/../.git-credentials",
            "/home/dev/.docker/config.json",
        ] {
            assert_eq!(r.need(&read(secret)), Need::Approval, "{secret}");
        }
        assert_eq!(r.need(&read("/home/dev/.ssh/../notes.txt")), Need::Nothing);
        let grep_env = Tool::Other {
            input: json!({"pattern": "KEY", "path": ".env"}),
        };
        assert_eq!(r.need(&call("Grep", grep_env)), Need::Approval);
    }

    #[test]
    fn everything_else_needs_approval() {
        let r = rules();
        assert_eq!(r.need(&shell("ls")), Need::Approval);
        assert_eq!(r.need(&write("src/main.rs")), Need::Approval);
        let task = Tool::Other { input: json!({}) };
        assert_eq!(r.need(&call("Task", task)), Need::Approval);
    }

    #[test]
    fn hook_config_and_state_are_never_auto_approved() {
        let r = rules();
        for path in [
            ".claude/settings.json",
            "/home/dev/.claude/settings.json",
            "x/../.claude/settings.local.json",
            ".cursor/hooks.json",
            ".github/hooks/airlock.json",
            "/home/dev/.config/airlock/patterns.json",
            "/home/dev/.config/airlock/../airlock/hooks.json",
        ] {
            assert_eq!(r.need(&write(path)), Need::Approver, "{path}");
            assert_eq!(r.need(&read(path)), Need::Approver, "{path}");
        }
        let edit = Tool::Edit {
            path: ".claude/settings.json".into(),
            edits: vec![Edit {
                old: "a".into(),
                new: "b".into(),
            }],
            replace_all: false,
        };
        assert_eq!(r.need(&call("Edit", edit)), Need::Approver);
        for cmd in [
            "cp x ~/.claude/settings.json",
            "rm /home/dev/.config/airlock/pairing.json",
            "AIRLOCK_CONFIG_DIR=/tmp/x airlock approve --command y",
            "git add .github/hooks",
        ] {
            assert_eq!(r.need(&shell(cmd)), Need::Approver, "{cmd}");
        }
        // Mentioning airlock is no exemption either way: an ordinary approval.
        assert_eq!(r.need(&shell("rm -rf ~ # airlock hook")), Need::Approval);
    }

    #[test]
    fn ungated_tools_are_configurable_per_workspace() {
        let mut settings = HookSettings::default();
        settings.workspaces.insert(
            "widgets".into(),
            WorkspaceHooks {
                ungated_tools: vec!["WebFetch".into(), "mcp__github__get_*".into()],
            },
        );
        let r = Rules::new(&settings, "widgets", Path::new("/state"));
        let fetch = Tool::Fetch {
            url: "https://x".into(),
            prompt: None,
        };
        assert_eq!(r.need(&call("WebFetch", fetch)), Need::Nothing);
        let mcp = Tool::Other { input: json!({}) };
        assert_eq!(r.need(&call("mcp__github__get_issue", mcp)), Need::Nothing);
        // The list replaces the default: Read is gated now.
        assert_eq!(r.need(&read("README.md")), Need::Approval);
        let other = Rules::new(&settings, "other", Path::new("/state"));
        assert_eq!(other.need(&read("README.md")), Need::Nothing);
    }
}
