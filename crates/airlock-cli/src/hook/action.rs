//! The tool call as the approver sees it: a `command.review` artifact in the shape the Airlock
//! app renders (the keys the official enforcers submit), plus the tool's details.

use std::path::Path;

use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use super::payload::{Agent, Tool, ToolCall};

/// The artifact type the Airlock app renders as a command review.
pub(crate) const ARTIFACT_TYPE: &str = "command.review";

/// At most this many bytes of a file's content, a diff or a tool input are shown; longer
/// text is cut and its full size and SHA-256 are shown with it.
pub(crate) const SHOWN: usize = 16 * 1024;

/// An artifact ready to submit.
#[derive(Debug, Clone)]
pub(crate) struct Action {
    /// The one line the approver reads first (for a shell command: the command).
    pub(crate) command_text: String,
    /// The encrypted plaintext.
    pub(crate) plaintext: Value,
    /// The cleartext metadata (`workspaceName`, `repoName`, `requestLabel`).
    pub(crate) metadata: Vec<(&'static str, String)>,
}

impl Action {
    /// Maps `call` from `agent` in `workspace`.
    pub(crate) fn of(call: &ToolCall, agent: Agent, workspace: &str) -> Self {
        let mut details = Map::new();
        let mut put = |k: &str, v: Value| {
            details.insert(k.to_owned(), v);
        };
        let (command_text, description) = match &call.tool {
            Tool::Shell {
                command,
                description,
            } => (command.clone(), description.clone()),
            Tool::Write { path, content } => {
                put("filePath", path.as_str().into());
                shown_into(&mut details, "content", content);
                (
                    format!("Write {path}"),
                    Some(format!("Write {} bytes to {path}", content.len())),
                )
            }
            Tool::Edit {
                path,
                edits,
                replace_all,
            } => {
                put("filePath", path.as_str().into());
                put("edits", edits.len().into());
                put("replaceAll", (*replace_all).into());
                let diff: String = edits
                    .iter()
                    .map(|e| {
                        similar::TextDiff::from_lines(&e.old, &e.new)
                            .unified_diff()
                            .header(&format!("a/{path}"), &format!("b/{path}"))
                            .to_string()
                    })
                    .collect();
                shown_into(&mut details, "diff", &diff);
                let n = edits.len();
                (
                    format!("Edit {path}"),
                    Some(format!(
                        "Edit {path} ({n} change{})",
                        if n == 1 { "" } else { "s" }
                    )),
                )
            }
            Tool::Notebook {
                path,
                cell_id,
                edit_mode,
                source,
            } => {
                put("notebookPath", path.as_str().into());
                put("cellId", cell_id.clone().into());
                put("editMode", edit_mode.clone().into());
                shown_into(&mut details, "newSource", source);
                (
                    format!("NotebookEdit {path}"),
                    Some(format!("Edit a cell of the notebook {path}")),
                )
            }
            Tool::Fetch { url, prompt } => {
                put("url", url.as_str().into());
                put("prompt", prompt.clone().into());
                (format!("WebFetch {url}"), Some(format!("Fetch {url}")))
            }
            Tool::Mcp {
                server,
                tool,
                input,
            } => {
                put("server", server.as_str().into());
                put("mcpTool", tool.as_str().into());
                let text = input_into(&mut details, input);
                (
                    format!("{} {text}", call.name),
                    Some(format!("Call the tool {tool} of the MCP server {server}")),
                )
            }
            Tool::Read { path } => {
                put("filePath", path.as_str().into());
                (
                    format!("Read {path}"),
                    Some(format!("Read the file {path}")),
                )
            }
            Tool::Other { input } => {
                let text = input_into(&mut details, input);
                (format!("{} {text}", call.name), None)
            }
        };
        let command_text = cut(&command_text).0;
        let terminal = matches!(call.tool, Tool::Shell { .. });
        let repo = repo_name(call.cwd.as_deref()).unwrap_or_else(|| workspace.to_owned());
        let label = if terminal {
            "Terminal Command"
        } else {
            "Agent Step"
        };
        let mut plaintext = json!({
            "actionType": if terminal { "terminal_command" } else { "agent_step" },
            "commandText": command_text,
            "description": description,
            "workspace": workspace,
            "repoName": repo,
            "source": agent.source(),
            "cwd": call.cwd,
            "tool": call.name,
            "sessionId": call.session_id,
            "extensions": {"org.harp.requestedActions": {"version": 1, "actions": [
                {"id": "approve", "caption": "Approve", "style": "primary", "decision": "approve"},
                {"id": "reject", "caption": "Reject", "style": "danger", "decision": "reject"},
            ]}},
        });
        if let Some(obj) = plaintext.as_object_mut() {
            obj.extend(details);
        }
        Self {
            command_text,
            plaintext,
            metadata: vec![
                ("workspaceName", workspace.to_owned()),
                ("repoName", repo),
                ("requestLabel", label.to_owned()),
            ],
        }
    }
}

/// `text` cut to [`SHOWN`] bytes (at a character boundary), and whether it was cut.
fn cut(text: &str) -> (String, bool) {
    if text.len() <= SHOWN {
        return (text.to_owned(), false);
    }
    let mut end = SHOWN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (format!("{}…", &text[..end]), true)
}

/// Puts `key` (the text, cut when long), `keyBytes`, `keySha256` and `keyTruncated`.
fn shown_into(details: &mut Map<String, Value>, key: &str, text: &str) {
    let (shown, truncated) = cut(text);
    details.insert(key.to_owned(), shown.into());
    details.insert(format!("{key}Bytes"), text.len().into());
    details.insert(
        format!("{key}Sha256"),
        hex::encode(Sha256::digest(text.as_bytes())).into(),
    );
    details.insert(format!("{key}Truncated"), truncated.into());
}

/// Puts a tool's `input` (as JSON, or as cut text with its size and digest when long) and
/// returns its compact text.
fn input_into(details: &mut Map<String, Value>, input: &Value) -> String {
    let text = input.to_string();
    if text.len() <= SHOWN {
        details.insert("input".to_owned(), input.clone());
    } else {
        shown_into(details, "input", &text);
    }
    text
}

/// The name of the git repository `cwd` is in, else of `cwd` itself.
fn repo_name(cwd: Option<&str>) -> Option<String> {
    let cwd = Path::new(cwd?);
    let dir = cwd
        .ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(cwd);
    dir.file_name().map(|n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::payload::parse;

    fn sample(name: &str) -> ToolCall {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/agents")
            .join(name);
        let agent = if name.starts_with("cursor") {
            Agent::Cursor
        } else {
            Agent::ClaudeCode
        };
        parse(agent, &std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn bash_is_a_terminal_command_with_its_description() {
        let a = Action::of(&sample("claude-code-bash.json"), Agent::ClaudeCode, "ws");
        let p = &a.plaintext;
        assert_eq!(p["actionType"], "terminal_command");
        assert_eq!(p["commandText"], "git push --force origin main");
        assert_eq!(p["description"], "Force-push the rewritten history");
        assert_eq!(p["source"], "airlock/claude-code");
        assert_eq!(p["workspace"], "ws");
        assert_eq!(p["repoName"], "widgets");
        assert_eq!(p["cwd"], "/home/dev/widgets");
        assert_eq!(p["tool"], "Bash");
        let actions = &p["extensions"]["org.harp.requestedActions"]["actions"];
        assert_eq!(actions[0]["decision"], "approve");
        assert_eq!(actions[1]["decision"], "reject");
        assert!(
            a.metadata
                .contains(&("requestLabel", "Terminal Command".into()))
        );
        assert!(a.metadata.contains(&("workspaceName", "ws".into())));
    }

    #[test]
    fn an_edit_is_shown_as_a_unified_diff() {
        let a = Action::of(&sample("claude-code-edit.json"), Agent::ClaudeCode, "ws");
        let p = &a.plaintext;
        assert_eq!(p["actionType"], "agent_step");
        assert_eq!(p["commandText"], "Edit /home/dev/widgets/src/auth.rs");
        let diff = p["diff"].as_str().unwrap();
        assert!(diff.starts_with("--- a//home/dev/widgets/src/auth.rs\n+++ b/"));
        assert!(diff.contains("-if token.is_expired() {\n"));
        assert!(diff.contains("+// expiry check disabled for testing"));
        assert!(a.metadata.contains(&("requestLabel", "Agent Step".into())));
    }

    #[test]
    fn a_long_write_is_cut_with_its_size_and_digest() {
        let mut call = sample("claude-code-write.json");
        let short = Action::of(&call, Agent::ClaudeCode, "ws").plaintext;
        assert_eq!(short["contentTruncated"], false);
        assert!(short["content"].as_str().unwrap().contains("cargo publish"));
        let long = "é".repeat(SHOWN);
        call.tool = Tool::Write {
            path: "big.txt".into(),
            content: long.clone(),
        };
        let p = Action::of(&call, Agent::ClaudeCode, "ws").plaintext;
        assert_eq!(p["contentTruncated"], true);
        assert_eq!(p["contentBytes"], long.len());
        assert_eq!(
            p["contentSha256"],
            hex::encode(Sha256::digest(long.as_bytes()))
        );
        assert!(p["content"].as_str().unwrap().len() <= SHOWN + '…'.len_utf8());
    }

    #[test]
    fn mcp_calls_show_server_tool_and_input() {
        let a = Action::of(&sample("claude-code-mcp.json"), Agent::ClaudeCode, "ws");
        assert_eq!(a.plaintext["server"], "postgres");
        assert_eq!(a.plaintext["mcpTool"], "query");
        assert!(
            a.plaintext["input"]["sql"]
                .as_str()
                .unwrap()
                .starts_with("DELETE")
        );
        assert!(a.command_text.starts_with("mcp__postgres__query {"));
        let c = Action::of(&sample("cursor-mcp.json"), Agent::Cursor, "ws");
        assert_eq!(c.plaintext["server"], "https://api.githubcopilot.com/mcp/");
        assert_eq!(c.plaintext["input"]["repo"], "acme/widgets");
        assert_eq!(c.plaintext["source"], "airlock/cursor");
    }

    #[test]
    fn cursor_events_map_like_claude_codes() {
        let shell = Action::of(&sample("cursor-shell.json"), Agent::Cursor, "ws");
        assert_eq!(shell.plaintext["actionType"], "terminal_command");
        assert_eq!(shell.plaintext["cwd"], "/home/dev/widgets/infra");
        assert_eq!(shell.plaintext["tool"], "Shell");
        let read = Action::of(&sample("cursor-read.json"), Agent::Cursor, "ws");
        assert_eq!(read.plaintext["filePath"], "/home/dev/widgets/.env");
        // The file's content (the secret) is not sent to the approver.
        assert!(!read.plaintext.to_string().contains("hunter2"));
    }
}
