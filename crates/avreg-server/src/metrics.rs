//! Prometheus metrics, rendered as text at `/metrics`: requests by route,
//! method and status, a latency histogram per route, lookups,
//! registrations and the fingerprinting queue.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram, seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    lookups: BTreeMap<&'static str, u64>,
    registrations: BTreeMap<&'static str, u64>,
}

/// The service's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Counts a request to `route` (the matched pattern, not the path).
    pub fn request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.with(|m| {
            *m.requests
                .entry((route.to_owned(), method.to_owned(), status))
                .or_default() += 1;
            let h = m.latency.entry(route.to_owned()).or_default();
            let s = elapsed.as_secs_f64();
            for (c, le) in h.counts.iter_mut().zip(BUCKETS) {
                if s <= le {
                    *c += 1;
                }
            }
            h.count += 1;
            h.sum += s;
        });
    }

    /// Counts a lookup by outcome (`match`, `no_match`).
    pub fn lookup(&self, outcome: &'static str) {
        self.with(|m| *m.lookups.entry(outcome).or_default() += 1);
    }

    /// Counts a registration by outcome (`registered`, `existing`, `failed`).
    pub fn registration(&self, outcome: &'static str) {
        self.with(|m| *m.registrations.entry(outcome).or_default() += 1);
    }

    /// The Prometheus text exposition, with the pool's gauges.
    pub fn render(&self, queue_depth: usize, running: usize) -> String {
        self.with(|m| {
            let mut o = String::new();
            let _ = writeln!(o, "# HELP avreg_http_requests_total HTTP requests by route, method and status.");
            let _ = writeln!(o, "# TYPE avreg_http_requests_total counter");
            for ((route, method, status), n) in &m.requests {
                let _ = writeln!(
                    o,
                    "avreg_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
                );
            }
            let _ = writeln!(o, "# HELP avreg_http_request_duration_seconds Request latency by route.");
            let _ = writeln!(o, "# TYPE avreg_http_request_duration_seconds histogram");
            for (route, h) in &m.latency {
                for (c, le) in h.counts.iter().zip(BUCKETS) {
                    let _ = writeln!(
                        o,
                        "avreg_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {c}"
                    );
                }
                let _ = writeln!(
                    o,
                    "avreg_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(o, "avreg_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
                let _ = writeln!(o, "avreg_http_request_duration_seconds_count{{route=\"{route}\"}} {}", h.count);
            }
            let _ = writeln!(o, "# HELP avreg_lookups_total Lookups by outcome.");
            let _ = writeln!(o, "# TYPE avreg_lookups_total counter");
            for outcome in ["match", "no_match"] {
                let n = m.lookups.get(outcome).copied().unwrap_or(0);
                let _ = writeln!(o, "avreg_lookups_total{{outcome=\"{outcome}\"}} {n}");
            }
            let _ = writeln!(o, "# HELP avreg_registrations_total Registrations by outcome.");
            let _ = writeln!(o, "# TYPE avreg_registrations_total counter");
            for outcome in ["registered", "existing", "failed"] {
                let n = m.registrations.get(outcome).copied().unwrap_or(0);
                let _ = writeln!(o, "avreg_registrations_total{{outcome=\"{outcome}\"}} {n}");
            }
            let _ = writeln!(o, "# HELP avreg_fingerprint_queue_depth Work waiting for a fingerprinting worker.");
            let _ = writeln!(o, "# TYPE avreg_fingerprint_queue_depth gauge");
            let _ = writeln!(o, "avreg_fingerprint_queue_depth {queue_depth}");
            let _ = writeln!(o, "# HELP avreg_fingerprint_running Work running on fingerprinting workers.");
            let _ = writeln!(o, "# TYPE avreg_fingerprint_running gauge");
            let _ = writeln!(o, "avreg_fingerprint_running {running}");
            o
        })
    }
}
