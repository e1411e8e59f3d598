//! Tiers follow the score both ways, by the model's thresholds; the stage
//! is promoted forward only.

use super::model::{PromoteThresholds, TierThresholds};
use crate::domain::{Stage, Tier};

pub fn tier_for_score(score: i32, thresholds: &TierThresholds) -> Tier {
    if score >= thresholds.hot {
        Tier::Hot
    } else if score >= thresholds.warm {
        Tier::Warm
    } else {
        Tier::Cold
    }
}

/// The stage a score promotes a lead to, if any: new and recycled leads to
/// MQL, and those below SQL to SQL. Never backwards, never past SQL.
pub fn promotion(stage: Stage, score: i32, thresholds: &PromoteThresholds) -> Option<(Stage, i32)> {
    use Stage::*;
    match stage {
        New | Mql | Recycled if score >= thresholds.sql => Some((Sql, thresholds.sql)),
        New | Recycled if score >= thresholds.mql => Some((Mql, thresholds.mql)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_inclusive() {
        let t = TierThresholds { warm: 8, hot: 13 };
        let tiers: Vec<Tier> = [7, 8, 12, 13, 40].map(|s| tier_for_score(s, &t)).to_vec();
        assert_eq!(tiers, [Tier::Cold, Tier::Warm, Tier::Warm, Tier::Hot, Tier::Hot]);
    }

    #[test]
    fn promotion_moves_forward_only() {
        use Stage::*;
        let t = PromoteThresholds { mql: 8, sql: 13 };
        assert_eq!(promotion(New, 7, &t), None);
        assert_eq!(promotion(New, 8, &t), Some((Mql, 8)));
        assert_eq!(promotion(New, 20, &t), Some((Sql, 13)));
        assert_eq!(promotion(Mql, 12, &t), None);
        assert_eq!(promotion(Mql, 13, &t), Some((Sql, 13)));
        assert_eq!(promotion(Recycled, 9, &t), Some((Mql, 8)));
        for stage in [Sql, Opportunity, Won, Lost, Disqualified] {
            assert_eq!(promotion(stage, 100, &t), None, "{stage} is never promoted by score");
        }
    }
}
