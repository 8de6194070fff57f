//! A delivery channel.

use hearth_core::outbox::OutboxMessage;

/// Why a delivery failed, and so whether to try again.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: timeouts, refused connections, 4xx SMTP replies, HTTP 5xx/429.
    #[error("temporary delivery failure: {0}")]
    Transient(String),
    /// Will never succeed as is: bad address, 5xx SMTP replies, HTTP 4xx.
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }
}

#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    async fn send(&self, msg: &OutboxMessage) -> Result<(), SendError>;
}

/// Error text from a peer, cut short: it ends up in the outbox row and in logs.
pub(crate) fn short(s: &str) -> String {
    let mut out: String = s
        .chars()
        .filter(|c| !c.is_control() || *c == ' ')
        .take(300)
        .collect();
    if s.chars().count() > 300 {
        out.push('…');
    }
    out
}
