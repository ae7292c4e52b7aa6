//! Request handling: routes a request code to its handler and turns handler errors into
//! RocketMQ error responses (never a panic, never a dropped request).
//!
//! | file | codes |
//! |---|---|
//! | `send.rs` | SEND_MESSAGE, SEND_MESSAGE_V2, SEND_BATCH_MESSAGE |
//! | `pull.rs` | PULL_MESSAGE (with long polling) |
//! | `offset.rs` | QUERY/UPDATE_CONSUMER_OFFSET, GET_MAX/MIN_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP, GET_EARLIEST_MSG_STORETIME, INVOKE_BROKER_TO_RESET_OFFSET |
//! | `client.rs` | HEART_BEAT, UNREGISTER_CLIENT, GET_CONSUMER_LIST_BY_GROUP, LOCK_BATCH_MQ, UNLOCK_BATCH_MQ |
//! | `admin.rs` | UPDATE_AND_CREATE_TOPIC, DELETE_TOPIC_IN_BROKER, GET_ALL_TOPIC_CONFIG, GET_TOPIC_STATS_INFO, GET_BROKER_RUNTIME_INFO, GET_CONSUMER_CONNECTION_LIST, GET_CONSUME_STATS |
//! | `query.rs` | QUERY_MESSAGE, VIEW_MESSAGE_BY_ID |
//! | `../retry.rs` | CONSUMER_SEND_MSG_BACK |

mod admin;
mod client;
mod offset;
mod pull;
mod query;
mod send;

pub(crate) use send::send_group;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::connection::ClientChannel;
use super::retry;
use super::state::BrokerState;
use crate::protocol::body::JsonBody;
use crate::protocol::{ProtocolError, RemotingCommand, RequestCode, ResponseCode};
use crate::store::StoreError;

/// What a handler sees of the request's context.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// Broker-wide state.
    pub state: Arc<BrokerState>,
    /// The connection the request came on.
    pub channel: ClientChannel,
    /// Fires when the connection ends or the broker shuts down (releases held pulls).
    pub release: CancellationToken,
}

/// A request that cannot be served: the response code and remark to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcessError {
    /// RocketMQ response code.
    pub code: i32,
    /// Human-readable reason.
    pub remark: String,
}

impl ProcessError {
    pub(crate) fn new(code: i32, remark: impl Into<String>) -> Self {
        Self {
            code,
            remark: remark.into(),
        }
    }

    /// SYSTEM_ERROR, RocketMQ's answer to anything a handler cannot do.
    pub(crate) fn system(remark: impl Into<String>) -> Self {
        Self::new(ResponseCode::SYSTEM_ERROR, remark)
    }

    fn into_response(self, request: &RemotingCommand) -> RemotingCommand {
        RemotingCommand::response_to(request, self.code).with_remark(self.remark)
    }
}

/// A bad header or body: Java answers SYSTEM_ERROR with the decoder's message.
impl From<ProtocolError> for ProcessError {
    fn from(e: ProtocolError) -> Self {
        Self::system(e.to_string())
    }
}

/// Store failures by RocketMQ's codes: the message's fault (13), the store's state (14).
impl From<StoreError> for ProcessError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::MessageTooLarge { .. }
            | StoreError::BatchTooLarge { .. }
            | StoreError::EmptyBatch
            | StoreError::LargerThanSegment { .. }
            | StoreError::InvalidMessage(_)
            | StoreError::Codec(_) => ResponseCode::MESSAGE_ILLEGAL,
            StoreError::DiskFull { .. } | StoreError::Closed | StoreError::FlushFailed(_) => {
                ResponseCode::SERVICE_NOT_AVAILABLE
            }
            _ => ResponseCode::SYSTEM_ERROR,
        };
        Self::new(code, e.to_string())
    }
}

impl From<crate::Error> for ProcessError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Store(e) => e.into(),
            crate::Error::Protocol(e) => e.into(),
            other => Self::system(other.to_string()),
        }
    }
}

/// A handler's outcome.
pub(crate) type Reply = Result<RemotingCommand, ProcessError>;

/// Answers one request; `None` for a oneway request (no response may be sent).
pub(crate) async fn process(ctx: &Ctx, request: RemotingCommand) -> Option<RemotingCommand> {
    let result = match request.code {
        RequestCode::SEND_MESSAGE
        | RequestCode::SEND_MESSAGE_V2
        | RequestCode::SEND_BATCH_MESSAGE => send::send(ctx, &request).await,
        RequestCode::PULL_MESSAGE => pull::pull(ctx, &request).await,
        RequestCode::QUERY_CONSUMER_OFFSET => offset::query_consumer_offset(ctx, &request),
        RequestCode::UPDATE_CONSUMER_OFFSET => offset::update_consumer_offset(ctx, &request),
        RequestCode::GET_MAX_OFFSET => offset::max_offset(ctx, &request),
        RequestCode::GET_MIN_OFFSET => offset::min_offset(ctx, &request),
        RequestCode::SEARCH_OFFSET_BY_TIMESTAMP => offset::search_by_timestamp(ctx, &request).await,
        RequestCode::GET_EARLIEST_MSG_STORETIME => offset::earliest_store_time(ctx, &request).await,
        RequestCode::INVOKE_BROKER_TO_RESET_OFFSET => offset::reset_offset(ctx, &request).await,
        RequestCode::HEART_BEAT => client::heartbeat(ctx, &request),
        RequestCode::UNREGISTER_CLIENT => client::unregister(ctx, &request),
        RequestCode::GET_CONSUMER_LIST_BY_GROUP => client::consumer_list(ctx, &request),
        RequestCode::LOCK_BATCH_MQ => client::lock_batch(ctx, &request),
        RequestCode::UNLOCK_BATCH_MQ => client::unlock_batch(ctx, &request),
        RequestCode::CONSUMER_SEND_MSG_BACK => retry::send_back(ctx, &request).await,
        RequestCode::UPDATE_AND_CREATE_TOPIC => admin::create_topic(ctx, &request),
        RequestCode::DELETE_TOPIC_IN_BROKER => admin::delete_topic(ctx, &request),
        RequestCode::GET_ALL_TOPIC_CONFIG => admin::all_topic_config(ctx, &request),
        RequestCode::GET_TOPIC_STATS_INFO => admin::topic_stats(ctx, &request).await,
        RequestCode::GET_BROKER_RUNTIME_INFO => admin::runtime_info(ctx, &request),
        RequestCode::GET_CONSUMER_CONNECTION_LIST => admin::consumer_connections(ctx, &request),
        RequestCode::GET_CONSUME_STATS => admin::consume_stats(ctx, &request).await,
        RequestCode::QUERY_MESSAGE => query::query_message(ctx, &request).await,
        RequestCode::VIEW_MESSAGE_BY_ID => query::view_message(ctx, &request).await,
        code => Err(ProcessError::new(
            ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
            format!(" request type {code} not supported"),
        )),
    };
    respond(ctx, &request, result)
}

/// Whether `code` is one of the send codes, which a connection appends as a group.
pub(crate) fn is_send(code: i32) -> bool {
    matches!(
        code,
        RequestCode::SEND_MESSAGE | RequestCode::SEND_MESSAGE_V2 | RequestCode::SEND_BATCH_MESSAGE
    )
}

/// The response to `request` from its handler's outcome (errors logged and turned into
/// RocketMQ error responses); `None` for a oneway request.
pub(crate) fn respond(
    ctx: &Ctx,
    request: &RemotingCommand,
    result: Reply,
) -> Option<RemotingCommand> {
    let response = match result {
        Ok(response) => response,
        Err(e) => {
            if e.code == ResponseCode::SYSTEM_ERROR {
                tracing::warn!(peer = %ctx.channel.addr(), code = request.code, remark = %e.remark, "request failed");
            } else {
                tracing::debug!(peer = %ctx.channel.addr(), code = request.code, response = e.code, remark = %e.remark, "request refused");
            }
            e.into_response(request)
        }
    };
    (!request.is_oneway()).then_some(response)
}

/// A SUCCESS response to `request`.
pub(crate) fn success(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SUCCESS)
}

/// A SUCCESS response carrying `body` as JSON.
pub(crate) fn json_response(request: &RemotingCommand, body: &impl JsonBody) -> Reply {
    Ok(success(request).with_body(body.to_json()?))
}
