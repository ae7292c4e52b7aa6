//! The invariants on hand-built facts: clean sales and each kind of violation.

use super::*;

/// A goods after a clean sale: `sold` users ordered (ids 1..=sold), stock left in both
/// stores.
fn clean(stock_left: i64, sold: i64) -> GoodsFacts {
    let mut f = GoodsFacts {
        goods_id: 2,
        on_sale: true,
        mysql_stock: Some(stock_left),
        redis_stock: Some(stock_left),
        ..GoodsFacts::default()
    };
    for u in 1..=sold {
        f.orders.insert(u, vec![format!("SK-{u}")]);
        f.buyers.insert(u);
        f.results.insert(u, format!("SUCCESS:SK-{u}"));
    }
    f
}

fn log(
    answered: impl IntoIterator<Item = i64>,
    queued: impl IntoIterator<Item = i64>,
) -> GoodsAnswers {
    GoodsAnswers {
        answered: answered.into_iter().collect(),
        queued: queued.into_iter().map(|u| (u, 1)).collect(),
        ..GoodsAnswers::default()
    }
}

fn broken(v: &[Violation]) -> Vec<Invariant> {
    v.iter().map(|v| v.invariant).collect()
}

#[test]
fn a_sold_out_goods_with_more_users_than_stock_holds() {
    let facts = clean(0, 10);
    let (report, v) = check_goods(&facts, Some(10), Some(&log(1..=300, 1..=10)));
    assert!(v.is_empty(), "{v:?}");
    assert_eq!(
        (report.initial_stock, report.users, report.orders),
        (10, 300, 10)
    );
    assert!(report.ok);
}

#[test]
fn fewer_users_than_stock_all_get_orders() {
    let facts = clean(700, 300);
    let (report, v) = check_goods(&facts, None, Some(&log(1..=300, 1..=300)));
    assert!(v.is_empty(), "{v:?}");
    assert_eq!(report.initial_stock, 1000);
    assert_eq!(report.initial_stock_source, Source::Derived);
}

#[test]
fn an_oversell_breaks_1_and_2() {
    let facts = clean(0, 11);
    let (_, v) = check_goods(&facts, Some(10), Some(&log(1..=300, 1..=11)));
    assert_eq!(
        broken(&v),
        [Invariant::OrdersMatchDemand, Invariant::MysqlStock]
    );
}

#[test]
fn a_leaked_place_is_an_undersell_and_a_redis_inconsistency() {
    // User 11 took the last place, the message was lost: PENDING forever.
    let mut facts = clean(1, 9);
    facts.redis_stock = Some(0);
    facts.buyers.insert(11);
    facts.results.insert(11, "PENDING".into());
    let (report, v) = check_goods(&facts, Some(10), Some(&log(1..=300, (1..=9).chain([11]))));
    assert_eq!(report.pending, 1);
    assert_eq!(
        broken(&v),
        [Invariant::OrdersMatchDemand, Invariant::QueuedSettled]
    );
    assert!(
        v[1].detail
            .contains("user 11: no order, result PENDING, place still held"),
        "{v:?}"
    );
}

#[test]
fn a_failed_order_with_its_place_returned_is_settled() {
    let mut facts = clean(0, 10);
    facts.results.insert(42, "FAILED".into());
    let (report, v) = check_goods(&facts, Some(10), Some(&log(1..=50, (1..=10).chain([42]))));
    assert!(v.is_empty(), "{v:?}");
    assert_eq!(report.failed, 1);

    // FAILED but the marker still there: the stock never came back.
    facts.buyers.insert(42);
    let (_, v) = check_goods(&facts, Some(10), Some(&log(1..=50, (1..=10).chain([42]))));
    assert_eq!(
        broken(&v),
        [Invariant::QueuedSettled, Invariant::RedisConsistent]
    );
}

#[test]
fn a_queued_answer_without_any_trace_is_unsettled() {
    let facts = clean(5, 5);
    let (_, v) = check_goods(&facts, Some(10), Some(&log(1..=6, 1..=6)));
    assert_eq!(
        broken(&v),
        [Invariant::OrdersMatchDemand, Invariant::QueuedSettled]
    );
    assert!(
        v[1].detail.contains("user 6: no order, result NONE"),
        "{v:?}"
    );
}

#[test]
fn duplicate_orders_are_named() {
    let mut facts = clean(0, 10);
    facts.orders.insert(3, vec!["SK-3".into(), "SK-3b".into()]);
    let (report, v) = check_goods(&facts, Some(11), None);
    assert_eq!(report.duplicates, 1);
    assert!(broken(&v).contains(&Invariant::NoDuplicateOrders), "{v:?}");
    assert!(v.iter().any(|v| v.detail.contains("(3)")), "{v:?}");
}

#[test]
fn redis_must_agree_with_mysql() {
    let mut facts = clean(3, 7);
    facts.redis_stock = Some(4);
    let (_, v) = check_goods(&facts, Some(10), None);
    assert_eq!(broken(&v), [Invariant::RedisConsistent]);
    assert!(
        v[0].detail
            .contains("Redis stock 4 + pending 0 != MySQL stock 3")
    );

    let mut facts = clean(3, 7);
    facts.results.insert(5, "SUCCESS:other".into());
    let (_, v) = check_goods(&facts, Some(10), None);
    assert!(
        v[0].detail
            .contains("user 5 has order SK-5 but result SUCCESS:other"),
        "{v:?}"
    );
}

#[test]
fn without_a_log_users_come_from_the_stores() {
    let facts = clean(0, 10);
    let (report, v) = check_goods(&facts, Some(10), None);
    assert!(v.is_empty(), "{v:?}");
    assert_eq!((report.users, report.users_source), (10, Source::Stored));
    assert_eq!(report.queued_answers, None);
}

#[test]
fn an_untouched_goods_holds() {
    let facts = GoodsFacts {
        goods_id: 9,
        on_sale: true,
        mysql_stock: Some(100),
        redis_stock: Some(100),
        ..GoodsFacts::default()
    };
    let (report, v) = check_goods(&facts, None, None);
    assert!(v.is_empty() && report.ok, "{v:?}");
}
