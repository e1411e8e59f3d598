//! Forms: the admin's JSON Schema + UI schema, checked at upload, compiled
//! once per immutable version, and used to read, validate and render
//! submissions; the public page's screening of scripts, progressive
//! profiling of returning visitors, and its script and style sheet.

pub mod assets;
mod catalog;
mod coerce;
mod definition;
pub mod design;
pub mod page;
mod problems;
pub mod progressive;
mod publish;
pub mod screening;
mod text;

pub use catalog::FormCatalog;
pub use coerce::UrlEncoded;
pub use definition::{CompiledForm, ConditionalDisplay, FieldKind, FieldSpec, PageSettings, Widget, check_definition};
pub use problems::Problem;
pub use publish::{FormUpload, VersionUpload, create_form, publish_version};
pub use text::LocalText;
