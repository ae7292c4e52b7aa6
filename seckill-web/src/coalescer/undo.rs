//! Giving places back: the undo of a batch whose orders the broker did not acknowledge, or
//! whose Redis step failed with its answer possibly lost.
//!
//! Every undo is scoped to the request ids that took the places and is idempotent, so a retry
//! after an ambiguous Redis error can neither return a unit twice nor undo a place another
//! request holds. A goods whose places came back has its sold-out flag cleared.

use std::time::{Duration, Instant};

use futures::future::join_all;
use seckill_order::gate::{self, Claim, GiveBack};
use seckill_order::{GoodsKeys, OrderMessage};

use crate::metrics;
use crate::state::AppState;

/// Pauses before the give-back attempts: a Redis blip should not leak stock, but a request
/// must not wait long for its 503 either.
const GIVE_BACK_PAUSES: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(50),
    Duration::from_millis(250),
];

/// Gives back the places of `orders` (any goods), one scoped run per goods, concurrently.
pub(super) async fn give_back_orders(state: &AppState, orders: &[OrderMessage]) {
    let mut goods: Vec<i64> = orders.iter().map(|order| order.goods_id).collect();
    goods.sort_unstable();
    goods.dedup();
    let undos = goods.into_iter().map(|goods_id| async move {
        let claims: Vec<Claim<'_>> = orders
            .iter()
            .filter(|order| order.goods_id == goods_id)
            .map(|order| Claim {
                user_id: order.user_id,
                request_id: &order.request_id,
            })
            .collect();
        give_back(state, goods_id, &claims).await;
    });
    join_all(undos).await;
}

/// [`give_back`] for places held as owned (user id, request id) pairs, for a spawned task.
pub(super) async fn give_back_owned(state: AppState, goods_id: i64, places: Vec<(i64, String)>) {
    give_back(&state, goods_id, &gate::claims(&places)).await;
}

/// Returns the places `claims` took on `goods_id`, retrying a failing Redis a few times;
/// counted and logged as leaked if it never answers.
async fn give_back(state: &AppState, goods_id: i64, claims: &[Claim<'_>]) {
    let mut redis = state.redis.clone();
    let keys = GoodsKeys::new(&state.settings.key_prefix, goods_id);
    for pause in GIVE_BACK_PAUSES {
        tokio::time::sleep(pause).await;
        let started = Instant::now();
        let returned = match &keys {
            Ok(keys) => gate::give_back_requests(&mut redis, keys, claims, GiveBack::Forget).await,
            // The prefix was validated when the state was built: not reached.
            Err(error) => Err(error.clone()),
        };
        metrics::redis_step("give_back", started, returned.is_ok());
        match returned {
            Ok(returned) => {
                let places = returned.iter().filter(|given| **given).count();
                tracing::debug!(goods_id, places, "places given back");
                state.sold_out.clear(goods_id);
                return;
            }
            Err(error) => tracing::warn!(%error, goods_id, "give-back failed; retrying"),
        }
    }
    metrics::give_back_failed(claims.len());
    tracing::error!(
        goods_id,
        places = claims.len(),
        "places not given back: their stock units are held for nobody"
    );
}
