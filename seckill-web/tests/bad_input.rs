//! Every malformed request is a JSON 400 (or 404/405), never a 500 and never axum's plain text.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Fixture, send};

const HUGE: &str = "9223372036854775808";

fn bad_queries() -> Vec<(&'static str, String)> {
    let long = "9".repeat(5000);
    vec![
        ("nothing", String::new()),
        ("missing goodsId", "userId=1".into()),
        ("missing userId", "goodsId=1".into()),
        ("empty goodsId", "goodsId=&userId=1".into()),
        ("empty userId", "goodsId=1&userId=".into()),
        ("bare name", "goodsId&userId=1".into()),
        ("letters", "goodsId=abc&userId=1".into()),
        ("negative", "goodsId=1&userId=-1".into()),
        ("zero", "goodsId=0&userId=1".into()),
        ("fraction", "goodsId=1.5&userId=1".into()),
        ("plus sign", "goodsId=%2B1&userId=1".into()),
        ("leading zero", "goodsId=01&userId=1".into()),
        ("exponent", "goodsId=1e3&userId=1".into()),
        ("space", "goodsId=%201&userId=1".into()),
        ("just past i64", format!("goodsId={HUGE}&userId=1")),
        ("huge", format!("goodsId=1&userId={long}")),
        ("repeated goodsId", "goodsId=1&goodsId=1&userId=1".into()),
        ("repeated userId", "goodsId=1&userId=2&userId=3".into()),
        ("wrong case name", "goodsid=1&userId=1".into()),
    ]
}

#[tokio::test]
async fn malformed_parameters_are_json_400_on_both_gate_endpoints() {
    let fx = Fixture::new("bad-input").await;
    fx.warm(1, 10).await;
    for path in ["/seckill", "/seckill/result"] {
        for (case, query) in bad_queries() {
            let (status, body) = fx.get(&format!("{path}?{query}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {case}: {body}");
            assert_eq!(body["status"], "BAD_REQUEST", "{path} {case}: {body}");
            let message = body["message"].as_str().unwrap();
            assert!(
                !message.is_empty() && message.len() < 200,
                "{case}: {message}"
            );
        }
    }
    assert_eq!(
        fx.stock(1).await,
        Some(10),
        "no bad request touched the stock"
    );
    fx.cleanup().await;
}

#[tokio::test]
async fn malformed_form_posts_are_json_400() {
    let fx = Fixture::new("bad-form").await;
    fx.warm(1, 10).await;
    for (case, form) in bad_queries() {
        let (status, body) = fx.post_form("/seckill", &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {body}");
        assert_eq!(body["status"], "BAD_REQUEST", "{case}");
    }
    // The same parameter in the query and in the body is a repetition too.
    let (status, body) = fx
        .post_form("/seckill?goodsId=1", "goodsId=1&userId=1")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("goodsId"),
        "{body}"
    );
    // A JSON body is not a form.
    let request = Request::post("/seckill")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"goodsId":1,"userId":1}"#))
        .unwrap();
    let (status, body) = send(&fx.app, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["status"], "BAD_REQUEST");
    // An oversized body is refused before it is read.
    let big = format!("goodsId=1&userId=1&pad={}", "x".repeat(10_000));
    let (status, body) = fx.post_form("/seckill", &big).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(fx.stock(1).await, Some(10));
    fx.cleanup().await;
}

#[tokio::test]
async fn goods_not_on_sale_is_404_from_the_redis_step() {
    let fx = Fixture::new("not-found").await;
    let (status, body) = fx.get("/seckill?goodsId=3&userId=7").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["status"], "NOT_FOUND");
    let (status, body) = fx.post_form("/seckill", "goodsId=3&userId=7").await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::NOT_FOUND, &"NOT_FOUND".into())
    );
    // The largest id is valid input and simply not on sale.
    let (status, _) = fx
        .get(&format!(
            "/seckill?goodsId={}&userId={}",
            i64::MAX,
            i64::MAX
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    fx.cleanup().await;
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json() {
    let fx = Fixture::new("routes").await;
    let (status, body) = fx.get("/nope").await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::NOT_FOUND, &"NOT_FOUND".into())
    );
    let request = Request::delete("/seckill?goodsId=1&userId=1")
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(&fx.app, request).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(body["status"], "METHOD_NOT_ALLOWED");
    let request = Request::post("/seckill/result?goodsId=1&userId=1")
        .body(Body::empty())
        .unwrap();
    let (status, _) = send(&fx.app, request).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    fx.cleanup().await;
}
