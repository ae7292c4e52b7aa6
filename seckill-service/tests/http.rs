//! The HTTP API driven in-process (`app(state)` with `oneshot`) over real MariaDB and Redis.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{TestRedis, order, set_mysql_stock, writer};
use seckill_service::http::{AppState, app};
use serde_json::Value;
use sqlx::MySqlPool;
use tower::ServiceExt;

fn state(pool: &MySqlPool, redis: &TestRedis) -> AppState {
    AppState {
        pool: pool.clone(),
        redis: redis.conn.clone(),
        prefix: redis.prefix.clone(),
        metrics: seckill_service::metrics::install(),
    }
}

async fn call(state: &AppState, method: Method, uri: &str) -> (StatusCode, String) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn json(state: &AppState, method: Method, uri: &str) -> (StatusCode, Value) {
    let (status, body) = call(state, method, uri).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}")),
    )
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn bad_input_is_a_400_with_a_message_never_a_500(pool: MySqlPool) {
    let redis = TestRedis::new("http-bad").await;
    let state = state(&pool, &redis);
    for uri in [
        "/orders",
        "/orders?userId=",
        "/orders?userId=abc",
        "/orders?userId=0",
        "/orders?userId=-4",
        "/orders?userId=99999999999999999999999",
        "/orders?userId=%zz",
    ] {
        let (status, body) = json(&state, Method::GET, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(body["status"], "BAD_REQUEST", "{uri}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{uri}: {body}"
        );
    }
    let (status, body) = json(&state, Method::POST, "/admin/warmup?overwrite=maybe").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "BAD_REQUEST");
    let (status, body) = json(&state, Method::GET, "/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["status"], "NOT_FOUND");
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn the_order_centre_lists_a_users_orders(pool: MySqlPool) {
    let redis = TestRedis::new("http-orders").await;
    redis.warm(1, 1000).await;
    redis.warm(3, 100).await;
    redis.take(1, 42).await;
    redis.take(3, 42).await;
    let (writer, _) = writer(&pool, &redis);
    let outcome = writer
        .write_batch(vec![order(1, 42, "a", "m1"), order(3, 42, "b", "m2")])
        .await;
    assert!(outcome.all_done());
    let state = state(&pool, &redis);

    let (status, body) = json(&state, Method::GET, "/orders?userId=42").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "OK");
    assert_eq!(body["userId"], 42);
    let orders = body["orders"].as_array().unwrap();
    let mut goods: Vec<i64> = orders
        .iter()
        .map(|o| o["goodsId"].as_i64().unwrap())
        .collect();
    goods.sort_unstable();
    assert_eq!(goods, vec![1, 3]);
    assert!(
        orders
            .iter()
            .all(|o| o["orderSn"].as_str().is_some_and(|s| s.starts_with("SK")))
    );
    assert!(orders.iter().all(|o| o["createTime"].is_string()));

    let (status, body) = json(&state, Method::GET, "/orders?userId=43").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["orders"], Value::Array(vec![]));
    redis.clean(&[1, 3]).await;
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn warmup_fills_absent_counters_and_overwrites_on_request(pool: MySqlPool) {
    let redis = TestRedis::new("http-warm").await;
    let state = state(&pool, &redis);
    // Goods 3 is not on sale: never warmed.
    sqlx::query("UPDATE goods SET spike = 0 WHERE id = 3")
        .execute(&pool)
        .await
        .unwrap();

    let (status, body) = json(&state, Method::POST, "/admin/warmup").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let warmed = body["goods"].as_array().unwrap();
    assert_eq!(warmed.len(), 2);
    assert!(warmed.iter().all(|g| g["written"] == true));
    assert_eq!(redis.stock(1).await, Some(1000));
    assert_eq!(redis.stock(2).await, Some(10));
    assert_eq!(redis.stock(3).await, None);

    // A sale in progress is not reset by a plain warm-up, only by overwrite=true.
    set_mysql_stock(&pool, 2, 7).await;
    let (_, body) = json(&state, Method::POST, "/admin/warmup").await;
    assert!(
        body["goods"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["written"] == false)
    );
    assert_eq!(redis.stock(2).await, Some(10));
    let (status, body) = json(&state, Method::POST, "/admin/warmup?overwrite=true").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["overwrite"], true);
    assert_eq!(redis.stock(2).await, Some(7));

    // GET /goods shows both sides.
    let (status, body) = json(&state, Method::GET, "/goods").await;
    assert_eq!(status, StatusCode::OK);
    let goods = body["goods"].as_array().unwrap();
    assert_eq!(goods.len(), 3);
    assert_eq!(goods[1]["id"], 2);
    assert_eq!(goods[1]["mysqlStock"], 7);
    assert_eq!(goods[1]["redisStock"], 7);
    assert_eq!(goods[1]["price"], "6999.00");
    assert_eq!(goods[2]["redisStock"], Value::Null);
    assert_eq!(goods[2]["spike"], false);
    redis.clean(&[1, 2, 3]).await;
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn health_and_metrics_answer(pool: MySqlPool) {
    let redis = TestRedis::new("http-health").await;
    let state = state(&pool, &redis);
    let (status, body) = json(&state, Method::GET, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "UP");

    // The bloom filter exports its size and false-positive rate.
    let dedup = seckill_service::dedup::Dedup::new(10_000, 0.01);
    dedup.insert("1-1#r");
    dedup.export_metrics();
    let (status, text) = call(&state, Method::GET, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for name in [
        "seckill_bloom_bits",
        "seckill_bloom_hashes",
        "seckill_bloom_fp_rate_target",
        "seckill_bloom_fp_rate_current",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }

    // MySQL gone: health says which dependency is down.
    pool.close().await;
    let (status, body) = json(&state, Method::GET, "/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["mysql"], "DOWN");
    assert_eq!(body["redis"], "UP");
    let (status, body) = json(&state, Method::GET, "/orders?userId=1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body,
        serde_json::json!({"status": "UNAVAILABLE"}),
        "no SQL text shown"
    );
}
