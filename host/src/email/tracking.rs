//! Open and click tracking: links in an email rewritten to tracked ones (and
//! an open pixel added) when it is written, and who made an open or a click
//! when it arrives. Mail-privacy proxies fetch every image and link scanners
//! follow every link, seconds after delivery and with their own user
//! agents; theirs are recorded apart from a person's and never score.

use std::time::Duration;

use super::links;

/// Opens and clicks this soon after delivery are a machine's.
pub const MACHINE_WINDOW: Duration = Duration::from_secs(30);

/// Who opened or clicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reader {
    Person,
    /// Fetched the images for the reader (Gmail's, Yahoo's, Apple's proxies).
    PrivacyProxy,
    /// Followed the links to check them (Mimecast, Proofpoint, Safe Links ...).
    LinkScanner,
}

impl Reader {
    pub fn as_str(self) -> &'static str {
        match self {
            Reader::Person => "person",
            Reader::PrivacyProxy => "privacy_proxy",
            Reader::LinkScanner => "link_scanner",
        }
    }
}

/// An open or a click.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engagement {
    Opened,
    Clicked,
}

impl Engagement {
    /// The behaviour event a person's engagement records.
    pub fn event_kind(self) -> &'static str {
        match self {
            Engagement::Opened => "email_opened",
            Engagement::Clicked => "email_clicked",
        }
    }
}

const PROXY_AGENTS: [&str; 5] = [
    "googleimageproxy",
    "ggpht.com",
    "yahoomailproxy",
    "outlook-proxy",
    "mailprivacy",
];
const SCANNER_AGENTS: [&str; 14] = [
    "bot",
    "spider",
    "crawler",
    "scan",
    "barracuda",
    "mimecast",
    "proofpoint",
    "urldefense",
    "safelinks",
    "microsoft office",
    "python-requests",
    "curl/",
    "go-http-client",
    "wget",
];

/// Who made an open or a click, from its user agent and how long after
/// delivery it came (`None`: not delivered yet, or unknown).
pub fn reader(engagement: Engagement, user_agent: Option<&str>, since_sent: Option<Duration>) -> Reader {
    let machine = match engagement {
        Engagement::Opened => Reader::PrivacyProxy,
        Engagement::Clicked => Reader::LinkScanner,
    };
    let agent = user_agent.unwrap_or_default().to_ascii_lowercase();
    let known = |list: &[&str]| list.iter().any(|a| agent.contains(a));
    if agent.trim().is_empty() || known(&PROXY_AGENTS) || known(&SCANNER_AGENTS) {
        return machine;
    }
    match since_sent {
        Some(since) if since >= MACHINE_WINDOW => Reader::Person,
        _ => machine,
    }
}

/// The HTML body with each `href="http…"` made a tracked link and the open
/// pixel at its end.
pub fn track_html(html: &str, public_url: &str, key: &str, email_id: &str) -> String {
    let mut out = String::with_capacity(html.len() + 512);
    let mut rest = html;
    while let Some(at) = rest.find("href=") {
        let (before, from) = rest.split_at(at + "href=".len());
        out.push_str(before);
        let quote = match from.chars().next() {
            Some(q @ ('"' | '\'')) => q,
            _ => {
                rest = from;
                continue;
            }
        };
        let Some(end) = from[1..].find(quote) else {
            rest = from;
            break;
        };
        let escaped = &from[1..1 + end];
        let target = unescape(escaped);
        if target.starts_with("http://") || target.starts_with("https://") {
            let tracked = links::click_url(public_url, key, email_id, &target);
            out.push(quote);
            out.push_str(&tracked);
            out.push(quote);
        } else {
            out.push_str(&from[..end + 2]);
        }
        rest = &from[end + 2..];
    }
    out.push_str(rest);
    let pixel = links::open_url(public_url, key, email_id);
    out.push_str(&format!(
        "\n<img src=\"{pixel}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">\n"
    ));
    out
}

/// The plain-text body with each http(s) URL made a tracked link.
pub fn track_text(text: &str, public_url: &str, key: &str, email_id: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut rest = text;
    while let Some(at) = ["https://", "http://"].iter().filter_map(|p| rest.find(p)).min() {
        out.push_str(&rest[..at]);
        let from = &rest[at..];
        let end = from
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | ')'))
            .unwrap_or(from.len());
        // A sentence's full stop or comma is not part of the link.
        let url = from[..end].trim_end_matches(['.', ',', ';', ':', '!', '?']);
        out.push_str(&links::click_url(public_url, key, email_id, url));
        rest = &from[url.len()..];
    }
    out.push_str(rest);
    out
}

fn unescape(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Option<Duration> = Some(Duration::from_secs(60));

    #[test]
    fn machines_are_told_from_people() {
        let browser = Some("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15");
        assert_eq!(reader(Engagement::Opened, browser, MINUTE), Reader::Person);
        assert_eq!(reader(Engagement::Clicked, browser, MINUTE), Reader::Person);
        let proxy = Some("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)");
        assert_eq!(reader(Engagement::Opened, proxy, MINUTE), Reader::PrivacyProxy);
        assert_eq!(
            reader(Engagement::Clicked, Some("Mimecast URL checker"), MINUTE),
            Reader::LinkScanner
        );
        // Seconds after delivery, even with a browser's agent: a machine.
        let soon = Some(Duration::from_secs(3));
        assert_eq!(reader(Engagement::Clicked, browser, soon), Reader::LinkScanner);
        assert_eq!(reader(Engagement::Opened, None, MINUTE), Reader::PrivacyProxy);
    }

    #[test]
    fn links_are_tracked_and_the_pixel_added() {
        let html = r#"<p><a href="https://acme.example/guide?a=1&amp;b=2">Guide</a> <a href="mailto:x@y">mail</a></p>"#;
        let tracked = track_html(html, "http://h", "k", "e1");
        assert!(!tracked.contains("href=\"https://acme.example"), "{tracked}");
        assert!(tracked.contains("href=\"http://h/email/click/e1."), "{tracked}");
        assert!(tracked.contains("href=\"mailto:x@y\""), "{tracked}");
        assert!(tracked.contains("<img src=\"http://h/email/open/e1."), "{tracked}");
        let token = tracked
            .split("/email/click/")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let id = links::verify("k", links::CLICK, token).unwrap();
        assert_eq!(links::click_target(id).unwrap().1, "https://acme.example/guide?a=1&b=2");

        let text = track_text(
            "Read https://acme.example/guide. Or http://x.example/a,b",
            "http://h",
            "k",
            "e1",
        );
        assert!(text.starts_with("Read http://h/email/click/e1."), "{text}");
        assert!(text.contains(". Or http://h/email/click/"), "{text}");
        assert_eq!(text.matches("/email/click/").count(), 2, "{text}");
    }
}
