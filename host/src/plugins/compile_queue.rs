//! The background compile queue. Compiling a large component takes seconds
//! (Python's runtime is 18 MB of WebAssembly), too long to hold a request
//! open or to let one tenant's uploads delay another's. A large upload is
//! stored as `compiling` and queued here; one compile runs at a time (a
//! compile already uses every core), and tenants take turns: each tenant's
//! uploads wait in their own line, and the lines are served round-robin.
//! The status lives in the database, so a restart queues the plugins still
//! `compiling` again (`Store::pending_compiles`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::storage::PendingCompile;

/// Compiles one tenant may have waiting.
pub const WAITING_PER_TENANT: usize = 4;
/// Compiles waiting in all.
pub const WAITING_IN_ALL: usize = 64;

/// Why an upload could not be queued; the uploader tries again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueueFull {
    #[error("this tenant already has {WAITING_PER_TENANT} plugins waiting to compile")]
    Tenant,
    #[error("{WAITING_IN_ALL} plugins are waiting to compile")]
    All,
}

#[derive(Default)]
pub struct CompileQueue {
    lines: Mutex<Lines>,
    /// Wakes the compiler; holds one wake-up when nobody waits, so a push
    /// between the compiler's last look and its wait is not missed.
    wake: Notify,
}

#[derive(Default)]
struct Lines {
    /// Tenants with work waiting, in turn order.
    turns: VecDeque<String>,
    by_tenant: HashMap<String, VecDeque<PendingCompile>>,
    waiting: usize,
}

impl CompileQueue {
    /// Whether the tenant may queue another compile now.
    pub fn has_room(&self, tenant_id: &str) -> Result<(), QueueFull> {
        let lines = self.lines.lock().expect("compile queue lock");
        if lines.waiting >= WAITING_IN_ALL {
            return Err(QueueFull::All);
        }
        if lines.by_tenant.get(tenant_id).map_or(0, VecDeque::len) >= WAITING_PER_TENANT {
            return Err(QueueFull::Tenant);
        }
        Ok(())
    }

    /// Queues a compile (the bound is checked before the plugin is stored,
    /// with `has_room`; work found at start is queued whatever its size).
    pub fn push(&self, compile: PendingCompile) {
        let mut lines = self.lines.lock().expect("compile queue lock");
        let tenant = compile.tenant_id.clone();
        let line = lines.by_tenant.entry(tenant.clone()).or_default();
        line.push_back(compile);
        if line.len() == 1 {
            lines.turns.push_back(tenant);
        }
        lines.waiting += 1;
        drop(lines);
        self.wake.notify_one();
    }

    /// The next compile: the first of the tenant whose turn it is.
    pub fn pop(&self) -> Option<PendingCompile> {
        let mut lines = self.lines.lock().expect("compile queue lock");
        let tenant = lines.turns.pop_front()?;
        let line = lines.by_tenant.get_mut(&tenant).expect("a tenant in turn has a line");
        let compile = line.pop_front().expect("a tenant in turn has work");
        if line.is_empty() {
            lines.by_tenant.remove(&tenant);
        } else {
            lines.turns.push_back(tenant);
        }
        lines.waiting -= 1;
        Some(compile)
    }

    /// Waits for the next compile.
    pub async fn next(&self) -> PendingCompile {
        loop {
            if let Some(compile) = self.pop() {
                return compile;
            }
            self.wake.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::World;

    fn compile(tenant: &str, plugin: &str) -> PendingCompile {
        PendingCompile {
            tenant_id: tenant.into(),
            plugin_id: plugin.into(),
            sha256: String::new(),
            world: World::Scorer,
        }
    }

    #[test]
    fn tenants_take_turns() {
        let queue = CompileQueue::default();
        for plugin in ["a1", "a2", "a3"] {
            queue.push(compile("a", plugin));
        }
        queue.push(compile("b", "b1"));
        queue.push(compile("c", "c1"));
        let order: Vec<String> = std::iter::from_fn(|| queue.pop()).map(|c| c.plugin_id).collect();
        assert_eq!(order, ["a1", "b1", "c1", "a2", "a3"]);
    }

    #[test]
    fn a_tenant_cannot_fill_the_queue() {
        let queue = CompileQueue::default();
        for n in 0..WAITING_PER_TENANT {
            queue.has_room("a").unwrap();
            queue.push(compile("a", &n.to_string()));
        }
        assert_eq!(queue.has_room("a"), Err(QueueFull::Tenant));
        assert_eq!(queue.has_room("b"), Ok(()));
        queue.pop();
        assert_eq!(queue.has_room("a"), Ok(()));
    }
}
