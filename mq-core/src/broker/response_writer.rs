//! A connection's outgoing side: responses are written by the task that has them whenever the
//! socket is free, and queued for the connection's writer task only while someone else is
//! writing.
//!
//! Handing every response to a writer task costs a task wake-up per response, often on the
//! other worker thread, and at low load that wake-up (tens of microseconds on a VM whose cores
//! go idle) is most of a message's latency. Writing in place skips it; the writer task still
//! takes over under load, so responses that pile up behind a busy writer share one flush.

use std::net::SocketAddr;
use std::sync::Arc;

use futures::SinkExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{Mutex, mpsc};
use tokio_util::codec::FramedWrite;
use tracing::{debug, warn};

use crate::protocol::{ProtocolError, RemotingCodec, RemotingCommand};

/// Bytes a writer buffers before it writes without waiting for more responses (the codec's
/// default, 8 KiB, would write every few messages of a pull response burst).
const WRITE_BATCH_BYTES: usize = 64 * 1024;

type Sink = FramedWrite<OwnedWriteHalf, RemotingCodec>;

/// Where a connection's responses and the broker's own requests to the client go.
#[derive(Debug, Clone)]
pub(crate) struct ResponseWriter {
    sink: Arc<Mutex<Sink>>,
    queue: mpsc::Sender<RemotingCommand>,
    peer: SocketAddr,
}

impl ResponseWriter {
    /// A writer on `socket` and the task that drains its queue (room for `queue_len`
    /// commands); the task ends once every clone of the writer is dropped.
    pub(crate) fn start(
        socket: OwnedWriteHalf,
        codec: RemotingCodec,
        queue_len: usize,
        peer: SocketAddr,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let mut sink = FramedWrite::new(socket, codec);
        sink.set_backpressure_boundary(WRITE_BATCH_BYTES);
        let sink = Arc::new(Mutex::new(sink));
        let (queue, rx) = mpsc::channel(queue_len);
        let task = tokio::spawn(drain_queue(Arc::clone(&sink), rx, peer));
        (Self { sink, queue, peer }, task)
    }

    /// Writes `commands` now if the socket is free, else queues them, waiting for room;
    /// false if the connection is gone.
    pub(crate) async fn send_all<I>(&self, commands: I) -> bool
    where
        I: IntoIterator<Item = RemotingCommand>,
    {
        if let Ok(mut sink) = self.sink.try_lock() {
            return write(&mut sink, commands, self.peer).await;
        }
        for command in commands {
            if self.queue.send(command).await.is_err() {
                return false;
            }
        }
        true
    }

    /// [`Self::send_all`] for one command.
    pub(crate) async fn send(&self, command: RemotingCommand) -> bool {
        self.send_all(std::iter::once(command)).await
    }

    /// Queues `command` without waiting; false if the connection is gone or its queue is
    /// full.
    pub(crate) fn try_send(&self, command: RemotingCommand) -> bool {
        self.queue.try_send(command).is_ok()
    }

    /// Drops this handle, waits for the writer `task` to write what is queued (it ends once
    /// every other handle is gone too), then flushes what is left and closes the socket.
    pub(crate) async fn close(self, task: tokio::task::JoinHandle<()>) {
        let sink = Arc::clone(&self.sink);
        drop(self);
        let _ = task.await;
        let _ = SinkExt::<RemotingCommand>::close(&mut *sink.lock().await).await;
    }
}

#[cfg(test)]
impl ResponseWriter {
    /// A writer (queue of `queue_len`) on one end of a fresh loopback connection, its task,
    /// and the other end of the connection.
    pub(crate) async fn on_loopback(
        queue_len: usize,
    ) -> (Self, tokio::task::JoinHandle<()>, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let (client, accepted) =
            tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
        let client = client.unwrap_or_else(|e| panic!("connect: {e}"));
        let (server, peer) = accepted.unwrap_or_else(|e| panic!("accept: {e}"));
        let (_read, write) = server.into_split();
        let (writer, task) = Self::start(write, RemotingCodec::new(), queue_len, peer);
        (writer, task, client)
    }

    /// The client address this writer writes to.
    pub(crate) fn peer(&self) -> SocketAddr {
        self.peer
    }
}

/// Encodes `commands` into the sink and flushes once; false if the socket failed.
async fn write(
    sink: &mut Sink,
    commands: impl IntoIterator<Item = RemotingCommand>,
    peer: SocketAddr,
) -> bool {
    for command in commands {
        if let Err(e) = sink.feed(command).await {
            if matches!(e, ProtocolError::Io(_)) {
                debug!(%peer, error = %e, "connection write failed");
                return false;
            }
            // Not sendable (e.g. over the frame limit): the client's request times out, the
            // connection stays usable.
            warn!(%peer, error = %e, "dropping a response that cannot be encoded");
        }
    }
    if let Err(e) = SinkExt::<RemotingCommand>::flush(sink).await {
        debug!(%peer, error = %e, "connection flush failed");
        return false;
    }
    true
}

/// The writer task: whatever was queued while the socket was busy, written in bursts.
async fn drain_queue(
    sink: Arc<Mutex<Sink>>,
    mut rx: mpsc::Receiver<RemotingCommand>,
    peer: SocketAddr,
) {
    while let Some(first) = rx.recv().await {
        let mut sink = sink.lock().await;
        // Whatever else is queued by now shares the flush.
        let burst = std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok()));
        if !write(&mut sink, burst, peer).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use futures::StreamExt;
    use tokio::net::TcpStream;
    use tokio_util::codec::FramedRead;

    use super::*;

    /// A writer on one end of a loopback connection, and the other end framed for reading.
    async fn pair() -> (
        ResponseWriter,
        tokio::task::JoinHandle<()>,
        FramedRead<TcpStream, RemotingCodec>,
    ) {
        // A small queue, so senders also wait for room behind a busy writer.
        let (writer, task, client) = ResponseWriter::on_loopback(4).await;
        (writer, task, FramedRead::new(client, RemotingCodec::new()))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_responses_all_arrive_written_in_place_or_queued() {
        let (writer, task, mut client) = pair().await;
        let senders: Vec<_> = (0..50)
            .map(|task_no: i32| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    for i in 0..20 {
                        let opaque = task_no * 20 + i;
                        let request = RemotingCommand::request(10).with_opaque(opaque);
                        let response =
                            RemotingCommand::response_to(&request, 0).with_body(vec![7u8; 4096]);
                        assert!(writer.send(response).await, "the connection is open");
                    }
                })
            })
            .collect();
        let mut seen = BTreeSet::new();
        while seen.len() < 1000 {
            let frame = tokio::time::timeout(std::time::Duration::from_secs(10), client.next())
                .await
                .unwrap_or_else(|_| panic!("only {} of 1000 responses arrived", seen.len()));
            let frame = frame
                .unwrap_or_else(|| panic!("closed early"))
                .unwrap_or_else(|e| panic!("bad frame: {e}"));
            assert_eq!(frame.body.len(), 4096);
            assert!(seen.insert(frame.opaque), "opaque {} twice", frame.opaque);
        }
        for sender in senders {
            sender.await.unwrap_or_else(|e| panic!("sender: {e}"));
        }
        // Closing flushes what is left and ends the stream.
        writer.close(task).await;
        assert!(
            client.next().await.is_none(),
            "nothing after the 1000 responses"
        );
    }

    #[tokio::test]
    async fn a_notification_queued_without_waiting_is_written_by_the_writer_task() {
        let (writer, task, mut client) = pair().await;
        let request = RemotingCommand::request(40).with_opaque(7);
        assert!(writer.try_send(RemotingCommand::response_to(&request, 0)));
        let frame = client.next().await;
        let frame = frame
            .unwrap_or_else(|| panic!("closed"))
            .unwrap_or_else(|e| panic!("bad frame: {e}"));
        assert_eq!(frame.opaque, 7);
        writer.close(task).await;
    }
}
