//! fastjson's non-standard JSON: reading it leniently and writing `MessageQueue`-keyed maps.
//!
//! fastjson (which Java RocketMQ uses for bodies) writes maps whose keys are not strings
//! without quotes: `Map<Long, String>` becomes `{0:"10.0.0.1:10911"}`, and a map keyed by
//! `MessageQueue` uses the object itself as key:
//! `{{"brokerName":"b","queueId":0,"topic":"t"}:{...}}`. Neither is valid JSON.
//!
//! [`normalize`] rewrites such text into standard JSON: a bare key token becomes a quoted
//! string (`0` → `"0"`), an object key becomes a string holding that object's JSON text. serde
//! then reads integer keys from the quoted form, and [`MessageQueue`](super::MessageQueue)
//! keys are parsed from the string (see `super::mq_map`).
//!
//! Writing: standard JSON (quoted keys) is accepted by fastjson for `Map<Long, _>`, so only
//! `MessageQueue`-keyed maps need fastjson's form; [`write_object_key_map`] writes it.

use std::collections::BTreeMap;

use serde::Serialize;

/// Why a document could not be normalized.
pub(crate) type NormalizeError = &'static str;

#[derive(Clone, Copy, PartialEq)]
enum Container {
    Object,
    Array,
}

/// Rewrites fastjson's unquoted and object-valued map keys into standard JSON strings.
///
/// Standard JSON passes through unchanged. Only structure is checked here; values are left
/// for serde to validate.
pub(crate) fn normalize(input: &[u8]) -> Result<Vec<u8>, NormalizeError> {
    let mut out = Vec::with_capacity(input.len() + 16);
    let mut stack: Vec<Container> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b.is_ascii_whitespace() {
            out.push(b);
            i += 1;
            continue;
        }
        if expect_key && b != b'"' && b != b'}' {
            // A fastjson key: an object used as key, or a bare token such as a number.
            let end = if b == b'{' {
                matching_close(input, i)?
            } else {
                input[i..]
                    .iter()
                    .position(|&c| c == b':' || c.is_ascii_whitespace())
                    .map(|p| i + p)
                    .ok_or("map key without ':'")?
            };
            let raw = &input[i..end];
            let text = if b == b'{' {
                String::from_utf8(normalize(raw)?).map_err(|_| "key is not UTF-8")?
            } else {
                std::str::from_utf8(raw)
                    .map_err(|_| "key is not UTF-8")?
                    .to_owned()
            };
            serde_json::to_writer(&mut out, &text).map_err(|_| "cannot quote key")?;
            expect_key = false;
            i = end;
            continue;
        }
        match b {
            b'"' => {
                let end = string_end(input, i)?;
                out.extend_from_slice(&input[i..end]);
                expect_key = false;
                i = end;
                continue;
            }
            b'{' => {
                stack.push(Container::Object);
                expect_key = true;
            }
            b'[' => stack.push(Container::Array),
            b'}' => {
                if stack.pop() != Some(Container::Object) {
                    return Err("unbalanced '}'");
                }
                expect_key = false;
            }
            b']' if stack.pop() != Some(Container::Array) => return Err("unbalanced ']'"),
            b',' => expect_key = stack.last() == Some(&Container::Object),
            b':' => expect_key = false,
            _ => {}
        }
        out.push(b);
        i += 1;
    }
    if stack.is_empty() {
        Ok(out)
    } else {
        Err("unterminated object or array")
    }
}

/// Index just past the string starting at `start` (which holds `"`).
fn string_end(input: &[u8], start: usize) -> Result<usize, NormalizeError> {
    let mut i = start + 1;
    while let Some(&b) = input.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err("unterminated string")
}

/// Index just past the `}` closing the object that starts at `start`.
fn matching_close(input: &[u8], start: usize) -> Result<usize, NormalizeError> {
    let mut depth = 0usize;
    let mut i = start;
    while let Some(&b) = input.get(i) {
        match b {
            b'"' => {
                i = string_end(input, i)?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1).ok_or("unbalanced key object")?;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err("unterminated key object")
}

/// Writes `{<key JSON>:<value JSON>,...}` with object keys, as fastjson does for maps keyed by
/// beans. Keys are sorted so the output is reproducible.
pub(crate) fn write_object_key_map<K: Serialize + Ord, V: Serialize>(
    out: &mut Vec<u8>,
    map: &BTreeMap<K, V>,
) -> serde_json::Result<()> {
    out.push(b'{');
    for (n, (k, v)) in map.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, k)?;
        out.push(b':');
        serde_json::to_writer(&mut *out, v)?;
    }
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        String::from_utf8(normalize(s.as_bytes()).unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn quotes_bare_integer_keys() {
        assert_eq!(
            norm(r#"{"brokerAddrs":{0:"a:1",1:"b:2"},"x":[1,{-3:true}]}"#),
            r#"{"brokerAddrs":{"0":"a:1","1":"b:2"},"x":[1,{"-3":true}]}"#
        );
    }

    #[test]
    fn turns_object_keys_into_strings() {
        let got = norm(r#"{"t":{{"brokerName":"b","queueId":0,"topic":"t"}:{"minOffset":1}}}"#);
        assert_eq!(
            got,
            r#"{"t":{"{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"t\"}":{"minOffset":1}}}"#
        );
        assert!(serde_json::from_str::<serde_json::Value>(&got).is_ok());
    }

    #[test]
    fn leaves_standard_json_and_string_contents_alone() {
        let s = r#"{"a":"{0:1}","b":[{}, {"c":"\"}"}], "d" : 1}"#;
        assert_eq!(norm(s), s);
    }

    #[test]
    fn rejects_broken_structure() {
        for bad in [
            r#"{"a":1"#,
            r#"{"a":[1}"#,
            r#"{0"#,
            r#"{{"a":1}"#,
            r#""abc"#,
        ] {
            assert!(normalize(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
