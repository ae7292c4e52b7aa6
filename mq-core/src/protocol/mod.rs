//! The RocketMQ 4.x remoting protocol: frames, headers, codes and the stored-message layout.
//!
//! Nothing here does I/O: decoders take byte slices and answer `Ok(None)` when they need more.
//! The facts (codes, field names, byte layouts) come from Apache RocketMQ 4.9.8; see
//! `docs/protocol.md` for what is implemented, code by code.

pub mod message;
pub mod msg_id;
pub mod tag;
