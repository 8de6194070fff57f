//! Hearth's pure domain. No I/O, no async: every function that depends on the
//! current time takes it as an argument so that tests and replays are deterministic.

pub mod codes;
pub mod decision;
pub mod engine;
pub mod event;
pub mod ids;
pub mod outbox;
pub mod password;
pub mod throttle;
pub mod time;

pub use decision::{AccountVerdict, Channel, Decision, Outcome, Reason, Sharing};
pub use event::{AccessEvent, DeviceType, EventKind, VerifyMethod};
pub use ids::{AccountId, DeviceId};
pub use time::Timestamp;
