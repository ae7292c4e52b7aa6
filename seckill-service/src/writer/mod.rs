//! The order writer: turns a batch of order messages into MySQL rows exactly once and answers
//! each message's fate. It knows nothing of the broker; the consumer hands it
//! [`IncomingOrder`]s (usually through [`crate::batcher::Batcher`]) and commits offsets only
//! after it answered.
//!
//! A batch: parse (invalid bodies are poison: logged, settled, never retried) → dedup (bloom,
//! then one table read for the "maybe seen") → one transaction for everything new → Redis
//! results and compensation. A transaction that cannot apply as a whole (a unique key hit,
//! because another instance wrote a key this filter did not know) falls back to one
//! transaction per message, so one bad message never blocks the rest. A transient database
//! error (unreachable, deadlock) answers "retry later" for the batch instead.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use redis::aio::ConnectionManager;
use sqlx::MySqlPool;

use crate::compensate::{Compensator, Effect};
use crate::dedup::{self, Dedup};
use crate::error::{Error, Result, is_transient};
use crate::events::StockEvents;
use crate::incoming::{BatchOutcome, Fate, IncomingOrder, Order, Settled};
use crate::metrics as m;
use crate::tx;

mod alone;
mod plan;

use plan::{Plan, plan, record_metrics};

/// What a settled-as-new message is turned into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Normal consumption: write the order.
    Order,
    /// A dead letter (retries exhausted): refuse it and give its place back.
    DeadLetter,
}

/// Writes order messages to MySQL and settles their Redis state.
#[derive(Debug, Clone)]
pub struct OrderWriter {
    pool: MySqlPool,
    dedup: Arc<Dedup>,
    compensator: Compensator,
}

impl OrderWriter {
    /// A writer over `pool` and `redis`, with keys under `prefix`. `dedup` is usually
    /// [`Dedup::rebuild`]'s; refused orders' goods are noted in `events` for the publisher.
    pub fn new(
        pool: MySqlPool,
        redis: ConnectionManager,
        prefix: &str,
        dedup: Arc<Dedup>,
        events: Arc<StockEvents>,
    ) -> Result<Self> {
        seckill_order::keys::validate_prefix(prefix).map_err(Error::Redis)?;
        Ok(Self {
            compensator: Compensator {
                redis,
                pool: pool.clone(),
                prefix: prefix.to_owned(),
                events,
            },
            pool,
            dedup,
        })
    }

    /// The bloom filter (for its metrics).
    pub fn dedup(&self) -> &Dedup {
        &self.dedup
    }

    /// Writes a batch of order messages; one fate per message, in order.
    pub async fn write_batch(&self, batch: Vec<IncomingOrder>) -> BatchOutcome {
        self.settle(batch, Mode::Order).await
    }

    /// Settles messages from `%DLQ%<group>`: an order already written keeps its result; any
    /// other is refused and compensated (stock given back, FAILED) like a permanent failure.
    pub async fn write_dead_letters(&self, batch: Vec<IncomingOrder>) -> BatchOutcome {
        self.settle(batch, Mode::DeadLetter).await
    }

    async fn settle(&self, batch: Vec<IncomingOrder>, mode: Mode) -> BatchOutcome {
        let started = Instant::now();
        let mut fates = vec![Fate::RetryLater; batch.len()];
        // First message of each business key; repeats of the same attempt share its fate;
        // another attempt of the same key waits for the batch and goes alone.
        let mut primaries: Vec<(usize, Order)> = Vec::with_capacity(batch.len());
        let mut echoes: Vec<(usize, usize)> = Vec::new();
        let mut alone: Vec<(usize, Order)> = Vec::new();
        let mut first_of: HashMap<String, (usize, String)> = HashMap::new();
        for (i, incoming) in batch.iter().enumerate() {
            let order = match Order::parse(incoming) {
                Ok(order) => order,
                Err(reason) => {
                    tracing::warn!(msg_id = %incoming.msg_id, reconsume_times = incoming.reconsume_times,
                        %reason, "poison order message dropped");
                    metrics::counter!(m::POISON).increment(1);
                    fates[i] = Fate::Done(Settled::Poison);
                    continue;
                }
            };
            match first_of.get(&order.biz_key) {
                Some((first, request_id)) if *request_id == order.msg.request_id => {
                    echoes.push((i, *first));
                }
                Some(_) => alone.push((i, order)),
                // Dead letters are rare and must check for an order of another attempt: they
                // all go alone.
                None if mode == Mode::DeadLetter => alone.push((i, order)),
                None => {
                    first_of.insert(order.biz_key.clone(), (i, order.msg.request_id.clone()));
                    primaries.push((i, order));
                }
            }
        }

        let fell_back = self.settle_batch(&primaries, &mut fates).await;
        for (i, order) in &alone {
            match self.settle_alone(order, mode).await {
                Ok(fate) => fates[*i] = fate,
                Err(alone::Down) => break,
            }
        }
        for (i, first) in echoes {
            fates[i] = match fates[first] {
                Fate::Done(_) => Fate::Done(Settled::Duplicate),
                Fate::RetryLater => Fate::RetryLater,
            };
        }
        record_metrics(&fates, fell_back, started);
        BatchOutcome { fates, fell_back }
    }

    /// Settles distinct business keys in one transaction; answers whether it fell back.
    async fn settle_batch(&self, primaries: &[(usize, Order)], fates: &mut [Fate]) -> bool {
        if primaries.is_empty() {
            return false;
        }
        // Layer 1: the bloom filter clears what is certainly new without a read.
        let maybe: Vec<&Order> = primaries
            .iter()
            .map(|(_, o)| o)
            .filter(|o| self.dedup.maybe_seen(&o.attempt_key))
            .collect();
        // Layer 2: one read settles the "maybe seen".
        let rows = match dedup::lookup(&self.pool, &maybe).await {
            Ok(rows) => rows,
            Err(err) => {
                tracing::warn!(error = %err, "dedup lookup failed; the batch will be redelivered");
                return false;
            }
        };
        let mut to_order = Vec::new();
        let mut effects = Vec::new();
        let mut slots = Vec::new();
        for (i, order) in primaries {
            match plan(order, dedup::verdict(order, &rows), Mode::Order) {
                Plan::Write => to_order.push(order),
                Plan::Effect(effect) => {
                    effects.push(effect);
                    slots.push(*i);
                }
                Plan::Settled(settled) => fates[*i] = Fate::Done(settled),
                // Only dead letters are refused unread, and they never come this way.
                Plan::Refuse(_) => fates[*i] = Fate::RetryLater,
            }
        }
        let slot_of: HashMap<&str, usize> = primaries
            .iter()
            .map(|(i, o)| (o.attempt_key.as_str(), *i))
            .collect();
        let mut fell_back = false;
        match tx::write(&self.pool, &to_order, &[]).await {
            Ok(written) => {
                self.remember(&written);
                for (order, sn) in written.ordered {
                    effects.push(Effect::Ordered {
                        order,
                        order_sn: Some(sn),
                        fresh: true,
                    });
                    slots.push(
                        slot_of
                            .get(order.attempt_key.as_str())
                            .copied()
                            .unwrap_or(usize::MAX),
                    );
                }
                for order in written.stock_refused {
                    effects.push(Effect::Refused {
                        order,
                        holder_sn: None,
                        fresh: true,
                    });
                    slots.push(
                        slot_of
                            .get(order.attempt_key.as_str())
                            .copied()
                            .unwrap_or(usize::MAX),
                    );
                }
            }
            Err(err) if is_transient(&err) => {
                tracing::warn!(error = %err, "batch transaction failed transiently; it will be redelivered");
            }
            Err(err) => {
                tracing::info!(error = %err, messages = to_order.len(),
                    "batch cannot apply as a whole; writing its messages one by one");
                fell_back = true;
                for order in &to_order {
                    let Some(&slot) = slot_of.get(order.attempt_key.as_str()) else {
                        continue;
                    };
                    match self.settle_alone(order, Mode::Order).await {
                        Ok(fate) => fates[slot] = fate,
                        // The rest stay "retry later" rather than each waiting out a timeout.
                        Err(alone::Down) => break,
                    }
                }
            }
        }
        for (slot, fate) in slots.into_iter().zip(self.compensator.apply(effects).await) {
            if let Some(f) = fates.get_mut(slot) {
                *f = fate;
            }
        }
        fell_back
    }
    async fn apply_one(&self, effect: Effect<'_>) -> Fate {
        self.compensator
            .apply(vec![effect])
            .await
            .pop()
            .unwrap_or(Fate::RetryLater)
    }

    /// Feeds the keys a transaction committed to the bloom filter.
    fn remember(&self, written: &tx::Written<'_>) {
        for (order, _) in &written.ordered {
            self.dedup.insert(&order.attempt_key);
        }
        for order in &written.stock_refused {
            self.dedup.insert(&order.attempt_key);
        }
        self.dedup.export_metrics();
    }
}
