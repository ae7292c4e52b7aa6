//! `loadtest/gate-stages/run.sh` builds seckill-web from HEAD with `gate-stages.patch`
//! applied; the patch is kept outside the product, so nothing else notices when a change to
//! the gate stops it from applying. This test does, with `git apply --check` against the
//! working tree (which CI's clean clone is).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

#[test]
fn the_gate_stages_patch_applies_to_the_gate_as_it_is() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let patch = repo.join("loadtest/gate-stages/gate-stages.patch");
    assert!(patch.is_file(), "{} is missing", patch.display());
    let output = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["apply", "--check"])
        .arg(&patch)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "gate-stages.patch no longer applies; regenerate it from the changed files \
         (see loadtest/README.md, Gate stages): {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
