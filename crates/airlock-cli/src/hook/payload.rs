//! What the agent sends on stdin: one JSON object, read tolerantly (unknown fields are
//! ignored, fields the tool needs are required).

use serde_json::{Map, Value};

/// At most this many bytes are read from stdin; a larger payload is refused (denied).
pub(crate) const MAX_PAYLOAD: usize = 8 << 20;

/// The agent calling the hook: decides the payload's shape, the answer's and the `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Agent {
    /// Claude Code `PreToolUse`.
    ClaudeCode,
    /// Cursor `beforeShellExecution`, `beforeMCPExecution`, `beforeReadFile`.
    Cursor,
    /// GitHub Copilot agent hooks (`PreToolUse`, Claude Code's format).
    Copilot,
}

impl Agent {
    /// The name on the command line and in config files.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::ClaudeCode => "claude-code",
            Self::Cursor => "cursor",
            Self::Copilot => "copilot",
        }
    }

    /// The artifact's `source`.
    pub(crate) fn source(self) -> String {
        format!("airlock/{}", self.name())
    }
}

/// One edit of a file: `old` replaced by `new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edit {
    pub(crate) old: String,
    pub(crate) new: String,
}

/// The tool call, by kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tool {
    /// A shell command (Claude Code `Bash`, Cursor `beforeShellExecution`).
    Shell {
        command: String,
        description: Option<String>,
    },
    /// A whole file written.
    Write { path: String, content: String },
    /// Edits of a file (`Edit`, `MultiEdit`).
    Edit {
        path: String,
        edits: Vec<Edit>,
        replace_all: bool,
    },
    /// A notebook cell changed.
    Notebook {
        path: String,
        cell_id: Option<String>,
        edit_mode: Option<String>,
        source: String,
    },
    /// A URL fetched.
    Fetch { url: String, prompt: Option<String> },
    /// An MCP tool called.
    Mcp {
        server: String,
        tool: String,
        input: Value,
    },
    /// A file read (`Read`, Cursor `beforeReadFile`).
    Read { path: String },
    /// Any other tool: its input as sent.
    Other { input: Value },
}

/// A parsed tool call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolCall {
    /// The tool's name as the agent calls it (`Bash`, `mcp__github__create_issue`, `Shell`).
    pub(crate) name: String,
    pub(crate) tool: Tool,
    /// The directory the tool runs in (Claude Code `cwd`; Cursor's `cwd` or first root).
    pub(crate) cwd: Option<String>,
    /// The agent's session (Claude Code `session_id`, Cursor `conversation_id`).
    pub(crate) session_id: Option<String>,
}

/// Why a payload was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PayloadError {
    #[error("stdin is not one JSON object: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the payload is not a JSON object")]
    NotObject,
    #[error("the payload has no {0}")]
    Missing(&'static str),
    #[error("unsupported hook event {0:?}")]
    Event(String),
}

/// Parses the payload `agent` sent.
pub(crate) fn parse(agent: Agent, bytes: &[u8]) -> Result<ToolCall, PayloadError> {
    let value: Value = serde_json::from_slice(bytes)?;
    let Value::Object(obj) = value else {
        return Err(PayloadError::NotObject);
    };
    match agent {
        Agent::ClaudeCode | Agent::Copilot => claude_code(&obj),
        Agent::Cursor => cursor(&obj),
    }
}

fn text(obj: &Map<String, Value>, key: &'static str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn required(obj: &Map<String, Value>, key: &'static str) -> Result<String, PayloadError> {
    text(obj, key).ok_or(PayloadError::Missing(key))
}

fn claude_code(obj: &Map<String, Value>) -> Result<ToolCall, PayloadError> {
    let name = required(obj, "tool_name")?;
    let empty = Map::new();
    let input = match obj.get("tool_input") {
        Some(Value::Object(input)) => input,
        None | Some(Value::Null) => &empty,
        Some(_) => return Err(PayloadError::Missing("tool_input object")),
    };
    let tool = claude_code_tool(&name, input)?;
    Ok(ToolCall {
        name,
        tool,
        cwd: text(obj, "cwd"),
        session_id: text(obj, "session_id"),
    })
}

fn claude_code_tool(name: &str, input: &Map<String, Value>) -> Result<Tool, PayloadError> {
    Ok(match name {
        "Bash" => Tool::Shell {
            command: required(input, "command")?,
            description: text(input, "description"),
        },
        "Write" => Tool::Write {
            path: required(input, "file_path")?,
            content: required(input, "content")?,
        },
        "Edit" => Tool::Edit {
            path: required(input, "file_path")?,
            edits: vec![edit(input)?],
            replace_all: input
                .get("replace_all")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        },
        "MultiEdit" => Tool::Edit {
            path: required(input, "file_path")?,
            edits: input
                .get("edits")
                .and_then(Value::as_array)
                .ok_or(PayloadError::Missing("edits"))?
                .iter()
                .map(|e| e.as_object().ok_or(PayloadError::Missing("edit object")))
                .map(|e| e.and_then(edit))
                .collect::<Result<_, _>>()?,
            replace_all: false,
        },
        "NotebookEdit" => Tool::Notebook {
            path: required(input, "notebook_path")?,
            cell_id: text(input, "cell_id"),
            edit_mode: text(input, "edit_mode"),
            source: text(input, "new_source").unwrap_or_default(),
        },
        "WebFetch" => Tool::Fetch {
            url: required(input, "url")?,
            prompt: text(input, "prompt"),
        },
        "Read" => Tool::Read {
            path: required(input, "file_path")?,
        },
        _ => match mcp_name(name) {
            Some((server, tool)) => Tool::Mcp {
                server: server.to_owned(),
                tool: tool.to_owned(),
                input: Value::Object(input.clone()),
            },
            None => Tool::Other {
                input: Value::Object(input.clone()),
            },
        },
    })
}

fn edit(obj: &Map<String, Value>) -> Result<Edit, PayloadError> {
    Ok(Edit {
        old: required(obj, "old_string")?,
        new: required(obj, "new_string")?,
    })
}

/// `mcp__<server>__<tool>` → (server, tool).
fn mcp_name(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("mcp__")?;
    let (server, tool) = rest.split_once("__")?;
    (!server.is_empty() && !tool.is_empty()).then_some((server, tool))
}

fn cursor(obj: &Map<String, Value>) -> Result<ToolCall, PayloadError> {
    let event = required(obj, "hook_event_name")?;
    let root = obj
        .get("workspace_roots")
        .and_then(Value::as_array)
        .and_then(|roots| roots.first())
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (name, tool, cwd) = match event.as_str() {
        "beforeShellExecution" => (
            "Shell".to_owned(),
            Tool::Shell {
                command: required(obj, "command")?,
                description: None,
            },
            text(obj, "cwd").or(root),
        ),
        "beforeMCPExecution" => {
            let tool = required(obj, "tool_name")?;
            // `tool_input` is a JSON string; shown parsed when it parses, else as sent.
            let input = match obj.get("tool_input") {
                Some(Value::String(s)) => {
                    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
                }
                Some(other) => other.clone(),
                None => Value::Null,
            };
            let server = text(obj, "url")
                .or_else(|| text(obj, "command"))
                .unwrap_or_default();
            (
                tool.clone(),
                Tool::Mcp {
                    server,
                    tool,
                    input,
                },
                root,
            )
        }
        "beforeReadFile" => (
            "Read".to_owned(),
            Tool::Read {
                path: required(obj, "file_path")?,
            },
            root,
        ),
        _ => return Err(PayloadError::Event(event)),
    };
    Ok(ToolCall {
        name,
        tool,
        cwd,
        session_id: text(obj, "conversation_id"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claude(name: &str, input: Value) -> Result<ToolCall, PayloadError> {
        let payload = json!({"hook_event_name": "PreToolUse", "tool_name": name,
            "tool_input": input, "cwd": "/w", "session_id": "s", "extra": [1]});
        parse(Agent::ClaudeCode, payload.to_string().as_bytes())
    }

    #[test]
    fn claude_code_tools_are_read_by_kind() {
        let call = claude("Bash", json!({"command": "ls", "description": "list"})).unwrap();
        assert_eq!(
            call.tool,
            Tool::Shell {
                command: "ls".into(),
                description: Some("list".into())
            }
        );
        assert_eq!(call.cwd.as_deref(), Some("/w"));
        assert_eq!(call.session_id.as_deref(), Some("s"));
        let multi = claude(
            "MultiEdit",
            json!({"file_path": "f", "edits": [{"old_string": "a", "new_string": "b"},
                {"old_string": "c", "new_string": "d", "replace_all": true}]}),
        )
        .unwrap();
        let Tool::Edit { edits, .. } = multi.tool else {
            panic!("an edit")
        };
        assert_eq!(edits.len(), 2);
        let mcp = claude("mcp__postgres__query", json!({"sql": "x"})).unwrap();
        assert_eq!(
            mcp.tool,
            Tool::Mcp {
                server: "postgres".into(),
                tool: "query".into(),
                input: json!({"sql": "x"})
            }
        );
        let other = claude("mcp__broken", json!({})).unwrap();
        assert!(matches!(other.tool, Tool::Other { .. }));
    }

    #[test]
    fn a_payload_missing_what_the_tool_needs_is_refused() {
        assert!(matches!(
            claude("Bash", json!({"cmd": "ls"})),
            Err(PayloadError::Missing("command"))
        ));
        assert!(matches!(
            claude("Bash", json!("ls")),
            Err(PayloadError::Missing(_))
        ));
        assert!(matches!(
            claude("MultiEdit", json!({"file_path": "f", "edits": [1]})),
            Err(PayloadError::Missing(_))
        ));
        for garbage in [&b""[..], b"[]", b"{", b"\xff\xfe", b"null"] {
            assert!(parse(Agent::ClaudeCode, garbage).is_err());
            assert!(parse(Agent::Cursor, garbage).is_err());
        }
        let unknown = json!({"hook_event_name": "afterFileEdit", "file_path": "x"});
        assert!(matches!(
            parse(Agent::Cursor, unknown.to_string().as_bytes()),
            Err(PayloadError::Event(_))
        ));
    }

    #[test]
    fn cursor_mcp_input_is_parsed_from_its_string() {
        let payload = json!({"hook_event_name": "beforeMCPExecution", "tool_name": "t",
            "tool_input": "{\"a\":1}", "url": "https://mcp", "workspace_roots": ["/r"]});
        let call = parse(Agent::Cursor, payload.to_string().as_bytes()).unwrap();
        assert_eq!(
            call.tool,
            Tool::Mcp {
                server: "https://mcp".into(),
                tool: "t".into(),
                input: json!({"a": 1})
            }
        );
        assert_eq!(call.cwd.as_deref(), Some("/r"));
    }
}
