//! The relay's connections: opened by leadhost with `TCP_NODELAY`, spoken
//! over by lettre's SMTP client, kept between sends.
//!
//! lettre's own transport opens its sockets with Nagle's algorithm on and
//! writes a message's body and its closing `.` in two writes: the second
//! waits until the relay acknowledges the first, which a relay delaying its
//! ACKs (Linux does, 40 ms) does only when its timer fires. That held each
//! connection to one message per 40 ms or more, and a campaign to about 700
//! emails/s over 32 connections (BENCHMARKS.md, "Nurture email"). So the
//! TCP connection is opened here, with `TCP_NODELAY`, and handed to lettre's
//! `AsyncSmtpConnection`, which speaks the protocol: greeting, EHLO,
//! STARTTLS, AUTH, the envelope and the data. (Implicit TLS, `smtps://`,
//! needs the TLS handshake before the greeting, which lettre does only on a
//! socket it opens itself: those connections keep Nagle's algorithm.)

use std::borrow::Cow;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use lettre::transport::smtp::{self, SMTP_PORT, SUBMISSION_PORT, SUBMISSIONS_PORT};
use url::Url;

/// Where the relay is and how to talk to it, as lettre's `from_url` reads a
/// URL: `smtp://` (plain, or STARTTLS with `?tls=required|opportunistic`),
/// `smtps://` (implicit TLS); the path names this client in EHLO; a
/// password in the URL means AUTH.
pub struct RelayConnections {
    host: String,
    port: u16,
    tls: Tls,
    hello: ClientId,
    credentials: Option<Credentials>,
    /// Who logs in, for [`Self::describe`].
    user: Option<String>,
    connect_timeout: Duration,
    /// Parked connections older than this are closed, not reused, before
    /// the relay times them out on its side.
    idle_timeout: Duration,
    /// Connections between sends, with when each was parked.
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

/// Why a URL cannot be used (its text never quotes the URL, which may hold
/// a password).
#[derive(Debug, thiserror::Error)]
pub enum RelayUrlError {
    #[error("the SMTP URL does not parse: {0}")]
    InvalidUrl(#[from] url::ParseError),
    #[error("the SMTP URL has no host")]
    NoHost,
    #[error(
        "unknown scheme {scheme:?} or tls parameter {tls:?}: use smtp://, smtp://...?tls=required|opportunistic or smtps://"
    )]
    Unsupported { scheme: String, tls: Option<String> },
    #[error("the SMTP URL's user or password is not UTF-8 once decoded")]
    NotUtf8,
    #[error("TLS cannot be set up for the relay's host: {0}")]
    Tls(#[source] smtp::Error),
}

/// Why a send failed.
#[derive(Debug)]
pub enum SendFailure {
    /// The relay answered, refused or broke off the SMTP conversation.
    Smtp(smtp::Error),
    /// No TCP connection: refused, unreachable or timed out.
    Connect(String),
}

impl fmt::Display for SendFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendFailure::Smtp(error) => error.fmt(f),
            SendFailure::Connect(reason) => write!(f, "could not connect to the relay: {reason}"),
        }
    }
}

impl From<smtp::Error> for SendFailure {
    fn from(error: smtp::Error) -> Self {
        SendFailure::Smtp(error)
    }
}

impl RelayConnections {
    pub fn from_url(url: &Url, connect_timeout: Duration, idle_timeout: Duration) -> Result<Self, RelayUrlError> {
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or(RelayUrlError::NoHost)?;
        let tls_param = url
            .query_pairs()
            .find(|(key, _)| key == "tls")
            .map(|(_, v)| v.into_owned());
        let parameters = || TlsParameters::new(host.to_owned()).map_err(RelayUrlError::Tls);
        let (tls, default_port) = match (url.scheme(), tls_param.as_deref()) {
            ("smtp", None) => (Tls::None, SMTP_PORT),
            ("smtp", Some("required")) => (Tls::Required(parameters()?), SUBMISSION_PORT),
            ("smtp", Some("opportunistic")) => (Tls::Opportunistic(parameters()?), SUBMISSION_PORT),
            ("smtps", _) => (Tls::Wrapper(parameters()?), SUBMISSIONS_PORT),
            (scheme, tls) => {
                return Err(RelayUrlError::Unsupported {
                    scheme: scheme.to_owned(),
                    tls: tls.map(str::to_owned),
                });
            }
        };
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_owned()),
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(Cow::into_owned)
                .map_err(|_| RelayUrlError::NotUtf8)
        };
        // lettre authenticates only when the URL has a password.
        let (credentials, user) = match url.password() {
            Some(password) => {
                let user = decode(url.username())?;
                (Some(Credentials::new(user.clone(), decode(password)?)), Some(user))
            }
            None => (None, None),
        };
        Ok(Self {
            host: host.to_owned(),
            port: url.port().unwrap_or(default_port),
            tls,
            hello,
            credentials,
            user,
            connect_timeout,
            idle_timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Host, port, TLS mode and user, never the password: e.g.
    /// "smtp.example.com:587 (STARTTLS required, as alice)".
    pub fn describe(&self) -> String {
        let tls = match &self.tls {
            Tls::Wrapper(_) => "TLS",
            Tls::Required(_) => "STARTTLS required",
            Tls::Opportunistic(_) => "STARTTLS if offered",
            _ => "no TLS",
        };
        let login = self.user.as_ref().map(|u| format!(", as {u}")).unwrap_or_default();
        format!("{}:{} ({tls}{login})", self.host, self.port)
    }

    /// Sends one message on a parked connection (checked with NOOP) or a
    /// new one. A connection that failed in any way is closed, never parked:
    /// the next send must not read this one's late answers.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Response, SendFailure> {
        let mut connection = self.checkout().await?;
        let sent = connection.send(envelope, message).await;
        match sent {
            Ok(_) => self.park(connection),
            Err(_) => connection.abort().await,
        }
        Ok(sent?)
    }

    async fn checkout(&self) -> Result<AsyncSmtpConnection, SendFailure> {
        while let Some((mut connection, parked)) = self.unpark() {
            if parked.elapsed() < self.idle_timeout && connection.test_connected().await {
                return Ok(connection);
            }
            connection.abort().await;
        }
        self.connect().await
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendFailure> {
        let address = (self.host.as_str(), self.port);
        let mut connection = match &self.tls {
            Tls::Wrapper(parameters) => {
                AsyncSmtpConnection::connect_tokio1(
                    address,
                    Some(self.connect_timeout),
                    &self.hello,
                    Some(parameters.clone()),
                    None,
                )
                .await?
            }
            _ => {
                let stream = tokio::time::timeout(self.connect_timeout, tokio::net::TcpStream::connect(address))
                    .await
                    .map_err(|_| SendFailure::Connect(format!("no answer within {:?}", self.connect_timeout)))?
                    .map_err(|e| SendFailure::Connect(e.to_string()))?;
                stream
                    .set_nodelay(true)
                    .map_err(|e| SendFailure::Connect(e.to_string()))?;
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello).await?
            }
        };
        match &self.tls {
            Tls::Opportunistic(parameters) if connection.can_starttls() => {
                connection.starttls(parameters.clone(), &self.hello).await?
            }
            Tls::Required(parameters) => connection.starttls(parameters.clone(), &self.hello).await?,
            _ => {}
        }
        if let Some(credentials) = &self.credentials {
            connection.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(connection)
    }

    fn unpark(&self) -> Option<(AsyncSmtpConnection, Instant)> {
        // The most recently parked first: the likeliest to be still open.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    fn park(&self, connection: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.push((connection, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(url: &str) -> Result<RelayConnections, RelayUrlError> {
        let url = Url::parse(url).expect("a URL");
        RelayConnections::from_url(&url, Duration::from_secs(1), Duration::from_secs(1))
    }

    #[test]
    fn a_url_reads_as_lettres_from_url_reads_it() {
        let plain = relay("smtp://localhost").expect("plain");
        assert_eq!((plain.port, plain.describe().as_str()), (25, "localhost:25 (no TLS)"));
        let submission =
            relay("smtp://al%40ice:p%C3%A4ss@relay.example/client.example?tls=required").expect("STARTTLS");
        assert_eq!(
            submission.describe(),
            "relay.example:587 (STARTTLS required, as al@ice)",
            "the user is percent-decoded"
        );
        assert_eq!(
            submission.hello,
            ClientId::Domain("client.example".into()),
            "the path names us in EHLO"
        );
        assert!(submission.credentials.is_some());
        let wrapped = relay("smtps://relay.example:2465").expect("implicit TLS");
        assert_eq!(wrapped.describe(), "relay.example:2465 (TLS)");
        assert!(matches!(
            relay("smtp://relay.example?tls=sometimes"),
            Err(RelayUrlError::Unsupported { .. })
        ));
        assert!(matches!(relay("smtp:relay"), Err(RelayUrlError::NoHost)));
    }
}
