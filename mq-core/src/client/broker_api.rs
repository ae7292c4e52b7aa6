//! Typed broker requests shared by producers, consumers and the admin: offsets, pulls,
//! heartbeats, group membership, send-back and queue locks. Each takes the broker's address.

use std::collections::BTreeSet;
use std::time::Duration;

use super::core::{ClientCore, expect_success};
use super::error::{ClientError, ClientResult};
use super::pull_result::PullResult;
use crate::protocol::body::admin::ConsumerConnection;
use crate::protocol::body::consumer::{
    GetConsumerListByGroupResponseBody, LockBatchRequestBody, LockBatchResponseBody,
};
use crate::protocol::body::heartbeat::HeartbeatData;
use crate::protocol::code::{RequestCode, ResponseCode};
use crate::protocol::header::admin::GetConsumerConnectionListRequestHeader;
use crate::protocol::header::consumer::{
    ConsumerSendMsgBackRequestHeader, GetConsumerListByGroupRequestHeader,
    UnregisterClientRequestHeader,
};
use crate::protocol::header::offset::{
    OffsetResponseHeader, QueryConsumerOffsetRequestHeader, QueueRequestHeader,
    SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use crate::protocol::header::pull::PullMessageRequestHeader;
use crate::protocol::{JsonBody, MessageQueue, RemotingCommand};

impl ClientCore {
    /// The group's committed offset of `mq`; `None` when the broker has none (QUERY_NOT_FOUND).
    pub async fn query_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        mq: &MessageQueue,
    ) -> ClientResult<Option<i64>> {
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            bname: Some(mq.broker_name.clone()),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::QUERY_CONSUMER_OFFSET, &header);
        let response = self
            .pool
            .invoke(addr, request, self.config.request_timeout)
            .await?;
        if response.code == ResponseCode::QUERY_NOT_FOUND {
            return Ok(None);
        }
        let response = expect_success(response)?;
        Ok(Some(
            response.decode_header::<OffsetResponseHeader>()?.offset,
        ))
    }

    /// Commits the group's offset of `mq` (a request with a response, so the caller knows it landed).
    pub async fn update_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        mq: &MessageQueue,
        offset: i64,
    ) -> ClientResult<()> {
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            commit_offset: offset,
            bname: Some(mq.broker_name.clone()),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &header);
        self.call(addr, request).await.map(drop)
    }

    async fn queue_offset(&self, addr: &str, code: i32, mq: &MessageQueue) -> ClientResult<i64> {
        let header = QueueRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            bname: Some(mq.broker_name.clone()),
        };
        let response = self
            .call(addr, RemotingCommand::request_with_header(code, &header))
            .await?;
        Ok(response.decode_header::<OffsetResponseHeader>()?.offset)
    }

    /// The next offset to be written in `mq` (its message count).
    pub async fn max_offset(&self, addr: &str, mq: &MessageQueue) -> ClientResult<i64> {
        self.queue_offset(addr, RequestCode::GET_MAX_OFFSET, mq)
            .await
    }

    /// The smallest offset still stored in `mq`.
    pub async fn min_offset(&self, addr: &str, mq: &MessageQueue) -> ClientResult<i64> {
        self.queue_offset(addr, RequestCode::GET_MIN_OFFSET, mq)
            .await
    }

    /// The first offset of `mq` stored at or after `timestamp` (ms).
    pub async fn search_offset(
        &self,
        addr: &str,
        mq: &MessageQueue,
        timestamp: i64,
    ) -> ClientResult<i64> {
        let header = SearchOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            timestamp,
            bname: Some(mq.broker_name.clone()),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, &header);
        let response = self.call(addr, request).await?;
        Ok(response.decode_header::<OffsetResponseHeader>()?.offset)
    }

    /// Pulls from the broker at `addr`; `timeout` must exceed the header's suspend time.
    pub async fn pull(
        &self,
        addr: &str,
        broker_name: &str,
        header: PullMessageRequestHeader,
        timeout: Duration,
    ) -> ClientResult<PullResult> {
        let request = RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &header);
        let response = self.pool.invoke(addr, request, timeout).await?;
        PullResult::from_response(response, broker_name)
    }

    /// Sends the client's heartbeat (its producer and consumer groups) to one broker.
    pub async fn heartbeat(&self, addr: &str, data: &HeartbeatData) -> ClientResult<()> {
        let request = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(data.to_json()?);
        self.call(addr, request).await.map(drop)
    }

    /// Tells one broker this client left its groups.
    pub async fn unregister_client(
        &self,
        addr: &str,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) -> ClientResult<()> {
        let header = UnregisterClientRequestHeader {
            client_id: self.client_id.clone(),
            producer_group: producer_group.map(str::to_owned),
            consumer_group: consumer_group.map(str::to_owned),
        };
        let request = RemotingCommand::request_with_header(RequestCode::UNREGISTER_CLIENT, &header);
        self.call(addr, request).await.map(drop)
    }

    /// The client ids of the group's live consumers as the broker at `addr` knows them.
    pub async fn consumer_ids(&self, addr: &str, group: &str) -> ClientResult<Vec<String>> {
        let header = GetConsumerListByGroupRequestHeader {
            consumer_group: group.to_owned(),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::GET_CONSUMER_LIST_BY_GROUP, &header);
        let response = self.call(addr, request).await?;
        Ok(GetConsumerListByGroupResponseBody::from_json(&response.body)?.consumer_id_list)
    }

    /// Hands a consumed message back to the broker for a later retry (or the DLQ).
    pub async fn send_back(
        &self,
        addr: &str,
        header: ConsumerSendMsgBackRequestHeader,
    ) -> ClientResult<()> {
        let request =
            RemotingCommand::request_with_header(RequestCode::CONSUMER_SEND_MSG_BACK, &header);
        self.call(addr, request).await.map(drop)
    }

    /// Locks queues of `group` for this client on one broker; returns the ones now held.
    pub async fn lock_batch(
        &self,
        addr: &str,
        group: &str,
        mqs: BTreeSet<MessageQueue>,
    ) -> ClientResult<BTreeSet<MessageQueue>> {
        let body = LockBatchRequestBody {
            consumer_group: group.to_owned(),
            client_id: self.client_id.clone(),
            mq_set: mqs,
        };
        let request =
            RemotingCommand::request(RequestCode::LOCK_BATCH_MQ).with_body(body.to_json()?);
        let response = self.call(addr, request).await?;
        Ok(LockBatchResponseBody::from_json(&response.body)?.lock_ok_mq_set)
    }

    /// Releases queue locks of `group` held by this client on one broker.
    pub async fn unlock_batch(
        &self,
        addr: &str,
        group: &str,
        mqs: BTreeSet<MessageQueue>,
    ) -> ClientResult<()> {
        let body = LockBatchRequestBody {
            consumer_group: group.to_owned(),
            client_id: self.client_id.clone(),
            mq_set: mqs,
        };
        let request =
            RemotingCommand::request(RequestCode::UNLOCK_BATCH_MQ).with_body(body.to_json()?);
        self.call(addr, request).await.map(drop)
    }

    /// The group's connections and subscriptions as the broker at `addr` knows them.
    pub async fn consumer_connection(
        &self,
        addr: &str,
        group: &str,
    ) -> ClientResult<ConsumerConnection> {
        let header = GetConsumerConnectionListRequestHeader {
            consumer_group: group.to_owned(),
        };
        let request = RemotingCommand::request_with_header(
            RequestCode::GET_CONSUMER_CONNECTION_LIST,
            &header,
        );
        let response = self.call(addr, request).await?;
        Ok(ConsumerConnection::from_json(&response.body)?)
    }

    /// The broker address of `mq`, or [`ClientError::NoRoute`].
    pub async fn addr_of(&self, mq: &MessageQueue) -> ClientResult<String> {
        self.routes.addr_of(mq).await
    }
}

/// Whether `e` means the broker has no such consumer group or client.
pub(crate) fn is_not_found(e: &ClientError) -> bool {
    matches!(
        e.response_code(),
        Some(ResponseCode::QUERY_NOT_FOUND | ResponseCode::CONSUMER_NOT_ONLINE)
    )
}
