//! Round trips over the JSON examples of PROTOCOL.md.
//!
//! The examples are copied from the document; where it writes a placeholder (`"…"`,
//! `<b64>`, `<RFC 3339>`), a concrete value of the right shape stands in. Each document is
//! read into its type, written back, and must equal the original JSON value.

use airlock_types::{
    AckBody, AckStatus, ArtifactSubmitBody, ConsentStatus, ConsentStatusResponse, Decision,
    DecisionBody, DndPoliciesResponse, EchoResponse, Envelope, ErrorCode, ErrorEnvelope, FlatError,
    HeartbeatRequest, IntegrationsDiscovery, PairingClaimRequest, PairingClaimResponse,
    PairingInitiateRequest, PairingInitiateResponse, PairingResponseDocument, PairingRevokeRequest,
    PairingRevokeResponse, PairingState, PairingStatusResponse, PolicyMode,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Reads `json` as `T`, writes it back, and checks nothing changed.
fn round_trip<T: Serialize + DeserializeOwned>(json: Value) -> T {
    let typed: T = serde_json::from_value(json.clone()).expect("reads");
    let written = serde_json::to_value(&typed).expect("writes");
    assert_eq!(written, json, "round trip changed the document");
    typed
}

const HASH: &str = "8e326e1f69e5859a3b5b12965f06b5829f09b12d1748aa2fddb609fb44f831c1";

#[test]
fn envelope_artifact_submit() {
    let json = json!({
        "msgId": "msg-6a1f0c1e-4d8b-4e0e-9f51-0d0f3c1b2a11",
        "msgType": "artifact.submit",
        "requestId": "req-0b7b7e4e-2f0c-4a55-8d0b-3c2b9a7f6e10",
        "createdAt": "2026-02-24T10:00:00Z",
        "expiresAt": "2026-02-24T10:10:00Z",
        "sender": {"enforcerId": "enf-1"},
        "recipient": {"approverId": "appr-1"},
        "body": {
            "artifactType": "command-approval",
            "artifactHash": HASH,
            "ciphertext": {"alg": "AES-256-GCM", "data": "Y2lwaGVydGV4dA==", "nonce": "AAECAwQFBgcICQoL", "tag": "AAECAwQFBgcICQoLDA0ODw=="},
            "expiresAt": "2026-02-24T10:10:00Z",
            "metadata": {"routingToken": "rt-abc", "workspaceName": "widgets"}
        }
    });
    let env: Envelope<ArtifactSubmitBody> = round_trip(json);
    assert_eq!(env.body.artifact_hash, HASH);
    assert_eq!(env.sender.unwrap().enforcer_id.as_deref(), Some("enf-1"));
    assert_eq!(env.body.metadata["routingToken"], "rt-abc");
    assert_eq!(
        env.body.ciphertext.tag.as_deref(),
        Some("AAECAwQFBgcICQoLDA0ODw==")
    );
}

#[test]
fn envelope_gateway_sender() {
    let env: Envelope<Value> = round_trip(json!({
        "msgId": "msg-1", "msgType": "exchange.status", "requestId": "req-1",
        "createdAt": "2026-02-24T10:00:00Z",
        "sender": {"gatewayId": "igw"}, "recipient": {"enforcerId": "enf-1"},
        "body": {"requestId": "req-1", "state": "Pending"}
    }));
    assert_eq!(env.sender.unwrap().gateway_id.as_deref(), Some("igw"));
}

#[test]
fn ack() {
    let env: Envelope<AckBody> = round_trip(json!({
        "msgId": "ack-3f1b2c4d-0000-4000-8000-000000000001", "msgType": "ack.submit",
        "requestId": "req-1", "createdAt": "2026-02-24T10:00:05Z",
        "sender": {"enforcerId": "enf-1"},
        "body": {"msgId": "msg-of-the-decision", "status": "delivered", "ackAt": "2026-02-24T10:00:05Z"}
    }));
    assert_eq!(env.body.status, AckStatus::Delivered);
    assert_eq!(env.body.msg_id, "msg-of-the-decision");
}

#[test]
fn decision_deliver_airlock() {
    let env: Envelope<DecisionBody> = round_trip(json!({
        "msgId": "msg-2", "msgType": "decision.deliver", "requestId": "req-1",
        "createdAt": "2026-02-24T10:00:04Z",
        "body": {"artifactHash": HASH, "decision": "reject", "reason": "not now",
                 "signerKeyId": "key-1", "nonce": "bm9uY2U", "signature": "c2ln",
                 "decisionHash": "abcd"}
    }));
    assert_eq!(env.body.decision, Decision::Reject);
    assert!(!env.body.is_harp_core());
}

#[test]
fn decision_harp_core_vector() {
    // The HARP-CORE DecisionSignable vector plus its signature.
    let body: DecisionBody = round_trip(json!({
        "artifactHash": HASH, "artifactHashAlg": "SHA-256", "decision": "approve",
        "expiresAt": "2026-02-21T12:05:00Z", "nonce": "bm9uY2UtMDAx",
        "repoRef": "repo:acme/widgets", "requestId": "01J2V8V3K6B2Z9X6G1V7Y2QK8H",
        "scope": "once", "sigAlg": "Ed25519", "signerKeyId": "ma-key-01",
        "signature": "tszU90YldEomMTTrJpUYz-h8xXcAvJ6U97aaEy-1-Oo_vkCx3o63aZps6dN0VaJVKmXY2UnVW6ldoCuXv5sZDA"
    }));
    assert!(body.is_harp_core());
    assert_eq!(body.decision, Decision::Approve);
    assert_eq!(body.expires_at.unwrap().to_string(), "2026-02-21T12:05:00Z");
    assert_eq!(
        body.request_id.as_deref(),
        Some("01J2V8V3K6B2Z9X6G1V7Y2QK8H")
    );
}

#[test]
fn error_envelope() {
    let e: ErrorEnvelope = round_trip(json!({
        "msgType": "error", "requestId": "req-1",
        "body": {"code": "conflict", "message": "already decided", "requestId": "req-1",
                 "details": {"state": "Decided"}}
    }));
    assert_eq!(e.body.code, ErrorCode::Conflict);
    assert_eq!(e.body.details["state"], "Decided");
}

#[test]
fn flat_error() {
    let f: FlatError = round_trip(json!({
        "error": "app_consent_required", "message": "consent needed",
        "consentUrl": "https://igw.airlocks.io/consent/app-1", "appName": "CI bot", "appId": "app-1"
    }));
    assert_eq!(f.error, ErrorCode::AppConsentRequired);
    assert_eq!(f.app_id.as_deref(), Some("app-1"));
}

#[test]
fn pairing_response_document() {
    let doc: PairingResponseDocument = round_trip(json!({
        "signerKeyId": "key-1", "publicKey": "68GYuLi/rncjJ4w7MWKfKd5ygpeXzMjCzM5tlDakz/I=",
        "pairingNonce": "n-1", "timestamp": "2026-02-24T10:00:00.123+01:00",
        "x25519PublicKey": "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08",
        "signature": "c2lnbmF0dXJl"
    }));
    // The timestamp stays the exact signed string.
    assert_eq!(
        doc.signed_message(),
        "key-1|68GYuLi/rncjJ4w7MWKfKd5ygpeXzMjCzM5tlDakz/I=|n-1|2026-02-24T10:00:00.123+01:00|3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"
    );
}

#[test]
fn pairing_flow_documents() {
    round_trip::<PairingInitiateRequest>(json!({
        "deviceId": "dev-1", "enforcerId": "enf-1", "gatewayUrl": "https://igw.airlocks.io",
        "x25519PublicKey": "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08",
        "enforcerLabel": "CI bot", "workspaceName": "widgets"
    }));
    let r: PairingInitiateResponse = round_trip(json!({
        "pairingNonce": "n-1", "pairingCode": "ABCD-1234", "deviceId": "dev-1",
        "gatewayUrl": "https://igw.airlocks.io", "expiresAt": "2026-02-24T10:05:00Z"
    }));
    assert_eq!(r.pairing_code, "ABCD-1234");
    round_trip::<PairingClaimRequest>(json!({
        "pairingCode": "K7Q2ZP", "deviceId": "dev-1", "enforcerId": "enf-1",
        "enforcerLabel": "CI bot", "workspaceName": "widgets"
    }));
    round_trip::<PairingClaimResponse>(json!({
        "pairingNonce": "n-2", "expiresAt": "2026-02-24T10:30:00Z", "routingToken": "rt-9"
    }));
    let s: PairingStatusResponse = round_trip(json!({
        "pairingNonce": "n-1", "state": "Completed", "routingToken": "rt-1",
        "responseJson": "{\"signerKeyId\":\"k\",\"publicKey\":\"p\",\"pairingNonce\":\"n-1\",\"timestamp\":\"t\",\"signature\":\"s\"}",
        "expiresAt": "2026-02-24T10:05:00Z"
    }));
    assert_eq!(s.state, PairingState::Completed);
    assert_eq!(s.response_document().unwrap().unwrap().pairing_nonce, "n-1");
    round_trip::<PairingRevokeRequest>(json!({"routingToken": "rt-1"}));
    let rv: PairingRevokeResponse = round_trip(json!({"status": "Revoked", "enforcerId": "enf-1"}));
    assert_eq!(rv.status, PairingState::Revoked);
}

#[test]
fn service_documents() {
    let echo: EchoResponse = round_trip(json!({
        "utc": "2026-02-24T10:00:00Z", "local": "2026-02-24T11:00:00+01:00",
        "timezone": "Europe/Berlin", "offsetMinutes": 60
    }));
    assert_eq!(echo.offset_minutes, 60);
    let d: IntegrationsDiscovery = round_trip(json!({
        "idp": {"baseUrl": "https://auth.airlocks.io/realms/airlock", "clientId": "airlock-integrations"},
        "auth": {"patSupported": true}
    }));
    assert!(d.auth.pat_supported);
    assert_eq!(
        d.idp.openid_configuration_url(),
        "https://auth.airlocks.io/realms/airlock/.well-known/openid-configuration"
    );
    let c: ConsentStatusResponse = round_trip(json!({"status": "Allowed"}));
    assert_eq!(c.status, ConsentStatus::Allowed);
    round_trip::<HeartbeatRequest>(
        json!({"enforcerId": "enf-1", "workspaceName": "widgets", "enforcerLabel": "CI bot"}),
    );
}

#[test]
fn dnd_policies() {
    let r: DndPoliciesResponse = round_trip(json!({
        "msgType": "dnd.policies", "requestId": "req-9",
        "body": [
            {"requestId": "p-1", "objectType": "airlock.dnd.action", "workspaceId": "ws-1",
             "sessionId": "s-1", "enforcerId": "enf-1", "policyMode": "deny_all",
             "targetArtifactType": "command-approval",
             "actionSelector": {"commandFamily": "git", "argvPrefix": ["git", "push"]},
             "selectorHash": "abcd", "createdAt": "2026-02-24T09:00:00Z",
             "expiresAt": "2026-02-24T11:00:00Z"},
            {"requestId": "p-2", "objectType": "airlock.dnd.workspace", "workspaceId": "ws-1",
             "enforcerId": "enf-1", "policyMode": "approve_all",
             "expiresAt": "2026-02-24T11:00:00Z"}
        ]
    }));
    let [action, workspace] = &r.body[..] else {
        panic!("two policies")
    };
    assert!(action.is_action_scoped());
    assert_eq!(action.policy_mode, PolicyMode::DenyAll);
    assert!(
        action
            .action_selector
            .as_ref()
            .unwrap()
            .matches_argv(&["git", "push", "origin"])
    );
    assert!(!workspace.is_action_scoped());
    assert_eq!(workspace.policy_mode, PolicyMode::ApproveAll);
}

#[test]
fn oauth_documents() {
    use airlock_types::{
        DeviceAuthorizationResponse, OAuthErrorCode, OAuthErrorResponse, OidcDiscovery,
        TokenResponse,
    };
    let d: OidcDiscovery = round_trip(json!({
        "issuer": "https://auth.example/realms/r",
        "authorization_endpoint": "https://auth.example/realms/r/protocol/openid-connect/auth",
        "token_endpoint": "https://auth.example/realms/r/protocol/openid-connect/token",
        "device_authorization_endpoint": "https://auth.example/realms/r/protocol/openid-connect/auth/device",
        "revocation_endpoint": "https://auth.example/realms/r/protocol/openid-connect/revoke",
        "grant_types_supported": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
        "code_challenge_methods_supported": ["plain", "S256"]
    }));
    assert!(d.supports_pkce_s256() && d.supports_device_grant());
    let dev: DeviceAuthorizationResponse = round_trip(json!({
        "device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS", "user_code": "WDJB-MJHT",
        "verification_uri": "https://auth.example/device",
        "verification_uri_complete": "https://auth.example/device?user_code=WDJB-MJHT",
        "expires_in": 1800, "interval": 5
    }));
    assert_eq!(dev.interval_or_default(), 5);
    let t: TokenResponse = round_trip(json!({
        "access_token": "eyJ.access", "token_type": "Bearer", "expires_in": 300,
        "refresh_token": "eyJ.refresh", "id_token": "eyJ.id", "scope": "openid profile email"
    }));
    assert_eq!(t.expires_in, Some(300));
    let e: OAuthErrorResponse =
        round_trip(json!({"error": "slow_down", "error_description": "poll slower"}));
    assert_eq!(e.error, OAuthErrorCode::SlowDown);
}
