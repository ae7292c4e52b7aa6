//! One gate batch: the Redis step per goods (one `take_many` run each, concurrently), then
//! one broker batch with every order taken, then the answers.
//!
//! Answers leave as soon as they are known: DUPLICATE, SOLD_OUT and NOT_FOUND right after the
//! Redis step, QUEUED only once the broker acknowledged the batch holding the order. A failed
//! send gives back every place of the batch (scoped by request id) before the 503s, so a
//! client reading Redis after its 503 finds it as before; a failed Redis step answers 503 at
//! once and undoes in the background (see [`super::undo`]).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures::future::join_all;
use seckill_order::gate::{self, Claim, TakeOutcome};
use seckill_order::{GoodsKeys, OrderMessage};
use tracing::Instrument;

use super::{GateAnswer, Pending, Waiter, undo};
use crate::error::AppError;
use crate::metrics;
use crate::sold_out::Observation;
use crate::state::AppState;

/// Runs the batch of `requests` to an answer for each.
pub(super) async fn run(state: &AppState, requests: Vec<Pending>) {
    // A request whose client left before its batch started took nothing: skip it.
    let live: Vec<Pending> = requests
        .into_iter()
        .filter(|pending| !pending.waiter.reply.is_closed())
        .collect();
    if live.is_empty() {
        return;
    }
    let span = tracing::debug_span!("gate_batch", requests = live.len());
    async {
        let seen = state.sold_out.observe();
        let takes = by_goods(live)
            .into_iter()
            .map(|(goods_id, requests)| take(state, goods_id, requests, seen));
        let held: Vec<(Waiter, OrderMessage)> =
            join_all(takes).await.into_iter().flatten().collect();
        publish(state, held).await;
    }
    .instrument(span)
    .await;
}

/// The requests grouped by goods, goods in order of first appearance and requests in arrival
/// order within each (the order `take_many` decides them in).
fn by_goods(requests: Vec<Pending>) -> Vec<(i64, Vec<Pending>)> {
    let mut groups: Vec<(i64, Vec<Pending>)> = Vec::new();
    for pending in requests {
        let goods_id = pending.waiter.ids.goods_id;
        match groups.iter_mut().find(|(id, _)| *id == goods_id) {
            Some((_, group)) => group.push(pending),
            None => groups.push((goods_id, vec![pending])),
        }
    }
    groups
}

/// The Redis step for the requests of one goods: answers those not taken and hands back the
/// taken ones with their order message.
async fn take(
    state: &AppState,
    goods_id: i64,
    requests: Vec<Pending>,
    seen: Observation,
) -> Vec<(Waiter, OrderMessage)> {
    let keys = match GoodsKeys::new(&state.settings.key_prefix, goods_id) {
        Ok(keys) => keys,
        // The prefix was validated when the state was built; still no panic path.
        Err(error) => {
            for pending in requests {
                pending.waiter.answer(Err(AppError::Redis(error.clone())));
            }
            return Vec::new();
        }
    };
    let claims: Vec<Claim<'_>> = requests
        .iter()
        .map(|pending| Claim {
            user_id: pending.waiter.ids.user_id,
            request_id: &pending.request_id,
        })
        .collect();
    metrics::batch_size("take", claims.len());
    let mut redis = state.redis.clone();
    let started = Instant::now();
    let outcomes = gate::take_many(&mut redis, &keys, &claims).await;
    metrics::redis_step("take", started, outcomes.is_ok());
    drop(claims);
    let outcomes = match outcomes {
        Ok(outcomes) => outcomes,
        Err(error) => {
            // The script may have run with only its answer lost (a timeout): undo whatever
            // these requests took. In the background, so the 503s do not wait out the undo's
            // own timeouts while Redis is failing (shutdown still waits for it).
            let places = requests
                .into_iter()
                .map(|pending| {
                    let user_id = pending.waiter.ids.user_id;
                    pending.waiter.answer(Err(AppError::Redis(error.clone())));
                    (user_id, pending.request_id)
                })
                .collect();
            state
                .tasks
                .spawn(undo::give_back_owned(state.clone(), goods_id, places));
            return Vec::new();
        }
    };
    let mut now_sold_out = false;
    let mut held = Vec::with_capacity(requests.len());
    let timestamp = unix_millis();
    for (pending, outcome) in requests.into_iter().zip(outcomes) {
        let Pending { request_id, waiter } = pending;
        let ids = waiter.ids;
        match outcome {
            TakeOutcome::NotFound => waiter.answer(Err(AppError::GoodsNotFound { goods_id })),
            TakeOutcome::Duplicate => waiter.answer(Ok(GateAnswer::Duplicate(ids))),
            TakeOutcome::SoldOut => {
                now_sold_out = true;
                waiter.answer(Ok(GateAnswer::SoldOut(ids)));
            }
            TakeOutcome::Taken { stock_left } => {
                // The last unit went: spare the next requests the round trip. A failed send
                // gives the unit back and clears the flag again.
                now_sold_out |= stock_left == 0;
                let order = OrderMessage {
                    goods_id,
                    user_id: ids.user_id,
                    request_id,
                    timestamp,
                };
                held.push((waiter, order));
            }
        }
    }
    if now_sold_out {
        state.sold_out.mark_sold_out(goods_id, seen);
    }
    held
}

/// Sends the orders taken in this batch as one broker batch; QUEUED for each once it is
/// acknowledged, else every place given back and 503 for each.
async fn publish(state: &AppState, held: Vec<(Waiter, OrderMessage)>) {
    if held.is_empty() {
        return;
    }
    let (waiters, orders): (Vec<Waiter>, Vec<OrderMessage>) = held.into_iter().unzip();
    metrics::batch_size("send", orders.len());
    let started = Instant::now();
    match state.publisher.publish_batch(&orders).await {
        Ok(receipts) => {
            let durable = receipts.iter().all(|receipt| receipt.durable);
            metrics::publish(started, if durable { "ok" } else { "ok_not_durable" });
            for ((waiter, order), receipt) in waiters.into_iter().zip(orders).zip(receipts) {
                waiter.span.in_scope(|| {
                    tracing::debug!(msg_id = %receipt.msg_id, request_id = %order.request_id, "queued");
                });
                let ids = waiter.ids;
                waiter.answer(Ok(GateAnswer::Queued {
                    ids,
                    request_id: order.request_id,
                }));
            }
        }
        Err(error) => {
            metrics::publish(started, error.label());
            tracing::warn!(%error, orders = orders.len(), "order batch not queued; giving the places back");
            undo::give_back_orders(state, &orders).await;
            for waiter in waiters {
                waiter.answer(Err(AppError::Publish(error.clone())));
            }
        }
    }
}

fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
