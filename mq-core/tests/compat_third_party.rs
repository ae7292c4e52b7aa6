//! Wire compatibility with a third-party RocketMQ client: the Node client `ali-ons`
//! (`compat/ali-ons/`, pinned in its `package-lock.json`) against the real `mq-namesrv` and
//! `mq-broker` processes.
//!
//! 1. Our producer sends three tagged, keyed messages.
//! 2. `node --test compat/ali-ons/compat.test.mjs` runs: the ali-ons producer sends with tags
//!    and keys; its push consumer, subscribed to `vip`, gets exactly the vip messages (ours and
//!    its own); a later consumer of the same group gets only what came after (offsets were
//!    committed); a message its handler asks to retry comes back through `%RETRY%`.
//! 3. Back here: the broker holds the group's committed offsets; our pull consumer reads
//!    every message ali-ons sent with topic, tag, keys, body, queue, offset and msgId intact;
//!    our push consumer subscribed to `svip` gets exactly the svip messages of both clients;
//!    ali-ons' keys are found by a key query.
//!
//! Node and npm are required: without them this test fails (it does not skip). `npm ci` runs
//! when `compat/ali-ons/node_modules` is missing or older than the lock file.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mq_core::client::{
    Admin, ConsumeFrom, ConsumeResult, Message, MessageExt, Producer, PullConsumer, PullStatus,
    PushConsumer, listener_fn,
};
use mq_core::cluster::ProcessCluster;
use serde_json::{Value, json};

const BROKER: &str = env!("CARGO_BIN_EXE_mq-broker");
const NAMESRV: &str = env!("CARGO_BIN_EXE_mq-namesrv");

/// Queues of the test topic; the JS test needs at least 8 (see its phase-1 comment).
const QUEUES: i32 = 8;

fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("compat")
        .join("ali-ons")
}

/// `tool --version`, or a failure that says what is missing.
fn require(tool: &str) -> String {
    match std::process::Command::new(tool).arg("--version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Ok(out) => panic!(
            "`{tool} --version` failed ({}): this test runs the Node RocketMQ client ali-ons and \
             needs Node >= 20 with npm on PATH. {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "`{tool}` not found ({e}): this test runs the Node RocketMQ client ali-ons and needs \
             Node >= 20 with npm on PATH (CI machines have them)"
        ),
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Runs `npm ci` unless `node_modules` already holds what the lock file pins.
fn npm_ci_once(dir: &Path) {
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules").join(".package-lock.json");
    let up_to_date = match (modified(&lock), modified(&installed)) {
        (Some(lock), Some(installed)) => installed >= lock,
        _ => false,
    };
    if up_to_date {
        return;
    }
    let out = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "npm ci in {} failed ({}):\n{}\n{}",
        dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn show(out: &Output) -> String {
    format!(
        "status {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// What one client sent, as the JS test reports it and as we describe ours to it.
#[derive(Debug, Clone)]
struct Sent {
    key: String,
    keys: Vec<String>,
    tag: String,
    body: String,
}

fn sent_from_report(v: &Value) -> Sent {
    Sent {
        key: v["key"].as_str().unwrap().to_owned(),
        keys: v["keys"]
            .as_str()
            .unwrap()
            .split(' ')
            .map(str::to_owned)
            .collect(),
        tag: v["tag"].as_str().unwrap().to_owned(),
        body: v["body"].as_str().unwrap().to_owned(),
    }
}

fn first_key(m: &MessageExt) -> String {
    m.keys.first().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ali_ons_produces_and_consumes_against_our_namesrv_and_broker() {
    let node = require("node");
    let npm = require("npm");
    eprintln!("node {node}, npm {npm}");
    let js = compat_dir();
    npm_ci_once(&js);

    let dir = tempfile::tempdir().unwrap();
    // Short delay levels: the retry case waits for level 3.
    let cluster = ProcessCluster::builder()
        .namesrv_bin(NAMESRV)
        .delay_levels("1s 1s 1s 1s 1s 1s")
        .start_processes(BROKER, dir.path())
        .await
        .unwrap();
    let namesrv = cluster.namesrv_addr().to_string();
    let run = format!(
        "{}_{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    let topic = format!("CompatAliOns_{run}");
    // ali-ons does not auto-create topics (a route miss is an error for it), so create it.
    let admin = Admin::connect(&namesrv).await.unwrap();
    admin.create_topic(&topic, QUEUES).await.unwrap();

    // 1. Ours first: three messages the ali-ons vip consumer must see (the vip ones).
    let producer = Producer::builder(format!("compat_rust_pg_{run}"))
        .namesrv_addr(&namesrv)
        .start()
        .await
        .unwrap();
    let mut ours = Vec::new();
    for (i, tag) in ["vip", "svip", "vip"].into_iter().enumerate() {
        let key = format!("rust-{run}-{i}");
        let body = format!("mq-core #{i} ✓ {tag}");
        producer
            .send(
                Message::new(&topic, body.clone())
                    .with_tag(tag)
                    .with_keys([key.clone(), format!("alt-{key}")]),
            )
            .await
            .unwrap();
        ours.push(Sent {
            keys: vec![key.clone(), format!("alt-{key}")],
            key,
            tag: tag.to_owned(),
            body,
        });
    }
    let ours_json: Vec<Value> = ours
        .iter()
        .map(|s| json!({"key": s.key, "keys": s.keys.join(" "), "tag": s.tag, "body": s.body}))
        .collect();

    // 2. The Node client.
    let report_path = dir.path().join("ali-ons-report.json");
    let run_js = tokio::process::Command::new("node")
        .args(["--test", "--test-force-exit", "compat.test.mjs"])
        .current_dir(&js)
        .env("MQ_NAMESRV_ADDR", &namesrv)
        .env("COMPAT_TOPIC", &topic)
        .env("COMPAT_RUN_ID", &run)
        .env("COMPAT_RUST_SENT", Value::Array(ours_json).to_string())
        .env("COMPAT_REPORT", &report_path)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(240), run_js)
        .await
        .expect("node --test compat.test.mjs did not finish in 240 s")
        .unwrap();
    eprintln!("{}", show(&out));
    assert!(
        out.status.success(),
        "the ali-ons test failed:\n{}",
        show(&out)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();

    // What we sent, ali-ons received (it asserts the same; checked here from its report).
    let vip_received: Vec<Sent> = report["vipReceived"]
        .as_array()
        .unwrap()
        .iter()
        .map(sent_from_report)
        .collect();
    for s in ours.iter().filter(|s| s.tag == "vip") {
        let got: Vec<&Sent> = vip_received.iter().filter(|r| r.key == s.key).collect();
        assert_eq!(
            got.len(),
            1,
            "ali-ons got our {} once: {vip_received:?}",
            s.key
        );
        assert_eq!(got[0].keys, s.keys);
        assert_eq!(got[0].tag, s.tag);
        assert_eq!(got[0].body, s.body);
    }
    assert!(
        vip_received.iter().all(|r| r.tag == "vip"),
        "{vip_received:?}"
    );

    let js_sent: Vec<Value> = report["jsSent"].as_array().unwrap().clone();
    assert_eq!(
        js_sent.len(),
        4 + 8 + 1,
        "ali-ons sent 13 messages: {js_sent:?}"
    );

    // 3a. Offsets: the ali-ons group committed through the end of every queue, except the
    // retry case's message, sent after that group closed.
    let group = format!("compat_js_{run}");
    let mut after_close: BTreeMap<i32, i64> = BTreeMap::new();
    for s in js_sent.iter().filter(|s| s["phase"] == "retry") {
        let q = i32::try_from(s["queueId"].as_i64().unwrap()).unwrap();
        *after_close.entry(q).or_default() += 1;
    }
    let progress = admin.consumer_progress(&group, Some(&topic)).await.unwrap();
    assert_eq!(
        progress.len(),
        usize::try_from(QUEUES).unwrap(),
        "{progress:?}"
    );
    for p in &progress {
        let unseen = after_close.get(&p.mq.queue_id).copied().unwrap_or(0);
        assert_eq!(
            p.consumer_offset,
            p.broker_offset - unseen,
            "ali-ons committed offset of queue {}: {progress:?}",
            p.mq.queue_id
        );
    }

    // 3b. Our pull consumer reads everything ali-ons sent, intact.
    let puller = PullConsumer::builder(format!("compat_rust_pull_{run}"))
        .namesrv_addr(&namesrv)
        .start()
        .await
        .unwrap();
    let mut stored: BTreeMap<String, MessageExt> = BTreeMap::new();
    for mq in puller.fetch_queues(&topic).await.unwrap() {
        let mut offset = 0;
        loop {
            let r = puller.pull(&mq, "*", offset, 32).await.unwrap();
            if r.status != PullStatus::Found {
                break;
            }
            offset = r.next_begin_offset;
            for m in r.messages {
                stored.insert(first_key(&m), m);
            }
        }
    }
    assert_eq!(stored.len(), 3 + 13, "{:?}", stored.keys());
    for s in &js_sent {
        let want = sent_from_report(s);
        let m = stored
            .get(&want.key)
            .unwrap_or_else(|| panic!("{} not pulled", want.key));
        assert_eq!(m.topic, topic);
        assert_eq!(m.tag.as_deref(), Some(want.tag.as_str()), "{m:?}");
        assert_eq!(m.keys, want.keys, "{m:?}");
        assert_eq!(m.body, want.body.as_bytes(), "{m:?}");
        assert_eq!(m.offset_msg_id, s["msgId"].as_str().unwrap(), "{m:?}");
        assert_eq!(i64::from(m.queue_id), s["queueId"].as_i64().unwrap());
        assert_eq!(m.queue_offset, s["queueOffset"].as_i64().unwrap());
        assert_eq!(m.reconsume_times, 0);
    }
    for s in &ours {
        let m = &stored[&s.key];
        assert_eq!(m.tag.as_deref(), Some(s.tag.as_str()));
        assert_eq!(m.body, s.body.as_bytes());
    }

    // 3c. Our push consumer subscribed to svip gets exactly the svip messages of both clients.
    let want_svip: BTreeSet<String> = js_sent
        .iter()
        .map(sent_from_report)
        .chain(ours.iter().cloned())
        .filter(|s| s.tag == "svip")
        .map(|s| s.key)
        .collect();
    let got: Arc<Mutex<Vec<MessageExt>>> = Arc::default();
    let sink = Arc::clone(&got);
    let consumer = PushConsumer::builder(format!("compat_rust_push_{run}"))
        .namesrv_addr(&namesrv)
        .subscribe(&topic, "svip")
        .consume_from(ConsumeFrom::FirstOffset)
        .rebalance_interval(Duration::from_secs(1))
        .suspend_timeout(Duration::from_secs(2))
        .start(listener_fn(move |msgs: Vec<MessageExt>| {
            let sink = Arc::clone(&sink);
            async move {
                sink.lock().unwrap().extend(msgs);
                ConsumeResult::Success
            }
        }))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while got.lock().unwrap().len() < want_svip.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "our push consumer got {} of {} svip messages",
            got.lock().unwrap().len(),
            want_svip.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Room for extras or duplicates to show up before asserting there are none.
    tokio::time::sleep(Duration::from_secs(2)).await;
    consumer.shutdown().await;
    let got = got.lock().unwrap().clone();
    let mut keys: Vec<String> = got.iter().map(first_key).collect();
    keys.sort();
    assert_eq!(
        keys,
        want_svip.iter().cloned().collect::<Vec<_>>(),
        "exactly the svip messages, once each"
    );
    assert!(got.iter().all(|m| m.tag.as_deref() == Some("svip")));

    // 3d. ali-ons' keys are indexed: a key query finds its message.
    let first_js = sent_from_report(&js_sent[0]);
    let found = admin
        .query_msg_by_key(&topic, &first_js.keys[1], 32)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(first_key(&found[0]), first_js.key);

    producer.shutdown().await;
    puller.shutdown().await;
    cluster.shutdown().await.unwrap();
}
