use crate::{app::App, http::serve, storage::Store};
