//! `mq-bench store`: append throughput of the message store next to raw file writes.
//!
//! Each scenario's raw reference is measured right before it, in the same run and directory:
//! ASYNC_FLUSH against `write(2)` of the same bytes (one stored record + trailer per call,
//! sequentially to a plain file); SYNC_FLUSH against `write(2)` + `fdatasync` per message.
//! Then the store runs with 1, 8 and 64 appender threads, each appending and (in SYNC_FLUSH)
//! waiting for its fsync before the next message.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use mq_core::store::{AppendMessage, FlushDiskType, Store, StoreConfig};

use crate::report::BenchLine;

/// Options of `mq-bench store`.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// Seconds per scenario (and per reference).
    #[arg(long, default_value_t = 2.0, env = "MQ_BENCH_DURATION", value_parser = crate::seconds::positive)]
    duration: f64,
    /// Message body size in bytes.
    #[arg(long, default_value_t = 1024)]
    message_size: usize,
    /// Appender thread counts to run.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 8, 64])]
    appenders: Vec<usize>,
    /// Flush modes to run (ASYNC_FLUSH, SYNC_FLUSH).
    #[arg(long, value_delimiter = ',', default_values_t = ["ASYNC_FLUSH".to_string(), "SYNC_FLUSH".to_string()])]
    flush: Vec<String>,
    /// Give each message a UNIQ_KEY and a key, as the Java producer does (the index thread then works too).
    #[arg(long)]
    with_keys: bool,
    /// ASYNC_FLUSH interval in milliseconds (the store's default; RocketMQ's is 500).
    #[arg(long, default_value_t = 100)]
    flush_interval_ms: u64,
    /// Run without the key index (isolates its cost).
    #[arg(long)]
    no_index: bool,
    /// Directory for the files (a fresh subdirectory is created and removed).
    #[arg(long, env = "MQ_BENCH_DIR")]
    dir: Option<PathBuf>,
    /// Print one JSON object per scenario (SPEC §6).
    #[arg(long)]
    json: bool,
}

const BENCH: &str = "mq-bench store";
const TOPIC: &str = "BenchStore";

/// Runs every selected scenario.
pub fn run(args: &StoreArgs) -> anyhow::Result<()> {
    let duration = Duration::from_secs_f64(args.duration);
    let root = args
        .dir
        .clone()
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("mq-bench-store-{}", std::process::id()));
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let outcome = run_in(args, &root, duration);
    let _ = std::fs::remove_dir_all(&root);
    outcome
}

fn run_in(args: &StoreArgs, root: &Path, duration: Duration) -> anyhow::Result<()> {
    let record_len = sample_record_len(root, args)?;
    for (i, mode) in args.flush.iter().enumerate() {
        let mode: FlushDiskType = mode.parse()?;
        let sync = mode == FlushDiskType::SyncFlush;
        let mode_name = if sync { "SYNC_FLUSH" } else { "ASYNC_FLUSH" };
        let reference_name = if sync {
            format!("write(2) + fdatasync per {record_len} B message")
        } else {
            format!("write(2) of the same {record_len} B per message to a plain file")
        };
        for &n in &args.appenders {
            // The machine is shared and noisy: each scenario gets its own reference, measured
            // right before it.
            let reference = raw_write(
                &root.join(format!("raw-{i}-{n}")),
                record_len,
                duration,
                sync,
            )?;
            let dir = root.join(format!("store-{mode_name}-{n}"));
            let value = store_appends(&dir, args, mode, n, duration)?;
            let _ = std::fs::remove_dir_all(&dir);
            BenchLine {
                bench: BENCH.into(),
                scenario: format!("append {} B, {mode_name}, {n} appenders", args.message_size),
                value,
                unit: "msgs/s".into(),
                reference: Some(reference),
                reference_name: reference_name.clone(),
                ratio: Some(value / reference),
            }
            .print(args.json)?;
        }
    }
    Ok(())
}

fn message(args: &StoreArgs, queue_id: i32, n: u64) -> AppendMessage {
    let mut props = String::from("TAGS\u{1}bench");
    if args.with_keys {
        props.push_str(&format!(
            "\u{2}KEYS\u{1}k{n}\u{2}UNIQ_KEY\u{1}{:032X}",
            (u128::from(queue_id as u32) << 64) | u128::from(n)
        ));
    }
    AppendMessage::new(TOPIC, queue_id, vec![b'x'; args.message_size]).with_properties(props)
}

/// Bytes one message takes in the CommitLog (record + trailer), so the reference writes the same.
fn sample_record_len(root: &Path, args: &StoreArgs) -> anyhow::Result<usize> {
    let store = Store::open(config(
        &root.join("sample"),
        FlushDiskType::AsyncFlush,
        args,
    ))?;
    let r = store.append(message(args, 0, 0))?;
    store.close()?;
    drop(store);
    let _ = std::fs::remove_dir_all(root.join("sample"));
    Ok(r.wrote_bytes as usize)
}

fn config(dir: &Path, mode: FlushDiskType, args: &StoreArgs) -> StoreConfig {
    let mut c = StoreConfig::new(dir);
    c.flush_disk_type = mode;
    c.flush_interval = Duration::from_millis(args.flush_interval_ms.max(1));
    c.index_enabled = !args.no_index;
    // Smaller files than production, so the bench does not sit on gigabytes per scenario.
    c.commit_log_segment_size = 256 << 20;
    c.index_hash_slots = 1 << 20;
    c.index_max_entries = 4 << 20;
    c
}

/// Messages per second of `threads` appenders over `duration`.
fn store_appends(
    dir: &Path,
    args: &StoreArgs,
    mode: FlushDiskType,
    threads: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let store = Arc::new(Store::open(config(dir, mode, args))?);
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (store, stop, count) = (Arc::clone(&store), Arc::clone(&stop), Arc::clone(&count));
            let template = message(args, (t % 8) as i32, 0);
            let with_keys = args.with_keys;
            std::thread::spawn(move || -> anyhow::Result<()> {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let msg = if with_keys {
                        let mut m = template.clone();
                        m.properties = format!(
                            "TAGS\u{1}bench\u{2}KEYS\u{1}k{n}\u{2}UNIQ_KEY\u{1}{t:016X}{n:016X}"
                        );
                        m
                    } else {
                        template.clone()
                    };
                    store.put_blocking(msg)?;
                    n += 1;
                }
                count.fetch_add(n, Ordering::Relaxed);
                Ok(())
            })
        })
        .collect();
    let start = Instant::now();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join()
            .map_err(|_| anyhow::anyhow!("appender panicked"))??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    store.close()?;
    Ok(count.load(Ordering::Relaxed) as f64 / elapsed)
}

/// Messages per second of sequential `write(2)`s of `len` bytes (each followed by
/// `fdatasync` when `sync`), rolling to a new file every 256 MiB like the store's segments.
fn raw_write(path: &Path, len: usize, duration: Duration, sync: bool) -> anyhow::Result<f64> {
    std::fs::create_dir_all(path)?;
    let buf = vec![b'x'; len];
    let open = |i: u64| -> anyhow::Result<File> {
        Ok(OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path.join(format!("{i:020}")))?)
    };
    let (mut file_no, mut in_file) = (0u64, 0usize);
    let mut file = open(file_no)?;
    let mut n = 0u64;
    let start = Instant::now();
    while start.elapsed() < duration {
        if in_file + len > 256 << 20 {
            file_no += 1;
            file = open(file_no)?;
            in_file = 0;
        }
        file.write_all(&buf)?;
        if sync {
            file.sync_data()?;
        }
        in_file += len;
        n += 1;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(path);
    Ok(rate)
}
