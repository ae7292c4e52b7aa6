//! The per-message path: one message in its own transaction, trusting only the tables —
//! the fallback of a batch that could not apply as a whole, dead letters, and a second
//! attempt of one business key within a batch.

use super::plan::{Plan, plan};
use super::{Mode, OrderWriter};
use crate::compensate::Effect;
use crate::dedup;
use crate::error::{is_transient, is_unique_violation};
use crate::incoming::{Fate, Order};
use crate::tx;

/// MySQL or Redis looks unavailable: the caller stops trying further messages one by one
/// (each would wait out its own timeout) and leaves them to be redelivered.
#[derive(Debug)]
pub(super) struct Down;

impl OrderWriter {
    /// Settles one message in its own transaction.
    pub(super) async fn settle_alone(&self, order: &Order, mode: Mode) -> Result<Fate, Down> {
        // Twice: a unique key hit on the first write means another instance settled the
        // attempt meanwhile, and the second read finds it.
        for _ in 0..2 {
            let verdict = match dedup::lookup(&self.pool, &[order]).await {
                Ok(rows) => dedup::verdict(order, &rows),
                Err(err) => return give_up(order, &err),
            };
            let mut planned = plan(order, verdict, mode);
            if matches!(planned, Plan::Write | Plan::Refuse(None)) {
                // An order of another attempt (or one written without a dedup row): the user
                // holds it; refuse this attempt and give its place back.
                match tx::existing_order_sn(&self.pool, order.msg.goods_id, order.msg.user_id).await
                {
                    Ok(Some(sn)) => planned = Plan::Refuse(Some(sn)),
                    Ok(None) => {}
                    Err(err) => return give_up(order, &err),
                }
            }
            let written = match planned {
                Plan::Write => tx::write(&self.pool, &[order], &[]).await,
                Plan::Refuse(holder_sn) => {
                    let refusal = [(order, holder_sn.clone())];
                    match tx::write(&self.pool, &[], &refusal).await {
                        Ok(_) => {
                            self.dedup.insert(&order.attempt_key);
                            let effect = Effect::Refused {
                                order,
                                holder_sn,
                                fresh: true,
                            };
                            return self.redis_step(effect).await;
                        }
                        Err(err) => Err(err),
                    }
                }
                Plan::Effect(effect) => return self.redis_step(effect).await,
                Plan::Settled(settled) => return Ok(Fate::Done(settled)),
            };
            match written {
                Ok(written) => {
                    self.remember(&written);
                    let effect = match written.ordered.into_iter().next() {
                        Some((order, sn)) => Effect::Ordered {
                            order,
                            order_sn: Some(sn),
                            fresh: true,
                        },
                        None => Effect::Refused {
                            order,
                            holder_sn: None,
                            fresh: true,
                        },
                    };
                    return self.redis_step(effect).await;
                }
                Err(err) if is_unique_violation(&err) => continue,
                Err(err) => return give_up(order, &err),
            }
        }
        tracing::warn!(msg_id = %order.msg_id, "unique key hit twice without a row to explain it; retrying later");
        Ok(Fate::RetryLater)
    }

    /// The Redis step of one message; a failure means Redis is unavailable.
    async fn redis_step(&self, effect: Effect<'_>) -> Result<Fate, Down> {
        match self.apply_one(effect).await {
            Fate::RetryLater => Err(Down),
            settled => Ok(settled),
        }
    }
}

/// A transient error means MySQL is unavailable; any other leaves only this message for later.
fn give_up(order: &Order, err: &sqlx::Error) -> Result<Fate, Down> {
    tracing::warn!(msg_id = %order.msg_id, error = %err, "order not written; it will be redelivered");
    if is_transient(err) {
        Err(Down)
    } else {
        Ok(Fate::RetryLater)
    }
}
