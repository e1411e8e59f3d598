//! A real SMTP server for the tests that send email: aiosmtpd running
//! tests/smtp/sink.py in a child process, from the venv `target/smtp-venv`
//! (tests/run.sh creates it). The sink writes each message it accepts to a
//! file in a temporary directory and reads its answer to DATA from another,
//! so a test controls it and reads what arrived through the filesystem.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mailparse::{DispositionType, MailHeaderMap, ParsedMail};

/// How to create the venv, from the repository root.
const INSTALL: &str =
    "python3 -m venv target/smtp-venv && target/smtp-venv/bin/pip install -r tests/smtp/requirements.txt";

/// Python starts in a fraction of a second; this only bounds a hung start.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `stop` lets the sink exit on SIGTERM before killing it.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);

fn repo_root() -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests.parent().expect("tests/ sits in the repository").to_path_buf()
}

/// A real SMTP server (aiosmtpd, tests/smtp/sink.py) the test starts and controls.
pub struct SmtpSink {
    port: u16,
    dir: tempfile::TempDir,
    /// `None` while stopped.
    child: Option<Child>,
}

impl SmtpSink {
    /// Starts on a free port; waits for its "ready" line.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(0, tempfile::tempdir()?).await
    }

    /// Starts on a given port (0: a free one) keeping its messages in `dir`;
    /// the numbering continues after the messages already there.
    pub async fn start_on(port: u16, dir: tempfile::TempDir) -> anyhow::Result<Self> {
        let mut sink = Self { port, dir, child: None };
        sink.spawn().await?;
        Ok(sink)
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let root = repo_root();
        let python = root.join("target/smtp-venv/bin/python");
        if !python.exists() {
            bail!(
                "{} is missing: the SMTP sink needs aiosmtpd in a venv; in {} run `{INSTALL}` (tests/run.sh does)",
                python.display(),
                root.display()
            );
        }
        // Its standard error goes to a log in its directory, appended to
        // across restarts, for the error below.
        let log_path = self.dir.path().join("sink.log");
        let log = OpenOptions::new().create(true).append(true).open(&log_path)?;
        let mut child = Command::new(python)
            .arg(root.join("tests/smtp/sink.py"))
            .args(["--port", &self.port.to_string(), "--dir"])
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("starting the SMTP sink")?;
        // "ready PORT" is its only output. The read blocks, so it runs on a
        // blocking thread; killing the child on a timeout ends it (EOF).
        let stdout = child.stdout.take().expect("piped stdout");
        let ready = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        });
        let line = match tokio::time::timeout(READY_TIMEOUT, ready).await {
            Ok(Ok(Ok(line))) => line,
            _ => String::new(),
        };
        let Some(port) = line.trim().strip_prefix("ready ").and_then(|p| p.parse().ok()) else {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            bail!("the SMTP sink did not start on port {}; its log:\n{log}", self.port);
        };
        // Port 0 asked for a free one: the sink says which, and a restart
        // comes back on it.
        self.port = port;
        self.child = Some(child);
        Ok(())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// "smtp://127.0.0.1:PORT" for the server's --smtp-url.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Where it keeps `NNNN.eml`, `answer`, `refused.log` and `sink.log`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops it (the port then refuses connections); keeps its directory and
    /// the messages received, for [`SmtpSink::restart`] or reading.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SIGTERM lets it close its socket and exit cleanly; a sink that
        // does not within the deadline is killed.
        // SAFETY: kill(2) on our own child's pid, not yet reaped.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts it again on the same port and directory (stopping it first if
    /// it runs).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.spawn().await
    }

    /// Sets the answer to DATA: "" is `250 OK`, anything else the whole
    /// reply line (`451 4.3.0 try again later`, `550 5.1.1 no such user`).
    /// Read at each message, so it applies from the next one.
    pub fn answer_with(&self, line: &str) -> anyhow::Result<()> {
        // Replaced by a rename, so the sink never reads it half written.
        let partial = self.dir.path().join(".answer.tmp");
        std::fs::write(&partial, line)?;
        std::fs::rename(&partial, self.dir.path().join("answer"))?;
        Ok(())
    }

    /// The messages received so far, in arrival order, parsed.
    pub fn messages(&self) -> anyhow::Result<Vec<ReceivedEmail>> {
        self.message_files()?
            .iter()
            .map(|path| {
                let raw = std::fs::read(path)?;
                ReceivedEmail::parse(&raw).with_context(|| format!("parsing {}", path.display()))
            })
            .collect()
    }

    /// The Message-IDs of the messages refused (a non-2xx answer), one per
    /// attempt, in order; "-" for a message without one.
    pub fn refused(&self) -> anyhow::Result<Vec<String>> {
        match std::fs::read_to_string(self.dir.path().join("refused.log")) {
            Ok(log) => Ok(log.lines().map(str::to_owned).collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// Waits (polling every 50 ms, up to `timeout`) until at least `n`
    /// messages arrived; returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> anyhow::Result<Vec<ReceivedEmail>> {
        let deadline = Instant::now() + timeout;
        loop {
            // Counting is enough until there are n: parse once, at the end.
            let arrived = self.message_files()?.len();
            if arrived >= n {
                return self.messages();
            }
            if Instant::now() >= deadline {
                bail!("{arrived} of {n} messages arrived at the SMTP sink within {timeout:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The stored messages' files (`NNNN.eml`), by number. The sink writes
    /// each under a hidden temporary name first, which this skips.
    fn message_files(&self) -> anyhow::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(self.dir.path())? {
            let entry = entry?;
            let name = entry.file_name();
            let number = name
                .to_str()
                .and_then(|n| n.strip_suffix(".eml"))
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(number) = number {
                files.push((number, entry.path()));
            }
        }
        files.sort();
        Ok(files.into_iter().map(|(_, path)| path).collect())
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One received email, parsed with the `mailparse` crate.
#[derive(Debug, Clone)]
pub struct ReceivedEmail {
    /// The message as received (lossy if it is not UTF-8).
    pub raw: String,
    /// Every header in order, values decoded (RFC 2047 too).
    pub headers: Vec<(String, String)>,
    /// With angle brackets, as sent.
    pub message_id: Option<String>,
    /// These three decoded; "" when absent.
    pub to: String,
    pub from: String,
    pub subject: String,
    /// The first text/plain part that is not an attachment, decoded
    /// (transfer encoding and charset).
    pub text: Option<String>,
    /// The first text/html part that is not an attachment, decoded.
    pub html: Option<String>,
    /// The top-level mimetype, e.g. multipart/alternative.
    pub content_type: String,
}

impl ReceivedEmail {
    fn parse(raw: &[u8]) -> anyhow::Result<Self> {
        let mail = mailparse::parse_mail(raw)?;
        let first = |name: &str| mail.headers.get_first_value(name).map(|v| v.trim().to_owned());
        Ok(Self {
            raw: String::from_utf8_lossy(raw).into_owned(),
            headers: mail.headers.iter().map(|h| (h.get_key(), h.get_value())).collect(),
            message_id: first("Message-ID"),
            to: first("To").unwrap_or_default(),
            from: first("From").unwrap_or_default(),
            subject: first("Subject").unwrap_or_default(),
            text: body_of(&mail, "text/plain")?,
            html: body_of(&mail, "text/html")?,
            content_type: mail.ctype.mimetype.clone(),
        })
    }

    /// The first header of that name (case-insensitive), decoded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// The decoded body of the first part of `mimetype`, depth first, that is
/// not an attachment.
fn body_of(part: &ParsedMail, mimetype: &str) -> anyhow::Result<Option<String>> {
    if part.ctype.mimetype == mimetype && part.get_content_disposition().disposition != DispositionType::Attachment {
        return Ok(Some(part.get_body()?));
    }
    for sub in &part.subparts {
        if let Some(body) = body_of(sub, mimetype)? {
            return Ok(Some(body));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;

    use super::*;

    const WAIT: Duration = Duration::from_secs(10);

    /// A minimal SMTP client for one conversation: the server's reply to
    /// each line sent.
    struct Client(BufReader<TcpStream>);

    impl Client {
        async fn connect(port: u16) -> anyhow::Result<Self> {
            let mut client = Self(BufReader::new(TcpStream::connect(("127.0.0.1", port)).await?));
            client.expect("220").await?;
            Ok(client)
        }

        /// One reply, all its lines: every line but the last has a '-'
        /// after the code ("250-SIZE ...", then "250 HELP").
        async fn reply(&mut self) -> anyhow::Result<String> {
            let mut reply = String::new();
            loop {
                let mut line = String::new();
                if self.0.read_line(&mut line).await? == 0 {
                    bail!("the connection closed; so far: {reply:?}");
                }
                reply.push_str(&line);
                if line.as_bytes().get(3) != Some(&b'-') {
                    return Ok(reply);
                }
            }
        }

        async fn expect(&mut self, code: &str) -> anyhow::Result<String> {
            let reply = self.reply().await?;
            anyhow::ensure!(reply.starts_with(code), "expected {code}, got {reply:?}");
            Ok(reply)
        }

        async fn send(&mut self, line: &str) -> anyhow::Result<String> {
            self.0.get_mut().write_all(format!("{line}\r\n").as_bytes()).await?;
            self.reply().await
        }
    }

    /// Sends one multipart/alternative message (UTF-8 subject and sender
    /// name as RFC 2047 encoded words, a quoted-printable text part, a
    /// base64 HTML part); returns the reply to its DATA.
    async fn send_message(port: u16, message_id: &str) -> anyhow::Result<String> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let subject = format!("=?utf-8?b?{}?=", b64.encode("Grüße aus Zürich ✓"));
        let html = b64.encode("<p>Grüße, Ana!</p>");
        let message = [
            "From: =?utf-8?q?Caf=C3=A9_Ana?= <noreply@leadhost.test>",
            "To: ana@example.com",
            &format!("Subject: {subject}"),
            &format!("Message-ID: {message_id}"),
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative; boundary=\"b1\"",
            "",
            "--b1",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            "Gr=C3=BC=C3=9Fe, Ana!",
            "--b1",
            "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: base64",
            "",
            &html,
            "--b1--",
            // The lone dot that ends DATA.
            ".",
        ]
        .join("\r\n");

        let mut client = Client::connect(port).await?;
        client.send("EHLO test.localhost").await?;
        client.send("MAIL FROM:<noreply@leadhost.test>").await?;
        client.send("RCPT TO:<ana@example.com>").await?;
        let go = client.send("DATA").await?;
        anyhow::ensure!(go.starts_with("354"), "DATA: {go:?}");
        let answer = client.send(&message).await?;
        client.send("QUIT").await?;
        Ok(answer)
    }

    #[tokio::test]
    async fn smtp_sink_receives_refuses_stops_and_restarts() -> anyhow::Result<()> {
        let mut sink = SmtpSink::start().await?;
        let port = sink.port();
        assert_eq!(sink.url(), format!("smtp://127.0.0.1:{port}"));

        let answer = send_message(port, "<first@leadhost.test>").await?;
        assert!(answer.starts_with("250"), "{answer:?}");
        let received = sink.wait_for(1, WAIT).await?;
        let [email] = &received[..] else {
            bail!("expected one message, got {}", received.len());
        };
        assert_eq!(email.message_id.as_deref(), Some("<first@leadhost.test>"));
        assert_eq!(email.subject, "Grüße aus Zürich ✓");
        assert_eq!(email.from, "Café Ana <noreply@leadhost.test>");
        assert_eq!(email.to, "ana@example.com");
        assert_eq!(email.content_type, "multipart/alternative");
        assert_eq!(email.text.as_deref().map(str::trim_end), Some("Grüße, Ana!"));
        assert_eq!(email.html.as_deref(), Some("<p>Grüße, Ana!</p>"));
        assert_eq!(email.header("mime-version"), Some("1.0"));
        assert!(email.raw.contains("Gr=C3=BC=C3=9Fe, Ana!"));

        // A temporary failure: refused at DATA, logged, not stored.
        sink.answer_with("451 4.3.0 try again later")?;
        let answer = send_message(port, "<second@leadhost.test>").await?;
        assert!(answer.starts_with("451"), "{answer:?}");
        assert_eq!(sink.refused()?, ["<second@leadhost.test>"]);
        assert_eq!(sink.messages()?.len(), 1);

        // Stopped: nothing listens; the messages stay.
        sink.stop();
        let refused = TcpStream::connect(("127.0.0.1", port)).await;
        assert_eq!(
            refused.err().map(|e| e.kind()),
            Some(std::io::ErrorKind::ConnectionRefused)
        );
        assert_eq!(sink.messages()?.len(), 1);

        // Back on the same port, accepting again; the numbering continues.
        sink.answer_with("")?;
        sink.restart().await?;
        assert_eq!(sink.port(), port);
        let answer = send_message(port, "<third@leadhost.test>").await?;
        assert!(answer.starts_with("250"), "{answer:?}");
        let received = sink.wait_for(2, WAIT).await?;
        let ids: Vec<_> = received.iter().map(|e| e.message_id.as_deref()).collect();
        assert_eq!(ids, [Some("<first@leadhost.test>"), Some("<third@leadhost.test>")]);
        Ok(())
    }
}
