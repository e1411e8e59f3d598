//! Storage, wrongly knowing about routing and plugins. `crate::jobs::Step`
//! in a doc comment is text.
mod leads;
use crate::{clock::Clock, domain::{Email, Phone}};
use crate::routing::Router;
// use crate::jobs::Step;
/* crate::followup::Policy, /* nested */ crate::scoring::Tier */
const QUOTE: char = '"';
const SQL: &str = "select 1 -- crate::jobs::Step \" crate::scoring::Tier";
const RAW: &str = r#"crate::followup::x "quoted" crate::jobs::y"#;
pub fn store<'a>(s: &'a str) -> &'a str { let _ = ['\'','"', '{', '\\']; crate::plugins::touch(b'"', s) }
pub fn rep() -> crate::plugins::bindings::Rep { crate::plugins::bindings::Rep { id: 1 } }
