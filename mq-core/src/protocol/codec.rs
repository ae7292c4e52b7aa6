//! [`RemotingCodec`]: the frame codec as a `tokio_util::codec` Decoder/Encoder, for `Framed`.
//!
//! The codec only moves bytes between a buffer and [`RemotingCommand`]s; the frame rules live
//! in [`super::frame`]. The maximum frame size is enforced from the length prefix before the
//! frame is buffered, and also on encode so we never send what the peer would refuse.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use super::error::ProtocolError;
use super::frame::{self, DEFAULT_MAX_FRAME_SIZE, RemotingCommand};

/// Frames remoting commands on a byte stream.
#[derive(Debug, Clone, Copy)]
pub struct RemotingCodec {
    max_frame_size: usize,
}

impl RemotingCodec {
    /// A codec with RocketMQ's default maximum frame size (16 MiB, prefix included).
    pub fn new() -> Self {
        Self::with_max_frame_size(DEFAULT_MAX_FRAME_SIZE)
    }

    /// A codec refusing frames larger than `max_frame_size` bytes (prefix included).
    pub fn with_max_frame_size(max_frame_size: usize) -> Self {
        Self { max_frame_size }
    }

    /// The maximum frame size, prefix included.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }
}

impl Default for RemotingCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder for RemotingCodec {
    type Item = RemotingCommand;
    type Error = ProtocolError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, ProtocolError> {
        let Some(total) = frame::peek_frame_len(src, self.max_frame_size)? else {
            return Ok(None);
        };
        if src.len() < total {
            // The size is already known to be within the limit: reserve once.
            src.reserve(total - src.len());
            return Ok(None);
        }
        let frame = src.split_to(total).freeze();
        frame::decode_complete(frame).map(Some)
    }
}

impl Encoder<&RemotingCommand> for RemotingCodec {
    type Error = ProtocolError;

    fn encode(&mut self, item: &RemotingCommand, dst: &mut BytesMut) -> Result<(), ProtocolError> {
        let start = dst.len();
        item.encode(dst)?;
        let size = dst.len() - start;
        if size > self.max_frame_size {
            dst.truncate(start);
            return Err(ProtocolError::FrameTooLarge {
                size: size as u64,
                max: self.max_frame_size,
            });
        }
        Ok(())
    }
}

impl Encoder<RemotingCommand> for RemotingCodec {
    type Error = ProtocolError;

    fn encode(&mut self, item: RemotingCommand, dst: &mut BytesMut) -> Result<(), ProtocolError> {
        <Self as Encoder<&RemotingCommand>>::encode(self, &item, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_byte_by_byte_and_leaves_the_next_frame() {
        let first = RemotingCommand::request(34).with_body(&b"hello"[..]);
        let second = RemotingCommand::request(35);
        let mut wire = BytesMut::new();
        let mut codec = RemotingCodec::new();
        assert!(codec.encode(&first, &mut wire).is_ok());
        assert!(codec.encode(&second, &mut wire).is_ok());
        let mut src = BytesMut::new();
        let mut got = Vec::new();
        for b in wire.iter() {
            src.extend_from_slice(&[*b]);
            if let Ok(Some(cmd)) = codec.decode(&mut src) {
                got.push(cmd);
            }
        }
        assert_eq!(got, vec![first, second]);
        assert!(src.is_empty());
    }

    #[test]
    fn refuses_oversized_frames_both_ways() {
        let mut codec = RemotingCodec::with_max_frame_size(64);
        let big = RemotingCommand::request(10).with_body(vec![0u8; 100]);
        let mut dst = BytesMut::new();
        assert!(matches!(
            codec.encode(&big, &mut dst),
            Err(ProtocolError::FrameTooLarge { .. })
        ));
        assert!(dst.is_empty());
        let mut src = BytesMut::from(&[0u8, 0, 1, 0][..]);
        assert!(matches!(
            codec.decode(&mut src),
            Err(ProtocolError::FrameTooLarge { size: 260, max: 64 })
        ));
    }
}
