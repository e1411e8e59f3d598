//! A plugin upload, one path for the API (`POST /api/v1/plugins`, `PUT
//! /api/v1/plugins/{name}`: JSON with the component in base64) and the
//! plugins page (a multipart form with the file): the world read, the
//! component admitted against it (type-checked in the request when small,
//! queued to compile when large), the name checked, and the plugin stored,
//! new or in place of the one of that name.

use serde_json::{Value, json};

use super::PluginHost;
use super::component::{MAX_COMPONENT_BYTES, Rejection, sha256_hex};
use super::host::Admission;
use crate::domain::{ParseError, PluginName, World};
use crate::error::{ApiError, FieldError, missing};
use crate::storage::{NewPlugin, PluginRecord, TenantStore};

/// The most an upload's body may hold: the API's base64 grows the component
/// by a third, and room is left for the name and config (a multipart form,
/// carrying the bytes as they are, fits with room to spare).
pub const UPLOAD_LIMIT: usize = MAX_COMPONENT_BYTES / 3 * 4 + (64 << 10);

/// What an upload carries, however it was sent.
pub struct Upload<'a> {
    /// Absent: refused as required, after the component was checked.
    pub name: Option<&'a str>,
    pub world: &'a str,
    /// Absent: `{}`.
    pub config: Option<Value>,
    pub component: &'a [u8],
}

/// A problem with the upload at `pointer` (a 422).
pub fn invalid(pointer: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation("the plugin is not valid", vec![FieldError::new(pointer, message)])
}

/// Admits the upload and stores it: a new plugin, or with `replace` the
/// next version of the existing one (its config, world and component
/// replaced, switched on again). A refused component is a 422 at `/world`
/// or `/component` whose message says why.
pub async fn publish(
    plugins: &PluginHost,
    store: &TenantStore<'_>,
    upload: Upload<'_>,
    replace: bool,
) -> Result<PluginRecord, ApiError> {
    let world: World = upload.world.parse().map_err(|e: ParseError| invalid("/world", e.0))?;
    if upload.component.len() > MAX_COMPONENT_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_COMPONENT_BYTES,
        });
    }
    let sha256 = sha256_hex(upload.component);
    let status = plugins
        .admit(store.tenant_id(), upload.component, &sha256, world)
        .await
        .map_err(refused)?;
    let name = upload.name.ok_or_else(|| invalid("/name", "is required"))?;
    let name = PluginName::parse(name).map_err(|e| invalid("/name", e.0))?;
    let config = upload.config.unwrap_or_else(|| json!({})).to_string();
    let plugin = NewPlugin {
        name: name.as_str(),
        world,
        config: &config,
        component: upload.component,
        sha256: &sha256,
        status,
    };
    let saved = plugins.keep(store, plugin, replace).await;
    saved.map_err(missing(|| format!("no plugin {:?} in this tenant", name.as_str())))
}

/// Why admission refused a component, as the API answers it.
fn refused(admission: Admission) -> ApiError {
    match admission {
        Admission::QueueFull(full) => {
            tracing::info!(%full, "plugin upload refused: the compile queue is full");
            ApiError::Unavailable
        }
        Admission::Refused(Rejection::TooLarge(_)) => ApiError::PayloadTooLarge {
            limit: MAX_COMPONENT_BYTES,
        },
        Admission::Refused(rejection @ Rejection::WrongWorld { .. }) => invalid("/world", rejection.to_string()),
        Admission::Refused(rejection) => invalid("/component", rejection.to_string()),
    }
}
