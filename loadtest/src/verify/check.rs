//! The SPEC §4 invariants over one goods' facts — pure functions, no I/O.
//!
//! With S the initial stock and U the distinct users who asked:
//!
//! 1. orders = min(S, U) (no oversell, no undersell from leaked stock);
//! 2. no two orders share (goods_id, user_id); MySQL stock = S − orders ≥ 0;
//! 3. every user answered `QUEUED` has exactly one order, or a `FAILED` result with the
//!    place given back; and Redis agrees: stock + pending = MySQL stock, the buyers are
//!    exactly the users with an order or a pending one, each order's result names it.
//!
//! **S** is given (`--initial-stock`) or derived as MySQL stock + orders (then the second half
//! of 2 holds by construction and only "≥ 0" is checked).
//! **U** is the union of the users with a definite answer in the load log (`QUEUED`,
//! `DUPLICATE`, `SOLD_OUT`, or `ANSWERED` from oha), the users holding orders and the users Redis remembers (buyers,
//! results). Without a load log, users who only ever heard `SOLD_OUT` are unknown, so U is a
//! lower bound and invariant 1 can only catch orders below it — still sound, never a false
//! alarm. Users who only got `UNAVAILABLE`/no answer never took part and are not counted.
//! **QUEUED users** are those answered `QUEUED` in the log plus every user Redis holds a place
//! or a result for (a result exists only after a successful take).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Serialize, Serializer};

use super::facts::GoodsFacts;
use crate::load_log::GoodsAnswers;

/// How many user ids a violation lists at most.
const LISTED: usize = 5;

/// The invariant a [`Violation`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Invariant {
    /// The queue did not drain (consumer lag or `PENDING` results left) within the timeout.
    Drained,
    /// 1: orders = min(S, U).
    OrdersMatchDemand,
    /// 2: no two orders share (goods_id, user_id).
    NoDuplicateOrders,
    /// 2: MySQL stock = S − orders ≥ 0.
    MysqlStock,
    /// 3: every `QUEUED` user has one order, or `FAILED` with the place given back.
    QueuedSettled,
    /// 3: Redis stock + pending = MySQL stock; buyers = order holders + pending; results name
    /// the orders.
    RedisConsistent,
}

impl Invariant {
    /// The name printed with a violation.
    pub fn name(self) -> &'static str {
        match self {
            Self::Drained => "drained (consumer lag 0, no PENDING result)",
            Self::OrdersMatchDemand => "1 orders = min(S, U)",
            Self::NoDuplicateOrders => "2 no two orders share (goods_id, user_id)",
            Self::MysqlStock => "2 MySQL stock = S - orders >= 0",
            Self::QueuedSettled => "3 QUEUED user has one order or FAILED with stock returned",
            Self::RedisConsistent => "3 Redis stock + pending = MySQL stock, buyers = orders",
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Invariant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// Which.
    pub invariant: Invariant,
    /// For which goods (`None`: the whole run, e.g. not drained).
    pub goods_id: Option<i64>,
    /// The numbers or users that break it.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.goods_id {
            Some(g) => write!(
                f,
                "VIOLATED [{}] goods {g}: {}",
                self.invariant, self.detail
            ),
            None => write!(f, "VIOLATED [{}]: {}", self.invariant, self.detail),
        }
    }
}

/// Where a number came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Given on the command line.
    Flag,
    /// MySQL stock + orders.
    Derived,
    /// The load log, joined with MySQL and Redis.
    LoadLog,
    /// MySQL and Redis only (a lower bound).
    Stored,
}

/// One goods' line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GoodsReport {
    /// The goods.
    pub goods_id: i64,
    /// S.
    pub initial_stock: i64,
    /// Where S came from.
    pub initial_stock_source: Source,
    /// U.
    pub users: u64,
    /// Where U came from.
    pub users_source: Source,
    /// `QUEUED` answers in the load log (`None` without one).
    pub queued_answers: Option<u64>,
    /// Users in the load log who never got a definite answer.
    pub unanswered_users: Option<u64>,
    /// Order rows.
    pub orders: u64,
    /// `goods.stocks`.
    pub mysql_stock: Option<i64>,
    /// The Redis counter.
    pub redis_stock: Option<i64>,
    /// `PENDING` results.
    pub pending: u64,
    /// Users with more than one order.
    pub duplicates: u64,
    /// `FAILED` results.
    pub failed: u64,
    /// No violation for this goods.
    pub ok: bool,
}

/// Checks invariants 1–3 for one goods; `initial_stock` from the command line if given, `log`
/// the goods' answers in the load log if one was read.
pub fn check_goods(
    facts: &GoodsFacts,
    initial_stock: Option<i64>,
    log: Option<&GoodsAnswers>,
) -> (GoodsReport, Vec<Violation>) {
    let g = facts.goods_id;
    let mut violations = Vec::new();
    let mut violate = |invariant, detail: String| {
        violations.push(Violation {
            invariant,
            goods_id: Some(g),
            detail,
        });
    };
    let orders = facts.order_count();
    let orders_i = i64::try_from(orders).unwrap_or(i64::MAX);
    let (s, s_source) = match initial_stock {
        Some(s) => (s, Source::Flag),
        None => (facts.mysql_stock.unwrap_or(0) + orders_i, Source::Derived),
    };

    let order_users: BTreeSet<i64> = facts.orders.keys().copied().collect();
    let result_users: BTreeSet<i64> = facts.results.keys().copied().collect();
    let mut asked: BTreeSet<i64> = &order_users | &facts.buyers;
    asked.extend(&result_users);
    let mut queued_users: BTreeSet<i64> = &facts.buyers | &result_users;
    if let Some(log) = log {
        asked.extend(&log.answered);
        queued_users.extend(log.queued.keys());
    }
    let u = asked.len() as u64;

    // 1. orders = min(S, U)
    let expected = u64::try_from(s.max(0)).unwrap_or(0).min(u);
    if orders != expected {
        let mut detail = format!("S={s}, U={u}, orders={orders}, expected {expected}");
        if orders < expected {
            let without: Vec<i64> = asked.difference(&order_users).copied().collect();
            detail.push_str(&format!(
                "; {} users who asked have no order{}",
                without.len(),
                listed(&without)
            ));
        }
        violate(Invariant::OrdersMatchDemand, detail);
    }

    // 2. no duplicate (goods_id, user_id); MySQL stock = S - orders >= 0
    let duplicated: Vec<i64> = facts
        .orders
        .iter()
        .filter(|(_, sns)| sns.len() > 1)
        .map(|(&u, _)| u)
        .collect();
    if !duplicated.is_empty() {
        violate(
            Invariant::NoDuplicateOrders,
            format!(
                "{} users hold several orders{}",
                duplicated.len(),
                listed(&duplicated)
            ),
        );
    }
    match facts.mysql_stock {
        None if orders > 0 || !asked.is_empty() => violate(
            Invariant::MysqlStock,
            "the goods has orders or buyers but no row in `goods`".into(),
        ),
        None => {}
        Some(stock) if stock < 0 => {
            violate(Invariant::MysqlStock, format!("MySQL stock is {stock}"));
        }
        Some(stock) if stock != s - orders_i => violate(
            Invariant::MysqlStock,
            format!(
                "MySQL stock {stock} but S - orders = {s} - {orders} = {}",
                s - orders_i
            ),
        ),
        Some(_) => {}
    }

    // 3. every QUEUED user: one order, or FAILED with the place given back
    let mut unsettled = Vec::new();
    let mut wrong_result = Vec::new();
    for &user in &queued_users {
        let result = facts.results.get(&user).map(String::as_str);
        match facts.orders.get(&user).map(Vec::as_slice) {
            Some([order_sn]) => {
                let wanted = format!("SUCCESS:{order_sn}");
                if result != Some(wanted.as_str()) {
                    wrong_result.push(format!(
                        "user {user} has order {order_sn} but result {}",
                        result.unwrap_or("NONE")
                    ));
                }
            }
            Some(_) => {} // several orders: reported under invariant 2
            None => {
                let returned = !facts.buyers.contains(&user);
                if result != Some("FAILED") || !returned {
                    unsettled.push(format!(
                        "user {user}: no order, result {}, place {}",
                        result.unwrap_or("NONE"),
                        if returned { "returned" } else { "still held" }
                    ));
                }
            }
        }
    }
    if !unsettled.is_empty() {
        violate(
            Invariant::QueuedSettled,
            format!(
                "{} QUEUED users unsettled{}",
                unsettled.len(),
                listed(&unsettled)
            ),
        );
    }

    // 3. Redis agrees with MySQL
    let pending_users: BTreeSet<i64> = facts
        .results
        .iter()
        .filter(|(_, r)| *r == "PENDING")
        .map(|(&u, _)| u)
        .collect();
    let pending = pending_users.len() as u64;
    let failed = facts.results.values().filter(|r| *r == "FAILED").count() as u64;
    let mut redis_problems = wrong_result;
    match (facts.redis_stock, facts.mysql_stock) {
        (Some(redis), Some(mysql)) => {
            let pending_i = i64::try_from(pending).unwrap_or(i64::MAX);
            if redis + pending_i != mysql {
                redis_problems.push(format!(
                    "Redis stock {redis} + pending {pending} != MySQL stock {mysql}"
                ));
            }
        }
        (None, _) if facts.on_sale || !asked.is_empty() => {
            redis_problems.push("no Redis stock counter (goods not warmed)".into());
        }
        _ => {}
    }
    let holders: BTreeSet<i64> = &order_users | &pending_users;
    let leaked: Vec<i64> = facts.buyers.difference(&holders).copied().collect();
    if !leaked.is_empty() {
        redis_problems.push(format!(
            "{} places held without an order or a pending one{}",
            leaked.len(),
            listed(&leaked)
        ));
    }
    let unmarked: Vec<i64> = order_users.difference(&facts.buyers).copied().collect();
    if !unmarked.is_empty() {
        redis_problems.push(format!(
            "{} orders whose user holds no place in Redis{}",
            unmarked.len(),
            listed(&unmarked)
        ));
    }
    if !redis_problems.is_empty() {
        let shown: Vec<String> = redis_problems.iter().take(LISTED).cloned().collect();
        let more = redis_problems.len().saturating_sub(LISTED);
        let mut detail = shown.join("; ");
        if more > 0 {
            detail.push_str(&format!("; and {more} more"));
        }
        violate(Invariant::RedisConsistent, detail);
    }

    let report = GoodsReport {
        goods_id: g,
        initial_stock: s,
        initial_stock_source: s_source,
        users: u,
        users_source: if log.is_some() {
            Source::LoadLog
        } else {
            Source::Stored
        },
        queued_answers: log.map(GoodsAnswers::queued_answers),
        unanswered_users: log.map(|l| l.unanswered.difference(&asked).count() as u64),
        orders,
        mysql_stock: facts.mysql_stock,
        redis_stock: facts.redis_stock,
        pending,
        duplicates: duplicated.len() as u64,
        failed,
        ok: violations.is_empty(),
    };
    (report, violations)
}

fn listed<T: fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = items.iter().take(LISTED).map(ToString::to_string).collect();
    let more = if items.len() > LISTED { ", …" } else { "" };
    format!(" ({}{more})", shown.join(", "))
}

#[cfg(test)]
mod tests;
