//! Message look-ups: QUERY_MESSAGE by key (or by UNIQ_KEY, the client-side msgId) from the
//! store's index, and VIEW_MESSAGE_BY_ID by the CommitLog offset an offset msgId carries.

use bytes::BytesMut;

use super::{Ctx, ProcessError, Reply, success};
use crate::broker::state::now_millis;
use crate::protocol::header::query::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, UNIQUE_KEY_QUERY,
    ViewMessageRequestHeader,
};
use crate::protocol::{RemotingCommand, ResponseCode};

/// RocketMQ's `defaultQueryMaxNum`: used for UNIQ_KEY queries and when the client asks for none.
const DEFAULT_QUERY_MAX: usize = 32;
/// RocketMQ's `maxMsgsNumBatch`: the most one query returns.
const MAX_QUERY: usize = 64;
/// Frame bytes kept free for the prefix and header of a query answer.
const FRAME_HEADROOM: usize = 64 * 1024;

/// QUERY_MESSAGE: the newest messages of the topic with the key, within the time range.
pub(super) async fn query_message(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: QueryMessageRequestHeader = request.decode_header()?;
    let unique = request
        .ext(UNIQUE_KEY_QUERY)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let max = match usize::try_from(h.max_num) {
        Ok(n) if n > 0 && !unique => n.min(MAX_QUERY),
        _ => DEFAULT_QUERY_MAX,
    };
    let (begin, end) = (h.begin_timestamp, h.end_timestamp);
    let (records, indexed_to) = ctx
        .state
        .with_store(move |s| {
            s.query_by_key(&h.topic, &h.key, max, begin, end)
                .map(|r| (r, s.indexed_offset()))
        })
        .await??;
    if records.is_empty() {
        return Err(ProcessError::new(
            ResponseCode::QUERY_NOT_FOUND,
            "can not find message, maybe time range not correct",
        ));
    }
    // The answer must fit one frame; the newest records come first, so drop the oldest.
    let room = ctx
        .state
        .config
        .max_frame_size
        .saturating_sub(FRAME_HEADROOM);
    let mut body = BytesMut::new();
    for r in &records {
        if !body.is_empty() && body.len() + r.len() > room {
            break;
        }
        body.extend_from_slice(r);
    }
    let header = QueryMessageResponseHeader {
        index_last_update_timestamp: now_millis(),
        index_last_update_phyoffset: i64::try_from(indexed_to).unwrap_or(i64::MAX),
    };
    Ok(success(request)
        .with_header(&header)
        .with_body(body.freeze()))
}

/// VIEW_MESSAGE_BY_ID: the one record at the CommitLog offset.
pub(super) async fn view_message(ctx: &Ctx, request: &RemotingCommand) -> Reply {
    let h: ViewMessageRequestHeader = request.decode_header()?;
    let not_found =
        || ProcessError::system(format!("can not find message by the offset, {}", h.offset));
    let Ok(offset) = u64::try_from(h.offset) else {
        return Err(not_found());
    };
    let record = ctx
        .state
        .with_store(move |s| s.read_message(offset))
        .await?
        // A read past the log or of a removed segment is "not found", not a broker fault.
        .unwrap_or(None);
    match record {
        Some(bytes) => Ok(success(request).with_body(bytes)),
        None => Err(not_found()),
    }
}
