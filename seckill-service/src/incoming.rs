//! What the writer is handed (a message's id, body and retry count), what it answers per
//! message, and how a body becomes a validated order with its dedup keys and order number.

use bytes::Bytes;
use seckill_order::OrderMessage;

/// Longest requestId accepted (the width of `order_dedup.request_id`).
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// One order message as the consumer received it.
#[derive(Debug, Clone)]
pub struct IncomingOrder {
    /// The broker's message id, for logs and the dedup row.
    pub msg_id: String,
    /// The JSON body ([`OrderMessage`]).
    pub body: Bytes,
    /// How often the broker already redelivered it after a `ReconsumeLater`.
    pub reconsume_times: i32,
}

impl IncomingOrder {
    /// An incoming message from its parts.
    pub fn new(msg_id: impl Into<String>, body: impl Into<Bytes>, reconsume_times: i32) -> Self {
        Self {
            msg_id: msg_id.into(),
            body: body.into(),
            reconsume_times,
        }
    }
}

/// The fate of one message: settled (the consumer may commit its offset) or retry later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Settled for good; redelivering it would change nothing.
    Done(Settled),
    /// A transient failure (MySQL or Redis unavailable, deadlock): redeliver it later.
    RetryLater,
}

/// How a message was settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// This message made the order.
    Ordered {
        /// The order number written.
        order_sn: String,
    },
    /// The order could not be made (stock exhausted in MySQL, or the user already holds an
    /// order from another attempt): the Redis place was given back and the user reads
    /// `FAILED` (or `SUCCESS` of the order they already hold).
    Failed,
    /// A redelivery of a message that was already settled.
    Duplicate,
    /// The body is not a valid order; logged with its msgId and dropped.
    Poison,
}

/// What one batch came to.
#[derive(Debug, Clone, Default)]
pub struct BatchOutcome {
    /// One fate per message, in the order they were handed in.
    pub fates: Vec<Fate>,
    /// Whether the batch transaction could not apply as a whole and the messages were written
    /// one by one.
    pub fell_back: bool,
}

impl BatchOutcome {
    /// Whether every message is settled, so the consumer may acknowledge all of them.
    pub fn all_done(&self) -> bool {
        self.fates.iter().all(|f| matches!(f, Fate::Done(_)))
    }
}

/// A message whose body is a valid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Order {
    /// The message id (for the dedup row and logs).
    pub msg_id: String,
    /// The parsed body.
    pub msg: OrderMessage,
    /// `<goodsId>-<userId>`: the business key (one order per key).
    pub biz_key: String,
    /// `<goodsId>-<userId>#<requestId>`: the dedup key of this attempt.
    pub attempt_key: String,
}

impl Order {
    /// Parses and validates a body; the error says why it is poison.
    pub fn parse(incoming: &IncomingOrder) -> Result<Self, String> {
        let msg = OrderMessage::from_json(&incoming.body).map_err(|e| e.to_string())?;
        if msg.goods_id <= 0 || msg.user_id <= 0 {
            return Err(format!(
                "goodsId {} and userId {} must be positive",
                msg.goods_id, msg.user_id
            ));
        }
        if msg.request_id.is_empty() || msg.request_id.len() > MAX_REQUEST_ID_LEN {
            return Err(format!(
                "requestId must have 1 to {MAX_REQUEST_ID_LEN} bytes, it has {}",
                msg.request_id.len()
            ));
        }
        let biz_key = msg.biz_key();
        let attempt_key = attempt_key(&biz_key, &msg.request_id);
        Ok(Self {
            msg_id: incoming.msg_id.clone(),
            msg,
            biz_key,
            attempt_key,
        })
    }

    /// The order number: derived from the message alone, so a redelivery computes the same
    /// one. Unique because a (goods, user) pair holds at most one order; the timestamp makes
    /// numbers of a retried attempt differ from a failed one's and keeps them unguessable from
    /// ids alone.
    pub fn order_sn(&self) -> String {
        format!(
            "SK{}-{}-{}",
            self.msg.timestamp, self.msg.goods_id, self.msg.user_id
        )
    }
}

/// The dedup key of one failed attempt.
pub(crate) fn attempt_key(biz_key: &str, request_id: &str) -> String {
    format!("{biz_key}#{request_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(body: &str) -> IncomingOrder {
        IncomingOrder::new("m-1", body.as_bytes().to_vec(), 0)
    }

    #[test]
    fn a_valid_body_gets_both_dedup_keys() {
        let order = Order::parse(&incoming(
            r#"{"goodsId":3,"userId":9,"requestId":"r-1","timestamp":5}"#,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(order.biz_key, "3-9");
        assert_eq!(order.attempt_key, "3-9#r-1");
        assert_eq!(order.order_sn(), "SK5-3-9");
    }

    #[test]
    fn invalid_bodies_are_poison() {
        for body in [
            "not json",
            r#"{"goodsId":0,"userId":9,"requestId":"r","timestamp":5}"#,
            r#"{"goodsId":1,"userId":-9,"requestId":"r","timestamp":5}"#,
            r#"{"goodsId":1,"userId":9,"requestId":"","timestamp":5}"#,
        ] {
            assert!(Order::parse(&incoming(body)).is_err(), "{body}");
        }
        let long = "r".repeat(MAX_REQUEST_ID_LEN + 1);
        let body = format!(r#"{{"goodsId":1,"userId":9,"requestId":"{long}","timestamp":5}}"#);
        assert!(Order::parse(&incoming(&body)).is_err());
    }
}
