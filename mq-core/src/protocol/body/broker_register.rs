//! Broker-registration bodies: `RegisterBrokerBody`, `TopicConfigSerializeWrapper`,
//! `TopicConfig`, `DataVersion`, and the `KVTable` the name server answers with.
//!
//! Only the uncompressed form (`compressed=false`, Java's default) is JSON; the zlib form is
//! recognised by the header flag and refused by the name server.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::route::{PERM_READ, PERM_WRITE};
use super::{null_default, standard_json_body};

/// What a broker sends with REGISTER_BROKER (`RegisterBrokerBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterBrokerBody {
    /// The broker's topics and their data version.
    #[serde(deserialize_with = "null_default")]
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
    /// Filter server addresses.
    #[serde(deserialize_with = "null_default")]
    pub filter_server_list: Vec<String>,
}

/// A broker's topic table with its version (`TopicConfigSerializeWrapper`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigSerializeWrapper {
    /// Topic name → config.
    #[serde(deserialize_with = "null_default")]
    pub topic_config_table: HashMap<String, TopicConfig>,
    /// Changes whenever the table changes.
    #[serde(deserialize_with = "null_default")]
    pub data_version: DataVersion,
}

/// One topic's configuration on a broker (`TopicConfig`); absent fields take Java's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfig {
    /// Topic name.
    #[serde(deserialize_with = "null_default")]
    pub topic_name: String,
    /// Read queue count (Java default 16).
    pub read_queue_nums: i32,
    /// Write queue count (Java default 16).
    pub write_queue_nums: i32,
    /// `PERM_*` bits (Java default READ|WRITE).
    pub perm: i32,
    /// `SINGLE_TAG` or `MULTI_TAG`.
    pub topic_filter_type: String,
    /// `TopicSysFlag` bits.
    pub topic_sys_flag: i32,
    /// Ordered topic.
    pub order: bool,
}

impl Default for TopicConfig {
    fn default() -> Self {
        Self {
            topic_name: String::new(),
            read_queue_nums: 16,
            write_queue_nums: 16,
            perm: PERM_READ | PERM_WRITE,
            topic_filter_type: "SINGLE_TAG".to_owned(),
            topic_sys_flag: 0,
            order: false,
        }
    }
}

impl TopicConfig {
    /// A topic with `queues` read and write queues, readable and writable.
    pub fn new(topic_name: impl Into<String>, queues: i32) -> Self {
        Self {
            topic_name: topic_name.into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            ..Self::default()
        }
    }
}

/// A version stamp of a broker's metadata (`DataVersion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataVersion {
    /// When the version was created, ms.
    pub timestamp: i64,
    /// Bumped on every change.
    pub counter: i64,
}

/// A namespace of the name server's KV config (`KVTable`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KvTable {
    /// Key → value.
    #[serde(deserialize_with = "null_default")]
    pub table: HashMap<String, String>,
}

standard_json_body!(
    RegisterBrokerBody => "RegisterBrokerBody",
    TopicConfigSerializeWrapper => "TopicConfigSerializeWrapper",
    DataVersion => "DataVersion",
    KvTable => "KVTable",
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::body::JsonBody;

    #[test]
    fn reads_a_java_register_body() {
        let java = br#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":3,"timestamp":1700000000000},"topicConfigTable":{"TopicTest":{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4},"Bare":{"topicName":"Bare"}}}}"#;
        let body = RegisterBrokerBody::from_json(java).ok().unwrap_or_default();
        let wrapper = &body.topic_config_serialize_wrapper;
        assert_eq!(
            wrapper.data_version,
            DataVersion {
                timestamp: 1_700_000_000_000,
                counter: 3
            }
        );
        assert_eq!(
            wrapper.topic_config_table.get("TopicTest"),
            Some(&TopicConfig::new("TopicTest", 4))
        );
        let bare = wrapper
            .topic_config_table
            .get("Bare")
            .cloned()
            .unwrap_or_default();
        assert_eq!((bare.read_queue_nums, bare.perm), (16, 6));
        let again = RegisterBrokerBody::from_json(&body.to_json().unwrap_or_default()).ok();
        assert_eq!(again, Some(body));
    }
}
