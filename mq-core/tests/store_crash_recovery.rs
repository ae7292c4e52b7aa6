//! kill -9 during SYNC_FLUSH appends: every acknowledged message survives, intact and in order.
//!
//! The test re-runs its own executable as the child (`STORE_CRASH_CHILD=<dir>` selects the
//! `crash_child` entry point). The child appends from several threads, singles and batches,
//! and prints `ACK <queue> <first offset> <count>` after each acknowledged append. The parent
//! kills it at a random moment, reopens the store and checks every acknowledged message.
#![allow(clippy::unwrap_used)]

mod store_common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use mq_core::protocol::tag::Subscription;
use mq_core::store::{AppendMessage, Store};
use rand::Rng;
use store_common::{decode, spawn_child, sync_config};

const CHILD_ENV: &str = "STORE_CRASH_CHILD";
const QUEUES: i32 = 4;

fn body(queue: i32, offset: u64) -> Vec<u8> {
    format!("q{queue}-o{offset}-{}", "x".repeat((offset % 200) as usize)).into_bytes()
}

/// Child entry point: does nothing unless started by the parent.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = std::sync::Arc::new(Store::open(sync_config(std::path::Path::new(&dir))).unwrap());
    let out = std::sync::Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let threads: Vec<_> = (0..QUEUES)
        .map(|q| {
            let store = std::sync::Arc::clone(&store);
            let out = std::sync::Arc::clone(&out);
            std::thread::spawn(move || {
                let mut next = store.max_offset("C", q);
                for i in 0u64.. {
                    let count = if i % 3 == 0 { 3 } else { 1 };
                    let msgs: Vec<_> = (0..count)
                        .map(|k| AppendMessage::new("C", q, body(q, next + k)))
                        .collect();
                    let r = store.put_batch_blocking(&msgs).unwrap();
                    assert_eq!(r.queue_offset, next);
                    next += count;
                    let mut o = out.lock().unwrap();
                    writeln!(o, "ACK {q} {} {count}", r.queue_offset).unwrap();
                    o.flush().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn acknowledged_messages_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rng();
    for round in 0..5 {
        let mut child = spawn_child("crash_child", CHILD_ENV, dir.path());
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acked: BTreeMap<i32, u64> = BTreeMap::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let parts: Vec<&str> = line.split_whitespace().collect();
                if parts.len() == 4 && parts[0] == "ACK" {
                    let (q, first, n): (i32, u64, u64) = (
                        parts[1].parse().unwrap(),
                        parts[2].parse().unwrap(),
                        parts[3].parse().unwrap(),
                    );
                    let e = acked.entry(q).or_default();
                    *e = (*e).max(first + n);
                }
            }
            acked
        });
        std::thread::sleep(Duration::from_millis(rng.random_range(150..700)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acked = reader.join().unwrap();
        assert!(
            !acked.is_empty(),
            "round {round}: child acknowledged nothing"
        );
        eprintln!("round {round}: acknowledged ends per queue {acked:?}");

        let store = Store::open(sync_config(dir.path())).unwrap();
        for (q, acked_end) in &acked {
            let max = store.max_offset("C", *q);
            assert!(
                max >= *acked_end,
                "round {round} queue {q}: max {max} < acknowledged {acked_end}"
            );
            let mut offset = 0;
            while offset < max {
                let got = store
                    .get_messages("C", *q, offset, 32, &Subscription::All)
                    .unwrap();
                assert!(
                    !got.messages.is_empty(),
                    "round {round} queue {q}: nothing at {offset}"
                );
                for m in got.messages {
                    let d = decode(&m.bytes);
                    assert_eq!(d.queue_offset as u64, offset);
                    assert_eq!(
                        &d.body[..],
                        &body(*q, offset)[..],
                        "round {round} queue {q} offset {offset}"
                    );
                    offset += 1;
                }
            }
        }
        store.close().unwrap();
        // Leave the store as a crash would for the next round half of the time.
        if round % 2 == 1 {
            std::fs::File::create(dir.path().join("abort")).unwrap();
        }
    }
}
