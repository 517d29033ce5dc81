//! The control API over HTTP, under `/_sandbox/`, for the `airlock sandbox` CLI and external
//! tests. Every call needs `Authorization: Bearer <control token>` (see
//! [`crate::Sandbox::control_token`]). The same operations are methods of
//! [`crate::Sandbox`] and [`crate::ApproverControl`].

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Platform;
use crate::config::{ApproverPolicy, ConsentState, TamperMode};
use crate::error::SandboxError;
use crate::web::{self, ApiError, HandlerResult, Req, secret_eq};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    decision: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    pairing_code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    user_code: Option<String>,
    #[serde(default)]
    seconds: Option<u64>,
}

fn sandbox_error(e: SandboxError) -> ApiError {
    match e {
        SandboxError::Gateway {
            status,
            code,
            message,
        } => ApiError::new(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            &code,
            message,
        ),
        other => ApiError::bad_request(other.to_string()),
    }
}

fn need<'a>(v: &'a Option<String>, name: &str) -> Result<&'a str, ApiError> {
    v.as_deref()
        .ok_or_else(|| ApiError::bad_request(format!("{name} is required")))
}

pub(crate) async fn handle(platform: &Platform, req: &Req) -> web::Resp {
    let authorized = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| secret_eq(t.trim(), &platform.control_token));
    let result = if authorized {
        dispatch(platform, req)
    } else {
        Err(ApiError::unauthorized(
            "the control API needs Authorization: Bearer <control token>",
        ))
    };
    result.unwrap_or_else(ApiError::into_response)
}

fn dispatch(platform: &Platform, req: &Req) -> HandlerResult {
    let ok = |v: Value| Ok(web::json(StatusCode::OK, &v));
    let approver = &platform.approver;
    let path = req.path();
    let input = || req.json::<Input>().map_err(ApiError::bad_request);
    match (&req.method, &path[1..]) {
        (&Method::GET, ["info"]) => ok(serde_json::to_value(&platform.info).unwrap_or_default()),
        (&Method::GET, ["approver"]) => ok(json!({
            "approverId": approver.approver_id(),
            "signerKeyId": approver.signer_key_id(),
            "publicKey": approver.public_key().to_base64(),
            "x25519PublicKey": approver.x25519_public_key().to_base64url(),
            "policy": approver.policy().as_str(),
            "tamper": approver.tamper().as_str(),
        })),
        (&Method::PUT | &Method::POST, ["approver", "policy"]) => {
            let input = input()?;
            let name = need(&input.policy, "policy")?;
            let policy = ApproverPolicy::parse(name)
                .ok_or_else(|| ApiError::bad_request("policy is approve, reject or manual"))?;
            approver.set_policy(policy);
            ok(json!({ "policy": policy.as_str() }))
        }
        (&Method::PUT | &Method::POST, ["approver", "tamper"]) => {
            let input = input()?;
            let name = need(&input.mode, "mode")?;
            let mode = TamperMode::parse(name).ok_or_else(|| {
                ApiError::bad_request(format!("mode is one of {}", TamperMode::names()))
            })?;
            approver.set_tamper(mode);
            ok(json!({ "mode": mode.as_str() }))
        }
        (&Method::PUT | &Method::POST, ["approver", "auto-pair"]) => {
            let enabled = input()?
                .enabled
                .ok_or_else(|| ApiError::bad_request("enabled is required"))?;
            approver.set_auto_pair(enabled);
            ok(json!({ "enabled": enabled }))
        }
        (&Method::GET, ["approver", "pending"]) => ok(json!({ "items": approver.pending() })),
        (&Method::GET, ["approver", "seen"]) => ok(json!({ "items": approver.seen() })),
        (&Method::POST, ["approver", "decide"]) => {
            let input = input()?;
            let request_id = need(&input.request_id, "requestId")?;
            let decision = match need(&input.decision, "decision")?
                .to_ascii_lowercase()
                .as_str()
            {
                "approve" => airlock_types::Decision::Approve,
                "reject" => airlock_types::Decision::Reject,
                _ => {
                    return Err(ApiError::bad_request(
                        r#"decision is "approve" or "reject""#,
                    ));
                }
            };
            approver
                .decide(request_id, decision, input.reason.as_deref())
                .map_err(sandbox_error)?;
            ok(json!({ "requestId": request_id, "status": "submitted" }))
        }
        (&Method::POST, ["approver", "pair"]) => {
            let input = input()?;
            let paired = approver
                .complete_pairing(need(&input.pairing_code, "pairingCode")?)
                .map_err(sandbox_error)?;
            ok(json!({
                "pairingNonce": paired.pairing_nonce,
                "routingToken": paired.routing_token,
                "enforcerId": paired.enforcer_id,
            }))
        }
        (&Method::POST, ["approver", "pre-generate"]) => {
            let code = approver.pre_generate_code().map_err(sandbox_error)?;
            ok(
                json!({ "pairingCode": code.pairing_code, "expiresAt": code.expires_at.to_string() }),
            )
        }
        (&Method::GET, ["pairings", "pending"]) => ok(
            json!({ "pairingCodes": platform.gateway.pending_pairing_codes(approver.approver_id()) }),
        ),
        (&Method::PUT | &Method::POST, ["consent"]) => {
            let input = input()?;
            let state = ConsentState::parse(need(&input.state, "state")?).ok_or_else(|| {
                ApiError::bad_request("state is required, pending, allowed or denied")
            })?;
            platform.gateway.set_consent(input.app_id.as_deref(), state);
            ok(json!({ "state": format!("{state:?}").to_ascii_lowercase() }))
        }
        (&Method::POST, ["dnd"]) => {
            let policy: airlock_types::DndPolicy = req
                .json()
                .map_err(|e| ApiError::bad_request(format!("not a DND policy: {e}")))?;
            platform.gateway.add_dnd_policy(policy);
            ok(json!({ "status": "added" }))
        }
        (&Method::DELETE, ["dnd"]) => {
            platform.gateway.clear_dnd_policies();
            ok(json!({ "status": "cleared" }))
        }
        (&Method::POST, ["clock", "advance"]) => {
            let seconds = input()?
                .seconds
                .ok_or_else(|| ApiError::bad_request("seconds is required"))?;
            platform.advance_clock(std::time::Duration::from_secs(seconds));
            ok(json!({ "aheadSeconds": platform.clock.ahead().as_secs() }))
        }
        (&Method::GET, ["requests"]) => {
            let counts = platform.requests.snapshot();
            ok(json!({ "routes": counts, "total": counts.total() }))
        }
        (&Method::DELETE, ["requests"]) => {
            platform.requests.reset();
            ok(json!({ "status": "cleared" }))
        }
        (&Method::GET, ["device", "pending"]) => {
            ok(json!({ "userCodes": platform.idp.pending_device_codes() }))
        }
        (&Method::POST, ["device", action @ ("approve" | "deny")]) => {
            let input = input()?;
            let code = need(&input.user_code, "userCode")?;
            if platform.idp.set_device_approval(code, *action == "approve") {
                ok(json!({ "userCode": code, "status": action }))
            } else {
                Err(ApiError::not_found(
                    "no pending device authorization with that user code",
                ))
            }
        }
        _ => Err(ApiError::not_found("no such control endpoint")),
    }
}
