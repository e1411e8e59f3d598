//! The lead's lifecycle: new → MQL → SQL → opportunity → won | lost |
//! disqualified | recycled. The score promotes a lead forward by itself and
//! never moves it back; people move it within the allowed transitions.

use crate::scoring::PromoteThresholds;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    New,
    Mql,
    Sql,
    Opportunity,
    Won,
    Lost,
    Disqualified,
    Recycled,
}

use Stage::*;

impl Stage {
    pub const ALL: [Stage; 8] = [New, Mql, Sql, Opportunity, Won, Lost, Disqualified, Recycled];

    pub fn as_str(self) -> &'static str {
        match self {
            New => "new",
            Mql => "mql",
            Sql => "sql",
            Opportunity => "opportunity",
            Won => "won",
            Lost => "lost",
            Disqualified => "disqualified",
            Recycled => "recycled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Where a person may move a lead from this stage.
    pub fn next_by_hand(self) -> &'static [Stage] {
        match self {
            New => &[Mql, Sql, Lost, Disqualified],
            Mql => &[Sql, Lost, Disqualified, Recycled],
            Sql => &[Opportunity, Lost, Disqualified, Recycled],
            Opportunity => &[Won, Lost, Recycled],
            Recycled => &[Mql, Sql, Lost, Disqualified],
            Lost | Disqualified => &[Recycled],
            Won => &[],
        }
    }

    /// Closing a lead as lost or disqualified needs a reason.
    pub fn needs_reason(self) -> bool {
        matches!(self, Lost | Disqualified)
    }

    /// Open leads count against their owner's capacity.
    pub fn is_open(self) -> bool {
        !matches!(self, Won | Lost | Disqualified)
    }

    /// The stage a score promotes a lead to, if any: new and recycled leads
    /// to MQL, and those below SQL to SQL. Never backwards, never past SQL.
    pub fn promotion(self, score: i32, thresholds: &PromoteThresholds) -> Option<(Stage, i32)> {
        match self {
            New | Mql | Recycled if score >= thresholds.sql => Some((Sql, thresholds.sql)),
            New | Recycled if score >= thresholds.mql => Some((Mql, thresholds.mql)),
            _ => None,
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_moves_forward_only() {
        let t = PromoteThresholds { mql: 8, sql: 13 };
        assert_eq!(New.promotion(7, &t), None);
        assert_eq!(New.promotion(8, &t), Some((Mql, 8)));
        assert_eq!(New.promotion(20, &t), Some((Sql, 13)));
        assert_eq!(Mql.promotion(12, &t), None);
        assert_eq!(Mql.promotion(13, &t), Some((Sql, 13)));
        assert_eq!(Recycled.promotion(9, &t), Some((Mql, 8)));
        for stage in [Sql, Opportunity, Won, Lost, Disqualified] {
            assert_eq!(stage.promotion(100, &t), None, "{stage} is never promoted by score");
        }
    }

    #[test]
    fn won_is_final_and_closing_needs_a_reason() {
        assert!(Won.next_by_hand().is_empty());
        assert!(Lost.needs_reason() && Disqualified.needs_reason() && !Won.needs_reason());
        assert!(!Sql.next_by_hand().contains(&Mql), "no moving back by hand either");
    }
}
