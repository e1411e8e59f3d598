//! A fast SMTP sink for the email benchmark, in process on tokio: it
//! accepts every message and keeps only what the benchmark reads, each
//! message's Message-ID and when it arrived. The aiosmtpd sink of the tests
//! (`smtp.rs`) writes every message to a file from Python, at about 1,000
//! messages a second: it would measure itself, not the server.
//!
//! It speaks just enough ESMTP for lettre: EHLO/HELO, MAIL, RCPT, DATA (with
//! dot-stuffing), RSET, NOOP, QUIT, each answered with success. No
//! PIPELINING is offered, so a client sends one command and waits.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};

use crate::bulk::now_micros;

/// One message as the sink received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The Message-ID header's value, angle brackets included; empty when
    /// the message had none.
    pub message_id: String,
    /// When its final "." arrived, in microseconds since the epoch (as the
    /// server's tables keep times).
    pub at: i64,
}

#[derive(Default)]
struct Tally {
    messages: Vec<Received>,
    distinct: HashSet<String>,
}

#[derive(Default)]
struct Shared {
    tally: Mutex<Tally>,
    /// Kept apart from the tally so progress reads take no lock.
    messages: AtomicUsize,
    distinct: AtomicUsize,
    connections: AtomicUsize,
}

/// The sink: listening from [`SmtpCounter::start`] until dropped.
pub struct SmtpCounter {
    port: u16,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

impl SmtpCounter {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        let for_accept = shared.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue; // e.g. out of file descriptors for a moment
                };
                for_accept.connections.fetch_add(1, Ordering::Relaxed);
                let shared = for_accept.clone();
                tokio::spawn(async move {
                    // A client that hangs up mid-conversation ends only its own task.
                    let _ = converse(stream, &shared).await;
                });
            }
        });
        Ok(Self { port, shared, accept })
    }

    /// "smtp://127.0.0.1:PORT", for the server's `--smtp-url`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Messages received, duplicates included.
    pub fn messages(&self) -> usize {
        self.shared.messages.load(Ordering::Relaxed)
    }

    /// Distinct Message-IDs received.
    pub fn distinct(&self) -> usize {
        self.shared.distinct.load(Ordering::Relaxed)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Every message received so far, in the order they arrived.
    pub fn received(&self) -> Vec<Received> {
        let tally = self.shared.tally.lock().unwrap_or_else(PoisonError::into_inner);
        tally.messages.clone()
    }
}

impl Drop for SmtpCounter {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// One client connection, until QUIT or hang-up.
async fn converse(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut writer = BufWriter::new(write);
    let mut line = Vec::with_capacity(512);
    reply(&mut writer, "220 leadhost-bench-sink ESMTP\r\n").await?;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).map(|v| v.to_ascii_uppercase()).unwrap_or_default();
        match verb.as_slice() {
            b"EHLO" => {
                reply(
                    &mut writer,
                    "250-leadhost-bench-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
                )
                .await?
            }
            b"HELO" | b"MAIL" | b"RCPT" | b"RSET" | b"NOOP" => reply(&mut writer, "250 OK\r\n").await?,
            b"DATA" => {
                reply(&mut writer, "354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let Some(message_id) = read_message(&mut reader, &mut line).await? else {
                    return Ok(()); // hung up inside DATA: nothing was accepted
                };
                let at = now_micros();
                record(shared, message_id, at);
                reply(&mut writer, "250 OK queued\r\n").await?;
            }
            b"QUIT" => {
                reply(&mut writer, "221 Bye\r\n").await?;
                return Ok(());
            }
            _ => reply(&mut writer, "502 Command not implemented\r\n").await?,
        }
    }
}

async fn reply<W: AsyncWriteExt + Unpin>(writer: &mut W, text: &str) -> std::io::Result<()> {
    writer.write_all(text.as_bytes()).await?;
    writer.flush().await
}

/// Reads the message after DATA up to its lone "."; returns its Message-ID
/// (empty when it has none), or `None` when the client hung up first.
/// Only the header is looked at, so the body's dot-stuffing needs no undoing
/// beyond telling a stuffed ".." line from the end.
async fn read_message<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> std::io::Result<Option<String>> {
    let mut in_header = true;
    // The header field being read, unfolded (a field may span lines).
    let mut field = String::new();
    let mut message_id = None;
    loop {
        line.clear();
        if reader.read_until(b'\n', line).await? == 0 {
            return Ok(None);
        }
        let text = trim_line_end(line);
        if text == b"." {
            break;
        }
        if !in_header {
            continue;
        }
        let text = text.strip_prefix(b".").unwrap_or(text);
        let folded = text.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if folded {
            field.push_str(&String::from_utf8_lossy(text));
            continue;
        }
        message_id = message_id.or_else(|| message_id_of(&field));
        field = String::from_utf8_lossy(text).into_owned();
        in_header = !text.is_empty();
    }
    if in_header {
        message_id = message_id.or_else(|| message_id_of(&field));
    }
    Ok(Some(message_id.unwrap_or_default()))
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The value of an unfolded header field if it is the Message-ID.
fn message_id_of(field: &str) -> Option<String> {
    let (name, value) = field.split_once(':')?;
    name.trim()
        .eq_ignore_ascii_case("message-id")
        .then(|| value.trim().to_owned())
}

fn record(shared: &Shared, message_id: String, at: i64) {
    let mut tally = shared.tally.lock().unwrap_or_else(PoisonError::into_inner);
    if tally.distinct.insert(message_id.clone()) {
        shared.distinct.fetch_add(1, Ordering::Relaxed);
    }
    tally.messages.push(Received { message_id, at });
    shared.messages.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn message_id(raw: &str) -> Option<String> {
        let mut reader = BufReader::new(raw.as_bytes());
        read_message(&mut reader, &mut Vec::new()).await.unwrap()
    }

    #[tokio::test]
    async fn reads_a_folded_message_id_and_stops_at_the_lone_dot() {
        let raw = "From: a@example.com\r\nMessage-ID:\r\n <x@y>\r\nSubject: s\r\n\r\n..not the end\r\n.\r\nMAIL";
        assert_eq!(message_id(raw).await.as_deref(), Some("<x@y>"));
        assert_eq!(message_id("Subject: s\r\n\r\nbody\r\n.\r\n").await.as_deref(), Some(""));
        assert_eq!(
            message_id("message-id: <last@y>\r\n.\r\n").await.as_deref(),
            Some("<last@y>")
        );
        assert_eq!(message_id("Message-ID: <cut@y>\r\n").await, None);
    }
}
