//! The batched gate scripts against a real Redis: `take_many` answers and leaves exactly what
//! `take` run once per entry would (duplicates inside and across batches, sell-out in
//! mid-batch, a goods not warmed), never takes stock below zero under concurrent batches, and
//! `give_back_requests` returns only the places its requests hold, once.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

mod common;

use common::redis;
use redis::aio::MultiplexedConnection;
use seckill_order::gate::{self, Claim, GiveBack, MAX_BATCH, TakeOutcome};
use seckill_order::{GoodsKeys, OrderResult, result};

async fn fresh_goods(
    conn: &mut MultiplexedConnection,
    name: &str,
    stock: Option<i64>,
) -> GoodsKeys {
    common::fresh_goods(conn, &format!("batch-{name}"), stock).await
}

/// Claims written inline as (user id, request id) pairs.
fn pairs(pairs: &[(i64, &'static str)]) -> Vec<Claim<'static>> {
    pairs
        .iter()
        .map(|&(user_id, request_id)| Claim {
            user_id,
            request_id,
        })
        .collect()
}

/// Everything a goods' gate state holds, to compare two goods key by key.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    stock: Option<i64>,
    /// Every user's field: place and result (`PENDING:<requestId>`, `SUCCESS:…`, `FAILED`).
    results: BTreeMap<i64, String>,
}

impl Snapshot {
    /// The users holding a place (the dedup markers).
    fn buyers(&self) -> BTreeSet<i64> {
        self.results
            .iter()
            .filter(|(_, stored)| result::holds_place(stored))
            .map(|(user, _)| *user)
            .collect()
    }
}

async fn snapshot(conn: &mut MultiplexedConnection, keys: &GoodsKeys) -> Snapshot {
    let results: BTreeMap<i64, String> = redis::cmd("HGETALL")
        .arg(&keys.results)
        .query_async(conn)
        .await
        .unwrap();
    Snapshot {
        stock: gate::stock(conn, keys).await.unwrap(),
        results,
    }
}

/// A reproducible mix of users (few distinct ones, so duplicates are common) and the batch
/// sizes to cut it into, from a small linear congruential generator.
fn mixed_requests(seed: u64, count: usize, users: u64) -> (Vec<(i64, String)>, Vec<usize>) {
    let mut state = seed;
    let mut next = move |bound: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % bound
    };
    let requests = (0..count)
        .map(|i| {
            (
                i64::try_from(next(users)).unwrap() + 1,
                format!("req-{seed}-{i}"),
            )
        })
        .collect();
    let mut sizes = Vec::new();
    let mut left = count;
    while left > 0 {
        let size = usize::try_from(next(40)).unwrap().min(left).max(1);
        sizes.push(size);
        left -= size;
    }
    (requests, sizes)
}

/// Runs `requests` through `take` one by one on one goods and through `take_many` in batches
/// of `sizes` on another, both starting from `stock` (and `held`: users holding a place
/// already; `failed`: users whose place was given back as FAILED, who may take one again);
/// asserts the same answers and the same state after.
async fn assert_equivalent(
    name: &str,
    stock: Option<i64>,
    (held, failed): (&[i64], &[i64]),
    requests: &[(i64, String)],
    sizes: &[usize],
) {
    let mut conn = redis().await;
    let single = fresh_goods(&mut conn, &format!("{name}-single"), stock).await;
    let batched = fresh_goods(&mut conn, &format!("{name}-batched"), stock).await;
    for keys in [&single, &batched] {
        for user in held.iter().chain(failed) {
            gate::take(&mut conn, keys, *user, "earlier").await.unwrap();
        }
        for user in failed {
            gate::give_back(&mut conn, keys, *user, GiveBack::Failed)
                .await
                .unwrap();
        }
    }

    let mut expected = Vec::new();
    for (user, request_id) in requests {
        expected.push(
            gate::take(&mut conn, &single, *user, request_id)
                .await
                .unwrap(),
        );
    }
    let claims = gate::claims(requests);
    let mut answered = Vec::new();
    let mut rest = &claims[..];
    for size in sizes {
        let (batch, after) = rest.split_at(*size);
        answered.extend(gate::take_many(&mut conn, &batched, batch).await.unwrap());
        rest = after;
    }
    assert!(rest.is_empty(), "the sizes cover every request");

    assert_eq!(answered, expected, "{name}: answers differ");
    let (single_state, batched_state) = (
        snapshot(&mut conn, &single).await,
        snapshot(&mut conn, &batched).await,
    );
    assert_eq!(batched_state, single_state, "{name}: state differs");
    if let Some(stock) = batched_state.stock {
        assert!(stock >= 0, "{name}: stock went to {stock}");
    }
}

#[tokio::test]
async fn take_many_answers_exactly_as_take_once_per_entry() {
    // Plenty of stock: duplicates inside and across batches, nothing sells out.
    // Users who failed before take a place again, once.
    let (requests, sizes) = mixed_requests(1, 300, 120);
    assert_equivalent("plenty", Some(1_000), (&[3, 5], &[4, 7]), &requests, &sizes).await;
    // Scarce stock: it runs out in the middle of a batch; later entries are sold out, or
    // duplicates when the user already took a place.
    let (requests, sizes) = mixed_requests(2, 300, 120);
    assert_equivalent("scarce", Some(37), (&[1], &[2]), &requests, &sizes).await;
    // Nothing to sell from the start, and a counter below zero (a bad manual edit).
    let (requests, sizes) = mixed_requests(3, 60, 20);
    assert_equivalent("empty", Some(0), (&[2], &[3]), &requests, &sizes).await;
    let (requests, _) = mixed_requests(4, 10, 5);
    assert_equivalent("negative", Some(-4), (&[], &[]), &requests, &[10]).await;
    // Not warmed: every entry is NotFound and nothing is written.
    let (requests, sizes) = mixed_requests(5, 50, 10);
    assert_equivalent("not-warmed", None, (&[], &[]), &requests, &sizes).await;
}

#[tokio::test]
async fn one_batch_mixing_a_repeated_user_and_the_last_unit() {
    let mut conn = redis().await;
    let keys = fresh_goods(&mut conn, "one-batch", Some(2)).await;
    gate::take(&mut conn, &keys, 9, "before").await.unwrap();
    let claims = pairs(&[
        (1, "a"),
        (9, "b"),
        (1, "c"),
        (2, "d"),
        (3, "e"),
        (2, "f"),
        (9, "g"),
    ]);
    let outcomes = gate::take_many(&mut conn, &keys, &claims).await.unwrap();
    assert_eq!(
        outcomes,
        vec![
            TakeOutcome::Taken { stock_left: 0 },
            TakeOutcome::Duplicate,
            TakeOutcome::Duplicate,
            TakeOutcome::SoldOut,
            TakeOutcome::SoldOut,
            TakeOutcome::SoldOut,
            TakeOutcome::Duplicate,
        ]
    );
    let state = snapshot(&mut conn, &keys).await;
    assert_eq!(state.stock, Some(0));
    assert_eq!(
        state.buyers(),
        BTreeSet::from([1, 9]),
        "sold out leaves no marker"
    );
    assert_eq!(state.results.get(&1).map(String::as_str), Some("PENDING:a"));
    assert_eq!(
        state.results.get(&9).map(String::as_str),
        Some("PENDING:before")
    );
}

#[tokio::test]
async fn concurrent_batches_never_take_stock_below_zero() {
    let mut conn = redis().await;
    let keys = fresh_goods(&mut conn, "concurrent", Some(100)).await;
    let mut tasks = Vec::new();
    for batch in 0..20_i64 {
        let (mut conn, keys) = (conn.clone(), keys.clone());
        tasks.push(tokio::spawn(async move {
            let ids: Vec<(i64, String)> = (0..50)
                .map(|i| (batch * 50 + i, format!("r{batch}-{i}")))
                .collect();
            let claims = gate::claims(&ids);
            gate::take_many(&mut conn, &keys, &claims).await.unwrap()
        }));
    }
    let mut left_after = Vec::new();
    for task in tasks {
        for outcome in task.await.unwrap() {
            match outcome {
                TakeOutcome::Taken { stock_left } => left_after.push(stock_left),
                other => assert_eq!(other, TakeOutcome::SoldOut),
            }
        }
    }
    left_after.sort_unstable();
    assert_eq!(left_after, (0..100).collect::<Vec<_>>(), "each unit once");
    let state = snapshot(&mut conn, &keys).await;
    assert_eq!((state.stock, state.buyers().len()), (Some(0), 100));
}

#[tokio::test]
async fn more_claims_than_one_run_holds_are_split_in_order() {
    let mut conn = redis().await;
    let keys = fresh_goods(&mut conn, "split", Some(1_000)).await;
    let ids: Vec<(i64, String)> = (0..1_200).map(|i| (i % 1_100, format!("r{i}"))).collect();
    let claims = gate::claims(&ids);
    assert!(claims.len() > 2 * MAX_BATCH);
    let outcomes = gate::take_many(&mut conn, &keys, &claims).await.unwrap();
    let taken = outcomes
        .iter()
        .filter(|o| matches!(o, TakeOutcome::Taken { .. }))
        .count();
    assert_eq!(taken, 1_000);
    // Users 0..100 came back as entries 1100..1200: all duplicates of their first claim.
    assert!(
        outcomes[1_100..]
            .iter()
            .all(|o| *o == TakeOutcome::Duplicate)
    );
    assert_eq!(gate::stock(&mut conn, &keys).await.unwrap(), Some(0));
}

#[tokio::test]
async fn give_back_requests_returns_only_the_places_its_requests_hold_once() {
    let mut conn = redis().await;
    let keys = fresh_goods(&mut conn, "give-back", Some(5)).await;
    let claims = pairs(&[(1, "a"), (2, "b"), (3, "c")]);
    gate::take_many(&mut conn, &keys, &claims).await.unwrap();
    assert_eq!(gate::stock(&mut conn, &keys).await.unwrap(), Some(2));

    // User 2 under another request id, and a user who never took anything: untouched.
    let undo = pairs(&[(1, "a"), (2, "not-b"), (4, "d"), (3, "c")]);
    let returned = gate::give_back_requests(&mut conn, &keys, &undo, GiveBack::Forget)
        .await
        .unwrap();
    assert_eq!(returned, vec![true, false, false, true]);
    assert_eq!(gate::stock(&mut conn, &keys).await.unwrap(), Some(4));
    let state = snapshot(&mut conn, &keys).await;
    assert_eq!(state.buyers(), BTreeSet::from([2]));
    assert_eq!(state.results.keys().copied().collect::<Vec<_>>(), vec![2]);
    assert_eq!(state.results.get(&2).map(String::as_str), Some("PENDING:b"));

    // Repeated: nothing more comes back.
    let again = gate::give_back_requests(&mut conn, &keys, &undo, GiveBack::Forget)
        .await
        .unwrap();
    assert_eq!(again, vec![false; 4]);
    assert_eq!(gate::stock(&mut conn, &keys).await.unwrap(), Some(4));

    // The failed mode leaves a FAILED result for the user to read.
    let failed = gate::give_back_requests(&mut conn, &keys, &claims[1..2], GiveBack::Failed)
        .await
        .unwrap();
    assert_eq!(failed, vec![true]);
    assert_eq!(
        result::get(&mut conn, &keys, 2).await.unwrap(),
        OrderResult::Failed
    );
    assert_eq!(gate::stock(&mut conn, &keys).await.unwrap(), Some(5));
}

#[tokio::test]
async fn a_stock_counter_that_is_not_an_integer_changes_nothing() {
    let mut conn = redis().await;
    let keys = fresh_goods(&mut conn, "not-integer", None).await;
    let () = redis::cmd("SET")
        .arg(&keys.stock)
        .arg("1.5")
        .query_async(&mut conn)
        .await
        .unwrap();
    let claims = [Claim {
        user_id: 1,
        request_id: "a",
    }];
    assert!(gate::take_many(&mut conn, &keys, &claims).await.is_err());
    let fields: i64 = redis::cmd("HLEN")
        .arg(&keys.results)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(fields, 0, "refused before any write");
}
