//! `bant-scorer`: scores the website demo-request form's BANT answers
//! (Budget, Authority, Need, Timeline). See README.md for the contract.

use std::collections::BTreeMap;

use leadhost_plugin::{Config, Fields, Lead, ScorePart, Scorer, export_scorer, log};
use serde::Deserialize;

/// The plugin: one score part per answered BANT question.
pub struct BantScorer;

impl Scorer for BantScorer {
    fn score(lead: &Lead, config: &str) -> Result<Vec<ScorePart>, String> {
        let config: BantConfig = Config::parse(config)?;
        let fields = Fields::from_lead(lead)?;
        let parts = score_answers(&fields, &config);
        let total: i32 = parts.iter().map(|p| p.points).sum();
        log::info(format!(
            "BANT scored lead {}: {} part(s), {total:+} points",
            lead.id,
            parts.len()
        ));
        Ok(parts)
    }
}

export_scorer!(BantScorer);

/// The tenant's configuration. Every key is optional; answer tables are
/// merged over the defaults, so `{"budget": {">1m": 40}}` changes one value.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BantConfig {
    /// Points per `budget` answer.
    pub budget: BTreeMap<String, i32>,
    /// Points per `authority` answer.
    pub authority: BTreeMap<String, i32>,
    /// Points for the free-text `need` answer.
    pub need: NeedConfig,
    /// Points per `timeline` answer.
    pub timeline: BTreeMap<String, i32>,
    /// Form property names, when the form does not use the default ones.
    pub field_names: FieldNames,
}

/// Points for the free-text `need` answer.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NeedConfig {
    /// A need at least this many characters long (after trimming) counts as
    /// described.
    pub min_length: usize,
    /// Points for a described need.
    pub points: i32,
    /// Points for a non-empty need shorter than `min_length`.
    pub short_points: i32,
}

impl Default for NeedConfig {
    fn default() -> Self {
        Self {
            min_length: 30,
            points: 15,
            short_points: 5,
        }
    }
}

/// The form property holding each BANT answer.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldNames {
    /// Property of the budget answer.
    pub budget: String,
    /// Property of the authority answer.
    pub authority: String,
    /// Property of the need answer.
    pub need: String,
    /// Property of the timeline answer.
    pub timeline: String,
}

impl Default for FieldNames {
    fn default() -> Self {
        Self {
            budget: "budget".into(),
            authority: "authority".into(),
            need: "need".into(),
            timeline: "timeline".into(),
        }
    }
}

/// Default points per budget answer.
pub const DEFAULT_BUDGET: &[(&str, i32)] = &[
    ("unknown", 0),
    ("<50k", 5),
    ("50k-200k", 10),
    ("200k-1m", 20),
    (">1m", 25),
];

/// Default points per authority answer.
pub const DEFAULT_AUTHORITY: &[(&str, i32)] = &[
    ("decision_maker", 20),
    ("influencer", 10),
    ("evaluator", 5),
    ("user", 2),
];

/// Default points per timeline answer.
pub const DEFAULT_TIMELINE: &[(&str, i32)] = &[
    ("this_month", 20),
    ("this_quarter", 15),
    ("this_year", 5),
    ("exploring", 0),
];

/// Score the four BANT answers in `fields`.
///
/// Returns one part per answer worth non-zero points, in B, A, N, T order.
/// Missing answers give no part; an answer not in its table gives no part
/// and logs a warning (a form and its scorer out of step).
pub fn score_answers(fields: &Fields, config: &BantConfig) -> Vec<ScorePart> {
    let names = &config.field_names;
    let mut parts = Vec::new();

    let choices = [
        ("Budget", &names.budget, DEFAULT_BUDGET, &config.budget),
        (
            "Authority",
            &names.authority,
            DEFAULT_AUTHORITY,
            &config.authority,
        ),
    ];
    for (label, field, defaults, overrides) in choices {
        parts.extend(choice_part(fields, label, field, defaults, overrides));
    }
    parts.extend(need_part(fields.str(&names.need), &config.need));
    parts.extend(choice_part(
        fields,
        "Timeline",
        &names.timeline,
        DEFAULT_TIMELINE,
        &config.timeline,
    ));
    parts
}

/// The part for one multiple-choice answer, looked up (case-insensitively)
/// in `overrides`, then in `defaults`.
fn choice_part(
    fields: &Fields,
    label: &str,
    field: &str,
    defaults: &[(&str, i32)],
    overrides: &BTreeMap<String, i32>,
) -> Option<ScorePart> {
    let Some(answer) = fields.str(field) else {
        log::debug(format!("{label}: no `{field}` answer"));
        return None;
    };
    let points = overrides
        .iter()
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(answer))
        .map(|(_, p)| *p)
        .or_else(|| {
            defaults
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(answer))
                .map(|(_, p)| *p)
        });
    match points {
        Some(0) => None,
        Some(points) => Some(ScorePart::new(
            points,
            format!("{label} {}: {points:+}", answer.replace('_', " ")),
        )),
        None => {
            log::warn(format!("{label}: unknown answer {answer:?} in `{field}`"));
            None
        }
    }
}

/// The part for the free-text need answer.
fn need_part(need: Option<&str>, config: &NeedConfig) -> Option<ScorePart> {
    let len = need?.chars().count();
    let (points, reason) = if len >= config.min_length {
        (config.points, format!("Need described ({len} chars)"))
    } else {
        (
            config.short_points,
            format!("Need mentioned briefly ({len} chars)"),
        )
    };
    (points != 0).then(|| ScorePart::new(points, format!("{reason}: {points:+}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> Fields {
        Fields::parse(json).unwrap()
    }

    fn reasons(parts: &[ScorePart]) -> Vec<&str> {
        parts.iter().map(|p| p.reason.as_str()).collect()
    }

    #[test]
    fn full_answers_with_defaults() {
        let f = fields(
            r#"{"budget":"200k-1m","authority":"decision_maker",
                "need":"We lose track of follow-ups across five offices.",
                "timeline":"this_quarter"}"#,
        );
        let parts = score_answers(&f, &BantConfig::default());
        assert_eq!(
            reasons(&parts),
            [
                "Budget 200k-1m: +20",
                "Authority decision maker: +20",
                "Need described (48 chars): +15",
                "Timeline this quarter: +15",
            ]
        );
        assert_eq!(parts.iter().map(|p| p.points).sum::<i32>(), 70);
    }

    #[test]
    fn zero_point_and_missing_answers_give_no_part() {
        let f = fields(r#"{"budget":"unknown","timeline":"exploring","need":"  "}"#);
        assert!(score_answers(&f, &BantConfig::default()).is_empty());
        assert!(score_answers(&fields("{}"), &BantConfig::default()).is_empty());
    }

    #[test]
    fn short_need_and_case_insensitive_answers() {
        let f = fields(r#"{"need":"CRM","authority":"Influencer","budget":">1M"}"#);
        let parts = score_answers(&f, &BantConfig::default());
        assert_eq!(
            reasons(&parts),
            [
                "Budget >1M: +25",
                "Authority Influencer: +10",
                "Need mentioned briefly (3 chars): +5"
            ]
        );
    }

    #[test]
    fn unknown_answer_is_skipped() {
        let f = fields(r#"{"budget":"lots","timeline":"this_month"}"#);
        let parts = score_answers(&f, &BantConfig::default());
        assert_eq!(reasons(&parts), ["Timeline this month: +20"]);
    }

    #[test]
    fn config_overrides_merge_with_defaults() {
        let config: BantConfig = Config::parse(
            r#"{"budget":{">1m":40,"unknown":-5},
                "need":{"min_length":3,"points":8},
                "field_names":{"timeline":"when"}}"#,
        )
        .unwrap();
        let f = fields(
            r#"{"budget":"unknown","need":"CRM","when":"this_year","timeline":"this_month"}"#,
        );
        let parts = score_answers(&f, &config);
        assert_eq!(
            reasons(&parts),
            [
                "Budget unknown: -5",
                "Need described (3 chars): +8",
                "Timeline this year: +5"
            ]
        );
        let f = fields(r#"{"budget":"50k-200k"}"#);
        assert_eq!(score_answers(&f, &config)[0].points, 10);
    }

    #[test]
    fn config_typos_are_errors() {
        let err = Config::parse::<BantConfig>(r#"{"budjet":{}}"#).unwrap_err();
        assert!(err.contains("unknown field `budjet`"), "{err}");
    }

    #[test]
    fn scores_the_sample_lead() {
        let lead = Lead::from_json(include_str!("../../sample-lead.json")).unwrap();
        let parts = BantScorer::score(&lead, "{}").unwrap();
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0].reason, "Budget 200k-1m: +20");
    }

    #[test]
    fn sample_config_is_valid() {
        Config::parse::<BantConfig>(include_str!("../config.json")).unwrap();
    }
}
