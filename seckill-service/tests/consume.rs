//! The service consuming through a real broker, in this process: a LocalCluster per test in
//! a temp dir, the test's own database, Redis prefix, topics and groups, and
//! `service::run` as the binary runs it.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::mq::{
    InProcess, Names, cluster, order_message, producer, progress, send_all, service_args, stored,
    wait_for,
};
use common::{
    TestRedis, database_url, dedup_rows, mysql_stock, order_count, results, set_mysql_stock,
    take_all,
};
use mq_core::client::{ConsumeFrom, ConsumeResult, Message, MessageExt, PushConsumer, listener_fn};
use seckill_order::{OrderResult, StockReturned};
use sqlx::MySqlPool;

const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn every_message_sent_three_times_makes_exactly_one_order(pool: MySqlPool) {
    const USERS: i64 = 1_000;
    let redis = TestRedis::new("e2e").await;
    let names = Names::new("e2e");
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path(), &names).await;
    let namesrv = cluster.namesrv_addr().to_string();

    // The gate's state as seckill-web leaves it: stock taken and a marker per user.
    set_mysql_stock(&pool, 1, USERS).await;
    redis.warm(1, USERS).await;
    take_all(&redis, 1, 1..=USERS).await;
    assert_eq!(redis.stock(1).await, Some(0));

    // Each order three times (same body, keys and requestId), as retried sends would.
    let producer = producer(&cluster).await;
    for _ in 0..3 {
        let msgs = (1..=USERS)
            .map(|u| order_message(&names.order_topic, 1, u, &format!("req-{u}")))
            .collect();
        send_all(&producer, msgs).await;
    }

    let service = InProcess::start(service_args(
        &database_url(&pool),
        &redis.prefix,
        &namesrv,
        &names,
    ));
    wait_for("all 3,000 messages acknowledged", DRAIN_TIMEOUT, || async {
        progress(&namesrv, &names.group, &names.order_topic).await == (3 * USERS, 0)
    })
    .await;
    service.stop().await;

    assert_eq!(order_count(&pool, 1).await, USERS);
    assert_eq!(dedup_rows(&pool).await, USERS);
    assert_eq!(mysql_stock(&pool, 1).await, 0);
    assert_eq!(redis.stock(1).await, Some(0));
    let results = results(&redis, 1).await;
    assert_eq!(results.len(), usize::try_from(USERS).unwrap());
    for u in 1..=USERS {
        assert_eq!(
            results.get(&u).map(String::as_str),
            Some(format!("SUCCESS:SK{}-1-{u}", 1_700_000_000_000 + u).as_str()),
            "user {u}"
        );
    }
    assert_eq!(
        stored(&namesrv, &format!("%RETRY%{}", names.group)).await,
        0,
        "nothing was retried"
    );
    producer.shutdown().await;
    cluster.shutdown().await.unwrap();
    redis.clean(&[1]).await;
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn a_poison_message_is_acknowledged_and_never_blocks_its_queue(pool: MySqlPool) {
    let redis = TestRedis::new("poison").await;
    let names = Names::new("poison");
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path(), &names).await;
    let namesrv = cluster.namesrv_addr().to_string();
    redis.warm(1, 1000).await;
    take_all(&redis, 1, 1..=20).await;

    let producer = producer(&cluster).await;
    // One batch is stored in one queue, in order: the poison comes first on its queue.
    let mut batch = vec![
        Message::new(&names.order_topic, &b"{not json"[..]),
        Message::new(
            &names.order_topic,
            &br#"{"goodsId":0,"userId":1,"requestId":"r","timestamp":1}"#[..],
        ),
    ];
    batch.extend((1..=10).map(|u| order_message(&names.order_topic, 1, u, &format!("r{u}"))));
    producer.send_batch(batch).await.unwrap();

    let service = InProcess::start(service_args(
        &database_url(&pool),
        &redis.prefix,
        &namesrv,
        &names,
    ));
    wait_for("the orders behind the poison", DRAIN_TIMEOUT, || async {
        order_count(&pool, 1).await == 10
    })
    .await;
    // Orders sent after the poison was consumed go through too.
    send_all(
        &producer,
        (11..=20)
            .map(|u| order_message(&names.order_topic, 1, u, &format!("r{u}")))
            .collect(),
    )
    .await;
    wait_for("every message acknowledged", DRAIN_TIMEOUT, || async {
        progress(&namesrv, &names.group, &names.order_topic).await == (22, 0)
    })
    .await;
    service.stop().await;

    assert_eq!(order_count(&pool, 1).await, 20);
    assert_eq!(dedup_rows(&pool).await, 20, "poison leaves no row");
    let retry = format!("%RETRY%{}", names.group);
    assert_eq!(stored(&namesrv, &retry).await, 0, "poison is not retried");
    assert_eq!(stored(&namesrv, &names.dlq_topic()).await, 0);
    producer.shutdown().await;
    cluster.shutdown().await.unwrap();
    redis.clean(&[1]).await;
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn a_message_failing_every_time_is_dead_lettered_and_compensated(pool: MySqlPool) {
    let redis = TestRedis::new("dlq").await;
    let names = Names::new("dlq");
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path(), &names).await;
    let namesrv = cluster.namesrv_addr().to_string();
    redis.warm(2, 10).await;
    redis.take(2, 7).await;
    assert_eq!(redis.stock(2).await, Some(9));

    // The goods row stays locked by this test: every attempt to order waits out the
    // service's 1 s lock wait and answers "reconsume later".
    let mut locker = pool.begin().await.unwrap();
    sqlx::query("SELECT stocks FROM goods WHERE id = 2 FOR UPDATE")
        .fetch_one(&mut *locker)
        .await
        .unwrap();

    let producer = producer(&cluster).await;
    producer
        .send(order_message(&names.order_topic, 2, 7, "r-7"))
        .await
        .unwrap();
    let mut args = service_args(&database_url(&pool), &redis.prefix, &namesrv, &names);
    args.extend(
        [
            "--max-reconsume-times",
            "2",
            "--db-lock-wait-timeout-secs",
            "1",
        ]
        .map(str::to_owned),
    );
    let service = InProcess::start(args);

    wait_for("the dead letter compensated", DRAIN_TIMEOUT, || async {
        redis.result(2, 7).await == OrderResult::Failed
    })
    .await;
    assert_eq!(redis.stock(2).await, Some(10), "the place was given back");
    assert!(!redis.holds_marker(2, 7).await, "the user may try again");
    wait_for("the dead letter acknowledged", DRAIN_TIMEOUT, || async {
        progress(&namesrv, &names.dlq_group(), &names.dlq_topic()).await == (1, 0)
    })
    .await;
    // Still locked: the dead-letter handler never needed the goods row.
    locker.rollback().await.unwrap();
    service.stop().await;

    assert_eq!(stored(&namesrv, &names.dlq_topic()).await, 1);
    assert_eq!(
        stored(&namesrv, &format!("%RETRY%{}", names.group)).await,
        2,
        "retried twice before the DLQ"
    );
    let outcome: (String, i8) =
        sqlx::query_as("SELECT outcome, stock_returned FROM order_dedup WHERE biz_key = '2-7#r-7'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(outcome, ("FAILED".to_owned(), 1));
    assert_eq!(order_count(&pool, 2).await, 0);
    assert_eq!(mysql_stock(&pool, 2).await, 10);
    producer.shutdown().await;
    cluster.shutdown().await.unwrap();
    redis.clean(&[2]).await;
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn a_failed_order_publishes_a_stock_returned_event(pool: MySqlPool) {
    let redis = TestRedis::new("events").await;
    let names = Names::new("events");
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path(), &names).await;
    let namesrv = cluster.namesrv_addr().to_string();
    // Redis believes in 3, MySQL has 1: two of three orders fail and give their place back.
    set_mysql_stock(&pool, 3, 1).await;
    redis.warm(3, 3).await;
    take_all(&redis, 3, 1..=3).await;

    let (events_tx, mut events_rx) = tokio::sync::mpsc::channel::<StockReturned>(16);
    let gate = PushConsumer::builder(format!("{}-gate", names.group))
        .namesrv_addr(&namesrv)
        .subscribe(&names.stock_topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .start(listener_fn(move |msgs: Vec<MessageExt>| {
            let events_tx = events_tx.clone();
            async move {
                for m in msgs {
                    events_tx
                        .send(StockReturned::from_json(&m.body).unwrap())
                        .await
                        .unwrap();
                }
                ConsumeResult::Success
            }
        }))
        .await
        .unwrap();

    let producer = producer(&cluster).await;
    send_all(
        &producer,
        (1..=3)
            .map(|u| order_message(&names.order_topic, 3, u, &format!("r{u}")))
            .collect(),
    )
    .await;
    let service = InProcess::start(service_args(
        &database_url(&pool),
        &redis.prefix,
        &namesrv,
        &names,
    ));
    let event = tokio::time::timeout(DRAIN_TIMEOUT, events_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event, StockReturned { goods_id: 3 });
    service.stop().await;
    gate.shutdown().await;

    assert_eq!(order_count(&pool, 3).await, 1);
    assert_eq!(mysql_stock(&pool, 3).await, 0);
    assert_eq!(redis.stock(3).await, Some(2), "two places given back");
    let results = results(&redis, 3).await;
    let failed = results.values().filter(|r| *r == "FAILED").count();
    let ordered = results
        .values()
        .filter(|r| r.starts_with("SUCCESS:"))
        .count();
    assert_eq!((ordered, failed), (1, 2), "{results:?}");
    // One event per goods, however many places came back (here: at most one per batch).
    while let Ok(more) = events_rx.try_recv() {
        assert_eq!(more, StockReturned { goods_id: 3 });
    }
    producer.shutdown().await;
    cluster.shutdown().await.unwrap();
    redis.clean(&[3]).await;
}
