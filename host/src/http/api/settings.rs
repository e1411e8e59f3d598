//! `/api/v1/settings`: the tenant's settings. Plugins: the fuel of a call
//! and whether integrators see what plugins produced from real leads.
//! Email and nurture: the time zone waits until a time of day use, the
//! sender identity, and the sending rate (shared by every process).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::http::body::JsonBody;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update {
    /// CPU limit per plugin call, in fuel; `null` restores the default,
    /// absent leaves it.
    #[serde(default, deserialize_with = "present")]
    plugin_fuel: Option<Option<i64>>,
    /// Whether integrators see what plugins produced from real leads.
    #[serde(default)]
    integrators_see_personal_data: Option<bool>,
    /// An IANA time zone ("Asia/Shanghai").
    #[serde(default)]
    time_zone: Option<String>,
    /// The sender of the tenant's email ("Acme Sales <sales@acme.example>");
    /// `null` returns to the placeholder sender.
    #[serde(default, deserialize_with = "present")]
    email_from: Option<Option<String>>,
    /// Emails sent per minute at most.
    #[serde(default)]
    emails_per_minute: Option<i32>,
}

/// A member that is present, even as `null` (absent stays `None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

pub async fn show(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let limits = state.plugins.limits(&store).await?;
    let settings = store.settings().await?;
    Ok(Json(json!({
        "plugin_fuel": limits.fuel,
        "plugin_fuel_is_default": store.plugin_fuel().await?.is_none(),
        "integrators_see_personal_data": store.integrators_see_personal_data().await?,
        "time_zone": settings.time_zone,
        "email_from": settings.email_from,
        "emails_per_minute": settings.emails_per_minute,
    })))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(update): JsonBody<Update>,
) -> Result<Json<Value>, ApiError> {
    let problems = problems(&update);
    if !problems.is_empty() {
        return Err(ApiError::validation("the settings are not valid", problems));
    }
    let store = state.store.tenant(caller.tenant_id()?);
    if let Some(fuel) = update.plugin_fuel {
        store.set_plugin_fuel(fuel).await?;
    }
    if let Some(granted) = update.integrators_see_personal_data {
        store.set_integrators_see_personal_data(granted).await?;
    }
    let email_from = update.email_from.as_ref().map(|from| from.as_deref().map(str::trim));
    store
        .set_settings(update.time_zone.as_deref(), email_from, update.emails_per_minute)
        .await?;
    state.plugins.forget(caller.tenant_id()?);
    show(State(state), caller).await
}

fn problems(update: &Update) -> Vec<FieldError> {
    let mut problems = Vec::new();
    if update
        .plugin_fuel
        .flatten()
        .is_some_and(|f| !(1_000_000..=100_000_000_000).contains(&f))
    {
        problems.push(FieldError::new("/plugin_fuel", "must be from 1000000 to 100000000000"));
    }
    if let Some(zone) = &update.time_zone
        && jiff::tz::TimeZone::get(zone).is_err()
    {
        problems.push(FieldError::new(
            "/time_zone",
            format!("{zone:?} is not a time zone such as \"Asia/Shanghai\" or \"UTC\""),
        ));
    }
    if let Some(Some(from)) = &update.email_from
        && let Err(e) = crate::email::message::check_sender(from)
    {
        problems.push(FieldError::new(
            "/email_from",
            format!("{from:?} is not a sender such as \"Acme Sales <sales@acme.example>\": {e}"),
        ));
    }
    if update
        .emails_per_minute
        .is_some_and(|rate| !(1..=100_000).contains(&rate))
    {
        problems.push(FieldError::new("/emails_per_minute", "must be from 1 to 100000"));
    }
    problems
}
