//! Integrators and personal data. An integrator (the role a tracking
//! script's token carries) writes plugins; it needs their counters and
//! failures, not the leads. Personal data is a lead's email, phone, name
//! and company and every free-text answer, and plugins handle all of it, so
//! without the tenant's grant (off by default, set by an admin) an
//! integrator is shown nothing a plugin produced from a real lead: a call
//! record keeps its outcome, fuel, time, clock and seed, and loses its
//! result, error, logs and output; a plugin loses its last error; an event's
//! answer loses the score's parts (their reasons quote answers). Test runs
//! on a lead the integrator supplies show everything.

use serde_json::{Value, json};

use super::Caller;
use crate::domain::Role;

/// What stands in place of withheld text.
const WITHHELD: &str = "withheld: plugin output from real leads is shown to integrators only when an admin allows it";

/// Whether the caller is shown what plugins produced from real leads.
pub fn sees_plugin_output(caller: &Caller, granted: bool) -> bool {
    caller.role != Role::Integrator || granted
}

/// A stored call record, without what the plugin produced.
pub fn withhold_call(call: &mut Value) {
    for key in ["result", "error", "logs", "stdout", "stderr"] {
        if let Some(value) = call.get_mut(key)
            && !value.is_null()
        {
            *value = Value::Null;
        }
    }
    call["withheld"] = json!(WITHHELD);
}

/// A plugin as listed, without its last error (in its own field, and quoted
/// in the reason it was switched off).
pub fn withhold_plugin(plugin: &mut Value) {
    if !plugin["last_error"].is_null() {
        plugin["last_error"] = json!(WITHHELD);
    }
    if let Some(reason) = plugin["disabled_reason"].as_str()
        && let Some((why, _)) = reason.split_once("; the last:")
    {
        plugin["disabled_reason"] = json!(format!("{why} (the last error is withheld)"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_withheld_call_keeps_its_measures_and_loses_its_text() {
        let mut call = json!({"ok": false, "error": "李伟 li@example.com", "logs": ["x"], "stdout": "s",
                              "stderr": "", "result": null, "fuel_used": 7, "duration_us": 9});
        withhold_call(&mut call);
        assert_eq!(call["error"], Value::Null);
        assert_eq!(call["logs"], Value::Null);
        assert_eq!(
            (call["fuel_used"].as_u64(), call["ok"].as_bool()),
            (Some(7), Some(false))
        );
        let mut plugin = json!({"last_error": "returned an error: li@example.com",
                                "disabled_reason": "switched off after 5 failures in a row; the last: li@example.com"});
        withhold_plugin(&mut plugin);
        assert!(!plugin.to_string().contains("li@example.com"), "{plugin}");
    }
}
