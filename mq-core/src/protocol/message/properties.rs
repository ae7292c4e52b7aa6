//! The properties string of a record: `name \u{1} value \u{2} ...`, its separators, the property names, parse and encode.

use std::collections::BTreeMap;

/// Separator between a property's name and value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Separator between two properties.
pub const PROPERTY_SEPARATOR: char = '\u{2}';
/// Property: the message's keys, separated by [`KEY_SEPARATOR`].
pub const PROPERTY_KEYS: &str = "KEYS";
/// Property: the message's tag.
pub const PROPERTY_TAGS: &str = "TAGS";
/// Property: the producer-made unique id (the client's "msgId").
pub const PROPERTY_UNIQ_KEY: &str = "UNIQ_KEY";
/// Property: the delay level (1-based).
pub const PROPERTY_DELAY_TIME_LEVEL: &str = "DELAY";
/// Property: whether the producer waits for the store (absent = true).
pub const PROPERTY_WAIT_STORE_MSG_OK: &str = "WAIT";
/// Property: the original topic of a delayed or transactional message.
pub const PROPERTY_REAL_TOPIC: &str = "REAL_TOPIC";
/// Property: the original queue id of a delayed or transactional message.
pub const PROPERTY_REAL_QUEUE_ID: &str = "REAL_QID";
/// Property: the original topic of a retried message.
pub const PROPERTY_RETRY_TOPIC: &str = "RETRY_TOPIC";
/// Separator of the keys inside [`PROPERTY_KEYS`].
pub const KEY_SEPARATOR: char = ' ';

/// A message's properties, name to value (sorted, so encoding is deterministic).
pub type Properties = BTreeMap<String, String>;

/// Iterates `(name, value)` of a properties string, skipping malformed and empty entries as Java does.
pub fn properties_iter(properties: &str) -> impl Iterator<Item = (&str, &str)> {
    properties.split(PROPERTY_SEPARATOR).filter_map(|item| {
        let (name, value) = item.split_once(NAME_VALUE_SEPARATOR)?;
        (!name.is_empty() && !value.is_empty()).then_some((name, value))
    })
}

/// The value of one property in a properties string, without building a map.
pub fn property<'a>(properties: &'a str, name: &str) -> Option<&'a str> {
    properties_iter(properties).find_map(|(n, v)| (n == name).then_some(v))
}

/// Parses a properties string into a map (later duplicates win, as in Java's HashMap).
pub fn parse_properties(properties: &str) -> Properties {
    properties_iter(properties)
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

/// Encodes properties as `name \u{1} value \u{2} ...` without a trailing separator.
pub fn properties_to_string(properties: &Properties) -> String {
    encode_properties(properties.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Encodes (name, value) pairs, in the order given, into one string sized up front.
pub fn encode_properties<'a, I>(pairs: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
    I::IntoIter: Clone,
{
    let pairs = pairs.into_iter();
    let len = pairs.clone().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = String::with_capacity(len);
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push(PROPERTY_SEPARATOR);
        }
        out.push_str(name);
        out.push(NAME_VALUE_SEPARATOR);
        out.push_str(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_codec_follows_java_rules() {
        let raw = "KEYS\u{1}a b\u{2}x\u{2}\u{1}v\u{2}E\u{1}\u{2}TAGS\u{1}T";
        let map = parse_properties(raw);
        assert_eq!(map.len(), 2);
        assert_eq!(property(raw, PROPERTY_TAGS), Some("T"));
        assert_eq!(properties_to_string(&map), "KEYS\u{1}a b\u{2}TAGS\u{1}T");
    }
}
