//! The scripts that change a goods' gate state atomically: take a place (dedup + stock
//! pre-deduction in one step), give it back, and warm the stock counter.
//!
//! Each script is loaded once and called by SHA (`redis::Script` falls back to `EVAL` only when
//! the server lost its script cache). [`batch`] holds the same take and scoped give-back for
//! many requests of one goods in one script run (the gate's coalescer).

mod batch;

pub use batch::{Claim, MAX_BATCH, claims, give_back_requests, take_many};

use std::sync::LazyLock;

use redis::aio::ConnectionLike;

use crate::keys::GoodsKeys;
use crate::{Error, Result};

static TAKE: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("../lua/take.lua")));
static GIVE_BACK: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("../lua/give_back.lua")));

/// What the gate's atomic step decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeOutcome {
    /// The user holds a place; `stock_left` is what remains for others.
    Taken {
        /// Stock left after this take.
        stock_left: i64,
    },
    /// The user already holds a place for this goods.
    Duplicate,
    /// No stock left; nothing was changed.
    SoldOut,
    /// The goods has no stock counter: it is not on sale (or not warmed yet).
    NotFound,
}

/// Takes a place for `user_id` on behalf of gate request `request_id`: stock decrement and
/// the user's field `PENDING:<request_id>` (dedup marker and result at once), atomically.
pub async fn take<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &GoodsKeys,
    user_id: i64,
    request_id: &str,
) -> Result<TakeOutcome> {
    let answer: i64 = invocation(&TAKE, keys)
        .arg(user_id)
        .arg(request_id)
        .invoke_async(conn)
        .await?;
    TakeOutcome::from_answer("take", answer)
}

impl TakeOutcome {
    /// Reads one answer of take.lua / take_many.lua (they share the encoding).
    fn from_answer(script: &'static str, answer: i64) -> Result<Self> {
        match answer {
            left if left >= 0 => Ok(Self::Taken { stock_left: left }),
            -1 => Ok(Self::NotFound),
            -2 => Ok(Self::Duplicate),
            -3 => Ok(Self::SoldOut),
            other => Err(Error::UnexpectedAnswer {
                script,
                answer: other,
            }),
        }
    }
}

/// How a given-back place is remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveBack {
    /// As if the request never happened (the order could not be queued): the result is removed.
    Forget,
    /// The order was refused after it was queued: the user reads `FAILED`.
    Failed,
}

impl GiveBack {
    /// The scripts' name of the mode.
    fn mode(self) -> &'static str {
        match self {
            Self::Forget => "forget",
            Self::Failed => "failed",
        }
    }
}

/// Returns `user_id`'s pending place, whichever request took it: stock + 1 and the dedup
/// marker removed. A place whose order is written (`SUCCESS`) is not returned. Idempotent:
/// answers `true` only the first time for a place taken once.
pub async fn give_back<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &GoodsKeys,
    user_id: i64,
    how: GiveBack,
) -> Result<bool> {
    give_back_scoped(conn, keys, user_id, how, "").await
}

/// Returns `user_id`'s place only if gate request `request_id` took it. This is the undo for
/// a take whose answer was lost (a Redis timeout): the script may or may not have run, and
/// the place may since belong to another request, which must keep it.
pub async fn give_back_request<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &GoodsKeys,
    user_id: i64,
    request_id: &str,
    how: GiveBack,
) -> Result<bool> {
    give_back_scoped(conn, keys, user_id, how, request_id).await
}

async fn give_back_scoped<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &GoodsKeys,
    user_id: i64,
    how: GiveBack,
    request_id: &str,
) -> Result<bool> {
    let answer: i64 = invocation(&GIVE_BACK, keys)
        .arg(user_id)
        .arg(how.mode())
        .arg(request_id)
        .invoke_async(conn)
        .await?;
    Ok(answer == 1)
}

/// A call of `script` with the goods' keys in the order every gate script expects.
fn invocation<'a>(script: &'a redis::Script, keys: &GoodsKeys) -> redis::ScriptInvocation<'a> {
    let mut invocation = script.prepare_invoke();
    invocation.key(&keys.stock).key(&keys.results);
    invocation
}

/// Sets the stock counter to `stock`: only where it is absent unless `overwrite`.
/// Answers whether the counter was written.
pub async fn warm<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &GoodsKeys,
    stock: i64,
    overwrite: bool,
) -> Result<bool> {
    let mut cmd = redis::cmd("SET");
    cmd.arg(&keys.stock).arg(stock.max(0));
    if !overwrite {
        cmd.arg("NX");
    }
    let written: Option<String> = cmd.query_async(conn).await?;
    Ok(written.is_some())
}

/// The stock counter as Redis holds it now (`None` when the goods is not warmed).
pub async fn stock<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &GoodsKeys,
) -> Result<Option<i64>> {
    Ok(redis::cmd("GET").arg(&keys.stock).query_async(conn).await?)
}
