//! What happens in Redis after MySQL committed: the buyer's result (SUCCESS + orderSn), and for
//! a refused order the compensation — the place given back (`gate::give_back(Failed)`: one
//! unit of stock back, marker removed, result FAILED), the dedup row marked `stock_returned`, and a
//! stock-returned event noted (see [`crate::events`]) so every gate clears its sold-out flag.
//!
//! Every step is safe to repeat: a message whose Redis step failed answers "retry later", and
//! its redelivery finds the committed dedup row and repeats only the Redis step.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::future::join_all;
use redis::aio::ConnectionManager;
use seckill_order::gate::{self, GiveBack};
use seckill_order::{GoodsKeys, result};
use sqlx::{MySql, MySqlPool, QueryBuilder};

use crate::events::StockEvents;
use crate::incoming::{Fate, Order, Settled};
use crate::metrics as m;

/// One message's Redis work after the commit.
#[derive(Debug)]
pub(crate) enum Effect<'a> {
    /// The order exists: record SUCCESS. `fresh` when this call wrote it (else a redelivery).
    Ordered {
        order: &'a Order,
        order_sn: Option<String>,
        fresh: bool,
    },
    /// The attempt is refused and recorded FAILED: give its place back. `holder_sn` is the
    /// order the user already holds from another attempt, recorded again as their result.
    Refused {
        order: &'a Order,
        holder_sn: Option<String>,
        fresh: bool,
    },
}

/// Where compensation writes: Redis, the dedup table, the pending stock-returned events.
#[derive(Debug, Clone)]
pub(crate) struct Compensator {
    pub(crate) redis: ConnectionManager,
    pub(crate) pool: MySqlPool,
    pub(crate) prefix: String,
    pub(crate) events: Arc<StockEvents>,
}

impl Compensator {
    /// Runs the effects concurrently (the connection pipelines them) and answers each
    /// message's fate, in the order given.
    pub(crate) async fn apply(&self, effects: Vec<Effect<'_>>) -> Vec<Fate> {
        let fates = join_all(effects.iter().map(|e| self.apply_one(e))).await;
        let mut returned_keys = Vec::new();
        let mut returned_goods = BTreeSet::new();
        let fates = fates
            .into_iter()
            .zip(&effects)
            .map(|(outcome, effect)| match outcome {
                Ok(Step::Done(settled)) => Fate::Done(settled),
                Ok(Step::GaveBack { settled, returned }) => {
                    if let Effect::Refused { order, .. } = effect {
                        returned_keys.push(order.attempt_key.as_str());
                        if returned {
                            returned_goods.insert(order.msg.goods_id);
                        }
                    }
                    Fate::Done(settled)
                }
                Err(err) => {
                    tracing::warn!(error = %err, "redis step after commit failed; the message will be redelivered");
                    Fate::RetryLater
                }
            })
            .collect();
        self.mark_returned(&returned_keys).await;
        for goods_id in returned_goods {
            self.events.announce(goods_id);
        }
        fates
    }

    async fn apply_one(&self, effect: &Effect<'_>) -> Result<Step, seckill_order::Error> {
        let mut redis = self.redis.clone();
        match effect {
            Effect::Ordered {
                order,
                order_sn,
                fresh,
            } => {
                if let Some(sn) = order_sn {
                    let keys = GoodsKeys::new(&self.prefix, order.msg.goods_id)?;
                    result::record_success(&mut redis, &keys, order.msg.user_id, sn).await?;
                }
                Ok(Step::Done(match (fresh, order_sn) {
                    (true, Some(sn)) => Settled::Ordered {
                        order_sn: sn.clone(),
                    },
                    _ => Settled::Duplicate,
                }))
            }
            Effect::Refused {
                order,
                holder_sn,
                fresh,
            } => {
                let keys = GoodsKeys::new(&self.prefix, order.msg.goods_id)?;
                let returned =
                    gate::give_back(&mut redis, &keys, order.msg.user_id, GiveBack::Failed).await?;
                if returned {
                    metrics::counter!(m::STOCK_RETURNED).increment(1);
                }
                if let Some(sn) = holder_sn {
                    // The user does hold an order: give_back wrote FAILED, the truth is SUCCESS.
                    result::record_success(&mut redis, &keys, order.msg.user_id, sn).await?;
                }
                let settled = if *fresh {
                    Settled::Failed
                } else {
                    Settled::Duplicate
                };
                Ok(Step::GaveBack { settled, returned })
            }
        }
    }

    /// Marks refused attempts whose place was given back, so their redelivery does not give
    /// back again (the user may have taken a new place since). A failure here only widens
    /// that window: the give-back itself is guarded by the user's marker.
    async fn mark_returned(&self, attempt_keys: &[&str]) {
        if attempt_keys.is_empty() {
            return;
        }
        let mut query = QueryBuilder::<MySql>::new(
            "UPDATE order_dedup SET stock_returned = 1 WHERE biz_key IN (",
        );
        let mut keys = query.separated(", ");
        for key in attempt_keys {
            keys.push_bind(*key);
        }
        query.push(")");
        if let Err(err) = query.build().execute(&self.pool).await {
            tracing::warn!(error = %err, "could not mark given-back stock in the dedup table");
        }
    }
}

enum Step {
    Done(Settled),
    GaveBack { settled: Settled, returned: bool },
}
