//! `mqadmin` as users run it: the real binary with `--json` against an in-process cluster.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::time::Duration;

use client_support::{Collector, TestCluster, mqadmin, mqadmin_ok as ok, unique};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_work_end_to_end() {
    let tc = TestCluster::start().await;
    let ns = tc.namesrv();
    let topic = unique("AdminTopic");
    let group = unique("admin_cg");

    let created = ok(&ns, &["updateTopic", "-t", &topic, "-r", "2", "-w", "2"]).await;
    assert_eq!(created["writeQueueNums"], 2);
    let clusters = ok(&ns, &["clusterList"]).await;
    assert_eq!(clusters["brokers"][0]["brokerId"], 0);
    let topics = ok(&ns, &["topicList"]).await;
    assert!(
        topics["topics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == &Value::from(topic.clone()))
    );

    let sent = ok(
        &ns,
        &[
            "sendMessage",
            "-t",
            &topic,
            "-p",
            "hello admin",
            "-c",
            "TagA",
            "-k",
            "K1",
        ],
    )
    .await;
    assert_eq!(sent["status"], "SendOk");
    let offset_id = sent["offsetMsgId"].as_str().unwrap().to_owned();
    let msg_id = sent["msgId"].as_str().unwrap().to_owned();

    let status = ok(&ns, &["topicStatus", "-t", &topic]).await;
    let queues = status["queues"].as_array().unwrap();
    assert_eq!(queues.len(), 2);
    assert_eq!(
        queues
            .iter()
            .map(|q| q["max"].as_i64().unwrap())
            .sum::<i64>(),
        1
    );

    let by_id = ok(&ns, &["queryMsgById", "-i", &offset_id]).await;
    assert_eq!(by_id[0]["body"], "hello admin");
    assert_eq!(by_id[0]["msgId"], Value::from(msg_id.clone()));
    // Keys and unique keys are indexed behind the writer (a few ms; more on a busy machine).
    let by_unique = indexed(&ns, &["queryMsgByUniqueKey", "-i", &msg_id, "-t", &topic]).await;
    assert_eq!(by_unique[0]["offsetMsgId"], Value::from(offset_id));
    let by_key = indexed(&ns, &["queryMsgByKey", "-t", &topic, "-k", "K1"]).await;
    assert_eq!(by_key[0]["tag"], "TagA");

    let read = ok(&ns, &["consumeMessage", "-t", &topic]).await;
    assert_eq!(read.as_array().unwrap().len(), 1);
    assert_eq!(read[0]["keys"][0], "K1");

    // A running consumer: progress, connection, and a reset while it runs.
    let collector = Collector::new();
    let consumer = tc
        .consumer(&group)
        .subscribe(&topic, "*")
        .start(collector.clone())
        .await
        .unwrap();
    collector.wait_for(1, Duration::from_secs(20)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let progress = ok(&ns, &["consumerProgress", "-g", &group, "-t", &topic]).await;
        if progress["diffTotal"] == 0 && progress["queues"].as_array().is_some_and(|q| q.len() == 2)
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "lag never reached 0: {progress}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let conn = ok(&ns, &["consumerConnection", "-g", &group]).await;
    assert_eq!(
        conn["connections"][0]["clientId"],
        Value::from(consumer.client_id().to_owned())
    );
    assert_eq!(conn["connections"][0]["language"], "RUST");
    assert_eq!(conn["messageModel"], "CLUSTERING");
    // One instance is consistent with itself: its subscriptions listed, no conflict.
    let own = &conn["subscriptionsByClient"][consumer.client_id()];
    assert_eq!(own[&topic]["subString"], "*", "{conn}");
    assert_eq!(conn["conflicts"], Value::Array(Vec::new()), "{conn}");
    assert_eq!(conn["subscriptionsConsistent"], true);

    let reset = ok(
        &ns,
        &[
            "resetOffsetByTime",
            "-g",
            &group,
            "-t",
            &topic,
            "-s",
            "earliest",
        ],
    )
    .await;
    assert_eq!(reset["offsets"].as_array().unwrap().len(), 2);
    // Replayed from the start: the one message arrives a second time.
    collector.wait_for(2, Duration::from_secs(20)).await;
    consumer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_one_line_and_non_zero() {
    // Nothing listens on port 1.
    let (code, _, stderr) = mqadmin("127.0.0.1:1", &["topicList"]).await;
    assert_ne!(code, 0);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("mqadmin: error:"), "{stderr}");

    let tc = TestCluster::start().await;
    let (code, _, stderr) = mqadmin(&tc.namesrv(), &["topicStatus", "-t", "NoSuchTopic"]).await;
    assert_ne!(code, 0);
    assert!(stderr.contains("no route"), "{stderr}");
    let (code, _, stderr) = mqadmin(&tc.namesrv(), &["updateTopic", "-t", "bad topic!"]).await;
    assert_ne!(code, 0);
    assert!(stderr.contains("invalid argument"), "{stderr}");
}

/// Runs a query until it finds something (the index trails the CommitLog), for up to 3 s.
async fn indexed(ns: &str, args: &[&str]) -> Value {
    let mut found = Value::Null;
    for _ in 0..30 {
        found = ok(ns, args).await;
        if found.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    found
}
