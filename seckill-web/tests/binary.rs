//! The `seckill-web` binary end to end: started against a real name server + broker and Redis
//! it answers QUEUED with the order in the broker, and SIGTERM makes it drain and exit 0.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{TestCluster, redis_url};
use seckill_order::{GoodsKeys, gate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;

async fn http_get(addr: &str, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_queues_an_order_and_exits_0_on_sigterm() {
    let mq = TestCluster::start().await;
    let prefix = format!("test-web-binary-{}", std::process::id());
    let topic = common::unique("seckillTopic");
    let mut redis = seckill_web::server::connect_redis(
        &redis_url(),
        Duration::from_secs(2),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let keys = GoodsKeys::new(&prefix, 1).unwrap();
    gate::warm(&mut redis, &keys, 10, true).await.unwrap();
    let offsets = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_seckill-web"))
        .args(["--listen", &addr])
        .args(["--redis-url", &redis_url()])
        .args(["--namesrv-addr", &mq.namesrv()])
        .args(["--redis-key-prefix", &prefix])
        .args(["--order-topic", &topic])
        .args(["--stock-topic", &common::unique("seckillStockReturned")])
        .args(["--stock-consumer-group", &common::unique("web_test_stock")])
        .arg("--offset-dir")
        .arg(offsets.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(answer) = http_get(&addr, "/healthz").await {
            assert!(answer.contains(r#"{"status":"UP"}"#), "{answer}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the gate did not start listening"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the gate exited at start-up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let answer = http_get(&addr, "/seckill?goodsId=1&userId=77")
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""status":"QUEUED""#), "{answer}");
    let stored = mq.orders_by_key(&topic).await;
    assert_eq!(stored.keys().collect::<Vec<_>>(), vec!["1-77"]);
    let answer = http_get(&addr, "/seckill/result?goodsId=1&userId=77")
        .await
        .unwrap();
    assert!(answer.contains(r#""status":"PENDING""#), "{answer}");

    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the gate did not exit within 20 s of SIGTERM")
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        TcpStream::connect(&addr).await.is_err(),
        "no longer listening"
    );
    assert_eq!(
        std::fs::read_dir(offsets.path()).unwrap().count(),
        0,
        "the consumer's offset directory is removed at exit"
    );

    let _: i64 = redis::cmd("DEL")
        .arg(&keys.all()[..])
        .query_async(&mut redis)
        .await
        .unwrap();
    mq.cluster.shutdown().await.unwrap();
}
