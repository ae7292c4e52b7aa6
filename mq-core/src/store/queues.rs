//! The set of ConsumeQueues (`consumequeue/{topic}/{queueId}/`), found on disk or created on first use.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use super::consume_queue::ConsumeQueue;
use super::error::{IoContext, Result};

/// Every ConsumeQueue of the store, by topic and queue id.
#[derive(Debug)]
pub(crate) struct ConsumeQueues {
    dir: PathBuf,
    entries_per_file: u64,
    map: RwLock<HashMap<String, HashMap<i32, Arc<ConsumeQueue>>>>,
}

impl ConsumeQueues {
    /// Opens every queue under `dir`; answers the set and the queues found damaged (holes cut).
    pub fn open(dir: &Path, entries_per_file: u64) -> Result<(Self, Vec<Arc<ConsumeQueue>>)> {
        fs::create_dir_all(dir).at(dir)?;
        let mut map: HashMap<String, HashMap<i32, Arc<ConsumeQueue>>> = HashMap::new();
        let mut damaged = Vec::new();
        for topic_entry in fs::read_dir(dir).at(dir)? {
            let topic_entry = topic_entry.at(dir)?;
            let Some(topic) = topic_entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let topic_dir = topic_entry.path();
            if !topic_dir.is_dir() {
                continue;
            }
            for q_entry in fs::read_dir(&topic_dir).at(&topic_dir)? {
                let q_entry = q_entry.at(&topic_dir)?;
                let Some(queue_id) = q_entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<i32>().ok())
                else {
                    continue;
                };
                let (cq, hole) =
                    ConsumeQueue::open(&q_entry.path(), &topic, queue_id, entries_per_file)?;
                let cq = Arc::new(cq);
                if hole {
                    damaged.push(Arc::clone(&cq));
                }
                map.entry(topic.clone()).or_default().insert(queue_id, cq);
            }
        }
        Ok((
            Self {
                dir: dir.to_path_buf(),
                entries_per_file,
                map: RwLock::new(map),
            },
            damaged,
        ))
    }

    /// The queue, if it exists.
    pub fn get(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.map
            .read()
            .get(topic)
            .and_then(|q| q.get(&queue_id))
            .cloned()
    }

    /// The queue, created (empty, with its directory) if it does not exist yet.
    pub fn get_or_create(&self, topic: &str, queue_id: i32) -> Result<Arc<ConsumeQueue>> {
        if let Some(cq) = self.get(topic, queue_id) {
            return Ok(cq);
        }
        let mut map = self.map.write();
        if let Some(cq) = map.get(topic).and_then(|q| q.get(&queue_id)) {
            return Ok(Arc::clone(cq));
        }
        let qdir = self.dir.join(topic).join(queue_id.to_string());
        let (cq, _) = ConsumeQueue::open(&qdir, topic, queue_id, self.entries_per_file)?;
        super::segment::sync_dir(&self.dir)?;
        let cq = Arc::new(cq);
        map.entry(topic.to_owned())
            .or_default()
            .insert(queue_id, Arc::clone(&cq));
        Ok(cq)
    }

    /// Every queue.
    pub fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        self.map
            .read()
            .values()
            .flat_map(|q| q.values().cloned())
            .collect()
    }

    /// The queue ids of a topic, sorted.
    pub fn queue_ids(&self, topic: &str) -> Vec<i32> {
        let mut ids: Vec<i32> = self
            .map
            .read()
            .get(topic)
            .map(|q| q.keys().copied().collect())
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// Every topic that has a queue, sorted.
    pub fn topics(&self) -> Vec<String> {
        let mut t: Vec<String> = self.map.read().keys().cloned().collect();
        t.sort();
        t
    }
}
