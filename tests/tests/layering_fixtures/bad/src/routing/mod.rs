//! routing -> jobs, and jobs -> routing: a cycle.
use crate::jobs::Step;
