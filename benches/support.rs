//! What the benchmark binaries share: medians, peak RSS and the results file. Not every
//! benchmark uses every function.
#![allow(dead_code)]

use std::path::PathBuf;

/// The median seconds and peak RSS of runs of (count, seconds, RSS MB), with the first count.
pub fn median(runs: &mut [(u64, f64, f64)]) -> (u64, f64, f64) {
    let count = runs[0].0;
    let mut seconds: Vec<f64> = runs.iter().map(|r| r.1).collect();
    let mut rss: Vec<f64> = runs.iter().map(|r| r.2).collect();
    seconds.sort_by(f64::total_cmp);
    rss.sort_by(f64::total_cmp);
    (count, seconds[seconds.len() / 2], rss[rss.len() / 2])
}

/// The median of some values.
pub fn median_of(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// This process's peak resident set size in KiB (Linux `VmHWM`).
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0)
}

/// Writes `benches/results/{name}.json` and says so.
pub fn write_results(name: &str, value: &serde_json::Value) {
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../benches/results/{name}.json"));
    std::fs::create_dir_all(out.parent().expect("parent")).ok();
    std::fs::write(&out, serde_json::to_string_pretty(value).expect("json")).expect("write");
    println!("\nwrote {}", out.display());
}

/// The shared test corpora: `SAILKG_SHARED`, or `../shared` beside the repository.
pub fn shared() -> PathBuf {
    match std::env::var_os("SAILKG_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// The two paths of `--child A B`, the arguments a benchmark gives itself to run one side in a
/// process of its own.
pub fn child_args() -> Option<(PathBuf, PathBuf)> {
    let args: Vec<String> = std::env::args().collect();
    (args.get(1).map(String::as_str) == Some("--child"))
        .then(|| (PathBuf::from(&args[2]), PathBuf::from(&args[3])))
}
