//! The frame codec against arbitrary commands, malformed input and Java-shaped frames.
#![allow(clippy::unwrap_used)]

use bytes::{BufMut, Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use mq_core::protocol::frame::{self, DEFAULT_MAX_FRAME_SIZE};
use mq_core::protocol::header::CommandHeader;
use mq_core::protocol::header::namesrv::GetRouteInfoRequestHeader;
use mq_core::protocol::header::send::{SendMessageRequestHeader, SendMessageRequestHeaderV2};
use mq_core::protocol::{
    ExtFields, LanguageCode, ProtocolError, RemotingCodec, RemotingCommand, RequestCode,
    SerializeType,
};
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder, FramedRead, FramedWrite};

fn arb_command() -> impl Strategy<Value = RemotingCommand> {
    (
        any::<i16>(),
        prop::sample::select(LanguageCode::ALL.to_vec()),
        any::<i16>(),
        any::<i32>(),
        any::<i32>(),
        prop::option::of("\\PC{1,40}"),
        prop::collection::hash_map("[a-zA-Z_]{1,12}", "\\PC{0,30}", 0..8),
        prop::bool::ANY,
        prop::collection::vec(any::<u8>(), 0..512),
    )
        .prop_map(
            |(code, language, version, opaque, flag, remark, ext, json, body)| RemotingCommand {
                code: i32::from(code),
                language,
                version: i32::from(version),
                opaque,
                flag,
                remark,
                ext_fields: ext.into_iter().collect(),
                serialize_type: if json {
                    SerializeType::Json
                } else {
                    SerializeType::RocketMq
                },
                body: Bytes::from(body),
            },
        )
}

proptest! {
    #[test]
    fn any_command_round_trips(cmd in arb_command()) {
        let bytes = cmd.to_bytes().unwrap();
        let (decoded, used) = frame::decode(&bytes).unwrap().unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(&decoded, &cmd);
        // Every strict prefix is "need more bytes", never an error or a wrong command.
        for cut in [0, 3, 4, 7, 8, bytes.len() / 2, bytes.len() - 1] {
            prop_assert!(matches!(frame::decode(&bytes[..cut]), Ok(None)));
        }
    }

    #[test]
    fn codec_round_trips_back_to_back_frames(cmds in prop::collection::vec(arb_command(), 1..5)) {
        let mut codec = RemotingCodec::new();
        let mut wire = BytesMut::new();
        for cmd in &cmds {
            codec.encode(cmd, &mut wire).unwrap();
        }
        let mut decoded = Vec::new();
        while let Some(cmd) = codec.decode(&mut wire).unwrap() {
            decoded.push(cmd);
        }
        prop_assert_eq!(decoded, cmds);
        prop_assert!(wire.is_empty());
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = frame::decode(&bytes);
        let _ = RemotingCodec::new().decode(&mut BytesMut::from(&bytes[..]));
    }
}

fn raw_frame(serialize_type: u8, header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    out.put_i32((4 + header.len() + body.len()) as i32);
    out.put_u32((u32::from(serialize_type) << 24) | header.len() as u32);
    out.put_slice(header);
    out.put_slice(body);
    out.to_vec()
}

#[test]
fn decodes_a_java_client_route_query_byte_for_byte() {
    // What a 4.9.8 Java client writes for MQClientAPIImpl.getTopicRouteInfoFromNameServer.
    let header = br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":409}"#;
    let bytes = raw_frame(0, header, b"");
    assert_eq!(&bytes[..8], &[0, 0, 0, 135, 0, 0, 0, 131]);
    let (cmd, used) = frame::decode(&bytes).unwrap().unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(cmd.code, RequestCode::GET_ROUTEINFO_BY_TOPIC);
    assert_eq!(cmd.language, LanguageCode::Java);
    assert_eq!((cmd.version, cmd.opaque, cmd.flag), (409, 3, 0));
    assert_eq!(cmd.serialize_type, SerializeType::Json);
    assert!(cmd.body.is_empty() && !cmd.is_response() && !cmd.is_oneway());
    let route: GetRouteInfoRequestHeader = cmd.decode_header().unwrap();
    assert_eq!(route.topic, "TopicTest");
    assert_eq!(route.accept_standard_json_only, None);
}

#[test]
fn decodes_a_java_send_v2_with_escaped_property_separators() {
    let header = concat!(
        r#"{"code":310,"extFields":{"a":"pg","b":"TopicTest","c":"TBW102","d":"4","e":"2","#,
        r#""f":"0","g":"1700000000000","h":"0","i":"TAGS\u0001TagA\u0002WAIT\u0001true","#,
        r#""j":"0","k":"false","m":"false"},"flag":0,"language":"JAVA","opaque":42,"#,
        r#""serializeTypeCurrentRPC":"JSON","version":409}"#
    );
    let bytes = raw_frame(0, header.as_bytes(), b"Hello RocketMQ");
    let (cmd, _) = frame::decode(&bytes).unwrap().unwrap();
    assert_eq!(&cmd.body[..], b"Hello RocketMQ");
    let send = SendMessageRequestHeader::from_request(&cmd).unwrap();
    assert_eq!(send.topic, "TopicTest");
    assert_eq!(send.queue_id, 2);
    assert_eq!(
        send.properties.as_deref(),
        Some("TAGS\u{1}TagA\u{2}WAIT\u{1}true")
    );
    assert_eq!(send.max_reconsume_times, None);
    // And our compact re-encoding of the same header decodes to the same fields.
    let again =
        RemotingCommand::request_with_header(310, &SendMessageRequestHeaderV2(send.clone()));
    let (back, _) = frame::decode(&again.to_bytes().unwrap()).unwrap().unwrap();
    assert_eq!(SendMessageRequestHeader::from_request(&back).unwrap(), send);
}

#[test]
fn response_reuses_the_request_serialization_and_opaque() {
    let request = RemotingCommand::request(34)
        .with_serialize_type(SerializeType::Json)
        .with_opaque(77);
    let response = RemotingCommand::response_to(&request, 0);
    assert!(response.is_response());
    assert_eq!(response.opaque, 77);
    assert_eq!(response.serialize_type, SerializeType::Json);
    let oneway = RemotingCommand::request(15).oneway();
    assert!(oneway.is_oneway() && !oneway.is_response());
}

#[test]
fn truncated_header_is_need_more_then_error_when_lengths_lie() {
    let cmd = RemotingCommand::request(10)
        .with_ext("topic", "t")
        .with_body(&b"body"[..]);
    let bytes = cmd.to_bytes().unwrap().to_vec();
    for cut in 0..bytes.len() {
        assert!(
            matches!(frame::decode(&bytes[..cut]), Ok(None)),
            "cut {cut}"
        );
    }
    // A frame whose length claims less than its header: header length beyond the frame.
    let mut lying = bytes.clone();
    lying[..4].copy_from_slice(&6i32.to_be_bytes());
    assert!(matches!(
        frame::decode(&lying),
        Err(ProtocolError::HeaderLengthOutOfBounds { .. })
    ));
}

#[test]
fn truncated_compact_header_inside_a_complete_frame_is_an_error() {
    // Frame is complete, but its compact header stops after the code.
    let bytes = raw_frame(1, &[0, 10, 0], b"");
    assert!(matches!(
        frame::decode(&bytes),
        Err(ProtocolError::CompactHeader(_))
    ));
    // Header length eats the body: remark length points past the header.
    let mut header = vec![0u8, 10, 12, 1, 0x99, 0, 0, 0, 1, 0, 0, 0, 0];
    header.extend_from_slice(&100i32.to_be_bytes());
    let bytes = raw_frame(1, &header, &[0u8; 200]);
    assert!(matches!(
        frame::decode(&bytes),
        Err(ProtocolError::CompactHeader("remark"))
    ));
}

#[test]
fn truncated_body_waits_for_the_rest() {
    let cmd = RemotingCommand::request(10).with_body(vec![7u8; 1000]);
    let bytes = cmd.to_bytes().unwrap();
    assert!(matches!(frame::decode(&bytes[..bytes.len() - 1]), Ok(None)));
    let mut codec = RemotingCodec::new();
    let mut src = BytesMut::from(&bytes[..500]);
    assert!(codec.decode(&mut src).unwrap().is_none());
    src.extend_from_slice(&bytes[500..]);
    assert_eq!(codec.decode(&mut src).unwrap(), Some(cmd));
}

#[test]
fn bad_lengths_are_rejected() {
    for length in [-1i32, 0, 3, i32::MIN] {
        let mut bytes = length.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[0; 8]);
        assert!(
            matches!(
                frame::decode(&bytes),
                Err(ProtocolError::InvalidFrameLength(_))
            ),
            "length {length}"
        );
    }
    // Unknown serialize type 2.
    let bytes = raw_frame(2, b"{}", b"");
    assert!(matches!(
        frame::decode(&bytes),
        Err(ProtocolError::UnknownSerializeType(2))
    ));
}

#[test]
fn oversized_frame_is_refused_from_the_prefix_alone() {
    // Only the 4-byte prefix has arrived; the frame would be 16 MiB + 1.
    let prefix = ((DEFAULT_MAX_FRAME_SIZE - 3) as i32).to_be_bytes();
    assert!(matches!(
        frame::decode(&prefix),
        Err(ProtocolError::FrameTooLarge { size, .. }) if size == DEFAULT_MAX_FRAME_SIZE as u64 + 1
    ));
    // Exactly at the limit is still accepted (need more bytes).
    let prefix = ((DEFAULT_MAX_FRAME_SIZE - 4) as i32).to_be_bytes();
    assert!(matches!(frame::decode(&prefix), Ok(None)));
    assert!(matches!(
        frame::decode_with_limit(&[0, 0, 0, 100], 64),
        Err(ProtocolError::FrameTooLarge { size: 104, max: 64 })
    ));
}

#[test]
fn garbage_bytes_are_rejected() {
    // An HTTP request line read as a length prefix is ~1.2 GB: refused at once.
    assert!(matches!(
        frame::decode(b"GET / HTTP/1.1\r\n\r\n"),
        Err(ProtocolError::FrameTooLarge { .. })
    ));
    // A small, plausible prefix followed by a non-JSON header.
    let bytes = raw_frame(0, b"not json", b"");
    assert!(matches!(
        frame::decode(&bytes),
        Err(ProtocolError::JsonHeader(_))
    ));
    let bytes = raw_frame(0, br#"{"code":"ten"}"#, b"");
    assert!(matches!(
        frame::decode(&bytes),
        Err(ProtocolError::JsonHeader(_))
    ));
}

#[test]
fn missing_required_field_is_named() {
    let cmd = RemotingCommand::request(105).with_ext("acceptStandardJsonOnly", "true");
    let err = cmd
        .decode_header::<GetRouteInfoRequestHeader>()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "GetRouteInfoRequestHeader: missing required field topic"
    );
    let ok = GetRouteInfoRequestHeader::from_ext_fields(&ExtFields::from_iter([(
        "topic".to_owned(),
        "t".to_owned(),
    )]));
    assert!(ok.is_ok());
}

#[tokio::test]
async fn framed_streams_carry_commands_over_a_pipe() {
    let (client, server) = tokio::io::duplex(64);
    let mut writer = FramedWrite::new(client, RemotingCodec::new());
    let mut reader = FramedRead::new(server, RemotingCodec::new());
    let sent = RemotingCommand::request(34).with_body(vec![1u8; 300]);
    let expected = sent.clone();
    let send = tokio::spawn(async move { writer.send(sent).await.unwrap() });
    assert_eq!(reader.next().await.unwrap().unwrap(), expected);
    send.await.unwrap();
}
