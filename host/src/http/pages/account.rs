//! `/app/account`: a user's own password, language and time zone.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::frame::{Section, csrf, notice, page};
use super::{PageError, Viewer};
use crate::app::AppState;
use crate::auth::{MIN_PASSWORD_CHARS as MIN_PASSWORD, hash_password, verify_password};
use crate::i18n::Lang;

pub async fn show(
    State(_state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Markup, PageError> {
    let w = viewer.words();
    let done = match query.get("done").map(String::as_str) {
        Some("password") => Some(w.password_changed),
        Some("preferences") => Some(w.saved),
        _ => None,
    };
    Ok(account_page(&viewer, done, None))
}

fn account_page(viewer: &Viewer, done: Option<&str>, problem: Option<&str>) -> Markup {
    let w = viewer.words();
    let language = viewer.session.language.as_deref();
    let body = html! {
        @if let Some(done) = done { (notice(done)) }
        @if let Some(problem) = problem { p.problem role="alert" #password-problem { (problem) } }
        section #password {
            h2 { (w.change_password) }
            form method="post" action="/app/account/password" novalidate {
                (csrf(viewer))
                label for="current" { (w.current_password) }
                input #current type="password" name="current" autocomplete="current-password" required;
                label for="new" { (w.new_password) }
                input #new type="password" name="new" autocomplete="new-password" required minlength=(MIN_PASSWORD)
                    aria-describedby=[problem.map(|_| "password-problem")] aria-invalid=[problem.map(|_| "true")];
                p { button type="submit" { (w.change_password) } }
            }
        }
        section #preferences {
            h2 { (w.preferences) }
            form method="post" action="/app/account/preferences" {
                (csrf(viewer))
                label for="language" { (w.language) }
                select #language name="language" {
                    option value="" { (w.browser_default) }
                    option value="zh" selected[language == Some("zh")] { "中文" }
                    option value="en" selected[language == Some("en")] { "English" }
                }
                label for="time_zone" { (w.time_zone) }
                input #time_zone name="time_zone" value=(viewer.session.time_zone.as_deref().unwrap_or(""))
                    placeholder=(w.tenant_default);
                p { button type="submit" { (w.save) } }
            }
        }
    };
    page(viewer, Section::Account, w.account, body)
}

/// `POST /app/account/password`: the current password, then the new one;
/// the user's other sessions end.
pub async fn change_password(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let w = viewer.words();
    let store = state.store.tenant(viewer.tenant_id());
    let current = form.get("current").cloned().unwrap_or_default();
    let new = form.get("new").cloned().unwrap_or_default();
    let stored = store.password_hash(viewer.user_id()).await?;
    let matches = tokio::task::spawn_blocking(move || stored.is_some_and(|hash| verify_password(&current, &hash)))
        .await
        .unwrap_or(false);
    let problem = if !matches {
        Some(w.current_password_wrong)
    } else if new.chars().count() < MIN_PASSWORD {
        Some(w.password_too_short)
    } else {
        None
    };
    if let Some(problem) = problem {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            account_page(&viewer, None, Some(problem)),
        )
            .into_response());
    }
    let hash = tokio::task::spawn_blocking(move || hash_password(&new))
        .await
        .map_err(|e| PageError::Internal(e.into()))?
        .map_err(PageError::Internal)?;
    store
        .set_password(viewer.user_id(), &hash, Some(&viewer.session.id))
        .await?;
    Ok(Redirect::to("/app/account?done=password").into_response())
}

/// `POST /app/account/preferences`: language and time zone (blank: the
/// default); an unknown zone is refused.
pub async fn set_preferences(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let given = |key: &str| form.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let language = given("language").and_then(Lang::parse).map(Lang::code);
    let zone = given("time_zone");
    if zone.is_some_and(|z| jiff::tz::TimeZone::get(z).is_err()) {
        let problem = format!("{}: {}?", viewer.words().time_zone, zone.unwrap_or_default());
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            account_page(&viewer, None, Some(&problem)),
        )
            .into_response());
    }
    let store = state.store.tenant(viewer.tenant_id());
    store.set_preferences(viewer.user_id(), language, zone).await?;
    Ok(Redirect::to("/app/account?done=preferences").into_response())
}
