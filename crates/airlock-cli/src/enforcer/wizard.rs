//! The setup wizard: where the gateway is (or an embedded sandbox), the app credentials, the
//! enforcer id and the workspace name. Asking is separate from saving, so it is tested
//! without a disk.

use zeroize::Zeroizing;

use super::term::{EndOfInput, Terminal};
use crate::connect::DEFAULT_GATEWAY_URL;

/// Where the enforcer talks to. `Debug` redacts the secret; no `PartialEq` on a secret.
pub(crate) enum Target {
    /// A local Airlock platform started in this process (new on every start).
    EmbeddedSandbox,
    /// A gateway with the enforcer app's credentials.
    Gateway {
        url: String,
        client_id: String,
        /// `None`: keep the stored secret.
        client_secret: Option<Zeroizing<String>>,
    },
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::EmbeddedSandbox => f.write_str("EmbeddedSandbox"),
            Self::Gateway {
                url,
                client_id,
                client_secret,
            } => f
                .debug_struct("Gateway")
                .field("url", url)
                .field("client_id", client_id)
                .field(
                    "client_secret",
                    &client_secret.as_ref().map(|_| "<redacted>"),
                )
                .finish(),
        }
    }
}

/// The wizard's answers.
#[derive(Debug)]
pub(crate) struct Setup {
    pub(crate) target: Target,
    pub(crate) enforcer_id: String,
    pub(crate) workspace: String,
}

/// The current values, offered as defaults.
#[derive(Debug, Clone, Default)]
pub(crate) struct Current {
    pub(crate) embedded_sandbox: bool,
    pub(crate) gateway_url: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) has_client_secret: bool,
    pub(crate) enforcer_id: String,
    pub(crate) workspace: String,
}

/// Whether `url` is a gateway base URL the transport accepts: `https://…`, or `http://` to
/// a loopback host by the transport's own rule ([`airlock::http::is_loopback_host`]).
pub(crate) fn gateway_url_problem(url: &str) -> Option<&'static str> {
    let Ok(uri) = url.parse::<airlock::http::http::Uri>() else {
        return Some("this is not a valid URL");
    };
    match (uri.scheme_str(), uri.host().filter(|h| !h.is_empty())) {
        (Some("https" | "http"), None) => Some("the URL has no host"),
        (Some("https"), Some(_)) => None,
        (Some("http"), Some(host)) if airlock::http::is_loopback_host(host) => None,
        (Some("http"), Some(_)) => {
            Some("plain http:// is allowed only to 127.0.0.1, localhost or [::1]; use https://")
        }
        _ => Some("the URL must start with https:// (or http:// to this machine)"),
    }
}

/// An id or name: not empty, no control characters.
fn name_problem(value: &str) -> Option<&'static str> {
    if value.chars().any(char::is_control) {
        Some("control characters are not allowed")
    } else {
        None
    }
}

/// Asks until the answer passes `check`.
async fn ask_valid(
    term: &mut impl Terminal,
    label: &str,
    default: Option<&str>,
    check: fn(&str) -> Option<&'static str>,
) -> Result<String, EndOfInput> {
    loop {
        let value = term.prompt(label, default).await?;
        match check(&value) {
            None => return Ok(value),
            Some(problem) => term.print(&format!("  {problem}.")),
        }
    }
}

/// Runs the wizard with `current` as defaults.
pub(crate) async fn ask(term: &mut impl Terminal, current: &Current) -> Result<Setup, EndOfInput> {
    term.print("");
    term.print("Setup: where should this enforcer send its approval requests?");
    let options = [
        "Start an embedded sandbox (a local Airlock platform in this process; no account needed)"
            .to_owned(),
        "Connect to an Airlock gateway (needs an enforcer app's client id and secret)".to_owned(),
    ];
    let choice = term.select("Gateway", &options).await?;
    let target = if choice == 0 {
        Target::EmbeddedSandbox
    } else {
        let default_url = current
            .gateway_url
            .as_deref()
            .filter(|_| !current.embedded_sandbox)
            .unwrap_or(DEFAULT_GATEWAY_URL);
        let url = ask_valid(term, "Gateway URL", Some(default_url), gateway_url_problem).await?;
        let url = url.trim_end_matches('/').to_owned();
        let same_app = !current.embedded_sandbox;
        let client_id = ask_valid(
            term,
            "Client ID",
            current.client_id.as_deref().filter(|_| same_app),
            name_problem,
        )
        .await?;
        let keep = (same_app
            && current.has_client_secret
            && current.client_id.as_deref() == Some(&client_id))
        .then_some("Enter keeps the stored secret");
        let client_secret = term.secret("Client secret", keep).await?;
        Target::Gateway {
            url,
            client_id,
            client_secret,
        }
    };
    let enforcer_id = ask_valid(
        term,
        "Enforcer ID",
        Some(&current.enforcer_id),
        name_problem,
    )
    .await?;
    let workspace = ask_valid(
        term,
        "Workspace name",
        Some(&current.workspace),
        name_problem,
    )
    .await?;
    Ok(Setup {
        target,
        enforcer_id,
        workspace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enforcer::term::Script;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn current() -> Current {
        Current {
            enforcer_id: "enf-host".to_owned(),
            workspace: "proj".to_owned(),
            ..Current::default()
        }
    }

    #[test]
    fn the_embedded_sandbox_needs_only_names() {
        let mut t = Script::new(["1", "", "my-ws"]);
        let setup = block(ask(&mut t, &current())).unwrap();
        assert!(matches!(setup.target, Target::EmbeddedSandbox));
        assert_eq!(setup.enforcer_id, "enf-host");
        assert_eq!(setup.workspace, "my-ws");
        assert!(t.text().contains("Start an embedded sandbox"));
    }

    #[test]
    fn a_gateway_needs_a_valid_url_and_the_app_credentials() {
        let mut t = Script::new([
            "2",
            "http://example.com",
            "ftp://x",
            "https://gw.example/",
            "app-1",
            "s3cret",
            "enf-1",
            "",
        ]);
        let setup = block(ask(&mut t, &current())).unwrap();
        assert_eq!(setup.enforcer_id, "enf-1");
        assert_eq!(setup.workspace, "proj");
        let Target::Gateway {
            url,
            client_id,
            client_secret,
        } = setup.target
        else {
            panic!("a gateway target");
        };
        assert_eq!(url, "https://gw.example");
        assert_eq!(client_id, "app-1");
        assert_eq!(client_secret.as_deref().map(String::as_str), Some("s3cret"));
        let shown = format!(
            "{:?}",
            Target::Gateway {
                url,
                client_id,
                client_secret
            }
        );
        assert!(
            !shown.contains("s3cret") && shown.contains("<redacted>"),
            "{shown}"
        );
        let text = t.text();
        assert!(
            text.contains("Gateway URL [https://igw.airlocks.io]: "),
            "{text}"
        );
        assert!(
            text.contains("plain http:// is allowed only to 127.0.0.1"),
            "{text}"
        );
        assert!(text.contains("the URL must start with https://"), "{text}");
    }

    #[test]
    fn reconfiguring_offers_the_stored_values_and_keeps_the_secret() {
        let stored = Current {
            gateway_url: Some("http://127.0.0.1:8080".to_owned()),
            client_id: Some("app-1".to_owned()),
            has_client_secret: true,
            ..current()
        };
        let mut t = Script::new(["2", "", "", "", "", ""]);
        let setup = block(ask(&mut t, &stored)).unwrap();
        let Target::Gateway {
            url,
            client_id,
            client_secret,
        } = setup.target
        else {
            panic!("a gateway target");
        };
        assert_eq!(
            (url.as_str(), client_id.as_str()),
            ("http://127.0.0.1:8080", "app-1")
        );
        assert!(client_secret.is_none(), "Enter keeps the stored secret");
        assert!(
            t.text()
                .contains("Client secret [Enter keeps the stored secret]: ")
        );
    }

    #[test]
    fn urls_are_checked() {
        assert_eq!(gateway_url_problem("https://igw.airlocks.io"), None);
        assert_eq!(gateway_url_problem("http://127.0.0.1:4000/base"), None);
        assert_eq!(gateway_url_problem("http://localhost"), None);
        assert_eq!(gateway_url_problem("http://[::1]:80"), None);
        assert!(gateway_url_problem("http://127.0.0.1.evil.example").is_some());
        assert!(gateway_url_problem("https://").is_some());
        assert!(gateway_url_problem("igw.airlocks.io").is_some());
    }
}
