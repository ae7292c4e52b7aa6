//! The local sold-out flag per goods: once Redis answered `SOLD_OUT`, this instance answers
//! `SOLD_OUT` for that goods without a Redis round trip, until stock comes back (a
//! [`StockReturned`] event, or a give-back by this instance) or the flag expires.
//!
//! The expiry is the safety net for a missed event (broadcast consumers do not retry) and for
//! stock given back by another gate instance, which publishes no event.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use seckill_order::StockReturned;

/// Flags beyond this many goods make a mark sweep expired ones first, so a long run over many
/// goods cannot grow the map without bound.
const SWEEP_ABOVE: usize = 1024;

/// Per-goods sold-out flags with an expiry, shared by all requests of one instance.
#[derive(Debug)]
pub struct SoldOutFlags {
    /// `None`: flags disabled (every request asks Redis).
    ttl: Option<Duration>,
    state: RwLock<Flags>,
}

#[derive(Debug, Default)]
struct Flags {
    /// Bumped by every clear: a `SOLD_OUT` answer read before a clear must not set the flag
    /// again after it (the stock it saw as zero has since come back).
    epoch: u64,
    until: HashMap<i64, Instant>,
}

/// What a request saw of the flags before it asked Redis; see [`SoldOutFlags::mark_sold_out`].
#[derive(Debug, Clone, Copy)]
pub struct Observation(u64);

impl SoldOutFlags {
    /// Flags that expire `ttl` after being set; a zero `ttl` disables them.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl: (!ttl.is_zero()).then_some(ttl),
            state: RwLock::new(Flags::default()),
        }
    }

    /// Whether the flag of `goods_id` is set and not expired.
    pub fn is_sold_out(&self, goods_id: i64) -> bool {
        if self.ttl.is_none() {
            return false;
        }
        let flags = self.state.read().unwrap_or_else(PoisonError::into_inner);
        flags
            .until
            .get(&goods_id)
            .is_some_and(|until| Instant::now() < *until)
    }

    /// Taken before the Redis step, handed back to [`Self::mark_sold_out`].
    pub fn observe(&self) -> Observation {
        Observation(
            self.state
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .epoch,
        )
    }

    /// Sets the flag of `goods_id` after Redis answered `SOLD_OUT`, unless stock came back
    /// (a clear) since `seen` was observed. Answers whether the flag was set.
    pub fn mark_sold_out(&self, goods_id: i64, seen: Observation) -> bool {
        let Some(ttl) = self.ttl else {
            return false;
        };
        let mut flags = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if flags.epoch != seen.0 {
            return false;
        }
        let now = Instant::now();
        if flags.until.len() >= SWEEP_ABOVE {
            flags.until.retain(|_, until| now < *until);
        }
        flags.until.insert(goods_id, now + ttl);
        true
    }

    /// Clears the flag of `goods_id`: stock came back, so Redis must be asked again.
    pub fn clear(&self, goods_id: i64) {
        let mut flags = self.state.write().unwrap_or_else(PoisonError::into_inner);
        flags.epoch = flags.epoch.wrapping_add(1);
        flags.until.remove(&goods_id);
    }
}

/// What the broadcasting consumer of the stock-returned topic calls for each event.
pub fn on_stock_returned(flags: &SoldOutFlags, event: StockReturned) {
    tracing::debug!(
        goods_id = event.goods_id,
        "stock returned: sold-out flag cleared"
    );
    flags.clear(event.goods_id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_is_set_read_and_cleared_by_a_stock_returned_event() {
        let flags = SoldOutFlags::new(Duration::from_secs(60));
        assert!(!flags.is_sold_out(1));
        assert!(flags.mark_sold_out(1, flags.observe()));
        assert!(flags.is_sold_out(1));
        assert!(!flags.is_sold_out(2), "flags are per goods");
        on_stock_returned(&flags, StockReturned { goods_id: 1 });
        assert!(!flags.is_sold_out(1));
    }

    #[test]
    fn a_sold_out_answer_older_than_a_clear_does_not_set_the_flag() {
        let flags = SoldOutFlags::new(Duration::from_secs(60));
        let seen = flags.observe();
        flags.clear(1);
        assert!(!flags.mark_sold_out(1, seen));
        assert!(!flags.is_sold_out(1));
    }

    #[test]
    fn a_flag_expires_after_its_ttl() {
        let flags = SoldOutFlags::new(Duration::from_millis(20));
        assert!(flags.mark_sold_out(5, flags.observe()));
        assert!(flags.is_sold_out(5));
        std::thread::sleep(Duration::from_millis(40));
        assert!(!flags.is_sold_out(5));
    }

    #[test]
    fn a_zero_ttl_disables_the_flags() {
        let flags = SoldOutFlags::new(Duration::ZERO);
        assert!(!flags.mark_sold_out(1, flags.observe()));
        assert!(!flags.is_sold_out(1));
    }
}
