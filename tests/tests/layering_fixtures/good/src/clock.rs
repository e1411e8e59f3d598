pub struct Timestamp;
