//! How a team picks one of its members for a lead. Every strategy skips
//! members who are away or at capacity; the choice reads counters kept in
//! the same transaction that assigns, so it is exact under concurrency.

use std::cmp::Ordering;

pub use crate::domain::Strategy;
/// A team member as a strategy sees them (their load as stored).
pub use crate::storage::MemberLoad as Member;

/// The member to give the next lead, or `None` when nobody can take it.
pub fn pick(strategy: Strategy, members: &[Member]) -> Option<&Member> {
    let eligible = members.iter().filter(|m| can_take(m));
    match strategy {
        Strategy::RoundRobin => eligible.min_by(|a, b| {
            a.assigned
                .cmp(&b.assigned)
                .then(a.last_assigned_at.cmp(&b.last_assigned_at))
                .then(a.user_id.cmp(&b.user_id))
        }),
        Strategy::LeastLoaded => eligible.min_by(|a, b| {
            a.open_leads
                .cmp(&b.open_leads)
                .then(a.assigned.cmp(&b.assigned))
                .then(a.user_id.cmp(&b.user_id))
        }),
        // The member furthest behind their share: smallest (given + 1) / weight.
        Strategy::Weighted => eligible.filter(|m| m.weight > 0).min_by(|a, b| {
            let share = |m: &Member| (m.assigned + 1) as f64 / m.weight as f64;
            share(a)
                .partial_cmp(&share(b))
                .unwrap_or(Ordering::Equal)
                .then(b.weight.cmp(&a.weight))
                .then(a.user_id.cmp(&b.user_id))
        }),
    }
}

/// Available and under capacity (0: no limit).
fn can_take(member: &Member) -> bool {
    member.available && (member.capacity == 0 || member.open_leads < member.capacity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, weight: i64, open_leads: i64, capacity: i64) -> Member {
        Member {
            user_id: id.into(),
            weight,
            assigned: 0,
            last_assigned_at: None,
            open_leads,
            capacity,
            available: true,
        }
    }

    /// Gives `n` leads, updating the counters as the store does.
    fn deal(strategy: Strategy, members: &mut [Member], n: usize) -> Vec<i64> {
        for t in 0..n {
            let Some(id) = pick(strategy, members).map(|m| m.user_id.clone()) else {
                break;
            };
            let m = members.iter_mut().find(|m| m.user_id == id).unwrap();
            m.assigned += 1;
            m.open_leads += 1;
            m.last_assigned_at = Some(t as i64);
        }
        members.iter().map(|m| m.assigned).collect()
    }

    #[test]
    fn round_robin_is_even_and_skips_the_unavailable() {
        let mut members = vec![member("a", 1, 0, 0), member("b", 1, 0, 0), member("c", 1, 0, 0)];
        members[2].available = false;
        assert_eq!(deal(Strategy::RoundRobin, &mut members, 10), [5, 5, 0]);
    }

    #[test]
    fn least_loaded_fills_the_emptiest_and_respects_capacity() {
        let mut members = vec![member("a", 1, 5, 6), member("b", 1, 0, 3), member("c", 1, 2, 0)];
        assert_eq!(deal(Strategy::LeastLoaded, &mut members, 6), [0, 3, 3]);
        let open: Vec<i64> = members.iter().map(|m| m.open_leads).collect();
        assert_eq!(open, [5, 3, 5]);
        // b is full; a has one slot left.
        assert_eq!(deal(Strategy::LeastLoaded, &mut members, 100), [1, 3, 102]);
    }

    #[test]
    fn weighted_deals_in_proportion() {
        let mut members = vec![member("a", 3, 0, 0), member("b", 1, 0, 0), member("c", 0, 0, 0)];
        assert_eq!(deal(Strategy::Weighted, &mut members, 400), [300, 100, 0]);
    }
}
