//! A per-tenant value read from the database and reused for a short while,
//! so the pipeline does not read and parse it for every lead. A change made
//! through this process is remembered at once; another process's change
//! takes at most `TTL` to arrive.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::storage::StoreResult;

const TTL: Duration = Duration::from_secs(2);

pub struct Recent<T> {
    entries: RwLock<HashMap<String, (Arc<T>, Instant)>>,
}

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Self {
            entries: RwLock::default(),
        }
    }
}

impl<T> Recent<T> {
    pub async fn get(&self, tenant_id: &str, load: impl Future<Output = StoreResult<T>>) -> StoreResult<Arc<T>> {
        if let Some((value, at)) = self.entries.read().expect("recent values lock").get(tenant_id)
            && at.elapsed() < TTL
        {
            return Ok(value.clone());
        }
        Ok(self.remember(tenant_id, load.await?))
    }

    pub fn remember(&self, tenant_id: &str, value: T) -> Arc<T> {
        let value = Arc::new(value);
        self.entries
            .write()
            .expect("recent values lock")
            .insert(tenant_id.to_owned(), (value.clone(), Instant::now()));
        value
    }
}
