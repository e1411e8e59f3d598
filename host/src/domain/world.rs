//! The extension point a plugin component implements (a world of the
//! `leadhost:plugin` WIT package).

use super::words::word_enum;

word_enum!(
    World, "plugin world" {
        Scorer = "scorer",
        Router = "router",
        NurtureStep = "nurture-step",
    }
);
