//! Guest stdout / stderr, captured up to a cap. Output past the cap is
//! dropped (and noted), never an error: a chatty plugin is not a broken one.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

#[derive(Clone)]
pub struct CappedOutput {
    cap: usize,
    state: Arc<Mutex<Captured>>,
}

#[derive(Default)]
struct Captured {
    kept: Vec<u8>,
    dropped: usize,
}

impl CappedOutput {
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            state: Arc::default(),
        }
    }

    fn push(&self, bytes: &[u8]) {
        let mut state = self.state.lock().expect("output lock");
        let room = self.cap.saturating_sub(state.kept.len());
        let keep = room.min(bytes.len());
        state.kept.extend_from_slice(&bytes[..keep]);
        state.dropped += bytes.len() - keep;
    }

    /// What was kept, as text, with a note of what was dropped.
    pub fn text(&self) -> String {
        let state = self.state.lock().expect("output lock");
        let mut text = String::from_utf8_lossy(&state.kept).into_owned();
        if state.dropped > 0 {
            text.push_str(&format!("\n[{} more bytes dropped]", state.dropped));
        }
        text
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

#[async_trait::async_trait]
impl Pollable for CappedOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for CappedOutput {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_up_to_the_cap_and_counts_the_rest() {
        let out = CappedOutput::new(5);
        out.push(b"hello world");
        out.push(b"!");
        assert_eq!(out.text(), "hello\n[7 more bytes dropped]");
    }
}
