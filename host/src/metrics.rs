//! Counters served at `/metrics` in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Default)]
pub struct Metrics {
    pub leads_created: Counter,
    pub leads_merged: Counter,
    pub submissions_invalid: Counter,
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = [
            ("leadhost_leads_created_total", "New leads stored.", &self.leads_created),
            (
                "leadhost_leads_merged_total",
                "Submissions merged into an existing lead.",
                &self.leads_merged,
            ),
            (
                "leadhost_submissions_invalid_total",
                "Submissions rejected by validation.",
                &self.submissions_invalid,
            ),
        ];
        for (name, help, counter) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                counter.get()
            );
        }
        out
    }
}
