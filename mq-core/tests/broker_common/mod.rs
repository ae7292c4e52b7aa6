//! Helpers for the broker tests: a small multiplexed raw-frame client (requests matched by
//! opaque, broker-initiated requests collected) and builders for the requests the tests send.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use mq_core::protocol::body::JsonBody;
use mq_core::protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, ProducerData,
    SubscriptionData,
};
use mq_core::protocol::header::pull::{
    PULL_FLAG_COMMIT_OFFSET, PULL_FLAG_SUBSCRIPTION, PULL_FLAG_SUSPEND, PullMessageRequestHeader,
};
use mq_core::protocol::header::send::{SendMessageRequestHeader, SendMessageRequestHeaderV2};
use mq_core::protocol::message::{BatchItem, StoredMessage, decode_messages, encode_batch};
use mq_core::protocol::{RemotingCodec, RemotingCommand, RequestCode};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::Framed;

type Pending = Arc<Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>>;

/// A connection to the broker on which many requests may be in flight.
pub struct Client {
    out: mpsc::Sender<RemotingCommand>,
    pending: Pending,
    /// Requests the broker sent us (NOTIFY_CONSUMER_IDS_CHANGED ...).
    pub from_broker: mpsc::UnboundedReceiver<RemotingCommand>,
    closed: Arc<tokio::sync::Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Client {
    /// Dropping the client closes its connection (both halves of the socket go).
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sink, mut source) = Framed::new(stream, RemotingCodec::new()).split();
        let (out, mut rx) = mpsc::channel::<RemotingCommand>(1024);
        let pending: Pending = Arc::default();
        let (notify_tx, from_broker) = mpsc::unbounded_channel();
        let closed = Arc::new(tokio::sync::Notify::new());
        let writer = tokio::spawn(async move {
            while let Some(cmd) = rx.recv().await {
                if sink.send(cmd).await.is_err() {
                    break;
                }
            }
        });
        let p = Arc::clone(&pending);
        let c = Arc::clone(&closed);
        let reader = tokio::spawn(async move {
            while let Some(Ok(cmd)) = source.next().await {
                if cmd.is_response() {
                    if let Some(tx) = p.lock().unwrap().remove(&cmd.opaque) {
                        let _ = tx.send(cmd);
                    }
                } else {
                    let _ = notify_tx.send(cmd);
                }
            }
            p.lock().unwrap().clear();
            c.notify_waiters();
            c.notify_one();
        });
        Client {
            out,
            pending,
            from_broker,
            closed,
            tasks: vec![writer, reader],
        }
    }

    /// Sends `cmd` and waits (up to 30 s) for its response; `None` if the connection closed.
    pub async fn try_call(&self, cmd: RemotingCommand) -> Option<RemotingCommand> {
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(cmd.opaque, tx);
        self.out.send(cmd).await.ok()?;
        tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .expect("no response within 30 s")
            .ok()
    }

    /// Sends `cmd` and waits for its response.
    pub async fn call(&self, cmd: RemotingCommand) -> RemotingCommand {
        self.try_call(cmd).await.expect("connection closed")
    }

    /// Sends without waiting (oneway requests).
    pub async fn send(&self, cmd: RemotingCommand) {
        self.out.send(cmd).await.unwrap();
    }

    /// Resolves when the broker closed the connection.
    pub async fn closed(&self) {
        self.closed.notified().await;
    }

    /// The next request the broker sent us with `code`, within `within`.
    pub async fn next_from_broker(
        &mut self,
        code: i32,
        within: Duration,
    ) -> Option<RemotingCommand> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let cmd = tokio::time::timeout_at(deadline, self.from_broker.recv())
                .await
                .ok()??;
            if cmd.code == code {
                return Some(cmd);
            }
        }
    }

    /// Drops whatever the broker sent so far.
    pub fn drain_from_broker(&mut self) {
        while self.from_broker.try_recv().is_ok() {}
    }
}

/// A send header with the given target.
pub fn send_header(topic: &str, queue_id: i32, properties: &str) -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "test-producer".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: (!properties.is_empty()).then(|| properties.to_owned()),
        reconsume_times: Some(0),
        unit_mode: false,
        batch: false,
        max_reconsume_times: None,
        bname: None,
    }
}

/// SEND_MESSAGE_V2 (short names) of one message.
pub fn send_v2(topic: &str, queue_id: i32, body: &[u8], properties: &str) -> RemotingCommand {
    RemotingCommand::request_with_header(
        RequestCode::SEND_MESSAGE_V2,
        &SendMessageRequestHeaderV2(send_header(topic, queue_id, properties)),
    )
    .with_body(body.to_vec())
}

/// SEND_MESSAGE (long names) of one message.
pub fn send_v1(topic: &str, queue_id: i32, body: &[u8], properties: &str) -> RemotingCommand {
    RemotingCommand::request_with_header(
        RequestCode::SEND_MESSAGE,
        &send_header(topic, queue_id, properties),
    )
    .with_body(body.to_vec())
}

/// SEND_BATCH_MESSAGE of `bodies`, each with a UNIQ_KEY property.
pub fn send_batch(topic: &str, queue_id: i32, bodies: &[&[u8]]) -> RemotingCommand {
    let items: Vec<BatchItem> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| BatchItem {
            flag: 0,
            body: b.to_vec().into(),
            properties: format!("UNIQ_KEY\u{1}BATCH{i:027}"),
        })
        .collect();
    let mut body = Vec::new();
    encode_batch(&items, &mut body).unwrap();
    let mut header = send_header(topic, queue_id, "WAIT\u{1}true");
    header.batch = true;
    RemotingCommand::request_with_header(
        RequestCode::SEND_BATCH_MESSAGE,
        &SendMessageRequestHeaderV2(header),
    )
    .with_body(body)
}

/// PULL_MESSAGE with its own subscription; `suspend_ms` > 0 allows long polling.
pub fn pull(
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    expression: &str,
    suspend_ms: i64,
) -> RemotingCommand {
    let mut sys_flag = PULL_FLAG_SUBSCRIPTION;
    if suspend_ms > 0 {
        sys_flag |= PULL_FLAG_SUSPEND;
    }
    let header = PullMessageRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag,
        commit_offset: 0,
        suspend_timeout_millis: suspend_ms,
        subscription: Some(expression.into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        bname: None,
    };
    RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &header)
}

/// A pull that also commits `commit_offset` for the group (the piggyback).
pub fn pull_committing(
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    commit_offset: i64,
) -> RemotingCommand {
    let mut cmd = pull(group, topic, queue_id, offset, "*", 0);
    cmd.ext_fields.insert(
        "sysFlag".into(),
        (PULL_FLAG_SUBSCRIPTION | PULL_FLAG_COMMIT_OFFSET).to_string(),
    );
    cmd.ext_fields
        .insert("commitOffset".into(), commit_offset.to_string());
    cmd
}

/// The messages of a pull (or query) response body.
pub fn messages(response: &RemotingCommand) -> Vec<StoredMessage> {
    decode_messages(&response.body).unwrap()
}

/// An ext field parsed as i64.
pub fn ext_i64(response: &RemotingCommand, key: &str) -> i64 {
    response
        .ext(key)
        .unwrap_or_else(|| panic!("no {key} in {response:?}"))
        .parse()
        .unwrap()
}

/// A HEART_BEAT from `client_id`, running consumer `group` on `topic` (push, clustering).
pub fn heartbeat(client_id: &str, group: &str, topic: &str) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: client_id.into(),
        producer_data_set: vec![ProducerData {
            group_name: "test-producer".into(),
        }],
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
            subscription_data_set: vec![SubscriptionData {
                topic: topic.into(),
                sub_string: "*".into(),
                ..SubscriptionData::default()
            }],
            unit_mode: false,
        }],
    };
    RemotingCommand::request(RequestCode::HEART_BEAT).with_body(data.to_json().unwrap())
}

/// Installs a test log subscriber once (RUST_LOG to see broker logs).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}
