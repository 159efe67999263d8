//! Generation against its peers, in one run, on the demo tables (disasters, movies,
//! earthquakes): SDV's GaussianCopula and CTGAN and imbalanced-learn's SMOTE-NC (run by
//! `benches/peers/generation_peers.py`, which also prepares the tables and the stratified 80/20
//! split both sides use) against SAIL-KG's copula, MCMC (MALA) and SMOTE-NC.
//!
//! For every method: fit and sampling time (ours: medians of SAILKG_BENCH_RUNS runs, default 5),
//! fidelity to the training rows (KS/TV complements, SDMetrics' definitions), and for 200 rows
//! of the rarest class: whether they came, their fidelity to the real rare rows, exact copies,
//! the share closer to a training row than the hold-out median, and the rare-class recall of
//! one fixed classifier (smartcore forest) trained on real rows plus the synthetic rare rows,
//! tested on the hold-out. Every number is computed by the same Rust code for every method.
//!
//! Run with `cargo bench --workspace --bench compare`; needs a Python with `sdv` and
//! `imbalanced-learn` (SAILKG_PEERS_PYTHON, default `python3`); SAILKG_CTGAN_EPOCHS (default
//! 100). Prints a table and writes `benches/results/compare.json`.

#[path = "gen_support.rs"]
mod gen_support;
#[path = "support.rs"]
mod support;

use gen_support::{class_rows, read_csv};
use sailkg_gen::{Condition, Constraints, FitOptions, Method, Table, eval, utility};
use serde_json::json;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Row {
    dataset: String,
    method: String,
    fit_seconds: Option<f64>,
    sample_seconds: Option<f64>,
    fidelity: Option<f64>,
    rare: Result<Table, String>,
    rare_seconds: Option<f64>,
}

fn main() {
    let runs: usize = std::env::var("SAILKG_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let epochs = std::env::var("SAILKG_CTGAN_EPOCHS").unwrap_or_else(|_| "100".into());
    let out = std::env::temp_dir().join(format!("sailkg-compare-{}", std::process::id()));
    let manifest = gen_support::run_peers(&out, &epochs, "sdv_gaussian_copula,sdv_ctgan,imblearn_smote_nc");
    let mut results = Vec::new();
    println!(
        "{:<12} {:<22} {:>8} {:>10} {:>8} | {:>5} {:>8} {:>7} {:>7} {:>8} {:>13}",
        "table",
        "method",
        "fit s",
        "rows/s",
        "fidel.",
        "rare",
        "fidel.",
        "copies",
        "closer",
        "sample s",
        "recall (Δ)"
    );
    for dataset in manifest["datasets"].as_array().expect("datasets") {
        let name = dataset["name"].as_str().unwrap().to_owned();
        let target = dataset["target"].as_str().unwrap();
        let rare_class = dataset["rare"].as_str().unwrap();
        let n = dataset["n"].as_u64().unwrap() as usize;
        let n_rare = dataset["n_rare"].as_u64().unwrap() as usize;
        let train = read_csv(dataset["train_csv"].as_str().unwrap());
        let holdout = read_csv(dataset["holdout_csv"].as_str().unwrap());
        let real_rare = class_rows(&train, target, rare_class);
        let condition = Condition::parse(&format!("`{target}` = '{}'", rare_class.replace('\'', "\\'")))
            .expect("condition");
        let mut rows = Vec::new();
        // Ours, timed over several runs.
        for (label, method) in [
            ("sailkg copula", Method::Copula),
            ("sailkg mcmc (mala)", Method::Mala),
            ("sailkg smote-nc", Method::Smote),
        ] {
            let (mut fits, mut samples, mut rare_times) = (Vec::new(), Vec::new(), Vec::new());
            let (mut fidelity, mut rare) = (None, Err(String::new()));
            for run in 0..runs {
                let start = Instant::now();
                let model = sailkg_gen::fit(method, &train, &Constraints::default(), &FitOptions::default())
                    .expect("fit");
                fits.push(start.elapsed().as_secs_f64());
                if method != Method::Smote {
                    let start = Instant::now();
                    let sample = model.sample(n, &Condition::default(), run as u64).expect("sample");
                    samples.push(start.elapsed().as_secs_f64());
                    fidelity = Some(eval::evaluate(&train, &sample.table).fidelity);
                }
                let start = Instant::now();
                rare =
                    model.sample(n_rare, &condition, run as u64).map(|s| s.table).map_err(|e| e.to_string());
                rare_times.push(start.elapsed().as_secs_f64());
            }
            rows.push(Row {
                dataset: name.clone(),
                method: label.into(),
                fit_seconds: Some(support::median_of(fits)),
                sample_seconds: (!samples.is_empty()).then(|| support::median_of(samples)),
                fidelity,
                rare,
                rare_seconds: Some(support::median_of(rare_times)),
            });
        }
        // The peers, from their files.
        for (key, label) in [
            ("sdv_gaussian_copula", "sdv gaussian copula"),
            ("sdv_ctgan", "sdv ctgan"),
            ("imblearn_smote_nc", "imblearn smote-nc"),
        ] {
            let peer = &dataset["peers"][key];
            let fidelity = peer["csv"].as_str().map(|csv| eval::evaluate(&train, &read_csv(csv)).fidelity);
            let rare = match (peer["rare_csv"].as_str(), peer["rare_error"].as_str(), peer["error"].as_str())
            {
                (Some(csv), _, _) => Ok(read_csv(csv)),
                (_, Some(e), _) | (_, _, Some(e)) => Err(e.to_owned()),
                _ => Err("no rows".into()),
            };
            rows.push(Row {
                dataset: name.clone(),
                method: label.into(),
                fit_seconds: peer["fit_seconds"].as_f64(),
                sample_seconds: peer["sample_seconds"].as_f64(),
                fidelity,
                rare,
                rare_seconds: peer["rare_seconds"].as_f64(),
            });
        }
        let baseline = utility::utility(&train, &holdout, &train.select(&[]), target).expect("utility");
        let base_recall = baseline.real.recall.iter().find(|(c, _)| c == rare_class).map(|r| r.1);
        for row in rows {
            let mut entry = json!({
                "dataset": row.dataset, "method": row.method, "training_rows": train.rows(), "rows": n,
                "fit_seconds": row.fit_seconds, "sample_seconds": row.sample_seconds,
                "rows_per_second": row.sample_seconds.map(|s| n as f64 / s), "fidelity": row.fidelity,
                "rare_class": rare_class, "rare_training_rows": real_rare.rows(), "rare_seconds": row.rare_seconds,
                "rare_recall_real_only": base_recall,
            });
            let cell = |v: Option<f64>, digits: usize| v.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
            match &row.rare {
                Ok(rare) => {
                    let report = eval::evaluate(&real_rare, rare);
                    let privacy = eval::privacy(&train, Some(&holdout), rare);
                    let used = utility::utility(&train, &holdout, rare, target).ok();
                    let recall = used.as_ref().and_then(|u| {
                        u.real_plus_synthetic.recall.iter().find(|(c, _)| c == rare_class).map(|r| r.1)
                    });
                    entry["rare_rows"] = rare.rows().into();
                    entry["rare_fidelity"] = report.fidelity.into();
                    entry["rare_exact_copy_share"] = report.exact_copy_share.into();
                    entry["rare_closer_than_holdout_median"] =
                        privacy.share_closer_than_baseline_median.into();
                    entry["rare_recall_with_synthetic"] = recall.into();
                    entry["macro_f1_with_synthetic"] =
                        used.as_ref().map(|u| u.real_plus_synthetic.macro_f1).into();
                    println!(
                        "{:<12} {:<22} {:>8} {:>10} {:>8} | {:>5} {:>8.3} {:>6.1}% {:>6.1}% {:>8} {:>5} ({:+.2})",
                        name,
                        row.method,
                        cell(row.fit_seconds, 3),
                        cell(row.sample_seconds.map(|s| n as f64 / s), 0),
                        cell(row.fidelity, 3),
                        rare.rows(),
                        report.fidelity,
                        100.0 * report.exact_copy_share,
                        100.0 * privacy.share_closer_than_baseline_median,
                        cell(row.rare_seconds, 3),
                        cell(recall, 2),
                        recall.unwrap_or(0.0) - base_recall.unwrap_or(0.0),
                    );
                }
                Err(error) => {
                    entry["rare_error"] = error.clone().into();
                    println!(
                        "{:<12} {:<22} {:>8} {:>10} {:>8} | failed: {}",
                        name,
                        row.method,
                        cell(row.fit_seconds, 3),
                        cell(row.sample_seconds.map(|s| n as f64 / s), 0),
                        cell(row.fidelity, 3),
                        &error[..error.len().min(60)]
                    );
                }
            }
            results.push(entry);
        }
        println!(
            "{:<12} rare class {rare_class:?}: {} training rows, recall with real rows only {}",
            "",
            real_rare.rows(),
            base_recall.map_or("-".into(), |r| format!("{r:.2}"))
        );
    }
    // Speed: fit + sample of as many rows as the training set, SDV's copula over ours.
    let mut ratios = Vec::new();
    for dataset in manifest["datasets"].as_array().unwrap() {
        let name = dataset["name"].as_str().unwrap();
        let total = |method: &str| {
            results
                .iter()
                .find(|r| r["dataset"] == name && r["method"] == method)
                .and_then(|r| Some(r["fit_seconds"].as_f64()? + r["sample_seconds"].as_f64()?))
        };
        if let (Some(sdv), Some(ours)) = (total("sdv gaussian copula"), total("sailkg copula")) {
            println!(
                "{name}: fit + sample {:.1}x faster than SDV's GaussianCopula ({sdv:.3} s vs {ours:.4} s)",
                sdv / ours
            );
            ratios.push(
                json!({"dataset": name, "sdv_seconds": sdv, "sailkg_seconds": ours, "speedup": sdv / ours}),
            );
        }
    }
    std::fs::remove_dir_all(&out).ok();
    support::write_results(
        "compare",
        &json!({"runs": runs, "peers": manifest["versions"], "ctgan_epochs": manifest["ctgan_epochs"], "speed": ratios, "rows": results}),
    );
}
