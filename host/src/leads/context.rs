//! The context of a touch: channel, source, UTM parameters, referrer.

use std::collections::BTreeMap;

use crate::domain::{IdempotencyKey, TouchContext};

/// Context values are free text from the outside; keep them short.
const MAX_CONTEXT_LEN: usize = 512;

/// Context as it arrives: query-string parameters of the submission URL, and
/// the page's hidden `_`-prefixed fields (which carry the page's own URL
/// parameters and referrer through the post).
#[derive(Debug, Default, Clone)]
pub struct ContextParams(pub BTreeMap<String, String>);

impl ContextParams {
    /// Later sources win over earlier ones for the same key.
    pub fn merged(sources: &[&BTreeMap<String, String>]) -> Self {
        let mut all = BTreeMap::new();
        for source in sources {
            for (k, v) in source.iter() {
                if !v.trim().is_empty() {
                    all.insert(k.clone(), v.clone());
                }
            }
        }
        Self(all)
    }

    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).map(|v| {
            let v = v.trim();
            match v.char_indices().nth(MAX_CONTEXT_LEN) {
                Some((cut, _)) => v[..cut].to_owned(),
                None => v.to_owned(),
            }
        })
    }

    /// `source` is explicit, else `utm_source`, else the referrer's host,
    /// else `direct`.
    pub fn into_touch(self, channel: &'static str, referrer_header: Option<&str>) -> TouchContext {
        let referrer = self.get("referrer").or_else(|| referrer_header.map(str::to_owned));
        let source = self
            .get("source")
            .or_else(|| self.get("utm_source"))
            .or_else(|| referrer.as_deref().and_then(host_of))
            .unwrap_or_else(|| "direct".to_owned());
        TouchContext {
            channel,
            source,
            utm_source: self.get("utm_source"),
            utm_medium: self.get("utm_medium"),
            utm_campaign: self.get("utm_campaign"),
            utm_term: self.get("utm_term"),
            utm_content: self.get("utm_content"),
            referrer,
            idempotency_key: self.get("submission").as_deref().and_then(IdempotencyKey::parse),
        }
    }
}

fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?;
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn source_falls_back_from_explicit_to_utm_to_referrer() {
        let explicit = ContextParams::merged(&[&params(&[("source", "expo"), ("utm_source", "ads")])]);
        assert_eq!(explicit.into_touch("api", None).source, "expo");
        let utm = ContextParams::merged(&[&params(&[("utm_source", "ads")])]);
        assert_eq!(utm.into_touch("api", None).source, "ads");
        let referred = ContextParams::default().into_touch("form_page", Some("https://Www.Baidu.com/s?wd=crm"));
        assert_eq!(referred.source, "www.baidu.com");
        assert_eq!(ContextParams::default().into_touch("api", None).source, "direct");
    }

    #[test]
    fn later_sources_win_and_long_values_are_cut() {
        let long = "x".repeat(2000);
        let merged = ContextParams::merged(&[&params(&[("utm_campaign", "a")]), &params(&[("utm_campaign", &long)])]);
        assert_eq!(
            merged.into_touch("api", None).utm_campaign.unwrap().len(),
            MAX_CONTEXT_LEN
        );
    }
}
