use super::Store;
use self::inner::Row;
use super::super::domain::Email;
mod inner {
    use super::super::Store;
    pub struct Row;
}
