//! Telling people from scripts on the form page: a honeypot field that
//! only a script fills, and the page's signed render time (a person takes
//! longer than [`MIN_FILL_TIME`] to fill a form). A filled honeypot or a
//! forged render time is answered as received and stored nowhere, so the
//! script learns nothing. A post that only came too fast may be a person
//! with autofill: it is never dropped, but shown again to be sent once more
//! (`http::submission::receive_from_page`). Only page posts carry these
//! fields, and only they are screened (integrations post without them).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::Timestamp;
use crate::email::links;

/// The honeypot's name among the page's `_`-prefixed fields (posted as
/// `_website`): a name a form-filling script is glad to fill.
pub const HONEYPOT: &str = "website";
/// The signed render time's name among the page's `_`-prefixed fields.
pub const RENDERED: &str = "rendered";
/// A person needs at least this long between the page and the post.
pub const MIN_FILL_TIME: Duration = Duration::from_secs(3);

/// Why a submission is taken for a script's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotSign {
    HoneypotFilled,
    TooFast,
    /// A render time whose signature is not this form's.
    ForgedRenderTime,
}

impl BotSign {
    const ALL: [BotSign; 3] = [BotSign::HoneypotFilled, BotSign::TooFast, BotSign::ForgedRenderTime];

    pub fn as_str(self) -> &'static str {
        match self {
            BotSign::HoneypotFilled => "honeypot",
            BotSign::TooFast => "too_fast",
            BotSign::ForgedRenderTime => "forged_render_time",
        }
    }

    fn counter(self) -> &'static AtomicU64 {
        &DISCARDED[self as usize]
    }
}

/// Submissions discarded by sign, since the process started.
static DISCARDED: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

/// Counts a discarded submission (served at `/metrics`).
pub fn count_discarded(sign: BotSign) {
    sign.counter().fetch_add(1, Ordering::Relaxed);
}

/// The discard counters in the Prometheus text format.
pub fn render_metrics() -> String {
    let name = "leadhost_submissions_discarded_total";
    let mut out = format!(
        "# HELP {name} Form page submissions taken for a script's: answered as received, not stored.\n\
         # TYPE {name} counter\n"
    );
    for sign in BotSign::ALL {
        let count = sign.counter().load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}{{reason=\"{}\"}} {count}", sign.as_str());
    }
    out
}

/// Each form signs apart, so one form's stamp is no other's.
fn purpose(form_id: &str) -> String {
    format!("form-rendered:{form_id}")
}

/// The page's render time, signed with the tenant's key.
pub fn render_stamp(link_key: &str, form_id: &str, now: Timestamp) -> String {
    links::token(link_key, &purpose(form_id), &(now.micros() / 1000).to_string())
}

/// What the page's hidden fields say of the poster. A post without them
/// came from elsewhere (an integration's own form) and is not screened.
pub fn screen(hidden: &BTreeMap<String, String>, link_key: &str, form_id: &str, now: Timestamp) -> Option<BotSign> {
    if hidden.get(HONEYPOT).is_some_and(|v| !v.trim().is_empty()) {
        return Some(BotSign::HoneypotFilled);
    }
    let stamp = hidden.get(RENDERED)?;
    let rendered_ms = links::verify(link_key, &purpose(form_id), stamp).and_then(|ms| ms.parse::<i64>().ok());
    let Some(rendered_ms) = rendered_ms else {
        return Some(BotSign::ForgedRenderTime);
    };
    // No upper bound: a kiosk's page stays open for days.
    let elapsed_ms = now.micros() / 1000 - rendered_ms;
    (elapsed_ms < MIN_FILL_TIME.as_millis() as i64).then_some(BotSign::TooFast)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_post_is_judged_by_its_honeypot_and_render_time() {
        let rendered = Timestamp(1_700_000_000_000_000);
        let stamp = render_stamp("key", "form-1", rendered);
        let later = |seconds| rendered.plus(Duration::from_secs(seconds));
        let page = hidden(&[(RENDERED, &stamp)]);
        assert_eq!(screen(&page, "key", "form-1", later(5)), None);
        assert_eq!(screen(&page, "key", "form-1", later(1)), Some(BotSign::TooFast));
        assert_eq!(
            screen(&page, "key", "form-2", later(5)),
            Some(BotSign::ForgedRenderTime),
            "another form's stamp"
        );
        assert_eq!(
            screen(&page, "other key", "form-1", later(5)),
            Some(BotSign::ForgedRenderTime)
        );
        let filled = hidden(&[(RENDERED, &stamp), (HONEYPOT, "http://spam.example")]);
        assert_eq!(
            screen(&filled, "key", "form-1", later(60)),
            Some(BotSign::HoneypotFilled)
        );
        assert_eq!(
            screen(&hidden(&[]), "key", "form-1", later(0)),
            None,
            "not from the page"
        );
    }
}
