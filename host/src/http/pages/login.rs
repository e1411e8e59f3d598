//! `/login` and `/app/logout`.
//!
//! The login form is protected against cross-site posts by a double-submit
//! token (a cookie set with the form, and the same value in the form): there
//! is no session yet to hold one.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::frame::bare_with;
use super::{PageError, SESSION_COOKIE, Viewer, accept_language, client_address, cookie};
use crate::app::AppState;
use crate::auth::session::{self, LIFETIME, Login, LoginOutcome, random_secret, same_secret};
use crate::i18n::Lang;
use crate::storage::StoreError;

pub(super) const LOGIN_CSRF_COOKIE: &str = "lh_login";

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    tenant: Option<String>,
    next: Option<String>,
}

/// Where to go after logging in: a workspace path, never another site.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with("/app") && !path.starts_with("//") && !path.contains('\\') => path,
        // `/app` sends each role to its first page.
        _ => "/app",
    }
}

fn secure(state: &AppState) -> &'static str {
    if state
        .settings
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
    {
        "; Secure"
    } else {
        ""
    }
}

/// `Set-Cookie` for a cookie the pages use (HttpOnly, SameSite=Lax).
pub(super) fn set_cookie(state: &AppState, name: &str, value: &str, max_age: u64) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        secure(state)
    )
}

struct LoginForm<'a> {
    lang: Lang,
    tenant: &'a str,
    email: &'a str,
    next: &'a str,
    token: &'a str,
    problem: Option<String>,
}

fn render(form: LoginForm<'_>) -> Markup {
    let w = form.lang.words();
    let body = html! {
        @if let Some(problem) = &form.problem { p.problem role="alert" #login-problem { (problem) } }
        form method="post" action="/login" novalidate {
            input type="hidden" name="_csrf" value=(form.token);
            input type="hidden" name="next" value=(form.next);
            label for="tenant" { (w.workspace) }
            input #tenant name="tenant" value=(form.tenant) required autocomplete="organization";
            label for="email" { (w.email) }
            input #email type="email" name="email" value=(form.email) required autocomplete="username"
                aria-describedby=[form.problem.as_ref().map(|_| "login-problem")];
            label for="password" { (w.password) }
            input #password type="password" name="password" required autocomplete="current-password";
            p { button type="submit" { (w.log_in) } }
        }
    };
    bare_with(form.lang, w.log_in, body)
}

/// The tenant to offer: the one asked for, else the only one there is.
async fn default_tenant(state: &AppState, asked: Option<String>) -> Result<String, PageError> {
    if let Some(slug) = asked {
        return Ok(slug);
    }
    let tenants = state.store.list_tenants().await?;
    Ok(match tenants.as_slice() {
        [only] => only.slug.clone(),
        _ => String::new(),
    })
}

/// `GET /login`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::negotiate(None, accept_language(&headers));
    let tenant = default_tenant(&state, query.tenant).await?;
    let token = random_secret();
    let page = render(LoginForm {
        lang,
        tenant: &tenant,
        email: "",
        next: safe_next(query.next.as_deref()),
        token: &token,
        problem: None,
    });
    Ok((
        [(header::SET_COOKIE, set_cookie(&state, LOGIN_CSRF_COOKIE, &token, 3600))],
        page,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct LoginBody {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /login`: a session cookie and the way on, or the form again with
/// the reason (after the throttle's delay for a wrong password).
pub async fn log_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Form(body): Form<LoginBody>,
) -> Result<Response, PageError> {
    let lang = Lang::negotiate(None, accept_language(&headers));
    let w = lang.words();
    let next = safe_next(body.next.as_deref()).to_owned();
    let again = |status: StatusCode, problem: String| {
        let token = random_secret();
        let page = render(LoginForm {
            lang,
            tenant: &body.tenant,
            email: &body.email,
            next: &next,
            token: &token,
            problem: Some(problem),
        });
        (
            status,
            [(header::SET_COOKIE, set_cookie(&state, LOGIN_CSRF_COOKIE, &token, 3600))],
            page,
        )
            .into_response()
    };
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE);
    if !expected.is_some_and(|expected| same_secret(expected, &body.csrf)) {
        return Ok(again(StatusCode::FORBIDDEN, w.csrf_refused.to_owned()));
    }
    let tenant = match state.store.tenant_by_slug(body.tenant.trim()).await {
        Ok(tenant) => Some(tenant),
        Err(StoreError::NotFound) => None,
        Err(other) => return Err(other.into()),
    };
    // An unknown workspace fails like a wrong password, throttle included.
    let tenant_id = tenant
        .map(|t| t.id)
        .unwrap_or_else(|| format!("unknown:{}", body.tenant.trim()));
    let outcome = Login {
        tenant_id: &tenant_id,
        email: body.email.trim(),
        password: &body.password,
        address: &client_address(&extensions),
    }
    .attempt(&state.store)
    .await?;
    match outcome {
        LoginOutcome::Started { cookie, .. } => Ok((
            [(
                header::SET_COOKIE,
                set_cookie(&state, SESSION_COOKIE, &cookie, LIFETIME.as_secs()),
            )],
            Redirect::to(&next),
        )
            .into_response()),
        LoginOutcome::Wrong => Ok(again(StatusCode::UNAUTHORIZED, w.wrong_login.to_owned())),
        LoginOutcome::Locked { retry_after } => Ok(again(
            StatusCode::TOO_MANY_REQUESTS,
            w.locked_login
                .replace("{}", &retry_after.as_secs().div_ceil(60).to_string()),
        )),
    }
}

/// `POST /app/logout`: the session ends and its cookie is cleared.
pub async fn log_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    _viewer: Viewer,
) -> Result<Response, PageError> {
    if let Some(value) = cookie(&headers, SESSION_COOKIE) {
        session::log_out(&state.store, value).await?;
    }
    Ok((
        [(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", 0))],
        Redirect::to("/login"),
    )
        .into_response())
}
