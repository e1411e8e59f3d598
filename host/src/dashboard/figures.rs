//! The figures, worked out from the rollup sums (see the module above for
//! what each means). Every view is a [`Table`], so its JSON and its CSV are
//! the same rows.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use crate::domain::{COUNTERS, Counts, TIMED_STAGES, counter};
use crate::storage::{ACTIVITY_COLUMNS, ActivitySums, RollupSums};

/// One view: named columns and rows of values.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    fn new(columns: &[&'static str]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    /// The rows as JSON objects.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|row| {
                    let object: Map<String, Value> = self
                        .columns
                        .iter()
                        .map(|c| c.to_string())
                        .zip(row.iter().cloned())
                        .collect();
                    Value::Object(object)
                })
                .collect(),
        )
    }
}

/// The views, in the order they are shown and exported.
pub const VIEWS: [&str; 8] = [
    "summary",
    "funnel",
    "stages",
    "sources",
    "campaigns",
    "channels",
    "reps",
    "tiers",
];

/// Every view of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub views: Vec<(&'static str, Table)>,
}

impl Dashboard {
    pub fn view(&self, name: &str) -> Option<&Table> {
        self.views.iter().find(|(n, _)| *n == name).map(|(_, t)| t)
    }

    /// Leads created in the range (the funnel's first row).
    pub fn total(&self) -> i64 {
        self.view("funnel")
            .and_then(|t| t.rows.first())
            .and_then(|row| row.get(1))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    }

    /// Every view, by name.
    pub fn to_json(&self) -> Map<String, Value> {
        self.views
            .iter()
            .map(|(name, table)| (name.to_string(), table.to_json()))
            .collect()
    }
}

/// A fraction rounded to 4 decimals; `null` over nothing.
fn rate(part: i64, whole: i64) -> Value {
    if whole == 0 {
        return Value::Null;
    }
    json!(((part as f64 / whole as f64) * 10_000.0).round() / 10_000.0)
}

/// A mean of seconds, to the whole second; `null` over nothing.
fn mean_seconds(total: i64, count: i64) -> Value {
    if count == 0 {
        return Value::Null;
    }
    json!((total as f64 / count as f64).round() as i64)
}

/// A mean of seconds in days, to 2 decimals; `null` over nothing.
fn mean_days(total: i64, count: i64) -> Value {
    if count == 0 {
        return Value::Null;
    }
    json!(((total as f64 / count as f64 / 86_400.0) * 100.0).round() / 100.0)
}

fn add(into: &mut Counts, counts: &Counts) {
    for (sum, c) in into.iter_mut().zip(counts) {
        *sum += c;
    }
}

/// The first-touch SLA beside `sla_due`, `sla_in_time` and `sla_late`:
/// how many were missed (`sla_breached`), the compliance over the decided
/// deadlines (in time / (in time + late + missed)) and how many are still
/// pending (neither touched nor missed).
fn sla(counts: &Counts) -> [Value; 3] {
    let c = |name: &str| counts[counter(name)];
    let decided = c("sla_in_time") + c("sla_late") + c("sla_breached");
    [
        json!(c("sla_breached")),
        rate(c("sla_in_time"), decided),
        json!(c("sla_due") - decided),
    ]
}

/// All the views from the rollup sums, the activity sums and users' emails.
pub fn compute(sums: &[RollupSums], activity: &[ActivitySums], emails: &HashMap<String, String>) -> Dashboard {
    let c = |counts: &Counts, name: &str| counts[counter(name)];
    let mut total = [0; COUNTERS.len()];
    let mut by_source: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut by_campaign: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut by_channel: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut by_owner: BTreeMap<&str, Counts> = BTreeMap::new();
    for row in sums {
        add(&mut total, &row.counts);
        for (map, key) in [
            (&mut by_source, row.source.as_str()),
            (&mut by_campaign, row.campaign.as_str()),
            (&mut by_channel, row.channel.as_str()),
        ] {
            add(map.entry(key).or_insert([0; COUNTERS.len()]), &row.counts);
        }
        if !row.owner_id.is_empty() {
            add(
                by_owner.entry(row.owner_id.as_str()).or_insert([0; COUNTERS.len()]),
                &row.counts,
            );
        }
    }

    let leads = c(&total, "leads");
    let mut summary = Table::new(&["figure", "value"]);
    let [sla_breached, sla_compliance, sla_pending] = sla(&total);
    for (figure, value) in [
        ("leads", json!(leads)),
        ("lead_to_opportunity", rate(c(&total, "reached_opportunity"), leads)),
        (
            "opportunity_to_won",
            rate(c(&total, "reached_won"), c(&total, "reached_opportunity")),
        ),
        ("won", json!(c(&total, "reached_won"))),
        ("won_value", json!(c(&total, "won_value"))),
        (
            "average_days_to_won",
            mean_days(c(&total, "won_cycle_secs"), c(&total, "reached_won")),
        ),
        (
            "average_seconds_to_won",
            mean_seconds(c(&total, "won_cycle_secs"), c(&total, "reached_won")),
        ),
        ("sla_due", json!(c(&total, "sla_due"))),
        ("sla_in_time", json!(c(&total, "sla_in_time"))),
        ("sla_late", json!(c(&total, "sla_late"))),
        ("sla_breached", sla_breached),
        ("sla_compliance", sla_compliance),
        ("sla_pending", sla_pending),
        ("breaches", json!(c(&total, "breaches"))),
    ] {
        summary.push(vec![json!(figure), value]);
    }

    let mut funnel = Table::new(&["stage", "leads", "conversion", "drop_off"]);
    let steps = [
        ("new", "leads"),
        ("mql", "reached_mql"),
        ("sql", "reached_sql"),
        ("opportunity", "reached_opportunity"),
        ("won", "reached_won"),
    ];
    let mut previous: Option<i64> = None;
    for (stage, name) in steps {
        let count = c(&total, name);
        let (conversion, drop_off) = match previous {
            None => (Value::Null, Value::Null),
            Some(before) => (rate(count, before), json!(before - count)),
        };
        funnel.push(vec![json!(stage), json!(count), conversion, drop_off]);
        previous = Some(count);
    }
    for closed in ["lost", "disqualified"] {
        funnel.push(vec![
            json!(closed),
            json!(c(&total, closed)),
            rate(c(&total, closed), leads),
            Value::Null,
        ]);
    }

    let mut stages = Table::new(&["stage", "stays", "average_seconds", "average_days"]);
    for stage in TIMED_STAGES {
        let secs = c(&total, &format!("{stage}_secs"));
        let stays = c(&total, &format!("{stage}_stays"));
        stages.push(vec![
            json!(stage.as_str()),
            json!(stays),
            mean_seconds(secs, stays),
            mean_days(secs, stays),
        ]);
    }

    let quality = |column: &'static str, groups: &BTreeMap<&str, Counts>| {
        let mut table = Table::new(&[column, "leads", "mql_rate", "conversion", "won", "won_value"]);
        for (key, counts) in groups {
            let leads = c(counts, "leads");
            if leads == 0 {
                continue;
            }
            table.push(vec![
                json!(key),
                json!(leads),
                rate(c(counts, "reached_mql"), leads),
                rate(c(counts, "reached_won"), leads),
                json!(c(counts, "reached_won")),
                json!(c(counts, "won_value")),
            ]);
        }
        table
    };

    let mut acts: BTreeMap<&str, [i64; ACTIVITY_COLUMNS.len()]> = BTreeMap::new();
    for row in activity {
        let slot = acts.entry(row.user_id.as_str()).or_default();
        for (sum, n) in slot.iter_mut().zip(row.counts) {
            *sum += n;
        }
    }
    let mut reps = Table::new(&[
        "user_id",
        "email",
        "calls",
        "meetings",
        "emails",
        "messages",
        "leads",
        "opportunities",
        "won",
        "won_value",
        "conversion",
        "sla_due",
        "sla_in_time",
        "sla_late",
        "sla_breached",
        "sla_compliance",
        "sla_pending",
        "breaches",
    ]);
    let mut people: Vec<&str> = by_owner.keys().chain(acts.keys()).copied().collect();
    people.sort_by_key(|id| (emails.get(*id).cloned().unwrap_or_default(), id.to_string()));
    people.dedup();
    let none = [0; COUNTERS.len()];
    for id in people {
        let owned = by_owner.get(id).unwrap_or(&none);
        let logged = acts.get(id).copied().unwrap_or_default();
        let kind = |name: &str| logged[ACTIVITY_COLUMNS.iter().position(|c| *c == name).unwrap_or(0)];
        let leads = c(owned, "leads");
        let [sla_breached, sla_compliance, sla_pending] = sla(owned);
        reps.push(vec![
            json!(id),
            json!(emails.get(id)),
            json!(kind("calls")),
            json!(kind("meetings")),
            json!(kind("emails")),
            json!(kind("messages")),
            json!(leads),
            json!(c(owned, "reached_opportunity")),
            json!(c(owned, "reached_won")),
            json!(c(owned, "won_value")),
            rate(c(owned, "reached_won"), leads),
            json!(c(owned, "sla_due")),
            json!(c(owned, "sla_in_time")),
            json!(c(owned, "sla_late")),
            sla_breached,
            sla_compliance,
            sla_pending,
            json!(c(owned, "breaches")),
        ]);
    }

    let mut tiers = Table::new(&["tier", "leads", "share"]);
    for tier in ["cold", "warm", "hot"] {
        let n = c(&total, &format!("tier_{tier}"));
        tiers.push(vec![json!(tier), json!(n), rate(n, leads)]);
    }

    Dashboard {
        views: vec![
            ("summary", summary),
            ("funnel", funnel),
            ("stages", stages),
            ("sources", quality("source", &by_source)),
            ("campaigns", quality("campaign", &by_campaign)),
            ("channels", quality("channel", &by_channel)),
            ("reps", reps),
            ("tiers", tiers),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(board: &Dashboard, name: &str) -> Value {
        let summary = board.view("summary").unwrap();
        summary.rows.iter().find(|r| r[0] == name).unwrap()[1].clone()
    }

    #[test]
    fn sla_compliance_counts_decided_deadlines_and_shows_the_pending_beside_it() {
        let mut counts = [0; COUNTERS.len()];
        for (name, n) in [
            ("leads", 10),
            ("sla_due", 10),
            ("sla_in_time", 3),
            ("sla_late", 1),
            ("sla_breached", 2),
        ] {
            counts[counter(name)] = n;
        }
        let sums = [RollupSums {
            source: "ads".into(),
            campaign: String::new(),
            channel: "api".into(),
            owner_id: "u".into(),
            counts,
        }];
        let board = compute(&sums, &[], &HashMap::new());
        assert_eq!(figure(&board, "sla_compliance"), json!(0.5), "3 of the 6 decided");
        assert_eq!(figure(&board, "sla_pending"), json!(4));
        let reps = board.view("reps").unwrap().to_json();
        assert_eq!(
            (
                &reps[0]["sla_breached"],
                &reps[0]["sla_compliance"],
                &reps[0]["sla_pending"]
            ),
            (&json!(2), &json!(0.5), &json!(4))
        );
        // Nothing decided yet: no compliance to speak of.
        counts[counter("sla_in_time")] = 0;
        counts[counter("sla_late")] = 0;
        counts[counter("sla_breached")] = 0;
        let sums = [RollupSums {
            counts,
            ..sums[0].clone()
        }];
        let board = compute(&sums, &[], &HashMap::new());
        assert_eq!(figure(&board, "sla_compliance"), Value::Null);
        assert_eq!(figure(&board, "sla_pending"), json!(10));
    }
}
