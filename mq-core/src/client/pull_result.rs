//! The answer to a pull: [`PullResult`] and [`PullStatus`], decoded from a PULL_MESSAGE response.

use super::error::{ClientError, ClientResult};
use super::message::MessageExt;
use crate::protocol::RemotingCommand;
use crate::protocol::code::ResponseCode;
use crate::protocol::header::pull::PullMessageResponseHeader;
use crate::protocol::message::decode_messages;

/// What a pull found (the Java client's mapping of response codes 0 / 19 / 20 / 21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PullStatus {
    /// Messages were returned.
    Found,
    /// Nothing new at that offset (yet).
    NoNewMsg,
    /// Messages exist but none matched the subscription.
    NoMatchedMsg,
    /// The offset is outside the queue; restart from `next_begin_offset`.
    OffsetIllegal,
}

/// The messages of one pull and where to continue.
#[derive(Debug, Clone)]
pub struct PullResult {
    /// What was found.
    pub status: PullStatus,
    /// The offset to pull next.
    pub next_begin_offset: i64,
    /// The queue's smallest stored offset.
    pub min_offset: i64,
    /// The queue's next offset to be written.
    pub max_offset: i64,
    /// The messages (empty unless `Found`), not yet filtered by tag on the client.
    pub messages: Vec<MessageExt>,
}

impl PullResult {
    /// Decodes a PULL_MESSAGE response from `broker_name`.
    pub(crate) fn from_response(
        response: RemotingCommand,
        broker_name: &str,
    ) -> ClientResult<Self> {
        let status = match response.code {
            ResponseCode::SUCCESS => PullStatus::Found,
            ResponseCode::PULL_NOT_FOUND => PullStatus::NoNewMsg,
            ResponseCode::PULL_RETRY_IMMEDIATELY => PullStatus::NoMatchedMsg,
            ResponseCode::PULL_OFFSET_MOVED => PullStatus::OffsetIllegal,
            code => return Err(ClientError::broker(code, response.remark)),
        };
        let header = response.decode_header::<PullMessageResponseHeader>()?;
        let messages = if status == PullStatus::Found {
            decode_messages(&response.body)?
                .into_iter()
                .map(|m| MessageExt::from_stored(m, broker_name))
                .collect::<ClientResult<Vec<_>>>()?
        } else {
            Vec::new()
        };
        Ok(Self {
            status,
            next_begin_offset: header.next_begin_offset,
            min_offset: header.min_offset,
            max_offset: header.max_offset,
            messages,
        })
    }
}
