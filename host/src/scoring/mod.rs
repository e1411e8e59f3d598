//! Scoring a lead: the tenant's built-in model (attribute, BANT and
//! behaviour rules) plus each enabled scorer plugin's parts, every part with
//! its reason. The score sets the tier (both ways) and may promote the stage
//! (forward only). Scores change on the event that changes them: intake, a
//! behaviour event, a model change, or the moment fading points next move
//! the score (a decay job scheduled for then, not a sweep).

pub mod behaviour;
pub mod model;
mod models;
pub mod rescore;
mod scorers;
pub mod tier;

pub use behaviour::Behaviour;
pub use model::{Contribution, PromoteThresholds, ScoreModel, TierThresholds};
pub use models::{ScoreModels, current_model};
pub use scorers::Scorers;
pub use tier::{promotion, tier_for_score};

use serde_json::json;

use crate::clock::Timestamp;
use crate::domain::{ScoreWrite, StageEntry};
use crate::storage::LeadRecord;
use model::Fading;

/// Where a score change came from, as the timeline shows it.
pub const CAUSE_INTAKE: &str = "intake";
pub const CAUSE_DECAY: &str = "decay";

/// The lead's new score, tier and stage from the model's and plugins' parts.
pub fn rescored(
    model: &ScoreModel,
    lead: &LeadRecord,
    behaviour: &Behaviour,
    plugin_parts: Vec<Contribution>,
    now: Timestamp,
    cause: &str,
) -> ScoreWrite {
    let evaluation = model.evaluate(&lead.fields, behaviour, now);
    let mut parts = evaluation.parts;
    parts.extend(plugin_parts);
    let total: f64 = parts.iter().map(|p| p.points).sum();
    let score = to_score(total);
    let fading_now: f64 = evaluation.fading.iter().map(|f| f.at(now)).sum();
    let next_check = next_change(total - fading_now, &evaluation.fading, evaluation.window_change, now);

    let tier = tier_for_score(score, &model.tiers);
    let mut events = Vec::new();
    let parts_json = serde_json::to_value(&parts).expect("score parts serialise");
    if cause == CAUSE_INTAKE || score != lead.score || parts_json != lead.score_parts {
        events.push((
            "scored".to_owned(),
            json!({"from": lead.score, "score": score, "cause": cause, "parts": parts_json}),
        ));
    }
    if tier != lead.tier {
        events.push((
            "tier_changed".to_owned(),
            json!({"from": lead.tier, "to": tier, "score": score}),
        ));
    }
    let current = lead.stage;
    let stage = promotion(current, score, &model.promote).map(|(to, threshold)| {
        let reason = format!(
            "score {score} reached the {} threshold of {threshold}",
            to.as_str().to_uppercase()
        );
        events.push((
            "stage_changed".to_owned(),
            json!({"from": current, "to": to, "reason": reason, "by": "scoring"}),
        ));
        StageEntry {
            stage: to,
            from: current,
            reason,
            by: "scoring".to_owned(),
        }
    });
    ScoreWrite {
        lead_id: lead.id.clone(),
        expected_rev: lead.score_rev,
        score,
        tier,
        parts: parts_json,
        stage,
        events,
        next_check,
    }
}

/// True when the write changes what the lead shows (a bulk re-score skips
/// the rest).
pub fn changes(write: &ScoreWrite, lead: &LeadRecord) -> bool {
    write.score != lead.score || write.tier != lead.tier || write.stage.is_some() || write.parts != lead.score_parts
}

fn to_score(total: f64) -> i32 {
    total.round().clamp(i32::MIN as f64, i32::MAX as f64) as i32
}

/// The first moment after `now` when the score moves by itself: fading
/// points cross a rounding step, or an event leaves its window. Fading is
/// smooth, so this steps forward and then narrows down to the second.
fn next_change(base: f64, fading: &[Fading], window_change: Option<Timestamp>, now: Timestamp) -> Option<Timestamp> {
    let Some(shortest) = fading.iter().map(|f| f.half_life_secs).reduce(f64::min) else {
        return window_change;
    };
    let score_at = |t: Timestamp| to_score(base + fading.iter().map(|f| f.at(t)).sum::<f64>());
    let current = score_at(now);
    let step = ((shortest / 32.0) * 1e6) as i64;
    // Past ten half-lives what is left is a rounding error.
    let horizon = Timestamp(now.micros().saturating_add(step.saturating_mul(320)));
    let limit = window_change.map_or(horizon, |w| w.min(horizon));
    let mut before = now;
    while before < limit {
        let after = Timestamp((before.micros() + step).min(limit.micros()));
        if score_at(after) != current {
            let (mut lo, mut hi) = (before.micros(), after.micros());
            while hi - lo > 1_000_000 {
                let mid = lo + (hi - lo) / 2;
                if score_at(Timestamp(mid)) == current {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            return Some(Timestamp(hi));
        }
        before = after;
    }
    window_change
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: f64 = 86_400.0;

    #[test]
    fn the_next_change_is_when_fading_points_cross_a_rounding_step() {
        // 4 points halving weekly: 4 → 3.5 (rounds to 3) after log2(4/3.5) weeks.
        let fading = [Fading {
            points: 4.0,
            since: Timestamp(0),
            half_life_secs: 7.0 * DAY,
        }];
        let at = next_change(10.0, &fading, None, Timestamp(0)).unwrap();
        let expected = (4.0f64 / 3.5).log2() * 7.0 * DAY;
        assert!(
            (at.micros() as f64 / 1e6 - expected).abs() <= 1.0,
            "{at:?} vs {expected}s"
        );
        // An earlier window change wins.
        let window = Timestamp(3_600_000_000);
        assert_eq!(next_change(10.0, &fading, Some(window), Timestamp(0)), Some(window));
        // Nothing fades: only the window matters.
        assert_eq!(next_change(10.0, &[], None, Timestamp(0)), None);
    }
}
