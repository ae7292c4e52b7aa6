//! One client connection: frames in, requests processed concurrently (bounded per
//! connection, so a held pull never blocks a send behind it), responses out in completion
//! order (clients match them by opaque) through a [`ResponseWriter`], and the connection's
//! [`ClientChannel`] through which the broker sends its own requests to the client.
//!
//! Frames are taken in bursts: after each socket read, every frame already received is
//! handled together. Sends in a burst are appended on this task as one group (one writer
//! lock, one CommitLog write, responses queued together for one socket write); other
//! requests get a task each. A SYNC_FLUSH group waits for its fsync on a task of its own.
//!
//! A malformed or oversized frame closes this connection only, with the reason logged.
//! When the connection ends, its held pulls are released, its clients leave their groups
//! (and the groups are told), and pending responses are flushed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use super::processor::{self, Ctx};
use super::response_writer::ResponseWriter;
use super::state::BrokerState;
use crate::protocol::{LanguageCode, ProtocolError, RemotingCodec, RemotingCommand, SerializeType};

/// Most frames taken from one read burst (they are processed together).
const MAX_BURST: usize = 128;

/// How long the writer gets to flush the last responses of a closing connection.
const WRITER_DRAIN: Duration = Duration::from_secs(5);

/// The broker's handle on one client connection: where its responses and the broker's
/// requests to it (NOTIFY_CONSUMER_IDS_CHANGED, RESET_CONSUMER_CLIENT_OFFSET) go.
#[derive(Debug, Clone)]
pub(crate) struct ClientChannel {
    conn_id: u64,
    addr: SocketAddr,
    language: LanguageCode,
    version: i32,
    /// Header serialization of the broker's own requests to this client: the one its
    /// heartbeat used. Clients that only parse JSON headers (e.g. the Node client ali-ons)
    /// close the connection on a compact header, dropping out of their group.
    serialize_type: SerializeType,
    writer: ResponseWriter,
}

impl ClientChannel {
    /// The connection's id, unique within the broker's run.
    pub(crate) fn conn_id(&self) -> u64 {
        self.conn_id
    }

    /// The client's address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The client's language, from its last heartbeat.
    pub(crate) fn language(&self) -> LanguageCode {
        self.language
    }

    /// The client's version ordinal, from its last heartbeat.
    pub(crate) fn version(&self) -> i32 {
        self.version
    }

    /// The same channel, labelled with what a request says of its sender.
    pub(crate) fn with_client_info(
        &self,
        language: LanguageCode,
        version: i32,
        serialize_type: SerializeType,
    ) -> Self {
        Self {
            language,
            version,
            serialize_type,
            ..self.clone()
        }
    }

    /// Queues a command for the client without waiting, in the header serialization the
    /// client itself uses; false if the connection is gone or its queue is full
    /// (notifications are best effort, as in RocketMQ).
    pub(crate) fn send_oneway(&self, command: RemotingCommand) -> bool {
        let command = command.with_serialize_type(self.serialize_type);
        self.writer.try_send(command)
    }

    /// Writes (or queues) a response; false if the connection is gone.
    async fn send(&self, command: RemotingCommand) -> bool {
        self.writer.send(command).await
    }
}

#[cfg(test)]
impl ClientChannel {
    /// A channel on a loopback socket nobody reads, for tests of the tables that hold
    /// channels.
    pub(crate) async fn detached(conn_id: u64) -> Self {
        let (writer, _task, _client) = ResponseWriter::on_loopback(1).await;
        Self {
            conn_id,
            addr: writer.peer(),
            language: LanguageCode::Java,
            version: 0,
            serialize_type: SerializeType::Json,
            writer,
        }
    }
}

/// Serves one accepted connection until the peer leaves, misbehaves, idles out, or the
/// broker shuts down.
pub(crate) async fn serve(
    state: Arc<BrokerState>,
    stream: TcpStream,
    peer: SocketAddr,
    conn_id: u64,
) {
    let _ = stream.set_nodelay(true);
    let codec = RemotingCodec::with_max_frame_size(state.config.max_frame_size);
    let (read, write) = stream.into_split();
    let mut source = FramedRead::new(read, codec);
    let max_inflight = state.config.max_inflight_per_connection;
    // Room for every in-flight response plus some broker-initiated notifications.
    let (writer, writer_task) = ResponseWriter::start(write, codec, max_inflight + 64, peer);
    let channel = ClientChannel {
        conn_id,
        addr: peer,
        language: LanguageCode::Java,
        version: 0,
        // Java's default until the client's heartbeat says which one it speaks.
        serialize_type: SerializeType::Json,
        writer: writer.clone(),
    };
    // Cancelled when this connection ends or the broker shuts down: releases held pulls.
    let release = state.shutdown.child_token();
    let inflight = Arc::new(Semaphore::new(max_inflight));
    let tasks = TaskTracker::new();
    debug!(%peer, conn_id, "connection opened");

    let mut burst = Vec::with_capacity(MAX_BURST);
    'serve: loop {
        let next = tokio::select! {
            () = release.cancelled() => break,
            next = tokio::time::timeout(state.config.idle_timeout, source.next()) => next,
        };
        let mut ended = match next {
            Err(_) => {
                debug!(%peer, "closing idle connection");
                break;
            }
            Ok(next) => take_frame(next, &mut burst, peer),
        };
        // Whatever else has already arrived joins the burst, without waiting: a pipelining
        // producer's sends are then appended as one group and answered in one write.
        while !ended && burst.len() < MAX_BURST {
            match source.next().now_or_never() {
                None => break,
                Some(next) => ended = take_frame(next, &mut burst, peer),
            }
        }
        let ctx = Ctx {
            state: Arc::clone(&state),
            channel: channel.clone(),
            release: release.clone(),
        };
        let (sends, others): (Vec<_>, Vec<_>) =
            burst.drain(..).partition(|r| processor::is_send(r.code));
        if !sends.is_empty() {
            let count = sends.len();
            let mut answered = Box::pin(processor::send_group(&ctx, sends));
            match (&mut answered).now_or_never() {
                Some(replies) => {
                    if !answer_all(&ctx, replies).await {
                        break 'serve;
                    }
                }
                // Waiting for a SYNC_FLUSH fsync: off the read loop, so the next burst can
                // join the next group commit meanwhile.
                None => {
                    let Some(permits) = acquire(&inflight, &release, count.min(max_inflight)).await
                    else {
                        break 'serve;
                    };
                    let ctx = ctx.clone();
                    tasks.spawn(async move {
                        answer_all(&ctx, answered.await).await;
                        drop(permits);
                    });
                }
            }
        }
        for request in others {
            let Some(permit) = acquire(&inflight, &release, 1).await else {
                break 'serve;
            };
            let ctx = ctx.clone();
            tasks.spawn(async move {
                if let Some(response) = processor::process(&ctx, request).await {
                    let _ = ctx.channel.send(response).await;
                }
                drop(permit);
            });
        }
        if ended {
            break;
        }
    }

    release.cancel();
    tasks.close();
    tasks.wait().await;
    for group in state.groups.remove_connection(conn_id) {
        state.notify_consumer_ids_changed(&group);
    }
    drop(channel);
    // The writer task ends once every handle is gone (the group tables held clones until
    // now); then what is left is flushed and the socket closed.
    if tokio::time::timeout(WRITER_DRAIN, writer.close(writer_task))
        .await
        .is_err()
    {
        debug!(%peer, "writer did not drain in time");
    }
    debug!(%peer, conn_id, "connection closed");
}

/// Takes `n` of the connection's in-flight slots (never more than it has), waiting while
/// they are all taken — then the read loop stops and TCP backpressure reaches the client.
/// `None` once the connection is released.
async fn acquire(
    inflight: &Arc<Semaphore>,
    release: &CancellationToken,
    n: usize,
) -> Option<OwnedSemaphorePermit> {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    tokio::select! {
        () = release.cancelled() => None,
        permits = Arc::clone(inflight).acquire_many_owned(n) => permits.ok(),
    }
}

/// Adds a frame read from the socket to the burst; true when the connection is over (closed
/// by the peer, failed, or sent a malformed frame, which is logged with its reason).
fn take_frame(
    next: Option<Result<RemotingCommand, ProtocolError>>,
    burst: &mut Vec<RemotingCommand>,
    peer: SocketAddr,
) -> bool {
    match next {
        None => true,
        Some(Err(ProtocolError::Io(e))) => {
            debug!(%peer, error = %e, "connection failed");
            true
        }
        Some(Err(e)) => {
            warn!(%peer, error = %e, "closing connection: malformed frame");
            true
        }
        Some(Ok(request)) if request.is_response() => {
            // The broker's requests to clients are oneway; a client answering anyway is harmless.
            debug!(%peer, opaque = request.opaque, code = request.code, "ignoring a response from a client");
            false
        }
        Some(Ok(request)) => {
            burst.push(request);
            false
        }
    }
}

/// Writes the responses to a group of sends; false if the connection is gone.
async fn answer_all(ctx: &Ctx, replies: Vec<(RemotingCommand, processor::Reply)>) -> bool {
    let responses: Vec<_> = replies
        .into_iter()
        .filter_map(|(request, reply)| processor::respond(ctx, &request, reply))
        .collect();
    ctx.channel.writer.send_all(responses).await
}
