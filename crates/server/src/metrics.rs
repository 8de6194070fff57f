//! A small Prometheus registry: labelled counters, gauges and latency histograms,
//! rendered in the text exposition format on `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Series by family name, then by their label string (`k="v",...`).
type Family<V> = BTreeMap<&'static str, BTreeMap<String, V>>;

/// What each family means, for the `# HELP` lines.
const HELP: &[(&str, &str)] = &[
    ("hearth_decisions_total", "Access decisions by outcome (allow, verify, deny)."),
    ("hearth_decision_reasons_total", "Reasons given with access decisions."),
    ("hearth_engine_state_conflicts_total", "Engine state updates retried after a concurrent write."),
    ("hearth_access_batch_seconds", "Time the access write path took per batch: states loaded, events decided, one commit; one sample per batch."),
    ("hearth_password_hash_wait_seconds", "Time a password hash waited for its turn ([hashing] max_concurrent, and one at a time within [hashing] busy_share of a core while access events wait for their commit)."),
    ("hearth_password_hash_seconds", "Time a password hash took on its thread, which yields the cores to all other work."),
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
    counters: Mutex<Family<u64>>,
    gauges: Mutex<Family<f64>>,
    histograms: Mutex<Family<Histogram>>,
}

/// Writes the label string of `pairs` into `s`, values escaped.
fn write_labels(s: &mut String, pairs: &[(&str, &str)]) {
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(k);
        s.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => s.push_str("\\\\"),
                '"' => s.push_str("\\\""),
                '\n' => s.push_str("\\n"),
                c => s.push(c),
            }
        }
        s.push('"');
    }
}

/// Runs `f` on the series `name` with `pairs` in `map`, created at its default if new.
///
/// Every request updates a few series, so this allocates nothing for a series
/// that exists: the label string is written into a buffer kept per thread and
/// looked up by reference. Building an owned key each time (with three
/// `replace`s per value) cost GET /healthz a tenth of its instructions
/// (callgrind, BENCHMARKS.md, session 12).
fn update<V: Default>(
    map: &Mutex<Family<V>>,
    name: &'static str,
    pairs: &[(&str, &str)],
    f: impl FnOnce(&mut V),
) {
    thread_local!(static LABELS: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) });
    LABELS.with_borrow_mut(|l| {
        l.clear();
        write_labels(l, pairs);
        if let Ok(mut m) = map.lock() {
            let series = m.entry(name).or_default();
            match series.get_mut(l.as_str()) {
                Some(v) => f(v),
                None => f(series.entry(l.clone()).or_default()),
            }
        }
    });
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

/// Every series of `map` in order: by family, then by labels.
fn flatten<V>(map: &Family<V>) -> impl Iterator<Item = (&'static str, &String, &V)> {
    map.iter()
        .flat_map(|(name, series)| series.iter().map(move |(l, v)| (*name, l, v)))
}

impl Metrics {
    pub fn inc(&self, name: &'static str, pairs: &[(&str, &str)]) {
        self.add(name, pairs, 1);
    }

    pub fn add(&self, name: &'static str, pairs: &[(&str, &str)], n: u64) {
        update(&self.counters, name, pairs, |c| *c += n);
    }

    pub fn set(&self, name: &'static str, pairs: &[(&str, &str)], v: f64) {
        update(&self.gauges, name, pairs, |g| *g = v);
    }

    pub fn observe(&self, name: &'static str, pairs: &[(&str, &str)], seconds: f64) {
        update(&self.histograms, name, pairs, |h| {
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += seconds;
            h.total += 1;
        });
    }

    pub fn counter(&self, name: &'static str, pairs: &[(&str, &str)]) -> u64 {
        self.counters
            .lock()
            .ok()
            .and_then(|m| {
                let mut l = String::new();
                write_labels(&mut l, pairs);
                m.get(name)?.get(&l).copied()
            })
            .unwrap_or(0)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut last = "";
        if let Ok(m) = self.counters.lock() {
            for (name, l, v) in flatten(&m) {
                if name != last {
                    header(&mut out, name, "counter");
                    last = name;
                }
                let _ = writeln!(out, "{} {v}", series(name, l, "", None));
            }
        }
        if let Ok(m) = self.gauges.lock() {
            for (name, l, v) in flatten(&m) {
                if name != last {
                    header(&mut out, name, "gauge");
                    last = name;
                }
                let _ = writeln!(out, "{} {v}", series(name, l, "", None));
            }
        }
        if let Ok(m) = self.histograms.lock() {
            for (name, l, h) in flatten(&m) {
                if name != last {
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

    #[test]
    fn label_values_are_escaped_and_each_label_set_is_its_own_series() {
        let m = Metrics::default();
        m.add("hearth_notices_total", &[("kind", "a\"b\\c\nd")], 2);
        m.inc("hearth_notices_total", &[("kind", "a\"b\\c\nd")]);
        m.inc("hearth_notices_total", &[("kind", "plain")]);
        m.set("hearth_outbox_backlog", &[], 4.0);
        m.set("hearth_outbox_backlog", &[], 5.0);
        assert_eq!(
            m.counter("hearth_notices_total", &[("kind", "a\"b\\c\nd")]),
            3
        );
        assert_eq!(m.counter("hearth_notices_total", &[("kind", "plain")]), 1);
        assert_eq!(m.counter("hearth_notices_total", &[("kind", "other")]), 0);
        let text = m.render();
        assert!(
            text.contains("hearth_notices_total{kind=\"a\\\"b\\\\c\\nd\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("hearth_notices_total{kind=\"plain\"} 1\n"));
        assert!(text.contains("hearth_outbox_backlog 5\n"));
        // One header per family, series in label order.
        assert_eq!(
            text.matches("# TYPE hearth_notices_total counter").count(),
            1
        );
        assert!(text.find("kind=\"a").unwrap() < text.find("kind=\"plain").unwrap());
    }
}
