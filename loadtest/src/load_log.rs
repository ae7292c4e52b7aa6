//! The load log: what every gate request of a load run was answered, one JSON object per line.
//! `seckill-load` (and the e2e/chaos drivers built on [`crate::driver`]) write it;
//! `seckill-verify --load-log` reads it to learn who asked (U) and who was answered `QUEUED`.
//!
//! # Format
//!
//! One object per request attempt, in the order answers arrived:
//!
//! ```json
//! {"goodsId":2,"userId":17,"status":"QUEUED","http":200,"ms":3.1,"atMs":1250}
//! ```
//!
//! | field | meaning |
//! |---|---|
//! | `goodsId`, `userId` | the request's parameters |
//! | `status` | the gate's JSON `status` (`QUEUED`, `DUPLICATE`, `SOLD_OUT`, `UNAVAILABLE`, …); `ERROR` when no JSON answer came (connection refused, timeout); `ANSWERED` for a `200` whose body was not kept (the oha scenarios: oha stores URL and status code only) — one of `QUEUED`, `DUPLICATE`, `SOLD_OUT` |
//! | `http` | the HTTP status code; `0` with `ERROR` |
//! | `ms` | the request's latency in milliseconds |
//! | `atMs` | when the answer arrived, milliseconds since the run started |
//!
//! A retried request (after `UNAVAILABLE` or `ERROR`) appears once per attempt. Other tools may
//! write the same format; only `goodsId`, `userId` and `status` are required.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};

/// `status` of an attempt that got no JSON answer from the gate.
pub const ERROR_STATUS: &str = "ERROR";

/// `status` of a `200` answer whose body was not recorded (QUEUED, DUPLICATE or SOLD_OUT).
pub const ANSWERED_STATUS: &str = "ANSWERED";

/// Answers that settle what a user asked: the gate decided, and nothing is pending.
pub const DEFINITE_STATUSES: [&str; 4] = ["QUEUED", "DUPLICATE", "SOLD_OUT", ANSWERED_STATUS];

/// One answered request attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadRecord {
    /// The goods asked for.
    pub goods_id: i64,
    /// The user who asked.
    pub user_id: i64,
    /// The gate's `status`, or [`ERROR_STATUS`].
    pub status: String,
    /// HTTP status code (0 when none).
    #[serde(default)]
    pub http: u16,
    /// Latency, milliseconds.
    #[serde(default)]
    pub ms: f64,
    /// Arrival time since the run started, milliseconds.
    #[serde(default)]
    pub at_ms: u64,
}

impl LoadRecord {
    /// Whether this answer settles the request (see [`DEFINITE_STATUSES`]).
    pub fn is_definite(&self) -> bool {
        DEFINITE_STATUSES.contains(&self.status.as_str())
    }
}

/// Where records go while a run is in progress: a bounded channel to a writer task, so
/// request tasks never wait on the disk for long.
#[derive(Debug, Clone)]
pub struct LoadLogSink {
    tx: mpsc::Sender<LoadRecord>,
}

impl LoadLogSink {
    /// Queues one record (waits only when the writer is 64 Ki records behind).
    pub async fn record(&self, record: LoadRecord) {
        // The writer only stops when every sink is dropped, so a send cannot fail while this
        // sink lives; ignoring the impossible error keeps request tasks infallible.
        let _ = self.tx.send(record).await;
    }
}

/// The task writing a load log; [`LoadLogWriter::finish`] waits until every record is on disk.
#[derive(Debug)]
pub struct LoadLogWriter {
    task: JoinHandle<Result<u64>>,
}

impl LoadLogWriter {
    /// Creates (truncates) `path` and starts writing the records sent to the returned sink.
    pub async fn create(path: &Path) -> Result<(LoadLogSink, Self)> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|source| Error::File {
                    path: dir.to_owned(),
                    source,
                })?;
        }
        let file = tokio::fs::File::create(path)
            .await
            .map_err(|source| Error::File {
                path: path.to_owned(),
                source,
            })?;
        let (tx, mut rx) = mpsc::channel::<LoadRecord>(65_536);
        let path = path.to_owned();
        let task = tokio::spawn(async move {
            let io_error = |source| Error::File {
                path: path.clone(),
                source,
            };
            let mut out = BufWriter::new(file);
            let mut written = 0u64;
            while let Some(record) = rx.recv().await {
                let mut line = serde_json::to_vec(&record).unwrap_or_default();
                line.push(b'\n');
                out.write_all(&line).await.map_err(io_error)?;
                written += 1;
            }
            out.flush().await.map_err(io_error)?;
            Ok(written)
        });
        Ok((LoadLogSink { tx }, Self { task }))
    }

    /// Waits for the writer after every sink was dropped; answers the number of records.
    pub async fn finish(self) -> Result<u64> {
        self.task
            .await
            .map_err(|e| Error::Io(std::io::Error::other(format!("load log writer: {e}"))))?
    }
}

/// What one goods' requests in a load log were answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GoodsAnswers {
    /// Users with at least one definite answer (`QUEUED`, `DUPLICATE`, `SOLD_OUT`, `ANSWERED`).
    pub answered: BTreeSet<i64>,
    /// Users answered `QUEUED`, with how many times.
    pub queued: BTreeMap<i64, u32>,
    /// Users who asked but never got a definite answer (only `UNAVAILABLE`, `ERROR`, …).
    pub unanswered: BTreeSet<i64>,
    /// Attempts per `status`.
    pub statuses: BTreeMap<String, u64>,
}

impl GoodsAnswers {
    /// `QUEUED` answers seen (a user retrying after `FAILED` may have several).
    pub fn queued_answers(&self) -> u64 {
        self.queued.values().map(|&n| u64::from(n)).sum()
    }

    fn add(&mut self, record: &LoadRecord) {
        *self.statuses.entry(record.status.clone()).or_default() += 1;
        if record.status == "QUEUED" {
            *self.queued.entry(record.user_id).or_default() += 1;
        }
        if record.is_definite() {
            self.answered.insert(record.user_id);
            self.unanswered.remove(&record.user_id);
        } else if !self.answered.contains(&record.user_id) {
            self.unanswered.insert(record.user_id);
        }
    }
}

/// A load log folded per goods.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoadLogSummary {
    /// Where it was read from.
    pub path: PathBuf,
    /// Records read.
    pub records: u64,
    /// Per goods id.
    pub goods: BTreeMap<i64, GoodsAnswers>,
}

impl LoadLogSummary {
    /// Folds records in.
    pub fn add(&mut self, record: &LoadRecord) {
        self.records += 1;
        self.goods.entry(record.goods_id).or_default().add(record);
    }

    /// Reads a load log written in the format above. Blank lines are skipped; anything else
    /// that is not a record is an error naming the line.
    pub async fn read(path: &Path) -> Result<Self> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|source| Error::File {
                path: path.to_owned(),
                source,
            })?;
        let mut lines = BufReader::new(file).lines();
        let mut summary = Self {
            path: path.to_owned(),
            ..Self::default()
        };
        let mut number = 0usize;
        while let Some(line) = lines.next_line().await.map_err(|source| Error::File {
            path: path.to_owned(),
            source,
        })? {
            number += 1;
            if line.trim().is_empty() {
                continue;
            }
            let record: LoadRecord = serde_json::from_str(&line).map_err(|e| Error::LoadLog {
                path: path.to_owned(),
                line: number,
                reason: e.to_string(),
            })?;
            summary.add(&record);
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rec(goods_id: i64, user_id: i64, status: &str) -> LoadRecord {
        LoadRecord {
            goods_id,
            user_id,
            status: status.into(),
            http: 200,
            ms: 1.0,
            at_ms: 0,
        }
    }

    #[test]
    fn a_user_is_unanswered_only_until_a_definite_answer() {
        let mut s = LoadLogSummary::default();
        s.add(&rec(1, 7, "UNAVAILABLE"));
        assert!(s.goods[&1].unanswered.contains(&7));
        s.add(&rec(1, 7, "QUEUED"));
        s.add(&rec(1, 7, "ERROR"));
        s.add(&rec(1, 8, "SOLD_OUT"));
        s.add(&rec(1, 9, "ANSWERED"));
        let g = &s.goods[&1];
        assert!(g.unanswered.is_empty(), "{g:?}");
        assert_eq!(g.answered, BTreeSet::from([7, 8, 9]));
        assert_eq!(g.queued, BTreeMap::from([(7, 1)]));
        assert_eq!(g.statuses["UNAVAILABLE"], 1);
        assert_eq!(s.records, 5);
    }

    #[test]
    fn records_use_the_documented_field_names() {
        let line = serde_json::to_string(&rec(2, 17, "QUEUED")).unwrap();
        assert_eq!(
            line,
            r#"{"goodsId":2,"userId":17,"status":"QUEUED","http":200,"ms":1.0,"atMs":0}"#
        );
        let minimal: LoadRecord =
            serde_json::from_str(r#"{"goodsId":2,"userId":17,"status":"SOLD_OUT"}"#).unwrap();
        assert!(minimal.is_definite());
    }

    #[tokio::test]
    async fn a_written_log_reads_back_and_a_bad_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/load.jsonl");
        let (sink, writer) = LoadLogWriter::create(&path).await.unwrap();
        sink.record(rec(3, 1, "QUEUED")).await;
        sink.record(rec(3, 2, "DUPLICATE")).await;
        drop(sink);
        assert_eq!(writer.finish().await.unwrap(), 2);
        let summary = LoadLogSummary::read(&path).await.unwrap();
        assert_eq!(summary.goods[&3].answered, BTreeSet::from([1, 2]));

        tokio::fs::write(
            &path,
            "{\"goodsId\":1,\"userId\":1,\"status\":\"QUEUED\"}\n\nnope\n",
        )
        .await
        .unwrap();
        let err = LoadLogSummary::read(&path).await.unwrap_err().to_string();
        assert!(err.contains(":3: not a load record"), "{err}");
    }
}
