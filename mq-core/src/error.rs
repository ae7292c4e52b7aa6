//! The crate's error type: every fallible public function returns [`Result`].

/// Everything that can go wrong in mq-core, by the part that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation failed (socket or file).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A peer sent bytes that are not a valid remoting frame, header or body.
    #[error("protocol: {0}")]
    Protocol(#[from] crate::protocol::ProtocolError),
    /// A setting or argument is invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A client call (producer, consumer, admin) failed.
    #[cfg(feature = "client")]
    #[error("client: {0}")]
    Client(#[from] crate::client::ClientError),
    /// The broker's message store failed.
    #[cfg(feature = "broker")]
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// `Result` with mq-core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
