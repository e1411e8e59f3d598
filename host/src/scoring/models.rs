//! Each tenant's current scoring model, kept for a moment so scoring a lead
//! does not read and parse it every time (a model change's re-score run
//! covers leads another process scored meanwhile).

use std::sync::Arc;

use super::ScoreModel;
use crate::storage::{StoreError, StoreResult, TenantStore};
use crate::tenants::Recent;

#[derive(Default)]
pub struct ScoreModels(Recent<ScoreModel>);

impl ScoreModels {
    /// The tenant's model; the default one until an admin sets one.
    pub async fn current(&self, store: &TenantStore<'_>) -> StoreResult<Arc<ScoreModel>> {
        self.0
            .get(store.tenant_id(), async {
                match store.scoring_model().await? {
                    Some(stored) => ScoreModel::parse(stored.model).map_err(|problems| {
                        StoreError::Corrupt(format!("stored scoring model no longer checks: {problems:?}"))
                    }),
                    None => Ok(ScoreModel::default()),
                }
            })
            .await
    }

    /// Records a model just saved by this process, so it applies at once.
    pub fn remember(&self, tenant_id: &str, model: ScoreModel) -> Arc<ScoreModel> {
        self.0.remember(tenant_id, model)
    }
}
