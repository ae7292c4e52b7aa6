//! Consumer offsets: kept in memory while consuming, persisted to the broker (clustering) or
//! to a local file (broadcasting, where every instance has its own position).
//!
//! The in-memory value only moves forward during normal consumption (`increase_only`), so a
//! slow acknowledgement of an old batch cannot pull the committed position back; a reset
//! overrides it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use crate::client::core::ClientCore;
use crate::client::error::ClientResult;
use crate::protocol::MessageQueue;

/// One line of the local offset file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OffsetEntry {
    topic: String,
    broker_name: String,
    queue_id: i32,
    offset: i64,
}

/// Where a consumer's offsets live.
#[derive(Debug)]
pub(crate) struct OffsetStore {
    group: String,
    /// `Some` for broadcasting: the instance's own file.
    local_path: Option<PathBuf>,
    table: Mutex<HashMap<MessageQueue, i64>>,
}

impl OffsetStore {
    /// Offsets kept by the brokers.
    pub fn remote(group: &str) -> Self {
        Self {
            group: group.to_owned(),
            local_path: None,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// Offsets kept in `path` (loaded now if it exists).
    pub fn local(group: &str, path: PathBuf) -> ClientResult<Self> {
        let mut table = HashMap::new();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let entries: Vec<OffsetEntry> = serde_json::from_slice(&bytes)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
                for e in entries {
                    table.insert(
                        MessageQueue::new(e.topic, e.broker_name, e.queue_id),
                        e.offset,
                    );
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        Ok(Self {
            group: group.to_owned(),
            local_path: Some(path),
            table: Mutex::new(table),
        })
    }

    fn table(&self) -> MutexGuard<'_, HashMap<MessageQueue, i64>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a consumed position; with `increase_only` a smaller value is ignored.
    pub fn update(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        let mut table = self.table();
        let entry = table.entry(mq.clone()).or_insert(offset);
        if !increase_only || offset > *entry {
            *entry = offset;
        }
    }

    /// The in-memory position, if any.
    pub fn get(&self, mq: &MessageQueue) -> Option<i64> {
        self.table().get(mq).copied()
    }

    /// Forgets a queue this instance no longer owns.
    pub fn remove(&self, mq: &MessageQueue) {
        self.table().remove(mq);
    }

    /// The stored position: from the broker (clustering) or the local file (broadcasting).
    pub async fn read_stored(
        &self,
        core: &ClientCore,
        mq: &MessageQueue,
    ) -> ClientResult<Option<i64>> {
        if self.local_path.is_some() {
            return Ok(self.get(mq));
        }
        let addr = core.addr_of(mq).await?;
        let offset = core.query_consumer_offset(&addr, &self.group, mq).await?;
        if let Some(offset) = offset {
            self.update(mq, offset, false);
        }
        Ok(offset)
    }

    /// Persists the positions of `mqs` (clustering: one request per queue; broadcasting: the file).
    pub async fn persist(&self, core: &ClientCore, mqs: &[MessageQueue]) -> ClientResult<()> {
        if let Some(path) = &self.local_path {
            return self.write_file(path);
        }
        let mut first_error = None;
        for mq in mqs {
            let Some(offset) = self.get(mq) else { continue };
            let result = async {
                let addr = core.addr_of(mq).await?;
                core.update_consumer_offset(&addr, &self.group, mq, offset)
                    .await
            };
            if let Err(e) = result.await {
                tracing::debug!(queue = ?mq, error = %e, "offset commit failed");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn write_file(&self, path: &PathBuf) -> ClientResult<()> {
        let entries: Vec<OffsetEntry> = self
            .table()
            .iter()
            .map(|(mq, offset)| OffsetEntry {
                topic: mq.topic.clone(),
                broker_name: mq.broker_name.clone(),
                queue_id: mq.queue_id,
                offset: *offset,
            })
            .collect();
        let json = serde_json::to_vec_pretty(&entries)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Write then rename: a crash mid-write leaves the previous file intact.
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn local_offsets_survive_a_reload() {
        let dir = std::env::temp_dir().join(format!("mq-offsets-{}", std::process::id()));
        let path = dir.join("g").join("offsets.json");
        let mq = MessageQueue::new("t", "b", 3);
        let store = OffsetStore::local("g", path.clone()).unwrap();
        store.update(&mq, 10, true);
        store.update(&mq, 7, true);
        assert_eq!(store.get(&mq), Some(10));
        store.write_file(&path).unwrap();
        let again = OffsetStore::local("g", path).unwrap();
        assert_eq!(again.get(&mq), Some(10));
        let _cleanup = std::fs::remove_dir_all(dir);
    }
}
