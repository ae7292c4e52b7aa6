//! Heartbeat bodies: `HeartbeatData` with producer and consumer groups, `ConsumerData`,
//! `SubscriptionData`, and the consume-type / message-model / consume-from enums.
//!
//! Note the Java key `clientID` (capital ID).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{null_default, standard_json_body};

/// What a client sends with HEART_BEAT (`HeartbeatData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    /// Client id (`ip@instanceName`).
    #[serde(rename = "clientID", deserialize_with = "null_default")]
    pub client_id: String,
    /// Producer groups of the client.
    #[serde(deserialize_with = "null_default")]
    pub producer_data_set: Vec<ProducerData>,
    /// Consumer groups of the client.
    #[serde(deserialize_with = "null_default")]
    pub consumer_data_set: Vec<ConsumerData>,
}

/// A producer group (`ProducerData`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    /// Group name.
    #[serde(deserialize_with = "null_default")]
    pub group_name: String,
}

/// A consumer group as one client runs it (`ConsumerData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    /// Group name.
    #[serde(deserialize_with = "null_default")]
    pub group_name: String,
    /// Pull or push.
    pub consume_type: ConsumeType,
    /// Clustering or broadcasting.
    pub message_model: MessageModel,
    /// Where a new group starts.
    pub consume_from_where: ConsumeFromWhere,
    /// Subscriptions, one per topic.
    #[serde(deserialize_with = "null_default")]
    pub subscription_data_set: Vec<SubscriptionData>,
    /// Unit mode.
    pub unit_mode: bool,
}

/// One topic subscription (`SubscriptionData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    /// Class filter mode.
    pub class_filter_mode: bool,
    /// Topic.
    #[serde(deserialize_with = "null_default")]
    pub topic: String,
    /// Expression (`*` or `a || b`).
    #[serde(deserialize_with = "null_default")]
    pub sub_string: String,
    /// Tags of the expression.
    #[serde(deserialize_with = "null_default")]
    pub tags_set: BTreeSet<String>,
    /// Java `hashCode` of each tag.
    #[serde(deserialize_with = "null_default")]
    pub code_set: BTreeSet<i32>,
    /// Version (the client's creation time, ms).
    pub sub_version: i64,
    /// `TAG` or `SQL92`.
    pub expression_type: String,
}

impl Default for SubscriptionData {
    fn default() -> Self {
        Self {
            class_filter_mode: false,
            topic: String::new(),
            sub_string: "*".to_owned(),
            tags_set: BTreeSet::new(),
            code_set: BTreeSet::new(),
            sub_version: 0,
            expression_type: "TAG".to_owned(),
        }
    }
}

/// `ConsumeType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeType {
    /// Pull consumer.
    ConsumeActively,
    /// Push consumer.
    #[default]
    ConsumePassively,
}

/// `MessageModel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageModel {
    /// Every instance gets every message.
    Broadcasting,
    /// Each message goes to one instance of the group.
    #[default]
    Clustering,
}

/// `ConsumeFromWhere`, including the three deprecated names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeFromWhere {
    /// Start at the end of each queue.
    #[default]
    ConsumeFromLastOffset,
    /// Deprecated.
    ConsumeFromLastOffsetAndFromMinWhenBootFirst,
    /// Deprecated.
    ConsumeFromMinOffset,
    /// Deprecated.
    ConsumeFromMaxOffset,
    /// Start at the beginning of each queue.
    ConsumeFromFirstOffset,
    /// Start at a point in time.
    ConsumeFromTimestamp,
}

standard_json_body!(HeartbeatData => "HeartbeatData");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::body::JsonBody;

    #[test]
    fn reads_a_java_heartbeat() {
        let java = br#"{"clientID":"10.0.0.5@12345","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"cg","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919,2598920],"expressionType":"TAG","subString":"TagA || TagB","subVersion":1700000000000,"tagsSet":["TagA","TagB"],"topic":"TopicTest"}],"unitMode":false}],"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}]}"#;
        let hb = HeartbeatData::from_json(java).ok().unwrap_or_default();
        assert_eq!(hb.client_id, "10.0.0.5@12345");
        let consumer = hb.consumer_data_set.first().cloned().unwrap_or_default();
        assert_eq!(
            consumer.consume_from_where,
            ConsumeFromWhere::ConsumeFromFirstOffset
        );
        let sub = consumer
            .subscription_data_set
            .first()
            .cloned()
            .unwrap_or_default();
        assert!(sub.tags_set.contains("TagB") && sub.code_set.contains(&2_598_919));
        let json = String::from_utf8(hb.to_json().unwrap_or_default()).unwrap_or_default();
        assert!(json.contains(r#""clientID":"10.0.0.5@12345""#));
        assert!(json.contains(r#""messageModel":"CLUSTERING""#));
    }
}
