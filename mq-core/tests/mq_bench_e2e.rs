//! `mq-bench e2e` as a user runs it: the real binary against an in-process cluster, short.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

#[test]
fn e2e_measures_the_peak_then_half_of_it_with_send_acks_beside() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mq-bench"))
        .args([
            "e2e",
            "--local",
            "--half-peak",
            "--rate",
            "300",
            "--duration",
            "0.5",
            "--warmup",
            "0.3",
            "--json",
        ])
        .output()
        .expect("run mq-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "mq-bench e2e failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let value = |scenario: &str| {
        lines
            .iter()
            .find(|l| l["scenario"] == scenario)
            .and_then(|l| l["value"].as_f64())
            .unwrap_or_else(|| panic!("no line {scenario:?} in\n{stdout}"))
    };
    let peak = value("e2e 1024B peak (64 sends in flight, delivered)");
    assert!(peak > 0.0);
    let half = (peak / 2.0).round();
    for rate in [300.0, half] {
        let scenario = format!("e2e 1024B at {rate} msgs/s offered");
        assert!(value(&scenario) > 0.0, "nothing delivered at {rate}");
        assert!(value(&format!("{scenario} latency p99")) > 0.0);
        assert!(value(&format!("{scenario}, send ack latency p99")) > 0.0);
    }
    // 150 messages recorded in at least 0.5 s: had the 90 of the warm-up been counted too,
    // the rate would come out near 480.
    let offered = value("e2e 1024B at 300 msgs/s offered");
    assert!(
        offered <= 330.0,
        "warm-up messages counted: {offered} msgs/s"
    );
}
