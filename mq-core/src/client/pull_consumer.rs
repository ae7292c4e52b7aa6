//! The pull consumer: the application picks the queue and offset and commits offsets itself.

use std::time::Duration;

use super::core::{ClientConfig, ClientCore, parse_namesrv_list};
use super::error::{ClientError, ClientResult};
use super::pull_result::{PullResult, PullStatus};
use super::validate::{check_group, check_topic};
use crate::protocol::MessageQueue;
use crate::protocol::header::pull::{
    PULL_FLAG_SUBSCRIPTION, PULL_FLAG_SUSPEND, PullMessageRequestHeader,
};
use crate::protocol::tag::Subscription;

/// Builds a [`PullConsumer`].
#[derive(Debug, Clone)]
#[must_use]
pub struct PullConsumerBuilder {
    group: String,
    config: ClientConfig,
}

impl PullConsumerBuilder {
    /// Name server addresses, `;`-separated (default `127.0.0.1:9876`).
    pub fn namesrv_addr(mut self, addrs: impl AsRef<str>) -> Self {
        self.config.namesrv_addrs = parse_namesrv_list(addrs.as_ref());
        self
    }

    /// Timeout of offset and route requests (default 3 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// Starts the consumer (nothing is fetched until asked).
    pub async fn start(self) -> ClientResult<PullConsumer> {
        check_group(&self.group)?;
        self.config.validate()?;
        Ok(PullConsumer {
            core: ClientCore::new(self.config, None),
            group: self.group,
        })
    }
}

/// Reads explicit queues at explicit offsets; see the module docs.
#[derive(Debug)]
pub struct PullConsumer {
    core: ClientCore,
    group: String,
}

impl PullConsumer {
    /// A builder for a pull consumer of `group`.
    pub fn builder(group: impl Into<String>) -> PullConsumerBuilder {
        PullConsumerBuilder {
            group: group.into(),
            config: ClientConfig::default(),
        }
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The readable queues of `topic`, sorted (fresh from the name server).
    pub async fn fetch_queues(&self, topic: &str) -> ClientResult<Vec<MessageQueue>> {
        check_topic(topic)?;
        Ok(self.core.routes.refresh(topic).await?.read_queues.clone())
    }

    /// Up to `max` messages of `mq` from `offset` matching `expression` (`*` or `a || b`);
    /// answers at once, [`PullStatus::NoNewMsg`] when there is nothing yet.
    pub async fn pull(
        &self,
        mq: &MessageQueue,
        expression: &str,
        offset: i64,
        max: i32,
    ) -> ClientResult<PullResult> {
        self.pull_inner(mq, expression, offset, max, None).await
    }

    /// Like [`Self::pull`], but the broker holds an empty pull up to `wait` for a message.
    pub async fn pull_wait(
        &self,
        mq: &MessageQueue,
        expression: &str,
        offset: i64,
        max: i32,
        wait: Duration,
    ) -> ClientResult<PullResult> {
        self.pull_inner(mq, expression, offset, max, Some(wait))
            .await
    }

    async fn pull_inner(
        &self,
        mq: &MessageQueue,
        expression: &str,
        offset: i64,
        max: i32,
        wait: Option<Duration>,
    ) -> ClientResult<PullResult> {
        let filter = Subscription::parse(expression);
        let mut sys_flag = PULL_FLAG_SUBSCRIPTION;
        if wait.is_some() {
            sys_flag |= PULL_FLAG_SUSPEND;
        }
        let suspend = wait.unwrap_or_default();
        let header = PullMessageRequestHeader {
            consumer_group: self.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: max.max(1),
            sys_flag,
            commit_offset: 0,
            suspend_timeout_millis: i64::try_from(suspend.as_millis()).unwrap_or(i64::MAX),
            subscription: Some(filter.expression()),
            sub_version: 0,
            expression_type: Some("TAG".into()),
            bname: Some(mq.broker_name.clone()),
        };
        let addr = self.core.addr_of(mq).await?;
        let timeout = self.core.config.request_timeout + suspend;
        let pulled = self
            .core
            .pull(&addr, &mq.broker_name, header, timeout)
            .await;
        if let Err(ClientError::Connect { .. } | ClientError::ConnectionClosed { .. }) = &pulled {
            // The broker may have moved: the next call should use a fresh route.
            let _stale = self.core.routes.refresh(&mq.topic).await;
        }
        let mut result = pulled?;
        if result.status == PullStatus::Found {
            // Tag hashes can collide on the broker: confirm the tag string here.
            result
                .messages
                .retain(|m| filter.matches_tag(m.tag.as_deref()));
        }
        Ok(result)
    }

    /// Commits the group's offset of `mq` (the next offset to consume).
    pub async fn commit_offset(&self, mq: &MessageQueue, offset: i64) -> ClientResult<()> {
        let addr = self.core.addr_of(mq).await?;
        self.core
            .update_consumer_offset(&addr, &self.group, mq, offset)
            .await
    }

    /// The group's committed offset of `mq`, or -1 when it has none (as Java answers).
    pub async fn fetch_committed_offset(&self, mq: &MessageQueue) -> ClientResult<i64> {
        let addr = self.core.addr_of(mq).await?;
        Ok(self
            .core
            .query_consumer_offset(&addr, &self.group, mq)
            .await?
            .unwrap_or(-1))
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

    /// The first offset of `mq` stored at or after `timestamp` (ms).
    pub async fn search_offset(&self, mq: &MessageQueue, timestamp: i64) -> ClientResult<i64> {
        let addr = self.core.addr_of(mq).await?;
        self.core.search_offset(&addr, mq, timestamp).await
    }

    /// Closes the connections.
    pub async fn shutdown(&self) {
        self.core.pool.close_all();
    }
}
