//! One multiplexed connection: a TCP stream carrying many requests at once, matched by opaque.
//!
//! A request that is alone in flight on the connection is written by its own task, straight
//! into the socket: handing it to the writer task would cost a task wake-up, often on the
//! other worker thread, which at low load is a large part of a round trip. Otherwise the
//! writer task drains a bounded queue of commands into the socket (flushing once per burst,
//! so many in-flight requests share a syscall). A reader task hands each response to the
//! request waiting on its opaque and passes server-initiated requests (NOTIFY_CONSUMER_IDS_CHANGED,
//! RESET_CONSUMER_CLIENT_OFFSET, ...) to a [`ServerRequestHandler`]. A request that times out
//! removes its own entry from the pending map, so a late response is simply dropped. When the
//! socket fails every pending request fails at once with [`ClientError::ConnectionClosed`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Mutex as AsyncMutex;
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tokio::time::{Instant, timeout_at};
use tokio_util::codec::{FramedRead, FramedWrite};

use super::error::{ClientError, ClientResult};
use crate::protocol::code::ResponseCode;
use crate::protocol::{ProtocolError, RemotingCodec, RemotingCommand};

/// Commands queued for the writer before senders wait: bounds memory per connection.
const WRITE_QUEUE_LEN: usize = 4096;
/// Bytes buffered before the writer writes without waiting for the queue to run dry (the
/// codec's default, 8 KiB, would write every eight 1 KiB messages).
const WRITE_BATCH_BYTES: usize = 64 * 1024;

/// Answers requests a server sends to the client over a client-opened connection.
#[async_trait]
pub trait ServerRequestHandler: Send + Sync + 'static {
    /// The response to `request` (ignored when the request is oneway), or `None` for none.
    async fn handle(&self, request: RemotingCommand, peer: &str) -> Option<RemotingCommand>;
}

/// A shared handler, as connections and pools hold it.
pub type RequestHandler = Arc<dyn ServerRequestHandler>;

/// Waiting requests by opaque. foldhash, not SipHash: every request inserts and removes one
/// entry, and the opaques are ours (sequential), not a peer's choice.
type Pending =
    HashMap<i32, oneshot::Sender<ClientResult<RemotingCommand>>, foldhash::fast::RandomState>;

/// The socket's writing side, shared by the writer task and a request written in place.
type Sink = Arc<AsyncMutex<FramedWrite<OwnedWriteHalf, RemotingCodec>>>;

/// State shared by the handle and the two socket tasks.
#[derive(Debug)]
struct Shared {
    addr: String,
    pending: Mutex<Pending>,
    closed: AtomicBool,
}

impl Shared {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the connection dead and fails every waiting request.
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let drained: Vec<_> = self.pending().drain().collect();
        for (_, tx) in drained {
            let _gone = tx.send(Err(ClientError::ConnectionClosed {
                addr: self.addr.clone(),
            }));
        }
    }

    fn fail(&self, opaque: i32, error: ClientError) {
        if let Some(tx) = self.pending().remove(&opaque) {
            let _gone = tx.send(Err(error));
        }
    }
}

/// Removes a request's pending entry when its caller stops waiting (timeout or cancellation).
struct PendingGuard<'a> {
    shared: &'a Shared,
    opaque: i32,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.shared.pending().remove(&self.opaque);
    }
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    sink: Sink,
    tx: mpsc::Sender<RemotingCommand>,
    tasks: [AbortHandle; 2],
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.shared.close();
    }
}

/// A cheap-to-clone handle to one multiplexed connection; the socket closes with the last handle.
#[derive(Debug, Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

impl Connection {
    /// Opens a connection to `addr` (`host:port`), giving server-initiated requests to `handler`
    /// (without one they are answered REQUEST_CODE_NOT_SUPPORTED).
    pub async fn connect(
        addr: &str,
        connect_timeout: Duration,
        handler: Option<RequestHandler>,
    ) -> ClientResult<Self> {
        let connect_error = |reason: String| ClientError::Connect {
            addr: addr.to_owned(),
            reason,
        };
        let stream = tokio::time::timeout(connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| connect_error(format!("timed out after {connect_timeout:?}")))?
            .map_err(|e| connect_error(e.to_string()))?;
        // Requests are small and latency-bound; Nagle would hold them back.
        stream.set_nodelay(true)?;
        let (read, write) = stream.into_split();
        let shared = Arc::new(Shared {
            addr: addr.to_owned(),
            pending: Mutex::new(Pending::default()),
            closed: AtomicBool::new(false),
        });
        let (tx, rx) = mpsc::channel(WRITE_QUEUE_LEN);
        let mut sink = FramedWrite::new(write, RemotingCodec::new());
        sink.set_backpressure_boundary(WRITE_BATCH_BYTES);
        let sink = Arc::new(AsyncMutex::new(sink));
        let writer = tokio::spawn(write_loop(Arc::clone(&sink), rx, Arc::clone(&shared)));
        let reader = tokio::spawn(read_loop(
            FramedRead::new(read, RemotingCodec::new()),
            tx.clone(),
            Arc::clone(&shared),
            handler,
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                shared,
                sink,
                tx,
                tasks: [writer.abort_handle(), reader.abort_handle()],
            }),
        })
    }

    /// The peer's `host:port`.
    pub fn addr(&self) -> &str {
        &self.inner.shared.addr
    }

    /// Whether the socket has failed or closed; a closed connection never recovers.
    pub fn is_closed(&self) -> bool {
        self.inner.shared.closed.load(Ordering::SeqCst)
    }

    /// Sends `request` and waits for its response, at most `timeout` in all.
    pub async fn invoke(
        &self,
        request: RemotingCommand,
        timeout: Duration,
    ) -> ClientResult<RemotingCommand> {
        let deadline = Instant::now() + timeout;
        let shared = &self.inner.shared;
        let opaque = request.opaque;
        let (tx, rx) = oneshot::channel();
        let alone = {
            let mut pending = shared.pending();
            pending.insert(opaque, tx);
            pending.len() == 1
        };
        let _guard = PendingGuard { shared, opaque };
        // Checked after inserting: a close that raced with us has either drained our entry
        // or already set the flag.
        if self.is_closed() {
            return Err(self.closed_error());
        }
        match timeout_at(deadline, self.write(request, alone)).await {
            Err(_) => return Err(ClientError::Timeout),
            Ok(Err(_)) => return Err(self.closed_error()),
            Ok(Ok(())) => {}
        }
        match timeout_at(deadline, rx).await {
            Err(_) => Err(ClientError::Timeout),
            Ok(Err(_)) => Err(self.closed_error()),
            Ok(Ok(result)) => result,
        }
    }

    /// Sends `request` as a oneway request: no response is expected or waited for.
    pub async fn invoke_oneway(
        &self,
        request: RemotingCommand,
        timeout: Duration,
    ) -> ClientResult<()> {
        if self.is_closed() {
            return Err(self.closed_error());
        }
        match tokio::time::timeout(timeout, self.inner.tx.send(request.oneway())).await {
            Err(_) => Err(ClientError::Timeout),
            Ok(Err(_)) => Err(self.closed_error()),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Writes `request` in place when it is `alone` in flight and the socket is free, else
    /// queues it for the writer task; `Err` once the connection is closed.
    async fn write(&self, request: RemotingCommand, alone: bool) -> Result<(), ()> {
        if alone {
            if let Ok(sink) = self.inner.sink.try_lock() {
                return write_in_place(&self.inner.sink, sink, request, &self.inner.shared).await;
            }
        }
        self.inner.tx.send(request).await.map_err(|_| ())
    }

    fn closed_error(&self) -> ClientError {
        ClientError::ConnectionClosed {
            addr: self.addr().to_owned(),
        }
    }
}

/// Writes and flushes one request from the caller's task. If the caller stops waiting while
/// the socket is full, what is buffered is flushed by a task of its own, so it cannot sit in
/// the buffer until the next request comes.
async fn write_in_place(
    sink: &Sink,
    mut writer: tokio::sync::MutexGuard<'_, FramedWrite<OwnedWriteHalf, RemotingCodec>>,
    request: RemotingCommand,
    shared: &Shared,
) -> Result<(), ()> {
    let mut cancelled = FlushOnCancel { sink: Some(sink) };
    let written = match feed(&mut writer, request, shared).await {
        Ok(()) => SinkExt::<RemotingCommand>::flush(&mut *writer).await,
        Err(e) => Err(e),
    };
    cancelled.sink = None;
    written.map_err(|e| {
        tracing::debug!(addr = %shared.addr, error = %e, "write failed");
        shared.close();
    })
}

/// Buffers `command` in the sink. The codec may refuse this one command (e.g. too large)
/// and leave the buffer intact: then the command alone fails and the connection stays;
/// only a socket error is returned.
async fn feed(
    sink: &mut FramedWrite<OwnedWriteHalf, RemotingCodec>,
    command: RemotingCommand,
    shared: &Shared,
) -> Result<(), ProtocolError> {
    let opaque = command.opaque;
    match sink.feed(command).await {
        Err(ProtocolError::Io(e)) => Err(ProtocolError::Io(e)),
        Err(e) => {
            shared.fail(opaque, ClientError::Protocol(e));
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

/// Armed while a request is written in place; see [`write_in_place`].
struct FlushOnCancel<'a> {
    sink: Option<&'a Sink>,
}

impl Drop for FlushOnCancel<'_> {
    fn drop(&mut self) {
        let (Some(sink), Ok(runtime)) = (self.sink, tokio::runtime::Handle::try_current()) else {
            return;
        };
        let sink = Arc::clone(sink);
        runtime.spawn(async move {
            let _ = SinkExt::<RemotingCommand>::flush(&mut *sink.lock().await).await;
        });
    }
}

async fn write_loop(sink: Sink, mut rx: mpsc::Receiver<RemotingCommand>, shared: Arc<Shared>) {
    'outer: while let Some(first) = rx.recv().await {
        let mut sink = sink.lock().await;
        let mut next = Some(first);
        let mut yielded = false;
        loop {
            while let Some(command) = next.take() {
                if let Err(e) = feed(&mut sink, command, &shared).await {
                    tracing::debug!(addr = %shared.addr, error = %e, "write failed");
                    break 'outer;
                }
                next = rx.try_recv().ok();
            }
            // Senders running on the other worker hand over one request at a time: left
            // alone, this task would wake and write once per request (a syscall each, the
            // client's largest cost at 64 in flight). One yield lets the senders already
            // scheduled queue theirs first, so they share the write. A yield costs a few
            // microseconds (the worker polls the I/O driver first), so it is only worth it
            // while other requests are in flight on this connection.
            if yielded || shared.pending().len() <= 1 {
                break;
            }
            yielded = true;
            tokio::task::yield_now().await;
            next = rx.try_recv().ok();
            if next.is_none() {
                break;
            }
        }
        if let Err(e) = SinkExt::<RemotingCommand>::flush(&mut *sink).await {
            tracing::debug!(addr = %shared.addr, error = %e, "flush failed");
            break;
        }
    }
    shared.close();
}

async fn read_loop(
    mut stream: FramedRead<OwnedReadHalf, RemotingCodec>,
    tx: mpsc::Sender<RemotingCommand>,
    shared: Arc<Shared>,
    handler: Option<RequestHandler>,
) {
    while let Some(frame) = stream.next().await {
        let command = match frame {
            Ok(command) => command,
            Err(e) => {
                tracing::warn!(addr = %shared.addr, error = %e, "closing connection on a bad frame");
                break;
            }
        };
        if command.is_response() {
            let waiting = shared.pending().remove(&command.opaque);
            match waiting {
                Some(waiter) => {
                    let _gone = waiter.send(Ok(command));
                }
                None => tracing::debug!(
                    addr = %shared.addr,
                    opaque = command.opaque,
                    "response after its request gave up"
                ),
            }
            continue;
        }
        // Server-initiated request: answered on its own task so responses keep flowing.
        let handler = handler.clone();
        let tx = tx.clone();
        let peer = shared.addr.clone();
        tokio::spawn(async move {
            let oneway = command.is_oneway();
            let response = match handler {
                Some(handler) => handler.handle(command, &peer).await,
                None => Some(not_supported(&command)),
            };
            if let (false, Some(response)) = (oneway, response) {
                let _closed = tx.send(response).await;
            }
        });
    }
    shared.close();
}

/// The REQUEST_CODE_NOT_SUPPORTED answer Java servers give to an unknown code.
pub fn not_supported(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::REQUEST_CODE_NOT_SUPPORTED)
        .with_remark(format!(" request type {} not supported", request.code))
}
