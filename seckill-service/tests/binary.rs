//! The binary's contract: documented flags, and one clear line with a non-zero exit when a
//! setting is bad or a dependency stays unreachable — never a panic.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

fn service() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seckill-service"));
    cmd.env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "off");
    cmd
}

#[test]
fn help_documents_every_setting_with_its_environment_variable() {
    let out = service().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "--listen",
        "SECKILL_SERVICE_LISTEN",
        "--database-url",
        "DATABASE_URL",
        "--redis-url",
        "REDIS_URL",
        "--namesrv-addr",
        "MQ_NAMESRV_ADDR",
        "--redis-key-prefix",
        "--order-topic",
        "--stock-topic",
        "--consumer-group",
        "--batch-max",
        "--batch-linger-ms",
        "--bloom-expected-items",
        "--bloom-fp-rate",
        "--db-max-connections",
        "--log-format",
    ] {
        assert!(help.contains(needle), "{needle} missing from --help");
    }
}

fn assert_one_line_failure(out: &std::process::Output, expected: &str) {
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
}

#[test]
fn an_unreachable_mysql_ends_in_one_line_after_a_bounded_retry() {
    let started = Instant::now();
    let out = service()
        .args(["--listen", "127.0.0.1:0", "--connect-timeout-secs", "1"])
        .args([
            "--database-url",
            "mysql://seckill:seckill@127.0.0.1:1/seckill",
        ])
        .output()
        .unwrap();
    assert_one_line_failure(&out, "MySQL unavailable");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_malformed_setting_ends_in_one_line() {
    let out = service()
        .args(["--listen", "127.0.0.1:0", "--redis-key-prefix", "a{b"])
        .output()
        .unwrap();
    assert_one_line_failure(&out, "prefix");
    let out = service()
        .args([
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "postgres://nope",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
