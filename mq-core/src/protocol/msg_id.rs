//! The offset msgId: broker address and CommitLog offset, as RocketMQ prints it (32 hex digits).
//!
//! Layout (`MessageDecoder.createMessageId`): store host IP (4 or 16 bytes) ‖ port (i32) ‖
//! CommitLog offset (i64), all big-endian, printed as uppercase hex. 32 characters mean IPv4,
//! anything else is read as IPv6 (56 characters), as `decodeMessageId` does. Because the id
//! carries the offset, the broker resolves it with one read and no index.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a string is not an offset msgId.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MsgIdError {
    /// The length is neither 32 (IPv4) nor 56 (IPv6) hex digits.
    #[error("msgId has {0} characters, expected 32 (IPv4) or 56 (IPv6)")]
    BadLength(usize),
    /// A character is not a hex digit.
    #[error("msgId contains a non-hex character")]
    NotHex,
    /// The port field is outside 0..=65535.
    #[error("msgId port {0} is out of range")]
    BadPort(i32),
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Encodes the offset msgId of the record at `commit_log_offset` stored by `store_host`.
pub fn encode_offset_msg_id(store_host: SocketAddr, commit_log_offset: i64) -> String {
    let mut raw = Vec::with_capacity(28);
    match store_host.ip() {
        IpAddr::V4(ip) => raw.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => raw.extend_from_slice(&ip.octets()),
    }
    raw.extend_from_slice(&i32::from(store_host.port()).to_be_bytes());
    raw.extend_from_slice(&commit_log_offset.to_be_bytes());
    let mut out = String::with_capacity(raw.len() * 2);
    for b in raw {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xF)]));
    }
    out
}

/// Decodes an offset msgId into the store host and the CommitLog offset (hex case-insensitive).
pub fn decode_offset_msg_id(msg_id: &str) -> Result<(SocketAddr, i64), MsgIdError> {
    let ip_len = match msg_id.len() {
        32 => 4,
        56 => 16,
        n => return Err(MsgIdError::BadLength(n)),
    };
    let raw = hex_decode(msg_id.as_bytes())?;
    let (ip_bytes, rest) = raw.split_at(ip_len);
    let ip = if ip_len == 4 {
        let mut o = [0u8; 4];
        o.copy_from_slice(ip_bytes);
        IpAddr::V4(Ipv4Addr::from(o))
    } else {
        let mut o = [0u8; 16];
        o.copy_from_slice(ip_bytes);
        IpAddr::V6(Ipv6Addr::from(o))
    };
    let mut port = [0u8; 4];
    port.copy_from_slice(&rest[..4]);
    let port = i32::from_be_bytes(port);
    let port = u16::try_from(port).map_err(|_| MsgIdError::BadPort(port))?;
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&rest[4..12]);
    Ok((SocketAddr::new(ip, port), i64::from_be_bytes(offset)))
}

fn hex_decode(hex: &[u8]) -> Result<Vec<u8>, MsgIdError> {
    fn nibble(c: u8) -> Result<u8, MsgIdError> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(MsgIdError::NotHex),
        }
    }
    hex.chunks_exact(2)
        .map(|pair| Ok((nibble(pair[0])? << 4) | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_round_trip_matches_rocketmq_text() {
        let host: SocketAddr = "192.168.0.1:10911"
            .parse()
            .unwrap_or_else(|_| unreachable!());
        let id = encode_offset_msg_id(host, 0x1234);
        assert_eq!(id, "C0A8000100002A9F0000000000001234");
        assert_eq!(decode_offset_msg_id(&id), Ok((host, 0x1234)));
        assert_eq!(decode_offset_msg_id(&id.to_lowercase()), Ok((host, 0x1234)));
    }

    #[test]
    fn ipv6_round_trip() {
        let host: SocketAddr = "[::1]:10911".parse().unwrap_or_else(|_| unreachable!());
        let id = encode_offset_msg_id(host, i64::MAX);
        assert_eq!(id.len(), 56);
        assert_eq!(decode_offset_msg_id(&id), Ok((host, i64::MAX)));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(decode_offset_msg_id("ABC"), Err(MsgIdError::BadLength(3)));
        let bad = "G0A8000100002A9F0000000000001234";
        assert_eq!(decode_offset_msg_id(bad), Err(MsgIdError::NotHex));
        let bad_port = "C0A80001FFFFFFFF0000000000001234";
        assert_eq!(decode_offset_msg_id(bad_port), Err(MsgIdError::BadPort(-1)));
    }
}
