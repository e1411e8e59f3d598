//! How a team picks one of its members for a lead (the pick itself is
//! `routing::strategy::pick`).

use super::words::word_enum;

word_enum!(
    Strategy, "strategy" {
        /// Each member in turn: the one this team has given the fewest leads.
        RoundRobin = "round_robin",
        /// The member holding the fewest open leads.
        LeastLoaded = "least_loaded",
        /// Leads in proportion to each member's weight.
        Weighted = "weighted",
    }
);
