//! Forms as intake needs them: each form's current record, kept for a
//! moment, and each version compiled once. Versions never change once
//! published, so a compiled version never goes stale.

use std::sync::Arc;

use serde_json::Value;

use super::{CompiledForm, check_definition};
use crate::recent::{Recent, SETTINGS_TTL};
use crate::storage::{FormRecord, StoreError, StoreResult, TenantStore};

pub struct FormCatalog {
    /// Compiled versions by (form id, version).
    compiled: Recent<(String, i32), CompiledForm>,
    /// The current record of each form by (tenant id, slug), so intake does
    /// not read it from the database on every submission.
    current: Recent<(String, String), FormRecord>,
}

impl Default for FormCatalog {
    fn default() -> Self {
        Self {
            compiled: Recent::forever(),
            current: Recent::new(SETTINGS_TTL),
        }
    }
}

impl FormCatalog {
    /// The form's current record (version, enabled), at most `SETTINGS_TTL` old.
    pub async fn current(&self, store: &TenantStore<'_>, slug: &str) -> StoreResult<Arc<FormRecord>> {
        let key = (store.tenant_id().to_owned(), slug.to_owned());
        self.current.get(key, store.form(slug)).await
    }

    /// Records a form just changed by this process.
    pub fn remember(&self, form: FormRecord) {
        let key = (form.tenant_id.clone(), form.slug.clone());
        self.current.remember(key, form);
    }

    /// The compiled validator of one version, compiled on first use.
    pub async fn get(&self, store: &TenantStore<'_>, form_id: &str, version: i32) -> StoreResult<Arc<CompiledForm>> {
        let key = (form_id.to_owned(), version);
        self.compiled
            .get(key, async {
                let stored = store.form_version(form_id, version).await?;
                let parse = |text: &str| {
                    serde_json::from_str::<Value>(text)
                        .map_err(|e| StoreError::Corrupt(format!("form version JSON: {e}")))
                };
                check_definition(&stored.title, &parse(&stored.schema)?, &parse(&stored.ui_schema)?).map_err(|errors| {
                    StoreError::Corrupt(format!("stored form version no longer compiles: {errors:?}"))
                })
            })
            .await
    }

    /// Keeps a version compiled at upload, so its first lead does not pay.
    pub fn insert(&self, form_id: &str, version: i32, compiled: CompiledForm) -> Arc<CompiledForm> {
        self.compiled.remember((form_id.to_owned(), version), compiled)
    }
}
