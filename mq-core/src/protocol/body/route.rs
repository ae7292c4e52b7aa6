//! Route bodies: `TopicRouteData` with its `QueueData` and `BrokerData`, and `PermName` bits.
//!
//! `BrokerData.brokerAddrs` is a `Map<Long, String>`: fastjson's legacy form leaves the keys
//! unquoted (`{0:"127.0.0.1:10911"}`); we read both forms and write quoted keys, which every
//! fastjson reader accepts. `QueueData.topicSysFlag` was spelled `topicSynFlag` before 4.9.0;
//! both are read.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::{null_default, standard_json_body};

/// `PermName.PERM_PRIORITY`.
pub const PERM_PRIORITY: i32 = 0x8;
/// `PermName.PERM_READ`.
pub const PERM_READ: i32 = 0x4;
/// `PermName.PERM_WRITE`.
pub const PERM_WRITE: i32 = 0x2;
/// `PermName.PERM_INHERIT`.
pub const PERM_INHERIT: i32 = 0x1;
/// `MixAll.MASTER_ID`: the broker id of a master.
pub const MASTER_ID: i64 = 0;

/// A topic's route (`TopicRouteData`): which brokers hold how many queues of it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    /// Brokers holding the topic.
    #[serde(deserialize_with = "null_default")]
    pub broker_datas: Vec<BrokerData>,
    /// Filter servers per broker address.
    #[serde(deserialize_with = "null_default")]
    pub filter_server_table: HashMap<String, Vec<String>>,
    /// Order config (`brokerName:queueNum;...`) from the name server's KV config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    /// Queue counts and permissions per broker.
    #[serde(deserialize_with = "null_default")]
    pub queue_datas: Vec<QueueData>,
}

/// A topic's queues on one broker (`QueueData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    /// Broker name.
    #[serde(deserialize_with = "null_default")]
    pub broker_name: String,
    /// Read queue count.
    pub read_queue_nums: i32,
    /// Write queue count.
    pub write_queue_nums: i32,
    /// `PERM_*` bits.
    pub perm: i32,
    /// `TopicSysFlag` bits (`topicSynFlag` before 4.9.0).
    #[serde(alias = "topicSynFlag")]
    pub topic_sys_flag: i32,
}

/// A broker group: a master and its slaves under one name (`BrokerData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    /// Cluster name.
    #[serde(deserialize_with = "null_default")]
    pub cluster: String,
    /// Broker name.
    #[serde(deserialize_with = "null_default")]
    pub broker_name: String,
    /// Broker id (0 = master) → `ip:port`.
    #[serde(deserialize_with = "null_default")]
    pub broker_addrs: BTreeMap<i64, String>,
    /// RocketMQ 5's slave-acting-as-master switch; always false here. Not in 4.x's
    /// `BrokerData`, whose readers ignore it, but rocketmq-rust's client refuses a route
    /// without it ("missing field `enableActingMaster`"), so it is always written.
    #[serde(deserialize_with = "null_default")]
    pub enable_acting_master: bool,
}

impl BrokerData {
    /// The master's address, if the master is registered.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&MASTER_ID).map(String::as_str)
    }
}

standard_json_body!(TopicRouteData => "TopicRouteData");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::body::JsonBody;

    #[test]
    fn reads_legacy_fastjson_route_with_unquoted_ids_and_old_flag_name() {
        let legacy = br#"{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSynFlag":0,"writeQueueNums":4}]}"#;
        let route = TopicRouteData::from_json(legacy).ok();
        let route = route.as_ref();
        let broker = route.and_then(|r| r.broker_datas.first());
        assert_eq!(
            broker.and_then(BrokerData::master_addr),
            Some("127.0.0.1:10911")
        );
        assert_eq!(broker.map(|b| b.broker_addrs.len()), Some(2));
        assert_eq!(
            route
                .and_then(|r| r.queue_datas.first())
                .map(|q| q.write_queue_nums),
            Some(4)
        );
    }

    #[test]
    fn writes_standard_json_with_quoted_ids_and_reads_it_back() {
        let route = TopicRouteData {
            broker_datas: vec![BrokerData {
                cluster: "c".into(),
                broker_name: "b".into(),
                broker_addrs: BTreeMap::from([(0, "h:1".into())]),
                enable_acting_master: false,
            }],
            queue_datas: vec![QueueData {
                broker_name: "b".into(),
                read_queue_nums: 2,
                write_queue_nums: 2,
                perm: PERM_READ | PERM_WRITE,
                topic_sys_flag: 0,
            }],
            ..TopicRouteData::default()
        };
        let json = route.to_json().unwrap_or_default();
        let text = String::from_utf8(json.clone()).unwrap_or_default();
        assert!(text.contains(r#""brokerAddrs":{"0":"h:1"}"#), "{text}");
        assert!(text.contains(r#""enableActingMaster":false"#), "{text}");
        assert!(serde_json::from_slice::<serde_json::Value>(&json).is_ok());
        assert_eq!(TopicRouteData::from_json(&json).ok(), Some(route));
    }

    #[test]
    fn tolerates_nulls_and_missing_fields() {
        let route = TopicRouteData::from_json(br#"{"queueDatas":null,"brokerDatas":[{}]}"#).ok();
        assert_eq!(
            route.map(|r| (r.queue_datas.len(), r.broker_datas.len())),
            Some((0, 1))
        );
    }
}
