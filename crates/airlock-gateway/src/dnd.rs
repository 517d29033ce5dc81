//! Do Not Disturb: evaluate the effective policies for a command, and build the audit
//! artifact.

use std::cmp::Ordering;
use std::time::Duration;

use airlock_types::{DndPolicy, DndQuery, PolicyMode, Timestamp, metadata_key};

use crate::GatewayClient;
use crate::enforcer::SubmitOptions;

/// How long a DND audit artifact lives: 2 minutes (nobody decides on it).
pub const DND_AUDIT_TTL: Duration = Duration::from_secs(120);

/// What the DND policies say about a command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DndVerdict {
    /// A policy approves the command without asking.
    Approve(DndPolicy),
    /// A policy rejects the command without asking.
    Deny(DndPolicy),
    /// No policy applies: ask the approver.
    None,
}

impl DndVerdict {
    /// The deciding policy, if any.
    pub fn policy(&self) -> Option<&DndPolicy> {
        match self {
            Self::Approve(p) | Self::Deny(p) => Some(p),
            Self::None => None,
        }
    }
}

/// Evaluates DND `policies` for `command` at `now`, with the precedence of the protocol:
///
/// 1. action-scoped deny — the longest matching argv prefix, then the newest;
/// 2. workspace deny — the newest;
/// 3. action-scoped approve — the longest matching argv prefix, then the newest;
/// 4. workspace approve — the newest;
/// 5. none.
///
/// Expired and incomplete policies are ignored. `argv` is `command` split on whitespace;
/// an action policy matches when its `argvPrefix` tokens are a prefix of argv. "Newest" is
/// by `createdAt` (a policy without one counts as oldest); remaining ties go to the policy
/// listed first. `sessionId` and `targetArtifactType` are not filtered here: the gateway's
/// effective list is already scoped to the query of
/// [`get_effective_dnd_policies`](crate::raw::RawClient::get_effective_dnd_policies).
pub fn evaluate_dnd(policies: &[DndPolicy], command: &str, now: Timestamp) -> DndVerdict {
    let argv: Vec<&str> = command.split_whitespace().collect();
    let active = || policies.iter().filter(move |p| p.is_active(now));
    let best_action = |mode: PolicyMode| {
        pick(
            active().filter(|p| {
                p.is_action_scoped()
                    && p.policy_mode == mode
                    && p.action_selector
                        .as_ref()
                        .is_some_and(|s| s.matches_argv(&argv))
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
    if let Some(p) =
        best_action(PolicyMode::ApproveAll).or_else(|| best_workspace(PolicyMode::ApproveAll))
    {
        return DndVerdict::Approve(p.clone());
    }
    DndVerdict::None
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

/// A DND audit artifact, ready for
/// [`GatewayClient::encrypt_and_submit`](crate::GatewayClient::encrypt_and_submit).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DndAudit {
    /// The plaintext: the command's artifact with a `dndAudit` object describing the
    /// deciding policy.
    pub plaintext: serde_json::Value,
    /// Submit options: metadata `dndAudit: "true"`, `dndDecision: "approve"|"reject"`,
    /// expiry in [`DND_AUDIT_TTL`].
    pub options: SubmitOptions,
}

/// Builds the audit artifact for a command a DND policy decided, from the plaintext the
/// command's approval artifact would have had. `None` when no policy decided.
///
/// A non-object plaintext is wrapped as `{"artifact": plaintext, "dndAudit": …}`. The audit
/// artifact is an exchange of its own, bound to its own request id when submitted, so a
/// top-level `requestId` of the command's plaintext moves to `dndAudit.commandRequestId`.
pub fn dnd_audit_artifact(
    command_plaintext: serde_json::Value,
    verdict: &DndVerdict,
) -> Option<DndAudit> {
    let (decision, policy) = match verdict {
        DndVerdict::Approve(p) => ("approve", p),
        DndVerdict::Deny(p) => ("reject", p),
        DndVerdict::None => return None,
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
    /// Fetches the effective DND policies and evaluates them for `command`.
    ///
    /// A failed fetch means "no policy" ([`DndVerdict::None`], logged) — never approval.
    pub async fn dnd_verdict(&self, query: &DndQuery, command: &str) -> DndVerdict {
        match self.raw().get_effective_dnd_policies(query).await {
            Ok(response) => evaluate_dnd(&response.body, command, Timestamp::now()),
            Err(e) => {
                tracing::warn!(error = %e, "fetching DND policies failed; treating as no policy");
                DndVerdict::None
            }
        }
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

    fn verdict_id(policies: &[DndPolicy], command: &str) -> (&'static str, String) {
        match evaluate_dnd(policies, command, ts(0)) {
            DndVerdict::Approve(p) => ("approve", p.request_id),
            DndVerdict::Deny(p) => ("deny", p.request_id),
            DndVerdict::None => ("none", String::new()),
        }
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
