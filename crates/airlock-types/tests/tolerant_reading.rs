//! Readers accept what real peers send: unknown fields, explicit nulls, null lists, any
//! RFC 3339 offset or fraction, unknown enum values and any letter case.

use airlock_types::{
    AckBody, AckStatus, ConsentStatus, ConsentStatusResponse, Decision, DecisionBody,
    DeviceAuthorizationResponse, DndPoliciesResponse, DndPolicy, EchoResponse, Envelope, ErrorCode,
    ErrorEnvelope, ExchangeState, ExchangeStatusBody, HarpErrorCode, InboxResponse,
    IntegrationsDiscovery, OAuthErrorCode, OAuthErrorResponse, OidcDiscovery,
    PairingCompleteRequest, PairingState, PairingStatusResponse, PolicyMode, Timestamp,
    TokenResponse,
};
use serde_json::{Value, json};

fn read<T: serde::de::DeserializeOwned>(json: Value) -> T {
    serde_json::from_value(json).expect("reads")
}

#[test]
fn unknown_fields_are_ignored() {
    let env: Envelope<AckBody> = read(json!({
        "msgId": "ack-1", "msgType": "ack.submit", "requestId": "req-1",
        "createdAt": "2026-02-24T10:00:00Z", "traceparent": "00-abc", "priority": 3,
        "sender": {"enforcerId": "e", "tenantId": "t"},
        "body": {"msgId": "msg-1", "status": "delivered", "ackAt": "2026-02-24T10:00:00Z", "extra": [1, 2]}
    }));
    assert_eq!(env.body.msg_id, "msg-1");
}

#[test]
fn explicit_nulls_for_optionals() {
    let env: Envelope<DecisionBody> = read(json!({
        "msgId": "m", "msgType": "decision.deliver", "requestId": "r",
        "createdAt": "2026-02-24T10:00:00Z", "expiresAt": null, "sender": null, "recipient": null,
        "body": {"artifactHash": "h", "decision": "approve", "reason": null, "signerKeyId": "k",
                 "nonce": "n", "signature": "s", "decisionHash": null, "requestId": null,
                 "scope": null, "expiresAt": null, "sigAlg": null, "artifactHashAlg": null,
                 "repoRef": null}
    }));
    assert!(env.expires_at.is_none() && env.sender.is_none() && env.body.reason.is_none());
    // …and they are omitted again on writing.
    let written = serde_json::to_value(&env).unwrap();
    assert!(written.get("expiresAt").is_none());
    assert_eq!(written["body"].as_object().unwrap().len(), 5);
}

#[test]
fn null_or_missing_lists_and_maps_read_as_empty() {
    let inbox: InboxResponse = read(json!({"items": null}));
    assert!(inbox.items.is_empty());
    let inbox: InboxResponse = read(json!({}));
    assert!(inbox.items.is_empty());

    let item: InboxResponse = read(json!({"items": [{
        "requestId": "r", "artifactType": "command-approval", "artifactHash": "h",
        "ciphertext": {"alg": "AES-256-GCM", "data": "ZA==", "nonce": "bg==", "tag": null},
        "metadata": null, "expiresAt": "2026-02-24T10:00:00Z", "enforcerId": null
    }]}));
    assert!(item.items[0].metadata.is_empty());
    assert!(item.items[0].ciphertext.tag.is_none());

    let dnd: DndPoliciesResponse = read(json!({"msgType": null, "requestId": "r", "body": null}));
    assert!(dnd.body.is_empty());

    let err: ErrorEnvelope =
        read(json!({"body": {"code": "not_found", "message": null, "details": null}}));
    assert_eq!(err.msg_type, "error");
    assert!(err.body.details.is_empty() && err.body.message.is_empty());

    let oidc: OidcDiscovery = read(json!({
        "issuer": "i", "authorization_endpoint": "a", "token_endpoint": "t",
        "grant_types_supported": null, "scopes_supported": null
    }));
    assert!(oidc.grant_types_supported.is_empty());
    // Empty lists are not written.
    assert!(
        serde_json::to_value(&oidc)
            .unwrap()
            .get("grant_types_supported")
            .is_none()
    );

    let disc: IntegrationsDiscovery =
        read(json!({"idp": {"baseUrl": "https://idp", "clientId": null}, "auth": null}));
    assert_eq!(disc.idp.client_id, "airlock-integrations");
    assert!(!disc.auth.pat_supported);
}

#[test]
fn timestamps_with_offsets_and_fractions_normalize_to_utc() {
    let cases = [
        ("2026-02-24T10:00:00Z", "2026-02-24T10:00:00Z"),
        ("2026-02-24T12:30:00+02:30", "2026-02-24T10:00:00Z"),
        ("2026-02-24T05:00:00-05:00", "2026-02-24T10:00:00Z"),
        (
            "2026-02-24T10:00:00.1234567Z",
            "2026-02-24T10:00:00.1234567Z",
        ),
        ("2026-02-24T10:00:00.120+00:00", "2026-02-24T10:00:00.12Z"),
        ("2026-02-24t10:00:00z", "2026-02-24T10:00:00Z"),
        ("2026-02-24 10:00:00Z", "2026-02-24T10:00:00Z"),
        ("2026-02-24T10:00:00", "2026-02-24T10:00:00Z"),
        ("2026-02-24T10:00:00.5", "2026-02-24T10:00:00.5Z"),
        ("2026-02-24T00:30:00+01:00", "2026-02-23T23:30:00Z"),
    ];
    for (input, expected) in cases {
        let t: Timestamp =
            serde_json::from_value(json!(input)).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(t.to_string(), expected, "{input}");
        assert_eq!(serde_json::to_value(t).unwrap(), json!(expected));
    }
}

#[test]
fn bad_timestamps_are_typed_errors() {
    for bad in [
        "",
        "yesterday",
        "2026-02-30T10:00:00Z",
        "2026-02-24T25:00:00Z",
        "2026-02-24T10:00:00+",
    ] {
        assert!(Timestamp::parse(bad).is_err(), "{bad:?}");
        assert!(
            serde_json::from_value::<Timestamp>(json!(bad)).is_err(),
            "{bad:?}"
        );
    }
    // Representable with an offset, but before year 0000 in UTC.
    assert!(matches!(
        Timestamp::parse("0000-01-01T00:30:00+01:00"),
        Err(airlock_types::TimestampError::OutOfRange)
    ));
    assert!(Timestamp::from_unix_seconds(i64::MAX).is_err());
    assert!(serde_json::from_value::<Timestamp>(json!(1_700_000_000)).is_err());
}

#[test]
fn states_are_case_insensitive_and_canonical_on_write() {
    for (wire, state) in [
        ("pending", ExchangeState::Pending),
        ("PENDING", ExchangeState::Pending),
        ("PendingApproval", ExchangeState::Pending),
        ("pendingapproval", ExchangeState::Pending),
        ("decided", ExchangeState::Decided),
        ("DELIVERED", ExchangeState::Delivered),
        ("expired", ExchangeState::Expired),
        ("withdrawn", ExchangeState::Withdrawn),
        ("cancelled", ExchangeState::Cancelled),
        ("Canceled", ExchangeState::Cancelled),
    ] {
        let body: ExchangeStatusBody = read(json!({"requestId": "r", "state": wire}));
        assert_eq!(body.state, state, "{wire}");
        assert_eq!(
            serde_json::to_value(&body.state).unwrap(),
            json!(state.as_str())
        );
    }
    assert_eq!(ExchangeState::Pending.as_str(), "Pending");

    assert_eq!(read::<Decision>(json!("APPROVE")), Decision::Approve);
    assert_eq!(read::<Decision>(json!("Reject")), Decision::Reject);
    assert_eq!(
        serde_json::to_value(Decision::Approve).unwrap(),
        json!("approve")
    );

    let status: PairingStatusResponse = read(json!({"pairingNonce": "n", "state": "COMPLETED"}));
    assert_eq!(status.state, PairingState::Completed);

    for wire in ["Allowed", "allowed", "approved", "APPROVED"] {
        let c: ConsentStatusResponse = read(json!({"status": wire}));
        assert!(c.status.is_allowed(), "{wire}");
    }
    assert_eq!(
        read::<ConsentStatus>(json!("pending")),
        ConsentStatus::Pending
    );
    assert_eq!(read::<PolicyMode>(json!("DENY_ALL")), PolicyMode::DenyAll);
    assert_eq!(read::<AckStatus>(json!("Processed")), AckStatus::Processed);
    assert_eq!(
        read::<ErrorCode>(json!("harp_err_replay")),
        ErrorCode::HarpReplay
    );
}

#[test]
fn unknown_enum_values_are_kept_and_written_back_as_is() {
    let body: ExchangeStatusBody = read(json!({"requestId": "r", "state": "Escalated"}));
    assert_eq!(body.state, ExchangeState::Unknown("Escalated".into()));
    assert!(body.state.is_unknown());
    assert_eq!(serde_json::to_value(&body).unwrap()["state"], "Escalated");

    let unknown_values: [(Value, Value); 8] = [
        (
            serde_json::to_value(read::<Decision>(json!("Defer"))).unwrap(),
            json!("Defer"),
        ),
        (
            serde_json::to_value(read::<PairingState>(json!("Claimed"))).unwrap(),
            json!("Claimed"),
        ),
        (
            serde_json::to_value(read::<AckStatus>(json!("seen"))).unwrap(),
            json!("seen"),
        ),
        (
            serde_json::to_value(read::<ConsentStatus>(json!("Suspended"))).unwrap(),
            json!("Suspended"),
        ),
        (
            serde_json::to_value(read::<PolicyMode>(json!("ask_later"))).unwrap(),
            json!("ask_later"),
        ),
        (
            serde_json::to_value(read::<ErrorCode>(json!("Payment_Required"))).unwrap(),
            json!("Payment_Required"),
        ),
        (
            serde_json::to_value(read::<HarpErrorCode>(json!("HARP_ERR_NEW"))).unwrap(),
            json!("HARP_ERR_NEW"),
        ),
        (
            serde_json::to_value(read::<OAuthErrorCode>(json!("temporarily_unavailable"))).unwrap(),
            json!("temporarily_unavailable"),
        ),
    ];
    for (written, original) in unknown_values {
        assert_eq!(written, original);
    }

    // An unknown decision is still readable, so the verifier can reject it with a typed error.
    let d: DecisionBody = read(
        json!({"artifactHash": "h", "decision": "maybe", "signerKeyId": "k", "nonce": "n", "signature": "s"}),
    );
    assert_eq!(d.decision, Decision::Unknown("maybe".into()));
}

#[test]
fn error_codes_map_to_harp_codes() {
    assert_eq!(
        ErrorCode::from_wire("HARP_ERR_EXPIRED").harp(),
        Some(HarpErrorCode::Expired)
    );
    assert_eq!(
        ErrorCode::from_wire("HARP_ERR_FUTURE").harp(),
        Some(HarpErrorCode::Unknown("HARP_ERR_FUTURE".into()))
    );
    assert_eq!(ErrorCode::Conflict.harp(), None);
    assert_eq!(
        ErrorCode::from(HarpErrorCode::PolicyDeny),
        ErrorCode::HarpPolicyDeny
    );
    for code in HarpErrorCode::KNOWN {
        assert_eq!(ErrorCode::from(code.clone()).harp().as_ref(), Some(code));
        assert!(code.as_str().starts_with("HARP_ERR_"));
    }
    assert!(ErrorCode::WorkspaceLimitExceeded.is_quota_exceeded());
    assert!(ErrorCode::AppConsentDenied.is_consent());
}

#[test]
fn wrong_types_are_errors_not_panics() {
    assert!(serde_json::from_value::<Decision>(json!(1)).is_err());
    assert!(serde_json::from_value::<DecisionBody>(json!({"decision": "approve"})).is_err());
    assert!(serde_json::from_value::<Envelope<AckBody>>(json!([])).is_err());
    assert!(
        serde_json::from_value::<ExchangeStatusBody>(json!({"requestId": "r", "state": null}))
            .is_err()
    );
}

#[test]
fn ack_status_defaults_to_delivered() {
    let ack: AckBody = read(json!({"msgId": "m", "ackAt": "2026-02-24T10:00:00Z"}));
    assert_eq!(ack.status, AckStatus::Delivered);
}

#[test]
fn pairing_tolerances() {
    // responseJson as an object instead of a string.
    let s: PairingStatusResponse = read(json!({
        "pairingNonce": "n", "state": "Completed", "responseJson":
        {"signerKeyId": "k", "publicKey": "p", "pairingNonce": "n", "timestamp": "t", "signature": "s"}
    }));
    let doc = s.response_document().unwrap().unwrap();
    assert_eq!(doc.signed_message(), "k|p|n|t");
    let s: PairingStatusResponse =
        read(json!({"pairingNonce": "n", "state": "Pending", "responseJson": null}));
    assert!(s.response_document().is_none());
    let bad: PairingStatusResponse =
        read(json!({"pairingNonce": "n", "state": "Completed", "responseJson": "not json"}));
    assert!(bad.response_document().unwrap().is_err());

    // The complete request uses `nonce` in PROTOCOL.md.
    let c: PairingCompleteRequest =
        read(json!({"nonce": "n", "approverId": "a", "publicKey": "p", "responseJson": "{}"}));
    assert_eq!(c.pairing_nonce, "n");
}

#[test]
fn dnd_incomplete_policies_do_not_spoil_the_list() {
    let now = Timestamp::parse("2026-02-24T10:00:00Z").unwrap();
    let r: DndPoliciesResponse = read(json!({"body": [
        {"objectType": "airlock.dnd.workspace", "workspaceId": "w", "enforcerId": "e",
         "policyMode": "deny_all", "expiresAt": "2026-02-24T11:00:00Z"},
        {"objectType": "airlock.dnd.workspace", "workspaceId": "w", "enforcerId": "e",
         "policyMode": "deny_all", "expiresAt": "2026-02-24T09:00:00Z"},
        {"objectType": "airlock.dnd.workspace", "workspaceId": "w", "enforcerId": "e",
         "policyMode": null, "expiresAt": "2026-02-24T11:00:00Z"},
        {"objectType": "airlock.dnd.action", "workspaceId": "w", "enforcerId": "e",
         "policyMode": "approve_all", "expiresAt": "2026-02-24T11:00:00Z",
         "actionSelector": {"argvPrefix": null}},
        {"objectType": "airlock.dnd.workspace", "workspaceId": null, "enforcerId": "e",
         "policyMode": "approve_all", "expiresAt": "tomorrow"},
        {"workspaceId": "w", "enforcerId": "e", "policyMode": "approve_all"}
    ]}));
    let active: Vec<bool> = r.body.iter().map(|p| p.is_active(now)).collect();
    assert_eq!(active, [true, false, false, false, false, false]);
    assert!(r.body[2].policy_mode.is_unknown());
    assert!(r.body[4].expires_at.is_none());
    assert!(!DndPolicy::workspace("p", "e", "w", PolicyMode::DenyAll, now).is_active(now));
}

#[test]
fn oauth_tolerances() {
    let t: TokenResponse = read(
        json!({"access_token": "a", "token_type": null, "expires_in": "300", "refresh_token": null}),
    );
    assert_eq!(t.token_type, "Bearer");
    assert_eq!(t.expires_in, Some(300));
    assert!(t.refresh_token.is_none());
    assert!(
        serde_json::from_value::<TokenResponse>(json!({"access_token": "a", "expires_in": "soon"}))
            .is_err()
    );

    let d: DeviceAuthorizationResponse = read(json!({
        "device_code": "dc", "user_code": "uc", "verification_url": "https://v", "expires_in": 600, "interval": null
    }));
    assert_eq!(d.verification_uri, "https://v");
    assert_eq!(d.interval_or_default(), 5);

    let e: OAuthErrorResponse =
        read(json!({"error": "authorization_pending", "error_description": null}));
    assert_eq!(e.error, OAuthErrorCode::AuthorizationPending);
}

#[test]
fn echo_tolerates_missing_parts() {
    let e: EchoResponse = read(json!({"utc": "2026-02-24T10:00:00.5+00:00", "local": null}));
    assert_eq!(e.utc.to_string(), "2026-02-24T10:00:00.5Z");
    assert!(e.local.is_empty() && e.offset_minutes == 0);
}

#[test]
fn bodies_may_leave_the_request_id_to_the_envelope() {
    let env: Envelope<ExchangeStatusBody> = read(json!({
        "msgId": "m", "msgType": "exchange.status", "requestId": "req-1",
        "createdAt": "2026-02-24T10:00:00Z", "body": {"state": "Decided"}
    }));
    assert!(env.body.request_id.is_none());
    assert!(env.body.state.has_decision());
    let w: airlock_types::ExchangeWithdrawnBody = read(json!({"requestId": null}));
    assert!(w.request_id.is_none() && w.state.is_none());
}
