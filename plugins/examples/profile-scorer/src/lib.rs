//! `profile-scorer`: the six-dimension profile table (site visits, downloads,
//! webinars, company size, industry match, job level), 1-3 points each.
//! See README.md for the contract.

use std::collections::BTreeMap;

use leadhost_plugin::{Config, Fields, Lead, ScorePart, Scorer, export_scorer, log};
use serde::Deserialize;

/// The plugin: one score part per dimension that earns points.
pub struct ProfileScorer;

impl Scorer for ProfileScorer {
    fn score(lead: &Lead, config: &str) -> Result<Vec<ScorePart>, String> {
        let config: ProfileConfig = Config::parse(config)?;
        config.validate()?;
        let fields = Fields::from_lead(lead)?;
        let parts = score_profile(lead, &fields, &config);
        let total: i32 = parts.iter().map(|p| p.points).sum();
        log::info(format!(
            "profile scored lead {}: {} of 6 dimensions matched, {total:+} points",
            lead.id,
            parts.len()
        ));
        Ok(parts)
    }
}

export_scorer!(ProfileScorer);

/// Behaviour kind counted for site visits (last 7 days).
pub const PAGE_VIEW: &str = "page_view";
/// Behaviour kind counted for downloads (last 30 days).
pub const DOWNLOAD: &str = "download";
/// Behaviour kind counted for webinars (last 30 days).
pub const WEBINAR_ATTENDED: &str = "webinar_attended";

/// The tenant's configuration; every key is optional.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileConfig {
    /// Thresholds of `page_view` events in the last 7 days for 1, 2, 3 points.
    pub site_visits_per_week: Vec<u32>,
    /// Thresholds of `download` events in the last 30 days.
    pub downloads: Vec<u32>,
    /// Thresholds of `webinar_attended` events in the last 30 days.
    pub webinars: Vec<u32>,
    /// Points per `company_size` band ("1-49", "50-199", "200-999", "1000+").
    /// A numeric `company_size` (a head count) is placed in its band first.
    pub company_size: BTreeMap<String, i32>,
    /// Industries that count as a match for the `industry` field
    /// (case-insensitive). Empty: the dimension scores nothing.
    pub target_industries: Vec<String>,
    /// Points for an industry match.
    pub industry_points: i32,
    /// Points per `job_level` value (case-insensitive).
    pub job_levels: BTreeMap<String, i32>,
    /// When `job_level` is missing or unknown: keywords looked for, as whole
    /// words, in `job_title`, per points ("3", "2", "1"); the highest wins.
    pub job_title_keywords: BTreeMap<String, Vec<String>>,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        let map = |pairs: &[(&str, i32)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<BTreeMap<_, _>>()
        };
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Self {
            site_visits_per_week: vec![1, 3, 5],
            downloads: vec![1, 2, 4],
            webinars: vec![1, 2, 3],
            company_size: map(&[("1-49", 1), ("50-199", 2), ("200-999", 3), ("1000+", 3)]),
            target_industries: Vec::new(),
            industry_points: 3,
            job_levels: map(&[
                ("c_level", 3),
                ("executive", 3),
                ("owner", 3),
                ("vp", 3),
                ("director", 2),
                ("head", 2),
                ("manager", 1),
                ("lead", 1),
            ]),
            job_title_keywords: BTreeMap::from([
                (
                    "3".to_string(),
                    words(&[
                        "ceo",
                        "cto",
                        "cfo",
                        "coo",
                        "cio",
                        "cmo",
                        "chief",
                        "founder",
                        "co-founder",
                        "owner",
                        "president",
                        "vp",
                        "vice president",
                        "总裁",
                        "总经理",
                        "董事长",
                        "创始人",
                        "副总",
                    ]),
                ),
                (
                    "2".to_string(),
                    words(&["director", "head of", "head", "总监"]),
                ),
                (
                    "1".to_string(),
                    words(&["manager", "lead", "team lead", "supervisor", "经理", "主管"]),
                ),
            ]),
        }
    }
}

impl ProfileConfig {
    /// Check the bands and point tables; the error names the bad key.
    pub fn validate(&self) -> Result<(), String> {
        for (name, band) in [
            ("site_visits_per_week", &self.site_visits_per_week),
            ("downloads", &self.downloads),
            ("webinars", &self.webinars),
        ] {
            if band.len() > 3 || band.windows(2).any(|w| w[0] > w[1]) || band.contains(&0) {
                return Err(format!(
                    "invalid plugin config: `{name}` must list up to 3 ascending \
                     thresholds >= 1 (for 1, 2 and 3 points), got {band:?}"
                ));
            }
        }
        for key in self.job_title_keywords.keys() {
            if key.parse::<i32>().is_err() {
                return Err(format!(
                    "invalid plugin config: `job_title_keywords` keys are points (\"1\", \"2\", \"3\"), got {key:?}"
                ));
            }
        }
        Ok(())
    }
}

/// Score the six dimensions. Returns one part per dimension worth non-zero
/// points, in the table's order.
pub fn score_profile(lead: &Lead, fields: &Fields, config: &ProfileConfig) -> Vec<ScorePart> {
    let mut parts = Vec::new();

    let visits = lead.last7_days(PAGE_VIEW);
    parts.extend(band_part(
        visits,
        &config.site_visits_per_week,
        format!("Site visits: {visits} in the last 7 days"),
    ));
    let downloads = lead.last30_days(DOWNLOAD);
    parts.extend(band_part(
        downloads,
        &config.downloads,
        format!("Downloads: {downloads} in the last 30 days"),
    ));
    let webinars = lead.last30_days(WEBINAR_ATTENDED);
    parts.extend(band_part(
        webinars,
        &config.webinars,
        format!("Webinars attended: {webinars} in the last 30 days"),
    ));
    parts.extend(company_size_part(fields, config));
    parts.extend(industry_part(fields, config));
    parts.extend(job_part(fields, config));
    parts
}

/// Points for `value` against ascending `thresholds`: one point per
/// threshold reached.
pub fn band_points(value: u32, thresholds: &[u32]) -> i32 {
    thresholds.iter().filter(|t| value >= **t).count() as i32
}

/// A part for a banded count, or `None` when below the first threshold.
fn band_part(value: u32, thresholds: &[u32], what: String) -> Option<ScorePart> {
    let points = band_points(value, thresholds);
    (points != 0).then(|| ScorePart::new(points, format!("{what}: {points:+}")))
}

/// The band of a head count.
pub fn size_band(employees: i64) -> Option<&'static str> {
    match employees {
        i64::MIN..=0 => None,
        1..=49 => Some("1-49"),
        50..=199 => Some("50-199"),
        200..=999 => Some("200-999"),
        _ => Some("1000+"),
    }
}

/// Company size: the `company_size` band (or head count) looked up in the
/// configured table.
fn company_size_part(fields: &Fields, config: &ProfileConfig) -> Option<ScorePart> {
    let band = match fields.i64("company_size") {
        Some(n) => size_band(n)?.to_string(),
        None => fields.str("company_size")?.replace(' ', ""),
    };
    let points = config
        .company_size
        .iter()
        .find(|(k, _)| k.replace(' ', "").eq_ignore_ascii_case(&band))
        .map(|(_, p)| *p);
    match points {
        Some(0) => None,
        Some(p) => Some(ScorePart::new(p, format!("Company size {band}: {p:+}"))),
        None => {
            log::warn(format!("unknown company_size {band:?}"));
            None
        }
    }
}

/// Industry match: `industry` is one of the target industries.
fn industry_part(fields: &Fields, config: &ProfileConfig) -> Option<ScorePart> {
    if config.target_industries.is_empty() {
        log::debug("no target_industries configured; industry not scored");
        return None;
    }
    let industry = fields.str("industry")?;
    let hit = config
        .target_industries
        .iter()
        .any(|t| t.trim().to_lowercase() == industry.to_lowercase());
    let p = config.industry_points;
    (hit && p != 0).then(|| ScorePart::new(p, format!("Target industry {industry}: {p:+}")))
}

/// Job level: `job_level` looked up in the table, else the best keyword found
/// in `job_title`.
fn job_part(fields: &Fields, config: &ProfileConfig) -> Option<ScorePart> {
    if let Some(level) = fields.str("job_level") {
        let wanted = level.to_lowercase().replace([' ', '-'], "_");
        let points = config
            .job_levels
            .iter()
            .find(|(k, _)| k.to_lowercase().replace([' ', '-'], "_") == wanted)
            .map(|(_, p)| *p);
        if let Some(p) = points {
            let shown = level.replace('_', " ");
            return (p != 0).then(|| ScorePart::new(p, format!("Job level {shown}: {p:+}")));
        }
        log::debug(format!(
            "job_level {level:?} not in job_levels; trying job_title"
        ));
    }
    let title = fields.str("job_title")?;
    let (points, keyword) = title_points(title, &config.job_title_keywords)?;
    (points != 0).then(|| {
        ScorePart::new(
            points,
            format!("Job title \"{title}\" ({keyword}): {points:+}"),
        )
    })
}

/// The highest points whose keyword appears in `title`, with that keyword.
///
/// ASCII keywords match whole words (so `cto` does not match "Director");
/// other keywords (e.g. Chinese titles, written without spaces) match as
/// substrings.
pub fn title_points<'a>(
    title: &str,
    keywords: &'a BTreeMap<String, Vec<String>>,
) -> Option<(i32, &'a str)> {
    let words = format!(" {} ", normalise_words(title));
    let lower = title.to_lowercase();
    keywords
        .iter()
        .filter_map(|(points, list)| Some((points.parse::<i32>().ok()?, list)))
        .flat_map(|(points, list)| list.iter().map(move |k| (points, k.as_str())))
        .filter(|(_, keyword)| {
            let keyword = keyword.trim();
            if keyword.is_empty() {
                false
            } else if keyword.is_ascii() {
                words.contains(&format!(" {} ", normalise_words(keyword)))
            } else {
                lower.contains(&keyword.to_lowercase())
            }
        })
        // The highest points win; among equals, the first keyword listed.
        .fold(None, |best, hit| match best {
            Some(best) if best.0 >= hit.0 => Some(best),
            _ => Some(hit),
        })
}

/// Lowercase `s` and turn every run of non-alphanumeric characters into one
/// space.
fn normalise_words(s: &str) -> String {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(fields: &str, behaviour: &[(&str, u32, u32)]) -> Lead {
        let behaviour: Vec<String> = behaviour
            .iter()
            .map(|(k, a, b)| format!(r#"{{"kind":"{k}","last7_days":{a},"last30_days":{b}}}"#))
            .collect();
        Lead::from_json(&format!(
            r#"{{"id":"t","fields":{fields},"behaviour":[{}]}}"#,
            behaviour.join(",")
        ))
        .unwrap()
    }

    fn score(lead: &Lead, config: &ProfileConfig) -> Vec<(i32, String)> {
        let fields = Fields::from_lead(lead).unwrap();
        score_profile(lead, &fields, config)
            .into_iter()
            .map(|p| (p.points, p.reason))
            .collect()
    }

    #[test]
    fn bands() {
        let b = [1, 3, 5];
        assert_eq!(
            [0, 1, 2, 3, 4, 5, 99].map(|v| band_points(v, &b)),
            [0, 1, 1, 2, 2, 3, 3]
        );
        assert_eq!(band_points(7, &[]), 0);
    }

    #[test]
    fn behaviour_dimensions_use_their_windows() {
        let l = lead(
            "{}",
            &[
                ("page_view", 3, 40),
                ("download", 0, 4),
                ("webinar_attended", 1, 1),
            ],
        );
        assert_eq!(
            score(&l, &ProfileConfig::default()),
            [
                (2, "Site visits: 3 in the last 7 days: +2".to_string()),
                (3, "Downloads: 4 in the last 30 days: +3".to_string()),
                (
                    1,
                    "Webinars attended: 1 in the last 30 days: +1".to_string()
                ),
            ]
        );
    }

    #[test]
    fn firmographics() {
        let config: ProfileConfig =
            Config::parse(r#"{"target_industries":["Logistics","SaaS"]}"#).unwrap();
        let l = lead(
            r#"{"company_size":"200-999","industry":"logistics","job_level":"director"}"#,
            &[],
        );
        assert_eq!(
            score(&l, &config),
            [
                (3, "Company size 200-999: +3".to_string()),
                (3, "Target industry logistics: +3".to_string()),
                (2, "Job level director: +2".to_string()),
            ]
        );
    }

    #[test]
    fn numeric_company_size_and_no_industry_list() {
        let l = lead(r#"{"company_size":"75","industry":"logistics"}"#, &[]);
        assert_eq!(
            score(&l, &ProfileConfig::default()),
            [(2, "Company size 50-199: +2".to_string())]
        );
        assert_eq!(size_band(0), None);
        assert_eq!(size_band(1000), Some("1000+"));
    }

    #[test]
    fn job_title_keywords_match_whole_words() {
        let kw = ProfileConfig::default().job_title_keywords;
        assert_eq!(title_points("Sales Director", &kw), Some((2, "director")));
        assert_eq!(title_points("CTO & Co-Founder", &kw), Some((3, "cto")));
        assert_eq!(title_points("VP, Sales", &kw), Some((3, "vp")));
        assert_eq!(
            title_points("Head of Operations", &kw),
            Some((2, "head of"))
        );
        assert_eq!(title_points("销售总监", &kw), Some((2, "总监")));
        assert_eq!(title_points("Accountant", &kw), None);
        // "cto" is inside "director" but is not a word of it.
        assert_ne!(title_points("Director", &kw).map(|x| x.0), Some(3));
    }

    #[test]
    fn unknown_job_level_falls_back_to_title() {
        let l = lead(r#"{"job_level":"staff","job_title":"IT Manager"}"#, &[]);
        assert_eq!(
            score(&l, &ProfileConfig::default()),
            [(1, "Job title \"IT Manager\" (manager): +1".to_string())]
        );
    }

    #[test]
    fn config_validation() {
        let bad: ProfileConfig = Config::parse(r#"{"downloads":[3,1]}"#).unwrap();
        assert!(bad.validate().unwrap_err().contains("`downloads`"));
        let bad: ProfileConfig = Config::parse(r#"{"webinars":[1,2,3,4]}"#).unwrap();
        assert!(bad.validate().is_err());
        let bad: ProfileConfig = Config::parse(r#"{"job_title_keywords":{"x":["a"]}}"#).unwrap();
        assert!(bad.validate().is_err());
        ProfileConfig::default().validate().unwrap();
        let sample: ProfileConfig = Config::parse(include_str!("../config.json")).unwrap();
        sample.validate().unwrap();
    }

    #[test]
    fn scores_the_sample_lead() {
        let lead = Lead::from_json(include_str!("../../sample-lead.json")).unwrap();
        let parts = ProfileScorer::score(&lead, include_str!("../config.json")).unwrap();
        let total: i32 = parts.iter().map(|p| p.points).sum();
        // visits 6/wk: 3, downloads 2: 2, webinars 1: 1, 200-999: 3,
        // logistics: 3, director: 2.
        assert_eq!(parts.len(), 6);
        assert_eq!(total, 14);
    }
}
