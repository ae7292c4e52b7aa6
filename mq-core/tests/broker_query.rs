//! Message look-ups and runtime info: QUERY_MESSAGE by key and by UNIQ_KEY from the index,
//! VIEW_MESSAGE_BY_ID by the offset msgId of a send response, GET_BROKER_RUNTIME_INFO.
#![allow(clippy::unwrap_used)]

mod broker_common;

use std::time::{Duration, Instant};

use broker_common::*;
use mq_core::cluster::LocalCluster;
use mq_core::protocol::body::JsonBody;
use mq_core::protocol::body::broker_register::KvTable;
use mq_core::protocol::msg_id::decode_offset_msg_id;
use mq_core::protocol::{RemotingCommand, RequestCode, ResponseCode};

fn query(topic: &str, key: &str, unique: bool) -> RemotingCommand {
    RemotingCommand::request(RequestCode::QUERY_MESSAGE)
        .with_ext("topic", topic)
        .with_ext("key", key)
        .with_ext("maxNum", "32")
        .with_ext("beginTimestamp", "0")
        .with_ext("endTimestamp", i64::MAX.to_string())
        .with_ext("_UNIQUE_KEY_QUERY", unique.to_string())
}

#[tokio::test]
async fn query_by_key_uniq_key_and_offset_msg_id() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(dir.path()).await.unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    let mut msg_ids = Vec::new();
    for i in 0..5 {
        let props = format!(
            "KEYS\u{1}order-{} shared\u{2}UNIQ_KEY\u{1}UNIQ{i:028}",
            i % 2
        );
        let r = client
            .call(send_v2("Query", 0, format!("q{i}").as_bytes(), &props))
            .await;
        assert_eq!(r.code, ResponseCode::SUCCESS);
        msg_ids.push(r.ext("msgId").unwrap().to_owned());
    }

    // The index follows the writer on its own thread: give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    let r = loop {
        let r = client.call(query("Query", "order-1", false)).await;
        if r.code == ResponseCode::SUCCESS && messages(&r).len() == 2 || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    let mut bodies: Vec<String> = messages(&r)
        .iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect();
    bodies.sort();
    assert_eq!(bodies, vec!["q1", "q3"]);
    assert!(ext_i64(&r, "indexLastUpdatePhyoffset") > 0);
    assert_eq!(
        messages(&client.call(query("Query", "shared", false)).await).len(),
        5
    );

    let r = client
        .call(query("Query", &format!("UNIQ{:028}", 4), true))
        .await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    assert_eq!(&messages(&r)[0].body[..], b"q4");

    let r = client.call(query("Query", "no-such-key", false)).await;
    assert_eq!(r.code, ResponseCode::QUERY_NOT_FOUND);

    let (_, offset) = decode_offset_msg_id(&msg_ids[2]).unwrap();
    let r = client
        .call(
            RemotingCommand::request(RequestCode::VIEW_MESSAGE_BY_ID)
                .with_ext("offset", offset.to_string()),
        )
        .await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    let got = messages(&r);
    assert_eq!(
        (got.len(), &got[0].body[..], got[0].commit_log_offset),
        (1, &b"q2"[..], offset)
    );
    let r = client
        .call(
            RemotingCommand::request(RequestCode::VIEW_MESSAGE_BY_ID)
                .with_ext("offset", "999999999"),
        )
        .await;
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("can not find message"));

    let r = client
        .call(RemotingCommand::request(
            RequestCode::GET_BROKER_RUNTIME_INFO,
        ))
        .await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    let info = KvTable::from_json(&r.body).unwrap().table;
    assert_eq!(info["msgPutTotalTodayNow"], "5");
    assert_eq!(info["brokerVersionDesc"], "V4_9_8");
    assert!(info["commitLogMaxOffset"].parse::<u64>().unwrap() > 0);
    cluster.shutdown().await.unwrap();
}
