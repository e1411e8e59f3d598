//! Jobs reach up into the command line, and back into routing.
use crate::domain::Email;

use crate::cli::Args;

pub fn f() {
    crate::routing::go()
}
