//! Live clients by group (RocketMQ's `ConsumerManager` and `ProducerManager`): which client
//! ids run each consumer group on which connection, the group's subscriptions, and which
//! producers are connected. Heartbeats refresh an entry; a connection closing or going
//! silent past the expiry removes it. Membership changes are reported to the caller, which
//! sends NOTIFY_CONSUMER_IDS_CHANGED so the group rebalances.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use super::connection::ClientChannel;
use crate::protocol::body::admin::{Connection, ConsumerConnection};
use crate::protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, MessageModel, SubscriptionData,
};

#[derive(Debug)]
struct ClientEntry {
    channel: ClientChannel,
    last_seen: Instant,
}

#[derive(Debug)]
struct ConsumerGroup {
    consume_type: ConsumeType,
    message_model: MessageModel,
    consume_from_where: ConsumeFromWhere,
    subscriptions: HashMap<String, SubscriptionData>,
    clients: HashMap<String, ClientEntry>,
}

/// Producer and consumer groups, shared by every handler.
#[derive(Debug, Default)]
pub(crate) struct ClientGroups {
    consumers: Mutex<HashMap<String, ConsumerGroup>>,
    producers: Mutex<HashMap<String, HashMap<String, ClientEntry>>>,
}

impl ClientGroups {
    /// Records a consumer heartbeat. Answers whether the group's membership or subscriptions
    /// changed (a new client id, or a different subscription set), as RocketMQ decides.
    pub(crate) fn register_consumer(
        &self,
        client_id: &str,
        channel: &ClientChannel,
        data: &ConsumerData,
        now: Instant,
    ) -> bool {
        let mut consumers = self.consumers.lock();
        let group = consumers
            .entry(data.group_name.clone())
            .or_insert_with(|| ConsumerGroup {
                consume_type: data.consume_type,
                message_model: data.message_model,
                consume_from_where: data.consume_from_where,
                subscriptions: HashMap::new(),
                clients: HashMap::new(),
            });
        group.consume_type = data.consume_type;
        group.message_model = data.message_model;
        group.consume_from_where = data.consume_from_where;
        let joined = match group.clients.get_mut(client_id) {
            Some(entry) => {
                // Same client id on a new connection (a reconnect): follow the new channel.
                entry.channel = channel.clone();
                entry.last_seen = now;
                false
            }
            None => {
                group.clients.insert(
                    client_id.to_owned(),
                    ClientEntry {
                        channel: channel.clone(),
                        last_seen: now,
                    },
                );
                true
            }
        };
        let subscriptions: HashMap<String, SubscriptionData> = data
            .subscription_data_set
            .iter()
            .map(|s| (s.topic.clone(), s.clone()))
            .collect();
        let resubscribed = !same_subscriptions(&group.subscriptions, &subscriptions);
        // Always keep the latest copy: pulls compare their subVersion with it.
        group.subscriptions = subscriptions;
        joined || resubscribed
    }

    /// Records a producer heartbeat.
    pub(crate) fn register_producer(
        &self,
        group: &str,
        client_id: &str,
        channel: &ClientChannel,
        now: Instant,
    ) {
        self.producers
            .lock()
            .entry(group.to_owned())
            .or_default()
            .insert(
                client_id.to_owned(),
                ClientEntry {
                    channel: channel.clone(),
                    last_seen: now,
                },
            );
    }

    /// Removes a client from a consumer group; answers whether it was a member.
    pub(crate) fn unregister_consumer(&self, group: &str, client_id: &str) -> bool {
        let mut consumers = self.consumers.lock();
        let Some(g) = consumers.get_mut(group) else {
            return false;
        };
        let removed = g.clients.remove(client_id).is_some();
        if g.clients.is_empty() {
            consumers.remove(group);
        }
        removed
    }

    /// Removes a client from a producer group.
    pub(crate) fn unregister_producer(&self, group: &str, client_id: &str) {
        let mut producers = self.producers.lock();
        if let Some(g) = producers.get_mut(group) {
            g.remove(client_id);
            if g.is_empty() {
                producers.remove(group);
            }
        }
    }

    /// Removes every client on a closed connection; answers the consumer groups that lost
    /// a member.
    pub(crate) fn remove_connection(&self, conn_id: u64) -> Vec<String> {
        self.remove_where(|e| e.channel.conn_id() == conn_id)
    }

    /// Removes clients silent for longer than `timeout`; answers the consumer groups that
    /// lost a member.
    pub(crate) fn expire(&self, now: Instant, timeout: Duration) -> Vec<String> {
        self.remove_where(|e| now.saturating_duration_since(e.last_seen) > timeout)
    }

    fn remove_where(&self, gone: impl Fn(&ClientEntry) -> bool) -> Vec<String> {
        let mut changed = Vec::new();
        {
            let mut consumers = self.consumers.lock();
            for (name, group) in consumers.iter_mut() {
                let before = group.clients.len();
                group.clients.retain(|id, e| {
                    let keep = !gone(e);
                    if !keep {
                        tracing::info!(group = %name, client = %id, addr = %e.channel.addr(), "consumer left");
                    }
                    keep
                });
                if group.clients.len() != before {
                    changed.push(name.clone());
                }
            }
            consumers.retain(|_, g| !g.clients.is_empty());
        }
        let mut producers = self.producers.lock();
        for group in producers.values_mut() {
            group.retain(|_, e| !gone(e));
        }
        producers.retain(|_, g| !g.is_empty());
        changed.sort();
        changed
    }

    /// Client ids of a consumer group, sorted; `None` if nobody runs it.
    pub(crate) fn consumer_ids(&self, group: &str) -> Option<Vec<String>> {
        let consumers = self.consumers.lock();
        let g = consumers.get(group)?;
        let mut ids: Vec<String> = g.clients.keys().cloned().collect();
        ids.sort();
        Some(ids)
    }

    /// The channels of a consumer group's clients (to notify them).
    pub(crate) fn consumer_channels(&self, group: &str) -> Vec<ClientChannel> {
        self.consumers.lock().get(group).map_or_else(Vec::new, |g| {
            g.clients.values().map(|e| e.channel.clone()).collect()
        })
    }

    /// The group's subscription of `topic`, from its heartbeats.
    pub(crate) fn subscription(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.consumers
            .lock()
            .get(group)?
            .subscriptions
            .get(topic)
            .cloned()
    }

    /// Whether a consumer group has any live client.
    pub(crate) fn has_consumer_group(&self, group: &str) -> bool {
        self.consumers.lock().contains_key(group)
    }

    /// Topics a consumer group subscribes to, sorted.
    pub(crate) fn subscribed_topics(&self, group: &str) -> Vec<String> {
        let mut topics: Vec<String> = self
            .consumers
            .lock()
            .get(group)
            .map(|g| g.subscriptions.keys().cloned().collect())
            .unwrap_or_default();
        topics.sort();
        topics
    }

    /// GET_CONSUMER_CONNECTION_LIST's answer; `None` if no client runs the group.
    pub(crate) fn connection_info(&self, group: &str) -> Option<ConsumerConnection> {
        let consumers = self.consumers.lock();
        let g = consumers.get(group)?;
        let mut connection_set: Vec<Connection> = g
            .clients
            .iter()
            .map(|(id, e)| Connection {
                client_id: id.clone(),
                client_addr: e.channel.addr().to_string(),
                language: e.channel.language().name().to_owned(),
                version: e.channel.version(),
            })
            .collect();
        connection_set.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Some(ConsumerConnection {
            connection_set,
            subscription_table: g.subscriptions.clone(),
            consume_type: g.consume_type,
            message_model: g.message_model,
            consume_from_where: g.consume_from_where,
        })
    }

    /// (consumer groups, consumer clients, producer groups, producer clients), for runtime info.
    pub(crate) fn counts(&self) -> (usize, usize, usize, usize) {
        let consumers = self.consumers.lock();
        let producers = self.producers.lock();
        (
            consumers.len(),
            consumers.values().map(|g| g.clients.len()).sum(),
            producers.len(),
            producers.values().map(HashMap::len).sum(),
        )
    }
}

/// Subscriptions compare by topic and expression; `subVersion` changes on every client
/// restart and must not count as a change (it would make every heartbeat a rebalance).
fn same_subscriptions(
    a: &HashMap<String, SubscriptionData>,
    b: &HashMap<String, SubscriptionData>,
) -> bool {
    a.len() == b.len()
        && a.iter().all(|(topic, sa)| {
            b.get(topic).is_some_and(|sb| {
                sa.sub_string == sb.sub_string && sa.expression_type == sb.expression_type
            })
        })
}
