//! What the user reads about outcomes and failures: pure functions from SDK results to lines.

use std::time::Duration;

use airlock::gateway::{DecisionOutcome, Error as GatewayError};

use crate::exit::chain;

/// A gateway failure while doing `what`, with guidance where there is some.
pub(crate) fn gateway_error(what: &str, e: &GatewayError) -> Vec<String> {
    if let Some(lines) = crate::account::consent_guidance(e) {
        return lines;
    }
    let mut lines = vec![format!("{what}: {}", chain(e))];
    if e.is_unauthorized() {
        lines.push("The gateway refused the sign-in: set the personal access token again or sign in again.".to_owned());
    } else if e.is_pairing_revoked() {
        lines.push("The pairing was revoked: unpair, then pair again.".to_owned());
    } else if e.is_quota_exceeded() {
        lines
            .push("A quota is exhausted: wait, or free a workspace in the Airlock app.".to_owned());
    } else if e.is_retryable() || matches!(e, GatewayError::Transport(_)) {
        let at = crate::connect::gateway_in_use()
            .map(|url| format!("The gateway at {url}"))
            .unwrap_or_else(|| "The gateway".to_owned());
        lines.push(format!(
            "{at} cannot be reached right now: is it running? Check the URL (Reconfigure) and your connection, then try again."
        ));
    }
    lines
}

/// The end of a wait for a decision, as lines for the user. Only a verified approval reads
/// as approved.
pub(crate) fn outcome(
    result: &Result<DecisionOutcome, GatewayError>,
    timeout: Duration,
) -> Vec<String> {
    let with_reason = |mut lines: Vec<String>, reason: &Option<String>| {
        if let Some(r) = reason.as_deref().filter(|r| !r.is_empty()) {
            lines.push(format!("  reason: {r}"));
        }
        lines
    };
    match result {
        Ok(DecisionOutcome::Approved(d)) => with_reason(
            vec![
                "✔ APPROVED: the decision's signature verified.".to_owned(),
                format!("  signer: {}", d.signer_key_id),
            ],
            &d.reason,
        ),
        Ok(DecisionOutcome::Rejected(d)) => with_reason(
            vec![
                "✘ REJECTED: the decision's signature verified.".to_owned(),
                format!("  signer: {}", d.signer_key_id),
            ],
            &d.reason,
        ),
        Ok(DecisionOutcome::Expired { withdrawn: true }) => vec![format!(
            "No decision within {}s: the request was withdrawn.",
            timeout.as_secs()
        )],
        Ok(DecisionOutcome::Expired { withdrawn: false }) => {
            vec!["The request expired without a decision.".to_owned()]
        }
        Ok(DecisionOutcome::Withdrawn) => vec!["The request was withdrawn.".to_owned()],
        Ok(DecisionOutcome::Cancelled) => vec!["The request was cancelled.".to_owned()],
        Ok(other) => vec![format!("The request ended without a decision ({other:?}).")],
        Err(GatewayError::Verification(v)) => vec![
            format!(
                "✘ BLOCKED: the decision failed verification ({}).",
                v.harp_code()
            ),
            format!("  {}", chain(v.as_ref())),
            "  It was refused: a forged, replayed or mismatched decision never counts.".to_owned(),
        ],
        Err(e) if e.is_conflict() => vec![format!("The request was closed: {}", chain(e))],
        Err(e) => gateway_error("Waiting for the decision failed", e),
    }
}

/// `seconds` as the user typed it: a whole number from 1 to 86400.
pub(crate) fn parse_seconds(text: &str) -> Option<Duration> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|s| (1..=86_400).contains(s))
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_and_other_ends_are_explained() {
        assert_eq!(
            outcome(
                &Ok(DecisionOutcome::Expired { withdrawn: true }),
                Duration::from_secs(5)
            ),
            ["No decision within 5s: the request was withdrawn."]
        );
        assert_eq!(
            outcome(
                &Ok(DecisionOutcome::Expired { withdrawn: false }),
                Duration::ZERO
            ),
            ["The request expired without a decision."]
        );
        assert_eq!(
            outcome(&Ok(DecisionOutcome::Withdrawn), Duration::ZERO),
            ["The request was withdrawn."]
        );
        let invalid = Err(GatewayError::InvalidInput {
            message: "bad".to_owned(),
        });
        assert_eq!(
            outcome(&invalid, Duration::ZERO),
            ["Waiting for the decision failed: invalid input: bad"]
        );
    }

    #[test]
    fn a_decision_that_fails_verification_reads_as_blocked() {
        let forged = Err(GatewayError::Verification(Box::new(
            airlock::gateway::VerificationError::MalformedDecision("no signature".to_owned()),
        )));
        let lines = outcome(&forged, Duration::from_secs(5));
        assert_eq!(
            lines[0],
            "✘ BLOCKED: the decision failed verification (HARP_ERR_CANONICALIZATION)."
        );
        assert!(lines[1].contains("no signature"), "{lines:?}");
        assert!(!lines.iter().any(|l| l.contains("APPROVED")));
    }

    #[test]
    fn a_transport_failure_says_what_to_check() {
        let e = GatewayError::InvalidInput {
            message: "x".to_owned(),
        };
        assert_eq!(
            gateway_error("Pairing failed", &e),
            ["Pairing failed: invalid input: x"]
        );
        assert!(crate::account::consent_guidance(&e).is_none());
    }

    #[test]
    fn seconds_are_bounded() {
        assert_eq!(parse_seconds(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(parse_seconds("0"), None);
        assert_eq!(parse_seconds("86401"), None);
        assert_eq!(parse_seconds("soon"), None);
    }
}
