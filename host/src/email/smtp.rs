//! Sends [`OutgoingEmail`]s through the one SMTP relay the server is configured with, and sorts the
//! outcome into what the outbox needs to know: done, try again later, or never again to this address.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use lettre::transport::smtp;
use lettre::transport::smtp::response::Code;
use url::Url;

use super::message::{self, OutgoingEmail};
use super::relay_connections::{RelayConnections, RelayUrlError, SendFailure};

/// How long opening the TCP (and TLS) connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one whole send may take: handshake, envelope, body and the final answer. lettre 0.11 bounds
/// only the connect, so a relay that stops answering would otherwise hang the send for good
/// (lettre/lettre#1027). Relays usually answer the final DATA within seconds, even after scanning.
const SEND_DEADLINE: Duration = Duration::from_secs(30);
/// How many connections the relay gets: sends beyond it wait their turn (a relay usually allows a
/// handful per client).
const CONNECTIONS: usize = 32;
/// Parked connections older than this are closed, before the relay times them out on its side.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Reply codes of RFC 4954 that mean the relay refused *our* authentication. lettre reports them as
/// permanent, but they say nothing about the recipient: suppressing the address for them would
/// suppress every lead while the credentials are wrong.
const AUTHENTICATION_FAILURE_CODES: [u16; 4] = [530, 534, 535, 538];

/// The SMTP relay, configured by one URL (LEADHOST_SMTP_URL), as lettre reads it:
/// `smtp://host:port` (plain, for a local relay), `smtp://user:pass@host:587?tls=required` (STARTTLS),
/// `smtps://user:pass@host:465` (TLS). Connections are kept and reused (see `relay_connections`).
pub struct SmtpRelay {
    connections: RelayConnections,
    /// The URL without the password, for logs.
    description: String,
    /// One permit per connection (see [`CONNECTIONS`]).
    in_flight: tokio::sync::Semaphore,
}

/// Why LEADHOST_SMTP_URL cannot be used. Its messages never quote the URL, which may hold a password.
#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    #[error("the SMTP URL does not parse: {0}")]
    InvalidUrl(#[from] url::ParseError),
    #[error("the SMTP URL is not usable: {0}")]
    Unsupported(#[source] RelayUrlError),
}

/// What became of one attempt to hand an email to the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The server accepted it; its answer (e.g. "250 2.0.0 Ok: queued as X").
    Accepted { answer: String },
    /// Try again later: a 4xx answer, a refused or dropped connection, a timeout. `answer` says which.
    Transient { answer: String },
    /// Never again to this address: a 5xx answer to RCPT or DATA (the address is suppressed by the caller).
    Permanent { answer: String },
}

impl SmtpRelay {
    /// Sets up the relay (no connection is made until the first send).
    pub fn from_url(url: &str) -> Result<Self, SmtpConfigError> {
        let connections = RelayConnections::from_url(&Url::parse(url)?, CONNECT_TIMEOUT, IDLE_TIMEOUT)
            .map_err(SmtpConfigError::Unsupported)?;
        Ok(Self {
            description: connections.describe(),
            connections,
            in_flight: tokio::sync::Semaphore::new(CONNECTIONS),
        })
    }

    /// Host, port, TLS mode and user, never the password: e.g. "smtp.example.com:587 (STARTTLS required, as alice)".
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Hands the email to the relay once. Never fails: every way it can go wrong is an outcome.
    ///
    /// An email that cannot be built is not sent: permanent when the recipient's address is invalid,
    /// transient otherwise (a bad sender or unsubscribe URL is configuration, not the recipient's fault).
    ///
    /// A send that misses [`SEND_DEADLINE`] is dropped mid-conversation, and its connection with it
    /// (closed, never reused: the next send would read this one's late answers).
    pub async fn send(&self, email: &OutgoingEmail) -> SendOutcome {
        let message = match message::build(email) {
            Ok(message) => message,
            Err(error) => {
                let answer = format!("not sent: {error}");
                return if error.is_recipients_fault() {
                    SendOutcome::Permanent { answer }
                } else {
                    SendOutcome::Transient { answer }
                };
            }
        };
        let Ok(_permit) = self.in_flight.acquire().await else {
            return SendOutcome::Transient {
                answer: "the relay is shutting down".into(),
            };
        };
        let formatted = message.formatted();
        let send = self.connections.send(message.envelope(), &formatted);
        match tokio::time::timeout(SEND_DEADLINE, send).await {
            Ok(Ok(response)) => SendOutcome::Accepted {
                answer: reply_text(response.code(), response.message()),
            },
            Ok(Err(SendFailure::Smtp(error))) => classify(&error),
            Ok(Err(failure @ SendFailure::Connect(_))) => SendOutcome::Transient {
                answer: failure.to_string(),
            },
            Err(_elapsed) => SendOutcome::Transient {
                answer: format!("no answer from the relay within {SEND_DEADLINE:?}"),
            },
        }
    }
}

impl fmt::Debug for SmtpRelay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpRelay")
            .field("relay", &self.description)
            .finish_non_exhaustive()
    }
}

/// Sorts a failed send by the reply code it carries. Without one, the connection was refused, dropped,
/// timed out, or failed TLS or the handshake: all the relay's side, so worth another try.
///
/// lettre does not say which command got the answer, so a 5xx to MAIL FROM (a sender the relay will not
/// send for) or to the greeting is permanent too; only authentication failures are told apart.
fn classify(error: &smtp::Error) -> SendOutcome {
    let Some(code) = error.status() else {
        return SendOutcome::Transient {
            answer: error.to_string(),
        };
    };
    // lettre keeps the server's text (all lines, joined) as the error's source.
    let server_text = error.source().map(ToString::to_string);
    let answer = reply_text(code, server_text.as_deref());
    if error.is_permanent() && !AUTHENTICATION_FAILURE_CODES.contains(&u16::from(code)) {
        SendOutcome::Permanent { answer }
    } else {
        SendOutcome::Transient { answer }
    }
}

/// "250 2.0.0 Ok: queued as X": the code, then the server's lines joined by spaces.
fn reply_text<'a>(code: Code, lines: impl IntoIterator<Item = &'a str>) -> String {
    let mut text = code.to_string();
    for line in lines {
        text.push(' ');
        text.push_str(line);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn description(url: &str) -> String {
        SmtpRelay::from_url(url).expect("a usable URL").describe().to_owned()
    }

    #[test]
    fn description_has_host_port_and_tls_but_never_the_password() {
        assert_eq!(description("smtp://localhost:2525"), "localhost:2525 (no TLS)");
        assert_eq!(description("smtp://relay.example"), "relay.example:25 (no TLS)");
        assert_eq!(
            description("smtp://alice:s3cret@smtp.example.com?tls=required"),
            "smtp.example.com:587 (STARTTLS required, as alice)"
        );
        assert_eq!(
            description("smtps://alice:s3cret@smtp.example.com"),
            "smtp.example.com:465 (TLS, as alice)"
        );
        assert!(!description("smtps://alice:s3cret@smtp.example.com:2465").contains("s3cret"));
    }

    #[tokio::test]
    async fn from_url_refuses_what_lettre_cannot_use_without_quoting_it() {
        for url in [
            "not a url",
            "http://user:s3cret@relay.example",
            "smtp://user:s3cret@relay.example?tls=bogus",
        ] {
            let error = SmtpRelay::from_url(url).expect_err(url);
            assert!(!error.to_string().contains("s3cret"), "{error}");
        }
        let relay = SmtpRelay::from_url("smtp://user:s3cret@relay.example:2525").expect("a usable URL");
        assert_eq!(relay.describe(), "relay.example:2525 (no TLS, as user)");
        assert!(!format!("{relay:?}").contains("s3cret"));
    }
}
