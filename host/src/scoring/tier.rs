//! Tiers follow the score both ways, by the model's thresholds.

use super::model::TierThresholds;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Cold,
    Warm,
    Hot,
}

impl Tier {
    pub fn for_score(score: i32, thresholds: &TierThresholds) -> Self {
        if score >= thresholds.hot {
            Tier::Hot
        } else if score >= thresholds.warm {
            Tier::Warm
        } else {
            Tier::Cold
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Cold => "cold",
            Tier::Warm => "warm",
            Tier::Hot => "hot",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "cold" => Tier::Cold,
            "warm" => Tier::Warm,
            "hot" => Tier::Hot,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_inclusive() {
        let t = TierThresholds { warm: 8, hot: 13 };
        let tiers: Vec<Tier> = [7, 8, 12, 13, 40].map(|s| Tier::for_score(s, &t)).to_vec();
        assert_eq!(tiers, [Tier::Cold, Tier::Warm, Tier::Warm, Tier::Hot, Tier::Hot]);
    }
}
