//! Large bodies travel zlib-compressed (Java's default from 4 KiB) and come out byte-identical
//! to consumers, queries and pulls; incompressible bodies and `compress_over(0)` go raw.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::time::Duration;

use bytes::Bytes;
use client_support::{Collector, TestCluster, unique};
use mq_core::client::{Admin, Message, MessageQueue, Producer};

/// Sends `body` then a small marker to `mq`; answers the stored size of `body`'s record.
async fn stored_size(producer: &Producer, mq: &MessageQueue, body: Bytes) -> i64 {
    let admin_topic = mq.topic.clone();
    let first = producer
        .send_to_queue(Message::new(&admin_topic, body), mq.clone())
        .await
        .unwrap();
    let marker = producer
        .send_to_queue(Message::new(&admin_topic, "marker"), mq.clone())
        .await
        .unwrap();
    let (_, a) = decode(&first.offset_msg_id);
    let (_, b) = decode(&marker.offset_msg_id);
    b - a
}

/// Bytes no compressor can shrink (xorshift64).
fn xorshift_bytes(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn decode(id: &str) -> (String, i64) {
    let offset = i64::from_str_radix(&id[id.len() - 16..], 16).unwrap();
    (id[..id.len() - 16].to_owned(), offset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_are_compressed_and_restored() {
    let tc = TestCluster::start().await;
    let topic = unique("Compress");
    tc.create_topic(&topic, 1).await;
    let producer = Producer::builder(unique("compress_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    let mq = producer.fetch_publish_queues(&topic).await.unwrap()[0].clone();
    let raw_producer = Producer::builder(unique("raw_pg"))
        .namesrv_addr(tc.namesrv())
        .compress_over(0)
        .start()
        .await
        .unwrap();
    let text: Bytes = "order line with repeated content; "
        .repeat(2000)
        .into_bytes()
        .into();
    let noise: Bytes = xorshift_bytes(8192).into();

    let compressed = stored_size(&producer, &mq, text.clone()).await;
    let raw = stored_size(&raw_producer, &mq, text.clone()).await;
    assert!(
        compressed < 8 * 1024,
        "compressible body stored in {compressed} bytes"
    );
    assert!(
        raw > text.len() as i64,
        "uncompressed body stored in {raw} bytes"
    );
    let noisy = stored_size(&producer, &mq, noise.clone()).await;
    assert!(
        noisy > noise.len() as i64,
        "incompressible body goes raw: {noisy}"
    );

    let collector = Collector::new();
    let consumer = tc
        .consumer(&unique("compress_cg"))
        .subscribe(&topic, "*")
        .start(collector.clone())
        .await
        .unwrap();
    let mut got = collector.wait_for(6, Duration::from_secs(20)).await;
    // The concurrent listener may finish them in any order; the queue holds them in send order.
    got.sort_by_key(|m| m.queue_offset);
    let bodies: Vec<Bytes> = got
        .iter()
        .filter(|m| m.body.as_ref() != b"marker")
        .map(|m| m.body.clone())
        .collect();
    assert_eq!(bodies, vec![text.clone(), text.clone(), noise]);
    consumer.shutdown().await;

    let admin = Admin::connect(tc.namesrv()).await.unwrap();
    let by_id = admin.query_msg_by_id(&got[0].offset_msg_id).await.unwrap();
    assert_eq!(by_id.body, text);
}
