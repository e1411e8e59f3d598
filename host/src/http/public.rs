//! Routes without a token: health, metrics, and the public form page with
//! its submission route.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::app::AppState;
use crate::domain::{FormSlug, TenantSlug};
use crate::email::links;
use crate::email::tracking::{self, Engagement};
use crate::error::ApiError;
use crate::forms::page::{self, PageState};
use crate::http::submission::{Target, query_params, receive};
use crate::leads::engagement::EmailEngagement;
use crate::leads::unsubscribe::Unsubscribe;
use crate::storage::{EmailRecord, StoreError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
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
        Err(error) => return error_page(error),
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
    let markup = page::closed("链接无效 / Link not valid", "这个链接无效。/ This link is not valid.");
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
            Html(page::layout(title, body).into_string()).into_response()
        }
        Ok(None) => unknown_link(),
        Err(error) => error_page(error),
    }
}

/// Unsubscribes the address of the email the link came in (the body of a
/// one-click POST, `List-Unsubscribe=One-Click`, needs no checking).
async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let email = match unsubscribing(&state, &token).await {
        Ok(Some(email)) => email,
        Ok(None) => return unknown_link(),
        Err(error) => return error_page(error),
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
                "已退订 / Unsubscribed",
                &format!(
                    "{} 不会再收到我们的邮件。/ {} will get no more emails from us.",
                    email.to, email.to
                ),
            );
            Html(markup.into_string()).into_response()
        }
        Err(error) => error_page(error.into()),
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
        state.metrics.render(),
    )
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
fn error_page(error: ApiError) -> Response {
    let status = error.status();
    let markup = page::closed("表单不可用 / Form unavailable", &error.to_string());
    (status, Html(markup.into_string())).into_response()
}

/// The form page. Its own URL parameters (UTM) and referrer ride along as
/// hidden fields, with a submission token that makes a double click harmless.
async fn show_form(
    State(state): State<AppState>,
    Path((tenant, form)): Path<(String, String)>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let target = match load_target(&state, &tenant, &form).await {
        Ok(target) => target,
        Err(error) => return error_page(error),
    };
    let mut hidden: BTreeMap<String, String> = query_params(raw_query.as_deref())
        .into_iter()
        .filter(|(k, _)| k.starts_with("utm_") || k == "source")
        .collect();
    if let Some(referrer) = headers.get(header::REFERER).and_then(|v| v.to_str().ok()) {
        hidden.insert("referrer".into(), referrer.to_owned());
    }
    hidden.insert("submission".into(), uuid::Uuid::new_v4().to_string());
    let markup = page::render(
        &target.compiled,
        &PageState {
            hidden,
            ..Default::default()
        },
    );
    Html(markup.into_string()).into_response()
}

/// A browser post (urlencoded, not asking for JSON) gets pages back; any
/// other caller gets JSON / problem+json.
fn wants_html(headers: &HeaderMap) -> bool {
    let header_value = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    header_value(header::CONTENT_TYPE).starts_with("application/x-www-form-urlencoded")
        && !header_value(header::ACCEPT).contains("json")
}

async fn submit_form(
    State(state): State<AppState>,
    Path((tenant, form)): Path<(String, String)>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let html = wants_html(&headers);
    let target = match load_target(&state, &tenant, &form).await {
        Ok(target) => target,
        Err(error) if html => return error_page(error),
        Err(error) => return error.into_response(),
    };
    let query = query_params(raw_query.as_deref());
    match receive(&state, &target, "form_page", &query, &headers, body).await {
        Ok(_) if html => (
            StatusCode::CREATED,
            Html(page::thank_you(&target.compiled).into_string()),
        )
            .into_response(),
        Ok(outcome) => (
            StatusCode::CREATED,
            Json(json!({"id": outcome.lead_id, "duplicate_of": outcome.duplicate_of})),
        )
            .into_response(),
        Err(rejected) if html => {
            let errors = match &rejected.error {
                ApiError::Validation { errors, .. } => errors.clone(),
                other => vec![crate::error::FieldError::new("", other.to_string())],
            };
            let typed = rejected.typed.unwrap_or_default();
            let state = PageState {
                values: Some(&typed.raw),
                errors: &errors,
                hidden: typed.hidden.clone(),
            };
            let markup = page::render(&target.compiled, &state);
            (rejected.error.status(), Html(markup.into_string())).into_response()
        }
        Err(rejected) => rejected.error.into_response(),
    }
}
