//! Fuzzes frame decoding: any bytes must decode, ask for more, or fail cleanly — never panic —
//! and whatever decodes must re-encode to bytes that decode to the same command.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mq_core::protocol::RemotingCodec;
use mq_core::protocol::frame;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    // The slice API with a small limit, so oversized prefixes are exercised too.
    if let Ok(Some((command, used))) = frame::decode_with_limit(data, 1 << 20) {
        assert!(used <= data.len());
        if let Ok(bytes) = command.to_bytes() {
            let again = frame::decode(&bytes);
            assert!(
                matches!(&again, Ok(Some((c, n))) if *c == command && *n == bytes.len()),
                "re-encoded frame did not decode to the same command"
            );
        }
    }
    // The streaming codec over the same bytes, frame after frame.
    let mut codec = RemotingCodec::with_max_frame_size(1 << 20);
    let mut buf = BytesMut::from(data);
    while let Ok(Some(_)) = codec.decode(&mut buf) {}
});
