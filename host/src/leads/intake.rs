//! LeadIntake: validate, normalise, de-duplicate and store one submission.
//! The form page, the API and (later) import and webhooks all call [`submit`].
//!
//! Dedup: a submission lands on the lead that owns its email, else its
//! phone, else makes a new lead. A touch on an existing lead fills its empty
//! fields only; an identity already owned by another lead is not moved (the
//! touch notes it). Two existing leads are never merged. The decision is
//! made inside one unit of work ([`RecordSubmission`]), so concurrent
//! identical submissions make one lead and concurrent duplicates keep every
//! field any of them filled.

use serde_json::{Map, Value};

use crate::app::AppState;
use crate::clock::Timestamp;
use crate::domain::{
    IdentityKind, IntakeOutcome, Job, JobRecord, LeadJob, NewSubmission, NormalizedEmail, NormalizedPhone, RescoreJob,
    TouchContext,
};
use crate::error::{ApiError, FieldError};
use crate::forms::{CompiledForm, Problem};
use crate::i18n::Lang;
use crate::storage::{FormRecord, LeadContact, StoreResult, TenantRecord, Unit, UnitOfWork, WRITER_LEASE, new_id};

pub struct IntakeRequest<'a> {
    pub tenant: &'a TenantRecord,
    pub form: &'a FormRecord,
    pub compiled: &'a CompiledForm,
    pub fields: Map<String, Value>,
    pub context: TouchContext,
    /// The language of the validation messages (the page's; the API's is
    /// English).
    pub lang: Lang,
}

/// Stores the submission once it is valid. Every failing field is reported
/// at once; an acknowledged (returned) outcome is committed, with the job
/// that scores it (the caller runs that job at once).
pub async fn submit(state: &AppState, request: IntakeRequest<'_>) -> Result<IntakeOutcome, ApiError> {
    let IntakeRequest {
        tenant,
        form,
        compiled,
        mut fields,
        context,
        lang,
    } = request;
    for value in fields.values_mut() {
        trim_strings(value);
    }
    let fields_value = Value::Object(fields);
    let mut errors = compiled.validate(&fields_value, lang);
    let Value::Object(fields) = fields_value else {
        unreachable!("built from a map above")
    };

    let headline = compiled.lead_fields(&fields);
    // The normalisers' own (English) messages say more; other languages
    // get the keyword's.
    let message = |english: String, problem: Problem| match lang {
        Lang::En => english,
        Lang::Zh => problem.message(lang),
    };
    let email = headline.email.and_then(|(field, raw)| {
        NormalizedEmail::parse(raw)
            .map_err(|e| push_unless_reported(&mut errors, field, message(e.0, Problem::Format("email".into()))))
            .ok()
    });
    let region = tenant.region()?;
    let phone = headline.phone.and_then(|(field, raw)| {
        NormalizedPhone::parse(raw, region)
            .map_err(|e| push_unless_reported(&mut errors, field, message(e.0, Problem::Phone)))
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
    let channel = submission.context.channel;
    let outcome = state.store.tenant(&tenant.id).run(RecordSubmission(submission)).await?;
    match &outcome.duplicate_of {
        None => state.metrics.leads_created.inc(),
        Some(_) => state.metrics.leads_merged.inc(),
    }
    tracing::info!(
        tenant = %tenant.slug, form = %form.slug, lead = %outcome.lead_id,
        duplicate = outcome.duplicate_of.is_some(), channel, "lead captured"
    );
    Ok(outcome)
}

/// The dedup decision and the writes it makes, in one unit of work.
pub struct RecordSubmission(pub NewSubmission);

#[async_trait::async_trait]
impl UnitOfWork for RecordSubmission {
    type Output = IntakeOutcome;

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<IntakeOutcome> {
        record(unit, &self.0).await
    }
}

/// Decides where the submission lands and writes it there.
pub async fn record(unit: &mut Unit<'_>, sub: &NewSubmission) -> StoreResult<IntakeOutcome> {
    let now = Timestamp::now();
    if let Some(key) = &sub.context.idempotency_key
        && let Some(lead_id) = unit.lead_by_touch_key(key).await?
    {
        // The same submission again (a double click, a retry): it landed.
        return Ok(IntakeOutcome {
            duplicate_of: Some(lead_id.clone()),
            lead_id,
            job: None,
        });
    }
    let identities = [
        (IdentityKind::Email, sub.email.as_ref().map(|e| e.as_str())),
        (IdentityKind::Phone, sub.phone.as_ref().map(|p| p.as_str())),
    ];
    let owners = unit.identity_owners(sub.email.as_ref(), sub.phone.as_ref()).await?;
    let owner_of = |kind| match kind {
        IdentityKind::Email => owners.email.as_deref(),
        IdentityKind::Phone => owners.phone.as_deref(),
    };
    let existing = owners.email.clone().or(owners.phone.clone());
    let mut notes = Vec::new();
    let (lead_id, job) = match &existing {
        Some(lead_id) => {
            let contact = unit.contact_for_merge(lead_id).await?;
            let (merged, filled) = merge(contact, sub);
            unit.merge_lead(lead_id, &merged, now);
            // New answers can change the score: re-score on the event.
            let job = filled.then(|| {
                Job::Rescore(RescoreJob {
                    lead_id: lead_id.clone(),
                    cause: "a touch filled empty fields".into(),
                })
            });
            // Claim the identities nobody owns yet; never move one.
            for (kind, value) in identities {
                let Some(value) = value else { continue };
                match owner_of(kind) {
                    None => unit.claim_identity(kind, value, lead_id),
                    Some(other) if other != lead_id => {
                        notes.push(format!("{kind} {value} belongs to lead {other}; it was not moved"))
                    }
                    Some(_) => {}
                }
            }
            (lead_id.clone(), job)
        }
        None => {
            let lead_id = new_id();
            unit.insert_lead(&lead_id, sub, now);
            crate::dashboard::rollup::lead_created(unit, &lead_id, sub, now);
            for (kind, value) in identities {
                if let Some(value) = value {
                    unit.claim_identity(kind, value, &lead_id);
                }
            }
            let job = Job::ScoreAndRoute(LeadJob {
                lead_id: lead_id.clone(),
            });
            (lead_id, Some(job))
        }
    };
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    unit.insert_touch(&lead_id, sub, note, now);
    // The job is held by this process, which runs it at once; a sweeper
    // takes it only if this process dies first (an outbox).
    let job = job.map(|job| JobRecord::held(new_id(), unit.tenant_id(), job));
    if let Some(job) = &job {
        unit.add_job(job, now, Some(WRITER_LEASE));
    }
    Ok(IntakeOutcome {
        duplicate_of: existing,
        lead_id,
        job,
    })
}

/// Fills the lead's empty fields and columns from the submission, never
/// overwriting; also says whether any form field was filled.
fn merge(mut contact: LeadContact, sub: &NewSubmission) -> (LeadContact, bool) {
    let mut filled = false;
    for (key, value) in &sub.fields {
        if contact.fields.get(key).is_none_or(is_empty) && !is_empty(value) {
            contact.fields.insert(key.clone(), value.clone());
            filled = true;
        }
    }
    let keep = |old: Option<String>, new: Option<&str>| old.filter(|s| !s.is_empty()).or(new.map(str::to_owned));
    contact.email = keep(contact.email, sub.email.as_ref().map(|e| e.as_str()));
    contact.phone = keep(contact.phone, sub.phone.as_ref().map(|p| p.as_str()));
    contact.name = keep(contact.name, sub.name.as_deref());
    contact.company = keep(contact.company, sub.company.as_deref());
    (contact, filled)
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn submission(fields: Value) -> NewSubmission {
        NewSubmission {
            form_id: "f".into(),
            form_version: 1,
            fields: fields.as_object().cloned().unwrap(),
            email: None,
            phone: None,
            name: Some("New Name".into()),
            company: None,
            context: TouchContext::default(),
        }
    }

    #[test]
    fn a_merge_fills_empty_fields_and_never_overwrites() {
        let contact = LeadContact {
            fields: json!({"budget": "", "size": 10, "notes": null})
                .as_object()
                .cloned()
                .unwrap(),
            email: Some("a@b.cn".into()),
            phone: None,
            name: Some("Old Name".into()),
            company: Some(String::new()),
        };
        let sub = NewSubmission {
            company: Some("ACME".into()),
            ..submission(json!({"budget": "100k", "size": 20, "notes": "", "extra": [1]}))
        };
        let (merged, filled) = merge(contact, &sub);
        assert!(filled);
        assert_eq!(
            Value::Object(merged.fields),
            json!({"budget": "100k", "size": 10, "notes": null, "extra": [1]})
        );
        assert_eq!(merged.name.as_deref(), Some("Old Name"));
        assert_eq!(
            merged.company.as_deref(),
            Some("ACME"),
            "an empty column counts as empty"
        );
    }

    #[test]
    fn a_touch_with_nothing_new_fills_nothing() {
        let contact = LeadContact {
            fields: json!({"size": 10}).as_object().cloned().unwrap(),
            email: None,
            phone: None,
            name: None,
            company: None,
        };
        let (_, filled) = merge(contact, &submission(json!({"size": 12, "empty": ""})));
        assert!(!filled);
    }
}
