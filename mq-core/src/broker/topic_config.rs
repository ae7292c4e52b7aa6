//! The broker's topic table (RocketMQ's `TopicConfigManager`): which topics exist with how
//! many queues and which permissions, the name rules, system topics, auto-create on send,
//! and its persistence in `config/topics.json` with a data version the name server compares.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;

use super::BrokerConfig;
use super::json_file;
use crate::protocol::body::broker_register::{
    DataVersion, TopicConfig, TopicConfigSerializeWrapper,
};
use crate::protocol::body::route::{PERM_INHERIT, PERM_READ, PERM_WRITE};
use crate::protocol::message::MAX_TOPIC_LEN;
use crate::store::SCHEDULE_TOPIC;

/// The auto-create key topic (`TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC`).
pub const DEFAULT_TOPIC: &str = "TBW102";
/// Prefix of a consumer group's retry topic.
pub(crate) const RETRY_PREFIX: &str = "%RETRY%";
/// Prefix of a consumer group's dead-letter topic.
pub(crate) const DLQ_PREFIX: &str = "%DLQ%";
/// Queue count of TBW102 (RocketMQ's `defaultTopicQueueNums` = 8).
const DEFAULT_TOPIC_QUEUES: i32 = 8;
/// Most queues a topic may have; keeps a typo from creating millions of directories.
const MAX_QUEUES: i32 = 1024;

/// Topics producers may not send to directly (answered NO_PERMISSION, as RocketMQ does).
const SEND_FORBIDDEN: &[&str] = &[
    SCHEDULE_TOPIC,
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// Checks a topic (or broker/cluster) name: 1-127 characters of `[%|a-zA-Z0-9_-]`.
pub fn validate_topic_name(topic: &str) -> Result<(), String> {
    if topic.trim().is_empty() {
        return Err("the topic name is blank".to_owned());
    }
    if topic.len() > MAX_TOPIC_LEN {
        return Err(format!(
            "the topic name is {} characters, longer than {MAX_TOPIC_LEN}",
            topic.len()
        ));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-');
    if !topic.chars().all(ok) {
        return Err(format!(
            "the topic name {topic:?} contains characters other than [%|a-zA-Z0-9_-]"
        ));
    }
    Ok(())
}

/// Whether `topic` is one the broker owns (refused by UPDATE_AND_CREATE_TOPIC).
pub(crate) fn is_system_topic(topic: &str) -> bool {
    topic == DEFAULT_TOPIC
        || SEND_FORBIDDEN.contains(&topic)
        || topic == "BenchmarkTest"
        || topic == "RMQ_SYS_TRACE_TOPIC"
        || topic.starts_with("rmq_sys_")
}

/// Whether producers may not send to `topic`.
pub(crate) fn is_send_forbidden(topic: &str) -> bool {
    SEND_FORBIDDEN.contains(&topic)
}

/// `%RETRY%<group>`.
pub(crate) fn retry_topic(group: &str) -> String {
    format!("{RETRY_PREFIX}{group}")
}

/// `%DLQ%<group>`.
pub(crate) fn dlq_topic(group: &str) -> String {
    format!("{DLQ_PREFIX}{group}")
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn topic_config(topic: &str, queues: i32, perm: i32) -> TopicConfig {
    TopicConfig {
        perm,
        ..TopicConfig::new(topic, queues)
    }
}

/// The topic table, shared by every handler.
#[derive(Debug)]
pub(crate) struct TopicConfigs {
    path: PathBuf,
    /// Read on every send and pull, written on topic changes: shared for the readers.
    table: RwLock<TopicConfigSerializeWrapper>,
}

impl TopicConfigs {
    /// Loads `config/topics.json` (if any) and adds the broker's system topics.
    pub(crate) fn load(config: &BrokerConfig) -> crate::Result<Self> {
        let path = json_file::config_dir(&config.store.dir).join("topics.json");
        let mut table: TopicConfigSerializeWrapper = json_file::load(&path)?.unwrap_or_default();
        let rw = PERM_READ | PERM_WRITE;
        let levels = i32::try_from(config.store.delay_levels.len()).unwrap_or(i32::MAX);
        let mut system = vec![
            topic_config(SCHEDULE_TOPIC, levels, rw),
            topic_config("SELF_TEST_TOPIC", 1, rw),
            topic_config("OFFSET_MOVED_EVENT", 1, rw),
            // Topics named after the broker and cluster let clients address this broker.
            topic_config(&config.broker_name, 1, rw),
            topic_config(&config.cluster_name, 1, rw),
        ];
        if config.auto_create_topic {
            system.push(config_default_topic());
        } else {
            // A TBW102 left from a run with auto-create on would still advertise the
            // auto-create route to producers.
            table.topic_config_table.remove(DEFAULT_TOPIC);
        }
        for topic in system {
            table
                .topic_config_table
                .insert(topic.topic_name.clone(), topic);
        }
        table.data_version = next_version(table.data_version);
        let topics = Self {
            path,
            table: RwLock::new(table),
        };
        topics.persist_locked(&topics.table.read())?;
        Ok(topics)
    }

    /// One topic's config.
    pub(crate) fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.table.read().topic_config_table.get(topic).cloned()
    }

    /// The whole table with its version (for registration and GET_ALL_TOPIC_CONFIG).
    pub(crate) fn snapshot(&self) -> TopicConfigSerializeWrapper {
        self.table.read().clone()
    }

    /// Creates or replaces a topic (UPDATE_AND_CREATE_TOPIC) and persists the table.
    pub(crate) fn upsert(&self, topic: TopicConfig) -> crate::Result<()> {
        let mut table = self.table.write();
        table
            .topic_config_table
            .insert(topic.topic_name.clone(), topic);
        table.data_version = next_version(table.data_version);
        self.persist_locked(&table)
    }

    /// Removes a topic; answers whether it existed.
    pub(crate) fn delete(&self, topic: &str) -> crate::Result<bool> {
        let mut table = self.table.write();
        if table.topic_config_table.remove(topic).is_none() {
            return Ok(false);
        }
        table.data_version = next_version(table.data_version);
        self.persist_locked(&table)?;
        Ok(true)
    }

    /// The config of `topic` for a send, creating it from `default_topic` when it is unknown
    /// and auto-create is allowed (RocketMQ's `createTopicInSendMessageMethod`).
    ///
    /// Answers the config and whether it was just created, or `None` if the topic does not
    /// exist and may not be created.
    pub(crate) fn get_or_create_for_send(
        &self,
        topic: &str,
        default_topic: &str,
        requested_queues: i32,
        broker: &BrokerConfig,
    ) -> crate::Result<Option<(TopicConfig, bool)>> {
        if let Some(existing) = self.get(topic) {
            return Ok(Some((existing, false)));
        }
        let mut table = self.table.write();
        // Checked again: another send may have created it since the shared look.
        if let Some(existing) = table.topic_config_table.get(topic) {
            return Ok(Some((existing.clone(), false)));
        }
        if !broker.auto_create_topic {
            return Ok(None);
        }
        // The template is the client's defaultTopic when it is inheritable, else TBW102.
        let template = table
            .topic_config_table
            .get(default_topic)
            .filter(|t| t.perm & PERM_INHERIT != 0)
            .or_else(|| table.topic_config_table.get(DEFAULT_TOPIC))
            .cloned();
        let Some(template) = template else {
            return Ok(None);
        };
        let wanted = if requested_queues > 0 {
            requested_queues
        } else {
            broker.default_topic_queue_nums
        };
        // RocketMQ: min(the producer's defaultTopicQueueNums, the template's write queues).
        let queues = wanted.min(template.write_queue_nums).clamp(1, MAX_QUEUES);
        let created = TopicConfig {
            perm: template.perm & !PERM_INHERIT,
            topic_filter_type: template.topic_filter_type.clone(),
            ..TopicConfig::new(topic, queues)
        };
        table
            .topic_config_table
            .insert(topic.to_owned(), created.clone());
        table.data_version = next_version(table.data_version);
        self.persist_locked(&table)?;
        Ok(Some((created, true)))
    }

    /// The config of a broker-made topic (retry, DLQ), creating it with `queues` and `perm`
    /// when absent, whatever the auto-create setting. Answers whether it was created.
    pub(crate) fn ensure(
        &self,
        topic: &str,
        queues: i32,
        perm: i32,
    ) -> crate::Result<(TopicConfig, bool)> {
        let mut table = self.table.write();
        if let Some(existing) = table.topic_config_table.get(topic) {
            return Ok((existing.clone(), false));
        }
        let created = topic_config(topic, queues.clamp(1, MAX_QUEUES), perm);
        table
            .topic_config_table
            .insert(topic.to_owned(), created.clone());
        table.data_version = next_version(table.data_version);
        self.persist_locked(&table)?;
        Ok((created, true))
    }

    /// Writes the table; called with the lock held so two writers never interleave.
    fn persist_locked(&self, table: &TopicConfigSerializeWrapper) -> crate::Result<()> {
        json_file::save(&self.path, table)
    }
}

fn config_default_topic() -> TopicConfig {
    topic_config(
        DEFAULT_TOPIC,
        DEFAULT_TOPIC_QUEUES,
        PERM_READ | PERM_WRITE | PERM_INHERIT,
    )
}

/// A new data version: the counter moves on, the timestamp says when.
fn next_version(v: DataVersion) -> DataVersion {
    DataVersion {
        timestamp: now_millis(),
        counter: v.counter.wrapping_add(1),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_follow_rocketmq_rules() {
        assert!(validate_topic_name("Topic_A-1%|x").is_ok());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name("a b").is_err());
        assert!(validate_topic_name("ä").is_err());
        assert!(validate_topic_name(&"x".repeat(127)).is_ok());
        assert!(validate_topic_name(&"x".repeat(128)).is_err());
    }

    #[test]
    fn auto_create_copies_the_template_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let broker = BrokerConfig::new(dir.path());
        let topics = TopicConfigs::load(&broker).unwrap();
        let (t, created) = topics
            .get_or_create_for_send("T", DEFAULT_TOPIC, 4, &broker)
            .unwrap()
            .unwrap();
        assert!(created);
        assert_eq!((t.read_queue_nums, t.perm), (4, PERM_READ | PERM_WRITE));
        let again = TopicConfigs::load(&broker).unwrap();
        assert_eq!(again.get("T"), Some(t));
        assert!(again.get(SCHEDULE_TOPIC).is_some());

        let mut off = broker.clone();
        off.auto_create_topic = false;
        let topics = TopicConfigs::load(&off).unwrap();
        assert!(topics.get(DEFAULT_TOPIC).is_none());
        assert!(
            topics
                .get_or_create_for_send("U", DEFAULT_TOPIC, 4, &off)
                .unwrap()
                .is_none()
        );
        assert!(topics.get("T").is_some(), "existing topics stay");
    }
}
