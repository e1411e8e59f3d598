//! Values read from the database and reused for a short while (or, for
//! values that never change once written, for good), so the pipeline does not
//! read and parse them for every lead. A change made through this process is
//! remembered at once; another process's change takes at most the TTL to
//! arrive. The one cache type behind the tenant directory, the form catalog,
//! the score models, the routing rules and the enabled plugins.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long another process's change to a tenant's settings (its model, its
/// rules, a form's new version, its plugins) may take to reach this one.
pub const SETTINGS_TTL: Duration = Duration::from_secs(2);

pub struct Recent<K, V> {
    /// `None`: entries never go stale (the value cannot change once written).
    ttl: Option<Duration>,
    entries: RwLock<HashMap<K, (Arc<V>, Instant)>>,
}

impl<K: Eq + Hash, V> Recent<K, V> {
    /// Entries older than `ttl` are read again.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl: Some(ttl),
            entries: RwLock::default(),
        }
    }

    /// For values that never change once written: kept until the process ends.
    pub fn forever() -> Self {
        Self {
            ttl: None,
            entries: RwLock::default(),
        }
    }

    /// The fresh entry for `key`, if any.
    pub fn fresh(&self, key: &K) -> Option<Arc<V>> {
        let entries = self.entries.read().expect("recent values lock");
        let (value, at) = entries.get(key)?;
        self.ttl.is_none_or(|ttl| at.elapsed() < ttl).then(|| value.clone())
    }

    /// The entry for `key`, loaded with `load` when missing or stale. A
    /// failed load is not remembered.
    pub async fn get<E>(&self, key: K, load: impl Future<Output = Result<V, E>>) -> Result<Arc<V>, E> {
        if let Some(value) = self.fresh(&key) {
            return Ok(value);
        }
        Ok(self.remember(key, load.await?))
    }

    /// Records a value just written by this process, so it applies at once.
    pub fn remember(&self, key: K, value: V) -> Arc<V> {
        let value = Arc::new(value);
        self.entries
            .write()
            .expect("recent values lock")
            .insert(key, (value.clone(), Instant::now()));
        value
    }

    /// Forgets every entry `keep` refuses (e.g. a tenant's after a change
    /// made elsewhere in this process).
    pub fn retain(&self, keep: impl Fn(&K) -> bool) {
        self.entries.write().expect("recent values lock").retain(|k, _| keep(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_value_is_loaded_once_then_reused_until_stale() {
        let cache: Recent<&str, i32> = Recent::new(Duration::from_secs(60));
        let first = cache.get("t", async { Ok::<_, ()>(1) }).await.unwrap();
        let second = cache.get("t", async { Ok::<_, ()>(2) }).await.unwrap();
        assert_eq!((*first, *second), (1, 1));
        let stale: Recent<&str, i32> = Recent::new(Duration::ZERO);
        stale.remember("t", 1);
        assert_eq!(*stale.get("t", async { Ok::<_, ()>(2) }).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_failed_load_is_not_remembered() {
        let cache: Recent<&str, i32> = Recent::forever();
        assert!(cache.get("t", async { Err::<i32, _>("down") }).await.is_err());
        assert_eq!(*cache.get("t", async { Ok::<_, &str>(3) }).await.unwrap(), 3);
    }
}
