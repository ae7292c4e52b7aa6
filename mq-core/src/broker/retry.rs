//! CONSUMER_SEND_MSG_BACK (RocketMQ's `SendMessageProcessor.consumerSendMsgBack`): a
//! consumer hands back a message it failed to process. The broker re-stores a copy in
//! `%RETRY%<group>` with delay level `3 + reconsumeTimes` (or the level asked for) and
//! `reconsumeTimes + 1`; once the message was retried `maxReconsumeTimes` times (or the
//! consumer asks with a negative level) the copy goes to `%DLQ%<group>` (one queue), undelayed.
//! `RETRY_TOPIC` keeps the original topic and `ORIGIN_MESSAGE_ID` the first msgId.

use rand::Rng;

use super::delay::schedule_if_delayed;
use super::processor::{Ctx, ProcessError, Reply, success};
use super::state::Stats;
use super::topic_config::{dlq_topic, retry_topic, validate_topic_name};
use crate::protocol::body::route::{PERM_READ, PERM_WRITE};
use crate::protocol::header::consumer::ConsumerSendMsgBackRequestHeader;
use crate::protocol::message::{
    PROPERTY_DELAY_TIME_LEVEL, PROPERTY_RETRY_TOPIC, PROPERTY_WAIT_STORE_MSG_OK, StoredMessageRef,
    parse_properties, properties_to_string,
};
use crate::protocol::msg_id::encode_offset_msg_id;
use crate::protocol::{RemotingCommand, ResponseCode};
use crate::store::AppendMessage;

/// Property naming the msgId of the first delivery of a retried message.
const PROPERTY_ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
/// Property carrying the retry limit the client asked for.
const PROPERTY_MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";

/// Serves CONSUMER_SEND_MSG_BACK.
pub(crate) async fn send_back(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: ConsumerSendMsgBackRequestHeader = request.decode_header()?;
    let state = &ctx.state;
    if h.group.is_empty() {
        return Err(ProcessError::new(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            "the consumer group is empty",
        ));
    }
    validate_topic_name(&retry_topic(&h.group)).map_err(|reason| {
        ProcessError::system(format!(
            "consumer group {:?} cannot name a retry topic: {reason}",
            h.group
        ))
    })?;
    let lookup_failed =
        || ProcessError::system(format!("look message by offset failed, {}", h.offset));
    let Ok(offset) = u64::try_from(h.offset) else {
        return Err(lookup_failed());
    };
    let record = state
        .with_store(move |s| s.read_message(offset))
        .await?
        .unwrap_or(None)
        .ok_or_else(lookup_failed)?;
    let original = match StoredMessageRef::decode(&record) {
        Ok(Some((msg, _))) => msg,
        _ => return Err(lookup_failed()),
    };

    let mut props = parse_properties(original.properties);
    props
        .entry(PROPERTY_RETRY_TOPIC.to_owned())
        .or_insert_with(|| original.topic.to_owned());
    let origin_id = h
        .origin_msg_id
        .clone()
        .filter(|id| !id.is_empty())
        .or_else(|| props.get(PROPERTY_ORIGIN_MESSAGE_ID).cloned())
        .unwrap_or_else(|| encode_offset_msg_id(original.store_host, original.commit_log_offset));
    props.insert(PROPERTY_ORIGIN_MESSAGE_ID.to_owned(), origin_id);
    props.remove(PROPERTY_WAIT_STORE_MSG_OK);

    let max_times = h
        .max_reconsume_times
        .filter(|m| *m >= 0)
        .unwrap_or(state.config.max_reconsume_times);
    if let Some(m) = h.max_reconsume_times {
        props.insert(PROPERTY_MAX_RECONSUME_TIMES.to_owned(), m.to_string());
    }
    let to_dlq = original.reconsume_times >= max_times || h.delay_level < 0;
    let (topic, queue_id) = if to_dlq {
        let dlq = dlq_topic(&h.group);
        let (_, created) = state.topics.ensure(&dlq, 1, PERM_READ | PERM_WRITE)?;
        if created {
            // Announce it at once: DLQ consumers find the topic through the name server.
            state.topics_changed();
        }
        props.remove(PROPERTY_DELAY_TIME_LEVEL);
        tracing::info!(group = %h.group, offset = h.offset, reconsume_times = original.reconsume_times, "message dead-lettered");
        (dlq, 0)
    } else {
        let retry = retry_topic(&h.group);
        let (config, created) = state.topics.ensure(
            &retry,
            state.config.retry_queue_nums,
            PERM_READ | PERM_WRITE,
        )?;
        if created {
            state.topics_changed();
        }
        let level = if h.delay_level == 0 {
            3 + original.reconsume_times
        } else {
            h.delay_level
        };
        props.insert(PROPERTY_DELAY_TIME_LEVEL.to_owned(), level.to_string());
        let queue = rand::rng().random_range(0..config.write_queue_nums.max(1));
        (retry, queue)
    };

    let mut msg = AppendMessage {
        topic,
        queue_id,
        flag: original.flag,
        sys_flag: original.sys_flag,
        born_timestamp: original.born_timestamp,
        born_host: original.born_host,
        reconsume_times: original.reconsume_times + 1,
        prepared_transaction_offset: 0,
        body: bytes::Bytes::copy_from_slice(original.body),
        properties: properties_to_string(&props),
    };
    schedule_if_delayed(&mut msg, &mut props, state.config.store.delay_levels.len());
    let result = state.with_store(move |s| s.append(msg)).await??;
    state.store.wait_durable(result.end_offset).await?;
    Stats::add(&state.stats.put_messages, 1);
    Ok(success(request))
}
