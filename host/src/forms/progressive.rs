//! Progressive profiling: a returning visitor (named by a signed cookie set
//! after their first submission) is asked only what is not known about
//! them yet, a few fields at a time (`ui:progressive`). What is known is
//! merged into their next submission on the server and never sent to the
//! page, not even as hidden inputs.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{CompiledForm, ConditionalDisplay, FieldSpec, Widget};
use crate::email::links;

/// The cookie naming a returning visitor's lead (path `/f/<tenant>`).
pub const VISITOR_COOKIE: &str = "lh_visitor";
/// How long a visitor is remembered.
pub const VISITOR_MAX_AGE_DAYS: u32 = 365;
const VISITOR_PURPOSE: &str = "returning-visitor";

/// The cookie's value: the lead, signed with the tenant's key.
pub fn visitor_token(link_key: &str, lead_id: &str) -> String {
    links::token(link_key, VISITOR_PURPOSE, lead_id)
}

/// The lead a cookie names, if the tenant's key signed it.
pub fn visitor_lead<'t>(link_key: &str, token: &'t str) -> Option<&'t str> {
    links::verify(link_key, VISITOR_PURPOSE, token)
}

/// The lead's values of this form's fields, the empty ones left out.
pub fn known_values(form: &CompiledForm, lead_fields: &Value) -> Map<String, Value> {
    let Value::Object(lead_fields) = lead_fields else {
        return Map::new();
    };
    form.fields
        .iter()
        .filter(|field| field.widget != Widget::Hidden)
        .filter_map(|field| {
            let value = lead_fields.get(&field.name)?;
            (!is_empty(value)).then(|| (field.name.clone(), value.clone()))
        })
        .collect()
}

/// Fills what a returning visitor's post left out with what is known.
pub fn merge_known(fields: &mut Map<String, Value>, known: &Map<String, Value>) {
    for (name, value) in known {
        if fields.get(name).is_none_or(is_empty) {
            fields.insert(name.clone(), value.clone());
        }
    }
}

/// The fields a returning visitor is asked; `None`: the whole form (the
/// form does not profile progressively, or nothing is known).
///
/// Every unknown field that is required (or made required by a known
/// answer) is asked, since the form cannot be sent without it; then other
/// unknown fields in display order, up to `max_new_fields` in all. A field
/// hidden until its condition holds comes with the field it depends on,
/// uncounted (the page's script shows it only when needed).
pub fn fields_to_ask(form: &CompiledForm, known: &Map<String, Value>) -> Option<BTreeSet<String>> {
    let max = form.page.max_new_fields?;
    if known.is_empty() {
        return None;
    }
    let unknown: Vec<&FieldSpec> = form
        .fields
        .iter()
        .filter(|f| f.widget != Widget::Hidden && !known.contains_key(&f.name))
        .collect();
    let needed = |f: &FieldSpec| f.required || f.condition_holds(known);
    let hides = |f: &FieldSpec| f.conditional == ConditionalDisplay::Hide && !f.required_when.is_empty();
    let follows_unknown = |f: &FieldSpec| f.required_when.iter().all(|c| !known.contains_key(&c.field));

    let mut asked: BTreeSet<String> = unknown.iter().filter(|f| needed(f)).map(|f| f.name.clone()).collect();
    for field in &unknown {
        if asked.len() >= max {
            break;
        }
        // A hiding field whose condition is known not to hold would stay hidden.
        if !needed(field) && !hides(field) {
            asked.insert(field.name.clone());
        }
    }
    let followers: Vec<String> = unknown
        .iter()
        .filter(|f| hides(f) && !needed(f) && follows_unknown(f))
        .filter(|f| f.required_when.iter().any(|c| asked.contains(&c.field)))
        .map(|f| f.name.clone())
        .collect();
    asked.extend(followers);
    Some(asked)
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::forms::check_definition;

    fn form(max: u64) -> CompiledForm {
        let schema = json!({
            "type": "object",
            "properties": {
                "email": {"type": "string"}, "name": {"type": "string"}, "size": {"type": "string"},
                "industry": {"type": "string"}, "city": {"type": "string"}, "notes": {"type": "string"},
                "relationship": {"type": "string", "enum": ["new", "existing"]},
                "customer_id": {"type": "string"}
            },
            "required": ["email", "name"],
            "allOf": [{"if": {"properties": {"relationship": {"const": "existing"}}, "required": ["relationship"]},
                       "then": {"required": ["customer_id"]}}]
        });
        let ui = json!({
            "ui:order": ["email", "name", "size", "industry", "relationship", "customer_id", "city", "notes"],
            "ui:progressive": {"max_new_fields": max}
        });
        check_definition("t", &schema, &ui).unwrap()
    }

    fn names(asked: Option<BTreeSet<String>>) -> Vec<String> {
        asked.unwrap().into_iter().collect()
    }

    #[test]
    fn a_returning_visitor_is_asked_only_unknown_fields_up_to_the_limit() {
        let form = form(2);
        let known = known_values(
            &form,
            &json!({"email": "a@b.cn", "name": "A", "size": "", "other": "x"}),
        );
        assert_eq!(known.len(), 2, "empty values and other forms' fields are not known");
        assert_eq!(names(fields_to_ask(&form, &known)), ["industry", "size"]);
        assert_eq!(
            fields_to_ask(&form, &Map::new()),
            None,
            "a stranger sees the whole form"
        );
    }

    #[test]
    fn required_unknown_fields_are_always_asked_and_followers_come_along() {
        let form = form(1);
        let known = known_values(&form, &json!({"size": "10", "industry": "x"}));
        // email and name are required: both asked, beyond the limit of 1.
        assert_eq!(names(fields_to_ask(&form, &known)), ["email", "name"]);
        let form = form_with_known(3, json!({"email": "a", "name": "b", "size": "1", "industry": "x"}));
        // relationship is asked; customer_id comes with it, uncounted.
        assert_eq!(names(form), ["city", "customer_id", "notes", "relationship"]);
    }

    #[test]
    fn a_known_answer_that_requires_a_field_asks_it() {
        let asked = form_with_known(
            1,
            json!({"email": "a", "name": "b", "relationship": "existing", "size": "1"}),
        );
        assert_eq!(names(asked), ["customer_id"]);
        let asked = form_with_known(
            1,
            json!({"email": "a", "name": "b", "relationship": "new", "size": "1"}),
        );
        assert_eq!(names(asked), ["industry"], "customer_id would stay hidden");
    }

    fn form_with_known(max: u64, lead: Value) -> Option<BTreeSet<String>> {
        let form = form(max);
        let known = known_values(&form, &lead);
        fields_to_ask(&form, &known)
    }

    #[test]
    fn known_values_fill_only_what_the_post_left_out() {
        let mut fields = json!({"email": "typed@b.cn", "notes": ""})
            .as_object()
            .cloned()
            .unwrap();
        let known = json!({"email": "known@b.cn", "name": "A", "notes": "kept"})
            .as_object()
            .cloned()
            .unwrap();
        merge_known(&mut fields, &known);
        assert_eq!(
            Value::Object(fields),
            json!({"email": "typed@b.cn", "name": "A", "notes": "kept"})
        );
    }

    #[test]
    fn a_visitor_token_checks_only_with_the_tenants_key() {
        let token = visitor_token("k", "lead-1");
        assert_eq!(visitor_lead("k", &token), Some("lead-1"));
        assert_eq!(visitor_lead("other", &token), None);
    }
}
