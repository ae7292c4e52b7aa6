//! Administration: topic create/delete/list/stats, broker runtime info, a group's
//! connections and its consume progress (what `mqadmin` asks).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;

use super::{Ctx, ProcessError, Reply, json_response, success};
use crate::broker::state::now_millis;
use crate::broker::topic_config::{is_system_topic, validate_topic_name};
use crate::protocol::body::admin::{ConsumeStats, OffsetWrapper, TopicOffset, TopicStatsTable};
use crate::protocol::body::broker_register::{KvTable, TopicConfig};
use crate::protocol::body::route::{PERM_INHERIT, PERM_PRIORITY, PERM_READ, PERM_WRITE};
use crate::protocol::frame::CURRENT_VERSION;
use crate::protocol::header::admin::{
    CreateTopicRequestHeader, GetConsumeStatsRequestHeader, GetConsumerConnectionListRequestHeader,
    TopicRequestHeader,
};
use crate::protocol::{MessageQueue, RemotingCommand, ResponseCode};

/// Most queues an admin may give a topic.
const MAX_QUEUES: i32 = 1024;

/// UPDATE_AND_CREATE_TOPIC: creates or replaces a topic, then re-registers.
pub(super) fn create_topic(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: CreateTopicRequestHeader = request.decode_header()?;
    validate_topic_name(&h.topic).map_err(ProcessError::system)?;
    if is_system_topic(&h.topic) {
        return Err(ProcessError::system(format!(
            "The topic[{}] is conflict with system topic.",
            h.topic
        )));
    }
    for (name, n) in [
        ("readQueueNums", h.read_queue_nums),
        ("writeQueueNums", h.write_queue_nums),
    ] {
        if !(1..=MAX_QUEUES).contains(&n) {
            return Err(ProcessError::system(format!(
                "{name} {n} is not within 1-{MAX_QUEUES}"
            )));
        }
    }
    let config = TopicConfig {
        topic_name: h.topic.clone(),
        read_queue_nums: h.read_queue_nums,
        write_queue_nums: h.write_queue_nums,
        perm: h.perm & (PERM_PRIORITY | PERM_READ | PERM_WRITE | PERM_INHERIT),
        topic_filter_type: h.topic_filter_type,
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        order: h.order,
    };
    ctx.state.topics.upsert(config)?;
    ctx.state.topics_changed();
    tracing::info!(topic = %h.topic, read = h.read_queue_nums, write = h.write_queue_nums, perm = h.perm, "topic created or updated");
    Ok(success(request))
}

/// DELETE_TOPIC_IN_BROKER: forgets the topic and its consumer offsets, then re-registers.
/// Its stored messages stay until retention removes them.
pub(super) fn delete_topic(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: TopicRequestHeader = request.decode_header()?;
    validate_topic_name(&h.topic).map_err(ProcessError::system)?;
    if is_system_topic(&h.topic) {
        return Err(ProcessError::system(format!(
            "The topic[{}] is conflict with system topic.",
            h.topic
        )));
    }
    if ctx.state.topics.delete(&h.topic)? {
        ctx.state.offsets.remove_topic(&h.topic);
        ctx.state.topics_changed();
        tracing::info!(topic = %h.topic, "topic deleted");
    }
    Ok(success(request))
}

/// GET_ALL_TOPIC_CONFIG: the topic table with its data version.
pub(super) fn all_topic_config(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    json_response(request, &ctx.state.topics.snapshot())
}

/// GET_TOPIC_STATS_INFO: min and max offset and last store time of each queue.
pub(super) async fn topic_stats(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: TopicRequestHeader = request.decode_header()?;
    let state = &ctx.state;
    let Some(topic) = state.topics.get(&h.topic) else {
        return Err(ProcessError::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        ));
    };
    let broker = state.config.broker_name.clone();
    let queues = topic.write_queue_nums;
    let table = state
        .with_store(move |s| {
            let mut offset_table = BTreeMap::new();
            for q in 0..queues {
                let (min, max) = (s.min_offset(&h.topic, q), s.max_offset(&h.topic, q));
                let last = match max.checked_sub(1) {
                    Some(last) => s.store_timestamp_at(&h.topic, q, last)?.unwrap_or(0),
                    None => 0,
                };
                offset_table.insert(
                    MessageQueue::new(h.topic.clone(), broker.clone(), q),
                    TopicOffset {
                        min_offset: i64::try_from(min).unwrap_or(i64::MAX),
                        max_offset: i64::try_from(max).unwrap_or(i64::MAX),
                        last_update_timestamp: last,
                    },
                );
            }
            Ok::<_, crate::store::StoreError>(TopicStatsTable { offset_table })
        })
        .await??;
    json_response(request, &table)
}

/// GET_BROKER_RUNTIME_INFO: a few counters and sizes, as a `KVTable`.
pub(super) fn runtime_info(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let state = &ctx.state;
    let (groups, consumers, producer_groups, producers) = state.groups.counts();
    let uptime_ms = now_millis().saturating_sub(state.boot_millis);
    let table: HashMap<String, String> = [
        ("brokerVersion", CURRENT_VERSION.to_string()),
        ("brokerVersionDesc", "V4_9_8".to_owned()),
        ("brokerName", state.config.broker_name.clone()),
        ("brokerAddr", state.addr.to_string()),
        ("bootTimestamp", state.boot_millis.to_string()),
        ("runtime", format_uptime(uptime_ms)),
        (
            "msgPutTotalTodayNow",
            state.stats.put_messages.load(Ordering::Relaxed).to_string(),
        ),
        (
            "msgGetTotalTodayNow",
            state.stats.got_messages.load(Ordering::Relaxed).to_string(),
        ),
        (
            "pullHeldNow",
            state.stats.held_pulls.load(Ordering::Relaxed).to_string(),
        ),
        (
            "pullWatchedQueues",
            state.arrivals.watched_queues().to_string(),
        ),
        (
            "commitLogMinOffset",
            state.store.commit_log_min_offset().to_string(),
        ),
        (
            "commitLogMaxOffset",
            state.store.commit_log_max_offset().to_string(),
        ),
        (
            "flushDiskType",
            format!("{:?}", state.config.store.flush_disk_type),
        ),
        ("consumerGroups", groups.to_string()),
        ("consumerClients", consumers.to_string()),
        ("producerGroups", producer_groups.to_string()),
        ("producerClients", producers.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    json_response(request, &KvTable { table })
}

/// RocketMQ's `runtime` text: `[ d days, h hours, m minutes, s seconds ]`.
fn format_uptime(ms: i64) -> String {
    let s = ms / 1000;
    format!(
        "[ {} days, {} hours, {} minutes, {} seconds ]",
        s / 86_400,
        s % 86_400 / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// GET_CONSUMER_CONNECTION_LIST: the group's clients and subscriptions.
pub(super) fn consumer_connections(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: GetConsumerConnectionListRequestHeader = request.decode_header()?;
    match ctx.state.groups.connection_info(&h.consumer_group) {
        Some(info) => json_response(request, &info),
        None => Err(ProcessError::new(
            ResponseCode::CONSUMER_NOT_ONLINE,
            format!("the consumer group[{}] not online", h.consumer_group),
        )),
    }
}

/// GET_CONSUME_STATS: per queue the broker offset and the group's committed offset, for
/// one topic or every topic the group committed on or subscribes to.
pub(super) async fn consume_stats(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: GetConsumeStatsRequestHeader = request.decode_header()?;
    let state = &ctx.state;
    let topics: BTreeSet<String> = match h.topic.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => BTreeSet::from([t.to_owned()]),
        None => state
            .offsets
            .topics_of_group(&h.consumer_group)
            .into_iter()
            .chain(state.groups.subscribed_topics(&h.consumer_group))
            .collect(),
    };
    let mut queues = Vec::new();
    for topic in topics {
        let Some(config) = state.topics.get(&topic) else {
            continue;
        };
        let committed = state.offsets.queue_offsets(&h.consumer_group, &topic);
        for q in 0..config.read_queue_nums {
            let consumer_offset = committed.get(&q).copied().unwrap_or(0).max(0);
            queues.push((topic.clone(), q, consumer_offset));
        }
    }
    let broker = state.config.broker_name.clone();
    let offset_table = state
        .with_store(move |s| {
            let mut table = BTreeMap::new();
            for (topic, q, consumer_offset) in queues {
                let broker_offset = i64::try_from(s.max_offset(&topic, q)).unwrap_or(i64::MAX);
                // The store time of the last consumed message, as RocketMQ reports it.
                let last_timestamp = match u64::try_from(consumer_offset - 1) {
                    Ok(last) => s.store_timestamp_at(&topic, q, last)?.unwrap_or(0),
                    Err(_) => 0,
                };
                table.insert(
                    MessageQueue::new(topic, broker.clone(), q),
                    OffsetWrapper {
                        broker_offset,
                        consumer_offset,
                        last_timestamp,
                    },
                );
            }
            Ok::<_, crate::store::StoreError>(table)
        })
        .await??;
    json_response(
        request,
        &ConsumeStats {
            offset_table,
            consume_tps: 0.0,
        },
    )
}
