//! Streaming bodies between blocking store work and async HTTP.
//!
//! Store work is synchronous, so it runs on the blocking pool and talks to the handler through a
//! bounded channel: results flow out chunk by chunk (memory stays bounded, and a slow client
//! slows the query instead of filling RAM), uploads flow in the same way. The first chunk is held
//! back until it is full or the work ends, so most errors still get a proper status code.

use crate::error::ApiError;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use bytes::Bytes;
use sailkg_store::Budget;
use std::io::{self, Read, Write};
use tokio::sync::mpsc;

const CHUNK: usize = 64 * 1024;

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

/// Turns the channel into a response: waits for the first message to choose the status.
pub(crate) async fn respond(
    mut rx: mpsc::Receiver<Msg>,
    status: StatusCode,
    budget: Budget,
    include_body: bool,
) -> Result<HttpResponse, ApiError> {
    let mut guard = CancelOnDrop::new(budget.clone());
    // Evaluation checks for cancellation when it reads the store; a long in-memory step could
    // still run past the deadline, so the client gets its 503 on time regardless.
    let deadline = tokio::time::Instant::from_std(budget.deadline() + GRACE);
    let mut first = recv_until(&mut rx, deadline).await;
    let mut response = HttpResponse::build(status);
    if let Some(Msg::Start(content_type)) = first {
        response.content_type(content_type);
        first = recv_until(&mut rx, deadline).await;
    }
    match first {
        Some(Msg::Fail(error)) => {
            guard.disarm();
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

async fn recv_until(rx: &mut mpsc::Receiver<Msg>, deadline: tokio::time::Instant) -> Option<Msg> {
    match tokio::time::timeout_at(deadline, rx.recv()).await {
        Ok(message) => message,
        Err(_) => Some(Msg::Fail(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the query ran past its time limit and was stopped; simplify it, add LIMIT, or raise sparql.timeout_secs",
        ))),
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
