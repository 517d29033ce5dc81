//! Do Not Disturb: the gateway's policies, evaluated under the user's local trust choice,
//! and the audit artifact that records a policy's decision.
//!
//! DND policies are **not signed** by the approver: the gateway alone says which are in
//! force, and the gateway is an untrusted relay. So a deny is always honoured (blocking is
//! safe), but an approval only where the user chose so on this machine
//! ([`DndTrust::DenyOnly`] by default).

use std::cmp::Ordering;
use std::time::Duration;

use airlock_types::{CommandAction, DndPolicy, DndQuery, PolicyMode, Timestamp, metadata_key};

use crate::GatewayClient;
use crate::command::CommandLine;
use crate::enforcer::SubmitOptions;
use crate::pairing::Pairing;

/// How long a DND audit artifact lives: 2 minutes (nobody decides on it).
pub const DND_AUDIT_TTL: Duration = Duration::from_secs(120);

/// The farthest ahead a policy may expire and still count: 24 hours. A policy "until 2099"
/// is not one a user set for today's work.
pub const DND_MAX_HORIZON: Duration = Duration::from_secs(24 * 60 * 60);

/// Which gateway DND verdicts this machine honours: the user's choice, made locally.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DndTrust {
    /// Deny policies only (the default): an approving policy is reported as
    /// [`DndVerdict::ApprovalIgnored`] and the approver is asked as usual.
    #[default]
    DenyOnly,
    /// Approve policies let actions through too: the user opted in, on this machine, to
    /// let the gateway's DND policies approve actions without the approver.
    Approvals,
}

/// What the DND policies say about a command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DndVerdict {
    /// A policy approves the command without asking (only under
    /// [`DndTrust::Approvals`]).
    Approve(DndPolicy),
    /// A policy rejects the command without asking.
    Deny(DndPolicy),
    /// A policy would approve the command, but approvals are not trusted here
    /// ([`DndTrust::DenyOnly`]): ask the approver, and say so.
    ApprovalIgnored(DndPolicy),
    /// No policy applies: ask the approver.
    None,
}

impl DndVerdict {
    /// The policy behind the verdict, if any.
    pub fn policy(&self) -> Option<&DndPolicy> {
        match self {
            Self::Approve(p) | Self::Deny(p) | Self::ApprovalIgnored(p) => Some(p),
            Self::None => None,
        }
    }
    /// Whether the approver must be asked ([`DndVerdict::None`] or
    /// [`DndVerdict::ApprovalIgnored`]).
    pub fn asks_approver(&self) -> bool {
        matches!(self, Self::None | Self::ApprovalIgnored(_))
    }
}

/// Evaluates DND `policies` for `command` at `now`, for the enforcer, workspace and session
/// of `query`, honouring approvals only under [`DndTrust::Approvals`].
///
/// A policy counts only when it is complete, its `enforcerId` and `workspaceId` equal the
/// query's, its `sessionId` (when it has one) equals the query's, and it expires after
/// `now` but at most [`DND_MAX_HORIZON`] ahead. Among those, with the precedence of the
/// protocol:
///
/// 1. action-scoped deny — the longest matching argv prefix, then the newest;
/// 2. workspace deny — the newest;
/// 3. action-scoped approve — the longest matching argv prefix, then the newest — and only
///    for a plain command ([`crate::command::is_plain`]): a selector never approves a
///    command a pattern would refuse;
/// 4. workspace approve — the newest;
/// 5. none.
///
/// An approving verdict under [`DndTrust::DenyOnly`] is [`DndVerdict::ApprovalIgnored`].
/// argv is the command's shell words (a command that is not plain is split on whitespace,
/// for deny selectors only). "Newest" is by `createdAt` (a policy without one counts as
/// oldest); remaining ties go to the policy listed first.
pub fn evaluate_dnd(
    policies: &[DndPolicy],
    query: &DndQuery,
    command: &str,
    trust: DndTrust,
    now: Timestamp,
) -> DndVerdict {
    let plain = CommandLine::parse(command).ok();
    let words: Vec<&str> = match &plain {
        Some(line) => line.argv().iter().map(String::as_str).collect(),
        None => command.split_whitespace().collect(),
    };
    let horizon = now.saturating_add_std(DND_MAX_HORIZON);
    let counts = |p: &DndPolicy| {
        p.is_active(now)
            && p.expires_at.is_some_and(|e| e <= horizon)
            && p.enforcer_id == query.enforcer_id
            && p.workspace_id == query.workspace_id
            && p.session_id
                .as_ref()
                .is_none_or(|s| Some(s) == query.session_id.as_ref())
    };
    let active = || policies.iter().filter(move |p| counts(p));
    let best_action = |mode: PolicyMode| {
        pick(
            active().filter(|p| {
                p.is_action_scoped()
                    && p.policy_mode == mode
                    && p.action_selector
                        .as_ref()
                        .is_some_and(|s| s.matches_argv(&words))
            }),
            |p| {
                p.action_selector
                    .as_ref()
                    .map_or(0, |s| s.argv_prefix.len())
            },
        )
    };
    let best_workspace = |mode: PolicyMode| {
        pick(
            active().filter(|p| !p.is_action_scoped() && p.policy_mode == mode),
            |_| 0,
        )
    };
    if let Some(p) =
        best_action(PolicyMode::DenyAll).or_else(|| best_workspace(PolicyMode::DenyAll))
    {
        return DndVerdict::Deny(p.clone());
    }
    let approving = plain
        .is_some()
        .then(|| best_action(PolicyMode::ApproveAll))
        .flatten()
        .or_else(|| best_workspace(PolicyMode::ApproveAll));
    match (approving, trust) {
        (Some(p), DndTrust::Approvals) => DndVerdict::Approve(p.clone()),
        (Some(p), DndTrust::DenyOnly) => DndVerdict::ApprovalIgnored(p.clone()),
        (None, _) => DndVerdict::None,
    }
}

/// The first policy with the highest (specificity, createdAt).
fn pick<'a>(
    candidates: impl Iterator<Item = &'a DndPolicy>,
    specificity: impl Fn(&DndPolicy) -> usize,
) -> Option<&'a DndPolicy> {
    let mut best: Option<&DndPolicy> = None;
    for p in candidates {
        let better = match best {
            None => true,
            Some(b) => match specificity(p).cmp(&specificity(b)) {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal => p.created_at > b.created_at,
            },
        };
        if better {
            best = Some(p);
        }
    }
    best
}

/// A DND audit artifact, ready for [`GatewayClient::encrypt_and_submit`].
#[derive(Debug, Clone)]
pub(crate) struct DndAudit {
    /// The plaintext: the command's artifact with a `dndAudit` object describing the
    /// deciding policy.
    plaintext: serde_json::Value,
    /// Submit options: metadata `dndAudit: "true"`, `dndDecision: "approve"|"reject"`,
    /// expiry in [`DND_AUDIT_TTL`].
    options: SubmitOptions,
}

/// Builds the audit artifact for a command a DND policy decided, from the plaintext the
/// command's approval artifact would have had. `None` when no policy decided (including an
/// ignored approval: the approver gets the request itself).
///
/// A non-object plaintext is wrapped as `{"artifact": plaintext, "dndAudit": …}`. The audit
/// artifact is an exchange of its own, bound to its own request id when submitted, so a
/// top-level `requestId` of the command's plaintext moves to `dndAudit.commandRequestId`.
fn dnd_audit_artifact(
    command_plaintext: serde_json::Value,
    verdict: &DndVerdict,
) -> Option<DndAudit> {
    let (decision, policy) = match verdict {
        DndVerdict::Approve(p) => ("approve", p),
        DndVerdict::Deny(p) => ("reject", p),
        DndVerdict::ApprovalIgnored(_) | DndVerdict::None => return None,
    };
    let mut audit = serde_json::json!({
        "decision": decision,
        "policyId": policy.request_id,
        "policyMode": policy.policy_mode.as_str(),
        "scope": if policy.is_action_scoped() { "action" } else { "workspace" },
        "argvPrefix": policy.action_selector.as_ref().map(|s| s.argv_prefix.clone()),
        "policyExpiresAt": policy.expires_at,
    });
    let plaintext = match command_plaintext {
        serde_json::Value::Object(mut obj) => {
            if let Some(command_request_id) = obj.remove(crate::PLAINTEXT_REQUEST_ID) {
                audit["commandRequestId"] = command_request_id;
            }
            obj.insert("dndAudit".to_owned(), audit);
            serde_json::Value::Object(obj)
        }
        other => serde_json::json!({ "artifact": other, "dndAudit": audit }),
    };
    let options = SubmitOptions::new()
        .metadata(metadata_key::DND_AUDIT, "true")
        .metadata(metadata_key::DND_DECISION, decision)
        .expires_in(DND_AUDIT_TTL);
    Some(DndAudit { plaintext, options })
}

impl GatewayClient {
    /// Do Not Disturb, in one call: fetches the policies in force for this pairing's
    /// enforcer, `workspace_id` and the action's session, evaluates them for the action's
    /// command under `trust` ([`evaluate_dnd`]), and when a policy decided, submits the
    /// audit artifact that records it (best effort: a failure is logged, the verdict stands).
    ///
    /// Act on the verdict: [`DndVerdict::Deny`] blocks, [`DndVerdict::Approve`] lets the
    /// action run, and otherwise ([`DndVerdict::asks_approver`]) submit the action and
    /// [`await_decision`](Self::await_decision). A failed fetch is [`DndVerdict::None`]
    /// (logged) — never an approval.
    ///
    /// ```no_run
    /// # use airlock_gateway::{DndTrust, DndVerdict, GatewayClient, Pairing};
    /// # use airlock_types::CommandAction;
    /// # async fn gate(client: GatewayClient, pairing: Pairing) {
    /// let action = CommandAction::new("git push").workspace("acme");
    /// match client.do_not_disturb(&pairing, "acme", &action, DndTrust::default()).await {
    ///     DndVerdict::Deny(policy) => eprintln!("blocked by DND policy {}", policy.request_id),
    ///     DndVerdict::Approve(_) => { /* the user trusts DND approvals here: run it */ }
    ///     _ => { /* ask the approver */ }
    /// }
    /// # }
    /// ```
    pub async fn do_not_disturb(
        &self,
        pairing: &Pairing,
        workspace_id: &str,
        action: &CommandAction,
        trust: DndTrust,
    ) -> DndVerdict {
        let mut query = DndQuery::new(pairing.enforcer_id(), workspace_id);
        query.session_id.clone_from(&action.session_id);
        let plaintext = serde_json::to_value(action).unwrap_or(serde_json::Value::Null);
        self.dnd_step(pairing, &query, &action.command_text, plaintext, trust)
            .await
    }

    /// [`do_not_disturb`](Self::do_not_disturb) for any plaintext (the gate's step).
    pub(crate) async fn dnd_step(
        &self,
        pairing: &Pairing,
        query: &DndQuery,
        command: &str,
        plaintext: serde_json::Value,
        trust: DndTrust,
    ) -> DndVerdict {
        let verdict = match self.raw().get_effective_dnd_policies(query).await {
            Ok(response) => evaluate_dnd(&response.body, query, command, trust, Timestamp::now()),
            Err(e) => {
                tracing::warn!(error = %e, "fetching DND policies failed; treating as no policy");
                return DndVerdict::None;
            }
        };
        let Some(audit) = dnd_audit_artifact(plaintext, &verdict) else {
            return verdict;
        };
        // Best effort: the policy decided, the audit only records it.
        if let Err(e) = self
            .encrypt_and_submit(pairing, &audit.plaintext, audit.options)
            .await
        {
            tracing::warn!(error = %e, "submitting the DND audit artifact failed");
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_types::ActionSelector;

    fn ts(secs: i64) -> Timestamp {
        Timestamp::from_unix_seconds(1_800_000_000 + secs).unwrap()
    }

    fn action(id: &str, mode: PolicyMode, prefix: &[&str], created: i64) -> DndPolicy {
        let mut p = DndPolicy::action(
            id,
            "enf",
            "ws",
            mode,
            ActionSelector::argv_prefix(prefix.iter().copied()),
            ts(1000),
        );
        p.created_at = Some(ts(created));
        p
    }

    fn workspace(id: &str, mode: PolicyMode, created: i64) -> DndPolicy {
        let mut p = DndPolicy::workspace(id, "enf", "ws", mode, ts(1000));
        p.created_at = Some(ts(created));
        p
    }

    fn query() -> DndQuery {
        DndQuery::new("enf", "ws")
    }

    fn verdict_of(
        policies: &[DndPolicy],
        query: &DndQuery,
        command: &str,
        trust: DndTrust,
    ) -> (&'static str, String) {
        match evaluate_dnd(policies, query, command, trust, ts(0)) {
            DndVerdict::Approve(p) => ("approve", p.request_id),
            DndVerdict::Deny(p) => ("deny", p.request_id),
            DndVerdict::ApprovalIgnored(p) => ("ignored", p.request_id),
            DndVerdict::None => ("none", String::new()),
        }
    }

    /// The verdict when the user trusts DND approvals.
    fn verdict_id(policies: &[DndPolicy], command: &str) -> (&'static str, String) {
        verdict_of(policies, &query(), command, DndTrust::Approvals)
    }

    fn verdict(id: &str, what: &'static str) -> (&'static str, String) {
        (what, id.to_owned())
    }

    #[test]
    fn approvals_are_honoured_only_when_trusted_and_denials_always() {
        let approve = workspace("wa", PolicyMode::ApproveAll, 1);
        let deny = action("ad", PolicyMode::DenyAll, &["rm"], 1);
        let policies = [approve, deny];
        for (trust, approved) in [
            (DndTrust::DenyOnly, verdict("wa", "ignored")),
            (DndTrust::Approvals, verdict("wa", "approve")),
        ] {
            assert_eq!(verdict_of(&policies, &query(), "ls", trust), approved);
            assert_eq!(
                verdict_of(&policies, &query(), "rm -rf x", trust),
                verdict("ad", "deny")
            );
        }
        assert_eq!(DndTrust::default(), DndTrust::DenyOnly);
        let ignored = evaluate_dnd(&policies, &query(), "ls", DndTrust::default(), ts(0));
        assert!(ignored.asks_approver());
        assert!(dnd_audit_artifact(serde_json::json!({}), &ignored).is_none());
    }

    #[test]
    fn a_forged_policy_for_another_enforcer_workspace_or_session_does_not_count() {
        let mut other_enforcer = workspace("e", PolicyMode::ApproveAll, 1);
        other_enforcer.enforcer_id = "enf-other".to_owned();
        let mut other_workspace = workspace("w", PolicyMode::ApproveAll, 1);
        other_workspace.workspace_id = "ws-other".to_owned();
        let mut other_session = workspace("s", PolicyMode::ApproveAll, 1);
        other_session.session_id = Some("s-other".to_owned());
        let forged = [other_enforcer, other_workspace, other_session.clone()];
        let trust = DndTrust::Approvals;
        assert_eq!(
            verdict_of(&forged, &query(), "ls", trust),
            ("none", String::new())
        );
        let in_session = query().with_session_id("s-1");
        assert_eq!(
            verdict_of(&forged, &in_session, "ls", trust),
            ("none", String::new())
        );
        // A policy of the query's session counts; one without a session covers every session.
        assert_eq!(
            verdict_of(
                &[other_session],
                &query().with_session_id("s-other"),
                "ls",
                trust
            ),
            verdict("s", "approve")
        );
        assert_eq!(
            verdict_of(
                &[workspace("any", PolicyMode::ApproveAll, 1)],
                &in_session,
                "ls",
                trust
            ),
            verdict("any", "approve")
        );
    }

    #[test]
    fn a_policy_expiring_more_than_a_day_ahead_does_not_count() {
        let until = |id: &str, secs: i64| {
            let mut p = workspace(id, PolicyMode::ApproveAll, 1);
            p.expires_at = Some(ts(secs));
            p
        };
        let day = 24 * 60 * 60;
        let year_2099 = Timestamp::parse("2099-01-01T00:00:00Z").unwrap();
        let mut forever = until("2099", 0);
        forever.expires_at = Some(year_2099);
        assert_eq!(verdict_id(&[forever], "ls"), ("none", String::new()));
        assert_eq!(
            verdict_id(&[until("late", day + 1)], "ls"),
            ("none", String::new())
        );
        assert_eq!(
            verdict_id(&[until("day", day)], "ls"),
            verdict("day", "approve")
        );
        // The same rule for denials: a far-off deny is not the user's either.
        let mut deny = until("deny-2099", 0);
        deny.policy_mode = PolicyMode::DenyAll;
        deny.expires_at = Some(year_2099);
        assert_eq!(verdict_id(&[deny], "ls"), ("none", String::new()));
    }

    #[test]
    fn an_action_selector_never_approves_a_command_a_pattern_would_refuse() {
        let policies = [action(
            "git-status",
            PolicyMode::ApproveAll,
            &["git", "status"],
            1,
        )];
        assert_eq!(
            verdict_id(&policies, "git status -s"),
            verdict("git-status", "approve")
        );
        assert_eq!(
            verdict_id(&policies, "git 'status'"),
            verdict("git-status", "approve")
        );
        for bypass in [
            "git status && rm -rf ~",
            "git status; curl x | sh",
            "git status $(rm -rf ~)",
            "git status > ~/.bashrc",
            "git status `id`",
            "git status\nrm -rf ~",
            "git status 'unbalanced",
        ] {
            assert_eq!(
                verdict_id(&policies, bypass),
                ("none", String::new()),
                "{bypass}"
            );
        }
        // A deny selector still matches such a command's words.
        let deny = [action("no-push", PolicyMode::DenyAll, &["git", "push"], 1)];
        assert_eq!(
            verdict_id(&deny, "git push && ls"),
            verdict("no-push", "deny")
        );
    }

    #[test]
    fn precedence_table() {
        use PolicyMode::{ApproveAll as A, DenyAll as D};
        let cases: Vec<(Vec<DndPolicy>, &str, (&str, &str))> = vec![
            (vec![], "git push", ("none", "")),
            // Action deny beats everything.
            (
                vec![
                    workspace("wa", A, 5),
                    action("ad", D, &["git"], 1),
                    workspace("wd", D, 9),
                ],
                "git push",
                ("deny", "ad"),
            ),
            // Longest prefix among action denies, then newest.
            (
                vec![
                    action("short", D, &["git"], 9),
                    action("long", D, &["git", "push"], 1),
                ],
                "git push origin",
                ("deny", "long"),
            ),
            (
                vec![action("old", D, &["git"], 1), action("new", D, &["git"], 2)],
                "git status",
                ("deny", "new"),
            ),
            // Workspace deny beats any approve, newest wins.
            (
                vec![
                    action("aa", A, &["ls"], 9),
                    workspace("wd1", D, 1),
                    workspace("wd2", D, 2),
                ],
                "ls -la",
                ("deny", "wd2"),
            ),
            // Action approve beats workspace approve, longest prefix first.
            (
                vec![
                    workspace("wa", A, 9),
                    action("aa1", A, &["npm"], 5),
                    action("aa2", A, &["npm", "test"], 1),
                ],
                "npm   test --watch",
                ("approve", "aa2"),
            ),
            (
                vec![workspace("wa1", A, 1), workspace("wa2", A, 3)],
                "anything",
                ("approve", "wa2"),
            ),
            // Non-matching selectors are ignored.
            (vec![action("ad", D, &["rm"], 1)], "git rm", ("none", "")),
            (
                vec![action("ad", D, &["git", "push"], 1)],
                "git",
                ("none", ""),
            ),
        ];
        for (policies, command, (want, id)) in cases {
            assert_eq!(
                verdict_id(&policies, command),
                (want, id.to_owned()),
                "{command}: {policies:?}"
            );
        }
    }

    #[test]
    fn expired_and_incomplete_policies_are_ignored() {
        let mut expired = workspace("expired", PolicyMode::DenyAll, 1);
        expired.expires_at = Some(ts(-1));
        let mut no_expiry = workspace("no-expiry", PolicyMode::DenyAll, 1);
        no_expiry.expires_at = None;
        let mut unknown_mode = workspace("unknown", PolicyMode::DenyAll, 1);
        unknown_mode.policy_mode = PolicyMode::from_wire("maybe");
        let mut empty_selector = action("empty", PolicyMode::DenyAll, &[], 1);
        empty_selector.action_selector = Some(ActionSelector::default());
        let approve = workspace("ok", PolicyMode::ApproveAll, 0);
        let policies = vec![expired, no_expiry, unknown_mode, empty_selector, approve];
        assert_eq!(
            verdict_id(&policies, "git push"),
            ("approve", "ok".to_owned())
        );
        // Policies without createdAt count as oldest.
        let mut undated = workspace("undated", PolicyMode::DenyAll, 0);
        undated.created_at = None;
        let dated = workspace("dated", PolicyMode::DenyAll, -100);
        assert_eq!(
            verdict_id(&[undated, dated], "x"),
            ("deny", "dated".to_owned())
        );
    }

    #[test]
    fn audit_artifact_carries_the_decision() {
        let policy = action("p1", PolicyMode::DenyAll, &["git", "push"], 1);
        let audit = dnd_audit_artifact(
            serde_json::json!({"commandText": "git push"}),
            &DndVerdict::Deny(policy),
        )
        .unwrap();
        assert_eq!(audit.plaintext["commandText"], "git push");
        assert_eq!(audit.plaintext["dndAudit"]["decision"], "reject");
        assert_eq!(audit.plaintext["dndAudit"]["policyId"], "p1");
        assert_eq!(audit.plaintext["dndAudit"]["scope"], "action");
        assert_eq!(audit.options.metadata["dndAudit"], "true");
        assert_eq!(audit.options.metadata["dndDecision"], "reject");
        assert!(audit.options.expires_at.is_some());
        let approve = dnd_audit_artifact(
            serde_json::json!("raw"),
            &DndVerdict::Approve(workspace("w", PolicyMode::ApproveAll, 1)),
        )
        .unwrap();
        assert_eq!(approve.plaintext["artifact"], "raw");
        assert_eq!(approve.options.metadata["dndDecision"], "approve");
        assert!(dnd_audit_artifact(serde_json::json!({}), &DndVerdict::None).is_none());
        // The command's own request id does not bind the audit exchange.
        let bound = dnd_audit_artifact(
            serde_json::json!({"commandText": "ls", "requestId": "req-cmd"}),
            &DndVerdict::Approve(workspace("w", PolicyMode::ApproveAll, 1)),
        )
        .unwrap();
        assert!(bound.plaintext.get("requestId").is_none());
        assert_eq!(bound.plaintext["dndAudit"]["commandRequestId"], "req-cmd");
    }
}
