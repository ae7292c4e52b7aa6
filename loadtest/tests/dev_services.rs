//! `scripts/dev-services` is idempotent: run twice in a row, it exits 0 both times and leaves
//! MariaDB and Redis answering, with the seckill user able to log in.
#![allow(clippy::unwrap_used)]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/dev-services")
}

fn answers(port: u16) -> bool {
    let addr = ([127, 0, 0, 1], port).into();
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

#[tokio::test]
async fn running_dev_services_twice_leaves_both_services_up() {
    for run in 1..=2 {
        let out = Command::new("bash").arg(script()).output().unwrap();
        assert!(
            out.status.success(),
            "run {run} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("redis: running"), "run {run}: {stdout}");
        assert!(
            stdout.contains("database seckill and user seckill ready"),
            "run {run}: {stdout}"
        );
    }
    assert!(answers(6379), "Redis is not answering on 6379");
    assert!(answers(3306), "MariaDB is not answering on 3306");

    // The seckill user it creates can log in with the default DATABASE_URL.
    let url = std::env::var("DATABASE_URL").unwrap();
    let pool = sqlx::MySqlPool::connect(&url).await.unwrap();
    let (one,): (i32,) = sqlx::query_as("SELECT 1").fetch_one(&pool).await.unwrap();
    assert_eq!(one, 1);
}
