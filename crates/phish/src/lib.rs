//! Message analysis: is this SMS or e-mail a fake that impersonates the service?
//!
//! Pure analysis, no I/O: the library never opens a file, a socket or a thread.
//! The pieces, in the order a message goes through them:
//!
//! - [`urls`] finds links the way attackers write them (no scheme, defanged
//!   `hxxp`/`[.]`, split by spaces, punycode) and normalises their hosts;
//! - [`domains`] takes the registered domain (public suffix list) and judges a
//!   host against the protected [`brands`] (brand in a foreign domain, subdomain
//!   tricks, lookalikes by edit distance and by UTS #39 confusable skeleton);
//! - [`cues`] finds content cues (payment failed, suspended, urgency, requests
//!   for a password or card) in English, French, Portuguese and Spanish, and
//!   sender cues;
//! - [`model`] is a logistic regression over hashed word and character n-grams,
//!   trained by [`train`] and embedded in the crate;
//! - [`Checker`] combines all of it into a [`Verdict`] with stable reason codes.
//!
//! Around it: [`stream`] (JSON Lines in, verdict lines out, for `hearth message
//! check`), [`guidance`] (what to do, in four languages), [`campaign`] (report
//! fingerprints for grouping) and [`mime`] (forwarded RFC 822 reports).
//!
//! ```
//! use hearth_phish::{guidance, Checker, Label, Message};
//!
//! let checker = Checker::default(); // embedded model, default streaming brands
//! let v = checker.check(&Message::text(
//!     "Netflix: your payment failed. Update your card at https://netflix-billing-update.com",
//! ));
//! assert_eq!(v.verdict, Label::Phishing);
//! assert!(v.reasons.iter().any(|r| r.as_str() == "brand_link_mismatch"));
//! assert_eq!(v.urls, ["https://netflix-billing-update.com"]);
//! let what_to_do: Vec<String> = guidance(v.verdict, "pt");
//! assert!(!what_to_do.is_empty());
//! ```

pub mod brands;
pub mod campaign;
mod checker;
pub mod cues;
pub mod domains;
pub mod features;
mod guidance;
pub mod mime;
pub mod model;
mod reasons;
pub mod stream;
pub mod text;
pub mod train;
pub mod urls;

pub use checker::{Checker, CheckerConfig, Thresholds};
pub use guidance::{detect_lang, guidance, guidance_with_address, Lang};
pub use reasons::ReasonCode;

use serde::{Deserialize, Serialize};

/// Where a message arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
    Email,
}

/// A message to check, as it arrives on `hearth message check`'s stdin:
/// `{"text":"...","sender":"...","channel":"sms"|"email"}`. Unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub text: String,
    #[serde(default)]
    pub sender: Option<String>,
    #[serde(default)]
    pub channel: Option<Channel>,
}

impl Message {
    /// A message with text only (no sender, no channel).
    pub fn text(text: impl Into<String>) -> Self {
        Message {
            text: text.into(),
            sender: None,
            channel: None,
        }
    }
}

/// The verdict's class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Phishing,
    Suspicious,
    Legitimate,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Phishing => "phishing",
            Label::Suspicious => "suspicious",
            Label::Legitimate => "legitimate",
        }
    }
}

/// The answer for one message. Serializes exactly as the `hearth message check`
/// contract: `{"verdict":"phishing","score":0.97,"reasons":[...],"urls":[...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub verdict: Label,
    /// Calibrated probability that the message is phishing/spam, 0.0–1.0 (4 decimals).
    pub score: f64,
    /// Why, as stable snake_case codes, strongest first.
    pub reasons: Vec<ReasonCode>,
    /// Links found, refanged and with their host normalised (lowercase, IDNA ASCII).
    pub urls: Vec<String>,
}
