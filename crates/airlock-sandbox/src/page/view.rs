//! What the approver page shows: view models built from the sandbox's state and the askama
//! templates (under `templates/approver/`, HTML-escaped by default) that render them.

use askama::Template;
use serde_json::Value;
use time::OffsetDateTime;

use crate::SeenArtifact;
use crate::page::session::Notice;

/// Strings longer than this many characters (or lines) are folded behind a `<details>`.
const FOLD_CHARS: usize = 280;
const FOLD_LINES: usize = 8;
/// Characters of a folded value shown in its summary.
const PREVIEW_CHARS: usize = 80;
/// Hex digits of the short artifact hash.
const SHORT_HASH: usize = 12;

/// What every signed-in page carries: its tab, the CSRF token for its forms, and a notice.
#[derive(Debug)]
pub(crate) struct Layout {
    pub(crate) tab: &'static str,
    pub(crate) csrf: String,
    pub(crate) notice: Option<Notice>,
    pub(crate) pending_count: usize,
    /// The sandbox's clock (it may run ahead), for the script's countdowns.
    pub(crate) now_unix: i64,
}

/// One labelled row of a decrypted plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    /// `commandText` → `Command text`.
    pub(crate) label: String,
    /// The key as sent.
    pub(crate) key: String,
    /// The value: a string as is, anything else as pretty-printed JSON.
    pub(crate) text: String,
    /// Whether `text` is JSON (shown as code).
    pub(crate) json: bool,
    /// `Some(first characters)` when the value is long and shown folded.
    pub(crate) folded: Option<String>,
}

/// The rows of a plaintext: each top-level key of an object (in the object's order), or one
/// `Content` row for anything else.
pub(crate) fn rows(plaintext: &Value) -> Vec<Row> {
    match plaintext {
        Value::Object(map) => map.iter().map(|(k, v)| row(k, v)).collect(),
        other => vec![row("content", other)],
    }
}

fn row(key: &str, value: &Value) -> Row {
    let (text, json) = match value {
        Value::String(s) => (s.clone(), false),
        other => (
            serde_json::to_string_pretty(other).unwrap_or_default(),
            true,
        ),
    };
    let long = text.chars().count() > FOLD_CHARS || text.lines().count() > FOLD_LINES;
    let folded = long.then(|| {
        let first = text.lines().next().unwrap_or_default();
        let mut preview: String = first.chars().take(PREVIEW_CHARS).collect();
        preview.push('…');
        preview
    });
    Row {
        label: humanize(key),
        key: key.to_owned(),
        text,
        json,
        folded,
    }
}

/// `commandText` / `command_text` → `Command text`.
pub(crate) fn humanize(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut prev_lower = false;
    for c in key.chars() {
        if c == '_' || c == '-' {
            out.push(' ');
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        if out.is_empty() {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// `sha256:ABCDEF…` → `abcdef123456` (the first hex digits, lower case).
pub(crate) fn short_hash(hash: &str) -> String {
    let hex = hash.strip_prefix("sha256:").unwrap_or(hash);
    hex.chars()
        .take(SHORT_HASH)
        .collect::<String>()
        .to_lowercase()
}

/// `9 min left`, `42 s left`, or `expired`.
pub(crate) fn time_left(expires_at: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (expires_at - now).whole_seconds();
    match secs {
        ..=0 => "expired".to_owned(),
        1..60 => format!("{secs} s left"),
        60..3600 => format!("{} min left", (secs + 59) / 60),
        _ => format!("{} h {} min left", secs / 3600, (secs % 3600) / 60),
    }
}

/// `2026-02-24 10:00:00 UTC`.
pub(crate) fn clock(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A request as the pending and history lists show it.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) request_id: String,
    /// `requestLabel`, else the artifact type (`command-approval` → `Command approval`).
    pub(crate) title: String,
    pub(crate) workspace: Option<String>,
    pub(crate) repo: Option<String>,
    pub(crate) enforcer: Option<String>,
    pub(crate) hash: String,
    pub(crate) hash_short: String,
    pub(crate) rows: Vec<Row>,
    /// Why the plaintext could not be read.
    pub(crate) error: Option<String>,
    pub(crate) submitted: Option<String>,
    pub(crate) expires_unix: i64,
    pub(crate) time_left: String,
    /// The outcome, in history (`Approved`, `Rejected`, `Withdrawn`, `Expired`).
    pub(crate) outcome: String,
    /// A CSS class for the outcome.
    pub(crate) outcome_class: &'static str,
    /// The reason given with the decision.
    pub(crate) reason: Option<String>,
}

impl Request {
    pub(crate) fn new(seen: &SeenArtifact, now: OffsetDateTime) -> Self {
        let meta = |k: &str| seen.metadata.get(k).filter(|v| !v.is_empty()).cloned();
        let expires = seen.expires_at.as_offset_date_time();
        Self {
            request_id: seen.request_id.clone(),
            title: meta("requestLabel").unwrap_or_else(|| humanize(&seen.artifact_type)),
            workspace: meta("workspaceName"),
            repo: meta("repoName"),
            enforcer: seen.enforcer_id.clone(),
            hash: seen.artifact_hash.clone(),
            hash_short: short_hash(&seen.artifact_hash),
            rows: seen.plaintext.as_ref().map(rows).unwrap_or_default(),
            error: seen.error.clone(),
            submitted: seen.created_at.map(|t| clock(t.as_offset_date_time())),
            expires_unix: expires.unix_timestamp(),
            time_left: time_left(expires, now),
            outcome: String::new(),
            outcome_class: "",
            reason: seen.reason.clone(),
        }
    }

    /// With its outcome, for the history.
    pub(crate) fn with_outcome(mut self, outcome: &str, class: &'static str) -> Self {
        outcome.clone_into(&mut self.outcome);
        self.outcome_class = class;
        self
    }
}

/// `/approver/`: the requests waiting for a decision.
#[derive(Debug, Template)]
#[template(path = "approver/pending.html")]
pub(crate) struct PendingPage {
    pub(crate) layout: Layout,
    pub(crate) policy: &'static str,
    pub(crate) requests: Vec<Request>,
}

/// A pairing session waiting for its code.
#[derive(Debug)]
pub(crate) struct WaitingPairing {
    pub(crate) enforcer: String,
    pub(crate) workspace: Option<String>,
    pub(crate) time_left: String,
    pub(crate) expires_unix: i64,
}

/// A code pre-generated here.
#[derive(Debug)]
pub(crate) struct Code {
    pub(crate) code: String,
    pub(crate) time_left: String,
    pub(crate) expires_unix: i64,
}

/// An enforcer paired with the approver.
#[derive(Debug)]
pub(crate) struct Paired {
    pub(crate) enforcer: String,
    pub(crate) label: Option<String>,
}

/// `/approver/pairing`.
#[derive(Debug, Template)]
#[template(path = "approver/pairing.html")]
pub(crate) struct PairingPage {
    pub(crate) layout: Layout,
    pub(crate) fingerprint: String,
    pub(crate) auto_pair: bool,
    pub(crate) waiting: Vec<WaitingPairing>,
    pub(crate) codes: Vec<Code>,
    pub(crate) paired: Vec<Paired>,
}

/// `/approver/history`.
#[derive(Debug, Template)]
#[template(path = "approver/history.html")]
pub(crate) struct HistoryPage {
    pub(crate) layout: Layout,
    pub(crate) requests: Vec<Request>,
}

/// One choice of a `<select>`.
#[derive(Debug)]
pub(crate) struct Choice {
    pub(crate) value: &'static str,
    pub(crate) selected: bool,
}

/// An app's consent.
#[derive(Debug)]
pub(crate) struct Consent {
    pub(crate) app_id: String,
    pub(crate) app_name: String,
    pub(crate) choices: Vec<Choice>,
}

/// A DND policy in the list.
#[derive(Debug)]
pub(crate) struct Dnd {
    pub(crate) id: String,
    pub(crate) enforcer: String,
    pub(crate) workspace: String,
    pub(crate) mode: String,
    pub(crate) scope: String,
    pub(crate) expires: String,
}

/// `/approver/settings`.
#[derive(Debug, Template)]
#[template(path = "approver/settings.html")]
pub(crate) struct SettingsPage {
    pub(crate) layout: Layout,
    pub(crate) policies: Vec<Choice>,
    pub(crate) tampers: Vec<Choice>,
    pub(crate) auto_pair: bool,
    pub(crate) consents: Vec<Consent>,
    pub(crate) dnd: Vec<Dnd>,
    /// Enforcer ids and workspace names seen, suggested when creating a DND policy.
    pub(crate) known_enforcers: Vec<String>,
    pub(crate) known_workspaces: Vec<String>,
}

/// The sign-in page (status 401), and the page of a refused request (403).
#[derive(Debug, Template)]
#[template(path = "approver/signin.html")]
pub(crate) struct SignInPage {
    pub(crate) title: &'static str,
    pub(crate) message: String,
    /// Whether to offer the approver-token form.
    pub(crate) form: bool,
}

/// `<select>` choices out of `all`, `current` selected.
pub(crate) fn choices<T: Copy + PartialEq>(
    all: &[T],
    current: T,
    name: impl Fn(T) -> &'static str,
) -> Vec<Choice> {
    all.iter()
        .map(|&v| Choice {
            value: name(v),
            selected: v == current,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_top_level_key_is_a_labelled_row() {
        let rows = rows(&json!({
            "commandText": "make deploy",
            "cwd": "/srv",
            "env": { "STAGE": "prod" },
        }));
        let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["Command text", "Cwd", "Env"]);
        assert_eq!(rows[0].text, "make deploy");
        assert!(!rows[0].json);
        assert!(rows[2].json, "nested values are JSON");
        assert_eq!(rows[2].text, "{\n  \"STAGE\": \"prod\"\n}");
        assert!(rows.iter().all(|r| r.folded.is_none()));
    }

    #[test]
    fn long_values_are_folded_with_a_preview() {
        let long = format!("first line\n{}", "x\n".repeat(20));
        let rows = rows(&json!({ "script": long }));
        assert_eq!(rows[0].folded.as_deref(), Some("first line…"));
        assert_eq!(rows[0].text, long, "the full text stays");
        let wide = "y".repeat(FOLD_CHARS + 1);
        let rows = super::rows(&json!({ "note": wide }));
        assert_eq!(
            rows[0].folded.as_deref().map(|p| p.chars().count()),
            Some(PREVIEW_CHARS + 1)
        );
    }

    #[test]
    fn a_plaintext_that_is_not_an_object_is_one_row() {
        let rows = rows(&json!(["a", 1]));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].label, "Content");
        assert!(rows[0].json);
    }

    #[test]
    fn keys_read_as_labels() {
        assert_eq!(humanize("commandText"), "Command text");
        assert_eq!(humanize("repo_name"), "Repo name");
        assert_eq!(humanize("tool-input"), "Tool input");
        assert_eq!(humanize("sha256Hash"), "Sha256 hash");
        assert_eq!(humanize("URL"), "Url");
    }

    #[test]
    fn hashes_and_times_read_short() {
        assert_eq!(short_hash("sha256:ABCDEF0123456789"), "abcdef012345");
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        let at = |s: i64| now + time::Duration::seconds(s);
        assert_eq!(time_left(at(-5), now), "expired");
        assert_eq!(time_left(at(42), now), "42 s left");
        assert_eq!(time_left(at(61), now), "2 min left");
        assert_eq!(time_left(at(3 * 3600 + 120), now), "3 h 2 min left");
        assert_eq!(clock(now), "1970-01-12 13:46:40 UTC");
    }

    #[test]
    fn templates_escape_what_the_agent_sent() {
        let page = SignInPage {
            title: "Refused",
            message: "<script>alert(1)</script>".to_owned(),
            form: false,
        };
        let html = page.render().expect("renders");
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
    }
}
