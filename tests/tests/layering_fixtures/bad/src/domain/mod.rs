//! Plain data importing a domain module through a nested group.
use crate::{
    {scoring::Tier},
    clock::{Clock, Now},
};
