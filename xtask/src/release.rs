//! `cargo xtask release [patch|minor|major|X.Y.Z] [--dry-run [--skip-tests] [--no-verify]]`.
//!
//! A release, in order:
//!
//! 1. refuses a dirty working tree and an existing tag `vX.Y.Z`;
//! 2. runs `cargo xtask test` and refuses when it fails;
//! 3. bumps `[workspace.package] version` and every `airlock*` version requirement in
//!    `[workspace.dependencies]` of the root `Cargo.toml` together (a text edit that keeps
//!    the file's formatting), then `cargo update --workspace --offline` for `Cargo.lock`;
//! 4. moves CHANGELOG.md's `## [Unreleased]` content under `## [X.Y.Z] - YYYY-MM-DD`
//!    (Keep a Changelog), leaving an empty Unreleased section, and updates the compare
//!    links at the bottom when they are there;
//! 5. `cargo publish --workspace --dry-run`: packages every publishable crate and builds
//!    each one in dependency order against a local overlay of the crates packaged before
//!    it (cargo ≥ 1.90), without uploading anything; on failure the edits are undone;
//! 6. commits `Release X.Y.Z` and makes the annotated tag `vX.Y.Z`;
//! 7. prints the publish order and the commands that publish (they need a registry token
//!    and are left to the maintainer).
//!
//! `--dry-run` does all of this in a temporary clone of `HEAD` (the real tree is never
//! touched), prints the resulting commit, and deletes the clone. Two shortcuts are only
//! accepted together with `--dry-run`: `--skip-tests`, and `--no-verify` (package the
//! crates offline without building them, instead of `cargo publish --dry-run`).

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::util::workspace_root;

const USAGE: &str =
    "usage: cargo xtask release [patch|minor|major|X.Y.Z] [--dry-run [--skip-tests] [--no-verify]]";

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let opts = parse_args(args)?;
    let root = workspace_root();
    let today = civil_date(days_since_epoch());
    let checks = Checks {
        run_tests: !opts.skip_tests,
        package: if opts.no_verify {
            PackageCheck::PackageOffline
        } else {
            PackageCheck::PublishDryRun
        },
    };
    if !opts.dry_run {
        if git_is_dirty(&root)? {
            return Err(
                "the working tree has uncommitted changes; commit or stash them first".into(),
            );
        }
        let done = release_in(&root, &opts.bump, &today, &checks, &[])?;
        let v = &done.version;
        println!(
            "\nReleased {v}: commit `Release {v}` and tag v{v} in {}.",
            root.display()
        );
        print_next_steps(&done);
        return Ok(());
    }

    if git_is_dirty(&root)? {
        eprintln!(
            "note: the working tree has uncommitted changes: a real release would refuse; \
             this dry run uses the committed HEAD"
        );
    }
    let clone = TempDir::new("airlock-release-dry-run")?;
    clone_for_dry_run(&root, clone.path())?;
    // A target directory of its own, kept between dry runs, so that the clone's
    // builds neither start from scratch nor touch the running xtask binary.
    let target: OsString = root.join("target").join("release-dry-run").into();
    let env = [("CARGO_TARGET_DIR", target)];
    let done = release_in(clone.path(), &opts.bump, &today, &checks, &env)?;
    println!(
        "\n--- dry run: the release commit (made in {}) ---",
        clone.path().display()
    );
    println!(
        "{}",
        git(clone.path(), &["show", "--stat", "--format=%s", "HEAD"])?
    );
    println!(
        "--- the changelog section of v{} ---\n{}",
        done.version, done.notes
    );
    println!(
        "Dry run: a real release would make this commit and the tag v{}.",
        done.version
    );
    print_next_steps(&done);
    println!("\ndry run: nothing was changed in {}", root.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Arguments

#[derive(Debug, PartialEq, Eq)]
struct Options {
    bump: Bump,
    dry_run: bool,
    skip_tests: bool,
    no_verify: bool,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut bump = None;
    let mut dry_run = false;
    let mut skip_tests = false;
    let mut no_verify = false;
    for arg in args {
        match arg.as_str() {
            "--dry-run" => dry_run = true,
            "--skip-tests" => skip_tests = true,
            "--no-verify" => no_verify = true,
            "-h" | "--help" => return Err(USAGE.into()),
            flag if flag.starts_with('-') => return Err(format!("unknown flag `{flag}`\n{USAGE}")),
            level => {
                if bump.is_some() {
                    return Err(format!("more than one version given (`{level}`)\n{USAGE}"));
                }
                bump = Some(Bump::parse(level)?);
            }
        }
    }
    if (skip_tests || no_verify) && !dry_run {
        return Err(
            "`--skip-tests` and `--no-verify` are only allowed together with `--dry-run`".into(),
        );
    }
    let bump =
        bump.ok_or_else(|| format!("which version? patch, minor, major or X.Y.Z\n{USAGE}"))?;
    Ok(Options {
        bump,
        dry_run,
        skip_tests,
        no_verify,
    })
}

// ---------------------------------------------------------------------------------------
// Versions

/// A semantic version `MAJOR.MINOR.PATCH[-PRE]` (build metadata is not used here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Option<String>,
}

impl Version {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a version of the form X.Y.Z or X.Y.Z-pre");
        let (core, pre) = match text.split_once('-') {
            Some((core, pre)) => {
                let ok = !pre.is_empty()
                    && pre.split('.').all(|id| {
                        !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    });
                if !ok {
                    return Err(bad());
                }
                (core, Some(pre.to_owned()))
            }
            None => (text, None),
        };
        let mut parts = core.split('.');
        let mut number = || -> Result<u64, String> {
            let part = parts.next().ok_or_else(bad)?;
            if part.is_empty() || (part.len() > 1 && part.starts_with('0')) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let (major, minor, patch) = (number()?, number()?, number()?);
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Self {
            major,
            minor,
            patch,
            pre,
        })
    }

    /// Semantic-versioning precedence.
    fn precedes(&self, other: &Self) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch)) {
            Less => return true,
            Greater => return false,
            Equal => {}
        }
        match (&self.pre, &other.pre) {
            (Some(a), Some(b)) => pre_release_cmp(a, b) == Less,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// Compares pre-release identifiers as SemVer 2.0.0 §11 says.
fn pre_release_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => std::cmp::Ordering::Less,
                    (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if order.is_ne() {
                    return order;
                }
            }
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(pre) = &self.pre {
            write!(f, "-{pre}")?;
        }
        Ok(())
    }
}

/// What `cargo xtask release` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bump {
    Patch,
    Minor,
    Major,
    Exact(Version),
}

impl Bump {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        Ok(match text {
            "patch" => Self::Patch,
            "minor" => Self::Minor,
            "major" => Self::Major,
            other => Self::Exact(Version::parse(other.strip_prefix('v').unwrap_or(other))?),
        })
    }

    /// The next version. A pre-release is finished by the level it is a pre-release of
    /// (`1.2.0-rc.1` + minor = `1.2.0`), as npm's and cargo-release's `semver` do.
    pub(crate) fn apply(&self, current: &Version) -> Result<Version, String> {
        let c = current;
        let finishing = c.pre.is_some();
        let next = match self {
            Self::Patch if finishing => Version {
                pre: None,
                ..c.clone()
            },
            Self::Patch => Version {
                patch: c.patch + 1,
                pre: None,
                ..c.clone()
            },
            Self::Minor if finishing && c.patch == 0 => Version {
                pre: None,
                ..c.clone()
            },
            Self::Minor => Version {
                minor: c.minor + 1,
                patch: 0,
                pre: None,
                ..c.clone()
            },
            Self::Major if finishing && c.minor == 0 && c.patch == 0 => Version {
                pre: None,
                ..c.clone()
            },
            Self::Major => Version {
                major: c.major + 1,
                minor: 0,
                patch: 0,
                pre: None,
            },
            Self::Exact(v) => v.clone(),
        };
        if !current.precedes(&next) {
            return Err(format!(
                "the new version {next} must be greater than the current {current}"
            ));
        }
        Ok(next)
    }
}

// ---------------------------------------------------------------------------------------
// Cargo.toml (text edits that keep comments, order and formatting)

/// The `version` of `[workspace.package]`.
pub(crate) fn workspace_version(manifest: &str) -> Result<Version, String> {
    let mut section = "";
    for line in manifest.lines() {
        if let Some(header) = section_header(line) {
            section = header;
        } else if section == "workspace.package"
            && let Some(value) = string_value(line, "version")
        {
            return Version::parse(value);
        }
    }
    Err("no `version = \"…\"` in `[workspace.package]` of Cargo.toml".into())
}

/// Sets `[workspace.package] version` and the `version` of every `airlock*` entry of
/// `[workspace.dependencies]` that has a `path` to `new`. Returns the text and the number
/// of dependency requirements changed.
pub(crate) fn bump_manifest(manifest: &str, new: &Version) -> Result<(String, usize), String> {
    let mut out = String::with_capacity(manifest.len() + 64);
    let mut section = String::new();
    let mut package_version_set = false;
    let mut requirements = 0;
    for line in manifest.split_inclusive('\n') {
        if let Some(header) = section_header(line) {
            section = header.to_owned();
            out.push_str(line);
            continue;
        }
        if section == "workspace.package" && string_value(line, "version").is_some() {
            out.push_str(&replace_string_value(line, "version", &new.to_string()));
            package_version_set = true;
        } else if section == "workspace.dependencies"
            && line.trim_start().starts_with("airlock")
            && line.contains("path")
            && line.contains("version")
        {
            let edited = replace_inline_version(line, &new.to_string()).ok_or_else(|| {
                format!("cannot read the version requirement in `{}`", line.trim())
            })?;
            out.push_str(&edited);
            requirements += 1;
        } else {
            out.push_str(line);
        }
    }
    if !package_version_set {
        return Err("no `version = \"…\"` in `[workspace.package]` of Cargo.toml".into());
    }
    Ok((out, requirements))
}

/// `[name]` → `name` (also `[[name]]`).
fn section_header(line: &str) -> Option<&str> {
    let t = line.trim();
    let inner = t.strip_prefix('[')?;
    let inner = inner.split(']').next()?;
    Some(inner.trim_start_matches('[').trim())
}

/// The string value of `key = "value"` on this line, if that is what the line is.
fn string_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line
        .trim()
        .strip_prefix(key)?
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start().strip_prefix('"')?;
    rest.split('"').next()
}

fn replace_string_value(line: &str, key: &str, value: &str) -> String {
    let old = string_value(line, key).unwrap_or_default();
    let start = line.find(key).unwrap_or(0);
    let quote = start + line[start..].find('"').unwrap_or(0);
    format!(
        "{}\"{value}\"{}",
        &line[..quote],
        &line[quote + old.len() + 2..]
    )
}

/// Replaces the value of `version = "…"` inside an inline table.
fn replace_inline_version(line: &str, value: &str) -> Option<String> {
    let mut from = 0;
    while let Some(found) = line[from..].find("version") {
        let at = from + found;
        let before_ok = at == 0 || matches!(line.as_bytes()[at - 1], b' ' | b'{' | b',' | b'\t');
        let after = line[at + "version".len()..].trim_start();
        if before_ok && after.starts_with('=') {
            let after_eq = after[1..].trim_start();
            if let Some(body) = after_eq.strip_prefix('"') {
                let end = body.find('"')?;
                let value_start = line.len() - body.len();
                return Some(format!(
                    "{}{value}{}",
                    &line[..value_start],
                    &line[value_start + end..]
                ));
            }
        }
        from = at + "version".len();
    }
    None
}

// ---------------------------------------------------------------------------------------
// CHANGELOG.md (Keep a Changelog)

/// Moves the content of `## [Unreleased]` under `## [version] - date`, leaves an empty
/// Unreleased section, and updates the compare links at the bottom if there are any.
/// Returns the new text and the released section's content.
pub(crate) fn release_changelog(
    text: &str,
    version: &Version,
    date: &str,
) -> Result<(String, String), String> {
    let lines: Vec<&str> = text.lines().collect();
    let heading = |l: &str| l.trim_start().starts_with("## ");
    let is_link = |l: &str| l.starts_with('[') && l.contains("]: ");
    let start = lines
        .iter()
        .position(|l| heading(l) && l.to_ascii_lowercase().contains("[unreleased]"))
        .ok_or("CHANGELOG.md has no `## [Unreleased]` section")?;
    if lines
        .iter()
        .any(|l| heading(l) && l.contains(&format!("[{version}]")))
    {
        return Err(format!("CHANGELOG.md already has a section for {version}"));
    }
    let mut end = lines[start + 1..]
        .iter()
        .position(|l| heading(l))
        .map_or(lines.len(), |i| start + 1 + i);
    // The link reference definitions at the very end are not part of the section.
    if end == lines.len() {
        while end > start + 1 && (is_link(lines[end - 1]) || lines[end - 1].trim().is_empty()) {
            end -= 1;
        }
    }
    let notes = lines[start + 1..end].join("\n").trim().to_owned();
    if notes.is_empty() {
        return Err("CHANGELOG.md has nothing under `## [Unreleased]`: nothing to release".into());
    }

    let mut out: Vec<String> = lines[..=start].iter().map(|l| (*l).to_owned()).collect();
    out.push(String::new());
    out.push(format!("## [{version}] - {date}"));
    out.push(String::new());
    out.push(notes.clone());
    let mut rest_start = end;
    while rest_start < lines.len() && lines[rest_start].trim().is_empty() {
        rest_start += 1;
    }
    if rest_start < lines.len() {
        out.push(String::new());
    }
    for line in &lines[rest_start..] {
        match compare_link(line) {
            Some((base, previous)) => {
                out.push(format!("[Unreleased]: {base}/compare/v{version}...HEAD"));
                out.push(format!(
                    "[{version}]: {base}/compare/{previous}...v{version}"
                ));
            }
            None => out.push((*line).to_owned()),
        }
    }
    let mut text_out = out.join("\n");
    text_out.push('\n');
    Ok((text_out, notes))
}

/// `[Unreleased]: BASE/compare/PREVIOUS...HEAD` → `(BASE, PREVIOUS)`.
fn compare_link(line: &str) -> Option<(&str, &str)> {
    let (label, url) = line.split_once("]: ")?;
    if !label.eq_ignore_ascii_case("[unreleased") {
        return None;
    }
    let (base, range) = url.trim().split_once("/compare/")?;
    let previous = range.strip_suffix("...HEAD")?;
    Some((base, previous))
}

// ---------------------------------------------------------------------------------------
// Publish order

/// One workspace member, as far as publishing is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) publish: bool,
    /// Every dependency key of any kind (normal, build, dev, target-specific).
    pub(crate) deps: Vec<String>,
}

/// Reads a member's `Cargo.toml`.
pub(crate) fn read_member(manifest: &str) -> Member {
    let mut member = Member {
        name: String::new(),
        publish: true,
        deps: Vec::new(),
    };
    let mut section = String::new();
    for line in manifest.lines() {
        if let Some(header) = section_header(line) {
            section = header.to_owned();
            // `[dependencies.name]` tables.
            if let Some((kind, name)) = section.rsplit_once('.')
                && kind.ends_with("dependencies")
            {
                member.deps.push(name.trim_matches('"').to_owned());
            }
            continue;
        }
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if section == "package" {
            if let Some(name) = string_value(line, "name") {
                member.name = name.to_owned();
            }
            if line.replace(' ', "") == "publish=false" {
                member.publish = false;
            }
        } else if section.ends_with("dependencies") {
            let key = line.split(['=', '.']).next().unwrap_or_default().trim();
            if !key.is_empty() {
                member.deps.push(key.trim_matches('"').to_owned());
            }
        }
    }
    member
}

/// The publishable members in an order where every crate comes after the workspace crates
/// it depends on (dev-dependencies included: crates.io wants them to exist too). Ties keep
/// the members' order. A cycle is an error.
pub(crate) fn publish_order(members: &[Member]) -> Result<Vec<String>, String> {
    let publishable: Vec<&Member> = members.iter().filter(|m| m.publish).collect();
    let internal = |m: &Member| -> Vec<String> {
        m.deps
            .iter()
            .filter(|d| **d != m.name && publishable.iter().any(|p| &p.name == *d))
            .cloned()
            .collect()
    };
    let mut order: Vec<String> = Vec::new();
    let mut left: Vec<&Member> = publishable.clone();
    while !left.is_empty() {
        let ready = left
            .iter()
            .position(|m| internal(m).iter().all(|d| order.contains(d)))
            .ok_or_else(|| {
                let names: Vec<&str> = left.iter().map(|m| m.name.as_str()).collect();
                format!("dependency cycle among {}", names.join(", "))
            })?;
        order.push(left.remove(ready).name.clone());
    }
    Ok(order)
}

/// The `members = [...]` of the root manifest.
fn workspace_members(manifest: &str) -> Vec<String> {
    let Some(start) = manifest.find("members") else {
        return Vec::new();
    };
    let rest = &manifest[start..];
    let (Some(open), Some(close)) = (rest.find('['), rest.find(']')) else {
        return Vec::new();
    };
    rest[open + 1..close]
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .flat_map(|l| l.split(','))
        .map(|s| s.trim().trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The members, refusing one that pins an airlock crate's version itself (the bump edits
/// only the root manifest).
fn members_of(root: &Path, manifest: &str) -> Result<Vec<Member>, String> {
    let mut members = Vec::new();
    for dir in workspace_members(manifest) {
        let text = read(&root.join(&dir).join("Cargo.toml"))?;
        let pins = text.lines().any(|l| {
            l.trim_start().starts_with("airlock") && l.contains("path") && l.contains("version")
        });
        if pins {
            return Err(format!(
                "{dir}/Cargo.toml pins an airlock crate's version itself; use `name.workspace = true`"
            ));
        }
        members.push(read_member(&text));
    }
    Ok(members)
}

// ---------------------------------------------------------------------------------------
// The release itself

/// What to check before committing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checks {
    pub(crate) run_tests: bool,
    pub(crate) package: PackageCheck,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PackageCheck {
    /// `cargo publish --workspace --dry-run`: package and build every publishable crate in
    /// dependency order against a local overlay of the others. Reads the crates.io index.
    PublishDryRun,
    /// `cargo package --workspace --no-verify --offline` for the publishable crates: the
    /// archives only (`--dry-run --no-verify`, and the test of this module, which must not
    /// need the network).
    PackageOffline,
}

/// What a release made.
#[derive(Debug)]
pub(crate) struct Released {
    pub(crate) version: Version,
    pub(crate) notes: String,
    pub(crate) publish_order: Vec<String>,
}

/// Releases the clean git work tree at `root` in place: bump, changelog, lockfile, checks,
/// commit and tag. Files are restored if a check fails before the commit.
pub(crate) fn release_in(
    root: &Path,
    bump: &Bump,
    date: &str,
    checks: &Checks,
    env: &[(&str, OsString)],
) -> Result<Released, String> {
    let manifest_path = root.join("Cargo.toml");
    let changelog_path = root.join("CHANGELOG.md");
    let lock_path = root.join("Cargo.lock");
    let manifest = read(&manifest_path)?;
    let changelog = read(&changelog_path)?;
    let lock = read(&lock_path)?;

    let current = workspace_version(&manifest)?;
    let version = bump.apply(&current)?;
    let tag = format!("v{version}");
    if git(root, &["tag", "--list", &tag])?.trim() == tag {
        return Err(format!("the tag {tag} exists already"));
    }
    let (new_manifest, requirements) = bump_manifest(&manifest, &version)?;
    let (new_changelog, notes) = release_changelog(&changelog, &version, date)?;
    let members = members_of(root, &manifest)?;
    let order = publish_order(&members)?;

    if checks.run_tests {
        step("cargo xtask test");
        run_cmd(cargo_at(root, env).args(["xtask", "test"]))
            .map_err(|e| format!("the test suite is red, no release: {e}"))?;
    }

    step(&format!(
        "{current} → {version}: Cargo.toml ({requirements} inter-crate requirements), CHANGELOG.md, Cargo.lock"
    ));
    let restore = || {
        let _ = std::fs::write(&manifest_path, &manifest);
        let _ = std::fs::write(&changelog_path, &changelog);
        let _ = std::fs::write(&lock_path, &lock);
    };
    let checked = (|| {
        write(&manifest_path, &new_manifest)?;
        write(&changelog_path, &new_changelog)?;
        run_cmd(cargo_at(root, env).args(["update", "--workspace", "--offline"]))?;
        package(root, env, checks.package, &members)
    })();
    if let Err(e) = checked {
        restore();
        return Err(format!("{e}\n(the release edits were undone)"));
    }

    step(&format!("commit `Release {version}` and tag {tag}"));
    git(root, &["add", "Cargo.toml", "Cargo.lock", "CHANGELOG.md"])?;
    git(
        root,
        &["commit", "--quiet", "-m", &format!("Release {version}")],
    )?;
    let message = format!("airlock-rs {version}\n\n{notes}\n");
    git(
        root,
        &[
            "tag",
            "--annotate",
            &tag,
            "--cleanup=verbatim",
            "-m",
            &message,
        ],
    )?;
    Ok(Released {
        version,
        notes,
        publish_order: order,
    })
}

fn package(
    root: &Path,
    env: &[(&str, OsString)],
    check: PackageCheck,
    members: &[Member],
) -> Result<(), String> {
    let mut cmd = cargo_at(root, env);
    match check {
        PackageCheck::PublishDryRun => {
            step(
                "cargo publish --workspace --dry-run (package + build of each crate in dependency order)",
            );
            cmd.args([
                "publish",
                "--workspace",
                "--dry-run",
                "--allow-dirty",
                "--locked",
            ]);
        }
        PackageCheck::PackageOffline => {
            step("cargo package --workspace --no-verify --offline");
            cmd.args([
                "package",
                "--workspace",
                "--no-verify",
                "--offline",
                "--allow-dirty",
                "--locked",
            ]);
            for m in members.iter().filter(|m| !m.publish) {
                cmd.args(["--exclude", &m.name]);
            }
        }
    }
    run_cmd(&mut cmd)
}

fn print_next_steps(done: &Released) {
    let v = &done.version;
    println!("To publish (needs a crates.io token: `cargo login` or CARGO_REGISTRY_TOKEN):");
    println!("  git push origin HEAD v{v}");
    println!("  cargo publish --workspace        # cargo >= 1.90: all crates, in dependency order");
    println!("or one crate at a time, in this order:");
    for name in &done.publish_order {
        println!("  cargo publish -p {name}");
    }
}

// ---------------------------------------------------------------------------------------
// Processes, files, dates

fn step(what: &str) {
    eprintln!("==> {what}");
}

fn cargo_at(root: &Path, env: &[(&str, OsString)]) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd
}

fn run_cmd(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed ({status})"))
    }
}

pub(crate) fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .map_err(|e| format!("could not run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn git_is_dirty(root: &Path) -> Result<bool, String> {
    Ok(!git(root, &["status", "--porcelain"])?.trim().is_empty())
}

/// Clones `HEAD` of `root` into `dest` and gives the clone a committer identity when git
/// has none configured (a CI machine), so the release commit and tag can be made there.
pub(crate) fn clone_for_dry_run(root: &Path, dest: &Path) -> Result<(), String> {
    let out = Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(root)
        .arg(dest)
        .output()
        .map_err(|e| format!("could not run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git clone failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    if git(dest, &["config", "user.email"]).is_err() {
        git(dest, &["config", "user.email", "release-dry-run@localhost"])?;
        git(dest, &["config", "user.name", "airlock-rs release dry run"])?;
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn days_since_epoch() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs / 86_400).unwrap_or(0)
}

/// `YYYY-MM-DD` (UTC) of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
pub(crate) fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A directory under the system temp dir, removed on drop.
#[derive(Debug)]
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(prefix: &str) -> Result<Self, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Self(path))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn versions_parse_and_print() {
        assert_eq!(v("1.2.3").to_string(), "1.2.3");
        assert_eq!(v("0.10.0-rc.1").to_string(), "0.10.0-rc.1");
        for bad in [
            "1.2",
            "1.2.3.4",
            "01.2.3",
            "1.2.x",
            "1.2.3-",
            "1.2.3-a..b",
            "",
            "a.b.c",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bump_levels() {
        let cases = [
            ("0.1.0", "patch", "0.1.1"),
            ("0.1.0", "minor", "0.2.0"),
            ("0.1.0", "major", "1.0.0"),
            ("1.9.9", "minor", "1.10.0"),
            ("1.2.3", "2.0.0", "2.0.0"),
            ("1.2.3", "v1.2.4", "1.2.4"),
            ("1.0.0-rc.1", "patch", "1.0.0"),
            ("1.0.0-rc.1", "minor", "1.0.0"),
            ("1.0.0-rc.1", "major", "1.0.0"),
            ("1.2.1-rc.1", "minor", "1.3.0"),
            ("1.0.0-rc.1", "1.0.0-rc.2", "1.0.0-rc.2"),
            ("1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.1"),
            ("1.0.0-rc.2", "1.0.0-rc.10", "1.0.0-rc.10"),
        ];
        for (from, level, to) in cases {
            assert_eq!(
                Bump::parse(level).unwrap().apply(&v(from)).unwrap(),
                v(to),
                "{from} {level}"
            );
        }
        for (from, to) in [
            ("1.2.3", "1.2.3"),
            ("1.2.3", "1.2.2"),
            ("1.0.0", "1.0.0-rc.1"),
            ("1.0.0-rc.10", "1.0.0-rc.9"),
        ] {
            assert!(
                Bump::parse(to).unwrap().apply(&v(from)).is_err(),
                "{from} → {to}"
            );
        }
    }

    #[test]
    fn arguments() {
        let args = |a: &[&str]| parse_args(&a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(
            args(&["minor", "--dry-run", "--skip-tests"]).unwrap(),
            Options {
                bump: Bump::Minor,
                dry_run: true,
                skip_tests: true,
                no_verify: false,
            }
        );
        assert!(args(&["minor", "--no-verify"]).is_err());
        assert!(
            args(&["minor", "--skip-tests"])
                .unwrap_err()
                .contains("--dry-run")
        );
        assert!(args(&[]).is_err());
        assert!(args(&["patch", "minor"]).is_err());
        assert!(args(&["patch", "--force"]).is_err());
        assert!(args(&["1.2"]).is_err());
    }

    const MANIFEST: &str = r#"[workspace]
members = [
    "crates/a", # the first
    "crates/airlock-b",
]

[workspace.package]
version = "0.1.0"   # shared by every crate
edition = "2024"

[workspace.dependencies]
# Our crates.
airlock-types = { path = "crates/airlock-types", version = "0.1.0" }
airlock = {version="0.1.0",path="crates/airlock"}
serde = { version = "1", features = ["derive"] }
airlockish = "0.1.0"

[profile.release]
version = "not-this-one"
"#;

    #[test]
    fn manifest_bump_keeps_everything_else() {
        assert_eq!(workspace_version(MANIFEST).unwrap(), v("0.1.0"));
        let (out, n) = bump_manifest(MANIFEST, &v("0.2.0")).unwrap();
        assert_eq!(n, 2);
        let expected = MANIFEST
            .replace("version = \"0.1.0\"   #", "version = \"0.2.0\"   #")
            .replace(
                r#"airlock-types = { path = "crates/airlock-types", version = "0.1.0" }"#,
                r#"airlock-types = { path = "crates/airlock-types", version = "0.2.0" }"#,
            )
            .replace(
                r#"airlock = {version="0.1.0",path"#,
                r#"airlock = {version="0.2.0",path"#,
            );
        assert_eq!(out, expected);
        assert_eq!(workspace_version(&out).unwrap(), v("0.2.0"));
        assert!(bump_manifest("[package]\nversion = \"1.0.0\"\n", &v("1.0.1")).is_err());
        // CRLF line endings survive.
        let crlf = MANIFEST.replace('\n', "\r\n");
        let (out, _) = bump_manifest(&crlf, &v("0.2.0")).unwrap();
        assert_eq!(out, expected.replace('\n', "\r\n"));
    }

    const CHANGELOG: &str = "# Changelog

Intro.

## [Unreleased]

### Added

- A thing.

## [0.1.0] - 2026-01-01

### Added

- The start.

[Unreleased]: https://github.com/o/r/compare/v0.1.0...HEAD
[0.1.0]: https://github.com/o/r/releases/tag/v0.1.0
";

    #[test]
    fn changelog_moves_unreleased_and_links() {
        let (out, notes) = release_changelog(CHANGELOG, &v("0.2.0"), "2026-11-23").unwrap();
        assert_eq!(notes, "### Added\n\n- A thing.");
        let expected = "# Changelog

Intro.

## [Unreleased]

## [0.2.0] - 2026-11-23

### Added

- A thing.

## [0.1.0] - 2026-01-01

### Added

- The start.

[Unreleased]: https://github.com/o/r/compare/v0.2.0...HEAD
[0.2.0]: https://github.com/o/r/compare/v0.1.0...v0.2.0
[0.1.0]: https://github.com/o/r/releases/tag/v0.1.0
";
        assert_eq!(out, expected);
        // Releasing again: nothing left to release.
        assert!(
            release_changelog(&out, &v("0.3.0"), "2026-11-24")
                .unwrap_err()
                .contains("nothing")
        );
        assert!(
            release_changelog(CHANGELOG, &v("0.1.0"), "2026-11-23")
                .unwrap_err()
                .contains("already")
        );
        assert!(release_changelog("# Changelog\n", &v("0.1.0"), "x").is_err());
    }

    #[test]
    fn changelog_first_release_without_links() {
        let text = "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- Everything.\n";
        let (out, _) = release_changelog(text, &v("0.1.0"), "2026-11-23").unwrap();
        assert_eq!(
            out,
            "# Changelog\n\n## [Unreleased]\n\n## [0.1.0] - 2026-11-23\n\n### Added\n\n- Everything.\n"
        );
    }

    #[test]
    fn members_and_publish_order() {
        let gateway = read_member(
            "[package]\nname = \"gw\"\nversion.workspace = true\n\n[dependencies]\ncrypto.workspace = true\n\
             serde = \"1\"\n\n[dev-dependencies]\nsandbox = { workspace = true }\n\n[target.'cfg(unix)'.dependencies.types]\nworkspace = true\n",
        );
        assert_eq!(gateway.name, "gw");
        assert!(gateway.publish);
        assert_eq!(gateway.deps, ["crypto", "serde", "sandbox", "types"]);
        let tool = read_member(
            "[package]\nname = \"tool\"\npublish = false\n[dependencies]\ngw.workspace = true\n",
        );
        assert!(!tool.publish);

        let m = |name: &str, deps: &[&str]| Member {
            name: name.into(),
            publish: true,
            deps: deps.iter().map(|d| (*d).to_owned()).collect(),
        };
        let members = vec![
            m("cli", &["facade", "sandbox", "clap"]),
            m("facade", &["gw", "types"]),
            gateway.clone(),
            m("sandbox", &["crypto"]),
            m("crypto", &["types"]),
            m("types", &["serde"]),
            tool,
        ];
        assert_eq!(
            publish_order(&members).unwrap(),
            ["types", "crypto", "sandbox", "gw", "facade", "cli"]
        );
        let cycle = vec![m("a", &["b"]), m("b", &["a"])];
        assert!(publish_order(&cycle).unwrap_err().contains("cycle"));
        assert_eq!(
            workspace_members(MANIFEST),
            ["crates/a", "crates/airlock-b"]
        );
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(59), "1970-03-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(civil_date(20_415), "2025-11-23");
        assert_eq!(civil_date(-1), "1969-12-31");
    }

    /// The whole release, in a temporary clone of this repository's `HEAD`: what
    /// `cargo xtask release minor --dry-run --skip-tests` does, checked file by file.
    #[test]
    fn dry_run_release_in_a_clone() {
        let root = workspace_root();
        if git(&root, &["rev-parse", "HEAD"]).is_err() {
            panic!("the release test needs the workspace to be a git repository with a commit");
        }
        let tmp = TempDir::new("airlock-release-test").unwrap();
        let clone = tmp.path().join("repo");
        clone_for_dry_run(&root, &clone).unwrap();
        // Make sure there is something to release, whatever HEAD's changelog holds.
        let changelog = read(&clone.join("CHANGELOG.md")).unwrap();
        let changelog = changelog.replacen(
            "## [Unreleased]\n",
            "## [Unreleased]\n\n### Fixed\n\n- Entry written by the release test.\n",
            1,
        );
        write(&clone.join("CHANGELOG.md"), &changelog).unwrap();
        git(
            &clone,
            &["commit", "--quiet", "-am", "test: changelog entry"],
        )
        .unwrap();

        let before = workspace_version(&read(&clone.join("Cargo.toml")).unwrap()).unwrap();
        let checks = Checks {
            run_tests: false,
            package: PackageCheck::PackageOffline,
        };
        let target: OsString = tmp.path().join("target").into();
        let done = release_in(
            &clone,
            &Bump::Minor,
            "2030-01-02",
            &checks,
            &[
                ("CARGO_TARGET_DIR", target),
                ("CARGO_TERM_QUIET", "true".into()),
            ],
        )
        .unwrap();
        let new = Bump::Minor.apply(&before).unwrap();
        assert_eq!(done.version, new);

        let manifest = read(&clone.join("Cargo.toml")).unwrap();
        assert_eq!(workspace_version(&manifest).unwrap(), new);
        let pins: Vec<&str> = manifest
            .lines()
            .filter(|l| l.starts_with("airlock") && l.contains("path"))
            .collect();
        assert!(!pins.is_empty());
        for line in pins {
            assert!(line.contains(&format!("version = \"{new}\"")), "{line}");
        }
        let lock = read(&clone.join("Cargo.lock")).unwrap();
        assert!(lock.contains(&format!("name = \"airlock-types\"\nversion = \"{new}\"")));
        assert!(!lock.contains(&format!("name = \"airlock-types\"\nversion = \"{before}\"")));

        let changelog = read(&clone.join("CHANGELOG.md")).unwrap();
        assert!(changelog.contains(&format!("## [Unreleased]\n\n## [{new}] - 2030-01-02\n\n### Fixed\n\n- Entry written by the release test.")));
        assert!(done.notes.contains("Entry written by the release test."));

        assert_eq!(
            git(&clone, &["log", "-1", "--format=%s"]).unwrap().trim(),
            format!("Release {new}")
        );
        assert_eq!(
            git(&clone, &["cat-file", "-t", &format!("v{new}")])
                .unwrap()
                .trim(),
            "tag"
        );
        assert!(
            git(&clone, &["status", "--porcelain"])
                .unwrap()
                .trim()
                .is_empty()
        );
        let tag_message = git(
            &clone,
            &["tag", "-l", "--format=%(contents)", &format!("v{new}")],
        )
        .unwrap();
        assert!(tag_message.contains("Entry written by the release test."));

        assert_eq!(
            done.publish_order.first().map(String::as_str),
            Some("airlock-types")
        );
        assert!(
            !done
                .publish_order
                .iter()
                .any(|n| n == "xtask" || n == "airlock-bench")
        );
        let pos = |n: &str| done.publish_order.iter().position(|x| x == n).unwrap();
        assert!(pos("airlock-crypto") < pos("airlock-gateway"));
        assert!(pos("airlock-gateway") < pos("airlock"));

        // A second release of the same version is refused: the tag exists.
        assert!(release_in(&clone, &Bump::Exact(new), "2030-01-02", &checks, &[]).is_err());
    }
}
