//! The RocketMQ 4.x remoting protocol: frames, headers, codes and the stored-message layout.
//!
//! Nothing here does I/O: decoders take byte slices and answer `Ok(None)` when they need more.
//! The facts (codes, field names, byte layouts) come from Apache RocketMQ 4.9.8; see
//! `docs/protocol.md` for what is implemented, code by code.
//!
//! | module | owns |
//! |---|---|
//! | [`frame`] | [`RemotingCommand`], the frame layout, `decode`/`encode` |
//! | [`codec`] | [`RemotingCodec`], the `tokio_util` Decoder/Encoder over frames |
//! | `header_json`, `header_compact` | the two header serializations |
//! | [`code`] | request, response and language codes |
//! | [`header`] | typed custom headers (`extFields`), one file per request family |
//! | [`body`] | JSON bodies as serde types, fastjson's non-standard JSON read and written |
//! | [`error`] | [`ProtocolError`] |

pub mod body;
pub mod code;
pub mod codec;
pub mod error;
pub mod ext_fields;
pub mod frame;
pub mod header;
mod header_compact;
mod header_json;

pub mod message;
pub mod msg_id;
pub mod tag;

pub use body::{JsonBody, MessageQueue};
pub use code::{LanguageCode, RequestCode, ResponseCode};
pub use codec::RemotingCodec;
pub use error::ProtocolError;
pub use frame::{ExtFields, RemotingCommand, SerializeType};
pub use header::CommandHeader;
