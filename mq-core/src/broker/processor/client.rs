//! Client membership: HEART_BEAT (producer and consumer groups, subscriptions, the client's
//! channel), UNREGISTER_CLIENT, GET_CONSUMER_LIST_BY_GROUP, and the orderly-consumption
//! queue locks LOCK_BATCH_MQ / UNLOCK_BATCH_MQ.

use tokio::time::Instant;

use super::{Ctx, ProcessError, Reply, json_response, success};
use crate::broker::topic_config::{retry_topic, validate_topic_name};
use crate::protocol::RemotingCommand;
use crate::protocol::body::JsonBody;
use crate::protocol::body::consumer::{
    GetConsumerListByGroupResponseBody, LockBatchRequestBody, LockBatchResponseBody,
    UnlockBatchRequestBody,
};
use crate::protocol::body::heartbeat::HeartbeatData;
use crate::protocol::body::route::{PERM_READ, PERM_WRITE};
use crate::protocol::header::consumer::{
    GetConsumerListByGroupRequestHeader, UnregisterClientRequestHeader,
};

/// HEART_BEAT: registers or refreshes the client in each of its groups, creates each
/// consumer group's retry topic, and tells a group when its membership changed.
pub(super) fn heartbeat(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let data = HeartbeatData::from_json(&request.body)?;
    let state = &ctx.state;
    let channel =
        ctx.channel
            .with_client_info(request.language, request.version, request.serialize_type);
    let now = Instant::now();
    for consumer in &data.consumer_data_set {
        if consumer.group_name.is_empty() {
            continue;
        }
        let retry = retry_topic(&consumer.group_name);
        validate_topic_name(&retry).map_err(|reason| {
            ProcessError::system(format!(
                "consumer group {:?} cannot name a retry topic: {reason}",
                consumer.group_name
            ))
        })?;
        let (_, created) = state.topics.ensure(
            &retry,
            state.config.retry_queue_nums,
            PERM_READ | PERM_WRITE,
        )?;
        if created {
            state.topics_changed();
        }
        let registered = state
            .groups
            .register_consumer(&data.client_id, &channel, consumer, now);
        if let Some(mismatch) = &registered.mismatch {
            // Queues are shared out regardless of subscription, so each instance silently
            // skips the messages its own expression filters out (RocketMQ only documents this).
            let differences: Vec<String> =
                mismatch.conflicts.iter().map(ToString::to_string).collect();
            tracing::warn!(
                group = %consumer.group_name,
                client = %data.client_id,
                other_client = %mismatch.other_client,
                differences = %differences.join("; "),
                "instances of a consumer group subscribe differently"
            );
        }
        if registered.group_changed {
            tracing::info!(group = %consumer.group_name, client = %data.client_id, addr = %channel.addr(), "consumer group changed");
            state.notify_consumer_ids_changed(&consumer.group_name);
        }
    }
    for producer in &data.producer_data_set {
        if !producer.group_name.is_empty() {
            state
                .groups
                .register_producer(&producer.group_name, &data.client_id, &channel, now);
        }
    }
    Ok(success(request))
}

/// UNREGISTER_CLIENT: the client leaves the named groups.
pub(super) fn unregister(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: UnregisterClientRequestHeader = request.decode_header()?;
    let state = &ctx.state;
    if let Some(group) = h.producer_group.as_deref().filter(|g| !g.is_empty()) {
        state.groups.unregister_producer(group, &h.client_id);
    }
    if let Some(group) = h.consumer_group.as_deref().filter(|g| !g.is_empty()) {
        if state.groups.unregister_consumer(group, &h.client_id) {
            tracing::info!(group, client = %h.client_id, "consumer unregistered");
            state.notify_consumer_ids_changed(group);
        }
    }
    Ok(success(request))
}

/// GET_CONSUMER_LIST_BY_GROUP: the client ids of the group's live consumers.
pub(super) fn consumer_list(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: GetConsumerListByGroupRequestHeader = request.decode_header()?;
    match ctx.state.groups.consumer_ids(&h.consumer_group) {
        Some(consumer_id_list) if !consumer_id_list.is_empty() => json_response(
            request,
            &GetConsumerListByGroupResponseBody { consumer_id_list },
        ),
        _ => Err(ProcessError::system(format!(
            "no consumer for this group, {}",
            h.consumer_group
        ))),
    }
}

/// LOCK_BATCH_MQ: locks (or renews) the queues for the client; answers those it holds.
pub(super) fn lock_batch(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let body = LockBatchRequestBody::from_json(&request.body)?;
    let lock_ok_mq_set = ctx.state.locks.lock(
        &body.consumer_group,
        &body.client_id,
        &body.mq_set,
        Instant::now(),
    );
    json_response(request, &LockBatchResponseBody { lock_ok_mq_set })
}

/// UNLOCK_BATCH_MQ: releases the client's locks on the queues.
pub(super) fn unlock_batch(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let body = UnlockBatchRequestBody::from_json(&request.body)?;
    ctx.state
        .locks
        .unlock(&body.consumer_group, &body.client_id, &body.mq_set);
    Ok(success(request))
}
