//! SEND_MESSAGE (V1 names), SEND_MESSAGE_V2 (short names) and SEND_BATCH_MESSAGE: checks as
//! RocketMQ's `SendMessageProcessor` does, topic auto-create, retry-to-DLQ redirection and
//! delay scheduling, then the append and (SYNC_FLUSH) the wait for fsync. Sends that arrive
//! together on a connection are appended as one group ([`send_group`]).

use std::sync::Arc;

use rand::Rng;

use super::{Ctx, ProcessError, Reply, success};
use crate::broker::delay::schedule_if_delayed;
use crate::broker::state::{BrokerState, Stats};
use crate::broker::topic_config::{
    DLQ_PREFIX, RETRY_PREFIX, dlq_topic, is_send_forbidden, validate_topic_name,
};
use crate::protocol::body::broker_register::TopicConfig;
use crate::protocol::body::route::{PERM_READ, PERM_WRITE};
use crate::protocol::header::send::{SendMessageRequestHeader, SendMessageResponseHeader};
use crate::protocol::message::{
    MAX_PROPERTIES_LEN, PROPERTY_DELAY_TIME_LEVEL, PROPERTY_SEPARATOR, PROPERTY_WAIT_STORE_MSG_OK,
    Properties, TRANSACTION_TYPE_MASK, decode_batch, parse_properties, properties_to_string,
};
use crate::protocol::{RemotingCommand, ResponseCode};
use crate::store::{AppendMessage, AppendResult, StoreError};

/// Property the broker adds to every stored message: the cluster that stored it.
const PROPERTY_CLUSTER: &str = "CLUSTER";
/// Property marking a transactional (half) message.
const PROPERTY_TRANSACTION_PREPARED: &str = "TRAN_MSG";

/// A send request checked and turned into what the store appends.
#[derive(Debug)]
pub(crate) struct PreparedSend {
    /// One message, or the messages of a batch (stored atomically in one queue).
    msgs: Vec<AppendMessage>,
    /// Whether the producer waits for the flush (false when it sent `WAIT=false`).
    wait: bool,
    /// The queue the messages go to, as answered to the producer.
    queue_id: i32,
}

/// Serves the three send codes one request at a time: a group of one (connections send
/// their bursts to [`send_group`] directly).
pub(super) async fn send(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    send_group(ctx, vec![request.clone()])
        .await
        .pop()
        .map_or_else(
            || Err(ProcessError::system("send produced no reply")),
            |(_, r)| r,
        )
}

/// Sends that arrived together on a connection: appended now, as one group (one writer
/// lock, one CommitLog write); the returned future answers each request, after waiting for
/// the group's fsync when a producer waits in SYNC_FLUSH (at once otherwise). A request
/// refused by its checks is answered with its error and does not hold up the others.
pub(crate) fn send_group(
    ctx: &Ctx,
    requests: Vec<RemotingCommand>,
) -> impl Future<Output = Vec<(RemotingCommand, Reply)>> + Send + 'static {
    let prepared: Vec<Result<PreparedSend, ProcessError>> =
        requests.iter().map(|r| prepare(ctx, r)).collect();
    let appends: Vec<&[AppendMessage]> = prepared
        .iter()
        .filter_map(|p| p.as_ref().ok().map(|p| p.msgs.as_slice()))
        .collect();
    let mut stored = ctx.state.store.append_many(&appends).into_iter();
    let results: Vec<_> = prepared
        .into_iter()
        .map(|p| p.map(|p| (stored.next().unwrap_or(Err(StoreError::EmptyBatch)), p)))
        .collect();
    let wait_for = results
        .iter()
        .filter_map(|r| match r {
            Ok((Ok(stored), p)) if p.wait => Some(stored.end_offset),
            _ => None,
        })
        .max();
    let state = Arc::clone(&ctx.state);
    async move {
        let durable = match wait_for {
            Some(end) => wait_durable(&state, end).await,
            None => Ok(ResponseCode::SUCCESS),
        };
        requests
            .into_iter()
            .zip(results)
            .map(|(request, r)| {
                let reply =
                    r.and_then(|(stored, p)| answer(&state, &request, &p, stored, &durable));
                (request, reply)
            })
            .collect()
    }
}

/// Checks a send request and builds its messages: topic, permissions, sizes, properties,
/// retry-to-DLQ redirection and delay scheduling. The batch path is chosen by the header's
/// batch flag, as RocketMQ does.
fn prepare(ctx: &Ctx, request: &RemotingCommand) -> Result<PreparedSend, ProcessError> {
    let header = SendMessageRequestHeader::from_request(request)?;
    let state = &ctx.state;
    validate_topic_name(&header.topic).map_err(ProcessError::system)?;
    if is_send_forbidden(&header.topic) {
        return Err(ProcessError::new(
            ResponseCode::NO_PERMISSION,
            format!("sending message to topic[{}] is forbidden", header.topic),
        ));
    }
    let properties = header.properties.as_deref().unwrap_or_default();
    if properties.len() > MAX_PROPERTIES_LEN {
        return Err(ProcessError::new(
            ResponseCode::MESSAGE_ILLEGAL,
            format!(
                "the message properties are {} bytes, over the limit of {MAX_PROPERTIES_LEN}",
                properties.len()
            ),
        ));
    }
    let max_body = state.config.store.max_message_size;
    if request.body.len() > max_body {
        return Err(ProcessError::new(
            ResponseCode::MESSAGE_ILLEGAL,
            format!(
                "the message body size {} is over the max value {max_body}",
                request.body.len()
            ),
        ));
    }
    let mut props = parse_properties(properties);
    if header.sys_flag & TRANSACTION_TYPE_MASK != 0
        || props.get(PROPERTY_TRANSACTION_PREPARED).map(String::as_str) == Some("true")
    {
        return Err(ProcessError::new(
            ResponseCode::NO_PERMISSION,
            "transactional messages are not supported by this broker yet",
        ));
    }
    let topic = resolve_topic(state, &header)?;
    if topic.perm & PERM_WRITE == 0 {
        return Err(ProcessError::new(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] sending message is forbidden", header.topic),
        ));
    }
    let queue_id = pick_queue(&topic, header.queue_id)?;
    props.insert(
        PROPERTY_CLUSTER.to_owned(),
        state.config.cluster_name.clone(),
    );
    if header.batch {
        prepare_batch(ctx, request, &header, queue_id, props)
    } else {
        prepare_one(ctx, request, &header, queue_id, props)
    }
}

/// The topic's config, auto-creating it (and re-registering) when allowed.
fn resolve_topic(
    state: &BrokerState,
    header: &SendMessageRequestHeader,
) -> Result<TopicConfig, ProcessError> {
    let topic = &header.topic;
    let rw = PERM_READ | PERM_WRITE;
    let found = if topic.starts_with(RETRY_PREFIX) {
        // Clients resend failed messages here themselves when send-back fails.
        Some(
            state
                .topics
                .ensure(topic, state.config.retry_queue_nums, rw)?,
        )
    } else if topic.starts_with(DLQ_PREFIX) {
        Some(state.topics.ensure(topic, 1, rw)?)
    } else {
        state.topics.get_or_create_for_send(
            topic,
            &header.default_topic,
            header.default_topic_queue_nums,
            &state.config,
        )?
    };
    let Some((config, created)) = found else {
        return Err(ProcessError::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist, apply first please!"),
        ));
    };
    if created {
        tracing::info!(
            topic,
            queues = config.write_queue_nums,
            "topic created on first send"
        );
        state.topics_changed();
    }
    Ok(config)
}

/// A negative queue id lets the broker pick; others must exist.
fn pick_queue(topic: &TopicConfig, requested: i32) -> Result<i32, ProcessError> {
    let valid = topic.write_queue_nums.max(topic.read_queue_nums);
    if requested < 0 {
        let writable = topic.write_queue_nums.max(1);
        return Ok(rand::rng().random_range(0..writable));
    }
    if requested >= valid {
        return Err(ProcessError::system(format!(
            "request queueId[{requested}] is illegal, topic {} has {valid} queues",
            topic.topic_name
        )));
    }
    Ok(requested)
}

fn prepare_one(
    ctx: &Ctx,
    request: &RemotingCommand,
    header: &SendMessageRequestHeader,
    queue_id: i32,
    mut props: Properties,
) -> Result<PreparedSend, ProcessError> {
    let state = &ctx.state;
    // WAIT only tells this broker whether to wait for the flush; it is not stored.
    let wait = props
        .remove(PROPERTY_WAIT_STORE_MSG_OK)
        .is_none_or(|w| !w.eq_ignore_ascii_case("false"));
    let reconsume_times = header.reconsume_times.unwrap_or(0);
    let mut msg = AppendMessage {
        topic: header.topic.clone(),
        queue_id,
        flag: header.flag,
        sys_flag: header.sys_flag,
        born_timestamp: header.born_timestamp,
        born_host: ctx.channel.addr(),
        reconsume_times,
        prepared_transaction_offset: 0,
        body: request.body.clone(),
        properties: String::new(),
    };
    if let Some(group) = header.topic.strip_prefix(RETRY_PREFIX) {
        let max = header
            .max_reconsume_times
            .unwrap_or(state.config.max_reconsume_times);
        if reconsume_times >= max {
            // Out of retries: dead-letter it, undelayed.
            let dlq = dlq_topic(group);
            let (_, created) = state.topics.ensure(&dlq, 1, PERM_READ | PERM_WRITE)?;
            if created {
                state.topics_changed();
            }
            props.remove(PROPERTY_DELAY_TIME_LEVEL);
            msg.topic = dlq;
            msg.queue_id = 0;
        }
    }
    msg.properties = properties_to_string(&props);
    schedule_if_delayed(&mut msg, &mut props, state.config.store.delay_levels.len());
    Ok(PreparedSend {
        msgs: vec![msg],
        wait,
        queue_id,
    })
}

fn prepare_batch(
    ctx: &Ctx,
    request: &RemotingCommand,
    header: &SendMessageRequestHeader,
    queue_id: i32,
    batch_props: Properties,
) -> Result<PreparedSend, ProcessError> {
    if header.topic.starts_with(RETRY_PREFIX) {
        return Err(ProcessError::new(
            ResponseCode::MESSAGE_ILLEGAL,
            "batch messages cannot be sent to a retry topic",
        ));
    }
    let items = decode_batch(&request.body).map_err(|e| {
        ProcessError::new(
            ResponseCode::MESSAGE_ILLEGAL,
            format!("bad batch body: {e}"),
        )
    })?;
    if items.is_empty() {
        return Err(ProcessError::new(
            ResponseCode::MESSAGE_ILLEGAL,
            "the batch is empty",
        ));
    }
    let wait = batch_props
        .get(PROPERTY_WAIT_STORE_MSG_OK)
        .is_none_or(|w| !w.eq_ignore_ascii_case("false"));
    // The batch-level properties are appended to each message's own, as RocketMQ stores them.
    let shared = properties_to_string(&batch_props);
    let mut msgs = Vec::with_capacity(items.len());
    for item in items {
        if crate::protocol::message::property(&item.properties, PROPERTY_DELAY_TIME_LEVEL)
            .is_some_and(|l| l.trim() != "0")
        {
            return Err(ProcessError::new(
                ResponseCode::MESSAGE_ILLEGAL,
                "a batch message may not carry a delay level",
            ));
        }
        let properties = if item.properties.is_empty() {
            shared.clone()
        } else if item.properties.ends_with(PROPERTY_SEPARATOR) {
            format!("{}{shared}", item.properties)
        } else {
            format!("{}{PROPERTY_SEPARATOR}{shared}", item.properties)
        };
        msgs.push(AppendMessage {
            topic: header.topic.clone(),
            queue_id,
            flag: item.flag,
            sys_flag: header.sys_flag,
            born_timestamp: header.born_timestamp,
            born_host: ctx.channel.addr(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: item.body,
            properties,
        });
    }
    Ok(PreparedSend {
        msgs,
        wait,
        queue_id,
    })
}

/// Waits until the CommitLog is durable up to `end` (at once in ASYNC_FLUSH): SUCCESS, or
/// FLUSH_DISK_TIMEOUT when SYNC_FLUSH took longer than the configured timeout (the message
/// is stored either way, as RocketMQ answers).
async fn wait_durable(state: &BrokerState, end: u64) -> Result<i32, ProcessError> {
    match tokio::time::timeout(
        state.config.sync_flush_timeout,
        state.store.wait_durable(end),
    )
    .await
    {
        Ok(Ok(())) => Ok(ResponseCode::SUCCESS),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Ok(ResponseCode::FLUSH_DISK_TIMEOUT),
    }
}

/// The response to a send whose append ended with `stored` and whose flush wait with `durable`.
fn answer(
    state: &BrokerState,
    request: &RemotingCommand,
    prepared: &PreparedSend,
    stored: Result<AppendResult, StoreError>,
    durable: &Result<i32, ProcessError>,
) -> Reply {
    let stored = stored?;
    Stats::add(&state.stats.put_messages, prepared.msgs.len());
    let code = if prepared.wait {
        durable.clone()?
    } else {
        ResponseCode::SUCCESS
    };
    let msg_id = stored.msg_ids().join(",");
    Ok(respond(request, (stored, code), msg_id, prepared.queue_id))
}

fn respond(
    request: &RemotingCommand,
    (result, code): (AppendResult, i32),
    msg_id: String,
    queue_id: i32,
) -> RemotingCommand {
    let header = SendMessageResponseHeader {
        msg_id,
        queue_id,
        queue_offset: i64::try_from(result.queue_offset).unwrap_or(i64::MAX),
        transaction_id: None,
    };
    let mut response = success(request)
        .with_header(&header)
        .with_ext("MSG_REGION", "DefaultRegion")
        .with_ext("TRACE_ON", "true");
    response.code = code;
    response
}
