//! The composition root may import everything.
use crate::{cli::Args, clock::Clock, domain::Email, http::serve, jobs::Step, routing::Router, storage::Store};
