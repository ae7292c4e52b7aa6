//! The batched take and scoped give-back: many requests of ONE goods in one script run, with
//! exactly the answers of running the single-request scripts once per entry, in order.
//!
//! They exist for the gate's coalescer (seckill-web), which turns the requests that queued
//! while its previous batch was in flight into one Redis round trip per goods instead of one
//! per request. All keys of a run share the goods' hash tag, so it stays Redis-Cluster-safe.

use std::sync::LazyLock;

use redis::aio::ConnectionLike;

use super::{GiveBack, TakeOutcome, invocation};
use crate::keys::GoodsKeys;
use crate::{Error, Result};

static TAKE_MANY: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("../lua/take_many.lua")));
static GIVE_BACK_MANY: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("../lua/give_back_many.lua")));

/// Most entries one script run takes; longer slices are split into runs of this size. It
/// keeps every `unpack` of a run (two values per entry) far below Lua's C-stack limit (8000)
/// and one run short enough not to stall Redis for other clients.
pub const MAX_BATCH: usize = 512;

/// One request of a batch: the buyer and the id of the gate request acting for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim<'a> {
    /// The buyer.
    pub user_id: i64,
    /// The gate request's id, recorded with a taken place so an undo can be scoped to it.
    pub request_id: &'a str,
}

/// The claims of owned (user id, request id) pairs, e.g. places kept for an undo.
pub fn claims(places: &[(i64, String)]) -> Vec<Claim<'_>> {
    places
        .iter()
        .map(|(user_id, request_id)| Claim {
            user_id: *user_id,
            request_id,
        })
        .collect()
}

/// [`super::take`] for each claim, in order, one script run per [`MAX_BATCH`] claims:
/// answers one outcome per claim. A user claiming twice gets `Duplicate` the second time;
/// once the stock ran out the rest are `SoldOut` (or `Duplicate`) and leave no marker.
///
/// On an error some runs may have been applied (or a run whose answer was lost): undo with
/// [`give_back_requests`] over all the claims, which returns only what each request took.
pub async fn take_many<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &GoodsKeys,
    claims: &[Claim<'_>],
) -> Result<Vec<TakeOutcome>> {
    let mut outcomes = Vec::with_capacity(claims.len());
    for run in claims.chunks(MAX_BATCH) {
        let mut invocation = invocation(&TAKE_MANY, keys);
        for claim in run {
            invocation.arg(claim.user_id).arg(claim.request_id);
        }
        let answers: Vec<i64> = invocation.invoke_async(conn).await?;
        check_count("take_many", run.len(), answers.len())?;
        for answer in answers {
            outcomes.push(TakeOutcome::from_answer("take_many", answer)?);
        }
    }
    Ok(outcomes)
}

/// [`super::give_back_request`] for each claim: returns the place of each user only if that
/// claim's request took it (and still holds it). Idempotent, so a retry after an ambiguous
/// error is safe. Answers, per claim, whether its place was returned.
pub async fn give_back_requests<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &GoodsKeys,
    claims: &[Claim<'_>],
    how: GiveBack,
) -> Result<Vec<bool>> {
    let mut returned = Vec::with_capacity(claims.len());
    for run in claims.chunks(MAX_BATCH) {
        let mut invocation = invocation(&GIVE_BACK_MANY, keys);
        invocation.arg(how.mode());
        for claim in run {
            invocation.arg(claim.user_id).arg(claim.request_id);
        }
        let answers: Vec<i64> = invocation.invoke_async(conn).await?;
        check_count("give_back_many", run.len(), answers.len())?;
        returned.extend(answers.into_iter().map(|answer| answer == 1));
    }
    Ok(returned)
}

fn check_count(script: &'static str, expected: usize, answered: usize) -> Result<()> {
    if expected == answered {
        Ok(())
    } else {
        Err(Error::AnswerCount {
            script,
            expected,
            answered,
        })
    }
}
