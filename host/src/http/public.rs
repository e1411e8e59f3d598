//! Routes without a token: health, metrics, the public form page with its
//! submission route and its script and style sheet, and the email links.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::clock::Timestamp;
use crate::domain::{FormSlug, TenantSlug};
use crate::email::links;
use crate::email::tracking::{self, Engagement};
use crate::error::{ApiError, FieldError};
use crate::forms::page::{self, PageState};
use crate::forms::{assets, progressive, screening};
use crate::http::submission::{PageOutcome, PagePost, Rejected, Target, query_params, receive, receive_from_page};
use crate::i18n::{FormWords, Lang};
use crate::leads::engagement::EmailEngagement;
use crate::leads::unsubscribe::Unsubscribe;
use crate::storage::{EmailRecord, LeadVisibility, StoreError, new_id};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/assets/{file}", get(asset))
        .route("/f/{tenant}/{form}", get(show_form).post(submit_form))
        .route("/email/unsubscribe/{token}", get(confirm_unsubscribe).post(unsubscribe))
        .route("/email/open/{token}", get(open_pixel))
        .route("/email/click/{token}", get(follow_link))
}

/// The email and the signed id a token names, if its signature is the
/// email's tenant's for `purpose`.
async fn signed(state: &AppState, purpose: &str, token: &str) -> Result<Option<(EmailRecord, String)>, ApiError> {
    let Some(id) = links::id_of(token) else { return Ok(None) };
    let email_id = id.split('.').next().unwrap_or(id);
    let email = match state.store.email_by_id(email_id).await {
        Ok(email) => email,
        Err(StoreError::NotFound) => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    let settings = state.store.tenant(&email.tenant_id).settings().await?;
    Ok(links::verify(&settings.link_key, purpose, token).map(|id| (email, id.to_owned())))
}

/// Records an open or a click, and runs the re-score it wrote (in the
/// background: the reader is not kept waiting).
async fn engage(
    state: &AppState,
    email: EmailRecord,
    engagement: Engagement,
    url: Option<String>,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(500).collect::<String>());
    let since_sent = email.sent_at.and_then(|sent| {
        let micros = crate::clock::Timestamp::now().micros() - sent.micros();
        u64::try_from(micros).ok().map(std::time::Duration::from_micros)
    });
    let reader = tracking::reader(engagement, user_agent.as_deref(), since_sent);
    let store = state.store.tenant(&email.tenant_id);
    let workflows = crate::nurture::active_workflows(&state.nurture.active, &store).await?;
    let recorded = store
        .run(EmailEngagement {
            email,
            engagement,
            url,
            reader,
            user_agent,
            workflows,
        })
        .await?;
    if let Some(recorded) = recorded {
        crate::jobs::spawn(state, recorded.job);
    }
    Ok(())
}

/// A 1x1 transparent GIF.
const PIXEL: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// The open pixel: the open is recorded, and the image is never cached (each
/// open fetches it again).
async fn open_pixel(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    match signed(&state, links::OPEN, &token).await {
        Ok(Some((email, _))) => {
            if let Err(error) = engage(&state, email, Engagement::Opened, None, &headers).await {
                tracing::warn!(%error, "recording an open failed");
            }
            let headers = [(header::CONTENT_TYPE, "image/gif"), (header::CACHE_CONTROL, "no-store")];
            (headers, PIXEL.as_slice()).into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => error.into_response(),
    }
}

/// A tracked link: the click is recorded, then the browser goes where the
/// email's link went (only there: the target is under the signature).
async fn follow_link(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let (email, id) = match signed(&state, links::CLICK, &token).await {
        Ok(Some(found)) => found,
        Ok(None) => return unknown_link(),
        Err(error) => return error_page(Lang::Zh, error),
    };
    let Some((_, target)) = links::click_target(&id) else {
        return unknown_link();
    };
    if let Err(error) = engage(&state, email, Engagement::Clicked, Some(target.clone()), &headers).await {
        // The reader still gets where they were going.
        tracing::warn!(%error, "recording a click failed");
    }
    axum::response::Redirect::to(&target).into_response()
}

/// The email a signed unsubscribe token names; `None` for a token that
/// names no email or whose signature is not its tenant's.
async fn unsubscribing(state: &AppState, token: &str) -> Result<Option<EmailRecord>, ApiError> {
    Ok(signed(state, links::UNSUBSCRIBE, token).await?.map(|(email, _)| email))
}

fn unknown_link() -> Response {
    let markup = page::closed(
        Lang::Zh,
        "链接无效 / Link not valid",
        "这个链接无效。/ This link is not valid.",
    );
    (StatusCode::NOT_FOUND, Html(markup.into_string())).into_response()
}

/// A GET only asks: mail scanners fetch every link in a message, and a
/// fetch must not unsubscribe anyone. The button posts back (as the
/// one-click header's POST does, RFC 8058).
async fn confirm_unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match unsubscribing(&state, &token).await {
        Ok(Some(email)) => {
            let title = "退订邮件 / Unsubscribe";
            let body = maud::html! {
                h1 { (title) }
                p { "不再向 " strong { (email.to) } " 发送邮件？/ Stop emails to " strong { (email.to) } "?" }
                form method="post" {
                    button type="submit" { "退订 / Unsubscribe" }
                }
            };
            Html(page::layout(Lang::Zh, title, body).into_string()).into_response()
        }
        Ok(None) => unknown_link(),
        Err(error) => error_page(Lang::Zh, error),
    }
}

/// Unsubscribes the address of the email the link came in (the body of a
/// one-click POST, `List-Unsubscribe=One-Click`, needs no checking).
async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let email = match unsubscribing(&state, &token).await {
        Ok(Some(email)) => email,
        Ok(None) => return unknown_link(),
        Err(error) => return error_page(Lang::Zh, error),
    };
    let store = state.store.tenant(&email.tenant_id);
    let done = async {
        let workflows = crate::nurture::active_workflows(&state.nurture.active, &store).await?;
        store
            .run(Unsubscribe {
                email: email.clone(),
                workflows,
            })
            .await
    };
    match done.await {
        Ok(()) => {
            let markup = page::closed(
                Lang::Zh,
                "已退订 / Unsubscribed",
                &format!(
                    "{} 不会再收到我们的邮件。/ {} will get no more emails from us.",
                    email.to, email.to
                ),
            );
            Html(markup.into_string()).into_response()
        }
        Err(error) => error_page(Lang::Zh, error.into()),
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    if state.store.ping().await {
        (StatusCode::OK, Json(json!({"status": "ok"}))).into_response()
    } else {
        ApiError::Unavailable.into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render() + &screening::render_metrics(),
    )
}

/// The form page's script and style sheet, kept by browsers for a year
/// (their URLs change with their content).
async fn asset(Path(file): Path<String>) -> Response {
    match assets::by_name(&file) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, assets::CACHE_CONTROL),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            asset.body,
        )
            .into_response(),
        None => ApiError::NotFound(format!("no asset {file:?}")).into_response(),
    }
}

async fn load_target(state: &AppState, tenant: &str, form: &str) -> Result<Target, ApiError> {
    let unknown = || ApiError::NotFound(format!("no form {form:?} for tenant {tenant:?}"));
    let (Ok(tenant_slug), Ok(form_slug)) = (TenantSlug::parse(tenant), FormSlug::parse(form)) else {
        return Err(unknown());
    };
    let tenant = crate::tenants::by_slug(&state.tenants, &state.store, tenant_slug.as_str())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => unknown(),
            other => other.into(),
        })?;
    Target::load(state, tenant, form_slug.as_str()).await
}

/// A closed or unknown form as a page, for people arriving by link.
fn error_page(lang: Lang, error: ApiError) -> Response {
    let status = error.status();
    let markup = page::closed(lang, FormWords::of(lang).form_unavailable, &error.to_string());
    (status, Html(markup.into_string())).into_response()
}

/// The page's language: `?lang=`, else the browser's `Accept-Language`,
/// else Chinese.
fn page_lang(query: &BTreeMap<String, String>, headers: &HeaderMap) -> Lang {
    let accept_language = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Lang::negotiate(query.get("lang").map(String::as_str), accept_language)
}

/// What a form page request tells of its visitor.
struct Visit {
    lang: Lang,
    /// A trade-show tablet (`?kiosk=1`, or the form's `ui:kiosk`): nobody
    /// is recognised or remembered, and each submission leaves an empty
    /// form for the next visitor.
    kiosk: bool,
    /// `?forget=1`: someone else at a returning visitor's browser.
    forget: bool,
    /// The tenant's key: signs the render time and the visitor cookie.
    link_key: String,
    /// A returning visitor of a progressive form.
    returning: Option<ReturningVisitor>,
}

struct ReturningVisitor {
    /// Merged into their post; never sent to the page.
    known: Map<String, Value>,
    asked: BTreeSet<String>,
}

impl Visit {
    async fn of(
        state: &AppState,
        target: &Target,
        query: &BTreeMap<String, String>,
        headers: &HeaderMap,
    ) -> Result<Visit, ApiError> {
        let kiosk = target.compiled.page.kiosk || query.get("kiosk").is_some_and(|v| v == "1" || v == "true");
        let forget = query.contains_key("forget");
        let link_key = state.store.tenant(&target.tenant.id).settings().await?.link_key;
        // Only a progressive form asks after a visitor; a kiosk never does.
        let recognises = target.compiled.page.max_new_fields.is_some() && !kiosk && !forget;
        let returning = match cookie(headers, progressive::VISITOR_COOKIE) {
            Some(token) if recognises => returning_visitor(state, target, &link_key, token).await,
            _ => None,
        };
        Ok(Visit {
            lang: page_lang(query, headers),
            kiosk,
            forget,
            link_key,
            returning,
        })
    }

    fn page_state<'a>(
        &'a self,
        target: &Target,
        query: &BTreeMap<String, String>,
        hidden: BTreeMap<String, String>,
        values: Option<&'a BTreeMap<String, Vec<String>>>,
        errors: &'a [FieldError],
    ) -> PageState<'a> {
        PageState {
            values,
            errors,
            hidden,
            returning: self.returning.as_ref().map(|r| page::Returning {
                asked: &r.asked,
                start_over_url: page_url(target, query, Some(("forget", "1"))),
            }),
            kiosk: self.kiosk,
            ..PageState::new(self.lang)
        }
    }

    /// After a post was taken (or discarded: the answer is the same, so a
    /// script learns nothing): JSON for the kiosk's script, else the
    /// thank-you page or the form's redirect, remembering the visitor.
    fn answer(
        &self,
        state: &AppState,
        target: &Target,
        query: &BTreeMap<String, String>,
        outcome: PageOutcome,
        html: bool,
    ) -> Response {
        let stored = match &outcome {
            PageOutcome::Stored(stored) => Some(stored),
            PageOutcome::Discarded => None,
        };
        if !html {
            return match stored {
                Some(stored) => created(&stored.lead_id, stored.duplicate_of.as_deref()),
                // As a stored one looks: a script learns nothing.
                None => created(&new_id(), None),
            };
        }
        if self.kiosk {
            let next_visitor = page_url(target, query, None);
            let markup = page::thank_you(&target.compiled, self.lang, Some(&next_visitor));
            return (StatusCode::CREATED, Html(markup.into_string())).into_response();
        }
        let mut response = match &target.compiled.page.redirect {
            Some(url) => Redirect::to(url).into_response(),
            None => {
                let markup = page::thank_you(&target.compiled, self.lang, None);
                (StatusCode::CREATED, Html(markup.into_string())).into_response()
            }
        };
        if let Some(stored) = stored {
            let token = progressive::visitor_token(&self.link_key, &stored.lead_id);
            set_cookie(&mut response, &visitor_cookie(state, target, &token));
        }
        response
    }

    /// The form again, with each error beside its field and what was typed.
    fn show_again(&self, target: &Target, query: &BTreeMap<String, String>, rejected: Rejected) -> Response {
        let errors = match &rejected.error {
            ApiError::Validation { errors, .. } => errors.clone(),
            other => vec![FieldError::new("", other.to_string())],
        };
        let typed = rejected.typed.unwrap_or_default();
        let mut hidden: BTreeMap<String, String> = typed
            .hidden
            .iter()
            .filter(|(name, _)| CARRIED.contains(&name.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // A body that could not be read carried none: the page starts anew.
        if !hidden.contains_key("submission") {
            hidden.extend(self.new_page_tokens(target));
        }
        let page_state = self.page_state(target, query, hidden, Some(&typed.raw), &errors);
        let markup = page::render(&target.compiled, &page_state);
        no_store((rejected.error.status(), Html(markup.into_string())).into_response())
    }

    /// A new page's submission token (a double click is one lead) and
    /// signed render time.
    fn new_page_tokens(&self, target: &Target) -> [(String, String); 2] {
        [
            ("submission".into(), uuid::Uuid::new_v4().to_string()),
            (
                screening::RENDERED.into(),
                screening::render_stamp(&self.link_key, &target.form.id, Timestamp::now()),
            ),
        ]
    }
}

/// The page's hidden fields carried through a post shown again (the
/// honeypot is not: it is its own input).
const CARRIED: [&str; 9] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "source",
    "referrer",
    "submission",
    screening::RENDERED,
];

/// The lead a visitor's cookie names, and what to ask them; `None` when the
/// cookie is not the tenant's, names no lead, or nothing is known.
async fn returning_visitor(state: &AppState, target: &Target, link_key: &str, token: &str) -> Option<ReturningVisitor> {
    let lead_id = progressive::visitor_lead(link_key, token)?;
    let lead = match state
        .store
        .tenant(&target.tenant.id)
        .lead(lead_id, &LeadVisibility::All)
        .await
    {
        Ok(lead) => lead,
        Err(StoreError::NotFound) => return None,
        Err(error) => {
            // The visitor gets the whole form rather than an error.
            tracing::warn!(%error, "reading a returning visitor's lead failed");
            return None;
        }
    };
    let known = progressive::known_values(&target.compiled, &lead.fields);
    let asked = progressive::fields_to_ask(&target.compiled, &known)?;
    Some(ReturningVisitor { known, asked })
}

/// The value of the request's cookie `name`.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// The visitor cookie: HttpOnly (no script reads it), SameSite=Lax (other
/// sites' posts do not carry it), for this tenant's forms only.
fn visitor_cookie(state: &AppState, target: &Target, token: &str) -> String {
    let secure = state
        .settings
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"));
    format!(
        "{}={token}; Path=/f/{}; Max-Age={}; HttpOnly; SameSite=Lax{}",
        progressive::VISITOR_COOKIE,
        target.tenant.slug,
        u64::from(progressive::VISITOR_MAX_AGE_DAYS) * 86_400,
        if secure { "; Secure" } else { "" }
    )
}

fn forgotten_visitor_cookie(target: &Target) -> String {
    format!(
        "{}=; Path=/f/{}; Max-Age=0; HttpOnly; SameSite=Lax",
        progressive::VISITOR_COOKIE,
        target.tenant.slug
    )
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// A page with its own tokens is not kept (nor restored by the back
/// button): a second submission must not reuse the first one's token.
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The page's own URL with its query (`forget` left out) and `extra`.
fn page_url(target: &Target, query: &BTreeMap<String, String>, extra: Option<(&str, &str)>) -> String {
    let mut pairs = form_urlencoded::Serializer::new(String::new());
    for (key, value) in query.iter().filter(|(key, _)| *key != "forget") {
        pairs.append_pair(key, value);
    }
    if let Some((key, value)) = extra {
        pairs.append_pair(key, value);
    }
    let path = format!("/f/{}/{}", target.tenant.slug, target.form.slug);
    match pairs.finish() {
        query if query.is_empty() => path,
        query => format!("{path}?{query}"),
    }
}

fn created(lead_id: &str, duplicate_of: Option<&str>) -> Response {
    (
        StatusCode::CREATED,
        Json(json!({"id": lead_id, "duplicate_of": duplicate_of})),
    )
        .into_response()
}

/// The form page. Its own URL parameters (UTM) and referrer ride along as
/// hidden fields, with a submission token that makes a double click
/// harmless and the signed render time.
async fn show_form(
    State(state): State<AppState>,
    Path((tenant, form)): Path<(String, String)>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query_params(raw_query.as_deref());
    let lang = page_lang(&query, &headers);
    let target = match load_target(&state, &tenant, &form).await {
        Ok(target) => target,
        Err(error) => return error_page(lang, error),
    };
    let visit = match Visit::of(&state, &target, &query, &headers).await {
        Ok(visit) => visit,
        Err(error) => return error_page(lang, error),
    };
    let mut hidden: BTreeMap<String, String> = query
        .iter()
        .filter(|(k, _)| k.starts_with("utm_") || *k == "source")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(referrer) = headers.get(header::REFERER).and_then(|v| v.to_str().ok()) {
        hidden.insert("referrer".into(), referrer.to_owned());
    }
    hidden.extend(visit.new_page_tokens(&target));
    let markup = page::render(&target.compiled, &visit.page_state(&target, &query, hidden, None, &[]));
    let mut response = no_store(Html(markup.into_string()).into_response());
    if visit.forget {
        set_cookie(&mut response, &forgotten_visitor_cookie(&target));
    }
    response
}

fn header_lower(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn is_form_post(headers: &HeaderMap) -> bool {
    header_lower(headers, header::CONTENT_TYPE).starts_with("application/x-www-form-urlencoded")
}

/// A browser post (urlencoded, not asking for JSON) gets pages back; any
/// other caller gets JSON / problem+json.
fn wants_html(headers: &HeaderMap) -> bool {
    is_form_post(headers) && !header_lower(headers, header::ACCEPT).contains("json")
}

/// A post to the page's route: a form post is the page's (or a kiosk
/// script's), screened and answered as the page; anything else is an
/// integration's, taken as the API takes it.
async fn submit_form(
    State(state): State<AppState>,
    Path((tenant, form)): Path<(String, String)>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let html = wants_html(&headers);
    let query = query_params(raw_query.as_deref());
    let fail = |error: ApiError| match html {
        true => error_page(page_lang(&query, &headers), error),
        false => error.into_response(),
    };
    let target = match load_target(&state, &tenant, &form).await {
        Ok(target) => target,
        Err(error) => return fail(error),
    };
    if !is_form_post(&headers) {
        return match receive(&state, &target, "form_page", &query, &headers, body).await {
            Ok(outcome) => created(&outcome.lead_id, outcome.duplicate_of.as_deref()),
            Err(rejected) => rejected.error.into_response(),
        };
    }
    let visit = match Visit::of(&state, &target, &query, &headers).await {
        Ok(visit) => visit,
        Err(error) => return fail(error),
    };
    let post = PagePost {
        lang: visit.lang,
        link_key: &visit.link_key,
        known: visit.returning.as_ref().map(|r| &r.known),
    };
    match receive_from_page(&state, &target, &post, &query, &headers, body).await {
        Ok(outcome) => visit.answer(&state, &target, &query, outcome, html),
        Err(rejected) if html => visit.show_again(&target, &query, rejected),
        Err(rejected) => rejected.error.into_response(),
    }
}
