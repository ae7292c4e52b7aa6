//! The route table: which brokers are alive, which clusters they form, and which topics they
//! serve with how many queues (RocketMQ's `RouteInfoManager`).
//!
//! Plain data behind the server's lock: no I/O and no clock of its own (callers pass `now`),
//! so it is tested directly.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use tokio::time::Instant;

use crate::protocol::body::admin::{ClusterInfo, TopicList};
use crate::protocol::body::broker_register::{DataVersion, TopicConfigSerializeWrapper};
use crate::protocol::body::route::{BrokerData, MASTER_ID, PERM_WRITE, QueueData, TopicRouteData};

/// Identity of one broker process as it registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerId {
    /// Cluster name.
    pub cluster_name: String,
    /// Broker (group) name.
    pub broker_name: String,
    /// `ip:port` clients connect to.
    pub broker_addr: String,
    /// 0 = master.
    pub broker_id: i64,
}

/// What REGISTER_BROKER answers: set for a slave whose master is alive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterOutcome {
    /// The master's HA address.
    pub ha_server_addr: Option<String>,
    /// The master's address.
    pub master_addr: Option<String>,
}

#[derive(Debug)]
struct LiveBroker {
    id: BrokerId,
    last_update: Instant,
    data_version: DataVersion,
    ha_server_addr: String,
}

/// All routing state of the name server.
#[derive(Debug, Default)]
pub struct RouteTable {
    topic_queues: HashMap<String, Vec<QueueData>>,
    brokers: HashMap<String, BrokerData>,
    clusters: HashMap<String, BTreeSet<String>>,
    live: HashMap<String, LiveBroker>,
    filter_servers: HashMap<String, Vec<String>>,
}

impl RouteTable {
    /// Records a broker's registration (or re-registration, which is its heartbeat).
    ///
    /// Queue data is taken from a master only, and only on its first registration or when its
    /// data version changed, as RocketMQ does.
    pub fn register(
        &mut self,
        id: BrokerId,
        ha_server_addr: String,
        topics: &TopicConfigSerializeWrapper,
        filter_server_list: Vec<String>,
        now: Instant,
    ) -> RegisterOutcome {
        self.clusters
            .entry(id.cluster_name.clone())
            .or_default()
            .insert(id.broker_name.clone());
        let group = self
            .brokers
            .entry(id.broker_name.clone())
            .or_insert_with(|| BrokerData {
                cluster: id.cluster_name.clone(),
                broker_name: id.broker_name.clone(),
                ..BrokerData::default()
            });
        let first = group
            .broker_addrs
            .insert(id.broker_id, id.broker_addr.clone())
            .is_none();
        if id.broker_id == MASTER_ID
            && (first || self.is_data_version_changed(&id.broker_addr, &topics.data_version))
        {
            for config in topics.topic_config_table.values() {
                let queue = QueueData {
                    broker_name: id.broker_name.clone(),
                    read_queue_nums: config.read_queue_nums,
                    write_queue_nums: config.write_queue_nums,
                    perm: config.perm,
                    topic_sys_flag: config.topic_sys_flag,
                };
                let queues = self
                    .topic_queues
                    .entry(config.topic_name.clone())
                    .or_default();
                queues.retain(|q| q.broker_name != id.broker_name);
                queues.push(queue);
            }
        }
        if filter_server_list.is_empty() {
            self.filter_servers.remove(&id.broker_addr);
        } else {
            self.filter_servers
                .insert(id.broker_addr.clone(), filter_server_list);
        }
        let mut outcome = RegisterOutcome::default();
        if id.broker_id != MASTER_ID {
            let master = self
                .brokers
                .get(&id.broker_name)
                .and_then(|b| b.master_addr())
                .and_then(|addr| self.live.get(addr).map(|l| (addr, l)));
            if let Some((addr, master)) = master {
                outcome.master_addr = Some(addr.to_owned());
                outcome.ha_server_addr = Some(master.ha_server_addr.clone());
            }
        }
        self.live.insert(
            id.broker_addr.clone(),
            LiveBroker {
                id,
                last_update: now,
                data_version: topics.data_version,
                ha_server_addr,
            },
        );
        outcome
    }

    /// Removes a broker; when its group has no address left, the group's topics go too.
    pub fn unregister(&mut self, id: &BrokerId) {
        self.live.remove(&id.broker_addr);
        self.filter_servers.remove(&id.broker_addr);
        let Some(group) = self.brokers.get_mut(&id.broker_name) else {
            return;
        };
        group.broker_addrs.remove(&id.broker_id);
        if !group.broker_addrs.is_empty() {
            return;
        }
        self.brokers.remove(&id.broker_name);
        if let Some(names) = self.clusters.get_mut(&id.cluster_name) {
            names.remove(&id.broker_name);
            if names.is_empty() {
                self.clusters.remove(&id.cluster_name);
            }
        }
        self.topic_queues.retain(|_, queues| {
            queues.retain(|q| q.broker_name != id.broker_name);
            !queues.is_empty()
        });
    }

    /// Drops every broker that has not registered for `timeout`; returns their addresses.
    pub fn expire(&mut self, now: Instant, timeout: Duration) -> Vec<BrokerId> {
        let expired: Vec<BrokerId> = self
            .live
            .values()
            .filter(|l| now.saturating_duration_since(l.last_update) > timeout)
            .map(|l| l.id.clone())
            .collect();
        for id in &expired {
            self.unregister(id);
        }
        expired
    }

    /// Whether `version` differs from the last one `broker_addr` registered (or it is unknown).
    pub fn is_data_version_changed(&self, broker_addr: &str, version: &DataVersion) -> bool {
        self.live
            .get(broker_addr)
            .is_none_or(|l| l.data_version != *version)
    }

    /// The data version last registered by `broker_addr`.
    pub fn data_version(&self, broker_addr: &str) -> Option<DataVersion> {
        self.live.get(broker_addr).map(|l| l.data_version)
    }

    /// Refreshes a broker's liveness without a full registration (QUERY_DATA_VERSION).
    pub fn touch(&mut self, broker_addr: &str, now: Instant) {
        if let Some(live) = self.live.get_mut(broker_addr) {
            live.last_update = now;
        }
    }

    /// The route of `topic`, if any live broker serves it.
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topic_queues.get(topic)?;
        let names: BTreeSet<&str> = queues.iter().map(|q| q.broker_name.as_str()).collect();
        let broker_datas: Vec<BrokerData> = names
            .iter()
            .filter_map(|name| self.brokers.get(*name).cloned())
            .collect();
        if broker_datas.is_empty() {
            return None;
        }
        let filter_server_table = broker_datas
            .iter()
            .flat_map(|b| b.broker_addrs.values())
            .filter_map(|addr| Some((addr.clone(), self.filter_servers.get(addr)?.clone())))
            .collect();
        Some(TopicRouteData {
            broker_datas,
            filter_server_table,
            order_topic_conf: None,
            queue_datas: queues.clone(),
        })
    }

    /// Brokers and clusters.
    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.brokers.clone(),
            cluster_addr_table: self.clusters.clone(),
        }
    }

    /// Every topic with a route.
    pub fn topics(&self) -> TopicList {
        TopicList {
            topic_list: self.topic_queues.keys().cloned().collect(),
            broker_addr: None,
        }
    }

    /// Topics served by brokers of `cluster`.
    pub fn topics_of_cluster(&self, cluster: &str) -> TopicList {
        let names = self.clusters.get(cluster);
        let topic_list = self
            .topic_queues
            .iter()
            .filter(|(_, queues)| {
                queues
                    .iter()
                    .any(|q| names.is_some_and(|n| n.contains(&q.broker_name)))
            })
            .map(|(topic, _)| topic.clone())
            .collect();
        TopicList {
            topic_list,
            broker_addr: None,
        }
    }

    /// Deletes a topic's route, or only its queues on `cluster`'s brokers.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) {
        let Some(cluster) = cluster.filter(|c| !c.is_empty()) else {
            self.topic_queues.remove(topic);
            return;
        };
        let names = self.clusters.get(cluster).cloned().unwrap_or_default();
        if let Some(queues) = self.topic_queues.get_mut(topic) {
            queues.retain(|q| !names.contains(&q.broker_name));
            if queues.is_empty() {
                self.topic_queues.remove(topic);
            }
        }
    }

    /// Removes write permission from every queue of `broker_name`; returns how many changed.
    pub fn wipe_write_perm(&mut self, broker_name: &str) -> usize {
        let mut count = 0;
        for queue in self.topic_queues.values_mut().flatten() {
            if queue.broker_name == broker_name {
                queue.perm &= !PERM_WRITE;
                count += 1;
            }
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::body::broker_register::TopicConfig;

    fn id(name: &str, addr: &str, broker_id: i64) -> BrokerId {
        BrokerId {
            cluster_name: "c".into(),
            broker_name: name.into(),
            broker_addr: addr.into(),
            broker_id,
        }
    }

    fn topics(list: &[(&str, i32)], counter: i64) -> TopicConfigSerializeWrapper {
        TopicConfigSerializeWrapper {
            topic_config_table: list
                .iter()
                .map(|(t, n)| ((*t).to_owned(), TopicConfig::new(*t, *n)))
                .collect(),
            data_version: DataVersion {
                timestamp: 1,
                counter,
            },
        }
    }

    #[test]
    fn slave_learns_its_master_and_master_death_keeps_slave_routes() {
        let now = Instant::now();
        let mut table = RouteTable::default();
        table.register(
            id("a", "m:1", 0),
            "m:2".into(),
            &topics(&[("T", 4)], 1),
            vec![],
            now,
        );
        let slave = table.register(
            id("a", "s:1", 1),
            "s:2".into(),
            &topics(&[], 1),
            vec![],
            now,
        );
        assert_eq!(slave.master_addr.as_deref(), Some("m:1"));
        assert_eq!(slave.ha_server_addr.as_deref(), Some("m:2"));
        table.unregister(&id("a", "m:1", 0));
        let route = table.route("T");
        assert_eq!(route.map(|r| r.broker_datas[0].broker_addrs.len()), Some(1));
        table.unregister(&id("a", "s:1", 1));
        assert!(table.route("T").is_none());
        assert!(table.cluster_info().cluster_addr_table.is_empty());
    }

    #[test]
    fn queue_data_changes_only_with_the_data_version() {
        let now = Instant::now();
        let mut table = RouteTable::default();
        table.register(
            id("a", "m:1", 0),
            String::new(),
            &topics(&[("T", 4)], 1),
            vec![],
            now,
        );
        table.register(
            id("a", "m:1", 0),
            String::new(),
            &topics(&[("T", 8)], 1),
            vec![],
            now,
        );
        let queues = |t: &RouteTable| t.route("T").map(|r| r.queue_datas[0].write_queue_nums);
        assert_eq!(queues(&table), Some(4));
        table.register(
            id("a", "m:1", 0),
            String::new(),
            &topics(&[("T", 8)], 2),
            vec![],
            now,
        );
        assert_eq!(queues(&table), Some(8));
        assert_eq!(table.wipe_write_perm("a"), 1);
    }

    #[test]
    fn expiry_drops_silent_brokers_only() {
        let start = Instant::now();
        let mut table = RouteTable::default();
        table.register(
            id("a", "a:1", 0),
            String::new(),
            &topics(&[("T", 1)], 1),
            vec![],
            start,
        );
        let later = start + Duration::from_secs(100);
        table.register(
            id("b", "b:1", 0),
            String::new(),
            &topics(&[("T", 1)], 1),
            vec![],
            later,
        );
        let expired = table.expire(start + Duration::from_secs(150), Duration::from_secs(120));
        assert_eq!(expired, vec![id("a", "a:1", 0)]);
        let route = table.route("T").unwrap_or_default();
        assert_eq!(route.queue_datas.len(), 1);
        assert_eq!(route.broker_datas[0].broker_name, "b");
    }
}
