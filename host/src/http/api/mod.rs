//! `/api/v1`: thin handlers; `http::authorize` has already checked the
//! caller's tenant and role before any of them runs.

mod clock;
mod dashboard;
mod emails;
mod events;
mod followup;
mod forms;
mod leads;
mod notifications;
mod plugins;
mod pool;
mod routing;
mod scoring;
mod settings;
mod tenants;
mod users;
mod webhooks;
mod workflows;

use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::http::authorize::authorize;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/tenants", get(tenants::list).post(tenants::create))
        .route("/me", get(me))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", axum::routing::patch(users::update))
        .route("/users/{id}/password", axum::routing::put(users::set_password))
        .route("/users/{id}/password-reset", post(users::send_password_reset))
        .route("/users/{id}/deactivate", post(users::deactivate))
        .route("/teams", get(routing::list_teams).post(routing::create_team))
        .route("/teams/{name}", get(routing::show_team).put(routing::replace_team))
        .route("/routing/rules", get(routing::show_rules).put(routing::replace_rules))
        .route("/pool", get(pool::list))
        .route("/pool/settings", get(pool::settings).put(pool::update_settings))
        .route("/leads/{id}/claim", post(pool::claim))
        .route("/leads/{id}/release", post(pool::release))
        .route("/leads/{id}/assign", post(pool::assign))
        .route(
            "/leads/{id}/activities",
            get(followup::activities).post(followup::record_activity),
        )
        .route("/sla/policy", get(followup::show_policy).put(followup::replace_policy))
        .route("/tasks", post(followup::create_task))
        .route("/tasks/{id}/done", post(followup::complete_task))
        .route("/agenda", get(followup::agenda))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/webhooks/{id}", axum::routing::delete(webhooks::delete))
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/tokens", post(users::create_token))
        .route("/forms", get(forms::list).post(forms::create))
        .route(
            "/forms/{slug}",
            get(forms::show).put(forms::publish).patch(forms::update),
        )
        .route("/forms/{slug}/versions/{version}", get(forms::version))
        .route("/forms/{slug}/leads", post(leads::submit))
        .route("/leads", get(leads::list))
        .route("/leads/{id}", get(leads::show))
        .route("/leads/{id}/stage", post(leads::change_stage))
        .route("/leads/{id}/tags", post(leads::add_tag))
        .route("/leads/{id}/tags/{tag}", axum::routing::delete(leads::remove_tag))
        .route("/leads/{id}/events", post(events::record_on_lead))
        .route("/events", post(events::record))
        .route("/scoring/model", get(scoring::show_model).put(scoring::replace_model))
        .route(
            "/scoring/rescores",
            get(scoring::list_rescores).post(scoring::start_rescore),
        )
        .route("/scoring/rescores/{id}", get(scoring::show_rescore))
        .route("/clock", get(clock::show).post(clock::advance))
        .route("/plugins", get(plugins::list).post(plugins::create))
        .route(
            "/plugins/{name}",
            get(plugins::show)
                .put(plugins::replace)
                .patch(plugins::update)
                .delete(plugins::delete),
        )
        .route("/plugins/{name}/run", post(plugins::run))
        .route("/settings", get(settings::show).patch(settings::update))
        .route("/workflows", get(workflows::list))
        .route(
            "/workflows/{slug}",
            get(workflows::show).put(workflows::publish).patch(workflows::update),
        )
        .route("/workflows/{slug}/versions/{version}", get(workflows::version))
        .route("/workflows/{slug}/enrolments", post(workflows::enrol))
        .route("/workflows/{slug}/steps", get(workflows::steps))
        .route("/leads/{id}/runs", get(workflows::lead_runs))
        .route("/leads/{id}/emails", get(emails::of_lead))
        .route("/emails", get(emails::log))
        .route("/emails/{id}", get(emails::show))
        .route("/suppressions", get(emails::suppressions))
        .route("/notifications", get(notifications::list))
        .route("/notifications/read", post(notifications::read_all))
        .route("/notifications/{id}/read", post(notifications::read))
        .route("/dashboard", get(dashboard::show))
        .route("/dashboard/{file}", get(dashboard::export_view))
        .route(
            "/me/notifications",
            get(notifications::email_choice).put(notifications::choose_email),
        )
        .route_layer(middleware::from_fn_with_state(state, authorize))
}

/// Who the token belongs to; handy for scripts and for checking a token.
async fn me(caller: Caller) -> Json<Value> {
    Json(json!({"tenant_id": caller.tenant_id, "user_id": caller.user_id, "role": caller.role}))
}
