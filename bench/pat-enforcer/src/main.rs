//! `airlock-pat-enforcer PAIRING_FILE COMMAND...`: asks the paired human to approve
//! `COMMAND`, and exits 0 only on a verified approval (1 when blocked, 2 on misuse).
//!
//! Environment: `AIRLOCK_GATEWAY_URL` (default `https://igw.airlocks.io`),
//! `AIRLOCK_CLIENT_ID`, `AIRLOCK_CLIENT_SECRET` and `AIRLOCK_PAT`.
#![allow(clippy::print_stderr)]

use std::process::ExitCode;
use std::time::Duration;

use airlock_gateway::{
    AwaitOptions, DecisionOutcome, GatewayClient, Pairing, SecretToken, SubmitOptions,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [pairing_file, command @ ..] = args.as_slice() else {
        eprintln!("usage: airlock-pat-enforcer PAIRING_FILE COMMAND...");
        return ExitCode::from(2);
    };
    if command.is_empty() {
        eprintln!("usage: airlock-pat-enforcer PAIRING_FILE COMMAND...");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("blocked: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(gate(pairing_file, &command.join(" "))) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("blocked: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn gate(pairing_file: &str, command: &str) -> Result<bool, Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let url =
        std::env::var("AIRLOCK_GATEWAY_URL").unwrap_or_else(|_| "https://igw.airlocks.io".into());
    let client = GatewayClient::builder(url)
        .client_credentials(
            env("AIRLOCK_CLIENT_ID")?,
            SecretToken::new(env("AIRLOCK_CLIENT_SECRET")?),
        )
        .pat(SecretToken::new(env("AIRLOCK_PAT")?))
        .build()?;
    let pairing = Pairing::load(pairing_file)?;
    let action = format!(
        r#"{{"actionType":"command","commandText":{}}}"#,
        json_string(command)
    );
    let pending = client
        .encrypt_and_submit_json(&pairing, action.as_bytes(), SubmitOptions::new())
        .await?;
    let options = AwaitOptions::new(Duration::from_secs(600)).withdraw_on_timeout(true);
    match client.await_decision(&pending, options).await? {
        DecisionOutcome::Approved(_) => Ok(true),
        other => {
            eprintln!("blocked: {other:?}");
            Ok(false)
        }
    }
}

/// A JSON string literal of `s`.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
