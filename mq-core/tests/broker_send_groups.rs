//! A connection's burst of pipelined sends is appended as one group: every send is answered,
//! with dense queue offsets, also in SYNC_FLUSH when the burst is larger than the
//! connection's in-flight limit (the group then waits for its fsync with all the slots the
//! connection has, not more).
#![allow(clippy::unwrap_used)]

mod client_support;

use std::collections::BTreeMap;

use client_support::unique;
use futures::future::join_all;
use mq_core::client::{Admin, Message, Producer, SendStatus};
use mq_core::cluster::LocalCluster;
use mq_core::store::FlushDiskType;

#[tokio::test]
async fn pipelined_sync_flush_sends_beyond_the_inflight_limit_are_all_answered() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::builder()
        .flush_disk_type(FlushDiskType::SyncFlush)
        .configure(|c| c.max_inflight_per_connection = 2)
        .start(dir.path())
        .await
        .unwrap();
    let namesrv = cluster.namesrv_addr().to_string();
    let admin = Admin::connect(&namesrv).await.unwrap();
    let topic = unique("SendGroups");
    admin.create_topic(&topic, 4).await.unwrap();
    let producer = Producer::builder(unique("send_groups_pg"))
        .namesrv_addr(&namesrv)
        .start()
        .await
        .unwrap();
    // The first send fetches the route and connects; the rest go out together.
    producer.send(Message::new(&topic, "first")).await.unwrap();
    let sends = (0..64).map(|i| producer.send(Message::new(&topic, format!("m{i}"))));
    let results = join_all(sends).await;

    let mut offsets: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for r in results {
        let r = r.unwrap();
        assert_eq!(r.status, SendStatus::SendOk);
        offsets
            .entry(r.queue.queue_id)
            .or_default()
            .push(r.queue_offset);
    }
    let answered: usize = offsets.values().map(Vec::len).sum();
    assert_eq!(answered, 64);
    for (queue, mut got) in offsets {
        got.sort_unstable();
        got.dedup();
        let first = got[0];
        let dense: Vec<i64> = (first..first + got.len() as i64).collect();
        assert_eq!(got, dense, "queue {queue}: offsets are dense and distinct");
    }
    producer.shutdown().await;
    cluster.shutdown().await.unwrap();
}
