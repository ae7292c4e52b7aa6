//! The `mq-broker` binary: a bad setting or an unusable address ends it with one clear line
//! and a non-zero status, never a panic; `--help` documents the environment variables.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::process::{Command, Output};

const BROKER: &str = env!("CARGO_BIN_EXE_mq-broker");

fn run(args: &[&str], env: &[(&str, &str)], dir: &std::path::Path) -> Output {
    let mut command = Command::new(BROKER);
    command
        .args(args)
        .env("MQ_STORE_DIR", dir)
        .env("MQ_NAMESRV_ADDR", "")
        .env_remove("MQ_BROKER_LISTEN")
        .env_remove("MQ_FLUSH_DISK_TYPE")
        .env_remove("MQ_FLUSH_INTERVAL_MS")
        .env_remove("MQ_DELAY_LEVELS");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn assert_one_line_failure(out: &Output, mentions: &str) {
    assert!(!out.status.success(), "{out:?}");
    assert_ne!(out.status.code(), Some(101), "a panic: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("mq-broker:"))
        .collect();
    assert_eq!(ours.len(), 1, "{stderr}");
    assert!(ours[0].contains(mentions), "{stderr}");
}

#[test]
fn bad_settings_fail_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &["--listen", "127.0.0.1:0"],
        &[("MQ_FLUSH_DISK_TYPE", "SOMETIMES")],
        dir.path(),
    );
    assert_one_line_failure(&out, "flush");
    let out = run(
        &["--listen", "127.0.0.1:0"],
        &[("MQ_FLUSH_INTERVAL_MS", "0")],
        dir.path(),
    );
    assert_one_line_failure(&out, "--flush-interval-ms");
    let out = run(
        &["--listen", "127.0.0.1:0"],
        &[("MQ_DELAY_LEVELS", "1s 2x")],
        dir.path(),
    );
    assert_one_line_failure(&out, "delay");
    let out = run(
        &["--listen", "127.0.0.1:0", "--broker-name", "no spaces"],
        &[],
        dir.path(),
    );
    assert_one_line_failure(&out, "broker name");
    let out = run(&["--listen", "not-an-address"], &[], dir.path());
    assert_one_line_failure(&out, "--listen");
}

#[test]
fn an_address_in_use_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run(&["--listen", &addr], &[], dir.path());
    assert_one_line_failure(&out, "cannot listen");
}

#[test]
fn help_names_the_environment_variables() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["--help"], &[], dir.path());
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "MQ_BROKER_LISTEN",
        "MQ_NAMESRV_ADDR",
        "MQ_STORE_DIR",
        "MQ_FLUSH_DISK_TYPE",
        "MQ_FLUSH_INTERVAL_MS",
        "MQ_BROKER_NAME",
        "MQ_DELAY_LEVELS",
        "MQ_AUTO_CREATE_TOPIC",
    ] {
        assert!(help.contains(var), "--help lacks {var}");
    }
}

#[test]
fn listening_on_all_interfaces_needs_an_address_to_advertise() {
    let dir = tempfile::tempdir().unwrap();
    // No name server to derive a route from, no --broker-ip: refused with a pointer to the flag.
    let out = run(&["--listen", "0.0.0.0:0"], &[], dir.path());
    assert_one_line_failure(&out, "--broker-ip");
    let out = run(
        &["--listen", "0.0.0.0:0", "--broker-ip", "0.0.0.0"],
        &[],
        dir.path(),
    );
    assert_one_line_failure(&out, "--broker-ip");
}
