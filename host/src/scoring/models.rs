//! Each tenant's current scoring model, kept for a moment so scoring a lead
//! does not read and parse it every time (a model change's re-score run
//! covers leads another process scored meanwhile).

use std::sync::Arc;

use super::ScoreModel;
use crate::recent::Recent;
use crate::storage::{StoreError, StoreResult, TenantStore};

/// Current models by tenant id.
pub type ScoreModels = Recent<String, ScoreModel>;

/// The tenant's model; the default one until an admin sets one.
pub async fn current_model(models: &ScoreModels, store: &TenantStore<'_>) -> StoreResult<Arc<ScoreModel>> {
    models
        .get(store.tenant_id().to_owned(), async {
            match store.scoring_model().await? {
                Some(stored) => ScoreModel::parse(stored.model).map_err(|problems| {
                    StoreError::Corrupt(format!("stored scoring model no longer checks: {problems:?}"))
                }),
                None => Ok(ScoreModel::default()),
            }
        })
        .await
}
