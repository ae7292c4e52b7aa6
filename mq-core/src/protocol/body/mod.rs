//! JSON bodies: serde types for the RocketMQ classes carried as frame bodies, read
//! leniently (fastjson quirks, absent or `null` fields) and written so Java accepts them.
//!
//! Every body type implements [`JsonBody`]. Field names follow the Java bean properties
//! (camelCase); absent fields take Java's defaults. Files are split by family: routes,
//! broker registration, heartbeat, consumer coordination and admin; `subscription_conflict`
//! compares the subscriptions that heartbeats carry.

pub mod admin;
pub mod broker_register;
pub mod consumer;
pub(crate) mod fastjson;
pub mod heartbeat;
pub mod route;
pub mod subscription_conflict;

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use super::error::{ProtocolError, Result};

/// A RocketMQ class carried as a JSON frame body.
pub trait JsonBody: Sized {
    /// The Java class name, for error messages.
    const NAME: &'static str;
    /// The body bytes, in a form Java RocketMQ reads.
    fn to_json(&self) -> Result<Vec<u8>>;
    /// Reads a body written by Java (fastjson, possibly non-standard) or by mq-core.
    fn from_json(bytes: &[u8]) -> Result<Self>;
}

/// Reads `bytes` as `T`: standard JSON first, then through the fastjson pre-pass.
pub fn decode_lenient<T: DeserializeOwned>(name: &'static str, bytes: &[u8]) -> Result<T> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(strict) => {
            let normalized = fastjson::normalize(bytes)
                .map_err(|reason| ProtocolError::BodyShape { body: name, reason })?;
            serde_json::from_slice(&normalized).map_err(|_| ProtocolError::Body {
                body: name,
                source: strict,
            })
        }
    }
}

/// Writes `value` as standard JSON.
pub fn encode_standard<T: Serialize>(name: &'static str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|source| ProtocolError::Body { body: name, source })
}

/// Implements [`JsonBody`] with standard JSON out and lenient JSON in.
macro_rules! standard_json_body {
    ($($ty:ty => $name:literal),* $(,)?) => {$(
        impl $crate::protocol::body::JsonBody for $ty {
            const NAME: &'static str = $name;
            fn to_json(&self) -> $crate::protocol::error::Result<Vec<u8>> {
                $crate::protocol::body::encode_standard($name, self)
            }
            fn from_json(bytes: &[u8]) -> $crate::protocol::error::Result<Self> {
                $crate::protocol::body::decode_lenient($name, bytes)
            }
        }
    )*};
}
pub(crate) use standard_json_body;

/// Deserializes `null` as the type's default (fastjson readers tolerate it; so do we).
pub(crate) fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// One queue of a topic on a broker (`MessageQueue`). Field order is fastjson's (alphabetical),
/// which matters when the queue is written as a map key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueue {
    /// Broker name.
    #[serde(deserialize_with = "null_default")]
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
    /// Topic.
    #[serde(deserialize_with = "null_default")]
    pub topic: String,
}

impl MessageQueue {
    /// A queue of `topic` on `broker_name`.
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        Self {
            broker_name: broker_name.into(),
            queue_id,
            topic: topic.into(),
        }
    }
}

/// Serde for `MessageQueue`-keyed maps after the fastjson pre-pass: keys are strings holding
/// the queue's JSON. Serializing this way gives standard JSON; bodies that must reach Java
/// write fastjson's object keys with [`fastjson::write_object_key_map`] instead.
pub(crate) mod mq_map {
    use std::collections::{BTreeMap, HashMap};

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::MessageQueue;

    pub(crate) fn deserialize<'de, D, V>(
        deserializer: D,
    ) -> Result<BTreeMap<MessageQueue, V>, D::Error>
    where
        D: Deserializer<'de>,
        V: Deserialize<'de>,
    {
        let raw = Option::<HashMap<String, V>>::deserialize(deserializer)?.unwrap_or_default();
        raw.into_iter()
            .map(|(k, v)| {
                serde_json::from_str::<MessageQueue>(&k)
                    .map(|mq| (mq, v))
                    .map_err(|e| D::Error::custom(format!("bad MessageQueue key {k:?}: {e}")))
            })
            .collect()
    }

    pub(crate) fn serialize<S, V>(
        map: &BTreeMap<MessageQueue, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        V: Serialize,
    {
        use serde::ser::{Error as _, SerializeMap};
        let mut out = serializer.serialize_map(Some(map.len()))?;
        for (k, v) in map {
            let key = serde_json::to_string(k).map_err(S::Error::custom)?;
            out.serialize_entry(&key, v)?;
        }
        out.end()
    }
}

/// Writes `{"<field>":<fastjson MQ map>, <rest of the object's fields>}`: the shape of every
/// body whose only non-standard part is one `MessageQueue`-keyed map.
pub(crate) fn encode_with_mq_map<V: Serialize, R: Serialize>(
    name: &'static str,
    field: &str,
    map: &BTreeMap<MessageQueue, V>,
    rest: &R,
) -> Result<Vec<u8>> {
    let err = |source| ProtocolError::Body { body: name, source };
    let rest = serde_json::to_value(rest).map_err(err)?;
    let mut out = Vec::with_capacity(64 + map.len() * 96);
    out.push(b'{');
    if let serde_json::Value::Object(fields) = rest {
        for (k, v) in fields {
            serde_json::to_writer(&mut out, &k).map_err(err)?;
            out.push(b':');
            serde_json::to_writer(&mut out, &v).map_err(err)?;
            out.push(b',');
        }
    }
    serde_json::to_writer(&mut out, field).map_err(err)?;
    out.push(b':');
    fastjson::write_object_key_map(&mut out, map).map_err(err)?;
    out.push(b'}');
    Ok(out)
}
