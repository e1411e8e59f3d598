//! Email: composed from a workflow's templates (`compose`), written to the
//! outbox in the step's transaction, delivered by the `email` job
//! (`delivery`) through an SMTP relay (`smtp`, lettre with rustls) as a
//! message (`message`) that carries the same Message-ID on every attempt,
//! the one-click unsubscribe headers, and links signed with the tenant's
//! key (`links`); opens and clicks tracked, machines told from people
//! (`tracking`); the tenant's sending rate shared by every process
//! (`rate`).

pub mod compose;
pub mod delivery;
pub mod links;
pub mod message;
pub mod rate;
pub mod relay_connections;
pub mod smtp;
pub mod tracking;
