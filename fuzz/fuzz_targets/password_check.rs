//! The password checker: the policy's verdict on any candidate, with and without an
//! e-mail address to compare against.
#![no_main]

use hearth_core::password::{PasswordPolicy, PasswordPolicyConfig};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn policy() -> Option<&'static PasswordPolicy> {
    static POLICY: OnceLock<Option<PasswordPolicy>> = OnceLock::new();
    POLICY
        .get_or_init(|| PasswordPolicy::new(&PasswordPolicyConfig::default()).ok())
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Some(policy) = policy() else {
        return;
    };
    // Layout: `password \0 email` (no NUL: no e-mail); the first byte's low bit is
    // the breach corpus's answer.
    let breached = data.first().is_some_and(|b| b & 1 == 1);
    let text = String::from_utf8_lossy(data);
    let (password, email) = match text.split_once('\0') {
        Some((p, e)) => (p, Some(e)),
        None => (text.as_ref(), None),
    };
    let report = policy.check(password, email, breached);
    assert!(report.strength <= 4);
    assert_eq!(report.accepted, report.reasons.is_empty());
    for r in &report.reasons {
        let _ = r.message(policy);
    }
});
