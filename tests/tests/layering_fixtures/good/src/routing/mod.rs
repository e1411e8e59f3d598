//! routing -> app -> jobs -> routing is a cycle only through app: allowed.
use crate::app::App;
use crate::storage::Store;
use crate::domain::Email;
