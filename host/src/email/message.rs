//! Turns an outbox row into an RFC 5322 message, ready for the SMTP relay.
//!
//! Every value that ends up in a header comes from tenants or leads, so each one has its CR and LF
//! replaced before use: a header can never be ended early and a second one smuggled in after it.

use std::error::Error as StdError;

use lettre::Message;
use lettre::address::AddressError;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};

/// An email as the outbox row holds it, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// Without angle brackets, e.g. "0192...@leadhost.example"; the same on every attempt, so that a
    /// retry after a lost answer is recognisable as the same message.
    pub message_id: String,
    /// The tenant's sender identity, "Name <addr>" or "addr".
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The one-click unsubscribe URL (https or http); none for an account's
    /// own email (a password reset), which is no mailing to leave.
    pub unsubscribe_url: Option<String>,
}

/// Why an [`OutgoingEmail`] cannot become a message. None of these get better on a retry of the same row.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("the {field} address {value:?} is invalid: {reason}")]
    InvalidAddress {
        /// "from" or "to".
        field: &'static str,
        value: String,
        #[source]
        reason: AddressError,
    },
    #[error("the message id {0:?} is not of the form left@right (printable ASCII, no brackets)")]
    InvalidMessageId(String),
    #[error("the unsubscribe URL {0:?} is not an http(s) URL of printable ASCII without angle brackets")]
    InvalidUnsubscribeUrl(String),
    #[error("the message cannot be assembled: {0}")]
    Assembly(#[from] lettre::error::Error),
}

impl MessageError {
    /// Whether the recipient's address is what is wrong. Everything else (the tenant's sender, the
    /// unsubscribe URL, the message id) is the server's or the tenant's configuration, and no reason to
    /// suppress the address.
    pub fn is_recipients_fault(&self) -> bool {
        matches!(self, Self::InvalidAddress { field: "to", .. })
    }
}

/// Builds the message: From, To, Subject, Message-ID, the RFC 8058 one-click unsubscribe headers, and a
/// text/plain body, or multipart/alternative (text, then HTML) when there is HTML. Bodies are UTF-8.
pub fn build(email: &OutgoingEmail) -> Result<Message, MessageError> {
    let from = parse_mailbox("from", &email.from)?;
    let to = parse_mailbox("to", &email.to)?;
    let message_id = checked_message_id(&email.message_id)?;
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(single_line(&email.subject))
        .message_id(Some(format!("<{message_id}>")));
    if let Some(url) = &email.unsubscribe_url {
        builder = builder.header(ListUnsubscribe::new(url)?).header(ListUnsubscribePost);
    }

    let message = match &email.html {
        None => builder.singlepart(SinglePart::plain(email.text.clone()))?,
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(email.text.clone(), html.clone()))?,
    };
    Ok(message)
}

/// The message as it goes over the wire (headers, blank line, encoded body).
pub fn formatted(email: &OutgoingEmail) -> Result<Vec<u8>, MessageError> {
    Ok(build(email)?.formatted())
}

/// `List-Unsubscribe: <url>` (RFC 2369), the URL that a mailbox provider's "unsubscribe" button calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListUnsubscribe {
    url: String,
}

impl ListUnsubscribe {
    /// Takes the URL from the outbox row, with CR and LF replaced. Only http(s) URLs in printable ASCII
    /// are taken: anything else would be RFC 2047-encoded or break out of the angle brackets, and no mail
    /// client would call it.
    pub fn new(url: &str) -> Result<Self, MessageError> {
        let url = single_line(url);
        let lowercase = url.to_ascii_lowercase();
        let scheme_end = ["https://", "http://"]
            .into_iter()
            .find(|scheme| lowercase.starts_with(scheme))
            .map(str::len);
        let is_valid = scheme_end.is_some_and(|end| url.len() > end)
            && url
                .bytes()
                .all(|byte| byte.is_ascii_graphic() && byte != b'<' && byte != b'>');
        if is_valid {
            Ok(Self { url })
        } else {
            Err(MessageError::InvalidUnsubscribeUrl(url))
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(value: &str) -> Result<Self, Box<dyn StdError + Send + Sync>> {
        let url = value
            .trim()
            .strip_prefix('<')
            .and_then(|rest| rest.strip_suffix('>'))
            .ok_or("List-Unsubscribe is not of the form <url>")?;
        Ok(Self::new(url)?)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.url))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): tells the mailbox provider that a POST
/// to the List-Unsubscribe URL unsubscribes without any further page, so it may offer a one-click button.
/// Providers honour it only when a DKIM signature covers both headers, which is the relay's job here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListUnsubscribePost;

impl ListUnsubscribePost {
    const VALUE: &'static str = "List-Unsubscribe=One-Click";
}

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(value: &str) -> Result<Self, Box<dyn StdError + Send + Sync>> {
        if value.trim() == Self::VALUE {
            Ok(Self)
        } else {
            Err(format!("List-Unsubscribe-Post must be {:?}", Self::VALUE).into())
        }
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), Self::VALUE.to_owned())
    }
}

/// The value with every CR and LF replaced by a space, then trimmed: fit for one header line.
fn single_line(value: &str) -> String {
    value.replace(['\r', '\n'], " ").trim().to_owned()
}

/// The Message-ID an email of the outbox carries on every attempt: its id
/// at the sender's domain.
pub fn message_id(email_id: &str, from: &str) -> String {
    let domain = from
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>').trim())
        .filter(|d| !d.is_empty())
        .unwrap_or("leadhost.local");
    format!("{email_id}@{domain}")
}

/// Checks a sender identity ("Acme Sales <sales@acme.example>") as a
/// message's `From` would take it.
pub fn check_sender(from: &str) -> Result<(), MessageError> {
    parse_mailbox("from", from).map(|_| ())
}

fn parse_mailbox(field: &'static str, value: &str) -> Result<Mailbox, MessageError> {
    let value = single_line(value);
    value
        .parse()
        .map_err(|reason| MessageError::InvalidAddress { field, value, reason })
}

/// The id with CR and LF replaced, if it is a bare RFC 5322 msg-id: "left@right" in printable ASCII,
/// without the angle brackets that [`build`] puts around it.
fn checked_message_id(id: &str) -> Result<String, MessageError> {
    let id = single_line(id);
    let is_valid = id
        .split_once('@')
        .is_some_and(|(left, right)| !left.is_empty() && !right.is_empty())
        && id
            .bytes()
            .all(|byte| byte.is_ascii_graphic() && byte != b'<' && byte != b'>');
    if is_valid {
        Ok(id)
    } else {
        Err(MessageError::InvalidMessageId(id))
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    fn email() -> OutgoingEmail {
        OutgoingEmail {
            message_id: "0192f0c4-7b1e@leadhost.example".to_owned(),
            from: "Acme Sales <sales@acme.example>".to_owned(),
            to: "lead@example.com".to_owned(),
            subject: "Your quote".to_owned(),
            text: "Hello".to_owned(),
            html: None,
            unsubscribe_url: Some("https://leadhost.example/u/abc123".to_owned()),
        }
    }

    fn formatted_text(email: &OutgoingEmail) -> String {
        let bytes = formatted(email).expect("the email builds");
        String::from_utf8(bytes).expect("a formatted message is ASCII")
    }

    /// The header block: everything before the first blank line.
    fn header_lines(message: &str) -> Vec<&str> {
        message.split("\r\n").take_while(|line| !line.is_empty()).collect()
    }

    fn count_headers(message: &str, name: &str) -> usize {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        header_lines(message)
            .into_iter()
            .filter(|line| line.to_ascii_lowercase().starts_with(&prefix))
            .count()
    }

    /// Decodes every base64 block in the message that follows a `Content-Transfer-Encoding: base64` header.
    fn decoded_base64_parts(message: &str) -> Vec<String> {
        message
            .split("Content-Transfer-Encoding: base64\r\n\r\n")
            .skip(1)
            .map(|rest| {
                let encoded: String = rest
                    .split("\r\n")
                    .take_while(|line| !line.is_empty() && !line.starts_with("--"))
                    .collect();
                let bytes = STANDARD.decode(encoded).expect("valid base64");
                String::from_utf8(bytes).expect("UTF-8 body")
            })
            .collect()
    }

    #[test]
    fn crlf_in_subject_cannot_inject_a_header() {
        let email = OutgoingEmail {
            subject: "Hi\r\nBcc: evil@x".to_owned(),
            ..email()
        };
        let message = formatted_text(&email);

        assert_eq!(count_headers(&message, "Subject"), 1, "{message}");
        assert_eq!(count_headers(&message, "Bcc"), 0, "{message}");
        assert!(
            header_lines(&message).contains(&"Subject: Hi  Bcc: evil@x"),
            "{message}"
        );
        assert!(
            !build(&email)
                .unwrap()
                .envelope()
                .to()
                .iter()
                .any(|to| to.to_string() == "evil@x")
        );
    }

    #[test]
    fn crlf_in_addresses_makes_them_invalid_rather_than_injected() {
        let to = OutgoingEmail {
            to: "lead@example.com\r\nBcc: evil@x".to_owned(),
            ..email()
        };
        assert!(matches!(
            build(&to),
            Err(MessageError::InvalidAddress { field: "to", .. })
        ));

        let from = OutgoingEmail {
            from: "Acme\r\nBcc: evil@x <sales@acme.example>".to_owned(),
            ..email()
        };
        assert!(matches!(
            build(&from),
            Err(MessageError::InvalidAddress { field: "from", .. })
        ));
    }

    #[test]
    fn crlf_in_a_display_name_becomes_a_space() {
        let email = OutgoingEmail {
            from: "Acme\r\nSales <sales@acme.example>".to_owned(),
            ..email()
        };
        let message = formatted_text(&email);
        assert_eq!(count_headers(&message, "From"), 1, "{message}");
        assert!(
            header_lines(&message).contains(&"From: \"Acme Sales\" <sales@acme.example>"),
            "{message}"
        );
    }

    #[test]
    fn crlf_in_unsubscribe_url_and_message_id_is_refused() {
        let url = OutgoingEmail {
            unsubscribe_url: Some("https://x.example/u\r\nBcc: evil@x".to_owned()),
            ..email()
        };
        assert!(matches!(build(&url), Err(MessageError::InvalidUnsubscribeUrl(_))));

        let id = OutgoingEmail {
            message_id: "a@b\r\nBcc: evil@x".to_owned(),
            ..email()
        };
        assert!(matches!(build(&id), Err(MessageError::InvalidMessageId(_))));
    }

    #[test]
    fn a_trailing_newline_is_trimmed_not_refused() {
        let email = OutgoingEmail {
            to: "lead@example.com\n".to_owned(),
            message_id: "id@leadhost.example\r\n".to_owned(),
            unsubscribe_url: Some("https://leadhost.example/u/abc123\n".to_owned()),
            ..email()
        };
        let message = formatted_text(&email);
        assert!(header_lines(&message).contains(&"To: lead@example.com"), "{message}");
        assert!(
            header_lines(&message).contains(&"Message-ID: <id@leadhost.example>"),
            "{message}"
        );
    }

    #[test]
    fn message_id_and_unsubscribe_headers_are_set() {
        let message = formatted_text(&email());
        let headers = header_lines(&message);

        assert!(
            headers.contains(&"Message-ID: <0192f0c4-7b1e@leadhost.example>"),
            "{message}"
        );
        assert!(
            headers.contains(&"List-Unsubscribe: <https://leadhost.example/u/abc123>"),
            "{message}"
        );
        assert!(
            headers.contains(&"List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{message}"
        );
        assert!(
            headers.contains(&"From: \"Acme Sales\" <sales@acme.example>"),
            "{message}"
        );
    }

    #[test]
    fn unsubscribe_headers_parse_back() {
        let message = build(&email()).unwrap();
        let unsubscribe = message
            .headers()
            .get::<ListUnsubscribe>()
            .expect("List-Unsubscribe parses");
        assert_eq!(unsubscribe.url(), "https://leadhost.example/u/abc123");
        assert_eq!(
            message.headers().get::<ListUnsubscribePost>(),
            Some(ListUnsubscribePost)
        );
    }

    #[test]
    fn an_accounts_email_has_no_unsubscribe_headers() {
        let reset = OutgoingEmail {
            unsubscribe_url: None,
            ..email()
        };
        let message = build(&reset).unwrap();
        assert!(message.headers().get::<ListUnsubscribe>().is_none());
        assert!(message.headers().get::<ListUnsubscribePost>().is_none());
    }

    #[test]
    fn unsubscribe_url_must_be_http() {
        for url in [
            "mailto:unsub@x.example",
            "https://",
            "javascript:alert(1)",
            "https://x.example/<u>",
            "",
        ] {
            assert!(ListUnsubscribe::new(url).is_err(), "{url:?} was taken");
        }
        assert!(ListUnsubscribe::new("HTTP://x.example/u").is_ok());
    }

    #[test]
    fn bad_address_says_which_and_why() {
        let bad_sender = OutgoingEmail {
            from: "not an address".to_owned(),
            ..email()
        };
        let error = build(&bad_sender).unwrap_err();
        assert!(matches!(error, MessageError::InvalidAddress { field: "from", .. }));
        assert!(error.to_string().contains("from address \"not an address\""), "{error}");
        assert!(!error.is_recipients_fault());

        let bad_recipient = OutgoingEmail {
            to: "not an address".to_owned(),
            ..email()
        };
        assert!(build(&bad_recipient).unwrap_err().is_recipients_fault());
    }

    #[test]
    fn text_only_is_a_single_text_plain_part() {
        let message = formatted_text(&email());
        assert!(
            header_lines(&message).contains(&"Content-Type: text/plain; charset=utf-8"),
            "{message}"
        );
        assert!(!message.contains("multipart"), "{message}");
    }

    #[test]
    fn html_makes_multipart_alternative_with_text_first() {
        let email = OutgoingEmail {
            html: Some("<p>Hello</p>".to_owned()),
            ..email()
        };
        let message = formatted_text(&email);

        assert!(message.contains("Content-Type: multipart/alternative;"), "{message}");
        let plain = message
            .find("Content-Type: text/plain; charset=utf-8")
            .expect("a text part");
        let html = message
            .find("Content-Type: text/html; charset=utf-8")
            .expect("an html part");
        assert!(plain < html, "the text part must come first: {message}");
    }

    #[test]
    fn chinese_text_survives_in_every_part_and_the_subject() {
        let email = OutgoingEmail {
            subject: "你好".to_owned(),
            text: "你好，世界".to_owned(),
            html: Some("<p>你好，世界</p>".to_owned()),
            ..email()
        };
        let message = formatted_text(&email);

        assert!(
            header_lines(&message).contains(&"Subject: =?utf-8?b?5L2g5aW9?="),
            "{message}"
        );
        assert_eq!(
            decoded_base64_parts(&message),
            ["你好，世界", "<p>你好，世界</p>"],
            "{message}"
        );
    }
}
