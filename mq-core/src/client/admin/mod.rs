//! The admin API behind `mqadmin` and `seckill-verify`: cluster and topic administration,
//! consumer progress and connections, offset resets, message queries and DLQ resend.
//!
//! Requests go to the name servers for cluster-wide facts and to every broker master that
//! holds the topic for per-queue facts; answers are merged and sorted by queue.

mod consumer;
mod dlq;
mod query;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

pub use consumer::{ConsumerConnectionInfo, QueueProgress, ResetOffsetResult};

use super::core::{ClientConfig, ClientCore, expect_success, parse_namesrv_list};
use super::error::{ClientError, ClientResult};
use super::validate::check_topic;
use crate::protocol::body::admin::{ClusterInfo, TopicList, TopicStatsTable};
use crate::protocol::body::route::{PERM_READ, PERM_WRITE, TopicRouteData};
use crate::protocol::code::RequestCode;
use crate::protocol::header::admin::{CreateTopicRequestHeader, TopicRequestHeader};
use crate::protocol::{JsonBody, MessageQueue, RemotingCommand};

/// How long `create_topic` waits for the new route to reach the name servers.
const ROUTE_WAIT: Duration = Duration::from_secs(5);

/// One broker of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerInfo {
    /// Cluster name.
    pub cluster: String,
    /// Broker name.
    pub broker_name: String,
    /// 0 = master.
    pub broker_id: i64,
    /// `host:port`.
    pub addr: String,
}

/// One queue's stored range (`topicStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStatus {
    /// The queue.
    pub mq: MessageQueue,
    /// Smallest offset still stored.
    pub min: i64,
    /// Next offset to be written.
    pub max: i64,
    /// Store time of the last message, ms (0 if none).
    pub last_update: i64,
}

/// What [`Admin::create_topic_with`] creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Topic name.
    pub topic: String,
    /// Read queue count.
    pub read_queue_nums: i32,
    /// Write queue count.
    pub write_queue_nums: i32,
    /// `PermName` bits (default READ | WRITE = 6).
    pub perm: i32,
    /// Ordered topic flag.
    pub order: bool,
    /// Only on this broker (`host:port`); otherwise every master (of `cluster`, if given).
    pub broker_addr: Option<String>,
    /// Only on this cluster's masters.
    pub cluster: Option<String>,
}

impl TopicSpec {
    /// `queues` read and write queues on every master, readable and writable.
    pub fn new(topic: impl Into<String>, queues: i32) -> Self {
        Self {
            topic: topic.into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: PERM_READ | PERM_WRITE,
            order: false,
            broker_addr: None,
            cluster: None,
        }
    }
}

/// Administers a cluster through its name servers; see the module docs.
#[derive(Debug)]
pub struct Admin {
    core: ClientCore,
    namesrv: String,
}

impl Admin {
    /// Connects to the name servers (`;`-separated) and checks one of them answers.
    pub async fn connect(namesrv_addr: impl AsRef<str>) -> ClientResult<Self> {
        let config = ClientConfig {
            namesrv_addrs: parse_namesrv_list(namesrv_addr.as_ref()),
            ..ClientConfig::default()
        };
        config.validate()?;
        let admin = Self {
            core: ClientCore::new(config, None),
            namesrv: namesrv_addr.as_ref().to_owned(),
        };
        admin.cluster_info().await?;
        Ok(admin)
    }

    /// The name servers' view of the cluster (`clusterList`).
    pub async fn cluster_info(&self) -> ClientResult<ClusterInfo> {
        let request = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO);
        let response = expect_success(self.core.routes.call_namesrv(request).await?)?;
        Ok(ClusterInfo::from_json(&response.body)?)
    }

    /// Every registered broker, sorted by cluster, name and id.
    pub async fn brokers(&self) -> ClientResult<Vec<BrokerInfo>> {
        let info = self.cluster_info().await?;
        let mut out = Vec::new();
        for data in info.broker_addr_table.values() {
            for (id, addr) in &data.broker_addrs {
                out.push(BrokerInfo {
                    cluster: data.cluster.clone(),
                    broker_name: data.broker_name.clone(),
                    broker_id: *id,
                    addr: addr.clone(),
                });
            }
        }
        out.sort_by(|a, b| {
            (&a.cluster, &a.broker_name, a.broker_id).cmp(&(
                &b.cluster,
                &b.broker_name,
                b.broker_id,
            ))
        });
        Ok(out)
    }

    /// Master addresses by broker name, optionally of one cluster.
    async fn masters(&self, cluster: Option<&str>) -> ClientResult<BTreeMap<String, String>> {
        Ok(self
            .brokers()
            .await?
            .into_iter()
            .filter(|b| b.broker_id == 0 && cluster.is_none_or(|c| c == b.cluster))
            .map(|b| (b.broker_name, b.addr))
            .collect())
    }

    /// Every topic the name servers know (`topicList`).
    pub async fn topic_list(&self) -> ClientResult<Vec<String>> {
        let request = RemotingCommand::request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
        let response = expect_success(self.core.routes.call_namesrv(request).await?)?;
        Ok(TopicList::from_json(&response.body)?
            .topic_list
            .into_iter()
            .collect())
    }

    /// The route of `topic` (`topicRoute`).
    pub async fn topic_route(&self, topic: &str) -> ClientResult<TopicRouteData> {
        self.core.routes.fetch(topic).await
    }

    /// Creates (or updates) `topic` with `queues` queues on every master, then waits until the
    /// name servers route it.
    pub async fn create_topic(&self, topic: &str, queues: i32) -> ClientResult<()> {
        self.create_topic_with(&TopicSpec::new(topic, queues)).await
    }

    /// Creates (or updates) a topic as `spec` says (`updateTopic`).
    pub async fn create_topic_with(&self, spec: &TopicSpec) -> ClientResult<()> {
        check_topic(&spec.topic)?;
        if spec.read_queue_nums <= 0 || spec.write_queue_nums <= 0 {
            return Err(ClientError::InvalidArgument(
                "queue counts must be positive".into(),
            ));
        }
        let targets: Vec<String> = match &spec.broker_addr {
            Some(addr) => vec![addr.clone()],
            None => self.wait_for_masters(spec.cluster.as_deref()).await?,
        };
        if targets.is_empty() {
            return Err(ClientError::NoRoute {
                topic: spec.topic.clone(),
            });
        }
        let header = CreateTopicRequestHeader {
            topic: spec.topic.clone(),
            default_topic: super::route::AUTO_CREATE_TOPIC.to_owned(),
            read_queue_nums: spec.read_queue_nums,
            write_queue_nums: spec.write_queue_nums,
            perm: spec.perm,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: spec.order,
        };
        for addr in &targets {
            let request =
                RemotingCommand::request_with_header(RequestCode::UPDATE_AND_CREATE_TOPIC, &header);
            self.core.call(addr, request).await?;
        }
        self.wait_for_route(&spec.topic, targets.len()).await
    }

    /// The masters' addresses, waiting briefly for a broker that is still registering.
    async fn wait_for_masters(&self, cluster: Option<&str>) -> ClientResult<Vec<String>> {
        let deadline = tokio::time::Instant::now() + ROUTE_WAIT;
        loop {
            let masters: Vec<String> = self.masters(cluster).await?.into_values().collect();
            if !masters.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(masters);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the topic's route lists `brokers` brokers (the brokers re-register at once,
    /// but the name server may take a moment).
    async fn wait_for_route(&self, topic: &str, brokers: usize) -> ClientResult<()> {
        let deadline = tokio::time::Instant::now() + ROUTE_WAIT;
        loop {
            match self.core.routes.fetch(topic).await {
                Ok(route) if route.queue_datas.len() >= brokers => return Ok(()),
                Ok(_) | Err(ClientError::NoRoute { .. }) => {}
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClientError::NoRoute {
                    topic: topic.to_owned(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Per-queue min and max offsets of `topic` on every broker holding it (`topicStatus`).
    pub async fn topic_status(&self, topic: &str) -> ClientResult<Vec<QueueStatus>> {
        let route = self.core.routes.refresh(topic).await?;
        let mut out = Vec::new();
        for addr in route.masters().values() {
            let header = TopicRequestHeader {
                topic: topic.to_owned(),
            };
            let request =
                RemotingCommand::request_with_header(RequestCode::GET_TOPIC_STATS_INFO, &header);
            let response = self.core.call(addr, request).await?;
            let stats = TopicStatsTable::from_json(&response.body)?;
            out.extend(stats.offset_table.into_iter().map(|(mq, o)| QueueStatus {
                mq,
                min: o.min_offset,
                max: o.max_offset,
                last_update: o.last_update_timestamp,
            }));
        }
        out.sort_by(|a, b| a.mq.cmp(&b.mq));
        Ok(out)
    }

    /// The readable queues of `topic`, sorted.
    pub async fn queues(&self, topic: &str) -> ClientResult<Vec<MessageQueue>> {
        Ok(self.core.routes.refresh(topic).await?.read_queues.clone())
    }
}
