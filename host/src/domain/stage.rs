//! The lead's lifecycle: new → MQL → SQL → opportunity → won | lost |
//! disqualified | recycled. The score promotes a lead forward by itself and
//! never moves it back (see `scoring::promotion`); people move it within
//! the allowed transitions.

use super::words::word_enum;

word_enum!(
    /// Where a lead stands in the funnel.
    Stage, "stage" {
        New = "new",
        Mql = "mql",
        Sql = "sql",
        Opportunity = "opportunity",
        Won = "won",
        Lost = "lost",
        Disqualified = "disqualified",
        Recycled = "recycled",
    }
);

use Stage::*;

impl Stage {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn won_is_final_and_closing_needs_a_reason() {
        assert!(Won.next_by_hand().is_empty());
        assert!(Lost.needs_reason() && Disqualified.needs_reason() && !Won.needs_reason());
        assert!(!Sql.next_by_hand().contains(&Mql), "no moving back by hand either");
    }

    #[test]
    fn a_stage_is_spelled_one_way() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), Some(*stage));
            assert_eq!(serde_json::to_value(stage).unwrap(), stage.as_str());
        }
        assert_eq!(Stage::parse("MQL"), None);
        assert!("won ".parse::<Stage>().unwrap_err().0.contains("is not a stage"));
    }
}
