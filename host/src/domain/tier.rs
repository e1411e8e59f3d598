//! How warm a lead is. Tiers follow the score both ways, by the scoring
//! model's thresholds (`scoring::tier_for_score`).

use super::words::word_enum;

word_enum!(
    Tier, "tier" {
        Cold = "cold",
        Warm = "warm",
        Hot = "hot",
    }
);

impl Tier {
    /// Warmer is higher: how lists sort by tier.
    pub fn rank(self) -> i32 {
        match self {
            Tier::Cold => 1,
            Tier::Warm => 2,
            Tier::Hot => 3,
        }
    }
}
