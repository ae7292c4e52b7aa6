//! PULL_MESSAGE: checks, the subscription (from the request or the group's heartbeat),
//! the commit-offset piggyback, the read with the tag-code filter, and long polling — an
//! empty pull with the suspend flag is held until a message arrives for its queue or the
//! hold time passes, then answered like a fresh pull (RocketMQ's `PullMessageProcessor`).

use bytes::BytesMut;
use tokio::time::Instant;

use super::{Ctx, ProcessError, Reply, success};
use crate::broker::long_poll::{Wake, hold_time, wait_for_arrival};
use crate::broker::state::{BrokerState, Stats};
use crate::protocol::body::route::PERM_READ;
use crate::protocol::header::pull::{
    PULL_FLAG_COMMIT_OFFSET, PULL_FLAG_SUBSCRIPTION, PULL_FLAG_SUSPEND, PullMessageRequestHeader,
    PullMessageResponseHeader,
};
use crate::protocol::tag::Subscription;
use crate::protocol::{RemotingCommand, ResponseCode};
use crate::store::{GetResult, GetStatus};

/// Most messages one pull returns, whatever it asks (the store also caps the bytes).
const MAX_PULL_COUNT: i32 = 1024;

/// Serves one pull.
pub(super) async fn pull(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: PullMessageRequestHeader = request.decode_header()?;
    let state = &ctx.state;
    let Some(topic) = state.topics.get(&h.topic) else {
        return Err(ProcessError::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please!", h.topic),
        ));
    };
    if topic.perm & PERM_READ == 0 {
        return Err(ProcessError::new(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] pulling message is forbidden", h.topic),
        ));
    }
    if h.queue_id < 0 || h.queue_id >= topic.read_queue_nums {
        return Err(ProcessError::system(format!(
            "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
            h.queue_id,
            h.topic,
            topic.read_queue_nums,
            ctx.channel.addr()
        )));
    }
    let filter = subscription(state, &h)?;
    if h.sys_flag & PULL_FLAG_COMMIT_OFFSET != 0 && h.commit_offset >= 0 {
        state
            .offsets
            .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    }
    let max = usize::try_from(h.max_msg_nums.clamp(1, MAX_PULL_COUNT)).unwrap_or(1);
    let Ok(offset) = u64::try_from(h.queue_offset) else {
        // A negative offset is below any queue's minimum.
        let min = state.store.min_offset(&h.topic, h.queue_id);
        return Ok(respond(request, &moved_to(state, &h, min), h.queue_offset));
    };
    let mut result = read(state, &h.topic, h.queue_id, offset, max, &filter).await?;
    if h.sys_flag & PULL_FLAG_SUSPEND != 0 && is_empty_at_end(&result, offset) {
        result = hold(ctx, &h, offset, max, &filter).await?;
    }
    Stats::add(&state.stats.got_messages, result.messages.len());
    let asked = i64::try_from(offset).unwrap_or(i64::MAX);
    Ok(respond(request, &result, asked))
}

/// The filter this pull uses: the request's own expression when it carries one
/// (FLAG_SUBSCRIPTION), else the group's subscription from its heartbeats.
fn subscription(
    state: &BrokerState,
    h: &PullMessageRequestHeader,
) -> Result<Subscription, ProcessError> {
    let (expression, expression_type) = if h.sys_flag & PULL_FLAG_SUBSCRIPTION != 0 {
        (
            h.subscription.clone().unwrap_or_else(|| "*".to_owned()),
            h.expression_type.clone(),
        )
    } else {
        if !state.groups.has_consumer_group(&h.consumer_group) {
            return Err(ProcessError::new(
                ResponseCode::SUBSCRIPTION_NOT_EXIST,
                format!(
                    "the consumer's group info not exist, group: {}",
                    h.consumer_group
                ),
            ));
        }
        let Some(sub) = state.groups.subscription(&h.consumer_group, &h.topic) else {
            return Err(ProcessError::new(
                ResponseCode::SUBSCRIPTION_NOT_EXIST,
                format!("the consumer's subscription not exist, topic: {}", h.topic),
            ));
        };
        if sub.sub_version < h.sub_version {
            return Err(ProcessError::new(
                ResponseCode::SUBSCRIPTION_NOT_LATEST,
                "the consumer's subscription not latest",
            ));
        }
        (sub.sub_string, Some(sub.expression_type))
    };
    if let Some(kind) = expression_type.filter(|k| !k.is_empty() && !k.eq_ignore_ascii_case("TAG"))
    {
        return Err(ProcessError::system(format!(
            "The broker does not support consumer to filter message by {kind}"
        )));
    }
    Ok(Subscription::parse(&expression))
}

/// A pull this close to its queue's end reads what was just written, which the page cache
/// still holds: the read is a memory copy, done on the connection's task. Farther back (a
/// backlog) it may wait for the disk, so it runs on the blocking pool — where the two thread
/// hops cost tens of microseconds of delivery latency, the reason tail reads stay inline.
const HOT_TAIL_MESSAGES: u64 = 1024;

/// Reads from the store: inline at the queue's tail, on the blocking pool for a backlog.
async fn read(
    state: &BrokerState,
    topic: &str,
    queue_id: i32,
    offset: u64,
    max: usize,
    filter: &Subscription,
) -> Result<GetResult, ProcessError> {
    let behind = state
        .store
        .max_offset(topic, queue_id)
        .saturating_sub(offset);
    if behind <= HOT_TAIL_MESSAGES {
        return Ok(state
            .store
            .get_messages(topic, queue_id, offset, max, filter)?);
    }
    let (topic, filter) = (topic.to_owned(), filter.clone());
    Ok(state
        .with_store(move |s| s.get_messages(&topic, queue_id, offset, max, &filter))
        .await??)
}

/// Whether the pull found nothing because it is at the end of its queue (answered
/// PULL_NOT_FOUND, the case long polling waits out).
fn is_empty_at_end(result: &GetResult, offset: u64) -> bool {
    match result.status {
        GetStatus::OffsetOverflowOne => true,
        GetStatus::NoMessageInQueue | GetStatus::NoMatchedLogicQueue => offset == 0,
        _ => false,
    }
}

/// Holds the pull until a matching message arrives, the hold time passes, or the
/// connection or broker goes away; then answers like a fresh pull. Messages that arrive
/// but do not match the filter are skipped while holding, and the answer's
/// nextBeginOffset tells the client to skip them too.
async fn hold(
    ctx: &Ctx,
    h: &PullMessageRequestHeader,
    offset: u64,
    max: usize,
    filter: &Subscription,
) -> Result<GetResult, ProcessError> {
    let state = &ctx.state;
    let deadline =
        Instant::now() + hold_time(h.suspend_timeout_millis, state.config.long_poll_timeout);
    let mut at = offset;
    let mut arrivals = state.arrivals.subscribe(&h.topic, h.queue_id);
    Stats::add(&state.stats.held_pulls, 1);
    let outcome = async {
        loop {
            // Read after subscribing, so an append in between is seen here or notified.
            let current_max = state.store.max_offset(&h.topic, h.queue_id);
            let wake =
                wait_for_arrival(&mut arrivals, at, current_max, deadline, &ctx.release).await;
            let result = read(state, &h.topic, h.queue_id, at, max, filter).await?;
            if wake != Wake::Arrived {
                return Ok(result);
            }
            match result.status {
                GetStatus::Found => return Ok(result),
                GetStatus::NoMatchedMessage if result.next_begin_offset > at => {
                    at = result.next_begin_offset;
                }
                _ if is_empty_at_end(&result, at) => {}
                _ => return Ok(result),
            }
        }
    }
    .await;
    state
        .stats
        .held_pulls
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    outcome
}

/// An OFFSET_MOVED answer pointing at `next`.
fn moved_to(state: &BrokerState, h: &PullMessageRequestHeader, next: u64) -> GetResult {
    GetResult {
        status: GetStatus::OffsetTooSmall,
        messages: Vec::new(),
        next_begin_offset: next,
        min_offset: state.store.min_offset(&h.topic, h.queue_id),
        max_offset: state.store.max_offset(&h.topic, h.queue_id),
    }
}

/// The response for a store result, by RocketMQ's status → code table.
fn respond(request: &RemotingCommand, result: &GetResult, asked: i64) -> RemotingCommand {
    let code = match result.status {
        GetStatus::Found => ResponseCode::SUCCESS,
        GetStatus::NoMessageInQueue | GetStatus::NoMatchedLogicQueue => {
            if asked != 0 {
                ResponseCode::PULL_OFFSET_MOVED
            } else {
                ResponseCode::PULL_NOT_FOUND
            }
        }
        GetStatus::OffsetOverflowOne => ResponseCode::PULL_NOT_FOUND,
        GetStatus::OffsetOverflowBadly | GetStatus::OffsetTooSmall => {
            ResponseCode::PULL_OFFSET_MOVED
        }
        GetStatus::NoMatchedMessage | GetStatus::MessageWasRemoving => {
            ResponseCode::PULL_RETRY_IMMEDIATELY
        }
    };
    let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let header = PullMessageResponseHeader {
        suggest_which_broker_id: 0,
        next_begin_offset: as_i64(result.next_begin_offset),
        min_offset: as_i64(result.min_offset),
        max_offset: as_i64(result.max_offset),
    };
    let mut response = success(request).with_header(&header);
    response.code = code;
    if code == ResponseCode::SUCCESS {
        let mut body = BytesMut::with_capacity(result.total_bytes());
        for m in &result.messages {
            body.extend_from_slice(&m.bytes);
        }
        response.body = body.freeze();
    }
    response
}
