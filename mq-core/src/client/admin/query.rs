//! Message queries: by key and by unique key (the broker's index), by offset msgId (one read
//! at the offset the id encodes), reading a queue at an offset, and resending a message
//! (`resendDlq`).

use std::time::Duration;

use super::Admin;
use crate::client::core::expect_success;
use crate::client::error::{ClientError, ClientResult};
use crate::client::message::MessageExt;
use crate::client::pull_result::PullResult;
use crate::protocol::code::{RequestCode, ResponseCode};
use crate::protocol::header::pull::{PULL_FLAG_SUBSCRIPTION, PullMessageRequestHeader};
use crate::protocol::header::query::{
    QueryMessageRequestHeader, UNIQUE_KEY_QUERY, ViewMessageRequestHeader,
};
use crate::protocol::message::decode_messages;
use crate::protocol::msg_id::decode_offset_msg_id;
use crate::protocol::{MessageQueue, RemotingCommand};

/// Group name the admin reads queues as (it never commits offsets).
const ADMIN_GROUP: &str = "TOOLS_CONSUMER";

impl Admin {
    /// Messages of `topic` whose `KEYS` contain `key`, at most `max` per broker (`queryMsgByKey`).
    pub async fn query_msg_by_key(
        &self,
        topic: &str,
        key: &str,
        max: i32,
    ) -> ClientResult<Vec<MessageExt>> {
        self.query_index(topic, key, max, false).await
    }

    /// Messages of `topic` whose producer id (`UNIQ_KEY`) is `id` (`queryMsgByUniqueKey`).
    pub async fn query_msg_by_unique_key(
        &self,
        topic: &str,
        id: &str,
    ) -> ClientResult<Vec<MessageExt>> {
        let mut found = self.query_index(topic, id, 32, true).await?;
        found.retain(|m| m.msg_id == id);
        Ok(found)
    }

    async fn query_index(
        &self,
        topic: &str,
        key: &str,
        max: i32,
        unique: bool,
    ) -> ClientResult<Vec<MessageExt>> {
        let route = self.core.routes.refresh(topic).await?;
        let mut out = Vec::new();
        for (name, addr) in route.masters() {
            let header = QueryMessageRequestHeader {
                topic: topic.to_owned(),
                key: key.to_owned(),
                max_num: max.max(1),
                begin_timestamp: 0,
                end_timestamp: i64::MAX,
            };
            let request = RemotingCommand::request_with_header(RequestCode::QUERY_MESSAGE, &header)
                .with_ext(UNIQUE_KEY_QUERY, unique.to_string());
            let response = self
                .core
                .pool
                .invoke(&addr, request, self.core.config.request_timeout)
                .await?;
            if response.code == ResponseCode::QUERY_NOT_FOUND {
                continue;
            }
            let response = expect_success(response)?;
            for stored in decode_messages(&response.body)? {
                let msg = MessageExt::from_stored(stored, &name)?;
                // The index is a hash: confirm the key itself.
                if unique || msg.keys.iter().any(|k| k == key) {
                    out.push(msg);
                }
            }
        }
        out.sort_by_key(|m| (m.store_timestamp, m.commit_log_offset));
        Ok(out)
    }

    /// The message with this offset msgId (`queryMsgById`), read from the broker it names.
    pub async fn query_msg_by_id(&self, offset_msg_id: &str) -> ClientResult<MessageExt> {
        let (host, offset) = decode_offset_msg_id(offset_msg_id)
            .map_err(|e| ClientError::InvalidArgument(format!("msgId {offset_msg_id}: {e}")))?;
        let addr = host.to_string();
        let broker_name = self
            .core
            .routes
            .known_brokers()
            .into_iter()
            .find_map(|(name, a)| (a == addr).then_some(name));
        let broker_name = match broker_name {
            Some(name) => name,
            None => self
                .brokers()
                .await?
                .into_iter()
                .find(|b| b.addr == addr)
                .map(|b| b.broker_name)
                .unwrap_or_default(),
        };
        let request = RemotingCommand::request_with_header(
            RequestCode::VIEW_MESSAGE_BY_ID,
            &ViewMessageRequestHeader { offset },
        );
        let response = self.core.call(&addr, request).await?;
        let stored = decode_messages(&response.body)?
            .into_iter()
            .next()
            .ok_or_else(|| {
                ClientError::broker(
                    ResponseCode::QUERY_NOT_FOUND,
                    Some(format!("no message {offset_msg_id}")),
                )
            })?;
        MessageExt::from_stored(stored, &broker_name)
    }

    /// Reads up to `max` messages of `mq` from `offset` without committing anything (`consumeMessage`).
    pub async fn read_queue(
        &self,
        mq: &MessageQueue,
        offset: i64,
        max: i32,
    ) -> ClientResult<PullResult> {
        let header = PullMessageRequestHeader {
            consumer_group: ADMIN_GROUP.to_owned(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: max.max(1),
            sys_flag: PULL_FLAG_SUBSCRIPTION,
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some("*".into()),
            sub_version: 0,
            expression_type: Some("TAG".into()),
            bname: Some(mq.broker_name.clone()),
        };
        let addr = self.core.addr_of(mq).await?;
        self.core
            .pull(
                &addr,
                &mq.broker_name,
                header,
                self.core.config.request_timeout + Duration::from_secs(1),
            )
            .await
    }

    /// The next offset to be written in `mq`.
    pub async fn max_offset(&self, mq: &MessageQueue) -> ClientResult<i64> {
        let addr = self.core.addr_of(mq).await?;
        self.core.max_offset(&addr, mq).await
    }

    /// The smallest offset still stored in `mq`.
    pub async fn min_offset(&self, mq: &MessageQueue) -> ClientResult<i64> {
        let addr = self.core.addr_of(mq).await?;
        self.core.min_offset(&addr, mq).await
    }
}
