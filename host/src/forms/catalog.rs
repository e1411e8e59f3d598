//! Compiled form versions, cached. Versions never change once published, so
//! an entry never goes stale and needs no invalidation.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{CompiledForm, check_definition};
use crate::storage::{FormRecord, StoreError, StoreResult, TenantStore};

/// How long another process's change to a form (a new version, disabling it)
/// may take to reach this one. Changes made through this process apply at once.
const CURRENT_TTL: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct FormCatalog {
    compiled: RwLock<HashMap<(String, i32), Arc<CompiledForm>>>,
    /// The current record of each form by (tenant id, slug), so intake does
    /// not read it from the database on every submission.
    current: RwLock<HashMap<(String, String), (FormRecord, Instant)>>,
}

impl FormCatalog {
    /// The form's current record (version, enabled), at most `CURRENT_TTL` old.
    pub async fn current(&self, store: &TenantStore<'_>, slug: &str) -> StoreResult<FormRecord> {
        let key = (store.tenant_id().to_owned(), slug.to_owned());
        if let Some((form, at)) = self.current.read().expect("form catalog lock").get(&key)
            && at.elapsed() < CURRENT_TTL
        {
            return Ok(form.clone());
        }
        let form = store.form(slug).await?;
        self.remember(form.clone());
        Ok(form)
    }

    /// Records a form just changed by this process.
    pub fn remember(&self, form: FormRecord) {
        let key = (form.tenant_id.clone(), form.slug.clone());
        self.current
            .write()
            .expect("form catalog lock")
            .insert(key, (form, Instant::now()));
    }

    /// The compiled validator of one version, compiled on first use.
    pub async fn get(&self, store: &TenantStore<'_>, form_id: &str, version: i32) -> StoreResult<Arc<CompiledForm>> {
        let key = (form_id.to_owned(), version);
        if let Some(found) = self.compiled.read().expect("form catalog lock").get(&key) {
            return Ok(found.clone());
        }
        let stored = store.form_version(form_id, version).await?;
        let parse = |text: &str| {
            serde_json::from_str::<Value>(text).map_err(|e| StoreError::Corrupt(format!("form version JSON: {e}")))
        };
        let compiled = check_definition(&stored.title, &parse(&stored.schema)?, &parse(&stored.ui_schema)?)
            .map_err(|errors| StoreError::Corrupt(format!("stored form version no longer compiles: {errors:?}")))?;
        Ok(self.insert(form_id, version, compiled))
    }

    /// Keeps a version compiled at upload, so its first lead does not pay.
    pub fn insert(&self, form_id: &str, version: i32, compiled: CompiledForm) -> Arc<CompiledForm> {
        let compiled = Arc::new(compiled);
        self.compiled
            .write()
            .expect("form catalog lock")
            .insert((form_id.to_owned(), version), compiled.clone());
        compiled
    }
}
