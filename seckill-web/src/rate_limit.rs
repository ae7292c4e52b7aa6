//! The optional per-user rate limit of `/seckill` (off by default): at most N requests per
//! user per one-second window, counted in this instance's memory.
//!
//! Why hand-written: a fixed window keyed by user id is a few lines over a sharded map, and the
//! gate needs nothing a token-bucket crate would add. Memory stays bounded by the users seen
//! in the current window: a shard sweeps stale windows when it grows.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Shards spread the lock over users, so concurrent users rarely contend.
const SHARDS: usize = 64;
/// A shard larger than this drops the entries of past windows on its next insert.
const SWEEP_ABOVE: usize = 4096;

/// A fixed one-second window per user.
#[derive(Debug)]
pub struct UserRateLimit {
    per_second: u32,
    started: Instant,
    shards: Vec<Mutex<HashMap<i64, Window>>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    second: u64,
    count: u32,
}

impl UserRateLimit {
    /// At most `per_second` requests per user and second.
    pub fn new(per_second: NonZeroU32) -> Self {
        Self {
            per_second: per_second.get(),
            started: Instant::now(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Counts one request of `user_id`; answers whether it is within the limit.
    pub fn allow(&self, user_id: i64) -> bool {
        self.allow_at(user_id, self.started.elapsed().as_secs())
    }

    fn allow_at(&self, user_id: i64, second: u64) -> bool {
        let index = usize::try_from(user_id.unsigned_abs() % SHARDS as u64).unwrap_or(0);
        let Some(shard) = self.shards.get(index) else {
            return true;
        };
        let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if shard.len() > SWEEP_ABOVE {
            shard.retain(|_, window| window.second == second);
        }
        let window = shard.entry(user_id).or_insert(Window { second, count: 0 });
        if window.second != second {
            *window = Window { second, count: 0 };
        }
        if window.count >= self.per_second {
            return false;
        }
        window.count += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(n: u32) -> UserRateLimit {
        UserRateLimit::new(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
    }

    #[test]
    fn a_user_gets_n_requests_per_window_and_a_new_window_resets() {
        let limit = limit(2);
        assert!(limit.allow_at(7, 10));
        assert!(limit.allow_at(7, 10));
        assert!(!limit.allow_at(7, 10));
        assert!(limit.allow_at(8, 10), "other users have their own budget");
        assert!(limit.allow_at(7, 11));
    }

    #[test]
    fn stale_windows_are_swept_when_a_shard_grows() {
        let limit = limit(1);
        // All these users land in shard 0.
        for user in 0..(SWEEP_ABOVE as i64 + 2) {
            assert!(limit.allow_at(user * SHARDS as i64, 1));
        }
        assert!(limit.allow_at(0, 2));
        let size = limit.shards[0]
            .lock()
            .map(|s| s.len())
            .unwrap_or(usize::MAX);
        assert!(size <= 2, "past windows swept, {size} left");
    }
}
