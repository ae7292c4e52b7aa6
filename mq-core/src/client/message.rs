//! Messages as the application sees them: [`Message`] to send, [`MessageExt`] as consumed.

use std::collections::BTreeMap;
use std::io::Read;

use bytes::Bytes;

use super::error::ClientResult;
use crate::protocol::message::{
    FLAG_COMPRESSED, KEY_SEPARATOR, PROPERTY_DELAY_TIME_LEVEL, PROPERTY_KEYS, PROPERTY_TAGS,
    PROPERTY_UNIQ_KEY, StoredMessage, encode_properties, parse_properties,
};
use crate::protocol::msg_id::encode_offset_msg_id;

/// sysFlag bits 8-10: the compression type of a compressed body (0 and 0x300 = zlib).
const COMPRESSION_TYPE_MASK: i32 = 0x700;
const COMPRESSION_ZLIB: i32 = 0x300;

/// A message to send: topic, body, and the optional tag, keys, properties and delay level.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Destination topic.
    pub topic: String,
    /// Payload.
    pub body: Bytes,
    /// The one tag consumers can filter on (`TAGS`).
    pub tag: Option<String>,
    /// Business keys, indexed by the broker for query by key (`KEYS`).
    pub keys: Vec<String>,
    /// User properties (names must not collide with RocketMQ's system properties).
    pub properties: BTreeMap<String, String>,
    /// Delay level 1..=18 (`1s 5s 10s 30s 1m ...`); 0 = deliver now.
    pub delay_level: i32,
    /// User flag, stored and returned untouched.
    pub flag: i32,
}

impl Message {
    /// A message of `topic` with `body`.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self {
            topic: topic.into(),
            body: body.into(),
            ..Self::default()
        }
    }

    /// Sets the tag.
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Adds one key.
    #[must_use]
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.keys.push(key.into());
        self
    }

    /// Adds several keys.
    #[must_use]
    pub fn with_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.keys.extend(keys.into_iter().map(Into::into));
        self
    }

    /// Sets a user property.
    #[must_use]
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// Sets the delay level (1-based; 0 = none).
    #[must_use]
    pub fn with_delay_level(mut self, level: i32) -> Self {
        self.delay_level = level;
        self
    }

    /// Sets the user flag.
    #[must_use]
    pub fn with_flag(mut self, flag: i32) -> Self {
        self.flag = flag;
        self
    }

    /// The properties string as sent (`name\u{1}value\u{2}…`, names in order): the user
    /// properties plus `TAGS`, `KEYS`, `DELAY` and the given `UNIQ_KEY`, which win over user
    /// properties of the same name. Encoded from borrowed pairs, without a copy of the map:
    /// the gate sends every order through here, and a copied map per message showed in its
    /// profile.
    pub(crate) fn wire_properties(&self, uniq_key: &str) -> String {
        let keys = self
            .keys
            .iter()
            .map(String::as_str)
            .filter(|k| !k.is_empty());
        let joined_keys = keys.collect::<Vec<_>>().join(&KEY_SEPARATOR.to_string());
        let delay = (self.delay_level > 0).then(|| self.delay_level.to_string());
        // The system properties this message carries; merged and sorted with the user's below.
        let system: [(&str, Option<&str>); 4] = [
            (PROPERTY_DELAY_TIME_LEVEL, delay.as_deref()),
            (
                PROPERTY_KEYS,
                Some(joined_keys.as_str()).filter(|k| !k.is_empty()),
            ),
            (PROPERTY_TAGS, self.tag.as_deref().filter(|t| !t.is_empty())),
            (PROPERTY_UNIQ_KEY, Some(uniq_key)),
        ];
        let system: Vec<(&str, &str)> = system
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name, v)))
            .collect();
        let user = self
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .filter(|(k, _)| !system.iter().any(|(name, _)| name == k));
        let mut merged: Vec<(&str, &str)> = user.chain(system.iter().copied()).collect();
        merged.sort_unstable_by(|a, b| a.0.cmp(b.0));
        encode_properties(merged)
    }
}

/// A consumed message: what was sent plus where and when the broker stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    /// Topic (for a retried message, its original topic).
    pub topic: String,
    /// Queue id within the broker.
    pub queue_id: i32,
    /// Offset in the queue.
    pub queue_offset: i64,
    /// Offset in the broker's CommitLog.
    pub commit_log_offset: i64,
    /// The producer's unique id (`UNIQ_KEY`) if present, else [`Self::offset_msg_id`].
    pub msg_id: String,
    /// The broker's id: store host and CommitLog offset, 32 hex digits.
    pub offset_msg_id: String,
    /// Tag.
    pub tag: Option<String>,
    /// Keys.
    pub keys: Vec<String>,
    /// All properties, system ones included.
    pub properties: BTreeMap<String, String>,
    /// Payload (decompressed).
    pub body: Bytes,
    /// Producer clock when sent, ms.
    pub born_timestamp: i64,
    /// Broker clock when stored, ms.
    pub store_timestamp: i64,
    /// How many times it was consumed and sent back for retry (0 on first delivery).
    pub reconsume_times: i32,
    /// Name of the broker it came from.
    pub broker_name: String,
    /// The user flag.
    pub flag: i32,
}

impl MessageExt {
    /// One property's value.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }

    /// Builds the application view of a stored record from `broker_name`.
    pub(crate) fn from_stored(stored: StoredMessage, broker_name: &str) -> ClientResult<Self> {
        let properties = parse_properties(&stored.properties);
        let offset_msg_id = encode_offset_msg_id(stored.store_host, stored.commit_log_offset);
        let msg_id = properties
            .get(PROPERTY_UNIQ_KEY)
            .cloned()
            .unwrap_or_else(|| offset_msg_id.clone());
        let tag = properties.get(PROPERTY_TAGS).cloned();
        let keys = properties
            .get(PROPERTY_KEYS)
            .map(|k| {
                k.split(KEY_SEPARATOR)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let body = if stored.sys_flag & FLAG_COMPRESSED != 0 {
            decompress(stored.sys_flag, stored.body)?
        } else {
            stored.body
        };
        Ok(Self {
            topic: stored.topic,
            queue_id: stored.queue_id,
            queue_offset: stored.queue_offset,
            commit_log_offset: stored.commit_log_offset,
            msg_id,
            offset_msg_id,
            tag,
            keys,
            properties,
            body,
            born_timestamp: stored.born_timestamp,
            store_timestamp: stored.store_timestamp,
            reconsume_times: stored.reconsume_times,
            broker_name: broker_name.to_owned(),
            flag: stored.flag,
        })
    }
}

/// Inflates a body a Java producer compressed (zlib, its default); other codecs are kept as is.
fn decompress(sys_flag: i32, body: Bytes) -> ClientResult<Bytes> {
    let kind = sys_flag & COMPRESSION_TYPE_MASK;
    if kind != 0 && kind != COMPRESSION_ZLIB {
        tracing::warn!(
            compression = kind,
            "body compressed with an unsupported codec; delivered as stored"
        );
        return Ok(body);
    }
    let mut out = Vec::with_capacity(body.len() * 4);
    flate2::read::ZlibDecoder::new(&body[..]).read_to_end(&mut out)?;
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::{NAME_VALUE_SEPARATOR, properties_to_string};

    #[test]
    fn wire_properties_are_the_sorted_map_system_names_winning() {
        let msg = Message::new("T", "b")
            .with_tag("TagA")
            .with_keys(["k1", "", "k2"])
            .with_delay_level(3)
            .with_property("zeta", "z")
            .with_property("TAGS", "user tag loses")
            .with_property("alpha", "a");
        let mut expected: BTreeMap<String, String> = msg.properties.clone();
        for (k, v) in [
            (PROPERTY_TAGS, "TagA".to_owned()),
            (PROPERTY_KEYS, format!("k1{KEY_SEPARATOR}k2")),
            (PROPERTY_DELAY_TIME_LEVEL, "3".to_owned()),
            (PROPERTY_UNIQ_KEY, "ID".to_owned()),
        ] {
            expected.insert(k.to_owned(), v);
        }
        assert_eq!(msg.wire_properties("ID"), properties_to_string(&expected));
        let plain = Message::new("T", "b");
        assert_eq!(
            plain.wire_properties("ID"),
            format!("{PROPERTY_UNIQ_KEY}{NAME_VALUE_SEPARATOR}ID")
        );
    }
}
