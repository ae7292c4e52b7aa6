//! The schema of `migrations/` against a real MariaDB: every test gets a fresh database
//! (`#[sqlx::test]` creates and drops it), with the migrations applied.
#![allow(clippy::unwrap_used)]

use sqlx::MySqlPool;

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn the_seed_goods_are_there(pool: MySqlPool) {
    let goods: Vec<(i32, i32, i32)> =
        sqlx::query_as("SELECT id, stocks, spike FROM goods ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(goods, vec![(1, 1000, 1), (2, 10, 1), (3, 100, 1)]);
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn a_second_order_for_the_same_user_and_goods_is_refused(pool: MySqlPool) {
    let insert = "INSERT INTO order_records (user_id, order_sn, goods_id) VALUES (?, ?, ?)";
    sqlx::query(insert)
        .bind(7_i64)
        .bind("sn-1")
        .bind(1_i64)
        .execute(&pool)
        .await
        .unwrap();
    let err = sqlx::query(insert)
        .bind(7_i64)
        .bind("sn-2")
        .bind(1_i64)
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(is_unique_violation(&err), "{err}");
    // The same order number twice is refused too.
    let err = sqlx::query(insert)
        .bind(8_i64)
        .bind("sn-1")
        .bind(1_i64)
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(is_unique_violation(&err), "{err}");
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn stock_can_never_go_below_zero(pool: MySqlPool) {
    let err = sqlx::query("UPDATE goods SET stocks = stocks - 11 WHERE id = 2")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("goods_stocks_not_negative"),
        "{err}"
    );
    let (stocks,): (i32,) = sqlx::query_as("SELECT stocks FROM goods WHERE id = 2")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stocks, 10, "the refused update changed nothing");
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn a_business_key_is_processed_once(pool: MySqlPool) {
    let insert = "INSERT INTO order_dedup (biz_key, outcome) VALUES (?, 'SUCCESS')";
    sqlx::query(insert)
        .bind("1-7")
        .execute(&pool)
        .await
        .unwrap();
    let err = sqlx::query(insert)
        .bind("1-7")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(is_unique_violation(&err), "{err}");
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}
