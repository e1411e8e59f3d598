//! `/login/reset/{secret}`: the page a password reset email links to. It
//! sets a new password once; the user's sessions end and they log in with
//! it. No session exists yet, so the form is protected like the login form
//! (a double-submit token).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::frame::bare_with;
use super::login::{LOGIN_CSRF_COOKIE, set_cookie};
use super::{PageError, accept_language, cookie};
use crate::app::AppState;
use crate::auth::reset::{PAGE_PATH, link_id};
use crate::auth::session::{random_secret, same_secret};
use crate::auth::{MIN_PASSWORD_CHARS, hash_password};
use crate::clock::Timestamp;
use crate::i18n::Lang;
use crate::storage::LivePasswordReset;

/// The link's secret is in the path: no other site may see it in a
/// `Referer`, and no cache may keep the page.
const PRIVATE: [(header::HeaderName, &str); 2] = [
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
];

fn form(lang: Lang, secret: &str, token: &str, email: &str, problem: Option<&str>) -> Markup {
    let w = lang.words();
    let body = html! {
        @if let Some(problem) = problem { p.problem role="alert" #reset-problem { (problem) } }
        form method="post" action=(format!("{PAGE_PATH}/{secret}")) novalidate {
            input type="hidden" name="_csrf" value=(token);
            // For password managers: whose password this is.
            input type="hidden" name="username" value=(email) autocomplete="username";
            label for="password" { (w.new_password) }
            input #password type="password" name="password" required autocomplete="new-password"
                minlength=(MIN_PASSWORD_CHARS) aria-describedby=[problem.map(|_| "reset-problem")]
                aria-invalid=[problem.map(|_| "true")];
            label for="repeat" { (w.repeat_password) }
            input #repeat type="password" name="repeat" required autocomplete="new-password";
            p { button type="submit" { (w.reset_password) } }
        }
    };
    bare_with(lang, w.reset_password, body)
}

fn dead_link(lang: Lang) -> Response {
    let w = lang.words();
    let body = html! {
        p.problem role="alert" { (w.reset_link_dead) }
        p { a href="/login" { (w.log_in) } }
    };
    (StatusCode::GONE, PRIVATE, bare_with(lang, w.reset_password, body)).into_response()
}

fn lang_of(reset: Option<&LivePasswordReset>, headers: &HeaderMap) -> Lang {
    Lang::negotiate(reset.and_then(|r| r.language.as_deref()), accept_language(headers))
}

/// `GET /login/reset/{secret}`: the form, or why the link no longer works.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(secret): Path<String>,
) -> Result<Response, PageError> {
    let reset = state
        .store
        .live_password_reset(&link_id(&secret), Timestamp::now())
        .await?;
    let lang = lang_of(reset.as_ref(), &headers);
    let Some(reset) = reset else {
        return Ok(dead_link(lang));
    };
    let token = random_secret();
    let page = form(lang, &secret, &token, &reset.email, None);
    let csrf = set_cookie(&state, LOGIN_CSRF_COOKIE, &token, 3600);
    Ok((PRIVATE, [(header::SET_COOKIE, csrf)], page).into_response())
}

#[derive(Deserialize)]
pub struct ResetBody {
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeat: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /login/reset/{secret}`: the new password is set and the user goes
/// to the login page; a bad password gets the form again with the reason.
pub async fn set_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(secret): Path<String>,
    Form(body): Form<ResetBody>,
) -> Result<Response, PageError> {
    let id = link_id(&secret);
    let reset = state.store.live_password_reset(&id, Timestamp::now()).await?;
    let lang = lang_of(reset.as_ref(), &headers);
    let Some(reset) = reset else {
        return Ok(dead_link(lang));
    };
    let w = lang.words();
    let again = |status: StatusCode, problem: &str| {
        let token = random_secret();
        let page = form(lang, &secret, &token, &reset.email, Some(problem));
        let csrf = set_cookie(&state, LOGIN_CSRF_COOKIE, &token, 3600);
        (status, PRIVATE, [(header::SET_COOKIE, csrf)], page).into_response()
    };
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE);
    if !expected.is_some_and(|expected| same_secret(expected, &body.csrf)) {
        return Ok(again(StatusCode::FORBIDDEN, w.csrf_refused));
    }
    if body.password.chars().count() < MIN_PASSWORD_CHARS {
        return Ok(again(StatusCode::UNPROCESSABLE_ENTITY, w.password_too_short));
    }
    if body.password != body.repeat {
        return Ok(again(StatusCode::UNPROCESSABLE_ENTITY, w.passwords_differ));
    }
    let password = body.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| PageError::Internal(e.into()))?
        .map_err(PageError::Internal)?;
    if !state.store.use_password_reset(&id, &hash, Timestamp::now()).await? {
        return Ok(dead_link(lang)); // a second tab used it first
    }
    let body = html! {
        p.notice role="status" #reset-done { (w.password_set) }
        p { a href=(format!("/login?tenant={}", reset.tenant_slug)) { (w.log_in) } }
    };
    Ok((PRIVATE, bare_with(lang, w.reset_password, body)).into_response())
}
