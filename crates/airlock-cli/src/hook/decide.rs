//! The hook's way into the decision path `airlock approve` takes (one implementation:
//! `airlock_gateway::gate` through `approve::decide_action`), and its verdict as the hook's
//! answer.

use airlock::gateway::SubmitOptions;
use tokio::time::Instant;

use super::Answer;
use super::action::{ARTIFACT_TYPE, Action};
use super::payload::ToolCall;
use crate::approve::{ApproveRequest, decide_action};
use crate::connect::Context;
use crate::exit::Exit;

/// How the decision ended.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) exit: Exit,
    pub(crate) message: String,
}

impl Outcome {
    /// The answer: allow only when approved, else deny with what to do about it.
    pub(crate) fn answer(&self) -> Answer {
        let what_to_do = match self.exit {
            Exit::Success => return Answer::Allow(format!("Airlock: {}", self.message)),
            Exit::NotReady => {
                "; run it in your own terminal (not through the agent), then try again"
            }
            Exit::Unavailable => "; run `airlock doctor` in your own terminal",
            _ => "",
        };
        Answer::deny(format!("{}{what_to_do}", self.message))
    }
}

/// Decides `action` by `deadline`. `approver_only`: no local choice (pattern, trusted DND
/// approval) may approve it.
pub(crate) async fn decide(
    ctx: &Context,
    action: &Action,
    call: &ToolCall,
    approver_only: bool,
    deadline: Instant,
) -> Outcome {
    let timeout = deadline.saturating_duration_since(Instant::now());
    if timeout.as_secs() < 1 {
        return Outcome {
            exit: Exit::Timeout,
            message: "no time left to ask the approver".to_owned(),
        };
    }
    let request = ApproveRequest {
        command: action.command_text.clone(),
        cwd: call.cwd.clone(),
        shell: None,
        host: None,
        session_id: call.session_id.clone(),
        timeout,
        fail_open: false,
        json: false,
        exec: None,
    };
    let submit = action.metadata.iter().fold(
        SubmitOptions::new().artifact_type(ARTIFACT_TYPE),
        |o, (k, v)| o.metadata(*k, v.clone()),
    );
    let verdict = decide_action(ctx, &request, &action.plaintext, !approver_only, submit).await;
    Outcome {
        exit: verdict.exit,
        message: verdict.message().to_owned(),
    }
}
