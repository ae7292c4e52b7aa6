//! The order message seckill-web sends and seckill-service consumes, and the stock-returned
//! event that tells every gate to clear its local sold-out flag.

use serde::{Deserialize, Serialize};

/// The topic orders travel on (the seed's name).
pub const ORDER_TOPIC: &str = "seckillTopic";
/// The tag every order message carries.
pub const ORDER_TAG: &str = "order";
/// The topic stock-returned events travel on; gates consume it in broadcasting mode.
pub const STOCK_RETURNED_TOPIC: &str = "seckillStockReturned";

/// One user's claim on one goods, queued after the gate took its stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderMessage {
    /// The goods bought.
    pub goods_id: i64,
    /// The buyer.
    pub user_id: i64,
    /// Unique per gate request: tells a retried attempt from a redelivered message.
    pub request_id: String,
    /// When the gate took the stock, milliseconds since the Unix epoch.
    pub timestamp: i64,
}

impl OrderMessage {
    /// The business key `<goodsId>-<userId>` (the seed's uniqueness key), used as the
    /// message key and as the dedup key of the order writer.
    pub fn biz_key(&self) -> String {
        biz_key(self.goods_id, self.user_id)
    }

    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising a struct of integers and a string cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses a JSON body; a malformed one is a poison message for the consumer.
    pub fn from_json(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }
}

/// The business key of a (goods, user) pair.
pub fn biz_key(goods_id: i64, user_id: i64) -> String {
    format!("{goods_id}-{user_id}")
}

/// Stock of a goods came back in Redis (an order failed or was compensated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockReturned {
    /// The goods whose stock grew.
    pub goods_id: i64,
}

impl StockReturned {
    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses a JSON body.
    pub fn from_json(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_message_round_trips_in_camel_case() {
        let order = OrderMessage {
            goods_id: 3,
            user_id: 99,
            request_id: "r-1".into(),
            timestamp: 1_700_000_000_000,
        };
        let json = String::from_utf8(order.to_json()).unwrap_or_default();
        assert!(
            json.contains("\"goodsId\":3") && json.contains("\"userId\":99"),
            "{json}"
        );
        assert_eq!(
            OrderMessage::from_json(json.as_bytes()).ok(),
            Some(order.clone())
        );
        assert_eq!(order.biz_key(), "3-99");
    }

    #[test]
    fn a_body_that_is_not_an_order_is_refused() {
        assert!(OrderMessage::from_json(b"not json").is_err());
        assert!(OrderMessage::from_json(br#"{"goodsId":"x"}"#).is_err());
    }
}
