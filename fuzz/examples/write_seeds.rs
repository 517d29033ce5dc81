//! Writes the signed and sealed fixtures (`airlock_fuzz::fixture_seeds`) into
//! `DIR/<target>/`, so that libFuzzer starts from inputs the verifiers accept:
//! `cargo run --no-default-features --example write_seeds -- DIR` (run by `cargo xtask fuzz`).

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(std::path::PathBuf::from)
        .ok_or_else(|| std::io::Error::other("usage: write_seeds DIR"))?;
    for (target, name, bytes) in airlock_fuzz::fixture_seeds() {
        let target_dir = dir.join(target);
        std::fs::create_dir_all(&target_dir)?;
        std::fs::write(target_dir.join(format!("fixture-{name}")), bytes)?;
    }
    Ok(())
}
