//! The JSON header form (serialize type 0), as fastjson writes and reads `RemotingCommand`.
//!
//! Written: `code`, `extFields` (always, possibly `{}`), `flag`, `language` (enum name),
//! `opaque`, `remark` (when set), `serializeTypeCurrentRPC` (`"JSON"`), `version` — keys in
//! fastjson's alphabetical order. Read leniently: every key is optional (Java's defaults
//! apply), unknown keys are ignored, `serializeTypeCurrentRPC` is ignored (the frame's type byte
//! decides), non-string extFields values are stringified and `null` ones dropped.

use bytes::{BufMut, Bytes, BytesMut};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::code::LanguageCode;
use super::error::{ProtocolError, Result};
use super::frame::{ExtFields, RemotingCommand, SerializeType};

/// Borrowed view of a command, in fastjson's key order.
#[derive(Serialize)]
struct JsonHeaderOut<'a> {
    code: i32,
    #[serde(rename = "extFields", serialize_with = "sorted_map")]
    ext_fields: &'a ExtFields,
    flag: i32,
    language: &'static str,
    opaque: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    remark: Option<&'a str>,
    #[serde(rename = "serializeTypeCurrentRPC")]
    serialize_type_current_rpc: &'static str,
    version: i32,
}

/// Writes a map with sorted keys, so frames are byte-for-byte reproducible.
fn sorted_map<S: Serializer>(map: &&ExtFields, serializer: S) -> Result<S::Ok, S::Error> {
    let mut entries: Vec<(&String, &String)> = map.iter().collect();
    entries.sort_unstable();
    let mut out = serializer.serialize_map(Some(entries.len()))?;
    for (k, v) in entries {
        out.serialize_entry(k, v)?;
    }
    out.end()
}

/// What a JSON header may contain; everything optional.
#[derive(Deserialize)]
struct JsonHeaderIn {
    #[serde(default)]
    code: Option<i32>,
    #[serde(default)]
    language: Option<serde_json::Value>,
    #[serde(default)]
    version: Option<i32>,
    #[serde(default)]
    opaque: Option<i32>,
    #[serde(default)]
    flag: Option<i32>,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default, rename = "extFields")]
    ext_fields: Option<std::collections::HashMap<String, serde_json::Value>>,
}

/// Appends `command`'s header as JSON to `dst`.
pub(crate) fn encode(command: &RemotingCommand, dst: &mut BytesMut) -> Result<()> {
    let header = JsonHeaderOut {
        code: command.code,
        ext_fields: &command.ext_fields,
        flag: command.flag,
        language: command.language.name(),
        opaque: command.opaque,
        remark: command.remark.as_deref(),
        serialize_type_current_rpc: SerializeType::Json.name(),
        version: command.version,
    };
    serde_json::to_writer(dst.writer(), &header).map_err(ProtocolError::JsonHeader)
}

/// Parses a JSON header into a command with an empty body.
pub(crate) fn decode(header: &[u8]) -> Result<RemotingCommand> {
    let parsed: JsonHeaderIn = serde_json::from_slice(header).map_err(ProtocolError::JsonHeader)?;
    let language = match parsed.language {
        None | Some(serde_json::Value::Null) => LanguageCode::Java,
        Some(serde_json::Value::String(name)) => {
            LanguageCode::from_name(&name).unwrap_or(LanguageCode::Other)
        }
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .and_then(|c| u8::try_from(c).ok())
            .and_then(LanguageCode::from_code)
            .unwrap_or(LanguageCode::Other),
        Some(_) => LanguageCode::Other,
    };
    let ext_fields = parsed
        .ext_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some((k, s)),
            other => Some((k, other.to_string())),
        })
        .collect();
    Ok(RemotingCommand {
        code: parsed.code.unwrap_or(0),
        language,
        version: parsed.version.unwrap_or(0),
        opaque: parsed.opaque.unwrap_or(0),
        flag: parsed.flag.unwrap_or(0),
        remark: parsed.remark,
        ext_fields,
        serialize_type: SerializeType::Json,
        body: Bytes::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_fastjson_key_order() {
        let cmd = RemotingCommand::request(105)
            .with_opaque(3)
            .with_ext("topic", "TopicTest")
            .with_serialize_type(SerializeType::Json);
        let mut buf = BytesMut::new();
        assert!(encode(&cmd, &mut buf).is_ok());
        assert_eq!(
            std::str::from_utf8(&buf).ok(),
            Some(
                r#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"RUST","opaque":3,"serializeTypeCurrentRPC":"JSON","version":409}"#
            )
        );
    }

    #[test]
    fn reads_go_client_header_and_lenient_values() {
        let raw = br#"{"code":34,"language":"GO","version":317,"opaque":7,"flag":0,"remark":"","extFields":{"a":1,"b":true,"c":null}}"#;
        let cmd = decode(raw).ok();
        let cmd = cmd.as_ref();
        assert_eq!(cmd.map(|c| c.language), Some(LanguageCode::Go));
        assert_eq!(cmd.and_then(|c| c.ext("a")), Some("1"));
        assert_eq!(cmd.and_then(|c| c.ext("b")), Some("true"));
        assert_eq!(cmd.and_then(|c| c.ext("c")), None);
    }

    #[test]
    fn missing_keys_take_java_defaults() {
        let cmd = decode(b"{}").ok();
        assert_eq!(cmd.as_ref().map(|c| c.language), Some(LanguageCode::Java));
        assert_eq!(
            cmd.as_ref().map(|c| (c.code, c.opaque, c.flag)),
            Some((0, 0, 0))
        );
    }
}
