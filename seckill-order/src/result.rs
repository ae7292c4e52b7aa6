//! The per-user result a buyer polls after `QUEUED` (the seed's "check your orders later").
//!
//! It is read from the user's field of the goods' results hash, which also is the user's place
//! (see [`crate::keys::GoodsKeys::results`]): `PENDING:<requestId>`, `SUCCESS:<orderSn>` or
//! `FAILED`. A bare `PENDING` (written before the request id moved into the field) reads as
//! pending too.

use redis::aio::ConnectionLike;

use crate::Result;
use crate::keys::GoodsKeys;

/// Where a user's order stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderResult {
    /// Queued, not written yet.
    Pending,
    /// Written to MySQL under this order number.
    Success {
        /// The order number (`order_records.order_sn`).
        order_sn: String,
    },
    /// Refused after queueing; the stock was given back.
    Failed,
    /// The user has no order for this goods.
    None,
}

impl OrderResult {
    /// The stable machine-readable status string of the HTTP API.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Success { .. } => "SUCCESS",
            Self::Failed => "FAILED",
            Self::None => "NONE",
        }
    }

    /// Reads a user's stored field (`None`: no field).
    pub fn parse(stored: Option<&str>) -> Self {
        match stored {
            None => Self::None,
            Some("FAILED") => Self::Failed,
            Some(other) if other.starts_with(PENDING) => Self::Pending,
            Some(other) => match other.strip_prefix("SUCCESS:") {
                Some(order_sn) => Self::Success {
                    order_sn: order_sn.to_owned(),
                },
                None => Self::None,
            },
        }
    }

    /// The result as a tool shows it: the stored field without the request id of a pending
    /// place (`PENDING`, `SUCCESS:<orderSn>`, `FAILED`; an unknown value as it is).
    pub fn display(stored: &str) -> String {
        if stored.starts_with(PENDING) {
            PENDING.to_owned()
        } else {
            stored.to_owned()
        }
    }
}

/// How every pending place's field starts (`PENDING:<requestId>`).
const PENDING: &str = "PENDING";

/// Whether a user's stored field is a held place, the dedup marker: any value but `FAILED`.
pub fn holds_place(stored: &str) -> bool {
    stored != "FAILED"
}

/// Reads `user_id`'s result for the goods of `keys`.
pub async fn get<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &GoodsKeys,
    user_id: i64,
) -> Result<OrderResult> {
    let stored: Option<String> = redis::cmd("HGET")
        .arg(&keys.results)
        .arg(user_id)
        .query_async(conn)
        .await?;
    Ok(OrderResult::parse(stored.as_deref()))
}

/// Records that `user_id`'s order was written as `order_sn` (the place stays taken, now by a
/// written order).
pub async fn record_success<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &GoodsKeys,
    user_id: i64,
    order_sn: &str,
) -> Result<()> {
    let () = redis::cmd("HSET")
        .arg(&keys.results)
        .arg(user_id)
        .arg(format!("SUCCESS:{order_sn}"))
        .query_async(conn)
        .await
        .map(|_: i64| ())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_results_parse_to_their_status() {
        assert_eq!(OrderResult::parse(None), OrderResult::None);
        assert_eq!(OrderResult::parse(Some("PENDING")).status(), "PENDING");
        assert_eq!(
            OrderResult::parse(Some("PENDING:0194f1c2-7a3b")).status(),
            "PENDING"
        );
        assert_eq!(OrderResult::display("PENDING:0194f1c2-7a3b"), "PENDING");
        assert_eq!(OrderResult::display("SUCCESS:sn-1"), "SUCCESS:sn-1");
        assert!(holds_place("PENDING:r") && holds_place("SUCCESS:sn-1"));
        assert!(!holds_place("FAILED"));
        assert_eq!(OrderResult::parse(Some("FAILED")).status(), "FAILED");
        assert_eq!(
            OrderResult::parse(Some("SUCCESS:sn-1")),
            OrderResult::Success {
                order_sn: "sn-1".into()
            }
        );
    }
}
