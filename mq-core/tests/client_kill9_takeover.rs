//! Clustering with a real `kill -9`: one instance of the group runs in a child process (this
//! test executable run again with `MQ_TEST_CHILD_CONSUMER=1`), the other in the test process.
//! While both live, each message is processed exactly once; the child is SIGKILLed in the middle
//! of a stream of messages; the broker sees its connections close and the surviving instance
//! takes all 4 queues within seconds; no message is left unprocessed (duplicates, from offsets
//! the dead instance had not committed yet, are allowed and counted).
#![allow(clippy::unwrap_used)]

mod client_support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_support::{TestCluster, test_consumer, unique};
use mq_core::client::{ConsumeResult, Message, MessageExt, Producer, PushConsumer, listener_fn};

/// Set (to `1`) in the child's environment: the child-consumer entry point below then runs.
const CHILD_ENV: &str = "MQ_TEST_CHILD_CONSUMER";
const CHILD_NAMESRV: &str = "MQ_TEST_CHILD_NAMESRV";
const CHILD_TOPIC: &str = "MQ_TEST_CHILD_TOPIC";
const CHILD_GROUP: &str = "MQ_TEST_CHILD_GROUP";
/// The file the child appends each processed message's key to (one line, written per message).
const CHILD_OUT: &str = "MQ_TEST_CHILD_OUT";
/// The name of the entry point, passed to the test harness of the child with `--exact`.
const CHILD_TEST_NAME: &str = "child_consumer_process_entry_point_noop_unless_spawned_by_parent";

const QUEUES: i32 = 4;
const MESSAGES: usize = 2_000;
/// The child is killed once this many messages have been sent.
const KILL_AFTER: usize = MESSAGES / 2;
/// The longest the child lives if the parent never kills it (the parent died first).
const CHILD_MAX_LIFETIME: Duration = Duration::from_secs(90);

/// Not a test of its own: the body of the child process of
/// [`one_instance_killed_with_sigkill_mid_stream_is_taken_over`]. In a normal test run (no
/// `MQ_TEST_CHILD_CONSUMER` in the environment) it returns at once, so it passes trivially;
/// in the child it runs a push consumer that appends every processed message's key to the file
/// named by `MQ_TEST_CHILD_OUT`, and reports its queues in `<file>.queues`, until SIGKILLed.
#[test]
fn child_consumer_process_entry_point_noop_unless_spawned_by_parent() {
    if std::env::var(CHILD_ENV).as_deref() != Ok("1") {
        return;
    }
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    let namesrv = env(CHILD_NAMESRV);
    let topic = env(CHILD_TOPIC);
    let group = env(CHILD_GROUP);
    let out = PathBuf::from(env(CHILD_OUT));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run_child_consumer(namesrv, topic, group, out));
}

async fn run_child_consumer(namesrv: String, topic: String, group: String, out: PathBuf) {
    let file = Arc::new(Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&out)
            .unwrap(),
    ));
    let listener = {
        let file = Arc::clone(&file);
        listener_fn(move |msgs: Vec<MessageExt>| {
            let file = Arc::clone(&file);
            async move {
                let mut f = file.lock().unwrap();
                for m in &msgs {
                    // One unbuffered write per message: in the kernel before the listener
                    // returns (and so before its offset can be committed), kill -9 or not.
                    f.write_all(format!("{}\n", key_of(m)).as_bytes()).unwrap();
                }
                ConsumeResult::Success
            }
        })
    };
    let consumer = test_consumer(&namesrv, &group)
        .subscribe(&topic, "*")
        .start(listener)
        .await
        .unwrap();
    let queues_file = queues_path(&out);
    let started = Instant::now();
    while started.elapsed() < CHILD_MAX_LIFETIME {
        let ids: Vec<String> = consumer
            .assigned_queues()
            .into_iter()
            .filter(|q| q.topic == topic)
            .map(|q| q.queue_id.to_string())
            .collect();
        let tmp = out.with_extension("queues.tmp");
        std::fs::write(&tmp, ids.join(",")).unwrap();
        std::fs::rename(&tmp, &queues_file).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    consumer.shutdown().await;
}

fn key_of(m: &MessageExt) -> String {
    m.keys
        .first()
        .cloned()
        .unwrap_or_else(|| String::from_utf8_lossy(&m.body).into_owned())
}

fn queues_path(out: &Path) -> PathBuf {
    out.with_extension("queues")
}

/// The complete lines of the child's output file.
fn child_keys(out: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    complete.lines().map(str::to_owned).collect()
}

/// The queue ids the child last reported owning.
fn child_queues(out: &Path) -> BTreeSet<i32> {
    std::fs::read_to_string(queues_path(out))
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect()
}

/// Kills the child if the test fails before it does.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    fn kill9(&mut self) {
        let mut child = self.0.take().unwrap();
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "the child was killed: {status:?}");
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What the parent's own instance processed: each key, and whether that happened before the
/// child was killed (`killed` is set right before the SIGKILL is sent).
#[derive(Clone, Default)]
struct ParentLog {
    killed: Arc<AtomicBool>,
    got: Arc<Mutex<Vec<(String, bool)>>>,
}

impl ParentLog {
    fn keys(&self) -> Vec<(String, bool)> {
        self.got.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_killed_with_sigkill_mid_stream_is_taken_over() {
    let tc = TestCluster::start().await;
    let topic = unique("Kill9");
    let group = unique("kill9_cg");
    tc.create_topic(&topic, QUEUES).await;
    let out = tc.dir.path().join("child.keys");

    let log = ParentLog::default();
    let parent = {
        let log = log.clone();
        tc.consumer(&group)
            .subscribe(&topic, "*")
            .start(listener_fn(move |msgs: Vec<MessageExt>| {
                let log = log.clone();
                async move {
                    let before_kill = !log.killed.load(Ordering::SeqCst);
                    let mut got = log.got.lock().unwrap();
                    got.extend(msgs.iter().map(|m| (key_of(m), before_kill)));
                    ConsumeResult::Success
                }
            }))
            .await
            .unwrap()
    };

    let mut child = ChildGuard(Some(
        Command::new(std::env::current_exe().unwrap())
            .args([
                CHILD_TEST_NAME,
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .env(CHILD_NAMESRV, tc.namesrv())
            .env(CHILD_TOPIC, &topic)
            .env(CHILD_GROUP, &group)
            .env(CHILD_OUT, &out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    ));

    // Both instances hold two queues each, and together all four.
    let owned = |c: &PushConsumer| -> BTreeSet<i32> {
        c.assigned_queues()
            .into_iter()
            .filter(|q| q.topic == topic)
            .map(|q| q.queue_id)
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (p, c) = (owned(&parent), child_queues(&out));
        if p.len() == 2 && c.len() == 2 && p.union(&c).count() == 4 {
            println!("split: parent {p:?}, child {c:?}");
            break;
        }
        assert!(Instant::now() < deadline, "no 2/2 split: {p:?} / {c:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let producer = Producer::builder(unique("kill9_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    let mut killed_at = None;
    // Looked at after every send once the child is dead: measured after the whole stream had
    // been sent, the takeover would include the sending of the second half (~0.3 s in debug).
    let mut took_over = None;
    let mut child_before_kill = Vec::new();
    for i in 0..MESSAGES {
        if i == KILL_AFTER {
            // Mid-stream, once both instances are actually processing.
            let deadline = Instant::now() + Duration::from_secs(10);
            while child_keys(&out).is_empty() || !log.keys().iter().any(|(_, before)| *before) {
                assert!(
                    Instant::now() < deadline,
                    "both instances should be processing before the kill: child {}, parent {}",
                    child_keys(&out).len(),
                    log.keys().len()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            log.killed.store(true, Ordering::SeqCst);
            child.kill9();
            killed_at = Some(Instant::now());
            // Everything the child will ever have processed: it is dead.
            child_before_kill = child_keys(&out);
        }
        let key = format!("m{i:05}");
        producer
            .send(Message::new(&topic, key.clone()).with_key(key))
            .await
            .unwrap();
        if took_over.is_none() && owned(&parent).len() == QUEUES as usize {
            took_over = killed_at.map(|at| at.elapsed());
        }
    }
    let killed_at = killed_at.unwrap();

    // The survivor takes the dead instance's queues within a few seconds.
    let takeover = loop {
        if let Some(took) = took_over {
            break took;
        }
        let p = owned(&parent);
        if p.len() == QUEUES as usize {
            break killed_at.elapsed();
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(10),
            "no takeover 10 s after kill -9: the parent owns {p:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!("takeover: all {QUEUES} queues owned {takeover:?} after kill -9");

    // Nothing is left unprocessed.
    let expected: BTreeSet<String> = (0..MESSAGES).map(|i| format!("m{i:05}")).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen: BTreeSet<String> = log
            .keys()
            .into_iter()
            .map(|(k, _)| k)
            .chain(child_before_kill.iter().cloned())
            .collect();
        if seen.len() == MESSAGES {
            assert_eq!(seen, expected);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {MESSAGES} processed; missing e.g. {:?}",
            seen.len(),
            expected.difference(&seen).take(10).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Late duplicates, if any, have had time to arrive before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let parent_keys = log.keys();
    // While both lived, every message processed was processed once: by one instance, once.
    let mut before: BTreeMap<&str, usize> = BTreeMap::new();
    for k in parent_keys
        .iter()
        .filter(|(_, before_kill)| *before_kill)
        .map(|(k, _)| k.as_str())
        .chain(child_before_kill.iter().map(String::as_str))
    {
        *before.entry(k).or_default() += 1;
    }
    let twice: Vec<_> = before.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "processed more than once before the kill: {twice:?}"
    );
    let parent_before = parent_keys.iter().filter(|(_, b)| *b).count();
    assert!(
        parent_before > 0 && !child_before_kill.is_empty(),
        "both instances processed messages before the kill: parent {parent_before}, child {}",
        child_before_kill.len()
    );

    let mut all: BTreeMap<&str, usize> = BTreeMap::new();
    for k in parent_keys
        .iter()
        .map(|(k, _)| k.as_str())
        .chain(child_before_kill.iter().map(String::as_str))
    {
        *all.entry(k).or_default() += 1;
    }
    let duplicates: usize = all.values().map(|n| n - 1).sum();
    let redelivered_from_child = child_before_kill
        .iter()
        .filter(|k| parent_keys.iter().any(|(p, _)| p == *k))
        .count();
    println!(
        "kill -9 takeover: {MESSAGES} messages, child processed {} before the kill, parent {} \
         before and {} after; duplicates {duplicates} (of them {redelivered_from_child} the \
         child had processed and not yet committed); takeover {takeover:?}",
        child_before_kill.len(),
        parent_before,
        parent_keys.len() - parent_before,
    );
    assert!(all.values().all(|&n| n >= 1));
    producer.shutdown().await;
    parent.shutdown().await;
}
