//! Turning an HTTP submission (public page or API) into an intake request.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, header};

use crate::app::AppState;
use crate::domain::IdempotencyKey;
use crate::domain::IntakeOutcome;
use crate::error::ApiError;
use crate::forms::{CompiledForm, UrlEncoded};
use crate::http::body::SubmissionBody;
use crate::leads::{ContextParams, IntakeRequest, submit};
use crate::storage::{FormRecord, StoreError, TenantRecord};

/// A submission that was not stored, with what a page needs to show it again.
pub struct Rejected {
    pub error: ApiError,
    /// The typed values, when the body was a form post.
    pub typed: Option<UrlEncoded>,
}

impl From<ApiError> for Rejected {
    fn from(error: ApiError) -> Self {
        Rejected { error, typed: None }
    }
}

pub struct Target {
    pub tenant: Arc<TenantRecord>,
    pub form: Arc<FormRecord>,
    pub compiled: Arc<CompiledForm>,
}

impl Target {
    /// The tenant's form and its current compiled version; 404 when unknown,
    /// 410 when disabled.
    pub async fn load(state: &AppState, tenant: Arc<TenantRecord>, form_slug: &str) -> Result<Self, ApiError> {
        let store = state.store.tenant(&tenant.id);
        let form = state.forms.current(&store, form_slug).await.map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound(format!("tenant {:?} has no form {form_slug:?}", tenant.slug)),
            other => other.into(),
        })?;
        if !form.enabled {
            return Err(ApiError::Gone(format!(
                "the form {form_slug:?} is closed and takes no submissions"
            )));
        }
        let compiled = state.forms.get(&store, &form.id, form.current_version).await?;
        Ok(Target { tenant, form, compiled })
    }
}

/// Parses the query string leniently: a malformed pair is skipped, not fatal.
pub fn query_params(raw: Option<&str>) -> BTreeMap<String, String> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

pub async fn receive(
    state: &AppState,
    target: &Target,
    channel: &'static str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<IntakeOutcome, Rejected> {
    let body = SubmissionBody::read(headers, body, state.settings.body_limit).await?;
    let (fields, hidden, typed) = match body {
        SubmissionBody::Json(serde_json::Value::Object(fields)) => (fields, BTreeMap::new(), None),
        SubmissionBody::Json(_) => {
            return Err(ApiError::validation(
                "the submission must be a JSON object of form fields",
                vec![crate::error::FieldError::new("", "must be a JSON object")],
            )
            .into());
        }
        SubmissionBody::Form(decoded) => (
            decoded.to_fields(&target.compiled),
            decoded.hidden.clone(),
            Some(decoded),
        ),
    };
    let mut context =
        ContextParams::merged(&[query, &hidden]).into_touch(channel, header_str(headers, header::REFERER));
    if let Some(key) = header_str(headers, "idempotency-key") {
        context.idempotency_key = IdempotencyKey::parse(key);
    }
    let request = IntakeRequest {
        tenant: &target.tenant,
        form: &target.form,
        compiled: &target.compiled,
        fields,
        context,
    };
    let outcome = submit(state, request)
        .await
        .map_err(|error| Rejected { error, typed })?;
    if let Some(job) = &outcome.job {
        // The job is committed with the submission; run it now rather than
        // at the next sweep.
        crate::jobs::spawn(state, job.clone());
    }
    Ok(outcome)
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}
