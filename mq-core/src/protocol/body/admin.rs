//! Admin bodies: cluster info, topic lists, topic and consume statistics, consumer and
//! producer connections, offset reset.
//!
//! `TopicStatsTable`, `ConsumeStats` and `ResetOffsetBody` are maps keyed by `MessageQueue`,
//! which fastjson writes with object keys (invalid JSON); they are written in that form so
//! Java reads them, and read through the fastjson pre-pass.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::heartbeat::{ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData};
use super::route::BrokerData;
use super::{
    JsonBody, MessageQueue, decode_lenient, encode_with_mq_map, mq_map, null_default,
    standard_json_body,
};
use crate::protocol::error::Result;

/// GET_BROKER_CLUSTER_INFO response (`ClusterInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterInfo {
    /// Broker name → broker group.
    #[serde(deserialize_with = "null_default")]
    pub broker_addr_table: HashMap<String, BrokerData>,
    /// Cluster name → broker names.
    #[serde(deserialize_with = "null_default")]
    pub cluster_addr_table: HashMap<String, BTreeSet<String>>,
}

/// A list of topics (`TopicList`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicList {
    /// Topic names.
    #[serde(deserialize_with = "null_default")]
    pub topic_list: BTreeSet<String>,
    /// Address of the broker answering, when a broker answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
}

/// A list of groups (`GroupList`, e.g. QUERY_TOPIC_CONSUME_BY_WHO).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupList {
    /// Group names.
    #[serde(deserialize_with = "null_default")]
    pub group_list: BTreeSet<String>,
}

/// GET_TOPIC_STATS_INFO response (`TopicStatsTable`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicStatsTable {
    /// Per queue: min and max offset.
    #[serde(with = "mq_map")]
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
}

/// One queue's offsets (`TopicOffset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOffset {
    /// Smallest offset still stored.
    pub min_offset: i64,
    /// Next offset to be written.
    pub max_offset: i64,
    /// Store time of the last message, ms.
    pub last_update_timestamp: i64,
}

/// GET_CONSUME_STATS response (`ConsumeStats`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStats {
    /// Per queue: broker offset, consumer offset, last consume time.
    #[serde(with = "mq_map")]
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
    /// Messages consumed per second.
    pub consume_tps: f64,
}

/// One queue's consume progress (`OffsetWrapper`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OffsetWrapper {
    /// Next offset to be written (the queue's max).
    pub broker_offset: i64,
    /// The group's committed offset.
    pub consumer_offset: i64,
    /// Store time of the last consumed message, ms.
    pub last_timestamp: i64,
}

/// INVOKE_BROKER_TO_RESET_OFFSET response and RESET_CONSUMER_CLIENT_OFFSET body (`ResetOffsetBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResetOffsetBody {
    /// Per queue: the offset to restart from.
    #[serde(with = "mq_map")]
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

/// GET_CONSUMER_CONNECTION_LIST response (`ConsumerConnection`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerConnection {
    /// The group's client connections.
    #[serde(deserialize_with = "null_default")]
    pub connection_set: Vec<Connection>,
    /// Topic → subscription.
    #[serde(deserialize_with = "null_default")]
    pub subscription_table: HashMap<String, SubscriptionData>,
    /// Pull or push.
    pub consume_type: ConsumeType,
    /// Clustering or broadcasting.
    pub message_model: MessageModel,
    /// Where a new group starts.
    pub consume_from_where: ConsumeFromWhere,
    /// Not in RocketMQ: client id → that client's own subscriptions (from its heartbeats),
    /// so instances that subscribe differently can be shown. Java's mqadmin ignores it; it is
    /// absent from an Apache RocketMQ broker's answer, hence the default.
    #[serde(default, deserialize_with = "null_default")]
    pub subscriptions_by_client: BTreeMap<String, Vec<SubscriptionData>>,
}

/// GET_PRODUCER_CONNECTION_LIST response (`ProducerConnection`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    /// The group's client connections.
    #[serde(deserialize_with = "null_default")]
    pub connection_set: Vec<Connection>,
}

/// One client connection (`Connection`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    /// Client id.
    #[serde(deserialize_with = "null_default")]
    pub client_id: String,
    /// Client `ip:port`.
    #[serde(deserialize_with = "null_default")]
    pub client_addr: String,
    /// `LanguageCode` name (`JAVA`, `RUST` ...).
    #[serde(deserialize_with = "null_default")]
    pub language: String,
    /// Client's `MQVersion` ordinal.
    pub version: i32,
}

standard_json_body!(
    ClusterInfo => "ClusterInfo",
    TopicList => "TopicList",
    GroupList => "GroupList",
    ConsumerConnection => "ConsumerConnection",
    ProducerConnection => "ProducerConnection",
);

impl JsonBody for TopicStatsTable {
    const NAME: &'static str = "TopicStatsTable";
    fn to_json(&self) -> Result<Vec<u8>> {
        encode_with_mq_map(Self::NAME, "offsetTable", &self.offset_table, &())
    }
    fn from_json(bytes: &[u8]) -> Result<Self> {
        decode_lenient(Self::NAME, bytes)
    }
}

impl JsonBody for ConsumeStats {
    const NAME: &'static str = "ConsumeStats";
    fn to_json(&self) -> Result<Vec<u8>> {
        let rest = serde_json::json!({ "consumeTps": self.consume_tps });
        encode_with_mq_map(Self::NAME, "offsetTable", &self.offset_table, &rest)
    }
    fn from_json(bytes: &[u8]) -> Result<Self> {
        decode_lenient(Self::NAME, bytes)
    }
}

impl JsonBody for ResetOffsetBody {
    const NAME: &'static str = "ResetOffsetBody";
    fn to_json(&self) -> Result<Vec<u8>> {
        encode_with_mq_map(Self::NAME, "offsetTable", &self.offset_table, &())
    }
    fn from_json(bytes: &[u8]) -> Result<Self> {
        decode_lenient(Self::NAME, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_stats_written_and_read_in_fastjson_form() {
        let stats = ConsumeStats {
            offset_table: BTreeMap::from([(
                MessageQueue::new("t", "b", 0),
                OffsetWrapper {
                    broker_offset: 10,
                    consumer_offset: 7,
                    last_timestamp: 5,
                },
            )]),
            consume_tps: 1.5,
        };
        let json = String::from_utf8(stats.to_json().unwrap_or_default()).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:{"brokerOffset":10,"consumerOffset":7,"lastTimestamp":5}}}"#
        );
        assert_eq!(ConsumeStats::from_json(json.as_bytes()).ok(), Some(stats));
    }

    #[test]
    fn reads_java_topic_stats_and_cluster_info() {
        let java = br#"{"offsetTable":{{"brokerName":"broker-a","queueId":1,"topic":"T"}:{"lastUpdateTimestamp":9,"maxOffset":3,"minOffset":0}}}"#;
        let stats = TopicStatsTable::from_json(java).ok().unwrap_or_default();
        let offset = stats
            .offset_table
            .get(&MessageQueue::new("T", "broker-a", 1))
            .copied();
        assert_eq!(offset.map(|o| o.max_offset), Some(3));
        let cluster = br#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#;
        let info = ClusterInfo::from_json(cluster).ok().unwrap_or_default();
        let broker = info
            .broker_addr_table
            .get("broker-a")
            .cloned()
            .unwrap_or_default();
        assert_eq!(broker.master_addr(), Some("127.0.0.1:10911"));
        let empty = ResetOffsetBody::default().to_json().unwrap_or_default();
        assert_eq!(&empty[..], br#"{"offsetTable":{}}"#);
    }

    #[test]
    fn reads_a_rocketmq_consumer_connection_without_per_client_subscriptions() {
        let java = br#"{"connectionSet":[{"clientAddr":"10.0.0.5:50412","clientId":"10.0.0.5@123","language":"JAVA","version":399}],"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","subscriptionTable":{"T":{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000000,"tagsSet":[],"topic":"T"}}}"#;
        let conn = ConsumerConnection::from_json(java);
        let conn = conn.ok().unwrap_or_default();
        assert_eq!(conn.connection_set.len(), 1);
        assert!(conn.subscription_table.contains_key("T"));
        assert!(conn.subscriptions_by_client.is_empty());
        // Ours carries the extra field beside every RocketMQ one, and reads back.
        let mut ours = conn.clone();
        ours.subscriptions_by_client.insert(
            "10.0.0.5@123".to_owned(),
            conn.subscription_table.into_values().collect(),
        );
        let json = String::from_utf8(ours.to_json().unwrap_or_default()).unwrap_or_default();
        for key in [
            "connectionSet",
            "subscriptionTable",
            "consumeType",
            "messageModel",
            "consumeFromWhere",
        ] {
            assert!(
                json.contains(&format!(r#""{key}":"#)),
                "{key} missing: {json}"
            );
        }
        assert!(
            json.contains(r#""subscriptionsByClient":{"10.0.0.5@123":[{"#),
            "{json}"
        );
        assert_eq!(
            ConsumerConnection::from_json(json.as_bytes()).ok(),
            Some(ours)
        );
    }
}
