//! Finding the stack's binaries: next to the running executable (`target/<profile>/`, also
//! from a test binary in `target/<profile>/deps/`), or in `SECKILL_BIN_DIR`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::error::{Error, Result};

/// The binaries a stack runs, by package; `mqadmin` comes along for the health checks of
/// `docker-compose.yml` and for users.
const BINARIES: [&str; 5] = [
    "mq-namesrv",
    "mq-broker",
    "mqadmin",
    "seckill-service",
    "seckill-web",
];

/// The directory holding the workspace's binaries: `SECKILL_BIN_DIR` if set, else the
/// directory of the running executable (its parent when that is a test's `deps/`).
pub fn target_profile_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("SECKILL_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe()?;
    let mut dir = exe
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| Error::Config(format!("{} has no directory", exe.display())))?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    Ok(dir)
}

/// Builds the stack's binaries into `profile_dir` (`target/debug` or `target/release`) with
/// cargo, so a test never runs binaries older than the sources. A no-op when they are fresh.
pub async fn build_stack_binaries(profile_dir: &Path) -> Result<()> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or_else(|| Error::Config("the loadtest crate has no workspace".into()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = tokio::process::Command::new(cargo);
    cmd.current_dir(workspace).args([
        "build",
        "-q",
        "-p",
        "mq-core",
        "-p",
        "seckill-service",
        "-p",
        "seckill-web",
        "--features",
        "mq-core/broker",
    ]);
    for bin in BINARIES {
        cmd.args(["--bin", bin]);
    }
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    if let Some(target) = profile_dir.parent() {
        cmd.arg("--target-dir").arg(target);
    }
    let output = cmd.stdin(Stdio::null()).output().await?;
    if !output.status.success() {
        return Err(Error::Process {
            component: "cargo build",
            reason: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    for bin in BINARIES {
        let path = profile_dir.join(bin);
        if !path.is_file() {
            return Err(Error::Config(format!(
                "cargo build succeeded but {} is missing",
                path.display()
            )));
        }
    }
    Ok(())
}
