//! Topic routes from the name servers: fetched on first use, cached, refreshed periodically
//! and after failures; the queue lists producers and consumers choose from.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use super::core::expect_success;
use super::error::{ClientError, ClientResult};
use super::pool::ConnectionPool;
use crate::protocol::body::route::{PERM_READ, PERM_WRITE, TopicRouteData};
use crate::protocol::code::{RequestCode, ResponseCode};
use crate::protocol::header::namesrv::GetRouteInfoRequestHeader;
use crate::protocol::{JsonBody, MessageQueue, RemotingCommand};

/// The topic whose route stands in for a topic the name servers do not know yet; sending
/// with it as `defaultTopic` lets the broker create the topic (`TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC`).
pub const AUTO_CREATE_TOPIC: &str = "TBW102";
/// Queue count a producer asks for when the broker auto-creates a topic (`defaultTopicQueueNums`).
pub const DEFAULT_TOPIC_QUEUE_NUMS: i32 = 4;

/// One topic's route and the queues derived from it.
#[derive(Debug, Clone)]
pub struct TopicRoute {
    /// The topic.
    pub topic: String,
    /// The name server's answer.
    pub data: TopicRouteData,
    /// Queues a producer may write: writable brokers with a live master, sorted.
    pub write_queues: Vec<MessageQueue>,
    /// Queues a consumer may read: readable brokers with a live master, sorted.
    pub read_queues: Vec<MessageQueue>,
    /// Whether this is the auto-create stand-in built from [`AUTO_CREATE_TOPIC`]'s route.
    pub auto_create: bool,
    /// When it was fetched.
    pub fetched: Instant,
}

impl TopicRoute {
    /// Derives the queue lists of `topic` from `data`.
    pub fn new(topic: &str, data: TopicRouteData) -> Self {
        let masters: HashMap<&str, bool> = data
            .broker_datas
            .iter()
            .map(|b| (b.broker_name.as_str(), b.master_addr().is_some()))
            .collect();
        let mut write_queues = Vec::new();
        let mut read_queues = Vec::new();
        for q in &data.queue_datas {
            if !masters
                .get(q.broker_name.as_str())
                .copied()
                .unwrap_or(false)
            {
                continue;
            }
            if q.perm & PERM_WRITE != 0 {
                write_queues.extend(
                    (0..q.write_queue_nums).map(|id| MessageQueue::new(topic, &q.broker_name, id)),
                );
            }
            if q.perm & PERM_READ != 0 {
                read_queues.extend(
                    (0..q.read_queue_nums).map(|id| MessageQueue::new(topic, &q.broker_name, id)),
                );
            }
        }
        write_queues.sort();
        read_queues.sort();
        Self {
            topic: topic.to_owned(),
            data,
            write_queues,
            read_queues,
            auto_create: false,
            fetched: Instant::now(),
        }
    }

    /// The stand-in route for a topic that does not exist yet, from the auto-create topic's
    /// route: the same brokers with at most [`DEFAULT_TOPIC_QUEUE_NUMS`] queues each.
    pub fn auto_create(topic: &str, mut template: TopicRouteData) -> Self {
        for q in &mut template.queue_datas {
            q.read_queue_nums = q.read_queue_nums.min(DEFAULT_TOPIC_QUEUE_NUMS);
            q.write_queue_nums = q.write_queue_nums.min(DEFAULT_TOPIC_QUEUE_NUMS);
        }
        let mut route = Self::new(topic, template);
        route.auto_create = true;
        route
    }

    /// The master address of `broker_name` in this route.
    pub fn master_addr(&self, broker_name: &str) -> Option<&str> {
        self.data
            .broker_datas
            .iter()
            .find(|b| b.broker_name == broker_name)
            .and_then(|b| b.master_addr())
    }

    /// Every broker master of the route, by name.
    pub fn masters(&self) -> BTreeMap<String, String> {
        self.data
            .broker_datas
            .iter()
            .filter_map(|b| Some((b.broker_name.clone(), b.master_addr()?.to_owned())))
            .collect()
    }
}

/// The route cache of one client.
#[derive(Debug)]
pub struct RouteTable {
    namesrv: Vec<String>,
    next_namesrv: AtomicUsize,
    pool: Arc<ConnectionPool>,
    timeout: Duration,
    routes: RwLock<HashMap<String, Arc<TopicRoute>>>,
    /// Broker name → master address, from every route seen (routes may lose a broker briefly).
    brokers: RwLock<HashMap<String, String>>,
}

impl RouteTable {
    pub(crate) fn new(namesrv: Vec<String>, pool: Arc<ConnectionPool>, timeout: Duration) -> Self {
        Self {
            namesrv,
            next_namesrv: AtomicUsize::new(0),
            pool,
            timeout,
            routes: RwLock::new(HashMap::new()),
            brokers: RwLock::new(HashMap::new()),
        }
    }

    /// Sends `request` to the name servers in turn until one answers; returns its response.
    pub async fn call_namesrv(&self, request: RemotingCommand) -> ClientResult<RemotingCommand> {
        let start = self.next_namesrv.load(Ordering::Relaxed);
        let mut last = ClientError::InvalidArgument("no name server address given".into());
        for i in 0..self.namesrv.len() {
            let index = (start + i) % self.namesrv.len();
            let addr = &self.namesrv[index];
            // Each attempt gets a fresh opaque: a late answer to the previous one must not match.
            let attempt = request
                .clone()
                .with_opaque(RemotingCommand::request(0).opaque);
            match self.pool.invoke(addr, attempt, self.timeout).await {
                Ok(response) => {
                    self.next_namesrv.store(index, Ordering::Relaxed);
                    return Ok(response);
                }
                Err(e) => {
                    tracing::debug!(namesrv = %addr, error = %e, "name server unreachable");
                    last = e;
                }
            }
        }
        Err(last)
    }

    /// The route of `topic` as the name servers know it now (not cached).
    pub async fn fetch(&self, topic: &str) -> ClientResult<TopicRouteData> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_owned(),
            accept_standard_json_only: Some(true),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
        let response = self.call_namesrv(request).await?;
        if response.code == ResponseCode::TOPIC_NOT_EXIST {
            return Err(ClientError::NoRoute {
                topic: topic.to_owned(),
            });
        }
        let response = expect_success(response)?;
        Ok(TopicRouteData::from_json(&response.body)?)
    }

    /// The cached route of `topic`, fetched on first use.
    pub async fn get(&self, topic: &str) -> ClientResult<Arc<TopicRoute>> {
        if let Some(route) = self.cached(topic) {
            return Ok(route);
        }
        self.refresh(topic).await
    }

    /// The cached route, if any.
    pub fn cached(&self, topic: &str) -> Option<Arc<TopicRoute>> {
        self.routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(topic)
            .cloned()
    }

    /// Fetches `topic`'s route now and caches it.
    pub async fn refresh(&self, topic: &str) -> ClientResult<Arc<TopicRoute>> {
        let data = self.fetch(topic).await?;
        Ok(self.store(TopicRoute::new(topic, data)))
    }

    /// Caches `route` (replacing the old one) and learns its broker addresses.
    pub fn store(&self, route: TopicRoute) -> Arc<TopicRoute> {
        {
            let mut brokers = self.brokers.write().unwrap_or_else(PoisonError::into_inner);
            for (name, addr) in route.masters() {
                brokers.insert(name, addr);
            }
        }
        let route = Arc::new(route);
        self.routes
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(route.topic.clone(), Arc::clone(&route));
        route
    }

    /// Topics in the cache.
    pub fn topics(&self) -> Vec<String> {
        self.routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }

    /// Refreshes every cached topic; failures keep the old route (a name server hiccup must
    /// not make a producer forget its brokers).
    pub async fn refresh_all(&self) {
        for topic in self.topics() {
            if let Err(e) = self.refresh(&topic).await {
                tracing::debug!(%topic, error = %e, "route refresh failed");
            }
        }
    }

    /// The master address of `broker_name`, from any route seen so far.
    pub fn broker_addr(&self, broker_name: &str) -> Option<String> {
        self.brokers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(broker_name)
            .cloned()
    }

    /// The master address of the broker holding `mq`, refreshing the route if unknown.
    pub async fn addr_of(&self, mq: &MessageQueue) -> ClientResult<String> {
        if let Some(addr) = self.broker_addr(&mq.broker_name) {
            return Ok(addr);
        }
        let route = self.refresh(&mq.topic).await?;
        route
            .master_addr(&mq.broker_name)
            .map(str::to_owned)
            .ok_or_else(|| ClientError::NoRoute {
                topic: mq.topic.clone(),
            })
    }

    /// Every broker master known from the routes seen so far, by name.
    pub fn known_brokers(&self) -> BTreeMap<String, String> {
        self.brokers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::protocol::body::route::{BrokerData, QueueData};

    fn broker(name: &str, addrs: &[(i64, &str)]) -> BrokerData {
        BrokerData {
            cluster: "c".into(),
            broker_name: name.into(),
            broker_addrs: addrs
                .iter()
                .map(|(id, a)| (*id, (*a).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            ..BrokerData::default()
        }
    }

    fn queues(name: &str, read: i32, write: i32, perm: i32) -> QueueData {
        QueueData {
            broker_name: name.into(),
            read_queue_nums: read,
            write_queue_nums: write,
            perm,
            topic_sys_flag: 0,
        }
    }

    #[test]
    fn queue_lists_follow_permissions_and_live_masters() {
        let data = TopicRouteData {
            broker_datas: vec![
                broker("a", &[(0, "h:1")]),
                broker("b", &[(0, "h:2")]),
                // A slave only: no master, so none of its queues are used.
                broker("c", &[(1, "h:3")]),
            ],
            queue_datas: vec![
                queues("b", 2, 2, PERM_READ | PERM_WRITE),
                queues("a", 3, 1, PERM_READ),
                queues("c", 4, 4, PERM_READ | PERM_WRITE),
            ],
            ..TopicRouteData::default()
        };
        let route = TopicRoute::new("T", data);
        let write: Vec<_> = route
            .write_queues
            .iter()
            .map(|q| (q.broker_name.as_str(), q.queue_id))
            .collect();
        assert_eq!(write, vec![("b", 0), ("b", 1)]);
        let read: Vec<_> = route
            .read_queues
            .iter()
            .map(|q| (q.broker_name.as_str(), q.queue_id))
            .collect();
        assert_eq!(read, vec![("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1)]);
        assert_eq!(route.master_addr("b"), Some("h:2"));
        assert_eq!(route.master_addr("c"), None);
        assert_eq!(route.masters().len(), 2);
    }

    #[test]
    fn the_auto_create_stand_in_caps_the_queue_count() {
        let data = TopicRouteData {
            broker_datas: vec![broker("a", &[(0, "h:1")])],
            queue_datas: vec![queues("a", 8, 8, PERM_READ | PERM_WRITE | 1)],
            ..TopicRouteData::default()
        };
        let route = TopicRoute::auto_create("New", data);
        assert!(route.auto_create);
        assert_eq!(route.write_queues.len(), DEFAULT_TOPIC_QUEUE_NUMS as usize);
        assert!(route.write_queues.iter().all(|q| q.topic == "New"));
    }
}
