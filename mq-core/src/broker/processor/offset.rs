//! Offset requests: a group's committed offsets (query, update, reset by time) and a
//! queue's offsets (min, max, by store time, earliest store time).

use std::collections::BTreeMap;

use super::{Ctx, ProcessError, Reply, json_response, success};
use crate::protocol::body::JsonBody;
use crate::protocol::body::admin::ResetOffsetBody;
use crate::protocol::header::offset::{
    GetEarliestMsgStoretimeResponseHeader, OffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    QueueRequestHeader, ResetOffsetRequestHeader, SearchOffsetRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};
use crate::protocol::{MessageQueue, RemotingCommand, RequestCode, ResponseCode};

fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn offset_response(request: &RemotingCommand, offset: i64) -> Reply {
    Ok(success(request).with_header(&OffsetResponseHeader { offset }))
}

/// QUERY_CONSUMER_OFFSET: the committed offset; for a group that never committed, 0 while
/// the queue still starts at 0 (so a new group reads everything), else QUERY_NOT_FOUND and
/// the client applies its consume-from-where.
pub(super) fn query_consumer_offset(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: QueryConsumerOffsetRequestHeader = request.decode_header()?;
    let state = &ctx.state;
    // A negative commit means "nothing consumed yet" (ali-ons commits -1 for a queue whose
    // offset is 0); Java only answers stored offsets >= 0 and falls through otherwise.
    if let Some(offset) = state
        .offsets
        .query(&h.consumer_group, &h.topic, h.queue_id)
        .filter(|offset| *offset >= 0)
    {
        return offset_response(request, offset);
    }
    if state.store.min_offset(&h.topic, h.queue_id) == 0 {
        return offset_response(request, 0);
    }
    Err(ProcessError::new(
        ResponseCode::QUERY_NOT_FOUND,
        "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
    ))
}

/// UPDATE_CONSUMER_OFFSET (oneway from Java): records the commit.
pub(super) fn update_consumer_offset(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: UpdateConsumerOffsetRequestHeader = request.decode_header()?;
    ctx.state
        .offsets
        .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    Ok(success(request))
}

/// GET_MAX_OFFSET: the next offset to be written.
pub(super) fn max_offset(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: QueueRequestHeader = request.decode_header()?;
    offset_response(
        request,
        as_i64(ctx.state.store.max_offset(&h.topic, h.queue_id)),
    )
}

/// GET_MIN_OFFSET: the first offset still stored.
pub(super) fn min_offset(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: QueueRequestHeader = request.decode_header()?;
    offset_response(
        request,
        as_i64(ctx.state.store.min_offset(&h.topic, h.queue_id)),
    )
}

/// SEARCH_OFFSET_BY_TIMESTAMP: the first offset stored at or after the time.
pub(super) async fn search_by_timestamp(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: SearchOffsetRequestHeader = request.decode_header()?;
    let offset = ctx
        .state
        .with_store(move |s| s.offset_for_timestamp(&h.topic, h.queue_id, h.timestamp))
        .await??;
    offset_response(request, as_i64(offset))
}

/// GET_EARLIEST_MSG_STORETIME: store time of the queue's first message, -1 if it has none.
pub(super) async fn earliest_store_time(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: QueueRequestHeader = request.decode_header()?;
    let timestamp = ctx
        .state
        .with_store(move |s| {
            let min = s.min_offset(&h.topic, h.queue_id);
            s.store_timestamp_at(&h.topic, h.queue_id, min)
        })
        .await??
        .unwrap_or(-1);
    Ok(success(request).with_header(&GetEarliestMsgStoretimeResponseHeader { timestamp }))
}

/// INVOKE_BROKER_TO_RESET_OFFSET: moves the group's committed offsets on `topic` to the
/// first message stored at or after `timestamp` (-1 = the end of each queue) — only
/// backwards unless `isForce` — and tells the group's online clients
/// (RESET_CONSUMER_CLIENT_OFFSET) so their in-memory offsets follow. Unlike RocketMQ,
/// which leaves the commit to the clients, the broker commits too, so a group with no
/// client online is reset as well.
pub(super) async fn reset_offset(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: ResetOffsetRequestHeader = request.decode_header()?;
    let state = &ctx.state;
    let Some(topic) = state.topics.get(&h.topic) else {
        return Err(ProcessError::system(format!(
            "[reset-offset] reset offset failed, no topic in this broker. topic={}",
            h.topic
        )));
    };
    let queues = topic.write_queue_nums.max(topic.read_queue_nums);
    let (topic_name, timestamp) = (h.topic.clone(), h.timestamp);
    let targets = state
        .with_store(move |s| {
            (0..queues)
                .map(|q| {
                    if timestamp < 0 {
                        Ok((q, s.max_offset(&topic_name, q)))
                    } else {
                        s.offset_for_timestamp(&topic_name, q, timestamp)
                            .map(|o| (q, o))
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await??;
    let mut table = BTreeMap::new();
    for (queue_id, target) in targets {
        let target = as_i64(target);
        let current = state.offsets.query(&h.group, &h.topic, queue_id);
        let new = match current {
            Some(c) if !h.is_force && target >= c => c,
            _ => target,
        };
        state.offsets.commit(&h.group, &h.topic, queue_id, new);
        table.insert(
            MessageQueue::new(h.topic.clone(), state.config.broker_name.clone(), queue_id),
            new,
        );
    }
    let body = ResetOffsetBody {
        offset_table: table,
    };
    let json = body.to_json()?;
    for channel in state.groups.consumer_channels(&h.group) {
        let notice =
            RemotingCommand::request_with_header(RequestCode::RESET_CONSUMER_CLIENT_OFFSET, &h)
                .with_body(json.clone())
                .oneway();
        if !channel.send_oneway(notice) {
            tracing::warn!(group = %h.group, addr = %channel.addr(), "could not tell a consumer of the offset reset");
        }
    }
    tracing::info!(group = %h.group, topic = %h.topic, timestamp = h.timestamp, force = h.is_force, "consumer offsets reset");
    json_response(request, &body)
}
