//! A browser's part in the server-rendered pages, over plain HTTP: it keeps
//! the cookies the server sets, does not follow redirects (tests look at
//! them), and reads each page's CSRF token as a form would carry it.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};

use crate::TestServer;

/// One page answer.
#[derive(Debug)]
pub struct PageAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl PageAnswer {
    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The `_csrf` value of the page's first form that has one.
    pub fn csrf(&self) -> Option<String> {
        hidden_value(&self.html, "_csrf")
    }

    /// The `Set-Cookie` header naming `name`, whole (with its attributes).
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }
}

/// The value of the first hidden input named `name` in `html`.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    rest.split('"').next().map(str::to_owned)
}

/// The text an HTML attribute or element holds, its escapes undone.
pub fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A signed-out (or, after `log_in`, signed-in) visitor of one server.
pub struct PageVisitor<'s> {
    server: &'s TestServer,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl<'s> PageVisitor<'s> {
    pub fn new(server: &'s TestServer) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        Self {
            server,
            http,
            cookies: BTreeMap::new(),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    pub fn forget_cookies(&mut self) {
        self.cookies.clear();
    }

    fn keep_cookies(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let pair = value.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                let expired = value.is_empty() || value_has_max_age_zero(pair, headers);
                if expired {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn answer(&mut self, response: reqwest::Response) -> anyhow::Result<PageAnswer> {
        let status = response.status();
        let headers = response.headers().clone();
        self.keep_cookies(&headers);
        Ok(PageAnswer {
            status,
            headers,
            html: response.text().await?,
        })
    }

    pub async fn get(&mut self, path: &str) -> anyhow::Result<PageAnswer> {
        let response = self
            .http
            .get(self.server.url(path))
            .header(COOKIE, self.cookie_header())
            .header("accept-language", "en")
            .send()
            .await?;
        self.answer(response).await
    }

    /// Posts a form as a browser would (urlencoded), with exactly the
    /// fields given (a test adds `_csrf` itself, or leaves it out).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> anyhow::Result<PageAnswer> {
        let body: String = form_urlencoded_pairs(fields);
        let response = self
            .http
            .post(self.server.url(path))
            .header(COOKIE, self.cookie_header())
            .header("accept-language", "en")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await?;
        self.answer(response).await
    }

    /// Logs in through the login page; the answer is the login's own (a
    /// redirect on success).
    pub async fn log_in(&mut self, tenant: &str, email: &str, password: &str) -> anyhow::Result<PageAnswer> {
        let form = self.get(&format!("/login?tenant={tenant}")).await?;
        anyhow::ensure!(form.status == StatusCode::OK, "login page: {}", form.status);
        let csrf = form
            .csrf()
            .ok_or_else(|| anyhow::anyhow!("the login page has no CSRF field"))?;
        self.post(
            "/login",
            &[
                ("tenant", tenant),
                ("email", email),
                ("password", password),
                ("_csrf", &csrf),
            ],
        )
        .await
    }
}

fn value_has_max_age_zero(pair: &str, headers: &HeaderMap) -> bool {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with(pair) && v.contains("Max-Age=0"))
}

fn form_urlencoded_pairs(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
