//! QUEUED is answered only once the broker stored the order message: the message is on the
//! order topic with the tag, the `goodsId-userId` key and the JSON body, found both by reading
//! the topic and by the broker's key index, and `/seckill/result` reads PENDING.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::Fixture;
use mq_core::client::Admin;
use seckill_order::OrderMessage;
use seckill_order::message::ORDER_TAG;

#[tokio::test]
async fn queued_means_the_order_message_is_in_the_broker() {
    let fx = Fixture::new("queued").await;
    fx.warm(1, 5).await;

    let (status, body) = fx.get("/seckill?goodsId=1&userId=42").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "QUEUED", "{body}");
    let request_id = body["requestId"].as_str().unwrap().to_owned();

    // Read straight after the answer: no waiting, the acknowledgement came first.
    let stored = fx.mq.messages(&fx.topic).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    let msg = &stored[0];
    assert_eq!(msg.topic, fx.topic);
    assert_eq!(msg.tag.as_deref(), Some(ORDER_TAG));
    assert_eq!(msg.keys, vec!["1-42".to_owned()]);
    let order = OrderMessage::from_json(&msg.body).unwrap();
    assert_eq!((order.goods_id, order.user_id), (1, 42));
    assert_eq!(order.request_id, request_id);
    assert!(order.timestamp > 0);

    let admin = Admin::connect(fx.mq.namesrv()).await.unwrap();
    // The broker indexes keys a few milliseconds behind the append: poll briefly.
    let mut by_key = Vec::new();
    for _ in 0..100 {
        by_key = admin.query_msg_by_key(&fx.topic, "1-42", 32).await.unwrap();
        if !by_key.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(by_key.len(), 1, "{by_key:?}");
    assert_eq!(by_key[0].body, msg.body);

    let (_, body) = fx.get("/seckill/result?goodsId=1&userId=42").await;
    assert_eq!(body["status"], "PENDING", "{body}");
    assert_eq!(fx.stock(1).await, Some(4));
    assert_eq!(fx.buyers(1).await, vec![42]);

    // The same user again: DUPLICATE, and no second message.
    let (_, body) = fx.get("/seckill?goodsId=1&userId=42").await;
    assert_eq!(body["status"], "DUPLICATE", "{body}");
    assert_eq!(fx.mq.messages(&fx.topic).await.len(), 1);

    let metrics = fx.get_text("/metrics").await;
    assert!(
        metrics.contains(r#"seckill_publish_duration_seconds_bucket{outcome="ok""#),
        "{metrics}"
    );
    fx.cleanup().await;
}
