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
/// listed first.
pub fn evaluate_dnd(policies: &[DndPolicy], command: &str, now: Timestamp) -> DndVerdict {
    let argv: Vec<&str> = command.split_whitespace().collect();
    let active = || policies.iter().filter(move |p| p.is_active(now));
    let best_action = |mode: PolicyMode| {
        pick(
            active().filter(|p| {
                p.is_action_scoped()
                    && p.policy_mode == mode
                    && p.action_selector.as_ref().is_some_and(|s| s.matches_argv(&argv))
            }),
            |p| p.action_selector.as_ref().map_or(0, |s| s.argv_prefix.len()),
        )
    };
    let best_workspace = |mode: PolicyMode| {
        pick(
            active().filter(|p| !p.is_action_scoped() && p.policy_mode == mode),
            |_| 0,
        )
    };
    if let Some(p) = best_action(PolicyMode::DenyAll).or_else(|| best_workspace(PolicyMode::DenyAll)) {
        return DndVerdict::Deny(p.clone());
    }
    if let Some(p) = best_action(PolicyMode::ApproveAll).or_else(|| best_workspace(PolicyMode::ApproveAll)) {
        return DndVerdict::Approve(p.clone());
    }
    DndVerdict::None
}

/// The first policy with the highest (specificity, createdAt).
fn pick<'a>(candidates: impl Iterator<Item = &'a DndPolicy>, specificity: impl Fn(&DndPolicy) -> usize) -> Option<&'a DndPolicy> {
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
/// A non-object plaintext is wrapped as `{"artifact": plaintext, "dndAudit": …}`.
pub fn dnd_audit_artifact(command_plaintext: serde_json::Value, verdict: &DndVerdict) -> Option<DndAudit> {
    let (decision, policy) = match verdict {
        DndVerdict::Approve(p) => ("approve", p),
        DndVerdict::Deny(p) => ("reject", p),
        DndVerdict::None => return None,
    };
    let audit = serde_json::json!({
        "decision": decision,
        "policyId": policy.request_id,
        "policyMode": policy.policy_mode.as_str(),
        "scope": if policy.is_action_scoped() { "action" } else { "workspace" },
        "argvPrefix": policy.action_selector.as_ref().map(|s| s.argv_prefix.clone()),
        "policyExpiresAt": policy.expires_at,
    });
    let plaintext = match command_plaintext {
        serde_json::Value::Object(mut obj) => {
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
        match self.get_effective_dnd_policies(query).await {
            Ok(response) => evaluate_dnd(&response.body, command, Timestamp::now()),
            Err(e) => {
                tracing::warn!(error = %e, "fetching DND policies failed; treating as no policy");
                DndVerdict::None
            }
        }
    }
}
