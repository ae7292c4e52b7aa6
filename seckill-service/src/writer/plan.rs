//! What a verdict of the dedup table turns into, and the per-batch metrics.

use std::time::Instant;

use super::Mode;
use crate::compensate::Effect;
use crate::dedup::Verdict;
use crate::incoming::{Fate, Order, Settled};
use crate::metrics as m;

/// What to do with one message given its verdict.
pub(super) enum Plan<'a> {
    Write,
    /// Record FAILED and give the place back; the order the user holds, if any.
    Refuse(Option<String>),
    Effect(Effect<'a>),
    Settled(Settled),
}

pub(super) fn plan(order: &Order, verdict: Verdict, mode: Mode) -> Plan<'_> {
    match (verdict, mode) {
        (Verdict::New, Mode::Order) => Plan::Write,
        (Verdict::New, Mode::DeadLetter) => Plan::Refuse(None),
        (Verdict::RedeliveredSuccess { order_sn }, _) => Plan::Effect(Effect::Ordered {
            order,
            order_sn,
            fresh: false,
        }),
        (
            Verdict::RedeliveredFailure {
                stock_returned: false,
                holder_sn,
            },
            _,
        ) => Plan::Effect(Effect::Refused {
            order,
            holder_sn,
            fresh: false,
        }),
        (
            Verdict::RedeliveredFailure {
                stock_returned: true,
                ..
            },
            _,
        ) => Plan::Settled(Settled::Duplicate),
    }
}

pub(super) fn record_metrics(fates: &[Fate], fell_back: bool, started: Instant) {
    metrics::histogram!(m::BATCH_SIZE).record(fates.len() as f64);
    metrics::histogram!(m::BATCH_SECONDS).record(started.elapsed().as_secs_f64());
    if fell_back {
        metrics::counter!(m::BATCH_FALLBACKS).increment(1);
    }
    for fate in fates {
        match fate {
            Fate::Done(Settled::Ordered { .. }) => {
                metrics::counter!(m::ORDERS_WRITTEN).increment(1)
            }
            Fate::Done(Settled::Failed) => metrics::counter!(m::ORDERS_FAILED).increment(1),
            Fate::Done(Settled::Duplicate) => metrics::counter!(m::DUPLICATES).increment(1),
            Fate::Done(Settled::Poison) => {}
            Fate::RetryLater => metrics::counter!(m::RETRY_LATER).increment(1),
        }
    }
}
