//! Forms: the admin's JSON Schema + UI schema, checked at upload, compiled
//! once per immutable version, and used to read, validate and render
//! submissions.

mod catalog;
mod coerce;
mod definition;
pub mod page;
mod publish;

pub use catalog::FormCatalog;
pub use coerce::UrlEncoded;
pub use definition::{CompiledForm, FieldKind, FieldSpec, Widget, check_definition};
pub use publish::{FormUpload, VersionUpload, create_form, publish_version};
