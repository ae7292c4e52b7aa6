//! Redis Streams through `redis`: XADD on a multiplexed connection shared by every concurrent
//! send (so sends pipeline), a consumer group reading with XREADGROUP and acknowledging each
//! batch with one XACK. Commands are sent raw, so the workspace's `redis` needs no extra
//! feature.

use std::sync::Arc;

use bytes::Bytes;
use redis::Value;
use redis::aio::MultiplexedConnection;

use super::peer::{Channel, Consumer, Peer, PeerError, PeerResult, Sink, err};

/// Entries per XREADGROUP.
const READ_COUNT: usize = 500;
const GROUP: &str = "mq-compare";

/// Redis, connected.
#[derive(Debug, Clone)]
pub struct RedisStreams {
    client: redis::Client,
    conn: MultiplexedConnection,
}

impl RedisStreams {
    /// Connects to `url` (e.g. `redis://127.0.0.1:6379`).
    pub async fn connect(url: &str) -> PeerResult<Self> {
        let client = redis::Client::open(url).map_err(|e| err("url", e))?;
        let conn = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|e| err("connect", e))?
        .map_err(|e| err("connect", e))?;
        Ok(Self { client, conn })
    }

    /// What the server keeps on disk, from its own configuration: `appendonly`,
    /// `appendfsync` and `save`.
    pub async fn persistence(&self) -> PeerResult<String> {
        let mut conn = self.conn.clone();
        let mut parts = Vec::new();
        for name in ["appendonly", "appendfsync", "save"] {
            let pair: Vec<String> = redis::cmd("CONFIG")
                .arg("GET")
                .arg(name)
                .query_async(&mut conn)
                .await
                .map_err(|e| err("CONFIG GET", e))?;
            let value = pair.get(1).cloned().unwrap_or_default();
            parts.push(format!(
                "{name}={}",
                if value.is_empty() { "\"\"" } else { &value }
            ));
        }
        Ok(parts.join(" "))
    }
}

impl Peer for RedisStreams {
    type Channel = Stream;

    async fn open(&self, name: &str) -> PeerResult<Stream> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("DEL")
            .arg(name)
            .query_async(&mut conn)
            .await
            .map_err(|e| err("DEL", e))?;
        Ok(Stream {
            client: self.client.clone(),
            conn: self.conn.clone(),
            key: name.to_owned(),
        })
    }
}

/// One stream key.
#[derive(Debug, Clone)]
pub struct Stream {
    client: redis::Client,
    conn: MultiplexedConnection,
    key: String,
}

impl Channel for Stream {
    async fn send(&self, body: Bytes) -> PeerResult<()> {
        let mut conn = self.conn.clone();
        let _id: Value = redis::cmd("XADD")
            .arg(&self.key)
            .arg("*")
            .arg("d")
            .arg(body.as_ref())
            .query_async(&mut conn)
            .await
            .map_err(|e| err("XADD", e))?;
        Ok(())
    }

    async fn consume(&self, sink: Arc<Sink>) -> PeerResult<Consumer> {
        // Its own connection: a blocking XREADGROUP would hold up the senders' pipeline.
        let mut conn = self
            .client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| err("connect", e))?;
        let _: Value = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.key)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await
            .map_err(|e| err("XGROUP CREATE", e))?;
        let key = self.key.clone();
        Ok(Consumer::spawn(move |mut stopped| async move {
            loop {
                if stopped.try_recv().is_ok() {
                    return Ok(());
                }
                let reply: Value = redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(GROUP)
                    .arg("c1")
                    .arg("COUNT")
                    .arg(READ_COUNT)
                    .arg("BLOCK")
                    .arg(100)
                    .arg("STREAMS")
                    .arg(&key)
                    .arg(">")
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| err("XREADGROUP", e))?;
                let entries = entries(reply)?;
                if entries.is_empty() {
                    continue;
                }
                let mut ack = redis::cmd("XACK");
                ack.arg(&key).arg(GROUP);
                for (id, body) in &entries {
                    sink.on_message(body);
                    ack.arg(id.as_slice());
                }
                let _: i64 = ack
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| err("XACK", e))?;
            }
        }))
    }

    async fn remove(self) -> PeerResult<()> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("DEL")
            .arg(&self.key)
            .query_async(&mut conn)
            .await
            .map_err(|e| err("DEL", e))?;
        Ok(())
    }
}

/// The (id, body) pairs of an XREADGROUP reply for one stream (nil when it timed out):
/// `[[key, [[id, [field, value, …]], …]]]`, or a map `{key: […]}` under RESP3.
pub fn entries(reply: Value) -> PeerResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let per_stream = match reply {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|s| match s {
                Value::Array(mut pair) if pair.len() == 2 => pair.pop(),
                _ => None,
            })
            .collect::<Vec<_>>(),
        Value::Map(streams) => streams.into_iter().map(|(_, v)| v).collect(),
        other => return Err(PeerError(format!("XREADGROUP: unexpected reply {other:?}"))),
    };
    let mut out = Vec::new();
    for list in per_stream {
        let Value::Array(items) = list else {
            continue;
        };
        for item in items {
            let Value::Array(mut parts) = item else {
                continue;
            };
            if parts.len() != 2 {
                continue;
            }
            let fields = parts.pop();
            let id = parts.pop();
            if let (Some(Value::BulkString(id)), Some(Value::Array(fields))) = (id, fields) {
                // Fields alternate name, value; the body is the value of the one field.
                if let Some(Value::BulkString(body)) = fields.into_iter().nth(1) {
                    out.push((id, body));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn xreadgroup_reply_yields_ids_and_bodies() -> PeerResult<()> {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("k"),
            Value::Array(vec![
                Value::Array(vec![bulk("1-0"), Value::Array(vec![bulk("d"), bulk("a")])]),
                Value::Array(vec![bulk("1-1"), Value::Array(vec![bulk("d"), bulk("b")])]),
            ]),
        ])]);
        let got = entries(reply)?;
        assert_eq!(
            got,
            vec![
                (b"1-0".to_vec(), b"a".to_vec()),
                (b"1-1".to_vec(), b"b".to_vec())
            ]
        );
        assert!(entries(Value::Nil)?.is_empty());
        Ok(())
    }
}
