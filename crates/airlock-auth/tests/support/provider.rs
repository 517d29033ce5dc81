//! Starts node-oidc-provider (tests/oidc-provider) on loopback for the interop tests.
//!
//! Missing `node`/`npm`: the tests fail when `CI` is set (they must never pass silently
//! there) and are skipped with a loud message otherwise.

// The provider's own errors go to the test output on purpose.
#![allow(clippy::print_stderr)]

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use airlock_http::HyperTransport;
use std::sync::mpsc;
use std::time::Duration;

static INSTALL: Mutex<()> = Mutex::new(());

/// The provider's TLS certificate (self-signed for 127.0.0.1) and where its PEM files are.
struct Tls {
    cert_der: Vec<u8>,
    cert_file: PathBuf,
    key_file: PathBuf,
    _dir: tempfile::TempDir,
}

fn tls() -> &'static Tls {
    static TLS: OnceLock<Tls> = OnceLock::new();
    TLS.get_or_init(|| {
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
            .expect("generate a test certificate");
        let dir = tempfile::tempdir().expect("temp dir");
        let cert_file = dir.path().join("cert.pem");
        let key_file = dir.path().join("key.pem");
        std::fs::write(&cert_file, certified.cert.pem()).unwrap();
        std::fs::write(&key_file, certified.key_pair.serialize_pem()).unwrap();
        Tls {
            cert_der: certified.cert.der().to_vec(),
            cert_file,
            key_file,
            _dir: dir,
        }
    })
}

/// A transport that trusts the provider's certificate (and nothing else).
pub fn transport() -> HyperTransport {
    HyperTransport::builder()
        .tls_webpki_roots(false)
        .tls_native_roots(false)
        .add_root_certificate_der(tls().cert_der.clone())
        .build()
        .expect("test transport")
}

fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider")
}

fn tool_works(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A running provider; killed on drop.
#[derive(Debug)]
pub struct OidcProvider {
    child: Child,
    /// `https://127.0.0.1:<port>`.
    pub issuer: String,
}

impl OidcProvider {
    /// Starts a fresh provider, or returns `None` (after a loud message) when Node.js is
    /// not installed and `CI` is not set.
    pub fn start() -> Option<Self> {
        if !tool_works("node") || !tool_works("npm") {
            assert!(
                std::env::var_os("CI").is_none(),
                "node and npm are required for the OIDC interop tests (CI is set, so they \
                 must not be skipped)"
            );
            // Written to the process's stderr directly, past libtest's output capture, so
            // the skip is visible even when the test "passes".
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                 !!! SKIPPED: OIDC interop test — `node`/`npm` not found on PATH.     !!!\n\
                 !!! Install Node.js >= 20 to run it (CI fails instead of skipping).  !!!\n\
                 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
                    .as_bytes(),
            );
            return None;
        }
        let dir = project_dir();
        {
            let _guard = INSTALL
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !dir.join("node_modules/oidc-provider/package.json").exists() {
                let status = Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund"])
                    .current_dir(&dir)
                    .stdout(Stdio::null())
                    .status()
                    .expect("run npm ci");
                assert!(status.success(), "npm ci failed in {}", dir.display());
            }
        }
        let mut child = Command::new("node")
            .arg("provider.js")
            .current_dir(&dir)
            .env("AIRLOCK_TEST_TLS_CERT", &tls().cert_file)
            .env("AIRLOCK_TEST_TLS_KEY", &tls().key_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start node provider.js");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("ISSUER=") {
                    let _ = tx.send(issuer.to_owned());
                }
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Node 20 prints a harmless "Unsupported runtime" warning, and the
                // provider warns about its development-only adapter and keys.
                if !line.contains("oidc-provider WARNING") {
                    eprintln!("[oidc-provider] {line}");
                }
            }
        });
        let issuer = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(issuer) => issuer,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("node provider.js did not print its issuer within 60 s");
            }
        };
        Some(Self { child, issuer })
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
