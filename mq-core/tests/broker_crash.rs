//! kill -9 of the broker process during a stream of synchronous sends: after a restart every
//! acknowledged message is pullable at its acknowledged offset, offsets are dense and
//! nothing torn is served. Also: SIGTERM shuts the process down cleanly and it restarts.
#![allow(clippy::unwrap_used)]

mod broker_common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use broker_common::*;
use mq_core::cluster::ProcessCluster;
use mq_core::protocol::ResponseCode;
use mq_core::store::FlushDiskType;
use tokio::sync::Mutex;

const BROKER: &str = env!("CARGO_BIN_EXE_mq-broker");

/// (queue, acknowledged queue offset, body) of every acknowledged send.
type Acked = Arc<Mutex<Vec<(i32, i64, Vec<u8>)>>>;

/// Every message of `queue` from offset 0, by offset.
async fn pull_all(client: &Client, topic: &str, queue: i32) -> BTreeMap<i64, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut offset = 0;
    loop {
        let r = client
            .call(pull("check", topic, queue, offset, "*", 0))
            .await;
        if r.code != ResponseCode::SUCCESS {
            assert_eq!(r.code, ResponseCode::PULL_NOT_FOUND, "{r:?}");
            return out;
        }
        for m in messages(&r) {
            assert!(
                m.body_crc == mq_core::protocol::message::body_crc(&m.body),
                "torn record"
            );
            out.insert(m.queue_offset, m.body.to_vec());
        }
        offset = ext_i64(&r, "nextBeginOffset");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_sends_survive_kill_9() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = ProcessCluster::builder()
        .flush_disk_type(FlushDiskType::SyncFlush)
        .start_processes(BROKER, dir.path())
        .await
        .unwrap();
    let addr = cluster.broker_addr();
    let acked: Acked = Arc::default();
    let mut senders = Vec::new();
    for queue in 0..4 {
        let acked = Arc::clone(&acked);
        senders.push(tokio::spawn(async move {
            let client = Client::connect(addr).await;
            for n in 0.. {
                let body = format!("q{queue}-n{n}").into_bytes();
                let Some(r) = client.try_call(send_v2("Crash", queue, &body, "")).await else {
                    return; // the broker died under us
                };
                if r.code != ResponseCode::SUCCESS {
                    return;
                }
                acked
                    .lock()
                    .await
                    .push((queue, ext_i64(&r, "queueOffset"), body));
            }
        }));
    }
    // Let the stream run, then kill the broker without warning.
    while acked.lock().await.len() < 200 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cluster.kill_broker().await.unwrap();
    for s in senders {
        tokio::time::timeout(Duration::from_secs(35), s)
            .await
            .unwrap()
            .unwrap();
    }
    let acked = acked.lock().await.clone();
    assert!(acked.len() >= 200);

    cluster.start_broker().await.unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    for queue in 0..4 {
        let stored = pull_all(&client, "Crash", queue).await;
        let offsets: Vec<i64> = stored.keys().copied().collect();
        assert_eq!(
            offsets,
            (0..stored.len() as i64).collect::<Vec<_>>(),
            "dense offsets"
        );
        for (q, offset, body) in acked.iter().filter(|(q, _, _)| *q == queue) {
            assert_eq!(
                stored.get(offset),
                Some(body),
                "acknowledged q{q}@{offset} lost"
            );
        }
    }
    // The restarted broker keeps appending after what it recovered.
    let r = client.call(send_v2("Crash", 0, b"after", "")).await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    drop(client);
    cluster.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly_and_offsets_persist() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = ProcessCluster::start(BROKER, dir.path()).await.unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    assert_eq!(
        client.call(send_v2("Term", 0, b"x", "")).await.code,
        ResponseCode::SUCCESS
    );
    client.call(pull_committing("g", "Term", 0, 0, 1)).await;
    drop(client);
    cluster.stop_broker().await.unwrap();
    assert!(
        !cluster.store_dir().join("abort").exists(),
        "clean-shutdown marker"
    );
    cluster.start_broker().await.unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    let r = client
        .call(
            mq_core::protocol::RemotingCommand::request(
                mq_core::protocol::RequestCode::QUERY_CONSUMER_OFFSET,
            )
            .with_ext("consumerGroup", "g")
            .with_ext("topic", "Term")
            .with_ext("queueId", "0"),
        )
        .await;
    assert_eq!(ext_i64(&r, "offset"), 1);
    drop(client);
    cluster.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_as_processes_the_broker_registers_with_the_name_server() {
    use mq_core::protocol::body::JsonBody;
    use mq_core::protocol::body::route::TopicRouteData;
    use mq_core::protocol::{RemotingCommand, RequestCode};
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = ProcessCluster::builder()
        .namesrv_bin(env!("CARGO_BIN_EXE_mq-namesrv"))
        .broker_name("broker-p")
        .start_processes(BROKER, dir.path())
        .await
        .unwrap();
    let namesrv = Client::connect(cluster.namesrv_addr()).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let route = loop {
        let r = namesrv
            .call(
                RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
                    .with_ext("topic", "TBW102"),
            )
            .await;
        if r.code == ResponseCode::SUCCESS {
            break TopicRouteData::from_json(&r.body).unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "no route: {r:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(route.broker_datas[0].broker_name, "broker-p");
    assert_eq!(
        route.broker_datas[0].master_addr(),
        Some(cluster.broker_addr().to_string().as_str())
    );
    drop(namesrv);
    cluster.shutdown().await.unwrap();
}
