//! What is wrong with a submitted field, by the JSON Schema keyword that
//! failed, and its message in each page language (the API answers in
//! English).

use jsonschema::error::{TypeKind, ValidationErrorKind as Kind};
use jsonschema::types::JsonType;
use serde_json::Value;

use crate::i18n::{FormWords, Lang};

#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    Required,
    NotAField,
    Format(String),
    MinLength(u64),
    MaxLength(u64),
    Minimum(Value),
    Maximum(Value),
    ExclusiveMinimum(Value),
    ExclusiveMaximum(Value),
    MinItems(u64),
    MaxItems(u64),
    NotAChoice,
    RepeatedChoice,
    Pattern,
    /// The value is not of this JSON type (`None`: of none of several).
    Type(Option<JsonType>),
    Const(Value),
    /// A phone number the schema took and the normaliser did not.
    Phone,
    /// A keyword the forms do not use; the validator's own English message.
    Other(String),
}

impl Problem {
    /// The problem a validator error names (`Required` and
    /// `AdditionalProperties` are placed at their field by the caller).
    pub fn of(kind: &Kind, english: impl FnOnce() -> String) -> Problem {
        match kind {
            Kind::Required { .. } => Problem::Required,
            Kind::AdditionalProperties { .. } => Problem::NotAField,
            Kind::Format { format } => Problem::Format(format.clone()),
            Kind::MinLength { limit } => Problem::MinLength(*limit),
            Kind::MaxLength { limit } => Problem::MaxLength(*limit),
            Kind::Minimum { limit } => Problem::Minimum(limit.clone()),
            Kind::Maximum { limit } => Problem::Maximum(limit.clone()),
            Kind::ExclusiveMinimum { limit } => Problem::ExclusiveMinimum(limit.clone()),
            Kind::ExclusiveMaximum { limit } => Problem::ExclusiveMaximum(limit.clone()),
            Kind::MinItems { limit } => Problem::MinItems(*limit),
            Kind::MaxItems { limit } => Problem::MaxItems(*limit),
            Kind::Enum { .. } => Problem::NotAChoice,
            Kind::UniqueItems => Problem::RepeatedChoice,
            Kind::Pattern { .. } => Problem::Pattern,
            Kind::Type {
                kind: TypeKind::Single(one),
            } => Problem::Type(Some(*one)),
            Kind::Type {
                kind: TypeKind::Multiple(_),
            } => Problem::Type(None),
            Kind::Constant { expected_value } => Problem::Const((**expected_value).clone()),
            _ => Problem::Other(english()),
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        let words = FormWords::of(lang);
        let limit = |template: &str, limit: &dyn std::fmt::Display| template.replace("{limit}", &limit.to_string());
        match self {
            Problem::Required => words.required.to_owned(),
            Problem::NotAField => words.not_a_field.to_owned(),
            Problem::Format(format) => match format.as_str() {
                "email" | "idn-email" => words.not_an_email.to_owned(),
                "date" => words.not_a_date.to_owned(),
                other => words.not_a_format.replace("{format}", other),
            },
            // At least one character: the value is empty.
            Problem::MinLength(1) => words.required.to_owned(),
            Problem::MinLength(n) => limit(words.min_length, n),
            Problem::MaxLength(n) => limit(words.max_length, n),
            Problem::Minimum(n) => limit(words.minimum, n),
            Problem::Maximum(n) => limit(words.maximum, n),
            Problem::ExclusiveMinimum(n) => limit(words.exclusive_minimum, n),
            Problem::ExclusiveMaximum(n) => limit(words.exclusive_maximum, n),
            Problem::MinItems(n) => limit(words.min_items, n),
            Problem::MaxItems(n) => limit(words.max_items, n),
            Problem::NotAChoice => words.not_a_choice.to_owned(),
            Problem::RepeatedChoice => words.repeated_choice.to_owned(),
            Problem::Pattern => words.pattern.to_owned(),
            Problem::Type(kind) => match kind {
                Some(JsonType::Integer) => words.not_an_integer,
                Some(JsonType::Number) => words.not_a_number,
                Some(JsonType::Boolean) => words.not_a_boolean,
                Some(JsonType::String) => words.not_text,
                Some(JsonType::Array) => words.not_a_list,
                _ => words.not_valid,
            }
            .to_owned(),
            Problem::Const(Value::Bool(true)) => words.must_be_checked.to_owned(),
            Problem::Const(value) => words.must_be.replace("{value}", &value.to_string()),
            Problem::Phone => words.not_a_phone.to_owned(),
            Problem::Other(english) => match lang {
                Lang::En => english.clone(),
                Lang::Zh => words.not_valid.to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_keyword_has_its_message_in_both_languages() {
        let cases = [
            (Problem::Required, "必填", "is required"),
            (
                Problem::Format("email".into()),
                "不是有效的邮箱地址",
                "is not a valid email address",
            ),
            (
                Problem::MinLength(2),
                "至少需要 2 个字符",
                "must be at least 2 characters",
            ),
            (Problem::MaxLength(9), "最多 9 个字符", "must be at most 9 characters"),
            (Problem::Minimum(json!(1)), "不能小于 1", "must be at least 1"),
            (Problem::Maximum(json!(5)), "不能大于 5", "must be at most 5"),
            (Problem::NotAChoice, "请从给出的选项中选择", "is not one of the choices"),
            (Problem::Pattern, "格式不正确", "does not have the expected format"),
            (
                Problem::Type(Some(JsonType::Integer)),
                "必须是整数",
                "must be a whole number",
            ),
            (Problem::Const(json!(true)), "必须勾选", "must be checked"),
        ];
        for (problem, zh, en) in cases {
            assert_eq!(problem.message(Lang::Zh), zh);
            assert_eq!(problem.message(Lang::En), en);
        }
    }
}
