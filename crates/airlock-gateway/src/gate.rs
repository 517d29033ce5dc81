//! The gate: the one decision path in front of an action.
//!
//! [`Gate::decide`] asks, in order:
//!
//! 1. **Do-Not-Disturb policies** from the gateway. A deny policy always blocks (blocking
//!    is safe). An approve policy lets the action through only with [`DndTrust::Approvals`],
//!    a choice the user made on this machine: the gateway alone writes DND policies, and
//!    the gateway is not trusted. Otherwise it is ignored ([`GateEvent::DndApprovalIgnored`])
//!    and the approver decides.
//! 2. The **local auto-approve patterns** ([`crate::command`]): only a plain command
//!    matching one of them.
//! 3. The **approver**: the action is sealed end to end and submitted; the decision is
//!    verified (signature of the paired signer, artifact hash, replay journal) before the
//!    verdict says "approved".
//!
//! One **deadline** bounds everything inside: the DND fetch, the submission, every retry
//! and long-poll, and the withdrawal, which gets a short grace before the deadline. When
//! nobody decided, the request is withdrawn, and the verdict says "withdrawn" only when the
//! gateway confirmed it. The replay journal is checked writable *before* anything is asked:
//! a local state failure never costs the human a decision.
//!
//! `fail_open` approves only when the gateway could not be reached at all (connection
//! refused, connect timeout, name resolution failure) — never after a TLS failure, a
//! malformed or oversized answer, a timeout, a rejection or a failed verification.
//!
//! ```no_run
//! use std::time::Duration;
//! use airlock_gateway::gate::{DndTrust, Gate, Outcome};
//! use airlock_gateway::{GatewayClient, Pairing};
//!
//! # async fn run(client: GatewayClient, pairing: Pairing) {
//! let action = serde_json::json!({
//!     "actionType": "command", "commandText": "git push", "workspace": "acme",
//! });
//! let verdict = Gate::new(&client, &pairing, "acme", Duration::from_secs(600))
//!     .patterns(vec!["git status".parse().unwrap()])
//!     .dnd_trust(DndTrust::DenyOnly)
//!     .decide(&action, std::future::pending::<String>())
//!     .await;
//! if verdict.outcome == Outcome::Approved {
//!     // run it
//! }
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::time::Duration;

use airlock_crypto::{DecisionError, ReplayError};
use airlock_types::{DndQuery, metadata_key};
use serde_json::Value;
use tokio::time::{Instant, timeout_at};

use crate::command::{CommandLine, Pattern};
use crate::dnd::DndVerdict;
use crate::enforcer::{AwaitOptions, DecisionOutcome, PendingExchange, SubmitOptions};
use crate::error::VerificationError;
use crate::{Error, GatewayClient, Pairing};

pub use crate::dnd::DndTrust;

/// Who decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecidedBy {
    /// The paired approver, by a verified decision.
    Approver,
    /// A Do-Not-Disturb policy.
    Dnd,
    /// A local auto-approve pattern.
    Pattern,
    /// Nobody: the gateway could not be reached and the caller allowed failing open.
    FailOpen,
}

impl DecidedBy {
    /// `approver`, `dnd`, `pattern` or `fail-open`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approver => "approver",
            Self::Dnd => "dnd",
            Self::Pattern => "pattern",
            Self::FailOpen => "fail-open",
        }
    }
}

/// How the gate ended. Only [`Outcome::Approved`] lets the action run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// Approved (see [`Verdict::decided_by`]).
    Approved,
    /// Rejected by the approver or a DND deny policy.
    Rejected,
    /// Nobody decided before the deadline.
    Timeout,
    /// The request was withdrawn (by someone else) before a decision.
    Withdrawn,
    /// The gateway or the approver cancelled the request.
    Cancelled,
    /// A decision arrived and failed verification: blocked.
    VerificationFailed,
    /// The caller's interrupt fired.
    Interrupted,
    /// The gate could not finish: see [`Verdict::failure`].
    Failed,
}

/// Why the gate could not finish.
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure {
    /// The gateway failed (unreachable, refused the credentials, answered garbage, …).
    Gateway {
        /// What the gate was doing (`cannot submit the approval request`, …).
        doing: &'static str,
        /// The failure.
        error: Error,
    },
    /// Local state: the replay journal cannot be written (or read). Nothing was asked.
    LocalState(ReplayError),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gateway { doing, error } => write!(f, "{doing}: {}", chain(error)),
            Self::LocalState(e) => write!(f, "local state: {}", chain(e)),
        }
    }
}

/// What became of a submitted request nobody decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Withdrawal {
    /// The gateway confirmed the withdrawal.
    Done,
    /// The gateway had closed the request already.
    AlreadyClosed,
    /// The withdrawal failed or got no answer in time (why): the request expires on its own.
    Failed(String),
}

impl fmt::Display for Withdrawal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Done => f.write_str("the request was withdrawn"),
            Self::AlreadyClosed => f.write_str("the request was already closed"),
            Self::Failed(why) => write!(
                f,
                "withdrawing the request failed ({why}); it expires on its own"
            ),
        }
    }
}

/// The gate's answer.
#[derive(Debug)]
#[non_exhaustive]
pub struct Verdict {
    /// How it ended.
    pub outcome: Outcome,
    /// Who decided, when someone did.
    pub decided_by: Option<DecidedBy>,
    /// The exchange's request id, once submitted.
    pub request_id: Option<String>,
    /// The artifact hash, once submitted.
    pub artifact_hash: Option<String>,
    /// The signer of a verified decision.
    pub signer_key_id: Option<String>,
    /// The approver's reason (free text, not signed: display only, escaped).
    pub reason: Option<String>,
    /// The `HARP_ERR_*` code of a failed verification.
    pub harp_code: Option<String>,
    /// A one-line summary for people. Contains text from the gateway: escape it before
    /// printing it on a terminal.
    pub message: String,
    /// What failed, when [`outcome`](Self::outcome) is [`Outcome::Failed`].
    pub failure: Option<Failure>,
    /// Whether a submitted request nobody decided on was withdrawn.
    pub withdrawal: Option<Withdrawal>,
}

impl Verdict {
    fn new(outcome: Outcome, message: impl Into<String>) -> Self {
        Self {
            outcome,
            decided_by: None,
            request_id: None,
            artifact_hash: None,
            signer_key_id: None,
            reason: None,
            harp_code: None,
            message: message.into(),
            failure: None,
            withdrawal: None,
        }
    }

    fn by(mut self, who: DecidedBy) -> Self {
        self.decided_by = Some(who);
        self
    }

    fn failed(failure: Failure) -> Self {
        let mut v = Self::new(Outcome::Failed, failure.to_string());
        v.failure = Some(failure);
        v
    }

    fn withdrawn(mut self, withdrawal: Withdrawal) -> Self {
        self.message = format!("{}; {withdrawal}", self.message);
        self.withdrawal = Some(withdrawal);
        self
    }

    fn for_exchange(mut self, pending: &PendingExchange) -> Self {
        self.request_id = Some(pending.request_id().to_owned());
        self.artifact_hash = Some(pending.artifact_hash().to_owned());
        self
    }

    /// True only when the action may run.
    pub fn is_approved(&self) -> bool {
        self.outcome == Outcome::Approved
    }
}

/// What the gate tells its caller while deciding.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum GateEvent {
    /// A DND policy would have approved, but approvals from DND are not trusted here.
    DndApprovalIgnored {
        /// The policy's id.
        policy_id: String,
    },
    /// The action was submitted; now waiting for the approver until `deadline`.
    Submitted {
        /// The exchange's request id.
        request_id: String,
        /// When the gate gives up.
        deadline: Instant,
    },
}

/// The longest the DND step may take; past it, "no policy" and the approver is asked.
pub const DND_FETCH_LIMIT: Duration = Duration::from_secs(5);
/// The longest the withdrawal may take, reserved before the deadline.
pub const WITHDRAW_GRACE: Duration = Duration::from_secs(3);

/// The DND step's share of the time: [`DND_FETCH_LIMIT`], at most a quarter of it, so a
/// stalled policy fetch still leaves the human time to decide.
fn dnd_limit(total: Duration) -> Duration {
    (total / 4).min(DND_FETCH_LIMIT)
}

/// The grace reserved for the withdrawal: [`WITHDRAW_GRACE`], at most a fifth of the time.
fn withdraw_grace(total: Duration) -> Duration {
    (total / 5).min(WITHDRAW_GRACE)
}

/// The gate in front of one action: the client, the pairing, the local choices and the
/// deadline. Built with [`Gate::new`], run with [`Gate::decide`].
#[must_use]
pub struct Gate<'a> {
    client: &'a GatewayClient,
    pairing: &'a Pairing,
    workspace: String,
    session_id: Option<String>,
    patterns: Vec<Pattern>,
    dnd_trust: DndTrust,
    fail_open: bool,
    timeout: Duration,
    deadline: Instant,
    submit: SubmitOptions,
    on_event: Box<dyn FnMut(&GateEvent) + Send + 'a>,
}

impl fmt::Debug for Gate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gate")
            .field("workspace", &self.workspace)
            .field("session_id", &self.session_id)
            .field("patterns", &self.patterns)
            .field("dnd_trust", &self.dnd_trust)
            .field("fail_open", &self.fail_open)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<'a> Gate<'a> {
    /// A gate for `workspace` that gives up `timeout` from now (every request, retry and
    /// wait included). No patterns, DND approvals ignored, failing closed.
    pub fn new(
        client: &'a GatewayClient,
        pairing: &'a Pairing,
        workspace: impl Into<String>,
        timeout: Duration,
    ) -> Self {
        Self {
            client,
            pairing,
            workspace: workspace.into(),
            session_id: None,
            patterns: Vec::new(),
            dnd_trust: DndTrust::default(),
            fail_open: false,
            timeout,
            deadline: Instant::now() + timeout,
            submit: SubmitOptions::new(),
            on_event: Box::new(|_| {}),
        }
    }

    /// The agent session (selects session-scoped DND policies; decisions scoped to it).
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// The local auto-approve patterns.
    pub fn patterns(mut self, patterns: Vec<Pattern>) -> Self {
        self.patterns = patterns;
        self
    }

    /// Whether DND approvals are honoured (default [`DndTrust::DenyOnly`]).
    pub fn dnd_trust(mut self, trust: DndTrust) -> Self {
        self.dnd_trust = trust;
        self
    }

    /// Approve when the gateway cannot be reached at all (default `false`).
    pub fn fail_open(mut self, yes: bool) -> Self {
        self.fail_open = yes;
        self
    }

    /// The artifact type and metadata the approver step submits with (e.g. an agent hook's
    /// `command.review` and `requestLabel`). The gate sets the expiry to its deadline and
    /// `workspaceName` unless given.
    pub fn submit_options(mut self, options: SubmitOptions) -> Self {
        self.submit = options;
        self
    }

    /// Called with each [`GateEvent`].
    pub fn on_event(mut self, f: impl FnMut(&GateEvent) + Send + 'a) -> Self {
        self.on_event = Box::new(f);
        self
    }

    /// Decides on `action` (the plaintext the approver sees; a command has `actionType`
    /// `command` or `terminal_command` and its text in `commandText`). `interrupt`
    /// resolves, with a label such as `SIGTERM`, when the caller gives up: a submitted
    /// request is then withdrawn (within the grace) and the verdict is
    /// [`Outcome::Interrupted`]. Never fails: failures are verdicts.
    pub async fn decide(
        mut self,
        action: &Value,
        interrupt: impl Future<Output = String> + Send,
    ) -> Verdict {
        // Local state first: a journal we cannot write would throw the human's decision away.
        if let Err(e) = self.client.replay_journal().check_writable() {
            return Verdict::failed(Failure::LocalState(e));
        }
        let command = matches!(
            action.get("actionType").and_then(Value::as_str),
            Some("command" | "terminal_command")
        )
        .then(|| action.get("commandText").and_then(Value::as_str))
        .flatten();
        if let Some(v) = self.dnd(action, command.unwrap_or_default()).await {
            return v;
        }
        if let Some(p) = command.and_then(|c| self.matching_pattern(c)) {
            return Verdict::new(
                Outcome::Approved,
                format!("approved by the auto-approve pattern {:?}", p.as_str()),
            )
            .by(DecidedBy::Pattern);
        }
        self.ask_approver(action, interrupt).await
    }

    fn matching_pattern(&self, command: &str) -> Option<&Pattern> {
        match CommandLine::parse(command) {
            Ok(line) => self.patterns.iter().find(|p| p.matches(&line)),
            Err(why) => {
                tracing::info!("no auto-approve pattern applies: {why}");
                None
            }
        }
    }

    /// The DND step: a verdict when a (trusted) policy decides; its audit artifact is
    /// submitted within the same limit.
    async fn dnd(&mut self, action: &Value, command: &str) -> Option<Verdict> {
        let mut query = DndQuery::new(self.pairing.enforcer_id(), self.workspace.clone());
        if let Some(id) = &self.session_id {
            query = query.with_session_id(id.clone());
        }
        let limit = self.deadline.min(Instant::now() + dnd_limit(self.timeout));
        let step = self.client.dnd_step(
            self.pairing,
            &query,
            command,
            action.clone(),
            self.dnd_trust,
        );
        let verdict = timeout_at(limit, step).await.unwrap_or_else(|_| {
            tracing::warn!("the DND step timed out; treating as no policy");
            DndVerdict::None
        });
        let (outcome, policy) = match &verdict {
            DndVerdict::Deny(p) => (Outcome::Rejected, p),
            DndVerdict::Approve(p) => (Outcome::Approved, p),
            DndVerdict::ApprovalIgnored(p) => {
                tracing::warn!(
                    policy = %p.request_id,
                    "a Do-Not-Disturb policy would approve; ignored (DND approvals are not trusted here)"
                );
                (self.on_event)(&GateEvent::DndApprovalIgnored {
                    policy_id: p.request_id.clone(),
                });
                return None;
            }
            _ => return None,
        };
        let message = match outcome {
            Outcome::Approved => format!("approved by Do-Not-Disturb policy {}", policy.request_id),
            _ => format!("rejected by Do-Not-Disturb policy {}", policy.request_id),
        };
        Some(Verdict::new(outcome, message).by(DecidedBy::Dnd))
    }

    /// The approver step: submit, wait, verify; withdraw when nobody decided.
    async fn ask_approver(
        mut self,
        action: &Value,
        interrupt: impl Future<Output = String> + Send,
    ) -> Verdict {
        let grace = withdraw_grace(self.timeout);
        let wait_until = self.deadline.checked_sub(grace).unwrap_or(self.deadline);
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let mut options =
            std::mem::take(&mut self.submit).expires_in(remaining.max(Duration::from_secs(1)));
        options
            .metadata
            .entry(metadata_key::WORKSPACE_NAME.to_owned())
            .or_insert_with(|| self.workspace.clone());
        tokio::pin!(interrupt);
        let submit = timeout_at(
            wait_until,
            self.client
                .encrypt_and_submit(self.pairing, action, options),
        );
        tokio::pin!(submit);
        let pending = tokio::select! {
            submitted = &mut submit => match submitted {
                Ok(Ok(pending)) => pending,
                Ok(Err(e)) if self.fail_open && is_unreachable(&e) => {
                    return Verdict::new(
                        Outcome::Approved,
                        format!("the gateway could not be reached ({}); allowed because of fail-open", chain(&e)),
                    )
                    .by(DecidedBy::FailOpen);
                }
                Ok(Err(e)) => {
                    return Verdict::failed(Failure::Gateway {
                        doing: "cannot submit the approval request",
                        error: e,
                    });
                }
                Err(_) => {
                    return Verdict::new(
                        Outcome::Timeout,
                        format!("the submission did not complete within {}s", self.timeout.as_secs()),
                    );
                }
            },
            signal = &mut interrupt => {
                // The gateway may have accepted it already: let the submission finish, for
                // a moment, so that it can be withdrawn.
                let interrupted = Verdict::new(Outcome::Interrupted, format!("interrupted by {signal}"));
                return match timeout_at(Instant::now() + WITHDRAW_GRACE, &mut submit).await {
                    Ok(Ok(Ok(pending))) => {
                        let withdrawn = self.withdraw(&pending).await;
                        interrupted.withdrawn(withdrawn).for_exchange(&pending)
                    }
                    _ => interrupted,
                };
            }
        };
        (self.on_event)(&GateEvent::Submitted {
            request_id: pending.request_id().to_owned(),
            deadline: self.deadline,
        });
        let wait = wait_until.saturating_duration_since(Instant::now());
        let mut options = AwaitOptions::new(wait).withdraw_on_timeout(false);
        if let Some(id) = &self.session_id {
            options = options.session_id(id.clone());
        }
        let awaited = tokio::select! {
            awaited = timeout_at(wait_until, self.client.await_decision(&pending, options)) => awaited,
            signal = &mut interrupt => {
                let withdrawn = self.withdraw(&pending).await;
                return Verdict::new(Outcome::Interrupted, format!("interrupted by {signal}"))
                    .withdrawn(withdrawn)
                    .for_exchange(&pending);
            }
        };
        let verdict = match awaited {
            Ok(Ok(DecisionOutcome::Approved(d))) => {
                let mut v = Verdict::new(
                    Outcome::Approved,
                    format!("approved by {}", d.signer_key_id),
                );
                v.signer_key_id = Some(d.signer_key_id.clone());
                v.reason.clone_from(&d.reason);
                v.by(DecidedBy::Approver)
            }
            Ok(Ok(DecisionOutcome::Rejected(d))) => {
                let why = d
                    .reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                let mut v = Verdict::new(
                    Outcome::Rejected,
                    format!("rejected by {}{why}", d.signer_key_id),
                );
                v.signer_key_id = Some(d.signer_key_id.clone());
                v.reason.clone_from(&d.reason);
                v.by(DecidedBy::Approver)
            }
            Ok(Ok(DecisionOutcome::Withdrawn)) => {
                Verdict::new(Outcome::Withdrawn, "the request was withdrawn")
            }
            Ok(Ok(DecisionOutcome::Cancelled)) => {
                Verdict::new(Outcome::Cancelled, "the request was cancelled")
            }
            // Nobody decided in time (our deadline, or the gateway expired it).
            Ok(Ok(_)) | Err(_) => {
                let withdrawn = self.withdraw(&pending).await;
                Verdict::new(
                    Outcome::Timeout,
                    format!("no decision within {}s", self.timeout.as_secs()),
                )
                .withdrawn(withdrawn)
            }
            Ok(Err(e)) => self.failed_wait(e, &pending).await,
        };
        verdict.for_exchange(&pending)
    }

    /// A wait that ended in an error: a failed verification blocks; a journal failure is
    /// local state; anything else withdraws the request (nobody will act on a decision).
    async fn failed_wait(&self, e: Error, pending: &PendingExchange) -> Verdict {
        let e = match e {
            Error::Verification(v) => match *v {
                VerificationError::Decision(DecisionError::Journal(j)) => {
                    return Verdict::failed(Failure::LocalState(j));
                }
                other => {
                    let mut out = Verdict::new(
                        Outcome::VerificationFailed,
                        format!(
                            "the decision failed verification; blocked: {}",
                            chain(&other)
                        ),
                    );
                    out.harp_code = Some(other.harp_code().to_string());
                    return out;
                }
            },
            e => e,
        };
        let withdrawn = self.withdraw(pending).await;
        Verdict::failed(Failure::Gateway {
            doing: "waiting for the decision failed",
            error: e,
        })
        .withdrawn(withdrawn)
    }

    /// Withdraws `pending`: within the grace left before the deadline, and never longer than
    /// [`WITHDRAW_GRACE`].
    async fn withdraw(&self, pending: &PendingExchange) -> Withdrawal {
        let now = Instant::now();
        let limit = self
            .deadline
            .min(now + WITHDRAW_GRACE)
            .max(now + Duration::from_millis(200));
        match timeout_at(limit, self.client.withdraw(pending)).await {
            Ok(Ok(_)) => Withdrawal::Done,
            Ok(Err(e)) if e.is_conflict() => Withdrawal::AlreadyClosed,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "withdrawing the request failed");
                Withdrawal::Failed(chain(&e))
            }
            Err(_) => Withdrawal::Failed("no answer in time".to_owned()),
        }
    }
}

/// The gateway could not be reached at all: connection refused, connect timeout, name
/// resolution failure. Not a TLS failure, not anything the gateway answered.
pub fn is_unreachable(e: &Error) -> bool {
    matches!(e, Error::Transport(t) if t.is_unreachable())
}

/// `e` and its sources, `a: b: c`, repeats skipped.
fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(e);
    while let Some(err) = current {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}
