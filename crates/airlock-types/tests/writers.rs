//! Writers are exact: field names, omitted optionals, `Z` timestamps, id prefixes, and
//! secrets kept out of `Debug`.

use airlock_types::time::Duration;
use airlock_types::{
    AckBody, ActionSelector, ArtifactSubmitBody, DecisionBody, DeviceAuthorizationResponse,
    DndPolicy, DndQuery, EncryptedPayload, Envelope, ErrorBody, ErrorCode, ErrorEnvelope,
    FlatError, HeartbeatRequest, OidcDiscovery, PairingClaimRequest, PairingCompleteRequest,
    PairingResponseDocument, Party, PolicyMode, Timestamp, TokenResponse, artifact_type, msg_type,
    new_ack_id, new_msg_id, new_request_id,
};
use serde_json::{Value, json};

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn is_uuid_v4(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && text
            .chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        && parts[2].starts_with('4')
}

#[test]
fn ids_have_prefixes_and_are_fresh() {
    for (make, prefix) in [
        (new_request_id as fn() -> String, "req-"),
        (new_msg_id, "msg-"),
        (new_ack_id, "ack-"),
    ] {
        let a = make();
        let b = make();
        assert_ne!(a, b);
        let rest = a
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{a} lacks {prefix}"));
        assert!(is_uuid_v4(rest), "{a}");
    }
}

fn payload() -> EncryptedPayload {
    EncryptedPayload::new("ZGF0YQ==".into(), "bm9uY2U=".into(), Some("dGFn".into()))
}

#[test]
fn artifact_submit_envelope_is_exact() {
    let created = Timestamp::parse("2026-02-24T10:00:00Z").unwrap();
    let expires = created.checked_add(Duration::minutes(10)).unwrap();
    let body = ArtifactSubmitBody::new("ab".repeat(32), payload())
        .with_expires_at(expires)
        .with_metadata("routingToken", "rt");
    let env = Envelope::artifact_submit("req-1", "enf-1", body)
        .with_msg_id("msg-1")
        .with_created_at(created);
    let written = serde_json::to_value(&env).unwrap();
    assert_eq!(
        written,
        json!({
            "msgId": "msg-1", "msgType": "artifact.submit", "requestId": "req-1",
            "createdAt": "2026-02-24T10:00:00Z", "expiresAt": "2026-02-24T10:10:00Z",
            "sender": {"enforcerId": "enf-1"},
            "body": {"artifactType": "command-approval", "artifactHash": "ab".repeat(32),
                     "ciphertext": {"alg": "AES-256-GCM", "data": "ZGF0YQ==", "nonce": "bm9uY2U=", "tag": "dGFn"},
                     "expiresAt": "2026-02-24T10:10:00Z", "metadata": {"routingToken": "rt"}}
        })
    );
    // No nulls anywhere, compact text.
    let text = serde_json::to_string(&env).unwrap();
    assert!(!text.contains("null") && !text.contains(' '));
}

#[test]
fn artifact_defaults() {
    let before = Timestamp::now();
    let body = ArtifactSubmitBody::new("h", payload());
    assert_eq!(body.artifact_type, artifact_type::COMMAND_APPROVAL);
    assert!(body.expires_at > before, "the default expiry is never now");
    assert!(body.expires_at - before >= Duration::minutes(10));
    assert!(body.expires_at - before <= Duration::minutes(11));
    assert!(body.metadata.is_empty());
    assert_eq!(serde_json::to_value(&body).unwrap()["metadata"], json!({}));
}

#[test]
fn ack_envelope_is_exact() {
    let env = Envelope::ack("req-1", "enf-1", AckBody::delivered("msg-9"));
    assert!(env.msg_id.starts_with("ack-"));
    assert_eq!(env.msg_type, msg_type::ACK_SUBMIT);
    let written = serde_json::to_value(&env).unwrap();
    assert_eq!(
        keys(&written),
        [
            "body",
            "createdAt",
            "msgId",
            "msgType",
            "requestId",
            "sender"
        ]
    );
    assert_eq!(keys(&written["body"]), ["ackAt", "msgId", "status"]);
    assert_eq!(written["body"]["status"], "delivered");
    for t in [&written["createdAt"], &written["body"]["ackAt"]] {
        let t = t.as_str().unwrap();
        assert!(
            t.ends_with('Z') && !t.contains('.'),
            "{t}: whole seconds in UTC"
        );
    }
}

#[test]
fn decision_body_writes_only_what_is_set() {
    let mut body = DecisionBody::new("h", airlock_types::Decision::Approve, "k", "n", "s");
    assert_eq!(
        keys(&serde_json::to_value(&body).unwrap()),
        [
            "artifactHash",
            "decision",
            "nonce",
            "signature",
            "signerKeyId"
        ]
    );
    body.sig_alg = Some("Ed25519".into());
    body.expires_at = Timestamp::parse("2026-02-21T12:05:00+00:00").ok();
    let written = serde_json::to_value(&body).unwrap();
    assert_eq!(written["sigAlg"], "Ed25519");
    assert_eq!(written["expiresAt"], "2026-02-21T12:05:00Z");
    let env = Envelope::decision_submit("req-1", "appr-1", body);
    assert_eq!(env.msg_type, "decision.submit");
    assert_eq!(env.sender, Some(Party::approver("appr-1")));
}

#[test]
fn request_documents_are_exact() {
    assert_eq!(
        serde_json::to_value(HeartbeatRequest::new("enf-1")).unwrap(),
        json!({"enforcerId": "enf-1"})
    );
    assert_eq!(
        serde_json::to_value(
            PairingClaimRequest::new("C0DE", "d", "e", "l", "w").with_x25519_public_key("X")
        )
        .unwrap(),
        json!({"pairingCode": "C0DE", "deviceId": "d", "enforcerId": "e", "enforcerLabel": "l",
               "workspaceName": "w", "x25519PublicKey": "X"})
    );
    let doc = PairingResponseDocument::new("k", "p", "n", "t", None);
    let complete = PairingCompleteRequest::from_document("appr", &doc).unwrap();
    let written = serde_json::to_value(&complete).unwrap();
    assert_eq!(written["pairingNonce"], "n");
    assert_eq!(
        serde_json::from_str::<Value>(written["responseJson"].as_str().unwrap()).unwrap(),
        json!({"signerKeyId": "k", "publicKey": "p", "pairingNonce": "n", "timestamp": "t", "signature": ""})
    );
}

#[test]
fn dnd_query_serializes_for_a_query_string() {
    let q = DndQuery::new("enf 1", "ws/1").with_session_id("s&1");
    assert_eq!(
        serde_json::to_value(&q).unwrap(),
        json!({"enforcerId": "enf 1", "workspaceId": "ws/1", "sessionId": "s&1"})
    );
    assert!(
        serde_json::to_value(DndQuery::new("e", "w"))
            .unwrap()
            .get("sessionId")
            .is_none()
    );
}

#[test]
fn dnd_policy_writers() {
    let exp = Timestamp::parse("2026-02-24T11:00:00Z").unwrap();
    let p = DndPolicy::action(
        "p",
        "e",
        "w",
        PolicyMode::ApproveAll,
        ActionSelector::argv_prefix(["npm", "test"]),
        exp,
    );
    assert!(p.is_action_scoped() && p.is_complete());
    let written = serde_json::to_value(&p).unwrap();
    assert_eq!(written["objectType"], "airlock.dnd.action");
    assert_eq!(written["policyMode"], "approve_all");
    assert_eq!(
        written["actionSelector"],
        json!({"argvPrefix": ["npm", "test"]})
    );
    let sel = ActionSelector::argv_prefix(["npm", "test"]);
    assert!(sel.matches_argv(&["npm", "test"]));
    assert!(!sel.matches_argv(&["npm"]));
    assert!(!sel.matches_argv(&["npm", "testing"]));
    assert!(!ActionSelector::default().matches_argv(&["npm"]));
}

#[test]
fn error_writers() {
    let env = ErrorEnvelope::new(
        Some("req-1".into()),
        ErrorBody::new(ErrorCode::Conflict, "already decided"),
    );
    assert_eq!(
        serde_json::to_value(&env).unwrap(),
        json!({"msgType": "error", "requestId": "req-1",
               "body": {"code": "conflict", "message": "already decided", "requestId": "req-1"}})
    );
    let flat = FlatError::new(ErrorCode::QuotaExceeded, "slow down");
    assert_eq!(
        serde_json::to_value(&flat).unwrap(),
        json!({"error": "quota_exceeded", "message": "slow down"})
    );
    assert_eq!(
        serde_json::to_value(ErrorCode::HarpSignatureInvalid).unwrap(),
        "HARP_ERR_SIGNATURE_INVALID"
    );
}

#[test]
fn oauth_writers_are_snake_case() {
    let mut d = OidcDiscovery::new("i", "a", "t");
    d.device_authorization_endpoint = Some("dev".into());
    assert_eq!(
        serde_json::to_value(&d).unwrap(),
        json!({"issuer": "i", "authorization_endpoint": "a", "token_endpoint": "t", "device_authorization_endpoint": "dev"})
    );
    let t = TokenResponse::bearer("tok");
    assert_eq!(
        serde_json::to_value(&t).unwrap(),
        json!({"access_token": "tok", "token_type": "Bearer"})
    );
}

#[test]
fn secrets_stay_out_of_debug() {
    let mut t = TokenResponse::bearer("access-SECRET");
    t.refresh_token = Some("refresh-SECRET".into());
    t.id_token = Some("id-SECRET".into());
    t.scope = Some("openid".into());
    let shown = format!("{t:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(shown.contains("openid") && shown.contains("<redacted>"));

    let d = DeviceAuthorizationResponse::new("device-SECRET", "WDJB-MJHT", "https://v", 600);
    let shown = format!("{d:?}");
    assert!(!shown.contains("device-SECRET"), "{shown}");
    assert!(shown.contains("WDJB-MJHT"));
}

#[test]
fn timestamp_helpers() {
    let t = Timestamp::from_unix_seconds(1_771_927_200).unwrap();
    assert_eq!(t.to_string(), "2026-02-24T10:00:00Z");
    assert_eq!(t.unix_seconds(), 1_771_927_200);
    assert_eq!(format!("{t:?}"), "Timestamp(2026-02-24T10:00:00Z)");
    assert_eq!(Timestamp::MAX.checked_add(Duration::SECOND), None);
    assert_eq!(Timestamp::MIN.checked_sub(Duration::SECOND), None);
    assert_eq!(
        Timestamp::MAX.saturating_add(Duration::days(1)),
        Timestamp::MAX
    );
    assert_eq!(
        Timestamp::MIN.saturating_add(Duration::days(-1)),
        Timestamp::MIN
    );
    assert_eq!(
        t.saturating_add_std(std::time::Duration::from_secs(60))
            .to_string(),
        "2026-02-24T10:01:00Z"
    );
    assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59.999999999Z");
    assert_eq!(Timestamp::MIN.to_string(), "0000-01-01T00:00:00Z");
    assert_eq!(Timestamp::UNIX_EPOCH.to_string(), "1970-01-01T00:00:00Z");
    assert!(Timestamp::now().as_offset_date_time().nanosecond() == 0);
}
