//! Publishing a workflow: its definition checked against the tenant (every
//! problem at its pointer) and stored, with the defaults filled in, as its
//! next version (a new workflow starts at version 1, active). Runs keep the
//! version they started on. The API's `PUT /workflows/{slug}` and the
//! workflows page both publish through here.

use serde_json::{Value, json};

use super::{NurtureCaches, Workflow, tenant_facts};
use crate::domain::FormSlug;
use crate::error::{ApiError, FieldError};
use crate::storage::{StoreError, TenantStore, WorkflowRecord};

/// A version just published.
#[derive(Debug)]
pub struct Published {
    pub record: WorkflowRecord,
    /// The definition as stored, defaults filled in.
    pub definition: Value,
}

/// Why a workflow was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The slug is not one a URL can carry as it is.
    #[error("the slug: {0}")]
    Slug(String),
    #[error("the workflow is not valid")]
    Invalid(Vec<FieldError>),
    /// Among others a `Conflict`: the workflow is archived.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PublishError> for ApiError {
    fn from(e: PublishError) -> Self {
        match e {
            PublishError::Slug(_) => {
                ApiError::validation("the workflow is not valid", vec![FieldError::new("", e.to_string())])
            }
            PublishError::Invalid(problems) => ApiError::validation("the workflow is not valid", problems),
            PublishError::Store(e) => e.into(),
        }
    }
}

/// Checks `definition` and stores it as the next version of the workflow
/// `slug` (creating it if it is new); the tenant's enrolments see it at once.
pub async fn publish(
    store: &TenantStore<'_>,
    caches: &NurtureCaches,
    slug: &str,
    definition: Value,
) -> Result<Published, PublishError> {
    FormSlug::parse(slug).map_err(|e| PublishError::Slug(e.0))?;
    let facts = tenant_facts(store).await?;
    let workflow = Workflow::parse(definition, &facts).map_err(PublishError::Invalid)?;
    let definition = json!(workflow);
    let record = store.publish_workflow(slug, &workflow.name, &definition).await?;
    caches.forget(store.tenant_id());
    Ok(Published { record, definition })
}
