//! A lead's behaviour events as scoring sees them: kinds and times, oldest
//! first.

use crate::clock::Timestamp;
use crate::plugins::bindings::BehaviourCount;

const DAY: i64 = 86_400_000_000;

#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// (kind, when), sorted by time.
    events: Vec<(String, Timestamp)>,
}

impl Behaviour {
    pub fn from_events(mut events: Vec<(String, Timestamp)>) -> Self {
        events.sort_by_key(|(_, at)| *at);
        Self { events }
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// When events of `kind` happened in `(from, to]`, oldest first.
    pub fn within(&self, kind: &str, from: Timestamp, to: Timestamp) -> Vec<Timestamp> {
        self.events
            .iter()
            .filter(|(k, at)| k == kind && *at > from && *at <= to)
            .map(|(_, at)| *at)
            .collect()
    }

    /// Counts per kind over the last 7 and 30 days, as plugins are handed them.
    pub fn counts(&self, now: Timestamp) -> Vec<BehaviourCount> {
        let mut counts: Vec<BehaviourCount> = Vec::new();
        for (kind, at) in &self.events {
            let age = now.micros() - at.micros();
            if !(0..30 * DAY).contains(&age) {
                continue;
            }
            let entry = match counts.iter_mut().position(|c| &c.kind == kind) {
                Some(i) => &mut counts[i],
                None => {
                    counts.push(BehaviourCount {
                        kind: kind.clone(),
                        last7_days: 0,
                        last30_days: 0,
                    });
                    counts.last_mut().expect("just pushed")
                }
            };
            entry.last30_days += 1;
            if age < 7 * DAY {
                entry.last7_days += 1;
            }
        }
        counts
    }
}
