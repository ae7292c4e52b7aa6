//! The stock-returned broadcast through a real broker: a `StockReturned` event published on
//! the stock topic clears the sold-out flag of every gate instance of the consumer group,
//! and a body that is not an event is skipped without stopping the consumer.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use mq_core::client::{Message, Producer};
use seckill_order::StockReturned;
use seckill_web::{AppState, GateSettings, StockConsumer, StockConsumerSettings};

#[tokio::test]
async fn a_stock_returned_event_clears_the_flag_on_every_gate_instance() {
    let fx = common::Fixture::with("stock-returned", |s| {
        s.sold_out_ttl = Duration::from_secs(300)
    })
    .await;
    let offsets = tempfile::tempdir().unwrap();
    let settings = StockConsumerSettings {
        namesrv_addr: fx.mq.namesrv(),
        group: common::unique("web_test_stock"),
        topic: common::unique("seckillStockReturned"),
        offset_dir: offsets.path().to_owned(),
    };
    // A second gate instance: same Redis, same group, its own flags.
    let other = AppState::new(
        fx.redis.clone(),
        fx.publisher.clone(),
        GateSettings {
            key_prefix: fx.prefix.clone(),
            sold_out_ttl: Duration::from_secs(300),
            ..GateSettings::default()
        },
    )
    .unwrap();
    let gates = [fx.state.clone(), other];
    let mut consumers = Vec::new();
    for gate in &gates {
        let consumer = StockConsumer::start(&settings, gate.sold_out_flags())
            .await
            .unwrap();
        assert!(consumer.assigned_queues() > 0, "every queue owned at start");
        consumers.push(consumer);
    }

    for gate in &gates {
        let flags = gate.sold_out_flags();
        assert!(flags.mark_sold_out(1, flags.observe()));
        assert!(flags.mark_sold_out(2, flags.observe()));
    }
    let producer = Producer::builder(common::unique("web_test_stock_producer"))
        .namesrv_addr(fx.mq.namesrv())
        .start()
        .await
        .unwrap();
    producer
        .send(Message::new(settings.topic.clone(), "not an event"))
        .await
        .unwrap();
    producer
        .send(Message::new(
            settings.topic.clone(),
            StockReturned { goods_id: 1 }.to_json(),
        ))
        .await
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    while gates.iter().any(|g| g.sold_out_flags().is_sold_out(1)) {
        assert!(
            Instant::now() < deadline,
            "flag not cleared on every instance"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for gate in &gates {
        assert!(
            gate.sold_out_flags().is_sold_out(2),
            "only the event's goods is cleared"
        );
    }

    // Through the router: with the flag gone the gate asks Redis again (goods 1 has no keys
    // there, so NOT_FOUND), while goods 2 is still answered from the flag.
    let (_, body) = fx.get("/seckill?goodsId=1&userId=7").await;
    assert_eq!(body["status"], "NOT_FOUND", "{body}");
    let (_, body) = fx.get("/seckill?goodsId=2&userId=7").await;
    assert_eq!(body["status"], "SOLD_OUT", "{body}");

    for consumer in consumers {
        consumer.shutdown().await;
    }
    producer.shutdown().await;
    assert_eq!(
        std::fs::read_dir(offsets.path()).unwrap().count(),
        0,
        "each instance removed its offset directory"
    );
    fx.cleanup().await;
}
