//! The tenant's built-in scoring model: JSON an admin edits, checked before
//! it is stored (every problem at its JSON Pointer), and evaluated for a lead
//! without any I/O.
//!
//! A rule looks at one thing (a form field, a BANT answer, or how often a
//! behaviour event happened within a window) and its first matching case
//! gives the points. Behaviour points fade with the model's half-life,
//! counted from the newest event that earned them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::behaviour::Behaviour;
use crate::clock::Timestamp;
use crate::error::FieldError;

const MAX_POINTS: i32 = 1000;
const MAX_RULES: usize = 200;
const MAX_WINDOW_DAYS: u32 = 365;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreModel {
    /// Score at which a lead becomes warm, and hot. Tiers follow the score
    /// both ways.
    pub tiers: TierThresholds,
    /// Score at which a lead is promoted to MQL, and to SQL. Stages never
    /// move back by themselves.
    pub promote: PromoteThresholds,
    /// Behaviour points halve every this many days; absent: they do not fade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behaviour_half_life_days: Option<f64>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierThresholds {
    pub warm: i32,
    pub hot: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromoteThresholds {
    pub mql: i32,
    pub sql: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rule {
    /// A condition on a form field: company size, industry, job level, region…
    Attribute(FieldRule),
    /// A BANT answer (budget, authority, need, timeline) held in a form field.
    Bant(BantRule),
    /// How many events of one kind the lead had within a window.
    Behaviour(BehaviourRule),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub field: String,
    pub cases: Vec<FieldTest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BantRule {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub dimension: BantDimension,
    pub field: String,
    pub cases: Vec<FieldTest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviourRule {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub event: String,
    pub window_days: u32,
    pub cases: Vec<CountCase>,
}

/// The model as read before its rules: each rule is read on its own, so a
/// problem inside one is reported at its full pointer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    tiers: TierThresholds,
    promote: PromoteThresholds,
    #[serde(default)]
    behaviour_half_life_days: Option<f64>,
    #[serde(default)]
    rules: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BantDimension {
    Budget,
    Authority,
    Need,
    Timeline,
}

/// One condition on a field's value: exactly one of `equals`, `one_of`,
/// `contains_any`, `min`/`max` or `present`. As a scoring case it carries
/// the points it gives; routing conditions use the same tests without points.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldTest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
    /// Case-insensitive substrings of a text field (job-title keywords).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains_any: Option<Vec<String>>,
    /// Inclusive numeric bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// `true`: the field has a non-empty value; `false`: it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i32>,
}

/// An event count band (`min_count`..=`max_count`) and its points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountCase {
    pub min_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<u32>,
    pub points: i32,
}

impl Default for ScoreModel {
    /// A tenant without a model: no rules (scorer plugins may still add
    /// points) and thresholds sized for the six-dimension table's 0-18.
    fn default() -> Self {
        Self {
            tiers: TierThresholds { warm: 8, hot: 13 },
            promote: PromoteThresholds { mql: 8, sql: 13 },
            behaviour_half_life_days: None,
            rules: Vec::new(),
        }
    }
}

/// One contribution to a score, as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// `model`, or the scorer plugin's name.
    pub source: String,
    /// The model rule's id; absent for plugins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub points: f64,
    pub reason: String,
}

/// Behaviour points still fading: `points` at `since`, halving every
/// `half_life_secs`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fading {
    pub points: f64,
    pub since: Timestamp,
    pub half_life_secs: f64,
}

impl Fading {
    pub fn at(&self, now: Timestamp) -> f64 {
        let age = now.seconds_since(self.since).max(0.0);
        self.points * 0.5f64.powf(age / self.half_life_secs)
    }
}

/// What the model gives a lead at one moment.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub parts: Vec<Contribution>,
    pub fading: Vec<Fading>,
    /// When a counted event next leaves its window (a count changes then).
    pub window_change: Option<Timestamp>,
}

/// The problems of rule `i` beyond its shape.
fn rule_problems(i: usize, rule: &Rule) -> Vec<FieldError> {
    let mut problems = Vec::new();
    let mut problem = |pointer: String, message: &str| problems.push(FieldError::new(pointer, message));
    let at = |member: &str| format!("/rules/{i}/{member}");
    match rule {
        Rule::Attribute(FieldRule { field, cases, .. }) | Rule::Bant(BantRule { field, cases, .. }) => {
            if field.is_empty() || field.len() > 100 {
                problem(at("field"), "must name a form field (1-100 characters)");
            }
            if cases.is_empty() {
                problem(at("cases"), "must have at least one case");
            }
            for (j, case) in cases.iter().enumerate() {
                let at = format!("/rules/{i}/cases/{j}");
                for (pointer, message) in case.problems(&at) {
                    problem(pointer, &message);
                }
                match case.points {
                    None => problem(format!("{at}/points"), "is required"),
                    Some(points) if points.abs() > MAX_POINTS => problem(
                        format!("{at}/points"),
                        &format!("must be between -{MAX_POINTS} and {MAX_POINTS}"),
                    ),
                    Some(_) => {}
                }
            }
        }
        Rule::Behaviour(BehaviourRule {
            event,
            window_days,
            cases,
            ..
        }) => {
            if !crate::domain::is_event_kind(event) {
                problem(
                    at("event"),
                    "must be an event kind: lower-case letters, digits and '_', starting with a letter",
                );
            }
            if !(1..=MAX_WINDOW_DAYS).contains(window_days) {
                problem(at("window_days"), &format!("must be between 1 and {MAX_WINDOW_DAYS}"));
            }
            if cases.is_empty() {
                problem(at("cases"), "must have at least one case");
            }
            for (j, case) in cases.iter().enumerate() {
                let at = |member: &str| format!("/rules/{i}/cases/{j}/{member}");
                if case.min_count == 0 {
                    problem(at("min_count"), "must be at least 1 (no events earns nothing)");
                }
                if case.max_count.is_some_and(|max| max < case.min_count) {
                    problem(at("max_count"), "must not be less than min_count");
                }
                if case.points.abs() > MAX_POINTS {
                    problem(at("points"), &format!("must be between -{MAX_POINTS} and {MAX_POINTS}"));
                }
            }
        }
    }
    problems
}

impl ScoreModel {
    /// Reads and checks a model; every problem is reported at its pointer.
    pub fn parse(value: Value) -> Result<Self, Vec<FieldError>> {
        let raw: RawModel = serde_path_to_error::deserialize(value).map_err(|e| vec![FieldError::from_path(&e)])?;
        let mut rules = Vec::with_capacity(raw.rules.len());
        let mut problems = Vec::new();
        for (i, value) in raw.rules.into_iter().enumerate() {
            match read_rule(value) {
                Ok(rule) => rules.push(rule),
                Err(mut problem) => {
                    problem.pointer = format!("/rules/{i}{}", problem.pointer);
                    problems.push(problem);
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let model = ScoreModel {
            tiers: raw.tiers,
            promote: raw.promote,
            behaviour_half_life_days: raw.behaviour_half_life_days,
            rules,
        };
        let problems = model.problems();
        if problems.is_empty() { Ok(model) } else { Err(problems) }
    }

    fn problems(&self) -> Vec<FieldError> {
        let mut problems = Vec::new();
        let mut problem = |pointer: String, message: &str| problems.push(FieldError::new(pointer, message));
        if self.tiers.warm >= self.tiers.hot {
            problem("/tiers/hot".into(), "must be greater than warm");
        }
        if self.promote.mql >= self.promote.sql {
            problem("/promote/sql".into(), "must be greater than mql");
        }
        if let Some(days) = self.behaviour_half_life_days
            && !(days.is_finite() && (1.0 / 24.0..=3650.0).contains(&days))
        {
            problem(
                "/behaviour_half_life_days".into(),
                "must be between 1/24 (one hour) and 3650 days",
            );
        }
        if self.rules.len() > MAX_RULES {
            problem("/rules".into(), &format!("at most {MAX_RULES} rules"));
        }
        let mut seen = std::collections::HashSet::new();
        let mut per_rule = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let at = |member: &str| format!("/rules/{i}/{member}");
            let id = rule.id();
            if !is_name(id) {
                per_rule.push(FieldError::new(at("id"), "must be 1-64 letters, digits, '-' or '_'"));
            } else if !seen.insert(id) {
                per_rule.push(FieldError::new(at("id"), "is already used by an earlier rule"));
            }
            per_rule.extend(rule_problems(i, rule));
        }
        problems.extend(per_rule);
        problems
    }

    /// The model's parts for a lead with `fields` and `behaviour` at `now`.
    pub fn evaluate(&self, fields: &Value, behaviour: &Behaviour, now: Timestamp) -> Evaluation {
        let mut out = Evaluation::default();
        let half_life_secs = self.behaviour_half_life_days.map(|d| d * 86_400.0);
        for rule in &self.rules {
            match rule {
                Rule::Attribute(FieldRule {
                    id,
                    label,
                    field,
                    cases,
                })
                | Rule::Bant(BantRule {
                    id,
                    label,
                    field,
                    cases,
                    ..
                }) => {
                    let value = field_value(fields, field);
                    if let Some(case) = cases.iter().find(|c| c.matches(value)) {
                        let shown = value.map_or_else(|| "empty".to_owned(), show);
                        out.parts.push(Contribution {
                            source: "model".into(),
                            rule: Some(id.clone()),
                            points: case.points.unwrap_or(0).into(),
                            reason: format!("{}: {field} is {shown}", label.as_deref().unwrap_or(id)),
                        });
                    }
                }
                Rule::Behaviour(rule) => rule.evaluate(behaviour, half_life_secs, now, &mut out),
            }
        }
        out
    }
}

impl BehaviourRule {
    /// This rule's part at `now` (fading when the model sets a half-life),
    /// and when its window next changes, added to `out`.
    fn evaluate(&self, behaviour: &Behaviour, half_life_secs: Option<f64>, now: Timestamp, out: &mut Evaluation) {
        let BehaviourRule {
            id,
            label,
            event,
            window_days,
            cases,
        } = self;
        let window = i64::from(*window_days) * 86_400_000_000;
        let counted = behaviour.within(event, Timestamp(now.micros() - window), now);
        if let Some(oldest) = counted.first() {
            let leaves = Timestamp(oldest.micros() + window + 1);
            out.window_change = Some(out.window_change.map_or(leaves, |t| t.min(leaves)));
        }
        let count = counted.len() as u32;
        let Some(case) = cases
            .iter()
            .find(|c| count >= c.min_count && c.max_count.is_none_or(|max| count <= max))
        else {
            return;
        };
        let newest = *counted.last().expect("a matching case counts at least one event");
        let full = f64::from(case.points);
        let mut reason = format!(
            "{}: {count} {event} in the last {window_days} days",
            label.as_deref().unwrap_or(id)
        );
        let points = match half_life_secs {
            Some(half_life_secs) => {
                let fading = Fading {
                    points: full,
                    since: newest,
                    half_life_secs,
                };
                out.fading.push(fading);
                let now_points = fading.at(now);
                if (now_points - full).abs() >= 0.005 {
                    reason.push_str(&format!(" ({full} faded to {now_points:.2})"));
                }
                now_points
            }
            None => full,
        };
        out.parts.push(Contribution {
            source: "model".into(),
            rule: Some(id.clone()),
            points: round2(points),
            reason,
        });
    }
}

impl Rule {
    pub fn id(&self) -> &str {
        match self {
            Rule::Attribute(FieldRule { id, .. })
            | Rule::Bant(BantRule { id, .. })
            | Rule::Behaviour(BehaviourRule { id, .. }) => id,
        }
    }
}

impl FieldTest {
    /// What is wrong with the test itself, as (pointer under `at`, message).
    pub fn problems(&self, at: &str) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let conditions = [
            self.equals.is_some(),
            self.one_of.is_some(),
            self.contains_any.is_some(),
            self.min.is_some() || self.max.is_some(),
            self.present.is_some(),
        ];
        if conditions.iter().filter(|c| **c).count() != 1 {
            problems.push((
                at.to_owned(),
                "give exactly one of equals, one_of, contains_any, min/max or present".to_owned(),
            ));
        }
        if self.one_of.as_ref().is_some_and(Vec::is_empty) {
            problems.push((format!("{at}/one_of"), "must list at least one value".to_owned()));
        }
        if let Some(words) = &self.contains_any
            && (words.is_empty() || words.iter().any(|w| w.trim().is_empty()))
        {
            problems.push((format!("{at}/contains_any"), "must list non-empty words".to_owned()));
        }
        if let (Some(min), Some(max)) = (self.min, self.max)
            && min > max
        {
            problems.push((format!("{at}/max"), "must not be less than min".to_owned()));
        }
        problems
    }

    /// Whether a form field's value (absent or empty: `None`) passes.
    pub fn matches(&self, value: Option<&Value>) -> bool {
        if let Some(present) = self.present {
            return present == value.is_some();
        }
        let Some(value) = value else { return false };
        if let Some(expected) = &self.equals {
            return same(value, expected);
        }
        if let Some(options) = &self.one_of {
            return options.iter().any(|o| same(value, o));
        }
        if let Some(words) = &self.contains_any {
            let text = texts(value).join(" ").to_lowercase();
            return words.iter().any(|w| contains_keyword(&text, &w.to_lowercase()));
        }
        match number(value) {
            Some(n) => self.min.is_none_or(|min| n >= min) && self.max.is_none_or(|max| n <= max),
            None => false,
        }
    }
}

/// Equal values; strings compare without case, and an array field matches
/// when any of its items does (a multi-select).
/// A form field's value, `None` when absent or empty.
pub fn field_value<'a>(fields: &'a Value, field: &str) -> Option<&'a Value> {
    fields.get(field).filter(|v| !is_empty(v))
}

fn same(value: &Value, expected: &Value) -> bool {
    match (value, expected) {
        (Value::Array(items), _) => items.iter().any(|item| same(item, expected)),
        (Value::String(a), Value::String(b)) => a.trim().eq_ignore_ascii_case(b.trim()) || a == b,
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

/// ASCII keywords match whole words ("cto" is not in "director"); others,
/// such as Chinese titles written without spaces, match anywhere.
fn contains_keyword(text: &str, keyword: &str) -> bool {
    if !keyword.is_ascii() {
        return text.contains(keyword);
    }
    let is_word = |c: char| c.is_ascii_alphanumeric();
    text.match_indices(keyword).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + keyword.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        other => vec![other.to_string()],
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// One rule, by its `kind`.
fn read_rule(mut value: Value) -> Result<Rule, FieldError> {
    fn read<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, FieldError> {
        serde_path_to_error::deserialize(value).map_err(|e| FieldError::from_path(&e))
    }
    let Some(object) = value.as_object_mut() else {
        return Err(FieldError::new("", "a rule must be a JSON object"));
    };
    let kind = object.remove("kind");
    match kind.as_ref().and_then(Value::as_str) {
        Some("attribute") => read(value).map(Rule::Attribute),
        Some("bant") => read(value).map(Rule::Bant),
        Some("behaviour") => read(value).map(Rule::Behaviour),
        _ => Err(FieldError::new("/kind", "must be attribute, bant or behaviour")),
    }
}

fn is_name(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub fn round2(points: f64) -> f64 {
    (points * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pointers(value: Value) -> Vec<String> {
        ScoreModel::parse(value)
            .expect_err("the model is invalid")
            .into_iter()
            .map(|p| p.pointer)
            .collect()
    }

    fn base(rules: Value) -> Value {
        json!({"tiers": {"warm": 5, "hot": 10}, "promote": {"mql": 5, "sql": 10}, "rules": rules})
    }

    #[test]
    fn problems_are_reported_at_their_pointers() {
        assert_eq!(
            pointers(base(
                json!([{"kind": "attribute", "id": "a", "field": "x", "cases": [{"points": "3"}]}])
            )),
            ["/rules/0/cases/0/points"]
        );
        assert_eq!(
            pointers(base(
                json!([{"kind": "attribute", "id": "a", "field": "x", "cases": [{"points": 3}]}])
            )),
            ["/rules/0/cases/0"]
        );
        assert_eq!(
            pointers(base(json!([
                {"kind": "behaviour", "id": "v", "event": "Page View", "window_days": 0, "cases": [{"min_count": 0, "points": 1}]},
                {"kind": "bant", "id": "v", "dimension": "budget", "field": "budget", "cases": [{"equals": "x", "points": 5000}]}
            ]))),
            [
                "/rules/0/event",
                "/rules/0/window_days",
                "/rules/0/cases/0/min_count",
                "/rules/1/id",
                "/rules/1/cases/0/points"
            ]
        );
        assert_eq!(
            pointers(json!({"tiers": {"warm": 9, "hot": 9}, "promote": {"mql": 1, "sql": 2}})),
            ["/tiers/hot"]
        );
        assert_eq!(pointers(base(json!([{"kind": "vibes", "id": "a"}]))), ["/rules/0/kind"]);
        assert_eq!(
            pointers(json!({"tiers": {"warm": 1, "hot": 2}, "promote": {"mql": 1, "sql": 2}, "extra": 1})),
            ["/extra"]
        );
    }

    #[test]
    fn attribute_cases_match_the_first_that_applies() {
        let model = ScoreModel::parse(base(json!([
            {"kind": "attribute", "id": "size", "field": "employees", "cases": [
                {"min": 1000, "points": 3}, {"min": 200, "max": 999, "points": 2}, {"present": true, "points": 1}]},
            {"kind": "attribute", "id": "industry", "field": "industry", "cases": [{"one_of": ["Logistics", "retail"], "points": 3}]},
            {"kind": "attribute", "id": "title", "field": "job_title", "cases": [
                {"contains_any": ["ceo", "总经理"], "points": 3}, {"contains_any": ["manager"], "points": 1}]},
            {"kind": "bant", "id": "budget", "dimension": "budget", "field": "budget", "cases": [{"equals": ">1m", "points": 3}]}
        ])))
        .unwrap();
        let fields =
            json!({"employees": "250", "industry": "logistics", "job_title": "华东区总经理", "budget": "<50k"});
        let parts = model.evaluate(&fields, &Behaviour::default(), Timestamp(0)).parts;
        let got: Vec<(&str, f64)> = parts.iter().map(|p| (p.rule.as_deref().unwrap(), p.points)).collect();
        assert_eq!(got, [("size", 2.0), ("industry", 3.0), ("title", 3.0)]);
    }

    #[test]
    fn behaviour_points_count_within_the_window_and_fade() {
        let day = 86_400_000_000i64;
        let model = ScoreModel::parse(json!({
            "tiers": {"warm": 5, "hot": 10}, "promote": {"mql": 5, "sql": 10},
            "behaviour_half_life_days": 7,
            "rules": [{"kind": "behaviour", "id": "visits", "event": "page_view", "window_days": 30,
                       "cases": [{"min_count": 3, "points": 8}, {"min_count": 1, "points": 2}]}]
        }))
        .unwrap();
        let behaviour = Behaviour::from_events(vec![
            ("page_view".into(), Timestamp(0)),
            ("page_view".into(), Timestamp(day)),
            ("page_view".into(), Timestamp(2 * day)),
            ("download".into(), Timestamp(2 * day)),
        ]);
        let now = Timestamp(2 * day);
        let fresh = model.evaluate(&json!({}), &behaviour, now);
        assert_eq!(fresh.parts[0].points, 8.0);
        assert_eq!(fresh.window_change, Some(Timestamp(30 * day + 1)));
        let week_later = model.evaluate(&json!({}), &behaviour, Timestamp(9 * day));
        assert_eq!(week_later.parts[0].points, 4.0);
        // The first visit has left the 30-day window: the lower case applies.
        let past_window = model.evaluate(&json!({}), &behaviour, Timestamp(30 * day + 3_600_000_000));
        assert_eq!(
            past_window.parts[0].reason,
            "visits: 2 page_view in the last 30 days (2 faded to 0.12)"
        );
    }
}
