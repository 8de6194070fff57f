//! A small Prometheus registry: labelled counters, gauges and latency histograms,
//! rendered in the text exposition format on `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

type Key = (&'static str, String);

/// What each family means, for the `# HELP` lines.
const HELP: &[(&str, &str)] = &[
    ("hearth_decisions_total", "Access decisions by outcome (allow, verify, deny)."),
    ("hearth_decision_reasons_total", "Reasons given with access decisions."),
    ("hearth_engine_state_conflicts_total", "Engine state updates retried after a concurrent write."),
    ("hearth_access_batch_seconds", "Time the access write path took per batch: states loaded, events decided, one commit; one sample per batch."),
    ("hearth_access_batch_events_total", "Access events the write path took in batches; divided by the batch count (hearth_access_batch_seconds_count) it gives the mean batch size."),
    ("hearth_access_queue_events", "Access events waiting for the write path (the queue answers 503 when full), read at scrape time."),
    ("hearth_accounts_classified_total", "Accounts newly classified as shared or resold."),
    ("hearth_engine_effects_pending", "Committed access effects (analysts' queue, notices) not yet carried out and deleted, read at scrape time."),
    ("hearth_engine_effects_overdue", "Committed access effects past their node's grace period (its node died, or carrying them out fails), read at scrape time."),
    ("hearth_engine_effects_swept_total", "Access effects a node left behind, carried out by this node's sweep."),
    ("hearth_codes_sent_total", "One-time codes queued for delivery, by channel and purpose."),
    ("hearth_codes_verified_total", "One-time codes verified, by purpose."),
    ("hearth_codes_refused_total", "One-time codes refused (send limit, wrong, expired, used up)."),
    ("hearth_outbox_backlog", "Messages waiting in the outbox (pending or being retried), read at scrape time."),
    ("hearth_outbox_messages", "Outbox messages by status (pending, sending, sent, dead), read from the database at scrape time."),
    ("hearth_outbox_claimed_total", "Outbox messages claimed by this node's courier."),
    ("hearth_outbox_sent_total", "Outbox messages delivered by this node's courier."),
    ("hearth_outbox_retries_total", "Outbox deliveries that failed and were scheduled again."),
    ("hearth_outbox_dead_letters_total", "Outbox messages given up on (dead letters)."),
    ("hearth_sign_ups_total", "Accounts created."),
    ("hearth_sign_ins_total", "Sign-in attempts by result."),
    ("hearth_sign_in_failures_total", "Failed or refused sign-ins by reason (wrong_password, wrong_code, unknown_account, account_locked, address_throttled, credential_stuffing)."),
    ("hearth_credential_stuffing_detected_total", "Source addresses seen failing against many accounts."),
    ("hearth_password_changes_total", "Password changes by result."),
    ("hearth_devices_signed_out_total", "Devices signed out, by how."),
    ("hearth_reports_total", "Owners' reports (this wasn't me, entered details on a fake site)."),
    ("hearth_notices_total", "Security notices sent to owners, by kind."),
    ("hearth_notices_quietened_total", "Security notices recorded but not sent (folded into a digest or switched off)."),
    ("hearth_message_checks_total", "Messages checked for phishing, by verdict."),
    ("hearth_phishing_reports_total", "Phishing reports received, by source and verdict."),
    ("hearth_http_request_seconds", "HTTP request latency by method, route template and status class."),
    ("hearth_http_responses_total", "HTTP responses by route template and status."),
    ("hearth_consume_decisions_published_total", "hearth consume: decisions published to the decisions subject."),
    ("hearth_consume_malformed_events_total", "hearth consume: bus messages that were not access events (terminated)."),
];

fn help(name: &str) -> &'static str {
    HELP.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, h)| *h)
        .unwrap_or("A Hearth metric.")
}

fn header(out: &mut String, name: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {}", help(name));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    total: u64,
}

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<Key, u64>>,
    gauges: Mutex<BTreeMap<Key, f64>>,
    histograms: Mutex<BTreeMap<Key, Histogram>>,
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(s, "{k}=\"{v}\"");
    }
    s
}

fn series(name: &str, labels: &str, suffix: &str, extra: Option<String>) -> String {
    let mut all = labels.to_owned();
    if let Some(e) = extra {
        if !all.is_empty() {
            all.push(',');
        }
        all.push_str(&e);
    }
    if all.is_empty() {
        format!("{name}{suffix}")
    } else {
        format!("{name}{suffix}{{{all}}}")
    }
}

impl Metrics {
    pub fn inc(&self, name: &'static str, pairs: &[(&str, &str)]) {
        self.add(name, pairs, 1);
    }

    pub fn add(&self, name: &'static str, pairs: &[(&str, &str)], n: u64) {
        if let Ok(mut m) = self.counters.lock() {
            *m.entry((name, labels(pairs))).or_default() += n;
        }
    }

    pub fn set(&self, name: &'static str, pairs: &[(&str, &str)], v: f64) {
        if let Ok(mut m) = self.gauges.lock() {
            m.insert((name, labels(pairs)), v);
        }
    }

    pub fn observe(&self, name: &'static str, pairs: &[(&str, &str)], seconds: f64) {
        if let Ok(mut m) = self.histograms.lock() {
            let h = m.entry((name, labels(pairs))).or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += seconds;
            h.total += 1;
        }
    }

    pub fn counter(&self, name: &'static str, pairs: &[(&str, &str)]) -> u64 {
        self.counters
            .lock()
            .ok()
            .and_then(|m| m.get(&(name, labels(pairs))).copied())
            .unwrap_or(0)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut last = "";
        if let Ok(m) = self.counters.lock() {
            for ((name, l), v) in m.iter() {
                if *name != last {
                    header(&mut out, name, "counter");
                    last = name;
                }
                let _ = writeln!(out, "{} {v}", series(name, l, "", None));
            }
        }
        if let Ok(m) = self.gauges.lock() {
            for ((name, l), v) in m.iter() {
                if *name != last {
                    header(&mut out, name, "gauge");
                    last = name;
                }
                let _ = writeln!(out, "{} {v}", series(name, l, "", None));
            }
        }
        if let Ok(m) = self.histograms.lock() {
            for ((name, l), h) in m.iter() {
                if *name != last {
                    header(&mut out, name, "histogram");
                    last = name;
                }
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "{} {}",
                        series(name, l, "_bucket", Some(format!("le=\"{b}\""))),
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "{} {}",
                    series(name, l, "_bucket", Some("le=\"+Inf\"".into())),
                    h.total
                );
                let _ = writeln!(out, "{} {}", series(name, l, "_sum", None), h.sum);
                let _ = writeln!(out, "{} {}", series(name, l, "_count", None), h.total);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        let m = Metrics::default();
        m.inc("hearth_sign_ins_total", &[("result", "failed")]);
        m.inc("hearth_sign_ins_total", &[("result", "failed")]);
        m.observe(
            "hearth_http_request_seconds",
            &[("route", "/healthz")],
            0.003,
        );
        let text = m.render();
        assert!(text.contains(
            "# TYPE hearth_sign_ins_total counter\nhearth_sign_ins_total{result=\"failed\"} 2\n"
        ));
        assert!(text.contains("# HELP hearth_sign_ins_total Sign-in attempts by result.\n"));
        assert!(text
            .contains("hearth_http_request_seconds_bucket{route=\"/healthz\",le=\"0.0025\"} 0\n"));
        assert!(text
            .contains("hearth_http_request_seconds_bucket{route=\"/healthz\",le=\"0.005\"} 1\n"));
        assert!(text.contains("hearth_http_request_seconds_count{route=\"/healthz\"} 1\n"));
    }
}
