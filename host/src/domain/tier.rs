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
