//! What the dashboard counts about one lead, kept as the lead changes.
//!
//! Every lead has one [`LeadFacts`] record (its cohort: the day it was
//! created and the dimensions the dashboard filters by, and how far it
//! got). A change to the lead is a [`DashboardChange`]; applying it moves
//! the facts, and the per-day rollups move by the difference between what
//! the facts counted before and after ([`LeadFacts::counts`]), in the same
//! unit of work as the change. Plain data and pure functions: storage
//! applies them where it writes (`storage::dashboard`), the dashboard reads
//! the sums (`crate::dashboard`).

use crate::clock::Timestamp;

use super::{ActivityKind, Stage, Tier};

/// One change the dashboard counts, named for what happened to the lead.
#[derive(Debug, Clone, PartialEq)]
pub enum DashboardChange {
    /// A new lead: its cohort's dimensions. (Its day in the tenant's time
    /// zone is worked out where it is written.)
    Created {
        created_at: Timestamp,
        source: String,
        campaign: String,
        form_id: String,
        channel: String,
    },
    /// The lead's tier now (a score write; the same tier again counts nothing).
    Tier(Tier),
    /// The lead entered a stage.
    Stage { to: Stage, at: Timestamp },
    /// The deal recorded with an opportunity or a win (minor units).
    Deal { value_minor: i64 },
    /// The lead's owner now (`None`: the pool), with the first-touch
    /// deadline they were given, if any.
    Owner {
        owner: Option<String>,
        first_touch_due: Option<Timestamp>,
    },
    /// The owner touched the lead (an activity that touches it); only the
    /// lead's first touch counts, against the deadline standing then.
    Touched { at: Timestamp, due: Option<Timestamp> },
    /// An SLA deadline of the lead passed untouched.
    Breach,
    /// A user logged an activity on the lead (counted by the activity's day).
    Activity {
        user_id: String,
        kind: ActivityKind,
        at: Timestamp,
    },
}

/// How far along the funnel a stage is: `new` 0, `mql` 1, `sql` 2,
/// `opportunity` 3, `won` 4; `None` for the stages off the funnel (lost,
/// disqualified, recycled), which leave the lead where it had got to.
pub fn funnel_level(stage: Stage) -> Option<u8> {
    match stage {
        Stage::New => Some(0),
        Stage::Mql => Some(1),
        Stage::Sql => Some(2),
        Stage::Opportunity => Some(3),
        Stage::Won => Some(4),
        Stage::Lost | Stage::Disqualified | Stage::Recycled => None,
    }
}

/// The stages whose time the dashboard measures, in funnel order.
pub const TIMED_STAGES: [Stage; 4] = [Stage::New, Stage::Mql, Stage::Sql, Stage::Opportunity];

/// A rollup row's key: the cohort day (`YYYY-MM-DD` in the tenant's time
/// zone) and the dimensions the dashboard filters and groups by; `""` for
/// none (no campaign, no owner).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RollupKey {
    pub day: String,
    pub source: String,
    pub campaign: String,
    pub form_id: String,
    pub channel: String,
    pub owner_id: String,
    /// Spreads the unowned leads of one day over [`SHARDS`] rows (0 for
    /// owned ones): every new lead lands unowned, and on PostgreSQL
    /// concurrent intakes would otherwise queue for one row's lock.
    pub shard: i64,
}

/// How many rows the unowned leads of one key are spread over.
pub const SHARDS: i64 = 8;

/// The row a lead counts in while it has no owner: from its id, so it
/// stays the same.
pub fn shard_of(lead_id: &str) -> i64 {
    lead_id.bytes().fold(0i64, |h, b| (h * 31 + i64::from(b)) % 1_000_003) % SHARDS
}

/// The counters of a rollup row, in the order of [`COUNTERS`].
pub type Counts = [i64; COUNTERS.len()];

/// The rollup's counter columns. "Reached" a stage means it or a later one
/// on the funnel (a lead promoted from new straight to SQL passed MQL).
/// Of the leads given a first-touch deadline (`sla_due`), each is either
/// `sla_in_time`, `sla_late`, `sla_breached` (not touched yet, a deadline
/// passed) or still pending (the rest).
pub const COUNTERS: [&str; 25] = [
    "leads",
    "reached_mql",
    "reached_sql",
    "reached_opportunity",
    "reached_won",
    "lost",
    "disqualified",
    "won_value",
    "won_cycle_secs",
    "new_secs",
    "new_stays",
    "mql_secs",
    "mql_stays",
    "sql_secs",
    "sql_stays",
    "opportunity_secs",
    "opportunity_stays",
    "tier_cold",
    "tier_warm",
    "tier_hot",
    "sla_due",
    "sla_in_time",
    "sla_late",
    "sla_breached",
    "breaches",
];

/// The index of a counter in [`Counts`].
pub fn counter(name: &str) -> usize {
    COUNTERS
        .iter()
        .position(|c| *c == name)
        .unwrap_or_else(|| panic!("no dashboard counter {name}"))
}

/// The activity rollup's counters, one per kind, in [`ActivityKind::ALL`] order.
pub type ActivityCounts = [i64; 5];

/// An activity rollup row's key: the activity's day, who logged it, and the
/// lead's dimensions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActivityKey {
    pub day: String,
    pub user_id: String,
    pub source: String,
    pub campaign: String,
    pub form_id: String,
}

/// The first touch of a lead, as the SLA counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstTouch {
    None = 0,
    InTime = 1,
    Late = 2,
}

impl FirstTouch {
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => FirstTouch::InTime,
            2 => FirstTouch::Late,
            _ => FirstTouch::None,
        }
    }
}

/// What the dashboard knows about one lead.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadFacts {
    pub lead_id: String,
    pub key: RollupKey,
    pub created_at: Timestamp,
    pub stage: Stage,
    pub stage_since: Timestamp,
    /// The furthest funnel level reached (see [`funnel_level`]).
    pub level: u8,
    pub lost: bool,
    pub disqualified: bool,
    pub tier: Tier,
    pub deal_value: i64,
    pub won_at: Option<Timestamp>,
    /// Seconds spent in each of [`TIMED_STAGES`], and how many stays ended.
    pub stage_secs: [i64; 4],
    pub stage_stays: [i64; 4],
    /// It was given a first-touch deadline.
    pub sla_due: bool,
    pub first_touch: FirstTouch,
    pub breaches: i64,
}

impl LeadFacts {
    /// A new lead: stage new, cold, no owner.
    pub fn new(lead_id: &str, day: String, created: &DashboardChange) -> Option<Self> {
        let DashboardChange::Created {
            created_at,
            source,
            campaign,
            form_id,
            channel,
        } = created
        else {
            return None;
        };
        Some(LeadFacts {
            lead_id: lead_id.to_owned(),
            key: RollupKey {
                day,
                source: source.clone(),
                campaign: campaign.clone(),
                form_id: form_id.clone(),
                channel: channel.clone(),
                owner_id: String::new(),
                shard: shard_of(lead_id),
            },
            created_at: *created_at,
            stage: Stage::New,
            stage_since: *created_at,
            level: 0,
            lost: false,
            disqualified: false,
            tier: Tier::Cold,
            deal_value: 0,
            won_at: None,
            stage_secs: [0; 4],
            stage_stays: [0; 4],
            sla_due: false,
            first_touch: FirstTouch::None,
            breaches: 0,
        })
    }

    /// Moves the facts by one change (`Created` and `Activity` leave them
    /// as they are: the first makes them, the second is counted apart).
    pub fn apply(&mut self, change: &DashboardChange) {
        match change {
            DashboardChange::Created { .. } | DashboardChange::Activity { .. } => {}
            DashboardChange::Tier(tier) => self.tier = *tier,
            DashboardChange::Stage { to, at } => {
                if let Some(i) = TIMED_STAGES.iter().position(|s| *s == self.stage) {
                    self.stage_secs[i] += (at.micros() - self.stage_since.micros()).max(0) / 1_000_000;
                    self.stage_stays[i] += 1;
                }
                self.stage = *to;
                self.stage_since = *at;
                if let Some(level) = funnel_level(*to) {
                    self.level = self.level.max(level);
                }
                match to {
                    Stage::Lost => self.lost = true,
                    Stage::Disqualified => self.disqualified = true,
                    Stage::Won if self.won_at.is_none() => self.won_at = Some(*at),
                    _ => {}
                }
            }
            DashboardChange::Deal { value_minor } => self.deal_value = *value_minor,
            DashboardChange::Owner { owner, first_touch_due } => {
                self.key.owner_id = owner.clone().unwrap_or_default();
                self.key.shard = match owner {
                    None => shard_of(&self.lead_id),
                    Some(_) => 0,
                };
                if first_touch_due.is_some() {
                    self.sla_due = true;
                }
            }
            DashboardChange::Touched { at, due } => {
                if self.first_touch == FirstTouch::None {
                    self.first_touch = match due {
                        Some(due) if at > due => FirstTouch::Late,
                        _ => FirstTouch::InTime,
                    };
                }
            }
            DashboardChange::Breach => self.breaches += 1,
        }
    }

    /// What this lead adds to its rollup row.
    pub fn counts(&self) -> Counts {
        let mut c = [0; COUNTERS.len()];
        let mut set = |name: &str, value: i64| c[counter(name)] = value;
        let won = self.level >= 4;
        set("leads", 1);
        set("reached_mql", (self.level >= 1).into());
        set("reached_sql", (self.level >= 2).into());
        set("reached_opportunity", (self.level >= 3).into());
        set("reached_won", won.into());
        set("lost", self.lost.into());
        set("disqualified", self.disqualified.into());
        set("won_value", if won { self.deal_value } else { 0 });
        let cycle = self
            .won_at
            .map(|at| (at.micros() - self.created_at.micros()).max(0) / 1_000_000);
        set("won_cycle_secs", cycle.unwrap_or(0));
        for (i, stage) in TIMED_STAGES.iter().enumerate() {
            set(&format!("{stage}_secs"), self.stage_secs[i]);
            set(&format!("{stage}_stays"), self.stage_stays[i]);
        }
        set("tier_cold", (self.tier == Tier::Cold).into());
        set("tier_warm", (self.tier == Tier::Warm).into());
        set("tier_hot", (self.tier == Tier::Hot).into());
        set("sla_due", self.sla_due.into());
        set(
            "sla_in_time",
            (self.sla_due && self.first_touch == FirstTouch::InTime).into(),
        );
        set(
            "sla_late",
            (self.sla_due && self.first_touch == FirstTouch::Late).into(),
        );
        // Untouched, a deadline passed: only first-touch deadlines stand
        // before the first touch (follow-ups are set by touches).
        set(
            "sla_breached",
            (self.sla_due && self.first_touch == FirstTouch::None && self.breaches > 0).into(),
        );
        set("breaches", self.breaches);
        c
    }
}

/// A lead as the source tables keep it (`leads`, its first touch, its
/// stage entries, its timeline's breaches), from which its facts are
/// counted again (`leadhost dashboard rebuild`) by applying the same
/// changes the live counting applied.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadHistory {
    pub lead_id: String,
    pub created_at: Timestamp,
    pub source: String,
    /// The first touch's UTM campaign (`""`: none).
    pub campaign: String,
    pub form_id: String,
    pub channel: String,
    /// The stages it entered after `new`, oldest first.
    pub stages: Vec<(Stage, Timestamp)>,
    /// Its stage now, and since when (`None`: since it was created).
    pub stage: Stage,
    pub stage_entered_at: Option<Timestamp>,
    pub tier: Tier,
    pub owner: Option<String>,
    pub deal_value: Option<i64>,
    /// SLA deadlines that passed untouched (its `sla_breached` entries).
    pub breaches: i64,
    /// Whether it was given a first-touch deadline, and its first touch,
    /// as counted so far: no source table keeps the deadline that stood at
    /// the first touch, so these carry over from its facts (none: not yet).
    pub sla_due: bool,
    pub first_touch: FirstTouch,
}

impl LeadHistory {
    /// Its facts, with `day` its creation's day in the tenant's time zone.
    pub fn facts(&self, day: String) -> LeadFacts {
        let created = DashboardChange::Created {
            created_at: self.created_at,
            source: self.source.clone(),
            campaign: self.campaign.clone(),
            form_id: self.form_id.clone(),
            channel: self.channel.clone(),
        };
        let mut facts = LeadFacts::new(&self.lead_id, day, &created).expect("a Created change makes facts");
        for (to, at) in &self.stages {
            facts.apply(&DashboardChange::Stage { to: *to, at: *at });
        }
        // Stage entries missing (a lead stored before they were kept): its
        // stage now counts, as migration 0017's backfill counts it.
        if facts.stage != self.stage {
            let at = self.stage_entered_at.unwrap_or(self.created_at);
            facts.apply(&DashboardChange::Stage { to: self.stage, at });
        }
        if let Some(value_minor) = self.deal_value {
            facts.apply(&DashboardChange::Deal { value_minor });
        }
        facts.apply(&DashboardChange::Tier(self.tier));
        facts.apply(&DashboardChange::Owner {
            owner: self.owner.clone(),
            first_touch_due: None,
        });
        facts.sla_due = self.sla_due;
        facts.first_touch = self.first_touch;
        facts.breaches = self.breaches;
        facts
    }
}

/// The position of an activity kind in [`ActivityCounts`].
pub fn activity_index(kind: ActivityKind) -> usize {
    ActivityKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is in ALL")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp(secs * 1_000_000)
    }

    fn lead() -> LeadFacts {
        let created = DashboardChange::Created {
            created_at: at(0),
            source: "ads".into(),
            campaign: "spring".into(),
            form_id: "f".into(),
            channel: "api".into(),
        };
        LeadFacts::new("l", "2026-01-01".into(), &created).unwrap()
    }

    fn count(facts: &LeadFacts, name: &str) -> i64 {
        facts.counts()[counter(name)]
    }

    #[test]
    fn a_won_lead_counts_every_stage_it_passed_its_value_and_its_cycle() {
        let mut facts = lead();
        facts.apply(&DashboardChange::Stage {
            to: Stage::Sql,
            at: at(100),
        });
        facts.apply(&DashboardChange::Stage {
            to: Stage::Opportunity,
            at: at(400),
        });
        facts.apply(&DashboardChange::Deal { value_minor: 500 });
        facts.apply(&DashboardChange::Stage {
            to: Stage::Won,
            at: at(1000),
        });
        for name in [
            "leads",
            "reached_mql",
            "reached_sql",
            "reached_opportunity",
            "reached_won",
        ] {
            assert_eq!(count(&facts, name), 1, "{name}");
        }
        assert_eq!(count(&facts, "won_value"), 500);
        assert_eq!(count(&facts, "won_cycle_secs"), 1000);
        assert_eq!(count(&facts, "new_secs"), 100);
        assert_eq!(count(&facts, "sql_secs"), 300);
        assert_eq!(count(&facts, "opportunity_stays"), 1);
        assert_eq!(count(&facts, "mql_stays"), 0);
    }

    #[test]
    fn only_the_first_touch_counts_against_the_deadline() {
        let mut facts = lead();
        facts.apply(&DashboardChange::Owner {
            owner: Some("u".into()),
            first_touch_due: Some(at(60)),
        });
        facts.apply(&DashboardChange::Touched {
            at: at(61),
            due: Some(at(60)),
        });
        facts.apply(&DashboardChange::Touched {
            at: at(62),
            due: Some(at(100)),
        });
        assert_eq!(count(&facts, "sla_due"), 1);
        assert_eq!(count(&facts, "sla_late"), 1);
        assert_eq!(count(&facts, "sla_in_time"), 0);
        assert_eq!((facts.key.owner_id.as_str(), facts.key.shard), ("u", 0));
        facts.apply(&DashboardChange::Owner {
            owner: None,
            first_touch_due: None,
        });
        assert_eq!(facts.key.shard, shard_of("l"), "back in the pool, spread again");
    }

    #[test]
    fn a_deadline_counts_once_decided_and_until_then_is_pending() {
        let mut facts = lead();
        facts.apply(&DashboardChange::Owner {
            owner: Some("u".into()),
            first_touch_due: Some(at(60)),
        });
        let decided = |f: &LeadFacts| ["sla_in_time", "sla_late", "sla_breached"].map(|name| count(f, name));
        assert_eq!((count(&facts, "sla_due"), decided(&facts)), (1, [0, 0, 0]), "pending");
        facts.apply(&DashboardChange::Breach);
        assert_eq!(decided(&facts), [0, 0, 1], "missed, untouched");
        facts.apply(&DashboardChange::Touched {
            at: at(90),
            due: Some(at(60)),
        });
        assert_eq!(decided(&facts), [0, 1, 0], "touched late: late, no longer missed");
        assert_eq!(count(&facts, "breaches"), 1);
    }

    #[test]
    fn a_history_recounted_gives_the_facts_its_changes_gave() {
        let mut live = lead();
        for change in [
            DashboardChange::Tier(Tier::Hot),
            DashboardChange::Owner {
                owner: Some("u".into()),
                first_touch_due: Some(at(60)),
            },
            DashboardChange::Breach,
            DashboardChange::Touched {
                at: at(90),
                due: Some(at(60)),
            },
            DashboardChange::Stage {
                to: Stage::Mql,
                at: at(100),
            },
            DashboardChange::Deal { value_minor: 500 },
            DashboardChange::Stage {
                to: Stage::Opportunity,
                at: at(400),
            },
            DashboardChange::Stage {
                to: Stage::Won,
                at: at(1000),
            },
        ] {
            live.apply(&change);
        }
        let history = LeadHistory {
            lead_id: "l".into(),
            created_at: at(0),
            source: "ads".into(),
            campaign: "spring".into(),
            form_id: "f".into(),
            channel: "api".into(),
            stages: vec![
                (Stage::Mql, at(100)),
                (Stage::Opportunity, at(400)),
                (Stage::Won, at(1000)),
            ],
            stage: Stage::Won,
            stage_entered_at: Some(at(1000)),
            tier: Tier::Hot,
            owner: Some("u".into()),
            deal_value: Some(500),
            breaches: 1,
            sla_due: true,
            first_touch: FirstTouch::Late,
        };
        assert_eq!(history.facts("2026-01-01".into()), live);
        // Without stage entries, its stage now counts (as the backfill counts it).
        let bare = LeadHistory {
            stages: Vec::new(),
            ..history
        };
        let facts = bare.facts("2026-01-01".into());
        assert_eq!((facts.level, facts.won_at), (4, Some(at(1000))));
    }

    #[test]
    fn a_lead_back_from_recycled_is_not_counted_twice() {
        let mut facts = lead();
        for (stage, t) in [(Stage::Mql, 1), (Stage::Recycled, 2), (Stage::Mql, 3)] {
            facts.apply(&DashboardChange::Stage { to: stage, at: at(t) });
        }
        assert_eq!(count(&facts, "reached_mql"), 1);
        assert_eq!(count(&facts, "mql_stays"), 1);
    }
}
