//! Live clients by group (RocketMQ's `ConsumerManager` and `ProducerManager`): which client
//! ids run each consumer group on which connection, the group's subscriptions, and which
//! producers are connected. Heartbeats refresh an entry; a connection closing or going
//! silent past the expiry removes it. Membership changes are reported to the caller, which
//! sends NOTIFY_CONSUMER_IDS_CHANGED so the group rebalances.
//!
//! Besides the group's subscription table (the last heartbeat's, as in RocketMQ: pulls filter
//! with it), each client's own subscriptions are kept, so that members subscribing
//! differently can be reported to the caller and shown by GET_CONSUMER_CONNECTION_LIST.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use super::connection::ClientChannel;
use crate::protocol::body::admin::{Connection, ConsumerConnection};
use crate::protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, MessageModel, SubscriptionData,
};
use crate::protocol::body::subscription_conflict::{SubscriptionConflict, subscription_conflicts};

#[derive(Debug)]
struct ClientEntry {
    channel: ClientChannel,
    last_seen: Instant,
}

/// A member of a consumer group and what its own heartbeats subscribe, topic → subscription.
#[derive(Debug)]
struct ConsumerClient {
    entry: ClientEntry,
    subscriptions: HashMap<String, SubscriptionData>,
}

#[derive(Debug)]
struct ConsumerGroup {
    consume_type: ConsumeType,
    message_model: MessageModel,
    consume_from_where: ConsumeFromWhere,
    /// The last heartbeat's subscriptions, whoever sent it: what pulls filter with.
    subscriptions: HashMap<String, SubscriptionData>,
    clients: HashMap<String, ConsumerClient>,
}

/// What a consumer heartbeat changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ConsumerRegistration {
    /// A new member, or a different group subscription table: the members must rebalance.
    pub(crate) group_changed: bool,
    /// Set only when the client's own subscriptions are new or changed (so once per change,
    /// not on every heartbeat) and differ from another live member's.
    pub(crate) mismatch: Option<SubscriptionMismatch>,
}

/// A member whose subscriptions differ from the heartbeating client's, and how.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SubscriptionMismatch {
    /// The other member's client id (the smallest, when several differ).
    pub(crate) other_client: String,
    /// The topics the two disagree on.
    pub(crate) conflicts: Vec<SubscriptionConflict>,
}

/// Producer and consumer groups, shared by every handler.
#[derive(Debug, Default)]
pub(crate) struct ClientGroups {
    consumers: Mutex<HashMap<String, ConsumerGroup>>,
    producers: Mutex<HashMap<String, HashMap<String, ClientEntry>>>,
}

impl ClientGroups {
    /// Records a consumer heartbeat. Answers whether the group's membership or subscriptions
    /// changed (a new client id, or a different subscription set), as RocketMQ decides, and
    /// whether the client newly subscribes differently from another member.
    pub(crate) fn register_consumer(
        &self,
        client_id: &str,
        channel: &ClientChannel,
        data: &ConsumerData,
        now: Instant,
    ) -> ConsumerRegistration {
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
        let subscriptions: HashMap<String, SubscriptionData> = data
            .subscription_data_set
            .iter()
            .map(|s| (s.topic.clone(), s.clone()))
            .collect();
        let (joined, own_changed) = match group.clients.get_mut(client_id) {
            Some(client) => {
                // Same client id on a new connection (a reconnect): follow the new channel.
                client.entry.channel = channel.clone();
                client.entry.last_seen = now;
                let changed = !same_subscriptions(&client.subscriptions, &subscriptions);
                client.subscriptions = subscriptions.clone();
                (false, changed)
            }
            None => {
                group.clients.insert(
                    client_id.to_owned(),
                    ConsumerClient {
                        entry: ClientEntry {
                            channel: channel.clone(),
                            last_seen: now,
                        },
                        subscriptions: subscriptions.clone(),
                    },
                );
                (true, true)
            }
        };
        let resubscribed = !same_subscriptions(&group.subscriptions, &subscriptions);
        // Always keep the latest copy: pulls compare their subVersion with it.
        group.subscriptions = subscriptions;
        ConsumerRegistration {
            group_changed: joined || resubscribed,
            mismatch: own_changed
                .then(|| first_mismatch(group, client_id))
                .flatten(),
        }
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
                group.clients.retain(|id, c| {
                    let keep = !gone(&c.entry);
                    if !keep {
                        tracing::info!(group = %name, client = %id, addr = %c.entry.channel.addr(), "consumer left");
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
            g.clients
                .values()
                .map(|c| c.entry.channel.clone())
                .collect()
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
            .map(|(id, c)| Connection {
                client_id: id.clone(),
                client_addr: c.entry.channel.addr().to_string(),
                language: c.entry.channel.language().name().to_owned(),
                version: c.entry.channel.version(),
            })
            .collect();
        connection_set.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        let subscriptions_by_client: BTreeMap<String, Vec<SubscriptionData>> = g
            .clients
            .iter()
            .map(|(id, c)| {
                let mut subs: Vec<SubscriptionData> = c.subscriptions.values().cloned().collect();
                subs.sort_by(|a, b| a.topic.cmp(&b.topic));
                (id.clone(), subs)
            })
            .collect();
        Some(ConsumerConnection {
            connection_set,
            subscription_table: g.subscriptions.clone(),
            consume_type: g.consume_type,
            message_model: g.message_model,
            consume_from_where: g.consume_from_where,
            subscriptions_by_client,
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

/// The member (smallest id first) that subscribes differently from `client_id`, if any.
fn first_mismatch(group: &ConsumerGroup, client_id: &str) -> Option<SubscriptionMismatch> {
    let (own_id, own) = group.clients.get_key_value(client_id)?;
    let mut others: Vec<(&String, &ConsumerClient)> = group
        .clients
        .iter()
        .filter(|(id, _)| id.as_str() != client_id)
        .collect();
    others.sort_by(|a, b| a.0.cmp(b.0));
    others.into_iter().find_map(|(other_id, other)| {
        let conflicts = subscription_conflicts([
            (own_id, own.subscriptions.values()),
            (other_id, other.subscriptions.values()),
        ]);
        (!conflicts.is_empty()).then(|| SubscriptionMismatch {
            other_client: other_id.clone(),
            conflicts,
        })
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn heartbeat(group: &str, subs: &[(&str, &str)]) -> ConsumerData {
        ConsumerData {
            group_name: group.to_owned(),
            subscription_data_set: subs
                .iter()
                .map(|(topic, expr)| SubscriptionData {
                    topic: (*topic).to_owned(),
                    sub_string: (*expr).to_owned(),
                    ..SubscriptionData::default()
                })
                .collect(),
            ..ConsumerData::default()
        }
    }

    #[tokio::test]
    async fn a_differing_member_is_reported_once_per_change() {
        let groups = ClientGroups::default();
        let now = Instant::now();
        let channels = [
            ClientChannel::detached(1).await,
            ClientChannel::detached(2).await,
            ClientChannel::detached(3).await,
        ];
        let register = |id: &str, conn: u64, subs: &[(&str, &str)]| {
            let channel = &channels[usize::try_from(conn - 1).unwrap_or_default()];
            groups.register_consumer(id, channel, &heartbeat("g", subs), now)
        };
        let first = register("c1", 1, &[("T", "tagA")]);
        assert!(first.group_changed && first.mismatch.is_none());
        assert_eq!(register("c2", 2, &[("T", "tagA")]).mismatch, None);

        let differing = register("c3", 3, &[("T", "tagB")]).mismatch;
        let differing = differing.unwrap_or_else(|| panic!("c3 differs from c1"));
        assert_eq!(differing.other_client, "c1");
        assert_eq!(differing.conflicts[0].expressions["tagB"], ["c3"]);
        assert_eq!(differing.conflicts[0].expressions["tagA"], ["c1"]);
        // Heartbeats that repeat a known subscription set report nothing again.
        assert_eq!(register("c3", 3, &[("T", "tagB")]).mismatch, None);
        assert_eq!(register("c1", 1, &[("T", "tagA")]).mismatch, None);
        // The pull filter still follows the last heartbeat, as in RocketMQ.
        assert_eq!(
            groups.subscription("g", "T").map(|s| s.sub_string),
            Some("tagA".into())
        );

        let info = groups.connection_info("g").unwrap_or_default();
        assert_eq!(info.subscriptions_by_client.len(), 3);
        assert_eq!(info.subscriptions_by_client["c3"][0].sub_string, "tagB");

        // Coming back in line is a change, but no longer a mismatch.
        assert_eq!(register("c3", 3, &[("T", "tagA")]).mismatch, None);
    }
}
