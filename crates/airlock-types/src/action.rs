//! The plaintext of a command approval: what the approver app shows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A shell command to approve: the plaintext an enforcer seals for the approver app, which
/// shows each member as a labelled row.
///
/// Serializes to the members the `airlock` CLI sends (`actionType`, `commandText`,
/// `workspace`, `cwd`, `shell`, `host`, `source`, `sessionId`, and for `airlock run` the
/// resolved `argv`, `executable` and `executableSha256`) and those of the official Airlock
/// enforcers (`description`, `repoName`, `extensions`); members not set are left out.
/// More members may come: build it with [`CommandAction::new`] and the setters.
///
/// ```
/// use airlock_types::CommandAction;
///
/// let action = CommandAction::new("git push --force")
///     .workspace("acme")
///     .cwd("/src/acme")
///     .source("my-enforcer")
///     .approve_reject_actions();
/// let json = serde_json::to_value(&action)?;
/// assert_eq!(json["actionType"], "command");
/// assert_eq!(json["commandText"], "git push --force");
/// assert_eq!(json["extensions"]["org.harp.requestedActions"]["actions"][1]["decision"], "reject");
/// assert!(json.get("shell").is_none());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CommandAction {
    /// The kind of action: [`CommandAction::ACTION_TYPE`] unless set otherwise.
    pub action_type: String,
    /// The command line as the agent wrote it.
    pub command_text: String,
    /// A human description of what the command is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The workspace (project) the command runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// The repository's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_name: Option<String>,
    /// The working directory the command runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The shell that runs it (only when a shell is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// The host it runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The enforcer that asks (its name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The agent session it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The program and its arguments exactly as they will be executed (no shell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
    /// The absolute path of the program that will be executed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    /// SHA-256 (lower-case hex) of that program's file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable_sha256: Option<String>,
    /// Extensions by reverse-DNS name (e.g. [`CommandAction::REQUESTED_ACTIONS`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, serde_json::Value>,
}

impl CommandAction {
    /// The `actionType` of a shell command.
    pub const ACTION_TYPE: &'static str = "command";
    /// The extension naming the buttons the approver app shows.
    pub const REQUESTED_ACTIONS: &'static str = "org.harp.requestedActions";

    /// A command approval for `command_text`, nothing else set.
    #[must_use]
    pub fn new(command_text: impl Into<String>) -> Self {
        Self {
            action_type: Self::ACTION_TYPE.to_owned(),
            command_text: command_text.into(),
            description: None,
            workspace: None,
            repo_name: None,
            cwd: None,
            shell: None,
            host: None,
            source: None,
            session_id: None,
            argv: None,
            executable: None,
            executable_sha256: None,
            extensions: BTreeMap::new(),
        }
    }

    /// Sets the `actionType` (e.g. `terminal_command`).
    #[must_use]
    pub fn action_type(mut self, action_type: impl Into<String>) -> Self {
        self.action_type = action_type.into();
        self
    }
    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
    /// Sets the workspace.
    #[must_use]
    pub fn workspace(mut self, workspace: impl Into<String>) -> Self {
        self.workspace = Some(workspace.into());
        self
    }
    /// Sets the repository name.
    #[must_use]
    pub fn repo_name(mut self, repo_name: impl Into<String>) -> Self {
        self.repo_name = Some(repo_name.into());
        self
    }
    /// Sets the working directory.
    #[must_use]
    pub fn cwd(mut self, cwd: impl Into<String>) -> Self {
        self.cwd = Some(cwd.into());
        self
    }
    /// Sets the shell.
    #[must_use]
    pub fn shell(mut self, shell: impl Into<String>) -> Self {
        self.shell = Some(shell.into());
        self
    }
    /// Sets the host.
    #[must_use]
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }
    /// Sets the source (the enforcer's name).
    #[must_use]
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }
    /// Sets the agent session.
    #[must_use]
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }
    /// Sets the argv that will be executed.
    #[must_use]
    pub fn argv<I, S>(mut self, argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.argv = Some(argv.into_iter().map(Into::into).collect());
        self
    }
    /// Sets the executable's absolute path.
    #[must_use]
    pub fn executable(mut self, path: impl Into<String>) -> Self {
        self.executable = Some(path.into());
        self
    }
    /// Sets the executable's SHA-256 (lower-case hex).
    #[must_use]
    pub fn executable_sha256(mut self, sha256: impl Into<String>) -> Self {
        self.executable_sha256 = Some(sha256.into());
        self
    }
    /// Adds an extension.
    #[must_use]
    pub fn extension(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        self.extensions.insert(name.into(), value);
        self
    }
    /// Asks the approver app for an Approve and a Reject button
    /// ([`REQUESTED_ACTIONS`](Self::REQUESTED_ACTIONS)), as the official enforcers do.
    #[must_use]
    pub fn approve_reject_actions(self) -> Self {
        self.extension(
            Self::REQUESTED_ACTIONS,
            serde_json::json!({"version": 1, "actions": [
                {"id": "approve", "caption": "Approve", "style": "primary", "decision": "approve"},
                {"id": "reject", "caption": "Reject", "style": "danger", "decision": "reject"},
            ]}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_writes_the_members_the_cli_sends_and_reads_them_back() {
        let action = CommandAction::new("ls -la")
            .workspace("ws")
            .cwd("/tmp")
            .shell("/bin/sh")
            .host("h")
            .source("airlock-cli")
            .session_id("s-1")
            .argv(["/bin/ls", "-la"])
            .executable("/bin/ls")
            .executable_sha256("ab".repeat(32))
            .description("list")
            .repo_name("r");
        let json = serde_json::to_value(&action).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "actionType": "command", "commandText": "ls -la", "workspace": "ws",
                "cwd": "/tmp", "shell": "/bin/sh", "host": "h", "source": "airlock-cli",
                "sessionId": "s-1", "argv": ["/bin/ls", "-la"], "executable": "/bin/ls",
                "executableSha256": "ab".repeat(32), "description": "list", "repoName": "r",
            })
        );
        assert_eq!(
            serde_json::from_value::<CommandAction>(json).unwrap(),
            action
        );
        assert_eq!(
            serde_json::to_value(CommandAction::new("x")).unwrap(),
            serde_json::json!({"actionType": "command", "commandText": "x"})
        );
    }
}
