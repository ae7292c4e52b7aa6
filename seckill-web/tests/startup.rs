//! Start-up failures: an unreachable Redis or an invalid setting ends the binary with a
//! non-zero exit and one clear line, after a bounded retry and without a panic.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::closed_port;
use seckill_web::server::{StartupError, connect_redis};

#[tokio::test]
async fn an_unreachable_redis_fails_after_the_bounded_retry() {
    let port = closed_port().await;
    let url = format!("redis://:secret@127.0.0.1:{port}");
    let started = Instant::now();
    let error = connect_redis(
        &url,
        Duration::from_millis(200),
        Duration::from_millis(1200),
    )
    .await
    .err()
    .unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(500), "retried: {waited:?}");
    assert!(waited < Duration::from_secs(4), "bounded: {waited:?}");
    assert!(matches!(error, StartupError::RedisUnreachable { attempts, .. } if attempts >= 2));
    let line = error.to_string();
    assert!(!line.contains('\n') && !line.contains("secret"), "{line}");
}

#[test]
fn the_binary_exits_with_one_line_when_redis_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = Command::new(env!("CARGO_BIN_EXE_seckill-web"))
        .args(["--redis-url", &format!("redis://127.0.0.1:{port}")])
        .args(["--startup-timeout-ms", "600", "--redis-timeout-ms", "200"])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("unreachable"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn the_binary_exits_with_one_line_when_the_name_server_is_unreachable() {
    let namesrv = closed_port().await;
    let started = Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_seckill-web"))
        .args(["--redis-url", &common::redis_url()])
        .args(["--namesrv-addr", &format!("127.0.0.1:{namesrv}")])
        .args(["--startup-timeout-ms", "1200"])
        .env("RUST_LOG", "off")
        .output()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(!output.status.success());
    assert!(waited >= Duration::from_millis(1000), "retried: {waited:?}");
    assert!(waited < Duration::from_secs(8), "bounded: {waited:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("name server") && stderr.contains("unreachable"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn the_binary_refuses_a_send_timeout_not_below_the_request_timeout() {
    let output = Command::new(env!("CARGO_BIN_EXE_seckill-web"))
        .args(["--request-timeout-ms", "2000", "--send-timeout-ms", "2000"])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--send-timeout-ms"), "{stderr}");
}

#[test]
fn the_binary_refuses_invalid_settings_without_a_panic() {
    for args in [
        ["--listen", "not-an-address"],
        ["--redis-key-prefix", "{x}"],
        ["--max-concurrency", "0"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_seckill-web"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.starts_with("error: invalid value"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn help_documents_every_setting_with_its_environment_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_seckill-web"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for env in [
        "SECKILL_WEB_LISTEN",
        "REDIS_URL",
        "MQ_NAMESRV_ADDR",
        "SECKILL_REDIS_KEY_PREFIX",
        "SECKILL_ORDER_TOPIC",
        "SECKILL_STOCK_TOPIC",
        "SECKILL_WEB_PRODUCER_GROUP",
        "SECKILL_WEB_STOCK_GROUP",
        "SECKILL_SEND_TIMEOUT_MS",
        "SECKILL_SEND_RETRIES",
        "SECKILL_WEB_OFFSET_DIR",
        "SECKILL_REQUEST_TIMEOUT_MS",
        "SECKILL_MAX_CONCURRENCY",
        "SECKILL_SOLD_OUT_TTL_MS",
        "SECKILL_RATE_LIMIT_PER_USER",
        "SECKILL_LOG_FORMAT",
    ] {
        assert!(help.contains(env), "--help lacks {env}");
    }
}
