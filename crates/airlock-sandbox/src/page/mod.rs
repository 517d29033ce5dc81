//! The approver's screen as a web page, under `/approver/`: what the phone would show —
//! pending requests with their decrypted content, pairing, history — and the sandbox's
//! settings, so a person can be the approver.
//!
//! Decisions and pairings go through [`crate::ApproverControl`], the same code that signs
//! for the simulated approver. Access needs a one-time login link
//! ([`crate::Sandbox::approver_login_url`]) or the approver token; the session is an
//! HttpOnly, SameSite=Strict cookie, every form post carries the session's CSRF token and a
//! same-origin `Origin`, and every page is served under a strict Content-Security-Policy
//! (no inline script or style, nothing from elsewhere). Pages are plain HTML forms; the one
//! script only refreshes the lists and counts down the time left.

mod session;
mod view;

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

use airlock_types::{Decision, DndPolicy, PolicyMode, Timestamp};
use askama::Template;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::Full;

use crate::config::{ApproverPolicy, ConsentState, TamperMode};
use crate::web::{self, Req, Resp, secret_eq};
use crate::{Platform, PreGeneratedCode};
use session::{Current, Notice, Sessions};
use view::{Layout, Request};

/// Every page's Content-Security-Policy: only this origin's script and style, no inline
/// code, forms post only here, no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A reason longer than this is cut.
const MAX_REASON: usize = 500;
/// Longest DND policy, in minutes (a week).
const MAX_DND_MINUTES: u64 = 7 * 24 * 60;

const SCRIPT: &str = include_str!("../../static/approver.js");
const STYLE: &str = include_str!("../../static/approver.css");

/// The page's own state: login links, sessions, and the codes pre-generated here.
#[derive(Debug)]
pub(crate) struct Page {
    /// `http://127.0.0.1:{port}`: the only `Origin` a form post may come from.
    origin: String,
    port: u16,
    sessions: Sessions,
    codes: Mutex<Vec<PreGeneratedCode>>,
}

impl Page {
    pub(crate) fn new(origin: String, port: u16) -> Self {
        Self {
            origin,
            port,
            sessions: Sessions::default(),
            codes: Mutex::new(Vec::new()),
        }
    }

    /// A new one-time login link.
    pub(crate) fn login_url(&self) -> String {
        format!(
            "{}/approver/login?token={}",
            self.origin,
            self.sessions.mint_login()
        )
    }

    fn codes(&self) -> MutexGuard<'_, Vec<PreGeneratedCode>> {
        self.codes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the `Host` header names this sandbox on loopback (a page reached through
    /// another name, as in DNS rebinding, is refused).
    fn host_ok(&self, req: &Req) -> bool {
        let port = self.port;
        req.header("host")
            .is_some_and(|h| h == format!("127.0.0.1:{port}") || h == format!("localhost:{port}"))
    }

    /// Whether a state-changing request comes from this origin: `Origin`, when sent, must be
    /// ours; without it, `Sec-Fetch-Site`, when sent, must be `same-origin`.
    fn same_origin(&self, req: &Req) -> bool {
        match req.header("origin") {
            Some(origin) => origin == self.origin,
            None => req
                .header("sec-fetch-site")
                .is_none_or(|s| s == "same-origin"),
        }
    }
}

/// Serves `/approver/...`.
pub(crate) fn handle(platform: &Platform, req: &Req) -> Resp {
    let page = &platform.page;
    if !page.host_ok(req) {
        return refused(
            StatusCode::MISDIRECTED_REQUEST,
            "Wrong address",
            "Open the approver page at the address airlock sandbox printed.",
        );
    }
    let path = req.path();
    match (&req.method, &path[1..]) {
        (&Method::GET, ["static", "approver.js"]) => {
            asset("text/javascript; charset=utf-8", SCRIPT)
        }
        (&Method::GET, ["static", "approver.css"]) => asset("text/css; charset=utf-8", STYLE),
        (&Method::GET, ["login"]) => {
            let valid = req
                .query("token")
                .is_some_and(|t| page.sessions.redeem_login(t));
            if valid {
                signed_in(page)
            } else {
                sign_in(
                    "This login link is not valid or was used already. Ask airlock sandbox \
                     for the approver token and enter it here.",
                )
            }
        }
        (&Method::POST, ["login"]) => {
            let form = req.form();
            let token = form.get("token").map(|t| t.trim()).unwrap_or_default();
            if !page.same_origin(req) {
                forbidden("the request did not come from this page")
            } else if !token.is_empty() && secret_eq(token, &platform.info.approver_token) {
                signed_in(page)
            } else {
                sign_in("That is not the approver token.")
            }
        }
        _ => match page.sessions.current(req) {
            Some(current) => signed_in_route(platform, req, &path[1..], current),
            None => sign_in(
                "Sign in with the login link airlock sandbox printed, or with the approver token.",
            ),
        },
    }
}

fn signed_in_route(platform: &Platform, req: &Req, path: &[&str], current: Current) -> Resp {
    match (&req.method, path) {
        (&Method::GET, []) => pending_page(platform, current),
        (&Method::GET, ["pairing"]) => pairing_page(platform, current),
        (&Method::GET, ["history"]) => history_page(platform, current),
        (&Method::GET, ["settings"]) => settings_page(platform, current),
        (&Method::POST, [action]) => {
            let form = req.form();
            if !platform.page.same_origin(req) {
                return forbidden("the request did not come from this page");
            }
            if !current.csrf_matches(form.get("csrf").map(String::as_str)) {
                return forbidden("the form's CSRF token is missing or wrong: reload the page");
            }
            let field = |name: &str| form_field(&form, name);
            let (back, result) = match *action {
                "logout" => {
                    platform.page.sessions.end(&current.id);
                    let mut resp = redirect("/approver/login");
                    set_header(&mut resp, header::SET_COOKIE, &session::clear_cookie());
                    return resp;
                }
                "decide" => ("/approver/", decide(platform, &form)),
                "pair" => ("/approver/pairing", pair(platform, field("code"))),
                "pre-generate" => ("/approver/pairing", pre_generate(platform)),
                "auto-pair" => ("/approver/pairing", auto_pair(platform, field("enabled"))),
                "policy" => ("/approver/settings", policy(platform, field("policy"))),
                "tamper" => ("/approver/settings", tamper(platform, field("mode"))),
                "consent" => ("/approver/settings", consent(platform, &form)),
                "dnd" => ("/approver/settings", add_dnd(platform, &form)),
                "dnd-delete" => ("/approver/settings", delete_dnd(platform, field("id"))),
                _ => return not_found(),
            };
            let notice = result.unwrap_or_else(|e| e);
            platform.page.sessions.notify(&current.id, notice);
            redirect(back)
        }
        _ => not_found(),
    }
}

type Outcome = Result<Notice, Notice>;
type Form = std::collections::HashMap<String, String>;

/// A form field, trimmed (empty when missing).
fn form_field<'a>(form: &'a Form, name: &str) -> &'a str {
    form.get(name).map(|v| v.trim()).unwrap_or_default()
}

fn decide(platform: &Platform, form: &Form) -> Outcome {
    let field = |name: &str| form_field(form, name);
    let request_id = field("requestId");
    let decision = match field("decision") {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return Err(Notice::error("Choose Approve or Reject.")),
    };
    let reason: String = field("reason").chars().take(MAX_REASON).collect();
    let reason = Some(reason.as_str()).filter(|r| !r.is_empty());
    platform
        .approver
        .decide(request_id, decision.clone(), reason)
        .map(|()| {
            let verb = if decision == Decision::Approve {
                "Approved"
            } else {
                "Rejected"
            };
            Notice::ok(format!("{verb} {request_id}."))
        })
        .map_err(|e| Notice::error(format!("Could not decide {request_id}: {e}")))
}

fn pair(platform: &Platform, code: &str) -> Outcome {
    if code.is_empty() {
        return Err(Notice::error("Type the code the enforcer shows."));
    }
    let paired = platform
        .approver
        .complete_pairing(code)
        .map_err(|e| Notice::error(format!("Could not pair with code {code}: {e}")))?;
    let who = paired
        .enforcer_label
        .or(paired.enforcer_id)
        .unwrap_or_else(|| "the enforcer".to_owned());
    Ok(Notice::ok(format!(
        "Paired with {who}. It should show the fingerprint {}.",
        platform.approver.public_key().fingerprint()
    )))
}

fn pre_generate(platform: &Platform) -> Outcome {
    let code = platform
        .approver
        .pre_generate_code()
        .map_err(|e| Notice::error(format!("Could not make a code: {e}")))?;
    let text = format!(
        "New pairing code {}: run airlock pair --code {}",
        code.pairing_code, code.pairing_code
    );
    let mut codes = platform.page.codes();
    let now = platform.clock.now();
    codes.retain(|c| c.expires_at.as_offset_date_time() > now);
    codes.push(code);
    Ok(Notice::ok(text))
}

fn auto_pair(platform: &Platform, enabled: &str) -> Outcome {
    let enabled = match enabled {
        "on" => true,
        "off" => false,
        _ => return Err(Notice::error("Auto-pairing is on or off.")),
    };
    platform.approver.set_auto_pair(enabled);
    Ok(Notice::ok(if enabled {
        "Auto-pairing is on: pairing sessions complete by themselves."
    } else {
        "Auto-pairing is off: type each enforcer's code to pair it."
    }))
}

fn policy(platform: &Platform, name: &str) -> Outcome {
    let policy = ApproverPolicy::parse(name)
        .ok_or_else(|| Notice::error("The policy is approve, reject or manual."))?;
    platform.approver.set_policy(policy);
    Ok(Notice::ok(format!(
        "Approver policy: {} (for requests that arrive from now on).",
        policy.as_str()
    )))
}

fn tamper(platform: &Platform, name: &str) -> Outcome {
    let mode = TamperMode::parse(name).ok_or_else(|| Notice::error("Unknown tamper mode."))?;
    platform.approver.set_tamper(mode);
    Ok(Notice::ok(format!("Tamper mode: {}.", mode.as_str())))
}

fn consent(platform: &Platform, form: &Form) -> Outcome {
    let field = |name: &str| form_field(form, name);
    let state = ConsentState::parse(field("state"))
        .ok_or_else(|| Notice::error("Consent is required, pending, allowed or denied."))?;
    let app = field("appId");
    let known = platform
        .gateway
        .consent_states()
        .iter()
        .any(|(id, _, _)| id == app);
    if !known {
        return Err(Notice::error(format!("No app {app}.")));
    }
    platform.gateway.set_consent(Some(app), state);
    Ok(Notice::ok(format!("Consent of {app}: {}.", state.as_str())))
}

fn add_dnd(platform: &Platform, form: &Form) -> Outcome {
    let field = |name: &str| form_field(form, name);
    let (enforcer, workspace) = (field("enforcerId"), field("workspaceId"));
    if enforcer.is_empty() || workspace.is_empty() {
        return Err(Notice::error(
            "A DND policy needs an enforcer id and a workspace.",
        ));
    }
    let mode = match field("mode") {
        "approve_all" => PolicyMode::ApproveAll,
        "deny_all" => PolicyMode::DenyAll,
        _ => return Err(Notice::error("The mode is approve_all or deny_all.")),
    };
    let minutes = field("minutes")
        .parse::<u64>()
        .ok()
        .filter(|m| (1..=MAX_DND_MINUTES).contains(m))
        .ok_or_else(|| Notice::error(format!("The duration is 1 to {MAX_DND_MINUTES} minutes.")))?;
    let now = Timestamp::from_offset_date_time(platform.clock.now()).unwrap_or(Timestamp::MAX);
    let expires = now.saturating_add_std(std::time::Duration::from_secs(minutes * 60));
    let id = format!("dnd-{}", uuid::Uuid::new_v4());
    let mut policy = DndPolicy::workspace(&id, enforcer, workspace, mode.clone(), expires);
    policy.created_at = Some(now);
    platform.gateway.add_dnd_policy(policy);
    Ok(Notice::ok(format!(
        "DND {} for {workspace} ({enforcer}) for {minutes} min.",
        mode.as_str()
    )))
}

fn delete_dnd(platform: &Platform, id: &str) -> Outcome {
    if platform.gateway.remove_dnd_policy(id) {
        Ok(Notice::ok(format!("Deleted DND policy {id}.")))
    } else {
        Err(Notice::error(format!("No DND policy {id}.")))
    }
}

// -- pages ------------------------------------------------------------------------------------

fn layout(platform: &Platform, tab: &'static str, current: Current) -> Layout {
    Layout {
        tab,
        csrf: current.csrf,
        notice: current.notice,
        pending_count: pending(platform).len(),
        now_unix: platform.clock.now().unix_timestamp(),
    }
}

/// The artifacts waiting for a decision, newest first.
fn pending(platform: &Platform) -> Vec<crate::SeenArtifact> {
    let mut items = platform.approver.pending();
    items.reverse();
    items
}

fn pending_page(platform: &Platform, current: Current) -> Resp {
    let now = platform.clock.now();
    let requests = pending(platform)
        .iter()
        .map(|s| Request::new(s, now))
        .collect();
    render(&view::PendingPage {
        layout: layout(platform, "pending", current),
        policy: platform.approver.policy().as_str(),
        requests,
    })
}

fn pairing_page(platform: &Platform, current: Current) -> Resp {
    let now = platform.clock.now();
    let approver = &platform.approver;
    let waiting = platform
        .gateway
        .pending_pairings(approver.approver_id())
        .into_iter()
        .map(|p| view::WaitingPairing {
            enforcer: p
                .enforcer_label
                .or(p.enforcer_id)
                .unwrap_or_else(|| "an enforcer".to_owned()),
            workspace: p.workspace_name,
            time_left: view::time_left(p.expires_at, now),
            expires_unix: p.expires_at.unix_timestamp(),
        })
        .collect();
    let codes = platform
        .page
        .codes()
        .iter()
        .filter(|c| c.expires_at.as_offset_date_time() > now)
        .map(|c| view::Code {
            code: c.pairing_code.clone(),
            time_left: view::time_left(c.expires_at.as_offset_date_time(), now),
            expires_unix: c.expires_at.unix_seconds(),
        })
        .collect();
    let paired = approver
        .paired()
        .into_iter()
        .rev()
        .map(|p| view::Paired {
            enforcer: p.enforcer_id.unwrap_or_else(|| "(no id)".to_owned()),
            label: p.enforcer_label,
        })
        .collect();
    render(&view::PairingPage {
        layout: layout(platform, "pairing", current),
        fingerprint: approver.public_key().fingerprint(),
        auto_pair: approver.auto_pair(),
        waiting,
        codes,
        paired,
    })
}

fn history_page(platform: &Platform, current: Current) -> Resp {
    use crate::gateway::ExchangeState as S;
    let now = platform.clock.now();
    let requests = platform
        .approver
        .seen()
        .iter()
        .rev()
        .filter_map(|s| {
            let state = platform.gateway.exchange_state(&s.request_id).map(|x| x.0);
            let decided = match s.decision.as_deref() {
                Some("approve") => Some(("Approved", "approved")),
                Some(_) => Some(("Rejected", "rejected")),
                None => None,
            };
            let (outcome, class) = match (state, decided) {
                (Some(S::Withdrawn), _) => ("Withdrawn", "withdrawn"),
                (Some(S::Expired), _) => ("Expired", "expired"),
                (_, Some(decided)) => decided,
                (Some(S::Pending), None) => return None,
                (_, None) => ("Closed", "expired"),
            };
            Some(Request::new(s, now).with_outcome(outcome, class))
        })
        .collect();
    render(&view::HistoryPage {
        layout: layout(platform, "history", current),
        requests,
    })
}

fn settings_page(platform: &Platform, current: Current) -> Resp {
    let approver = &platform.approver;
    let consents = platform
        .gateway
        .consent_states()
        .into_iter()
        .map(|(app_id, app_name, state)| view::Consent {
            app_id,
            app_name,
            choices: view::choices(ConsentState::ALL, state, ConsentState::as_str),
        })
        .collect();
    let dnd = platform
        .gateway
        .dnd_policies()
        .into_iter()
        .map(|p| view::Dnd {
            scope: if p.is_action_scoped() {
                "actions".to_owned()
            } else {
                "workspace".to_owned()
            },
            id: p.request_id,
            enforcer: p.enforcer_id,
            workspace: p.workspace_id,
            mode: p.policy_mode.as_str().to_owned(),
            expires: p.expires_at.map_or_else(
                || "never".to_owned(),
                |t| view::clock(t.as_offset_date_time()),
            ),
        })
        .collect();
    let seen = approver.seen();
    let known_enforcers: BTreeSet<String> = approver
        .paired()
        .into_iter()
        .filter_map(|p| p.enforcer_id)
        .chain(seen.iter().filter_map(|s| s.enforcer_id.clone()))
        .collect();
    let known_workspaces: BTreeSet<String> = seen
        .iter()
        .filter_map(|s| s.metadata.get("workspaceName").cloned())
        .collect();
    render(&view::SettingsPage {
        layout: layout(platform, "settings", current),
        policies: view::choices(
            ApproverPolicy::ALL,
            approver.policy(),
            ApproverPolicy::as_str,
        ),
        tampers: view::choices(TamperMode::ALL, approver.tamper(), TamperMode::as_str),
        auto_pair: approver.auto_pair(),
        consents,
        dnd,
        known_enforcers: known_enforcers.into_iter().collect(),
        known_workspaces: known_workspaces.into_iter().collect(),
    })
}

// -- responses --------------------------------------------------------------------------------

fn set_header(resp: &mut Resp, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// The headers of every page response.
fn secure(mut resp: Resp) -> Resp {
    let headers = resp.headers_mut();
    headers.insert("content-security-policy", HeaderValue::from_static(CSP));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    // Not `no-referrer`: under it browsers send `Origin: null` with form posts, and the
    // origin check needs the real one.
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn html(status: StatusCode, body: String) -> Resp {
    let mut resp = http::Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(resp)
}

fn render(page: &impl Template) -> Resp {
    match page.render() {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => {
            tracing::warn!(error = %e, "approver page did not render");
            secure(web::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be rendered.\n",
            ))
        }
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Resp {
    let mut resp = http::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    secure(resp)
}

/// `303 See Other` to `location` (a form post's answer).
fn redirect(location: &str) -> Resp {
    let mut resp = web::redirect(location);
    *resp.status_mut() = StatusCode::SEE_OTHER;
    secure(resp)
}

/// A new session, its cookie set, on to the pending requests.
fn signed_in(page: &Page) -> Resp {
    let id = page.sessions.start();
    let mut resp = redirect("/approver/");
    set_header(&mut resp, header::SET_COOKIE, &session::set_cookie(&id));
    resp
}

fn refused(status: StatusCode, title: &'static str, message: &str) -> Resp {
    let page = view::SignInPage {
        title,
        message: message.to_owned(),
        form: false,
    };
    match page.render() {
        Ok(body) => html(status, body),
        Err(_) => secure(web::text(status, format!("{title}: {message}\n"))),
    }
}

/// `401` with the sign-in form.
fn sign_in(message: &str) -> Resp {
    let page = view::SignInPage {
        title: "Sign in",
        message: message.to_owned(),
        form: true,
    };
    match page.render() {
        Ok(body) => html(StatusCode::UNAUTHORIZED, body),
        Err(_) => secure(web::text(StatusCode::UNAUTHORIZED, format!("{message}\n"))),
    }
}

/// `403`: a state-changing request that failed the CSRF or origin check.
fn forbidden(why: &str) -> Resp {
    refused(
        StatusCode::FORBIDDEN,
        "Refused",
        &format!("Nothing was changed: {why}."),
    )
}

fn not_found() -> Resp {
    refused(StatusCode::NOT_FOUND, "Not found", "There is no such page.")
}
