//! Creating a form and publishing its versions, for the API and the demo
//! loader alike.

use serde::Deserialize;
use serde_json::Value;

use super::check_definition;
use crate::app::AppState;
use crate::domain::FormSlug;
use crate::error::{ApiError, FieldError};
use crate::storage::{FormRecord, NewFormVersion};

/// A form definition as uploaded: `POST /api/v1/forms` and the files in forms/.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormUpload {
    pub slug: String,
    pub title: String,
    pub schema: Value,
    #[serde(default)]
    pub ui_schema: Value,
}

/// A new version of an existing form: `PUT /api/v1/forms/{slug}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionUpload {
    pub title: Option<String>,
    pub schema: Value,
    #[serde(default)]
    pub ui_schema: Value,
}

fn invalid(errors: Vec<FieldError>) -> ApiError {
    ApiError::validation("the form definition is not valid", errors)
}

fn ui_or_empty(ui: &Value) -> Value {
    if ui.is_null() {
        Value::Object(Default::default())
    } else {
        ui.clone()
    }
}

pub async fn create_form(state: &AppState, tenant_id: &str, upload: FormUpload) -> Result<FormRecord, ApiError> {
    let slug = FormSlug::parse(&upload.slug).map_err(|e| invalid(vec![FieldError::new("/slug", e.0)]))?;
    if upload.title.trim().is_empty() {
        return Err(invalid(vec![FieldError::new("/title", "must not be empty")]));
    }
    let ui_schema = ui_or_empty(&upload.ui_schema);
    let compiled = check_definition(&upload.title, &upload.schema, &ui_schema).map_err(invalid)?;
    let form = state
        .store
        .tenant(tenant_id)
        .create_form(
            slug.as_str(),
            NewFormVersion {
                title: &upload.title,
                schema: &upload.schema.to_string(),
                ui_schema: &ui_schema.to_string(),
            },
        )
        .await?;
    state.forms.insert(&form.id, form.current_version, compiled);
    state.forms.remember(form.clone());
    Ok(form)
}

pub async fn publish_version(
    state: &AppState,
    tenant_id: &str,
    slug: &str,
    upload: VersionUpload,
) -> Result<FormRecord, ApiError> {
    let store = state.store.tenant(tenant_id);
    let current = store.form(slug).await?;
    let title = upload.title.unwrap_or(current.title);
    let ui_schema = ui_or_empty(&upload.ui_schema);
    let compiled = check_definition(&title, &upload.schema, &ui_schema).map_err(invalid)?;
    let form = store
        .publish_version(
            slug,
            NewFormVersion {
                title: &title,
                schema: &upload.schema.to_string(),
                ui_schema: &ui_schema.to_string(),
            },
        )
        .await?;
    state.forms.insert(&form.id, form.current_version, compiled);
    state.forms.remember(form.clone());
    Ok(form)
}
