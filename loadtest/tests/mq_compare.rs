//! `mq-compare` as a user runs it: the real binary with short scenarios, on mq-core (its
//! brokers served by the child processes it starts) and on the peer servers of this machine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

/// Runs the real `mq-compare` binary with short scenarios and `--json`; answers its JSON
/// lines and its stdout and stderr (for failure messages).
fn run_mq_compare(systems: &str) -> (Vec<Value>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mq-compare"))
        .args([
            "--systems",
            systems,
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
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "mq-compare failed: {stderr}\n{stdout}"
    );
    let lines = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    (lines, stdout, stderr)
}

/// The msgs/s of `system`'s produce scenario at 8 in flight, if it was measured.
fn produced(lines: &[Value], system: &str) -> Option<f64> {
    lines
        .iter()
        .find(|l| {
            let scenario = l["scenario"].as_str().unwrap_or_default();
            scenario.contains(system) && scenario.contains("inflight=8") && l["unit"] == "msgs/s"
        })
        .and_then(|l| l["value"].as_f64())
}

#[test]
fn mq_compare_measures_mq_core_from_its_own_broker_processes() {
    let (lines, stdout, _) = run_mq_compare("mq-async,mq-sync");
    for system in ["ASYNC_FLUSH", "SYNC_FLUSH"] {
        let value = produced(&lines, system)
            .unwrap_or_else(|| panic!("no {system} produce line in\n{stdout}"));
        assert!(value > 0.0, "{system}: {value}");
    }
}

/// The peers through their own clients against the real servers of this machine: Redis (which
/// the test command always starts) must be measured; NATS JetStream and RabbitMQ are measured
/// when their port answers and otherwise must be reported as skipped, never faked.
#[test]
fn mq_compare_measures_the_peers_or_reports_them_skipped() {
    let (lines, stdout, stderr) = run_mq_compare("redis,nats,rabbitmq");
    for (system, port) in [
        ("Redis Streams", 6379),
        ("NATS JetStream", 4222),
        ("RabbitMQ", 5672),
    ] {
        let listening = std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            std::time::Duration::from_secs(1),
        )
        .is_ok();
        let value = produced(&lines, system);
        if listening {
            let value =
                value.unwrap_or_else(|| panic!("no {system} produce line in\n{stdout}\n{stderr}"));
            assert!(value > 0.0, "{system}: {value}");
            let consumed = lines.iter().any(|l| {
                let scenario = l["scenario"].as_str().unwrap_or_default();
                scenario.starts_with("consume") && scenario.ends_with(system)
            });
            assert!(consumed, "no {system} consume line in\n{stdout}");
        } else {
            assert_eq!(value, None, "{system} is not listening but has figures");
            assert!(
                stderr.contains(&format!("{system} skipped")),
                "{system} not reported as skipped:\n{stderr}"
            );
        }
    }
}
