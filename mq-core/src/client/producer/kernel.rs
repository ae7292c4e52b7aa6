//! How a send goes out: queue choice, the SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE request, the
//! response, and the retry policy (another queue, preferably on another broker, within the
//! send timeout; only failures another broker could fix are retried).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::ProducerInner;
use crate::client::core::now_ms;
use crate::client::error::{ClientError, ClientResult, remaining};
use crate::client::message::Message;
use crate::client::route::{AUTO_CREATE_TOPIC, DEFAULT_TOPIC_QUEUE_NUMS, TopicRoute};
use crate::client::send_result::{SendResult, SendStatus};
use crate::client::uniq_id::new_uniq_key;
use crate::client::validate::check_message;
use crate::protocol::code::RequestCode;
use crate::protocol::header::send::{
    SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use crate::protocol::message::{BatchItem, FLAG_COMPRESSED, encode_batch};
use crate::protocol::tag::tag_code;
use crate::protocol::{MessageQueue, RemotingCommand};

/// How long an auto-create stand-in route is trusted before the real one is asked for again.
const AUTO_CREATE_ROUTE_TTL: Duration = Duration::from_secs(1);
const RETRY_TOPIC_PREFIX: &str = "%RETRY%";

/// Which queue a send goes to.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target<'a> {
    /// Round robin, avoiding the broker that just failed.
    Any,
    /// Exactly this queue.
    Queue(&'a MessageQueue),
    /// The queue `hash(key) % count`.
    Sharding(&'a str),
}

/// A request body and header fields, ready to be addressed to a queue.
struct Prepared {
    topic: String,
    body: Bytes,
    properties: Option<String>,
    flag: i32,
    sys_flag: i32,
    batch: bool,
    msg_id: String,
}

impl Prepared {
    /// One message; its body zlib-compressed (as Java's producer does) when it is at least
    /// `compress_over` bytes and compression actually shrinks it.
    fn single(msg: &Message, compress_over: usize) -> Self {
        let msg_id = new_uniq_key();
        let properties = msg.wire_properties(&msg_id);
        let compressed = (compress_over > 0 && msg.body.len() >= compress_over)
            .then(|| zlib(&msg.body))
            .flatten()
            .filter(|c| c.len() < msg.body.len());
        let (body, sys_flag) = match compressed {
            Some(c) => (Bytes::from(c), FLAG_COMPRESSED | COMPRESSION_ZLIB),
            None => (msg.body.clone(), 0),
        };
        Self {
            topic: msg.topic.clone(),
            body,
            properties: Some(properties),
            flag: msg.flag,
            sys_flag,
            batch: false,
            msg_id,
        }
    }

    fn request(&self, group: &str, mq: &MessageQueue) -> RemotingCommand {
        let header = SendMessageRequestHeader {
            producer_group: group.to_owned(),
            topic: self.topic.clone(),
            default_topic: AUTO_CREATE_TOPIC.to_owned(),
            default_topic_queue_nums: DEFAULT_TOPIC_QUEUE_NUMS,
            queue_id: mq.queue_id,
            sys_flag: self.sys_flag,
            born_timestamp: now_ms(),
            flag: self.flag,
            properties: self.properties.clone(),
            reconsume_times: Some(0),
            unit_mode: false,
            batch: self.batch,
            max_reconsume_times: None,
            bname: Some(mq.broker_name.clone()),
        };
        let code = if self.batch {
            RequestCode::SEND_BATCH_MESSAGE
        } else {
            RequestCode::SEND_MESSAGE_V2
        };
        RemotingCommand::request_with_header(code, &SendMessageRequestHeaderV2(header))
            .with_body(self.body.clone())
    }
}

/// sysFlag compression type of zlib (bits 8-10), what 4.9.4+ producers set with the flag.
const COMPRESSION_ZLIB: i32 = 0x300;
/// zlib level Java's producer uses by default (`rocketmq.message.compressLevel`).
const ZLIB_LEVEL: u32 = 5;

/// zlib-compresses `body`; `None` if the encoder fails (then the body goes uncompressed).
fn zlib(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(body.len() / 2),
        flate2::Compression::new(ZLIB_LEVEL),
    );
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

/// Java's `SelectMessageQueueByHash`: `abs(key.hashCode() % n)`.
fn sharding_index(key: &str, n: usize) -> usize {
    let n = i32::try_from(n).unwrap_or(i32::MAX).max(1);
    ((tag_code(key) as i32) % n).unsigned_abs() as usize
}

impl ProducerInner {
    /// The route to send `topic` on; for a topic nobody created yet, the auto-create stand-in.
    pub(super) async fn route_for(&self, topic: &str) -> ClientResult<Arc<TopicRoute>> {
        let routes = &self.core.routes;
        if let Some(route) = routes.cached(topic) {
            let stale_stand_in =
                route.auto_create && route.fetched.elapsed() > AUTO_CREATE_ROUTE_TTL;
            if !stale_stand_in && !route.write_queues.is_empty() {
                return Ok(route);
            }
        }
        match routes.refresh(topic).await {
            Ok(route) if !route.write_queues.is_empty() => Ok(route),
            Ok(_) | Err(ClientError::NoRoute { .. }) => {
                let template =
                    routes
                        .fetch(AUTO_CREATE_TOPIC)
                        .await
                        .map_err(|_| ClientError::NoRoute {
                            topic: topic.to_owned(),
                        })?;
                let route = routes.store(TopicRoute::auto_create(topic, template));
                if route.write_queues.is_empty() {
                    return Err(ClientError::NoRoute {
                        topic: topic.to_owned(),
                    });
                }
                Ok(route)
            }
            Err(e) => Err(e),
        }
    }

    fn select(
        &self,
        route: &TopicRoute,
        target: Target<'_>,
        avoid: Option<&str>,
    ) -> Option<MessageQueue> {
        let queues = &route.write_queues;
        if queues.is_empty() {
            return None;
        }
        match target {
            Target::Queue(mq) => Some(mq.clone()),
            Target::Sharding(key) => queues.get(sharding_index(key, queues.len())).cloned(),
            Target::Any => {
                let start = self.next_queue.fetch_add(1, Ordering::Relaxed);
                let pick = |i: usize| &queues[(start + i) % queues.len()];
                (0..queues.len())
                    .map(pick)
                    .find(|q| Some(q.broker_name.as_str()) != avoid)
                    .or_else(|| Some(pick(0)))
                    .cloned()
            }
        }
    }

    pub(super) async fn send(&self, msg: &Message, target: Target<'_>) -> ClientResult<SendResult> {
        check_message(msg, self.max_message_size)?;
        let prepared = Prepared::single(msg, self.compress_over);
        self.send_prepared(&prepared, target).await
    }

    async fn send_prepared(
        &self,
        prepared: &Prepared,
        target: Target<'_>,
    ) -> ClientResult<SendResult> {
        let deadline = Instant::now() + self.send_timeout;
        let attempts = match target {
            Target::Queue(_) => 1,
            _ => 1 + self.retry_times,
        };
        let mut avoid: Option<String> = None;
        let mut last = ClientError::Timeout;
        for attempt in 0..attempts {
            let Ok(left) = remaining(deadline) else { break };
            let outcome = async {
                let route = self.route_for(&prepared.topic).await?;
                let mq = self
                    .select(&route, target, avoid.as_deref())
                    .ok_or_else(|| ClientError::NoRoute {
                        topic: prepared.topic.clone(),
                    })?;
                avoid = Some(mq.broker_name.clone());
                let addr = match route.master_addr(&mq.broker_name) {
                    Some(addr) => addr.to_owned(),
                    None => self.core.routes.addr_of(&mq).await?,
                };
                let request = prepared.request(&self.group, &mq);
                let response = self.core.pool.invoke(&addr, request, left).await?;
                parse_response(response, prepared, mq)
            };
            match outcome.await {
                Ok(result) => return Ok(result),
                Err(e) if e.is_retryable() => {
                    tracing::debug!(attempt, topic = %prepared.topic, error = %e, "send failed, retrying");
                    // The broker may have moved or died: ask the name server again.
                    if !matches!(e, ClientError::Timeout) {
                        let _stale = self.core.routes.refresh(&prepared.topic).await;
                    }
                    last = e;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    pub(super) async fn send_oneway(&self, msg: &Message) -> ClientResult<()> {
        check_message(msg, self.max_message_size)?;
        let prepared = Prepared::single(msg, self.compress_over);
        let route = self.route_for(&prepared.topic).await?;
        let mq = self
            .select(&route, Target::Any, None)
            .ok_or_else(|| ClientError::NoRoute {
                topic: prepared.topic.clone(),
            })?;
        let addr = self.core.routes.addr_of(&mq).await?;
        self.core
            .pool
            .invoke_oneway(&addr, prepared.request(&self.group, &mq), self.send_timeout)
            .await
    }

    pub(super) async fn send_batch(&self, msgs: Vec<Message>) -> ClientResult<SendResult> {
        let Some(first) = msgs.first() else {
            return Err(ClientError::InvalidArgument("the batch is empty".into()));
        };
        let topic = first.topic.clone();
        if topic.starts_with(RETRY_TOPIC_PREFIX) {
            return Err(ClientError::InvalidArgument(
                "a batch may not be sent to a retry topic".into(),
            ));
        }
        let mut items = Vec::with_capacity(msgs.len());
        let mut ids = Vec::with_capacity(msgs.len());
        for msg in &msgs {
            check_message(msg, self.max_message_size)?;
            if msg.topic != topic {
                return Err(ClientError::InvalidArgument(format!(
                    "a batch holds one topic; found {topic} and {}",
                    msg.topic
                )));
            }
            if msg.delay_level > 0 {
                return Err(ClientError::InvalidArgument(
                    "a batch may not carry delayed messages".into(),
                ));
            }
            let id = new_uniq_key();
            items.push(BatchItem {
                flag: msg.flag,
                body: msg.body.clone(),
                properties: msg.wire_properties(&id),
            });
            ids.push(id);
        }
        let mut body = Vec::new();
        encode_batch(&items, &mut body)?;
        if body.len() > self.max_message_size {
            return Err(ClientError::MessageTooLarge {
                size: body.len(),
                max: self.max_message_size,
            });
        }
        let prepared = Prepared {
            topic,
            body: Bytes::from(body),
            properties: None,
            flag: 0,
            sys_flag: 0,
            batch: true,
            msg_id: ids.join(","),
        };
        self.send_prepared(&prepared, Target::Any).await
    }
}

fn parse_response(
    response: RemotingCommand,
    prepared: &Prepared,
    mq: MessageQueue,
) -> ClientResult<SendResult> {
    let Some(status) = SendStatus::from_code(response.code) else {
        return Err(ClientError::broker(response.code, response.remark));
    };
    let header = response.decode_header::<SendMessageResponseHeader>()?;
    Ok(SendResult {
        status,
        msg_id: prepared.msg_id.clone(),
        offset_msg_id: header.msg_id,
        queue: MessageQueue::new(mq.topic, mq.broker_name, header.queue_id),
        queue_offset: header.queue_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharding_follows_java_hash_modulo() {
        // "111".hashCode() = 48657; 48657 % 4 = 1.
        assert_eq!(sharding_index("111", 4), 1);
        // Negative hashes fold to their absolute remainder, as Math.abs does in Java.
        let key = "polygenelubricants"; // hashCode = Integer.MIN_VALUE
        assert!(sharding_index(key, 3) < 3);
        assert_eq!(sharding_index("same", 8), sharding_index("same", 8));
    }
}
