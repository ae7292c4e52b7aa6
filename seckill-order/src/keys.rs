//! The Redis keys of one goods. They share the hash tag `{<goodsId>}`, so one Lua script may
//! touch all of them even on Redis Cluster (all land in the same slot).

use crate::{Error, Result};

/// The default prefix of every key; tests use their own to keep their data apart.
pub const DEFAULT_PREFIX: &str = "seckill";

/// The keys holding one goods' gate state.
///
/// A buyer costs one field of one hash, [`Self::results`], which is the per-user dedup marker,
/// the result the buyer polls and the id of the request that took the place at once (see
/// [`crate::result`] for the values). One field instead of a set member and two hash fields
/// keeps the gate's Lua step to one write per buyer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodsKeys {
    /// Remaining stock the gate may still hand out (a counter, never below zero).
    pub stock: String,
    /// Hash user id → the user's place and result: `PENDING:<requestId>` (a place taken by
    /// that gate request, order not written yet), `SUCCESS:<orderSn>` (a place whose order is
    /// written) or `FAILED` (no place: given back after the order was refused). A field other
    /// than `FAILED` is the dedup marker; no field means the user holds nothing.
    pub results: String,
}

impl GoodsKeys {
    /// The keys of `goods_id` under `prefix` (e.g. `seckill:{7}:stock`).
    pub fn new(prefix: &str, goods_id: i64) -> Result<Self> {
        validate_prefix(prefix)?;
        let base = format!("{prefix}:{{{goods_id}}}");
        Ok(Self {
            stock: format!("{base}:stock"),
            results: format!("{base}:results"),
        })
    }

    /// All keys, for deleting a goods' state (tests, re-runs).
    pub fn all(&self) -> [&str; 2] {
        [&self.stock, &self.results]
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
