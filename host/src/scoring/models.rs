//! Each tenant's current scoring model, cached so scoring a lead does not
//! read and parse it every time.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::ScoreModel;
use crate::storage::{StoreError, StoreResult, TenantStore};

/// How long another process's model change may take to reach this one
/// (its re-score run covers the leads scored meanwhile).
const TTL: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct ScoreModels {
    current: RwLock<HashMap<String, (Arc<ScoreModel>, Instant)>>,
}

impl ScoreModels {
    /// The tenant's model; the default one until an admin sets one.
    pub async fn current(&self, store: &TenantStore<'_>) -> StoreResult<Arc<ScoreModel>> {
        if let Some((model, at)) = self.current.read().expect("score models lock").get(store.tenant_id())
            && at.elapsed() < TTL
        {
            return Ok(model.clone());
        }
        let model = match store.scoring_model().await? {
            Some(stored) => ScoreModel::parse(stored.model).map_err(|problems| {
                StoreError::Corrupt(format!("stored scoring model no longer checks: {problems:?}"))
            })?,
            None => ScoreModel::default(),
        };
        Ok(self.remember(store.tenant_id(), model))
    }

    /// Records a model just saved by this process, so it applies at once.
    pub fn remember(&self, tenant_id: &str, model: ScoreModel) -> Arc<ScoreModel> {
        let model = Arc::new(model);
        self.current
            .write()
            .expect("score models lock")
            .insert(tenant_id.to_owned(), (model.clone(), Instant::now()));
        model
    }
}
