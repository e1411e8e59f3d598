//! `/app/admin/users`: an admin adds users, sets their role and what routing
//! knows of them (regions, specialties, capacity, availability), emails a
//! password reset link, and deactivates one who left. Each action is the
//! API's own call (`tenants::add_user`, `set_role`, `set_rep_attributes`,
//! `auth::reset::send_link`, `routing::departure::depart`).

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::frame::{Section, csrf, notice, page};
use super::{PageError, Viewer};
use crate::app::AppState;
use crate::auth::reset;
use crate::domain::{NormalizedEmail, Role};
use crate::i18n::Lang;
use crate::routing::departure::depart;
use crate::storage::{RepAttributes, StoreError, UserRecord};
use crate::tenants::add_user;

const ROLES: [Role; 4] = [Role::Admin, Role::Manager, Role::Rep, Role::Integrator];

type Fields = BTreeMap<String, String>;

fn field<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.get(name).map(|v| v.trim()).unwrap_or("")
}

/// A comma- (or 、/，-) separated list, as typed.
fn comma_list(raw: &str) -> Vec<String> {
    raw.split([',', '，', '、'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Routing attributes from the form, or the problems with them.
fn attributes(form: &Fields) -> Result<RepAttributes, Vec<String>> {
    let capacity = match field(form, "capacity") {
        "" => Ok(0),
        raw => raw.parse::<u32>().map_err(|_| {
            vec![format!(
                "/capacity: {raw:?} is not a whole number of leads (0: no limit)"
            )]
        }),
    }?;
    Ok(RepAttributes {
        regions: comma_list(field(form, "regions")),
        specialties: comma_list(field(form, "specialties")),
        capacity,
        available: form.contains_key("available"),
    })
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    done: Option<&str>,
    problems: &[String],
    typed: &Fields,
) -> Result<Markup, PageError> {
    let w = viewer.words();
    let lang = viewer.lang;
    let users = state.store.tenant(viewer.tenant_id()).users().await?;
    let body = html! {
        @if let Some(done) = done { (notice(done)) }
        @if !problems.is_empty() {
            div.problem role="alert" #user-problems { (w.fix_errors) ul { @for p in problems { li { (p) } } } }
        }
        section #users {
            table {
                thead { tr { th { (w.name) } th { (w.role) } th { (w.regions) } th { (w.specialties) } th { (w.capacity) } th { (w.available) } th {} } }
                tbody {
                    @for user in &users { (row(viewer, user)) }
                }
            }
        }
        section #add-user {
            h2 { (w.add_user) }
            form.filters method="post" action="/app/admin/users" novalidate {
                (csrf(viewer))
                div { label for="new-email" { (w.email) } input #new-email type="email" name="email" value=(field(typed, "email")) required; }
                div { label for="new-name" { (w.name) } input #new-name name="name" value=(field(typed, "name")); }
                div { label for="new-role" { (w.role) } (role_select(lang, "new-role", Role::parse_tenant_role(field(typed, "role")).unwrap_or(Role::Rep), None)) }
                div { label for="new-regions" { (w.regions) } input #new-regions name="regions" value=(field(typed, "regions")); }
                div { label for="new-specialties" { (w.specialties) } input #new-specialties name="specialties" value=(field(typed, "specialties")); }
                div { label for="new-capacity" { (w.capacity) } input #new-capacity name="capacity" inputmode="numeric" size="5" value=(field(typed, "capacity")); }
                div { label { input type="checkbox" name="available" checked; " " (w.available) } }
                div { label { input type="checkbox" name="send_link" checked; " " (w.email_reset_link) } }
                div { button type="submit" { (w.add_user) } }
            }
        }
    };
    Ok(page(viewer, Section::Users, w.users, body))
}

fn role_select(lang: Lang, id: &str, current: Role, form: Option<&str>) -> Markup {
    html! {
        select #(id) name="role" form=[form] {
            @for role in ROLES { option value=(role.as_str()) selected[role == current] { (lang.term(role.as_str())) } }
        }
    }
}

fn row(viewer: &Viewer, user: &UserRecord) -> Markup {
    let w = viewer.words();
    let form_id = format!("user-{}", user.id);
    let left = user.deactivated_at.is_some();
    html! {
        tr.user data-email=(user.email) {
            td { (user.name) br; span.muted { (user.email) } @if left { br; span.late { (w.deactivated) } } }
            @if left {
                td { (viewer.lang.term(user.role.as_str())) } td {} td {} td {} td {} td {}
            } @else {
                td { (role_select(viewer.lang, &format!("role-{}", user.id), user.role, Some(&form_id))) }
                td { input name="regions" form=(form_id) size="14" value=(user.attributes.regions.join(", ")); }
                td { input name="specialties" form=(form_id) size="14" value=(user.attributes.specialties.join(", ")); }
                td { input name="capacity" form=(form_id) inputmode="numeric" size="4" value=(user.attributes.capacity); }
                td { input type="checkbox" name="available" form=(form_id) checked[user.attributes.available]; }
                td {
                    form #(form_id) method="post" action=(format!("/app/admin/users/{}", user.id)) style="display:inline" {
                        (csrf(viewer))
                        button type="submit" { (w.save) }
                    }
                    " "
                    form method="post" action=(format!("/app/admin/users/{}/reset", user.id)) style="display:inline" {
                        (csrf(viewer))
                        button.reset type="submit" { (w.email_reset_link) }
                    }
                    @if user.id != viewer.user_id() {
                        " "
                        form method="post" action=(format!("/app/admin/users/{}/deactivate", user.id)) style="display:inline" {
                            (csrf(viewer))
                            button.deactivate type="submit" title=(w.deactivate_confirm) style="background:#b42318" { (w.deactivate) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /app/admin/users`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<Fields>,
) -> Result<Response, PageError> {
    let done = query.get("done").map(|d| done_text(&viewer, d));
    Ok(render(&state, &viewer, done, &[], &Fields::new())
        .await?
        .into_response())
}

fn done_text(viewer: &Viewer, done: &str) -> &'static str {
    let w = viewer.words();
    match done {
        "added" => w.user_added,
        "reset" => w.reset_link_sent,
        "deactivated" => w.user_deactivated,
        _ => w.saved,
    }
}

async fn refused(
    state: &AppState,
    viewer: &Viewer,
    problems: Vec<String>,
    typed: &Fields,
) -> Result<Response, PageError> {
    let page = render(state, viewer, None, &problems, typed).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// `POST /app/admin/users`: a new user, with a reset link by email to set
/// their password when asked.
pub async fn add(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<Fields>,
) -> Result<Response, PageError> {
    let mut problems = Vec::new();
    let email = NormalizedEmail::parse(field(&form, "email"))
        .map_err(|e| problems.push(format!("/email: {}", e.0)))
        .ok();
    let role = Role::parse_tenant_role(field(&form, "role"))
        .map_err(|e| problems.push(format!("/role: {}", e.0)))
        .ok();
    let attributes = attributes(&form).map_err(|p| problems.extend(p)).ok();
    let (Some(email), Some(role), Some(attributes)) = (email, role, attributes) else {
        return refused(&state, &viewer, problems, &form).await;
    };
    let name = match field(&form, "name") {
        "" => email.as_str().to_owned(),
        name => name.to_owned(),
    };
    let tenant_id = viewer.tenant_id();
    let user = match add_user(&state.store, tenant_id, &email, &name, role, None, attributes).await {
        Err(StoreError::Conflict(message)) => {
            return refused(&state, &viewer, vec![format!("/email: {message}")], &form).await;
        }
        other => other?,
    };
    if form.contains_key("send_link") {
        send_link(&state, &viewer, &user.id).await?;
    }
    Ok(Redirect::to("/app/admin/users?done=added").into_response())
}

async fn send_link(state: &AppState, viewer: &Viewer, user_id: &str) -> Result<(), StoreError> {
    let public_url = state.settings.public_url.as_deref().unwrap_or_default();
    reset::send_link(
        &state.store,
        public_url,
        viewer.tenant_id(),
        user_id,
        Some(viewer.user_id()),
    )
    .await?;
    Ok(())
}

/// `POST /app/admin/users/{id}`: role and routing attributes.
pub async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response, PageError> {
    let store = state.store.tenant(viewer.tenant_id());
    let user = store.user_by_id(&id).await?;
    let attributes = match attributes(&form) {
        Ok(attributes) => attributes,
        Err(problems) => return refused(&state, &viewer, problems, &Fields::new()).await,
    };
    let role = match Role::parse_tenant_role(field(&form, "role")) {
        Ok(role) => role,
        Err(e) => return refused(&state, &viewer, vec![format!("/role: {}", e.0)], &Fields::new()).await,
    };
    if role != user.role {
        match store.set_role(&id, role).await {
            Err(StoreError::Conflict(message)) => {
                return refused(&state, &viewer, vec![format!("/role: {message}")], &Fields::new()).await;
            }
            other => other?,
        };
    }
    store.set_rep_attributes(&id, &attributes).await?;
    Ok(Redirect::to("/app/admin/users?done=saved").into_response())
}

/// `POST /app/admin/users/{id}/reset`: emails the user a reset link.
pub async fn reset(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    match send_link(&state, &viewer, &id).await {
        Err(StoreError::Conflict(message)) => refused(&state, &viewer, vec![message], &Fields::new()).await,
        Err(other) => Err(other.into()),
        Ok(()) => Ok(Redirect::to("/app/admin/users?done=reset").into_response()),
    }
}

/// `POST /app/admin/users/{id}/deactivate`: the user leaves; their open
/// leads are routed again.
pub async fn deactivate(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let store = state.store.tenant(viewer.tenant_id());
    match depart(&store, &id, Some(viewer.user_id())).await {
        Err(StoreError::Conflict(message)) => refused(&state, &viewer, vec![message], &Fields::new()).await,
        Err(other) => Err(other.into()),
        Ok(departed) => {
            crate::jobs::spawn_in_turn(&state, departed.jobs);
            Ok(Redirect::to("/app/admin/users?done=deactivated").into_response())
        }
    }
}
