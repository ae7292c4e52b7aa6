//! The whole service started as the binary starts it (over a fresh test database and a test
//! key prefix): migrations, bloom rebuild, warm-up, HTTP, and a shutdown that drains.
#![allow(clippy::unwrap_used)]

mod common;

use clap::Parser;
use common::{TestRedis, order};
use seckill_service::config::Config;
use seckill_service::service::{Service, serve};
use seckill_service::{Consumed, http};
use sqlx::MySqlPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn start_up_warms_rebuilds_serves_and_drains_on_shutdown(pool: MySqlPool) {
    let redis = TestRedis::new("service").await;
    // An order written before the "restart".
    sqlx::query(
        "INSERT INTO order_dedup (biz_key, request_id, msg_id, outcome, order_sn) VALUES ('1-1#r', 'r', 'm', 'SUCCESS', 'SK1-1-1')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let database = pool.connect_options().get_database().unwrap().to_owned();
    let url = std::env::var("DATABASE_URL").unwrap();
    let url = format!("{}/{database}", url.rsplit_once('/').unwrap().0);
    let config = Config::try_parse_from([
        "seckill-service",
        "--database-url",
        &url,
        "--redis-key-prefix",
        &redis.prefix,
        "--batch-linger-ms",
        "1",
    ])
    .unwrap();

    let service = Service::start(&config).await.unwrap();
    assert_eq!(redis.stock(1).await, Some(1000), "warmed where absent");
    assert!(
        service.writer.dedup().maybe_seen("1-1#r"),
        "bloom rebuilt from the table"
    );

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, http::app(service.app_state()), async {
        let _ = stopped.await;
    }));
    let health = get(addr, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    redis.take(1, 2).await;
    assert_eq!(
        service.batcher.submit(vec![order(1, 2, "r", "m")]).await,
        Consumed::Done
    );
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    service.shutdown().await;
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(orders, 1);
    redis.clean(&[1, 2, 3]).await;
}
