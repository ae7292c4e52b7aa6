//! Wire-compatibility check: the rocketmq-rust project's client (`rocketmq-client-rust`
//! 1.0.0, pinned in `Cargo.lock`) against mq-core's name server and broker. It starts
//! nothing; `run.sh` next to it starts the servers, creates the topic, runs this program and
//! checks the result with mq-core's `mqadmin`.
//!
//! Environment: `MQ_NAMESRV_ADDR` (required), `COMPAT_TOPIC` (required, existing, at least
//! 8 queues), `COMPAT_RUN_ID` (suffix of keys and groups; default: the current time).
//!
//! 1. The producer sends 4 messages tagged `vip`/`svip`, each with two keys.
//! 2. A push consumer subscribed to `vip` receives exactly the vip ones, once each, with
//!    their keys and bodies; it shuts down (persisting its offsets).
//! 3. The producer sends 8 more; a later consumer of the same group receives only the new
//!    vip ones (the offsets were committed on the broker).
//!
//! Every message sent is printed as `SENT <key> <tag> <queueId> <queueOffset> <msgId>` so
//! that `run.sh` can look it up with mq-core's own client. Exit status 0 = everything held.

use std::collections::BTreeSet;
use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rocketmq_client_rust::{
    ClientResult, ClientRuntime, ClientRuntimeConfig, ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
    MessageListenerConcurrently, SendStatus,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_observability::TelemetryRuntimeGuard;
use rocketmq_runtime::RuntimeOwner;

type BoxError = Box<dyn Error + Send + Sync>;

/// How long a consumer keeps listening after the expected messages arrived, to catch
/// extras and duplicates.
const SETTLE: Duration = Duration::from_secs(3);
const WAIT: Duration = Duration::from_secs(40);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    key: String,
    keys: Vec<String>,
    tag: String,
    body: String,
}

#[derive(Debug, Clone)]
struct Got {
    key: String,
    keys: Vec<String>,
    tag: Option<String>,
    body: String,
    topic: String,
}

#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Got>>>);

impl Collector {
    fn snapshot(&self) -> Vec<Got> {
        self.0.lock().map(|g| g.clone()).unwrap_or_default()
    }
}

impl MessageListenerConcurrently for Collector {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        _context: &ConsumeConcurrentlyContext,
    ) -> ClientResult<ConsumeConcurrentlyStatus> {
        let mut got = self.0.lock().map_err(|_| {
            rocketmq_client_rust::ClientError::internal(
                "collector",
                std::io::Error::other("poisoned lock"),
            )
        })?;
        for m in msgs {
            let keys: Vec<String> = m.keys().unwrap_or_default();
            got.push(Got {
                key: keys.first().cloned().unwrap_or_default(),
                keys,
                tag: m.get_tags().map(|t| t.to_string()),
                body: m
                    .body()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default(),
                topic: m.topic().to_string(),
            });
        }
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    }
}

fn env(name: &str) -> Result<String, BoxError> {
    std::env::var(name).map_err(|_| format!("set {name}").into())
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), BoxError> {
    if ok { Ok(()) } else { Err(what().into()) }
}

async fn send(
    producer: &DefaultMQProducer,
    topic: &str,
    run: &str,
    phase: &str,
    i: usize,
    tag: &str,
) -> Result<Sent, BoxError> {
    let key = format!("rr-{run}-{phase}-{i}");
    let keys = vec![key.clone(), format!("alt-{key}")];
    let body = format!("rocketmq-rust {phase} #{i} ✓ {tag}");
    let msg = Message::builder()
        .topic(topic)
        .tags(tag)
        .keys(keys.clone())
        .body_slice(body.as_bytes())
        .build_unchecked();
    let result = producer
        .send_with_timeout(msg, 3000)
        .await?
        .ok_or("send returned no result")?;
    check(result.send_status == SendStatus::SendOk, || {
        format!("send {key}: {result}")
    })?;
    let queue_id = result.message_queue.as_ref().map_or(-1, |mq| mq.queue_id());
    println!(
        "SENT {key} {tag} {queue_id} {} {}",
        result.queue_offset,
        result.offset_msg_id.clone().unwrap_or_default()
    );
    Ok(Sent {
        key,
        keys,
        tag: tag.to_owned(),
        body,
    })
}

/// Starts a push consumer of `group` on `tag`, waits for exactly `expected`, shuts it down.
async fn consume_exactly(
    runtime: &Arc<ClientRuntime>,
    namesrv: &str,
    topic: &str,
    group: &str,
    tag: &str,
    expected: &[Sent],
) -> Result<(), BoxError> {
    let collector = Collector::default();
    let mut consumer = DefaultMQPushConsumer::builder(Arc::clone(runtime))
        .consumer_group(group)
        .name_server_addr(namesrv)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    let outcome: Result<(), BoxError> = async {
        consumer.subscribe(topic, tag).await?;
        consumer.register_message_listener_concurrently(collector.clone());
        consumer.start().await?;
        let want: BTreeSet<&str> = expected.iter().map(|s| s.key.as_str()).collect();
        let deadline = Instant::now() + WAIT;
        loop {
            let got = collector.snapshot();
            if want.iter().all(|k| got.iter().any(|g| g.key == *k)) {
                break;
            }
            check(Instant::now() < deadline, || {
                format!(
                    "group {group}: got {:?}, want {want:?} within {WAIT:?}",
                    got.iter().map(|g| &g.key).collect::<Vec<_>>()
                )
            })?;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(SETTLE).await;
        let got = collector.snapshot();
        let mut keys: Vec<&str> = got.iter().map(|g| g.key.as_str()).collect();
        keys.sort_unstable();
        check(keys == want.iter().copied().collect::<Vec<_>>(), || {
            format!("group {group}: exactly {want:?} once each, got {keys:?}")
        })?;
        for g in &got {
            let Some(e) = expected.iter().find(|e| e.key == g.key) else {
                continue;
            };
            check(
                g.tag.as_deref() == Some(tag)
                    && g.keys == e.keys
                    && g.body == e.body
                    && g.topic == topic,
                || format!("group {group}: {g:?} differs from what was sent: {e:?}"),
            )?;
        }
        Ok(())
    }
    .await;
    consumer.shutdown().await;
    outcome
}

async fn scenario(runtime: Arc<ClientRuntime>) -> Result<(), BoxError> {
    let namesrv = env("MQ_NAMESRV_ADDR")?;
    let topic = env("COMPAT_TOPIC")?;
    let run = std::env::var("COMPAT_RUN_ID").unwrap_or_else(|_| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis().to_string())
            .unwrap_or_default()
    });
    let group = format!("compat_rr_{run}");

    let mut producer = DefaultMQProducer::builder(Arc::clone(&runtime))
        .producer_group(format!("compat_rr_pg_{run}"))
        .name_server_addr(namesrv.clone())
        .build();
    let outcome: Result<(), BoxError> = async {
        producer.start().await?;
        let mut first = Vec::new();
        for i in 0..4 {
            let tag = if i % 2 == 0 { "vip" } else { "svip" };
            first.push(send(&producer, &topic, &run, "first", i, tag).await?);
        }
        let vip: Vec<Sent> = first.iter().filter(|s| s.tag == "vip").cloned().collect();
        consume_exactly(&runtime, &namesrv, &topic, &group, "vip", &vip).await?;
        println!("OK push consumer on tag vip got exactly the vip messages");

        let mut later = Vec::new();
        for i in 0..8 {
            let tag = if i % 2 == 0 { "vip" } else { "svip" };
            later.push(send(&producer, &topic, &run, "later", i, tag).await?);
        }
        let vip: Vec<Sent> = later.iter().filter(|s| s.tag == "vip").cloned().collect();
        consume_exactly(&runtime, &namesrv, &topic, &group, "vip", &vip).await?;
        println!("OK a later consumer of the same group got only the newer vip messages");
        Ok(())
    }
    .await;
    producer.shutdown().await;
    outcome
}

fn main() -> Result<(), BoxError> {
    let owner = RuntimeOwner::new()?;
    let telemetry = TelemetryRuntimeGuard::noop();
    let runtime = ClientRuntime::try_new(
        owner.root_context().component("compat-rocketmq-rust"),
        ClientRuntimeConfig::default(),
        telemetry.handle(),
    )?;
    let (outcome, report) = owner.block_on(async {
        let outcome = scenario(Arc::clone(&runtime)).await;
        (outcome, runtime.shutdown().await)
    });
    let _ = owner.shutdown_runtime_blocking();
    if let Err(e) = outcome {
        // The client redacts its error context; its source chain says what went wrong.
        let mut chain = format!("{e}");
        let mut source = e.source();
        while let Some(s) = source {
            chain.push_str(&format!("\n  caused by: {s}"));
            source = s.source();
        }
        return Err(chain.into());
    }
    if !report.is_healthy() {
        eprintln!(
            "client runtime did not shut down cleanly: {}",
            report.to_json()
        );
    }
    println!("PASS");
    Ok(())
}
