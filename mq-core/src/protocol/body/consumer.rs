//! Consumer-coordination bodies: consumer lists, and queue lock/unlock for orderly consumption.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{MessageQueue, null_default, standard_json_body};

/// GET_CONSUMER_LIST_BY_GROUP response (`GetConsumerListByGroupResponseBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GetConsumerListByGroupResponseBody {
    /// Client ids of the group's live consumers.
    #[serde(deserialize_with = "null_default")]
    pub consumer_id_list: Vec<String>,
}

/// LOCK_BATCH_MQ and UNLOCK_BATCH_MQ request (`LockBatchRequestBody`, `UnlockBatchRequestBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchRequestBody {
    /// Consumer group.
    #[serde(deserialize_with = "null_default")]
    pub consumer_group: String,
    /// Client asking for the locks.
    #[serde(deserialize_with = "null_default")]
    pub client_id: String,
    /// Queues to lock or unlock.
    #[serde(deserialize_with = "null_default")]
    pub mq_set: BTreeSet<MessageQueue>,
}

/// UNLOCK_BATCH_MQ request: the same fields as the lock request.
pub type UnlockBatchRequestBody = LockBatchRequestBody;

/// LOCK_BATCH_MQ response (`LockBatchResponseBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LockBatchResponseBody {
    /// Queues now locked by the client.
    #[serde(rename = "lockOKMQSet", deserialize_with = "null_default")]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

standard_json_body!(
    GetConsumerListByGroupResponseBody => "GetConsumerListByGroupResponseBody",
    LockBatchRequestBody => "LockBatchRequestBody",
    LockBatchResponseBody => "LockBatchResponseBody",
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::body::JsonBody;

    #[test]
    fn lock_bodies_use_java_names() {
        let req = LockBatchRequestBody {
            consumer_group: "g".into(),
            client_id: "c".into(),
            mq_set: BTreeSet::from([MessageQueue::new("t", "b", 1)]),
        };
        let json = String::from_utf8(req.to_json().unwrap_or_default()).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"consumerGroup":"g","clientId":"c","mqSet":[{"brokerName":"b","queueId":1,"topic":"t"}]}"#
        );
        assert_eq!(
            LockBatchRequestBody::from_json(json.as_bytes()).ok(),
            Some(req)
        );
        let resp = LockBatchResponseBody::from_json(br#"{"lockOKMQSet":[]}"#).ok();
        assert_eq!(resp, Some(LockBatchResponseBody::default()));
    }
}
