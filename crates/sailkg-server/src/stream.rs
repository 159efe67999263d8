//! Streaming bodies between blocking store work and async HTTP.
//!
//! Store work is synchronous, so it runs on the blocking pool and talks to the handler through a
//! bounded channel: results flow out in chunks of 256 KiB (memory stays bounded, and a slow client
//! slows the query instead of filling RAM), uploads flow in the same way. The first chunk is held
//! back until it is full or the work ends, so most errors still get a proper status code.

use crate::error::ApiError;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use bytes::Bytes;
use sailkg_store::Budget;
use std::io::{self, Read, Write};
use tokio::sync::mpsc;

const CHUNK: usize = 256 * 1024;

pub(crate) enum Msg {
    /// The content type, known once the query shows its result kind; sent before any chunk.
    Start(&'static str),
    Chunk(Bytes),
    Fail(ApiError),
    End,
}

/// A `Write` for blocking code that sends full chunks to the handler.
pub(crate) struct ChannelWriter {
    tx: mpsc::Sender<Msg>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    pub(crate) fn new(tx: mpsc::Sender<Msg>) -> Self {
        Self { tx, buffer: Vec::with_capacity(CHUNK) }
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Msg::Chunk(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    /// Sends what is left and marks the end of the body.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.send_buffer()?;
        self.tx
            .blocking_send(Msg::End)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    /// Announces the content type of the body.
    pub(crate) fn start(&mut self, content_type: &'static str) -> io::Result<()> {
        self.tx
            .blocking_send(Msg::Start(content_type))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    /// Reports a failure; before the first chunk it becomes the response status.
    pub(crate) fn fail(self, error: ApiError) {
        let _ = self.tx.blocking_send(Msg::Fail(error));
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.send_buffer()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Cancels the work when dropped before [`CancelOnDrop::disarm`]: the handler future or the
/// response body was dropped because the client disconnected.
pub(crate) struct CancelOnDrop(Option<Budget>);

impl CancelOnDrop {
    pub(crate) fn new(budget: Budget) -> Self {
        Self(Some(budget))
    }

    pub(crate) fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(budget) = self.0.take() {
            budget.cancel();
        }
    }
}

/// A duplicate of the client connection's socket, taken when the connection opens, so a handler
/// can tell that its client went away (actix-web does not cancel handlers on disconnect).
#[derive(Clone)]
pub(crate) struct ClientSocket(std::sync::Arc<std::os::fd::OwnedFd>);

impl ClientSocket {
    /// Called by the server for every new connection.
    pub(crate) fn on_connect(connection: &dyn std::any::Any, extensions: &mut actix_web::dev::Extensions) {
        use std::os::fd::AsFd;
        if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
            // Responses end with a small write (the last chunk); with Nagle's algorithm it would
            // wait for the client's delayed ACK, adding up to 40 ms to every query.
            let _ = tcp.set_nodelay(true);
            if let Ok(fd) = tcp.as_fd().try_clone_to_owned() {
                extensions.insert(Self(std::sync::Arc::new(fd)));
            }
        }
    }

    /// Whether the peer closed or reset the connection. Peeking does not consume the bytes of a
    /// pipelined request, and the socket is non-blocking, so this never waits.
    fn is_gone(&self) -> bool {
        let mut byte = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        match socket2::SockRef::from(&*self.0).peek(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted),
        }
    }
}

/// Turns the channel into a response: waits for the first message to choose the status.
pub(crate) async fn respond(
    mut rx: mpsc::Receiver<Msg>,
    status: StatusCode,
    budget: Budget,
    include_body: bool,
    client: Option<ClientSocket>,
) -> Result<HttpResponse, ApiError> {
    let mut guard = CancelOnDrop::new(budget.clone());
    // Evaluation checks for cancellation when it reads the store; a long in-memory step could
    // still run past the deadline, so the client gets its 503 on time regardless.
    let deadline = tokio::time::Instant::from_std(budget.deadline() + GRACE);
    let mut first = recv_watching(&mut rx, deadline, client.as_ref()).await;
    let mut response = HttpResponse::build(status);
    if let Some(Msg::Start(content_type)) = first {
        response.content_type(content_type);
        first = recv_watching(&mut rx, deadline, client.as_ref()).await;
    }
    match first {
        Some(Msg::Fail(error)) => {
            // Work that failed has stopped; work whose client left or ran out of time is stopped.
            if error.status().as_u16() != 499 && error.status() != StatusCode::SERVICE_UNAVAILABLE {
                guard.disarm();
            }
            Err(error)
        }
        Some(Msg::End | Msg::Start(_)) | None => {
            guard.disarm();
            Ok(response.finish())
        }
        Some(Msg::Chunk(first)) if !include_body => {
            drop(first);
            // HEAD: the headers are known; stop the work.
            Ok(response.finish())
        }
        Some(Msg::Chunk(first)) => {
            guard.disarm();
            let body_guard = CancelOnDrop::new(budget);
            let rest =
                futures_util::stream::unfold((rx, body_guard, false), |(mut rx, guard, done)| async move {
                    if done {
                        return None;
                    }
                    match rx.recv().await {
                        Some(Msg::Chunk(chunk)) => Some((Ok(chunk), (rx, guard, false))),
                        Some(Msg::Fail(error)) => {
                            tracing::warn!(error = %error, "response aborted after it started");
                            Some((Err(io::Error::other(error.to_string())), (rx, guard, true)))
                        }
                        Some(Msg::End | Msg::Start(_)) | None => {
                            let mut guard = guard;
                            guard.disarm();
                            None
                        }
                    }
                });
            let stream = futures_util::StreamExt::chain(
                futures_util::stream::once(async move { Ok::<_, io::Error>(first) }),
                rest,
            );
            Ok(response.streaming(stream))
        }
    }
}

/// How long after the deadline the handler stops waiting for the work to notice it.
const GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// How often a waiting handler checks that its client is still there.
const CLIENT_CHECK: std::time::Duration = std::time::Duration::from_millis(200);

/// Waits for the next message, giving up at the deadline or when the client leaves.
async fn recv_watching(
    rx: &mut mpsc::Receiver<Msg>,
    deadline: tokio::time::Instant,
    client: Option<&ClientSocket>,
) -> Option<Msg> {
    loop {
        let wake = deadline.min(tokio::time::Instant::now() + CLIENT_CHECK);
        match tokio::time::timeout_at(wake, rx.recv()).await {
            Ok(message) => return message,
            Err(_) if tokio::time::Instant::now() >= deadline => {
                return Some(Msg::Fail(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the query ran past its time limit and was stopped; simplify it, add LIMIT, or raise sparql.timeout_secs",
                )));
            }
            Err(_) => {
                if client.is_some_and(ClientSocket::is_gone) {
                    // Dropping the guard in `respond` cancels the work.
                    return Some(Msg::Fail(ApiError::new(
                        StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
                        "the client closed the connection",
                    )));
                }
            }
        }
    }
}

/// A blocking `Read` over upload chunks sent by the handler.
pub(crate) struct ChannelReader {
    rx: mpsc::Receiver<Result<Bytes, io::Error>>,
    current: Bytes,
}

impl ChannelReader {
    pub(crate) fn new(rx: mpsc::Receiver<Result<Bytes, io::Error>>) -> Self {
        Self { rx, current: Bytes::new() }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
