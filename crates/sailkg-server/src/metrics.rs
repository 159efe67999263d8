//! Prometheus metrics: request counts by route and status class, latency histograms, store size.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0];

#[derive(Default)]
pub(crate) struct Metrics {
    routes: Mutex<BTreeMap<String, RouteMetrics>>,
    pub(crate) query_timeouts: AtomicU64,
    pub(crate) triples_loaded: AtomicU64,
    queries_running: AtomicU64,
}

/// Counts a query as running until dropped, wherever its work ends.
pub(crate) struct Running(std::sync::Arc<Metrics>);

impl Running {
    pub(crate) fn new(metrics: &std::sync::Arc<Metrics>) -> Self {
        metrics.queries_running.fetch_add(1, Ordering::Relaxed);
        Self(std::sync::Arc::clone(metrics))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.queries_running.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Default, Clone)]
struct RouteMetrics {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

impl Metrics {
    pub(crate) fn record(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let Ok(mut routes) = self.routes.lock() else { return };
        let entry = routes.entry(format!("{method} {route}")).or_default();
        *entry.by_status.entry(status).or_default() += 1;
        let seconds = elapsed.as_secs_f64();
        for (bucket, bound) in entry.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        entry.count += 1;
        entry.sum_seconds += seconds;
    }

    pub(crate) fn render(&self, store_bytes: u64) -> String {
        let routes = self.routes.lock().map(|r| r.clone()).unwrap_or_default();
        let mut out = String::new();
        let _ = writeln!(out, "# HELP sailkg_http_requests_total HTTP requests by route and status.");
        let _ = writeln!(out, "# TYPE sailkg_http_requests_total counter");
        for (key, route) in &routes {
            let (method, path) = key.split_once(' ').unwrap_or(("", key));
            for (status, count) in &route.by_status {
                let _ = writeln!(
                    out,
                    "sailkg_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                    escape(path)
                );
            }
        }
        let _ = writeln!(out, "# HELP sailkg_http_errors_total HTTP responses with a 4xx or 5xx status.");
        let _ = writeln!(out, "# TYPE sailkg_http_errors_total counter");
        for (key, route) in &routes {
            let (method, path) = key.split_once(' ').unwrap_or(("", key));
            let errors: u64 = route.by_status.iter().filter(|(s, _)| **s >= 400).map(|(_, c)| c).sum();
            let _ = writeln!(
                out,
                "sailkg_http_errors_total{{method=\"{method}\",route=\"{}\"}} {errors}",
                escape(path)
            );
        }
        let _ = writeln!(out, "# HELP sailkg_http_request_duration_seconds Time to the response head.");
        let _ = writeln!(out, "# TYPE sailkg_http_request_duration_seconds histogram");
        for (key, route) in &routes {
            let (method, path) = key.split_once(' ').unwrap_or(("", key));
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(path));
            for (count, bound) in route.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "sailkg_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "sailkg_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                route.count
            );
            let _ =
                writeln!(out, "sailkg_http_request_duration_seconds_sum{{{labels}}} {}", route.sum_seconds);
            let _ = writeln!(out, "sailkg_http_request_duration_seconds_count{{{labels}}} {}", route.count);
        }
        let _ = writeln!(
            out,
            "# HELP sailkg_query_timeouts_total Queries and updates stopped by the time limit."
        );
        let _ = writeln!(out, "# TYPE sailkg_query_timeouts_total counter");
        let _ = writeln!(out, "sailkg_query_timeouts_total {}", self.query_timeouts.load(Ordering::Relaxed));
        let _ = writeln!(
            out,
            "# HELP sailkg_triples_loaded_total Statements loaded through the Graph Store Protocol."
        );
        let _ = writeln!(out, "# TYPE sailkg_triples_loaded_total counter");
        let _ = writeln!(out, "sailkg_triples_loaded_total {}", self.triples_loaded.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP sailkg_queries_running Queries being evaluated or streamed now.");
        let _ = writeln!(out, "# TYPE sailkg_queries_running gauge");
        let _ = writeln!(out, "sailkg_queries_running {}", self.queries_running.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP sailkg_store_size_bytes Bytes of the RocksDB store on disk.");
        let _ = writeln!(out, "# TYPE sailkg_store_size_bytes gauge");
        let _ = writeln!(out, "sailkg_store_size_bytes {store_bytes}");
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}
