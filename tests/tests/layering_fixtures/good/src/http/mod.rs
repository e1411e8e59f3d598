//! http and app import each other: both are the composition root.
use crate::app::App;
use crate::cli::Args;
mod api {
    // super:: inside an inline module is still http.
    use super::super::http::serve;
    use super::App;
}
