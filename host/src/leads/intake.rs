//! LeadIntake: validate, normalise, de-duplicate and store one submission.
//! The form page, the API and (later) import and webhooks all call [`submit`].

use serde_json::{Map, Value};

use crate::app::AppState;
use crate::domain::{NormalizedEmail, NormalizedPhone};
use crate::error::{ApiError, FieldError};
use crate::forms::CompiledForm;
use crate::storage::{FormRecord, IntakeOutcome, NewSubmission, TenantRecord, TouchContext};

pub struct IntakeRequest<'a> {
    pub tenant: &'a TenantRecord,
    pub form: &'a FormRecord,
    pub compiled: &'a CompiledForm,
    pub fields: Map<String, Value>,
    pub context: TouchContext,
}

/// Stores the submission once it is valid. Every failing field is reported
/// at once; an acknowledged (returned) outcome is committed.
pub async fn submit(state: &AppState, request: IntakeRequest<'_>) -> Result<IntakeOutcome, ApiError> {
    let IntakeRequest {
        tenant,
        form,
        compiled,
        mut fields,
        context,
    } = request;
    for value in fields.values_mut() {
        trim_strings(value);
    }
    let fields_value = Value::Object(fields);
    let mut errors = compiled.validate(&fields_value);
    let Value::Object(fields) = fields_value else {
        unreachable!("built from a map above")
    };

    let headline = compiled.lead_fields(&fields);
    let email = headline.email.and_then(|(field, raw)| {
        NormalizedEmail::parse(raw)
            .map_err(|e| push_unless_reported(&mut errors, field, e.0))
            .ok()
    });
    let region = tenant.region()?;
    let phone = headline.phone.and_then(|(field, raw)| {
        NormalizedPhone::parse(raw, region)
            .map_err(|e| push_unless_reported(&mut errors, field, e.0))
            .ok()
    });
    if !errors.is_empty() {
        state.metrics.submissions_invalid.inc();
        return Err(ApiError::validation("the submission has invalid fields", errors));
    }

    let submission = NewSubmission {
        form_id: form.id.clone(),
        form_version: form.current_version,
        email,
        phone,
        name: headline.name.map(str::to_owned),
        company: headline.company.map(str::to_owned),
        fields,
        context,
    };
    let outcome = state.store.tenant(&tenant.id).record_submission(&submission).await?;
    if let Some(job) = &outcome.job {
        // The job is committed with the submission; run it now rather than
        // at the next sweep.
        crate::jobs::spawn(state, job.clone());
    }
    match &outcome.duplicate_of {
        None => state.metrics.leads_created.inc(),
        Some(_) => state.metrics.leads_merged.inc(),
    }
    tracing::info!(
        tenant = %tenant.slug, form = %form.slug, lead = %outcome.lead_id,
        duplicate = outcome.duplicate_of.is_some(), channel = submission.context.channel, "lead captured"
    );
    Ok(outcome)
}

/// Stray spaces around typed values are noise (" li@example.com"), not data.
fn trim_strings(value: &mut Value) {
    match value {
        Value::String(s) if s.trim().len() != s.len() => *s = s.trim().to_owned(),
        Value::Array(items) => items.iter_mut().for_each(trim_strings),
        _ => {}
    }
}

/// One message per field is enough: the schema's own error (e.g. a bad
/// email format) wins over the normaliser's.
fn push_unless_reported(errors: &mut Vec<FieldError>, field: &str, message: String) {
    let pointer = format!("/{field}");
    if !errors.iter().any(|e| e.pointer == pointer) {
        errors.push(FieldError::new(pointer, message));
    }
}
