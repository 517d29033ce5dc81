//! `cargo xtask release [patch|minor|major|X.Y.Z] [--dry-run [--skip-tests] [--no-verify]]`.
//!
//! A release, in order:
//!
//! 1. refuses a dirty working tree and an existing tag `vX.Y.Z`;
//! 2. runs `cargo xtask test` and refuses when it fails;
//! 3. bumps `[workspace.package] version` and every `airlock*` version requirement in
//!    `[workspace.dependencies]` of the root `Cargo.toml` together (with `toml_edit`, which
//!    keeps the file's comments and formatting), then `cargo update --workspace --offline`
//!    for `Cargo.lock`;
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
use std::path::Path;
use std::process::Command;

use semver::Version;
use toml_edit::{DocumentMut, Item, Table};

use crate::util::workspace_root;

const USAGE: &str =
    "usage: cargo xtask release [patch|minor|major|X.Y.Z] [--dry-run [--skip-tests] [--no-verify]]";

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let opts = parse_args(args)?;
    let root = workspace_root();
    let today = time::OffsetDateTime::now_utc().date().to_string();
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
    let clone = temp_dir("airlock-release-dry-run")?;
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

/// A semantic version `MAJOR.MINOR.PATCH[-PRE]` (build metadata is refused: it plays no
/// part in the order of releases).
pub(crate) fn parse_version(text: &str) -> Result<Version, String> {
    let bad = || format!("`{text}` is not a version of the form X.Y.Z or X.Y.Z-pre");
    let version = Version::parse(text).map_err(|_| bad())?;
    if !version.build.is_empty() {
        return Err(bad());
    }
    Ok(version)
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
            other => Self::Exact(parse_version(other.strip_prefix('v').unwrap_or(other))?),
        })
    }

    /// The next version. A pre-release is finished by the level it is a pre-release of
    /// (`1.2.0-rc.1` + minor = `1.2.0`), as npm's and cargo-release's `semver` do.
    pub(crate) fn apply(&self, current: &Version) -> Result<Version, String> {
        let c = current;
        let finishing = !c.pre.is_empty();
        let next = match self {
            Self::Patch if finishing => Version::new(c.major, c.minor, c.patch),
            Self::Patch => Version::new(c.major, c.minor, c.patch + 1),
            Self::Minor if finishing && c.patch == 0 => Version::new(c.major, c.minor, 0),
            Self::Minor => Version::new(c.major, c.minor + 1, 0),
            Self::Major if finishing && c.minor == 0 && c.patch == 0 => Version::new(c.major, 0, 0),
            Self::Major => Version::new(c.major + 1, 0, 0),
            Self::Exact(v) => v.clone(),
        };
        if next <= *current {
            return Err(format!(
                "the new version {next} must be greater than the current {current}"
            ));
        }
        Ok(next)
    }
}

// ---------------------------------------------------------------------------------------
// Cargo.toml (edited with toml_edit: comments, order and formatting are kept)

fn parse_manifest(text: &str) -> Result<DocumentMut, String> {
    text.parse()
        .map_err(|e| format!("Cargo.toml is not valid TOML: {e}"))
}

const NO_VERSION: &str = "no `version = \"…\"` in `[workspace.package]` of Cargo.toml";

/// The `version` of `[workspace.package]`.
pub(crate) fn workspace_version(manifest: &str) -> Result<Version, String> {
    let doc = parse_manifest(manifest)?;
    let version = doc
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(Item::as_str)
        .ok_or(NO_VERSION)?;
    parse_version(version)
}

/// Sets `[workspace.package] version` and the `version` of every `airlock*` entry of
/// `[workspace.dependencies]` that has a `path` to `new`. Returns the text and the number
/// of dependency requirements changed.
pub(crate) fn bump_manifest(manifest: &str, new: &Version) -> Result<(String, usize), String> {
    let mut doc = parse_manifest(manifest)?;
    let new = new.to_string();
    let workspace = doc
        .get_mut("workspace")
        .and_then(Item::as_table_like_mut)
        .ok_or(NO_VERSION)?;
    let version = workspace
        .get_mut("package")
        .and_then(|p| p.get_mut("version"))
        .and_then(Item::as_value_mut)
        .filter(|v| v.is_str())
        .ok_or(NO_VERSION)?;
    set_string(version, &new);
    let mut requirements = 0;
    if let Some(deps) = workspace
        .get_mut("dependencies")
        .and_then(Item::as_table_like_mut)
    {
        for (name, dep) in deps.iter_mut() {
            let Some(dep) = dep.as_table_like_mut() else {
                continue;
            };
            if !name.starts_with("airlock") || !dep.contains_key("path") {
                continue;
            }
            if let Some(version) = dep.get_mut("version").and_then(Item::as_value_mut) {
                set_string(version, &new);
                requirements += 1;
            }
        }
    }
    let mut out = doc.to_string();
    // toml_edit writes `\n`; a manifest with CRLF line endings keeps them.
    if manifest.contains("\r\n") {
        out = out.replace("\r\n", "\n").replace('\n', "\r\n");
    }
    Ok((out, requirements))
}

/// Replaces a value by the string `text`, keeping the whitespace and comments around it.
fn set_string(value: &mut toml_edit::Value, text: &str) {
    let decor = value.decor().clone();
    *value = text.into();
    *value.decor_mut() = decor;
}

/// Every dependency table of a manifest: `[dependencies]`, `[dev-dependencies]`,
/// `[build-dependencies]`, and the same under every `[target.'…']`.
fn dependency_tables(doc: &DocumentMut) -> Vec<&Table> {
    fn kinds_of(table: &Table) -> impl Iterator<Item = &Table> {
        ["dependencies", "dev-dependencies", "build-dependencies"]
            .into_iter()
            .filter_map(|kind| table.get(kind).and_then(Item::as_table))
    }
    let targets = doc.get("target").and_then(Item::as_table);
    kinds_of(doc.as_table())
        .chain(
            targets
                .into_iter()
                .flat_map(Table::iter)
                .filter_map(|(_, target)| target.as_table())
                .flat_map(kinds_of),
        )
        .collect()
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
pub(crate) fn read_member(manifest: &str) -> Result<Member, String> {
    let doc = parse_manifest(manifest)?;
    let package = doc.get("package");
    let name = package
        .and_then(|p| p.get("name"))
        .and_then(Item::as_str)
        .unwrap_or_default()
        .to_owned();
    let publish = package
        .and_then(|p| p.get("publish"))
        .and_then(Item::as_bool)
        .unwrap_or(true);
    let deps = dependency_tables(&doc)
        .into_iter()
        .flat_map(|table| table.iter().map(|(name, _)| name.to_owned()))
        .collect();
    Ok(Member {
        name,
        publish,
        deps,
    })
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
fn workspace_members(manifest: &str) -> Result<Vec<String>, String> {
    let doc = parse_manifest(manifest)?;
    let members = doc
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(Item::as_array);
    Ok(members
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(str::to_owned))
        .collect())
}

/// The members, refusing one that pins an airlock crate's version itself (the bump edits
/// only the root manifest).
fn members_of(root: &Path, manifest: &str) -> Result<Vec<Member>, String> {
    let mut members = Vec::new();
    for dir in workspace_members(manifest)? {
        let text = read(&root.join(&dir).join("Cargo.toml"))?;
        let doc = parse_manifest(&text).map_err(|e| format!("{dir}/{e}"))?;
        let pins = dependency_tables(&doc).into_iter().any(|table| {
            table.iter().any(|(name, dep)| {
                name.starts_with("airlock")
                    && dep
                        .as_table_like()
                        .is_some_and(|d| d.contains_key("path") && d.contains_key("version"))
            })
        });
        if pins {
            return Err(format!(
                "{dir}/Cargo.toml pins an airlock crate's version itself; use `name.workspace = true`"
            ));
        }
        members.push(read_member(&text)?);
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
// Processes and files

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

/// A new directory under the system temp dir, removed when dropped.
pub(crate) fn temp_dir(prefix: &str) -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix(&format!("{prefix}-"))
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        parse_version(s).unwrap()
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
            "1.2.3+build",
        ] {
            assert!(parse_version(bad).is_err(), "{bad}");
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
        )
        .unwrap();
        assert_eq!(gateway.name, "gw");
        assert!(gateway.publish);
        assert_eq!(gateway.deps, ["crypto", "serde", "sandbox", "types"]);
        let tool = read_member(
            "[package]\nname = \"tool\"\npublish = false\n[dependencies]\ngw.workspace = true\n",
        )
        .unwrap();
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
            workspace_members(MANIFEST).unwrap(),
            ["crates/a", "crates/airlock-b"]
        );
    }

    /// The whole release, in a temporary clone of this repository's `HEAD`: what
    /// `cargo xtask release minor --dry-run --skip-tests` does, checked file by file.
    #[test]
    fn dry_run_release_in_a_clone() {
        let root = workspace_root();
        if git(&root, &["rev-parse", "HEAD"]).is_err() {
            panic!("the release test needs the workspace to be a git repository with a commit");
        }
        let tmp = temp_dir("airlock-release-test").unwrap();
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
