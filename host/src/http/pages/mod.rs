//! The pages people work in, rendered on the server (maud): logging in, and
//! the rep workspace (agenda, leads, the pool, a lead's page, notifications,
//! the account).
//!
//! Every `/app` route passes [`gate`]: the session cookie names a live
//! session, the permission table (`auth::allowed`, the API's own) decides by
//! role, and a POST must carry the session's CSRF token (a file upload, a
//! multipart form, only where [`upload_limit`] takes one). Handlers get a
//! [`Viewer`], whose `caller` is the same [`Caller`] the API builds, so the
//! lead scope (`Caller::lead_visibility`) is the API's too.

mod account;
mod agenda;
mod dashboard;
mod forms;
mod frame;
mod leads;
mod login;
mod notifications;
mod password_reset;
mod plugins;
mod pool;
mod setup;
mod teams;
mod users;
mod workflows;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Multipart, Request, State,
};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::app::AppState;
use crate::auth::session::{resume, same_secret};
use crate::auth::{Caller, allowed};
use crate::error::ApiError;
use crate::http::body::read_limited;
use crate::i18n::{Lang, Words};
use crate::plugins::upload::UPLOAD_LIMIT;
use crate::storage::{SessionRecord, StoreError};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "lh_session";
/// Page forms are small; a larger body is refused before it is read whole.
const FORM_LIMIT: usize = 64 * 1024;

/// The most a page's form post may send: at least [`FORM_LIMIT`], and room
/// for a document as large as the API takes (`body_limit`) twice over, as
/// the form designer sends its draft beside the fields drawn from it.
fn page_post_limit(api_body_limit: usize) -> usize {
    FORM_LIMIT.max(api_body_limit.saturating_mul(2))
}

/// The most a file upload (a multipart form) may send to the page route
/// `route`; `None` where a route takes no file.
fn upload_limit(route: &str) -> Option<usize> {
    match route {
        // As much as the API takes for a plugin.
        "/app/admin/plugins" => Some(UPLOAD_LIMIT),
        _ => None,
    }
}

pub fn router(state: AppState) -> Router<AppState> {
    let signed_in = Router::new()
        .route("/app", get(landing))
        .route("/app/agenda", get(agenda::show))
        .route("/app/leads", get(leads::list))
        .route("/app/leads/{id}", get(leads::show))
        .route("/app/leads/{id}/activities", post(leads::log_activity))
        .route("/app/leads/{id}/stage", post(leads::change_stage))
        .route("/app/leads/{id}/tags", post(leads::add_tag))
        .route("/app/leads/{id}/tags/remove", post(leads::remove_tag))
        .route("/app/leads/{id}/tasks", post(leads::add_task))
        .route("/app/leads/{id}/claim", post(pool::claim))
        .route("/app/pool", get(pool::list))
        .route("/app/notifications", get(notifications::list))
        .route("/app/notifications/read", post(notifications::read_all))
        .route("/app/account", get(account::show))
        .route("/app/account/password", post(account::change_password))
        .route("/app/account/preferences", post(account::set_preferences))
        .route("/app/logout", post(login::log_out))
        .route("/app/admin/setup/{setting}", get(setup::show).post(setup::save))
        .route("/app/admin/workflows", get(workflows::list))
        .route(
            "/app/admin/workflows/new",
            get(workflows::new_form).post(workflows::create),
        )
        .route(
            "/app/admin/workflows/{slug}",
            get(workflows::show).post(workflows::publish_version),
        )
        .route("/app/admin/teams", get(teams::list).post(teams::save))
        .route("/app/admin/users", get(users::list).post(users::add))
        .route("/app/admin/users/{id}", post(users::update))
        .route("/app/admin/users/{id}/reset", post(users::reset))
        .route("/app/admin/users/{id}/deactivate", post(users::deactivate))
        // The gate has read the upload under its limit: axum's default
        // (2 MiB) would cut a component short.
        .route(
            "/app/admin/plugins",
            get(plugins::list).post(plugins::upload.layer(DefaultBodyLimit::disable())),
        )
        .route("/app/admin/plugins/{name}", get(plugins::show))
        .route("/app/admin/plugins/{name}/enabled", post(plugins::set_enabled))
        .route("/app/admin/forms", get(forms::list).post(forms::create))
        .route("/app/admin/forms/{slug}", get(forms::show).post(forms::act))
        .route("/app/admin/forms/{slug}/preview", post(forms::preview))
        .route("/app/dashboard", get(dashboard::show))
        .route("/app/dashboard/{file}", get(dashboard::export_view))
        .route("/app/admin/workflows/{slug}/status", post(workflows::set_status))
        .route_layer(middleware::from_fn_with_state(state, gate));
    Router::new()
        .route("/login", get(login::show).post(login::log_in))
        .route(
            "/login/reset/{secret}",
            get(password_reset::show).post(password_reset::set_password),
        )
        .merge(signed_in)
}

/// `GET /app`: where a role starts, the agenda for those who work leads, the
/// plugins for an integrator.
async fn landing(viewer: Viewer) -> Redirect {
    match viewer.caller.role {
        crate::domain::Role::Integrator => Redirect::to("/app/admin/plugins"),
        _ => Redirect::to("/app/agenda"),
    }
}

/// Who is looking at a page, in which language and time zone.
#[derive(Clone)]
pub struct Viewer {
    pub session: SessionRecord,
    pub caller: Caller,
    pub lang: Lang,
    /// The user's time zone, else the tenant's.
    pub zone: jiff::tz::TimeZone,
    pub unread: i64,
}

impl Viewer {
    pub fn words(&self) -> &'static Words {
        self.lang.words()
    }

    pub fn tenant_id(&self) -> &str {
        &self.session.tenant_id
    }

    pub fn user_id(&self) -> &str {
        &self.session.user_id
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Viewer>().cloned().ok_or(PageError::Forbidden)
    }
}

/// The value of a cookie in the request, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The client's address, for the login throttle (the peer's; a proxy in
/// front would make this the proxy's).
pub fn client_address(request_extensions: &axum::http::Extensions) -> String {
    request_extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn accept_language(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())
}

/// The pages' gate: a live session, a role the permission table allows on
/// this route, and for a POST the session's CSRF token (`_csrf` in the form;
/// in a multipart form, its first part).
async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, PageError> {
    let session = match cookie(request.headers(), SESSION_COOKIE) {
        Some(value) => resume(&state.store, value).await?,
        None => None,
    };
    let Some(session) = session else {
        let back = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/app");
        let to = if request.method() == Method::GET {
            format!("/login?next={}", urlencoding(back))
        } else {
            "/login".to_owned()
        };
        return Ok(Redirect::to(&to).into_response());
    };
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    if !route
        .as_deref()
        .is_some_and(|route| allowed(request.method(), route).contains(&session.role))
    {
        return Err(PageError::Forbidden);
    }
    let store = state.store.tenant(&session.tenant_id);
    let tenant_zone = store.settings().await?.time_zone;
    let zone_name = session.time_zone.clone().unwrap_or(tenant_zone);
    let viewer = Viewer {
        caller: Caller {
            tenant_id: Some(session.tenant_id.clone()),
            user_id: Some(session.user_id.clone()),
            role: session.role,
        },
        lang: Lang::negotiate(session.language.as_deref(), accept_language(request.headers())),
        zone: jiff::tz::TimeZone::get(&zone_name).unwrap_or(jiff::tz::TimeZone::UTC),
        unread: store.unread_notifications(&session.user_id).await?,
        session,
    };
    let (mut parts, body) = request.into_parts();
    let body = if parts.method == Method::POST {
        let (bytes, sent) = if is_multipart(&parts.headers) {
            let limit = route
                .as_deref()
                .and_then(upload_limit)
                .ok_or(PageError::UploadsNotTaken)?;
            let bytes = read_limited(&parts.headers, body, limit).await?;
            let sent = multipart_csrf(&parts.headers, &bytes).await;
            (bytes, sent)
        } else {
            let limit = page_post_limit(state.settings.body_limit);
            let bytes = to_bytes(body, limit).await.map_err(|_| PageError::TooLarge)?;
            let sent = form_urlencoded::parse(&bytes)
                .find(|(key, _)| key == "_csrf")
                .map(|(_, value)| value.into_owned());
            (bytes, sent)
        };
        if !sent.is_some_and(|sent| same_secret(&sent, &viewer.session.csrf_token)) {
            tracing::info!(path = %parts.uri.path(), "page post without its CSRF token refused");
            return Err(PageError::Csrf);
        }
        Body::from(bytes)
    } else {
        body
    };
    parts.extensions.insert(viewer);
    Ok(next.run(Request::from_parts(parts, body)).await)
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/"))
}

/// The token in a multipart body's first part, which must be `_csrf` (the
/// form's first input). Only the body's start is parsed: the token is in
/// it, and the file after it is the handler's to read.
async fn multipart_csrf(headers: &HeaderMap, body: &Bytes) -> Option<String> {
    let start = body.slice(..body.len().min(FORM_LIMIT));
    let content_type = headers.get(header::CONTENT_TYPE)?.clone();
    let request = Request::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(start))
        .ok()?;
    let mut multipart = Multipart::from_request(request, &()).await.ok()?;
    let first = multipart.next_field().await.ok()??;
    if first.name() != Some("_csrf") {
        return None;
    }
    first.text().await.ok()
}

fn urlencoding(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// What a page answers when it cannot do what was asked: a page of its
/// own in both languages (the viewer's may not be known yet).
#[derive(Debug)]
pub enum PageError {
    Forbidden,
    NotFound,
    Csrf,
    TooLarge,
    /// A file sent to a route that takes none.
    UploadsNotTaken,
    Internal(anyhow::Error),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => PageError::NotFound,
            other => PageError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Forbidden | ApiError::Unauthorized => PageError::Forbidden,
            ApiError::NotFound(_) => PageError::NotFound,
            ApiError::PayloadTooLarge { .. } => PageError::TooLarge,
            other => PageError::Internal(anyhow::anyhow!("{other}")),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, pick): (StatusCode, fn(&Words) -> &'static str) = match &self {
            PageError::Forbidden => (StatusCode::FORBIDDEN, |w| w.forbidden),
            PageError::NotFound => (StatusCode::NOT_FOUND, |w| w.not_found),
            PageError::Csrf => (StatusCode::FORBIDDEN, |w| w.csrf_refused),
            PageError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, |w| w.too_large),
            PageError::UploadsNotTaken => (StatusCode::UNSUPPORTED_MEDIA_TYPE, |w| w.uploads_not_taken),
            PageError::Internal(e) => {
                tracing::error!(error = %e, "page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    |_| "出错了，请稍后再试。/ Something went wrong; try again shortly.",
                )
            }
        };
        let message: Vec<&str> = Lang::ALL.iter().map(|lang| pick(lang.words())).collect();
        let message = if message[0] == message[1] {
            message[0].to_owned()
        } else {
            message.join(" / ")
        };
        let back = format!(
            "{} / {}",
            Lang::Zh.words().back_to_workspace,
            Lang::En.words().back_to_workspace
        );
        let body = maud::html! {
            p role="alert" { (message) }
            p { a href="/app" { (back) } }
        };
        (status, frame::bare_with(Lang::Zh, &status.to_string(), body)).into_response()
    }
}
