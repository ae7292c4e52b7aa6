//! `mq-compare` as a user runs it: the real binary, here on mq-core alone with short
//! scenarios, its brokers served by the child processes it starts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

#[test]
fn mq_compare_measures_mq_core_from_its_own_broker_processes() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mq-compare"))
        .args([
            "--systems",
            "mq-async,mq-sync",
            "--sizes",
            "100",
            "--in-flight",
            "1,8",
            "--duration",
            "0.5",
            "--backlog",
            "500",
            "--e2e-rate",
            "200",
            "--no-files",
            "--json",
        ])
        .output()
        .expect("run mq-compare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "mq-compare failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    for system in ["ASYNC_FLUSH", "SYNC_FLUSH"] {
        let produced = lines.iter().find(|l| {
            let scenario = l["scenario"].as_str().unwrap_or_default();
            scenario.contains(system) && scenario.contains("inflight=8") && l["unit"] == "msgs/s"
        });
        let produced = produced.unwrap_or_else(|| panic!("no {system} produce line in\n{stdout}"));
        assert!(produced["value"].as_f64().unwrap() > 0.0, "{produced}");
    }
}
