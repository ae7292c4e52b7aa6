//! The message store: CommitLog, ConsumeQueue, index, dispatch, flush, recovery, retention.
//!
//! # Layout
//!
//! | file | owns |
//! |---|---|
//! | [`config`] | [`StoreConfig`], RocketMQ's defaults |
//! | [`error`] | [`StoreError`] |
//! | [`clock`] | injectable time and disk-usage readings |
//! | `segment` | a log split into fixed-size files named by start offset |
//! | `commit_log/` | the one log of all records: framing, writer, reader/scanner, recovery |
//! | `consume_queue`, `queues` | per-(topic, queue) 20-byte entries, and the set of them |
//! | `dispatch` | records → queue entries; the index's reput thread |
//! | `index` | key / UNIQ_KEY → offsets, in hash-slot files |
//! | `append`, `read` | the write and read paths behind [`Store`] |
//! | `flush`, `checkpoint` | fsync (async interval or group commit) and the recovery checkpoint |
//! | `open` | start-up: clean-shutdown marker, recovery, rebuilding queues |
//! | `retention` | deleting old segments, the disk-full guard |
//!
//! # Directory
//!
//! ```text
//! {dir}/commitlog/{offset:020}                  CommitLog segments
//! {dir}/consumequeue/{topic}/{queueId}/{byte:020}  ConsumeQueue segments
//! {dir}/index/{offset:020}                      index files
//! {dir}/checkpoint                              see `checkpoint`
//! {dir}/abort                                   present while the store is open
//! ```
//!
//! # Threads
//!
//! Appends write under one writer lock (the caller's thread), then dispatch their ConsumeQueue
//! entries inline and call the arrival listener. A flush thread fsyncs (on an interval, or at
//! once for SYNC_FLUSH waiters, who share each fsync), persists queues and writes the
//! checkpoint; an index thread indexes keys behind the writer; a housekeeping thread runs
//! retention and the disk guard. [`Store`] is `Send + Sync`; share it in an `Arc`.

mod append;
mod checkpoint;
pub mod clock;
mod commit_log;
pub mod config;
mod consume_queue;
mod dispatch;
pub mod error;
mod flush;
mod index;
mod open;
mod queues;
mod read;
mod retention;
mod segment;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

pub use clock::{Clock, DiskUsage, FixedDiskUsage, ManualClock, StatvfsDiskUsage, SystemClock};
pub use config::{FlushDiskType, StoreConfig, parse_delay_levels};
pub use consume_queue::CqEntry;
pub use dispatch::SCHEDULE_TOPIC;
pub use error::{Result, StoreError};
pub use retention::HousekeepingReport;

use crate::protocol::msg_id::encode_offset_msg_id;

/// Called after every append with (topic, queue id, the queue's new max offset).
pub type ArrivalListener = Arc<dyn Fn(&str, i32, u64) + Send + Sync>;

/// One message to append. Tags, keys and UNIQ_KEY travel in `properties` (RocketMQ's string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    /// Topic (at most 127 bytes of `[%|a-zA-Z0-9_-]`).
    pub topic: String,
    /// Queue id (≥ 0).
    pub queue_id: i32,
    /// The producer's user flag.
    pub flag: i32,
    /// sysFlag (compression, transaction type; host v6 bits are set by the store).
    pub sys_flag: i32,
    /// When the producer created the message, ms.
    pub born_timestamp: i64,
    /// The producer's address.
    pub born_host: SocketAddr,
    /// How often the message was redelivered.
    pub reconsume_times: i32,
    /// Transaction prepared offset (0 unless transactional).
    pub prepared_transaction_offset: i64,
    /// The body, as sent (possibly compressed).
    pub body: Bytes,
    /// Properties string (`name \u{1} value \u{2} …`).
    pub properties: String,
}

impl AppendMessage {
    /// A message with no flags, properties, born host (0.0.0.0:0) or born time.
    pub fn new(topic: impl Into<String>, queue_id: i32, body: impl Into<Bytes>) -> Self {
        Self {
            topic: topic.into(),
            queue_id,
            flag: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: SocketAddr::from(([0, 0, 0, 0], 0)),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: body.into(),
            properties: String::new(),
        }
    }

    /// Sets the properties string.
    pub fn with_properties(mut self, properties: impl Into<String>) -> Self {
        self.properties = properties.into();
        self
    }
}

/// Where an append landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    /// CommitLog offset of each record, in order (one for a single message).
    pub commit_log_offsets: Vec<u64>,
    /// Queue offset of the first message; the others follow densely.
    pub queue_offset: u64,
    /// CommitLog offset past the last record: pass it to [`Store::wait_durable`].
    pub end_offset: u64,
    /// Bytes written, trailers and any blank included.
    pub wrote_bytes: u64,
    /// STORETIMESTAMP given to the messages.
    pub store_timestamp: i64,
    /// The store host, for msgIds.
    pub store_host: SocketAddr,
}

impl AppendResult {
    /// The offset msgId of each message.
    pub fn msg_ids(&self) -> Vec<String> {
        self.commit_log_offsets
            .iter()
            .map(|o| encode_offset_msg_id(self.store_host, *o as i64))
            .collect()
    }
}

/// The outcome of [`Store::get_messages`], RocketMQ's `GetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GetStatus {
    /// At least one message was found.
    Found,
    /// Entries were read but none matched the filter.
    NoMatchedMessage,
    /// The queue exists but holds no messages.
    NoMessageInQueue,
    /// No such queue.
    NoMatchedLogicQueue,
    /// The offset is below the queue's minimum ("offset moved": see `min_offset`).
    OffsetTooSmall,
    /// The offset equals the max: nothing new yet (long polling waits here).
    OffsetOverflowOne,
    /// The offset is beyond the max.
    OffsetOverflowBadly,
    /// The entries read point into CommitLog segments that were deleted.
    MessageWasRemoving,
}

/// One message found by a pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundMessage {
    /// Queue offset.
    pub queue_offset: u64,
    /// CommitLog offset.
    pub commit_log_offset: u64,
    /// Tag code from the ConsumeQueue entry.
    pub tags_code: i64,
    /// The record in RocketMQ's stored layout, ready to send.
    pub bytes: Bytes,
}

/// The answer of [`Store::get_messages`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetResult {
    /// What happened.
    pub status: GetStatus,
    /// The messages, in queue order.
    pub messages: Vec<FoundMessage>,
    /// The offset to ask for next.
    pub next_begin_offset: u64,
    /// The queue's min offset now.
    pub min_offset: u64,
    /// The queue's max offset now.
    pub max_offset: u64,
}

impl GetResult {
    /// Total bytes of the messages.
    pub fn total_bytes(&self) -> usize {
        self.messages.iter().map(|m| m.bytes.len()).sum()
    }
}

/// Shared state of an open store.
#[derive(Debug)]
pub(crate) struct Inner {
    pub config: StoreConfig,
    pub log: commit_log::CommitLog,
    pub queues: queues::ConsumeQueues,
    pub index: Option<index::Index>,
    pub writer: Mutex<commit_log::writer::Writer>,
    pub flusher: flush::Flusher,
    pub listener: RwLock<Option<ListenerSlot>>,
    /// Bits of the disk-usage ratio while appends are refused, else 0.
    pub disk_full: AtomicU64,
    pub closed: AtomicBool,
    pub index_thread: Mutex<Option<std::thread::Thread>>,
    pub housekeeping_thread: Mutex<Option<std::thread::Thread>>,
}

/// Wraps the listener so `Inner` can derive `Debug`.
pub(crate) struct ListenerSlot(pub ArrivalListener);

impl std::fmt::Debug for ListenerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArrivalListener")
    }
}

/// The message store. Open with [`Store::open`]; close with [`Store::close`] (dropping also
/// closes, but cannot report errors).
#[derive(Debug)]
pub struct Store {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Store {
    /// Opens (creating or recovering) the store in `config.dir` and starts its threads.
    pub fn open(config: StoreConfig) -> Result<Self> {
        let inner = Arc::new(open::open(config)?);
        let mut threads = Vec::new();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(f)
                .map_err(|e| StoreError::Io {
                    path: inner.config.dir.clone(),
                    source: e,
                })
        };
        let i = Arc::clone(&inner);
        threads.push(spawn("store-flush", Box::new(move || flush::run(&i)))?);
        if inner.index.is_some() {
            let i = Arc::clone(&inner);
            let t = spawn("store-index", Box::new(move || dispatch::run_indexer(&i)))?;
            *inner.index_thread.lock() = Some(t.thread().clone());
            threads.push(t);
        }
        let i = Arc::clone(&inner);
        let t = spawn("store-housekeeping", Box::new(move || retention::run(&i)))?;
        *inner.housekeeping_thread.lock() = Some(t.thread().clone());
        threads.push(t);
        Ok(Self {
            inner,
            threads: Mutex::new(threads),
        })
    }

    /// The configuration the store runs with.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// Sets the callback told of every append: (topic, queue id, new max offset).
    ///
    /// It runs on the appending thread right after the write: keep it short (e.g. wake a
    /// long-polling task).
    pub fn set_arrival_listener(&self, listener: ArrivalListener) {
        *self.inner.listener.write() = Some(ListenerSlot(listener));
    }

    /// Flushes everything, persists queues and index, writes the checkpoint, removes the
    /// `abort` marker and stops the threads. Later calls fail with [`StoreError::Closed`].
    pub fn close(&self) -> Result<()> {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.inner.flusher.shutdown();
        for t in [&self.inner.index_thread, &self.inner.housekeeping_thread] {
            if let Some(t) = t.lock().as_ref() {
                t.unpark();
            }
        }
        for t in self.threads.lock().drain(..) {
            if t.join().is_err() {
                tracing::error!("a store thread panicked");
            }
        }
        open::shutdown(&self.inner)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!(error = %e, "closing the store failed");
        }
    }
}
