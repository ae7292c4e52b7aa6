//! The Redis keys of one goods. They share the hash tag `{<goodsId>}`, so one Lua script may
//! touch all of them even on Redis Cluster (all land in the same slot).

use crate::{Error, Result};

/// The default prefix of every key; tests use their own to keep their data apart.
pub const DEFAULT_PREFIX: &str = "seckill";

/// The keys holding one goods' gate state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodsKeys {
    /// Remaining stock the gate may still hand out (a counter, never below zero).
    pub stock: String,
    /// Set of user ids holding a place for this goods: the per-user dedup marker.
    pub buyers: String,
    /// Hash user id → result (`PENDING`, `SUCCESS:<orderSn>`, `FAILED`).
    pub results: String,
    /// Hash user id → id of the gate request that took the place (scopes an undo).
    pub requests: String,
}

impl GoodsKeys {
    /// The keys of `goods_id` under `prefix` (e.g. `seckill:{7}:stock`).
    pub fn new(prefix: &str, goods_id: i64) -> Result<Self> {
        validate_prefix(prefix)?;
        let base = format!("{prefix}:{{{goods_id}}}");
        Ok(Self {
            stock: format!("{base}:stock"),
            buyers: format!("{base}:buyers"),
            results: format!("{base}:results"),
            requests: format!("{base}:requests"),
        })
    }

    /// All keys, for deleting a goods' state (tests, re-runs).
    pub fn all(&self) -> [&str; 4] {
        [&self.stock, &self.buyers, &self.results, &self.requests]
    }
}

/// Checks that `prefix` can stand before a hash tag: non-empty and brace-free.
pub fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() || prefix.contains(['{', '}']) {
        return Err(Error::InvalidPrefix(prefix.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_the_goods_hash_tag() {
        let keys = GoodsKeys::new("seckill", 42).unwrap_or_else(|e| panic!("{e}"));
        for key in keys.all() {
            assert!(key.starts_with("seckill:{42}:"), "{key}");
        }
    }

    #[test]
    fn braces_in_the_prefix_are_refused() {
        assert!(GoodsKeys::new("a{b", 1).is_err());
        assert!(GoodsKeys::new("", 1).is_err());
    }
}
