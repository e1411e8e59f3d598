use crate::routing::Router;
use crate::storage::Store;
