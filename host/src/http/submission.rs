//! Turning an HTTP submission (public page or API) into an intake request.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::clock::Timestamp;
use crate::domain::{IdempotencyKey, IntakeOutcome, TouchContext};
use crate::error::{ApiError, FieldError};
use crate::forms::screening;
use crate::forms::{CompiledForm, UrlEncoded, progressive};
use crate::http::body::SubmissionBody;
use crate::i18n::Lang;
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

/// A JSON or form body read as the form's fields, the hidden `_` fields,
/// and (for a form post) the values as typed.
struct ReadBody {
    fields: Map<String, Value>,
    hidden: BTreeMap<String, String>,
    typed: Option<UrlEncoded>,
}

impl ReadBody {
    async fn read(state: &AppState, target: &Target, headers: &HeaderMap, body: Body) -> Result<Self, ApiError> {
        match SubmissionBody::read(headers, body, state.settings.body_limit).await? {
            SubmissionBody::Json(Value::Object(fields)) => Ok(ReadBody {
                fields,
                hidden: BTreeMap::new(),
                typed: None,
            }),
            SubmissionBody::Json(_) => Err(ApiError::validation(
                "the submission must be a JSON object of form fields",
                vec![crate::error::FieldError::new("", "must be a JSON object")],
            )),
            SubmissionBody::Form(decoded) => Ok(ReadBody {
                fields: decoded.to_fields(&target.compiled),
                hidden: decoded.hidden.clone(),
                typed: Some(decoded),
            }),
        }
    }
}

/// A submission from an integration (JSON or its own form post): the API
/// route and JSON posts to the page's route. Nothing is screened; messages
/// are in English.
pub async fn receive(
    state: &AppState,
    target: &Target,
    channel: &'static str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<IntakeOutcome, Rejected> {
    let read = ReadBody::read(state, target, headers, body).await?;
    let context = touch_context(
        channel,
        query,
        &read.hidden,
        headers,
        header_str(headers, header::REFERER),
    );
    store(state, target, read, context, Lang::En).await
}

/// What the form page adds to a post from it.
pub struct PagePost<'a> {
    /// The page's language, for its messages.
    pub lang: Lang,
    /// The tenant's key, which signed the page's render time.
    pub link_key: &'a str,
    /// What is known of a returning visitor whose page left it out.
    pub known: Option<&'a Map<String, Value>>,
}

/// What became of a post to the form page.
pub enum PageOutcome {
    Stored(IntakeOutcome),
    /// Taken for a script's (counted and logged): answered as received,
    /// stored nowhere.
    Discarded,
}

/// A form post to the page's route: what a returning visitor was not asked
/// is merged in, and the page's honeypot and render time are checked.
/// Screening comes after validation, so a person who made a mistake sees
/// it; only a submission that would be stored is discarded.
pub async fn receive_from_page(
    state: &AppState,
    target: &Target,
    page: &PagePost<'_>,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<PageOutcome, Rejected> {
    let mut read = ReadBody::read(state, target, headers, body).await?;
    if let Some(known) = page.known {
        progressive::merge_known(&mut read.fields, known);
    }
    let now = Timestamp::now();
    let sign = screening::screen(&read.hidden, page.link_key, &target.form.id, now);
    let valid = || {
        target
            .compiled
            .validate(&Value::Object(read.fields.clone()), page.lang)
            .is_empty()
    };
    // A post with mistakes goes on to show them (a person may be quick);
    // only one that would be stored is judged.
    if let Some(sign) = sign.filter(|_| valid()) {
        if sign == screening::BotSign::TooFast {
            // A person with autofill can be this fast: never drop their
            // lead on a thank-you page. The form comes back, typed values
            // kept, asking for the click again; its render time is set back
            // so that the next post passes however quick it is.
            tracing::info!(tenant = %target.tenant.slug, form = %target.form.slug, "a form page post came too fast: asked again");
            let mut typed = read.typed.unwrap_or_default();
            let earlier = Timestamp(now.micros() - screening::MIN_FILL_TIME.as_micros() as i64);
            typed.hidden.insert(
                screening::RENDERED.to_owned(),
                screening::render_stamp(page.link_key, &target.form.id, earlier),
            );
            let message = match page.lang {
                Lang::Zh => "请核对以上信息，然后再点一次提交。",
                Lang::En => "Please check the details above, then submit once more.",
            };
            return Err(Rejected {
                error: ApiError::validation(message, vec![FieldError::new("", message)]),
                typed: Some(typed),
            });
        }
        screening::count_discarded(sign);
        tracing::info!(
            tenant = %target.tenant.slug, form = %target.form.slug, reason = sign.as_str(),
            "a form page submission looked automated: answered as received, stored nothing"
        );
        return Ok(PageOutcome::Discarded);
    }
    // The page's own post has the page as its Referer; the visitor's came
    // with the page (its hidden `_referrer`), or there was none.
    let from_the_page = read.hidden.contains_key(screening::RENDERED);
    let referrer = header_str(headers, header::REFERER).filter(|_| !from_the_page);
    let context = touch_context("form_page", query, &read.hidden, headers, referrer);
    store(state, target, read, context, page.lang)
        .await
        .map(PageOutcome::Stored)
}

/// The touch's context: the URL's parameters, the page's hidden ones (which
/// win), the referrer, and an `Idempotency-Key` header over the page's
/// submission token.
fn touch_context(
    channel: &'static str,
    query: &BTreeMap<String, String>,
    hidden: &BTreeMap<String, String>,
    headers: &HeaderMap,
    referrer: Option<&str>,
) -> TouchContext {
    let mut context = ContextParams::merged(&[query, hidden]).into_touch(channel, referrer);
    if let Some(key) = header_str(headers, "idempotency-key") {
        context.idempotency_key = IdempotencyKey::parse(key);
    }
    context
}

async fn store(
    state: &AppState,
    target: &Target,
    read: ReadBody,
    context: TouchContext,
    lang: Lang,
) -> Result<IntakeOutcome, Rejected> {
    let ReadBody { fields, typed, .. } = read;
    let request = IntakeRequest {
        tenant: &target.tenant,
        form: &target.form,
        compiled: &target.compiled,
        fields,
        context,
        lang,
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
