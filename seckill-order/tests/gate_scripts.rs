//! The gate's Lua scripts against a real Redis: atomic take under a stampede, duplicates,
//! sold out, idempotent give-back.
#![allow(clippy::unwrap_used)]

mod common;

use common::redis;
use redis::aio::MultiplexedConnection;
use seckill_order::gate::{self, GiveBack, TakeOutcome};
use seckill_order::{GoodsKeys, OrderResult, result};

async fn fresh_goods(conn: &mut MultiplexedConnection, test: &str, stock: i64) -> GoodsKeys {
    common::fresh_goods(conn, &format!("gate-{test}"), Some(stock)).await
}

#[tokio::test]
async fn a_stampede_takes_exactly_the_stock() {
    let mut conn = redis().await;
    let keys = fresh_goods(&mut conn, "stampede", 100).await;
    let mut tasks = Vec::new();
    for user in 0..500_i64 {
        for _repeat in 0..3 {
            let (mut conn, keys) = (conn.clone(), keys.clone());
            tasks.push(tokio::spawn(async move {
                gate::take(&mut conn, &keys, user, &format!("r{user}"))
                    .await
                    .unwrap()
            }));
        }
    }
    let mut taken = 0;
    for task in tasks {
        if let TakeOutcome::Taken { stock_left } = task.await.unwrap() {
            assert!(stock_left >= 0);
            taken += 1;
        }
    }
    assert_eq!(taken, 100);
    assert_eq!(gate::stock(&mut conn, &keys).await.unwrap(), Some(0));
    let buyers: i64 = redis::cmd("HLEN")
        .arg(&keys.results)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(buyers, 100);
}

#[tokio::test]
async fn a_duplicate_never_touches_stock_and_sold_out_leaves_no_marker() {
    let mut conn = redis().await;
    let keys = fresh_goods(&mut conn, "dup", 1).await;
    assert_eq!(
        gate::take(&mut conn, &keys, 7, "r7").await.unwrap(),
        TakeOutcome::Taken { stock_left: 0 }
    );
    assert_eq!(
        gate::take(&mut conn, &keys, 7, "r7").await.unwrap(),
        TakeOutcome::Duplicate
    );
    assert_eq!(
        gate::take(&mut conn, &keys, 8, "r8").await.unwrap(),
        TakeOutcome::SoldOut
    );
    assert_eq!(gate::stock(&mut conn, &keys).await.unwrap(), Some(0));
    assert_eq!(
        result::get(&mut conn, &keys, 7).await.unwrap(),
        OrderResult::Pending
    );
    assert_eq!(
        result::get(&mut conn, &keys, 8).await.unwrap(),
        OrderResult::None
    );
    let is_buyer: bool = redis::cmd("HEXISTS")
        .arg(&keys.results)
        .arg(8)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!is_buyer, "sold out must leave no dedup marker");
}

#[tokio::test]
async fn give_back_restores_the_exact_state_once() {
    let mut conn = redis().await;
    let keys = fresh_goods(&mut conn, "giveback", 5).await;
    assert!(matches!(
        gate::take(&mut conn, &keys, 1, "r1").await.unwrap(),
        TakeOutcome::Taken { .. }
    ));
    assert!(
        gate::give_back(&mut conn, &keys, 1, GiveBack::Forget)
            .await
            .unwrap()
    );
    assert!(
        !gate::give_back(&mut conn, &keys, 1, GiveBack::Forget)
            .await
            .unwrap()
    );
    assert_eq!(gate::stock(&mut conn, &keys).await.unwrap(), Some(5));
    assert_eq!(
        result::get(&mut conn, &keys, 1).await.unwrap(),
        OrderResult::None
    );

    assert!(matches!(
        gate::take(&mut conn, &keys, 2, "r2").await.unwrap(),
        TakeOutcome::Taken { .. }
    ));
    assert!(
        gate::give_back(&mut conn, &keys, 2, GiveBack::Failed)
            .await
            .unwrap()
    );
    assert_eq!(
        result::get(&mut conn, &keys, 2).await.unwrap(),
        OrderResult::Failed
    );
    assert_eq!(gate::stock(&mut conn, &keys).await.unwrap(), Some(5));
    // The failed user may try again: the marker is gone.
    assert!(matches!(
        gate::take(&mut conn, &keys, 2, "r2").await.unwrap(),
        TakeOutcome::Taken { .. }
    ));
    result::record_success(&mut conn, &keys, 2, "sn-2")
        .await
        .unwrap();
    assert_eq!(
        result::get(&mut conn, &keys, 2).await.unwrap(),
        OrderResult::Success {
            order_sn: "sn-2".into()
        }
    );
}

#[tokio::test]
async fn a_place_whose_order_is_written_is_never_given_back() {
    let mut conn = redis().await;
    let keys = fresh_goods(&mut conn, "written", 2).await;
    gate::take(&mut conn, &keys, 3, "r3").await.unwrap();
    result::record_success(&mut conn, &keys, 3, "sn-3")
        .await
        .unwrap();
    // A refused redelivery of another attempt, or the gate's late undo of this one: the unit
    // belongs to the written order and stays taken, and the user stays a buyer.
    assert!(
        !gate::give_back(&mut conn, &keys, 3, GiveBack::Failed)
            .await
            .unwrap()
    );
    assert!(
        !gate::give_back_request(&mut conn, &keys, 3, "r3", GiveBack::Forget)
            .await
            .unwrap()
    );
    assert_eq!(gate::stock(&mut conn, &keys).await.unwrap(), Some(1));
    assert_eq!(
        gate::take(&mut conn, &keys, 3, "again").await.unwrap(),
        TakeOutcome::Duplicate
    );
    assert_eq!(
        result::get(&mut conn, &keys, 3).await.unwrap(),
        OrderResult::Success {
            order_sn: "sn-3".into()
        }
    );
}

#[tokio::test]
async fn goods_without_a_stock_counter_is_not_found() {
    let mut conn = redis().await;
    let keys = GoodsKeys::new(&format!("test-gate-nf-{}", std::process::id()), 404).unwrap();
    let _: i64 = redis::cmd("DEL")
        .arg(&keys.all()[..])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        gate::take(&mut conn, &keys, 1, "r1").await.unwrap(),
        TakeOutcome::NotFound
    );
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&keys.all()[..])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0, "a refused take writes nothing");
}

#[tokio::test]
async fn warm_writes_only_where_absent_unless_overwriting() {
    let mut conn = redis().await;
    let keys = fresh_goods(&mut conn, "warm", 10).await;
    assert!(!gate::warm(&mut conn, &keys, 99, false).await.unwrap());
    assert_eq!(gate::stock(&mut conn, &keys).await.unwrap(), Some(10));
    assert!(gate::warm(&mut conn, &keys, 99, true).await.unwrap());
    assert_eq!(gate::stock(&mut conn, &keys).await.unwrap(), Some(99));
}

#[tokio::test]
async fn a_scoped_give_back_undoes_only_its_own_request() {
    let mut conn = redis().await;
    let keys = fresh_goods(&mut conn, "scoped", 3).await;
    // A request whose take never ran (or whose place is gone) gives nothing back.
    assert!(
        !gate::give_back_request(&mut conn, &keys, 5, "lost", GiveBack::Forget)
            .await
            .unwrap()
    );
    assert_eq!(gate::stock(&mut conn, &keys).await.unwrap(), Some(3));

    assert!(matches!(
        gate::take(&mut conn, &keys, 5, "first").await.unwrap(),
        TakeOutcome::Taken { .. }
    ));
    // Another request of the same user must not undo the place "first" holds.
    assert!(
        !gate::give_back_request(&mut conn, &keys, 5, "second", GiveBack::Forget)
            .await
            .unwrap()
    );
    assert_eq!(gate::stock(&mut conn, &keys).await.unwrap(), Some(2));
    // The request that took it can, once.
    assert!(
        gate::give_back_request(&mut conn, &keys, 5, "first", GiveBack::Forget)
            .await
            .unwrap()
    );
    assert!(
        !gate::give_back_request(&mut conn, &keys, 5, "first", GiveBack::Forget)
            .await
            .unwrap()
    );
    assert_eq!(gate::stock(&mut conn, &keys).await.unwrap(), Some(3));
    assert_eq!(
        result::get(&mut conn, &keys, 5).await.unwrap(),
        OrderResult::None
    );
}
