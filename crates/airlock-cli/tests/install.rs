//! `airlock install | uninstall` on fixture configuration files that hold the user's own
//! hooks and settings, and `airlock doctor`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use airlock_sandbox::SandboxConfig;
use common::{Env, describe};
use serde_json::Value;

/// A fake home and project directory.
struct Dirs {
    home: tempfile::TempDir,
    project: tempfile::TempDir,
}

impl Dirs {
    fn new() -> Self {
        Self {
            home: tempfile::tempdir().expect("home"),
            project: tempfile::tempdir().expect("project"),
        }
    }

    fn airlock(&self, args: &[&str]) -> Command {
        let mut cmd = common::airlock_in(&self.home.path().join(".config/airlock"));
        cmd.args(args)
            .env("HOME", self.home.path())
            .current_dir(self.project.path());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        common::run(self.airlock(args))
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", describe(&out));
        out
    }

    /// Puts fixture `name` at `path` (under home or project) with `mode`.
    fn fixture(&self, path: &Path, name: &str, mode: u32) -> String {
        let text = std::fs::read_to_string(common::data(&format!("agents/{name}"))).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &text).unwrap();
        set_mode(path, mode);
        text
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn backup(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap().to_os_string();
    name.push(".airlock-backup");
    path.with_file_name(name)
}

#[test]
fn claude_code_user_settings_keep_everything_of_the_user() {
    let dirs = Dirs::new();
    let path = dirs.home.path().join(".claude/settings.json");
    let original = dirs.fixture(&path, "claude-settings.json", 0o644);

    // --dry-run prints the result and writes nothing.
    let out = dirs.ok(&["install", "claude-code", "--dry-run"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    let printed: Value = serde_json::from_slice(&out.stdout).expect("the resulting file");
    assert_eq!(printed["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);

    dirs.ok(&["install", "claude-code"]);
    let after = std::fs::read_to_string(&path).unwrap();
    let v: Value = serde_json::from_str(&after).unwrap();
    let before: Value = serde_json::from_str(&original).unwrap();
    // Every key of the user is there, unchanged; their key order too.
    for key in ["$schema", "permissions", "model", "env"] {
        assert_eq!(v[key], before[key], "{key}");
    }
    assert!(after.find("\"ZED\"").unwrap() < after.find("\"ALPHA\"").unwrap());
    assert!(after.find("\"permissions\"").unwrap() < after.find("\"model\"").unwrap());
    assert_eq!(v["hooks"]["PostToolUse"], before["hooks"]["PostToolUse"]);
    let pre = v["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(pre[0], before["hooks"]["PreToolUse"][0]);
    let ours = &pre[1]["hooks"][0];
    assert_eq!(pre[1]["matcher"], "*");
    assert_eq!(ours["timeout"], 600);
    let command = ours["command"].as_str().unwrap();
    assert!(
        command.ends_with(" hook claude-code --timeout 590"),
        "{command}"
    );
    // The previous file is kept; the permissions are the file's own.
    assert_eq!(std::fs::read_to_string(backup(&path)).unwrap(), original);
    assert_eq!(mode(&path), 0o644);

    // Twice is once: the file is not even rewritten.
    dirs.ok(&["install", "claude-code"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), after);
    assert_eq!(std::fs::read_to_string(backup(&path)).unwrap(), original);

    dirs.ok(&["uninstall", "claude-code"]);
    assert_eq!(json(&path), before);
    let out = dirs.ok(&["uninstall", "claude-code"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not installed"));
}

#[test]
fn cursor_project_hooks_keep_the_users_and_copilot_gets_a_file_of_its_own() {
    let dirs = Dirs::new();
    let path = dirs.project.path().join(".cursor/hooks.json");
    let original = dirs.fixture(&path, "cursor-hooks.json", 0o600);
    dirs.ok(&["install", "cursor", "--scope", "project"]);
    let v = json(&path);
    let before: Value = serde_json::from_str(&original).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(
        v["hooks"]["afterFileEdit"],
        before["hooks"]["afterFileEdit"]
    );
    let shell = v["hooks"]["beforeShellExecution"].as_array().unwrap();
    assert_eq!(shell[0]["command"], "./hooks/audit.sh");
    for event in [
        "beforeShellExecution",
        "beforeMCPExecution",
        "beforeReadFile",
    ] {
        let last = v["hooks"][event]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert!(
            last["command"]
                .as_str()
                .unwrap()
                .contains(" hook cursor --timeout 590"),
            "{event}: {last}"
        );
    }
    assert_eq!(mode(&path), 0o600);
    dirs.ok(&["uninstall", "cursor", "--scope", "project"]);
    assert_eq!(json(&path), before);

    // Cursor has no local scope; Copilot's hooks live in the repository.
    let out = dirs.run(&["install", "cursor", "--scope", "local"]);
    assert_eq!(out.status.code(), Some(64), "{}", describe(&out));
    let out = dirs.run(&["install", "copilot", "--scope", "user"]);
    assert_eq!(out.status.code(), Some(64), "{}", describe(&out));
    dirs.ok(&["install", "copilot"]);
    let copilot = json(&dirs.project.path().join(".github/hooks/airlock.json"));
    assert_eq!(copilot["hooks"]["PreToolUse"][0]["type"], "command");
    assert!(
        copilot["hooks"]["PreToolUse"][0]["command"]
            .as_str()
            .unwrap()
            .contains(" hook copilot ")
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_settings_file_is_edited_where_it_lives() {
    let dirs = Dirs::new();
    let real = dirs.home.path().join("dotfiles/claude.json");
    dirs.fixture(&real, "claude-settings.json", 0o644);
    let link = dirs.project.path().join(".claude/settings.local.json");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    dirs.ok(&["install", "claude-code", "--scope", "local"]);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        json(&real)["hooks"]["PreToolUse"].as_array().unwrap().len(),
        2
    );
}

#[test]
fn a_broken_file_is_left_untouched() {
    let dirs = Dirs::new();
    let path = dirs.home.path().join(".claude/settings.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{\"hooks\": [").unwrap();
    let out = dirs.run(&["install", "claude-code"]);
    assert_eq!(out.status.code(), Some(7), "{}", describe(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"hooks\": [");
    assert!(!backup(&path).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_says_what_is_missing() {
    let env = Env::start(SandboxConfig::builder().rate_limit(None).build()).await;
    let home = tempfile::tempdir().unwrap();
    let doctor = |env: &Env| {
        let mut cmd = env.command(&["doctor"]);
        cmd.env("HOME", home.path()).current_dir(home.path());
        tokio::task::spawn_blocking(move || common::run(cmd))
    };
    let out = doctor(&env).await.unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("FAIL signed in"), "{text}");
    assert!(text.contains("FAIL paired"), "{text}");
    assert!(text.contains("ok   gateway      reachable"), "{text}");
    assert!(text.contains("FAIL hooks"), "{text}");

    let pat = env.sandbox().pat().to_owned();
    env.ok(&["login", "--pat", &pat]).await;
    env.pair().await;
    let mut install = env.command(&["install", "claude-code"]);
    install.env("HOME", home.path());
    let out = common::run(install);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let out = doctor(&env).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        text.contains("agent timeout 600s, hook deadline 590s"),
        "{text}"
    );
    assert!(text.contains("cursor       not installed"), "{text}");
    // A hook the agent would kill before it answers is a failure.
    let path = home.path().join(".claude/settings.json");
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"timeout\": 600", "\"timeout\": 60");
    std::fs::write(&path, edited).unwrap();
    let out = doctor(&env).await.unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("is not under the agent's timeout 60s"),
        "{}",
        describe(&out)
    );
}
