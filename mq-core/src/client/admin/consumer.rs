//! Consumer-group administration: progress (lag per queue), connections and subscriptions
//! (with where the group's instances subscribe differently), and offset reset by time —
//! pushed to running consumers, or written directly when none runs.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Admin;
use crate::client::broker_api::is_not_found;
use crate::client::error::{ClientError, ClientResult};
use crate::protocol::body::admin::{ConsumeStats, ConsumerConnection, ResetOffsetBody};
use crate::protocol::body::heartbeat::SubscriptionData;
use crate::protocol::body::subscription_conflict::{SubscriptionConflict, subscription_conflicts};
use crate::protocol::code::{RequestCode, ResponseCode};
use crate::protocol::header::admin::{
    GetConsumeStatsRequestHeader, GetConsumerConnectionListRequestHeader,
};
use crate::protocol::header::offset::ResetOffsetRequestHeader;
use crate::protocol::{JsonBody, MessageQueue, RemotingCommand};

/// One queue's consume progress (`consumerProgress`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueProgress {
    /// The queue.
    pub mq: MessageQueue,
    /// Next offset to be written.
    pub broker_offset: i64,
    /// The group's committed offset (-1 when none).
    pub consumer_offset: i64,
    /// Messages stored but not yet consumed by the group.
    pub lag: i64,
    /// Store time of the last consumed message, ms (0 when unknown).
    pub last_timestamp: i64,
}

/// The group's live clients and their subscriptions (`consumerConnection`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerConnectionInfo {
    /// The connections, merged over brokers.
    pub connections: Vec<crate::protocol::body::admin::Connection>,
    /// Topic → subscription, as the brokers last heard it (from whichever instance).
    pub subscriptions: BTreeMap<String, SubscriptionData>,
    /// Client id → topic → that client's own subscription, merged over brokers. Empty for
    /// brokers that do not report it (Apache RocketMQ's).
    pub subscriptions_by_client: BTreeMap<String, BTreeMap<String, SubscriptionData>>,
    /// The topics the clients in `subscriptions_by_client` disagree on; empty when consistent.
    pub conflicts: Vec<SubscriptionConflict>,
    /// `CLUSTERING` or `BROADCASTING`.
    pub message_model: String,
    /// `CONSUME_PASSIVELY` (push) or `CONSUME_ACTIVELY` (pull).
    pub consume_type: String,
    /// False when `conflicts` is not empty or brokers report different subscription tables
    /// (all that Apache RocketMQ brokers show). RocketMQ warns when instances of one group
    /// subscribe differently: each then skips the messages its expression filters out.
    pub subscriptions_consistent: bool,
}

/// The outcome of a reset (`resetOffsetByTime`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetOffsetResult {
    /// The new offset per queue.
    pub offsets: Vec<(MessageQueue, i64)>,
    /// Whether running consumers were told (else the offsets were committed directly).
    pub consumers_notified: bool,
}

impl Admin {
    /// Broker offset, committed offset and lag per queue of `group` (all its topics, or one).
    pub async fn consumer_progress(
        &self,
        group: &str,
        topic: Option<&str>,
    ) -> ClientResult<Vec<QueueProgress>> {
        let brokers = match topic {
            Some(t) => self.core.routes.refresh(t).await?.masters(),
            None => self.masters(None).await?,
        };
        let mut out = Vec::new();
        let mut last_error = None;
        for addr in brokers.values() {
            let header = GetConsumeStatsRequestHeader {
                consumer_group: group.to_owned(),
                topic: topic.map(str::to_owned),
            };
            let request =
                RemotingCommand::request_with_header(RequestCode::GET_CONSUME_STATS, &header);
            match self.core.call(addr, request).await {
                Ok(response) => {
                    let stats = ConsumeStats::from_json(&response.body)?;
                    out.extend(stats.offset_table.into_iter().map(|(mq, o)| QueueProgress {
                        lag: (o.broker_offset - o.consumer_offset.max(0)).max(0),
                        mq,
                        broker_offset: o.broker_offset,
                        consumer_offset: o.consumer_offset,
                        last_timestamp: o.last_timestamp,
                    }));
                }
                Err(e) if e.response_code() == Some(ResponseCode::REQUEST_CODE_NOT_SUPPORTED) => {
                    if let Some(t) = topic {
                        out.extend(self.progress_from_offsets(group, t, addr).await?);
                    }
                }
                Err(e) => last_error = Some(e),
            }
        }
        if out.is_empty() {
            if let Some(e) = last_error {
                return Err(e);
            }
        }
        out.sort_by(|a, b| a.mq.cmp(&b.mq));
        Ok(out)
    }

    /// Progress computed from queue and consumer offsets (for brokers without GET_CONSUME_STATS).
    async fn progress_from_offsets(
        &self,
        group: &str,
        topic: &str,
        addr: &str,
    ) -> ClientResult<Vec<QueueProgress>> {
        let route = self.core.routes.get(topic).await?;
        let mut out = Vec::new();
        for mq in &route.read_queues {
            if route.master_addr(&mq.broker_name) != Some(addr) {
                continue;
            }
            let max = self.core.max_offset(addr, mq).await?;
            let committed = self
                .core
                .query_consumer_offset(addr, group, mq)
                .await?
                .unwrap_or(-1);
            out.push(QueueProgress {
                mq: mq.clone(),
                broker_offset: max,
                consumer_offset: committed,
                lag: (max - committed.max(0)).max(0),
                last_timestamp: 0,
            });
        }
        Ok(out)
    }

    /// The group's live clients and subscriptions, merged over every broker master.
    pub async fn consumer_connection(&self, group: &str) -> ClientResult<ConsumerConnectionInfo> {
        let mut merged: Option<ConsumerConnectionInfo> = None;
        let mut last_error = None;
        for addr in self.masters(None).await?.values() {
            let header = GetConsumerConnectionListRequestHeader {
                consumer_group: group.to_owned(),
            };
            let request = RemotingCommand::request_with_header(
                RequestCode::GET_CONSUMER_CONNECTION_LIST,
                &header,
            );
            let body = match self.core.call(addr, request).await {
                Ok(response) => ConsumerConnection::from_json(&response.body)?,
                Err(e) => {
                    last_error = Some(e);
                    continue;
                }
            };
            let subs: BTreeMap<String, SubscriptionData> =
                body.subscription_table.into_iter().collect();
            let info = merged.get_or_insert_with(|| ConsumerConnectionInfo {
                connections: Vec::new(),
                subscriptions: subs.clone(),
                subscriptions_by_client: BTreeMap::new(),
                conflicts: Vec::new(),
                message_model: json_name(&body.message_model),
                consume_type: json_name(&body.consume_type),
                subscriptions_consistent: true,
            });
            // A client heartbeats every broker alike; a topic only one broker has heard of
            // yet still counts as subscribed.
            for (client, client_subs) in body.subscriptions_by_client {
                let known = info.subscriptions_by_client.entry(client).or_default();
                known.extend(client_subs.into_iter().map(|s| (s.topic.clone(), s)));
            }
            info.subscriptions_consistent &= same_expressions(&info.subscriptions, &subs);
            for c in body.connection_set {
                if !info.connections.iter().any(|k| k.client_id == c.client_id) {
                    info.connections.push(c);
                }
            }
        }
        let mut info = merged.ok_or_else(|| {
            last_error.unwrap_or(ClientError::Broker {
                code: ResponseCode::CONSUMER_NOT_ONLINE,
                remark: format!("no consumer of group {group} is online"),
            })
        })?;
        info.connections
            .sort_by(|a, b| a.client_id.cmp(&b.client_id));
        info.conflicts = subscription_conflicts(
            info.subscriptions_by_client
                .iter()
                .map(|(client, subs)| (client, subs.values())),
        );
        info.subscriptions_consistent &= info.conflicts.is_empty();
        Ok(info)
    }

    /// Moves `group`'s offsets of `topic` to the first message stored at or after `timestamp`
    /// (ms; -1 = the end). With `force` the offset may also move forward. Running consumers
    /// are told through their broker; with none online the offsets are committed directly.
    pub async fn reset_offset_by_time(
        &self,
        group: &str,
        topic: &str,
        timestamp: i64,
        force: bool,
    ) -> ClientResult<ResetOffsetResult> {
        let route = self.core.routes.refresh(topic).await?;
        let mut offsets = BTreeMap::new();
        let mut notified = true;
        for addr in route.masters().values() {
            let header = ResetOffsetRequestHeader {
                topic: topic.to_owned(),
                group: group.to_owned(),
                timestamp,
                is_force: force,
            };
            let request = RemotingCommand::request_with_header(
                RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
                &header,
            );
            match self.core.call(addr, request).await {
                Ok(response) => {
                    let body = ResetOffsetBody::from_json(&response.body)?;
                    offsets.extend(body.offset_table);
                }
                Err(e)
                    if is_not_found(&e)
                        || e.response_code() == Some(ResponseCode::REQUEST_CODE_NOT_SUPPORTED) =>
                {
                    notified = false;
                    let queues: BTreeSet<&MessageQueue> = route
                        .read_queues
                        .iter()
                        .filter(|mq| route.master_addr(&mq.broker_name) == Some(addr.as_str()))
                        .collect();
                    for mq in queues {
                        let offset = if timestamp < 0 {
                            self.core.max_offset(addr, mq).await?
                        } else {
                            self.core.search_offset(addr, mq, timestamp).await?
                        };
                        let current = self.core.query_consumer_offset(addr, group, mq).await?;
                        let offset = match current {
                            Some(c) if !force && c < offset => c,
                            _ => offset,
                        };
                        self.core
                            .update_consumer_offset(addr, group, mq, offset)
                            .await?;
                        offsets.insert(mq.clone(), offset);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(ResetOffsetResult {
            offsets: offsets.into_iter().collect(),
            consumers_notified: notified,
        })
    }
}

fn json_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn same_expressions(
    a: &BTreeMap<String, SubscriptionData>,
    b: &BTreeMap<String, SubscriptionData>,
) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(t, s)| b.get(t).is_some_and(|o| o.sub_string == s.sub_string))
}
