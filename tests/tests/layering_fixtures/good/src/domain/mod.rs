use crate::clock::Timestamp;
use crate::{self as root};
