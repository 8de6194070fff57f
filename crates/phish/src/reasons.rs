//! Stable reason codes. They cross the wire: add new ones, never rename.

use serde::{Deserialize, Serialize};

/// Why a message got its verdict. Serialized as snake_case (`brand_link_mismatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    // Links.
    /// The message names a protected brand but links to a domain that is not the brand's.
    BrandLinkMismatch,
    /// A link's domain contains a brand name but is not one of its official domains.
    BrandInDomain,
    /// A link puts a brand's official domain in front of a foreign one (`netflix.com.evil.io`).
    BrandSubdomain,
    /// A link's domain is a near miss of a brand (`netfIix`, `disnney`, `n3tflix`).
    LookalikeDomain,
    /// A link's domain looks like a brand once confusable characters are folded (UTS #39).
    ConfusableDomain,
    /// A link's host mixes scripts (Latin with Cyrillic, ...).
    MixedScriptDomain,
    /// A link's host is written in punycode / non-ASCII.
    PunycodeDomain,
    /// A link goes to a bare IP address.
    IpAddressLink,
    /// A link goes through a URL shortener, hiding where it leads.
    UrlShortener,
    /// A link's domain is under a top-level domain much used for throwaway phishing sites.
    UnusualTld,
    /// A link was written defanged or broken up (`hxxp`, `[.]`, spaces) to slip past filters.
    ObfuscatedLink,
    /// A link to a domain that belongs to no protected brand.
    UnknownLink,
    /// Many links in one message.
    ManyLinks,
    // Content.
    /// "Your payment failed / was declined".
    PaymentProblem,
    /// "Your account is suspended / on hold / will be closed".
    AccountSuspended,
    /// "Update your payment method / billing information".
    UpdatePayment,
    /// "Confirm / verify your details / identity / account".
    ConfirmDetails,
    /// A deadline or urgency ("within 24 hours", "immediately", "last warning").
    Urgency,
    /// Asks for a password or a one-time code to be typed in or sent back.
    AsksPassword,
    /// Asks for a card number, CVV or expiry date.
    AsksCard,
    /// Asks for bank details (IBAN, account number, bank login).
    AsksBank,
    /// Asks for personal data (date of birth, ID number, address, SSN/NIF/DNI).
    AsksPersonalData,
    /// Prize, refund, free gift or "you have won" bait.
    PrizeOrRefund,
    /// Asks to pay a small fee (delivery, customs, reactivation): the parcel-scam lure.
    FeeRequest,
    /// The brand's name is disguised in the text (`N3tflix`, `Netfl1x`, mixed scripts).
    ObfuscatedBrand,
    /// The trained text model finds the wording typical of spam/phishing.
    SpamLanguage,
    // Sender.
    /// The e-mail sender's domain is not an official domain of the brand named.
    SenderDomainMismatch,
    /// A phone number sent a message in the name of a brand that uses an alphanumeric sender.
    SenderPhoneNumber,
    /// The sender's domain is a lookalike of a brand.
    SenderLookalike,
    // Reassuring signals (they lower the score).
    /// Every link goes to an official domain of the brand.
    OfficialLinksOnly,
    /// The message carries a code and nothing to type it into.
    CodeWithoutLink,
    /// The message says the service never asks for a password or card.
    SafetyNotice,
    /// The message has no link at all.
    NoLinks,
    /// The e-mail sender's domain is an official domain of the brand named (From can be
    /// forged, so this only lowers the score a little).
    OfficialSender,
}

impl ReasonCode {
    /// The wire form (`brand_link_mismatch`).
    pub fn as_str(self) -> &'static str {
        use ReasonCode::*;
        match self {
            BrandLinkMismatch => "brand_link_mismatch",
            BrandInDomain => "brand_in_domain",
            BrandSubdomain => "brand_subdomain",
            LookalikeDomain => "lookalike_domain",
            ConfusableDomain => "confusable_domain",
            MixedScriptDomain => "mixed_script_domain",
            PunycodeDomain => "punycode_domain",
            IpAddressLink => "ip_address_link",
            UrlShortener => "url_shortener",
            UnusualTld => "unusual_tld",
            ObfuscatedLink => "obfuscated_link",
            UnknownLink => "unknown_link",
            ManyLinks => "many_links",
            PaymentProblem => "payment_problem",
            AccountSuspended => "account_suspended",
            UpdatePayment => "update_payment",
            ConfirmDetails => "confirm_details",
            Urgency => "urgency",
            AsksPassword => "asks_password",
            AsksCard => "asks_card",
            AsksBank => "asks_bank",
            AsksPersonalData => "asks_personal_data",
            PrizeOrRefund => "prize_or_refund",
            FeeRequest => "fee_request",
            ObfuscatedBrand => "obfuscated_brand",
            SpamLanguage => "spam_language",
            SenderDomainMismatch => "sender_domain_mismatch",
            SenderPhoneNumber => "sender_phone_number",
            SenderLookalike => "sender_lookalike",
            OfficialLinksOnly => "official_links_only",
            CodeWithoutLink => "code_without_link",
            SafetyNotice => "safety_notice",
            NoLinks => "no_links",
            OfficialSender => "official_sender",
        }
    }

    /// Log-odds this reason adds to the model's calibrated score. Hand-set priors:
    /// positive = evidence of phishing, negative = reassurance. Documented in BENCHMARKS.md.
    pub fn weight(self) -> f64 {
        use ReasonCode::*;
        match self {
            BrandLinkMismatch => 4.0,
            BrandInDomain => 2.0,
            BrandSubdomain => 3.0,
            LookalikeDomain => 3.0,
            ConfusableDomain => 3.0,
            MixedScriptDomain => 2.0,
            PunycodeDomain => 1.0,
            IpAddressLink => 2.5,
            UrlShortener => 1.5,
            UnusualTld => 1.0,
            ObfuscatedLink => 2.0,
            UnknownLink => 1.0,
            ManyLinks => 0.5,
            PaymentProblem => 1.5,
            AccountSuspended => 1.5,
            UpdatePayment => 1.5,
            ConfirmDetails => 1.0,
            Urgency => 1.0,
            AsksPassword => 2.0,
            AsksCard => 2.5,
            AsksBank => 2.5,
            AsksPersonalData => 1.5,
            PrizeOrRefund => 1.0,
            FeeRequest => 1.5,
            ObfuscatedBrand => 2.5,
            SpamLanguage => 0.0,
            SenderDomainMismatch => 2.0,
            SenderPhoneNumber => 1.5,
            SenderLookalike => 3.0,
            OfficialLinksOnly => -3.5,
            CodeWithoutLink => -1.5,
            SafetyNotice => -1.0,
            NoLinks => -0.5,
            OfficialSender => -1.5,
        }
    }
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
