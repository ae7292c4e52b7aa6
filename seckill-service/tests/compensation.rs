//! Compensation against real MariaDB and Redis: orders MySQL cannot make end FAILED with
//! their Redis place given back exactly once; a FAILED user may try again; dead letters.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestRedis, mysql_stock, order, order_count, set_mysql_stock, writer};
use seckill_order::{OrderResult, StockReturned};
use seckill_service::{Fate, IncomingOrder, Settled};
use sqlx::MySqlPool;

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn mysql_stock_below_what_redis_believed_fails_the_extras_and_returns_their_stock(
    pool: MySqlPool,
) {
    let redis = TestRedis::new("short").await;
    redis.warm(2, 10).await;
    set_mysql_stock(&pool, 2, 4).await;
    for user in 1..=10 {
        redis.take(2, user).await;
    }
    let (writer, events) = writer(&pool, &redis);
    let batch: Vec<IncomingOrder> = (1..=10)
        .map(|u| order(2, u, &format!("r{u}"), &format!("m{u}")))
        .collect();
    let outcome = writer.write_batch(batch.clone()).await;
    assert!(outcome.all_done());

    let ordered = outcome
        .fates
        .iter()
        .filter(|f| matches!(f, Fate::Done(Settled::Ordered { .. })))
        .count();
    assert_eq!(ordered, 4);
    // Earlier messages win the remaining stock.
    for (i, fate) in outcome.fates.iter().enumerate() {
        if i < 4 {
            assert!(
                matches!(fate, Fate::Done(Settled::Ordered { .. })),
                "{i}: {fate:?}"
            );
        } else {
            assert_eq!(*fate, Fate::Done(Settled::Failed), "{i}");
        }
    }
    assert_eq!(order_count(&pool, 2).await, 4);
    assert_eq!(mysql_stock(&pool, 2).await, 0, "no oversell");
    assert_eq!(
        redis.stock(2).await,
        Some(6),
        "the six refused places came back"
    );
    for user in 5..=10 {
        assert_eq!(redis.result(2, user).await, OrderResult::Failed);
        assert!(
            !redis.holds_marker(2, user).await,
            "user {user} may try again"
        );
    }
    assert!(matches!(
        redis.result(2, 1).await,
        OrderResult::Success { .. }
    ));
    assert_eq!(events.take_pending(), vec![StockReturned { goods_id: 2 }]);

    // Redelivering the whole batch changes nothing: no second give-back.
    let again = writer.write_batch(batch).await;
    assert!(
        again
            .fates
            .iter()
            .all(|f| *f == Fate::Done(Settled::Duplicate))
    );
    assert_eq!(redis.stock(2).await, Some(6));
    assert_eq!(order_count(&pool, 2).await, 4);
    assert!(events.take_pending().is_empty());
    redis.clean(&[2]).await;
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn a_failed_user_retrying_with_a_new_request_id_gets_an_order(pool: MySqlPool) {
    let redis = TestRedis::new("retry").await;
    redis.warm(2, 1).await;
    set_mysql_stock(&pool, 2, 0).await;
    let (writer, _) = writer(&pool, &redis);

    redis.take(2, 7).await;
    let first = order(2, 7, "attempt-1", "m1");
    let fates = writer.write_batch(vec![first.clone()]).await.fates;
    assert_eq!(fates, vec![Fate::Done(Settled::Failed)]);
    assert_eq!(redis.stock(2).await, Some(1));

    // Stock arrives in MySQL; the user tries again through the gate (new requestId).
    set_mysql_stock(&pool, 2, 1).await;
    redis.take(2, 7).await;
    let second = order(2, 7, "attempt-2", "m2");
    let fates = writer.write_batch(vec![second.clone()]).await.fates;
    assert!(
        matches!(fates[0], Fate::Done(Settled::Ordered { .. })),
        "{fates:?}"
    );
    assert_eq!(order_count(&pool, 2).await, 1);

    // Late redeliveries of both attempts are recognised; the first does not give back the
    // place the second holds.
    let fates = writer.write_batch(vec![first, second]).await.fates;
    assert_eq!(fates, vec![Fate::Done(Settled::Duplicate); 2]);
    assert_eq!(redis.stock(2).await, Some(0));
    assert!(redis.holds_marker(2, 7).await);
    assert!(matches!(
        redis.result(2, 7).await,
        OrderResult::Success { .. }
    ));
    assert_eq!(order_count(&pool, 2).await, 1);
    assert_eq!(mysql_stock(&pool, 2).await, 0);
    redis.clean(&[2]).await;
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn a_failure_whose_give_back_did_not_finish_gives_back_once_on_redelivery(pool: MySqlPool) {
    let redis = TestRedis::new("crash").await;
    redis.warm(2, 1).await;
    redis.take(2, 9).await;
    // The state a crash between the commit and the Redis give-back leaves behind.
    sqlx::query(
        "INSERT INTO order_dedup (biz_key, request_id, msg_id, outcome) VALUES ('2-9#r', 'r', 'm', 'FAILED')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (writer, events) = writer(&pool, &redis);
    let message = order(2, 9, "r", "m");
    let fates = writer.write_batch(vec![message.clone()]).await.fates;
    assert_eq!(fates, vec![Fate::Done(Settled::Duplicate)]);
    assert_eq!(redis.stock(2).await, Some(1), "the place came back");
    assert_eq!(redis.result(2, 9).await, OrderResult::Failed);
    assert_eq!(events.take_pending(), vec![StockReturned { goods_id: 2 }]);
    let (returned,): (i8,) =
        sqlx::query_as("SELECT stock_returned FROM order_dedup WHERE biz_key = '2-9#r'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(returned, 1);

    // The user takes a new place; another redelivery of the old failure leaves it alone.
    redis.take(2, 9).await;
    writer.write_batch(vec![message]).await;
    assert_eq!(redis.stock(2).await, Some(0));
    assert!(redis.holds_marker(2, 9).await);
    redis.clean(&[2]).await;
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn dead_letters_are_refused_and_compensated_unless_already_ordered(pool: MySqlPool) {
    let redis = TestRedis::new("dlq").await;
    redis.warm(3, 100).await;
    redis.take(3, 1).await;
    redis.take(3, 2).await;
    let (writer, events) = writer(&pool, &redis);
    let ordered = order(3, 1, "r1", "m1");
    assert!(writer.write_batch(vec![ordered.clone()]).await.all_done());

    let fates = writer
        .write_dead_letters(vec![
            ordered,
            order(3, 2, "r2", "m2"),
            IncomingOrder::new("x", &b"{"[..], 16),
        ])
        .await
        .fates;
    assert_eq!(
        fates,
        vec![
            Fate::Done(Settled::Duplicate),
            Fate::Done(Settled::Failed),
            Fate::Done(Settled::Poison)
        ]
    );
    assert!(matches!(
        redis.result(3, 1).await,
        OrderResult::Success { .. }
    ));
    assert_eq!(redis.result(3, 2).await, OrderResult::Failed);
    assert_eq!(redis.stock(3).await, Some(99), "user 2's place came back");
    assert_eq!(mysql_stock(&pool, 3).await, 99);
    assert_eq!(events.take_pending(), vec![StockReturned { goods_id: 3 }]);
    // The dead letter resent later (mqadmin) is recognised, not ordered.
    let fates = writer
        .write_batch(vec![order(3, 2, "r2", "m2")])
        .await
        .fates;
    assert_eq!(fates, vec![Fate::Done(Settled::Duplicate)]);
    assert_eq!(order_count(&pool, 3).await, 1);
    redis.clean(&[3]).await;
}
