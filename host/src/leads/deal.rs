//! A deal: what an opportunity is worth and when it should close. Moving a
//! lead to opportunity or won records one (the dashboard's won value and
//! forecast read it).

use crate::domain::Stage;
use crate::error::FieldError;

/// Whether moving a lead to `stage` records a deal.
pub fn records_deal(stage: Stage) -> bool {
    matches!(stage, Stage::Opportunity | Stage::Won)
}

/// The deal a move to `to` records, from what a person typed (`None` when
/// that stage records none). A won deal without a date closed today in the
/// person's `zone`.
pub fn deal_for(
    to: Stage,
    value: Option<&str>,
    close_on: Option<&str>,
    zone: &jiff::tz::TimeZone,
) -> Result<Option<Deal>, Vec<FieldError>> {
    if !records_deal(to) {
        return Ok(None);
    }
    let today = (to == Stage::Won).then(|| jiff::Timestamp::now().to_zoned(zone.clone()).date().to_string());
    Deal::parse(value, close_on, today.as_deref()).map(Some)
}

/// A deal's value in minor units (fen, cents) and its close date.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deal {
    pub value_minor: i64,
    /// `YYYY-MM-DD`: expected for an opportunity, the day it closed for won.
    pub close_on: String,
}

/// Larger than any real deal; keeps the arithmetic of sums safe.
const MAX_VALUE_MINOR: i64 = 1_000_000_000_000_000;

impl Deal {
    /// A deal from a value as typed ("120000", "120,000.50") and a date;
    /// `today` when no date is given and one may be implied (a won deal
    /// closed today). Each problem at its pointer.
    pub fn parse(value: Option<&str>, close_on: Option<&str>, today: Option<&str>) -> Result<Deal, Vec<FieldError>> {
        let mut problems = Vec::new();
        let value_minor = match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => {
                problems.push(FieldError::new("/deal_value", "a deal value is needed"));
                None
            }
            Some(text) => match minor_units(text) {
                Some(v) if v > 0 && v <= MAX_VALUE_MINOR => Some(v),
                _ => {
                    problems.push(FieldError::new(
                        "/deal_value",
                        "must be an amount above 0 with at most two decimals, e.g. 120000 or 120000.50",
                    ));
                    None
                }
            },
        };
        let close_on = match close_on.map(str::trim).filter(|d| !d.is_empty()).or(today) {
            None => {
                problems.push(FieldError::new("/expected_close", "an expected close date is needed"));
                None
            }
            Some(text) => match text.parse::<jiff::civil::Date>() {
                Ok(date) => Some(date.to_string()),
                Err(_) => {
                    problems.push(FieldError::new("/expected_close", "must be a date, YYYY-MM-DD"));
                    None
                }
            },
        };
        match (value_minor, close_on) {
            (Some(value_minor), Some(close_on)) if problems.is_empty() => Ok(Deal { value_minor, close_on }),
            _ => Err(problems),
        }
    }
}

/// "120,000.5" -> 12000050. `None` for anything but digits, group commas
/// and at most two decimals.
fn minor_units(text: &str) -> Option<i64> {
    let plain: String = text.chars().filter(|c| *c != ',' && *c != '_').collect();
    let (whole, fraction) = plain.split_once('.').unwrap_or((&plain, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 2 {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents = format!("{fraction:0<2}").parse::<i64>().ok()?;
    whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_to_the_cent_and_bad_ones_are_refused() {
        let deal = |v: &str| Deal::parse(Some(v), Some("2027-01-31"), None);
        assert_eq!(deal("120000").unwrap().value_minor, 12_000_000);
        assert_eq!(deal("120,000.5").unwrap().value_minor, 12_000_050);
        assert_eq!(deal("0.01").unwrap().value_minor, 1);
        for bad in ["0", "-5", "1.234", "abc", "1e5", ".5", "99999999999999999999"] {
            assert!(deal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_won_deal_closes_today_unless_told_and_an_opportunity_needs_a_date() {
        let won = Deal::parse(Some("10"), None, Some("2026-12-03")).unwrap();
        assert_eq!(won.close_on, "2026-12-03");
        let problems = Deal::parse(Some("10"), None, None).unwrap_err();
        assert_eq!(problems[0].pointer, "/expected_close");
        let problems = Deal::parse(None, Some("31/01/2027"), None).unwrap_err();
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, ["/deal_value", "/expected_close"]);
    }
}
