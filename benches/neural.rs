//! The neural generators against SDV's TVAE and CTGAN, in one run, on the demo tables
//! (disasters, movies, earthquakes; the same columns and stratified 80/20 split as
//! `benches/compare.rs`, prepared by `benches/peers/generation_peers.py`), at the same number of
//! epochs: seconds per epoch, rows/s, fidelity to the training rows, and 200 rows of the rarest
//! class (≥ 15 rows): fidelity to its real rows, exact copies, and the rare-class recall of the
//! fixed classifier (smartcore forest) trained on real + those rows, tested on the hold-out.
//! Also logit adjustment against its absence: the rare class's share of unconditional rows.
//!
//! Run with `cargo bench --workspace --bench neural`; needs a Python with `sdv`
//! (SAILKG_PEERS_PYTHON); SAILKG_NEURAL_EPOCHS (default 100). Prints a table and writes
//! `benches/results/neural.json`.

#[path = "gen_support.rs"]
mod gen_support;
#[path = "support.rs"]
mod support;

use gen_support::{class_rows, read_csv};
use sailkg_gen::{Condition, Constraints, Synthesizer, Table, eval, utility};
use serde_json::json;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A method's run: label, seconds per epoch, rows/s, unconditional rows, rare rows or why not.
type Run = (String, Option<f64>, Option<f64>, Option<Table>, Result<Table, String>);

fn share(table: &Table, target: &str, class: &str) -> f64 {
    class_rows(table, target, class).rows() as f64 / table.rows().max(1) as f64
}

fn main() {
    let epochs: usize =
        std::env::var("SAILKG_NEURAL_EPOCHS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let out = std::env::temp_dir().join(format!("sailkg-neural-{}", std::process::id()));
    let manifest = gen_support::run_peers(&out, &epochs.to_string(), "sdv_tvae,sdv_ctgan");
    let mut results = Vec::new();
    println!(
        "{:<12} {:<24} {:>8} {:>9} {:>7} | {:>6} {:>7} {:>11} | {:>10}",
        "table", "method", "s/epoch", "rows/s", "fidel.", "rare f", "copies", "recall (Δ)", "rare share"
    );
    for dataset in manifest["datasets"].as_array().expect("datasets") {
        let name = dataset["name"].as_str().unwrap();
        let target = dataset["target"].as_str().unwrap();
        let rare_class = dataset["rare"].as_str().unwrap();
        let n = dataset["n"].as_u64().unwrap() as usize;
        let train = read_csv(dataset["train_csv"].as_str().unwrap());
        let holdout = read_csv(dataset["holdout_csv"].as_str().unwrap());
        let real_rare = class_rows(&train, target, rare_class);
        let condition = Condition::parse(&format!("`{target}` = '{}'", rare_class.replace('\'', "\\'")))
            .expect("condition");
        let baseline = utility::utility(&train, &holdout, &train.select(&[]), target).expect("utility");
        let base_recall = baseline.real.recall.iter().find(|(c, _)| c == rare_class).map(|r| r.1);
        let mut rows: Vec<Run> = Vec::new();
        let mut base = None;
        for (label, tau) in [("sailkg tvae", 0.0), ("sailkg tvae + logit adj.", 1.0)] {
            let options = sailkg_neural::Options {
                epochs,
                patience: 0,
                logit_adjustment: tau,
                seed: 7,
                ..sailkg_neural::Options::default()
            };
            let model = sailkg_neural::fit_tvae(&train, &Constraints::default(), &options, &mut |_| {})
                .expect("train");
            let start = Instant::now();
            let sample = model.sample(n, &Condition::default(), 1).expect("sample");
            let rate = n as f64 / start.elapsed().as_secs_f64();
            let rare = model.sample(200, &condition, 2).map(|s| s.table).map_err(|e| e.to_string());
            rows.push((
                label.into(),
                Some(model.report.seconds_per_epoch),
                Some(rate),
                Some(sample.table),
                rare,
            ));
            if tau == 0.0 {
                base = Some(model);
            }
        }
        // The base model adapted to the rare class: LoRA against full fine-tuning.
        let base = base.expect("the base model");
        for (label, rank) in [("sailkg tvae + lora r8", Some(8)), ("sailkg tvae + full tune", None)] {
            let (tuned, report) =
                sailkg_neural::fine_tune(&base, &train, &condition, rank, epochs / 2, 9).expect("tune");
            let rare = tuned.sample(200, &condition, 2).map(|s| s.table).map_err(|e| e.to_string());
            eprintln!(
                "{name}: {label}: {} of {} parameters trained, {} epochs in {:.2} s",
                report.trainable_parameters, report.total_parameters, report.epochs, report.seconds
            );
            results.push(json!({"dataset": name, "method": label, "fine_tuning": report}));
            rows.push((label.into(), Some(report.seconds / report.epochs as f64), None, None, rare));
        }
        for (key, label) in [("sdv_tvae", "sdv tvae"), ("sdv_ctgan", "sdv ctgan")] {
            let peer = &dataset["peers"][key];
            let sample = peer["csv"].as_str().map(read_csv);
            let rare = match (peer["rare_csv"].as_str(), peer["rare_error"].as_str(), peer["error"].as_str())
            {
                (Some(csv), _, _) => Ok(read_csv(csv)),
                (_, Some(e), _) | (_, _, Some(e)) => Err(e.to_owned()),
                _ => Err("no rows".into()),
            };
            let per_epoch = peer["fit_seconds"].as_f64().map(|s| s / epochs as f64);
            let rate = peer["sample_seconds"].as_f64().map(|s| n as f64 / s);
            rows.push((label.into(), per_epoch, rate, sample, rare));
        }
        for (label, per_epoch, rate, sample, rare) in rows {
            let fidelity = sample.as_ref().map(|s| eval::evaluate(&train, s).fidelity);
            let rare_share = sample.as_ref().map(|s| share(s, target, rare_class));
            let mut entry = json!({
                "dataset": name, "method": label, "epochs": epochs, "seconds_per_epoch": per_epoch,
                "rows_per_second": rate, "fidelity": fidelity, "rare_class": rare_class,
                "rare_share_real": share(&train, target, rare_class), "rare_share_synthetic": rare_share,
                "rare_recall_real_only": base_recall,
            });
            let cell = |v: Option<f64>, digits: usize| v.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
            match &rare {
                Ok(rare) => {
                    let report = eval::evaluate(&real_rare, rare);
                    let recall = utility::utility(&train, &holdout, rare, target).ok().and_then(|u| {
                        u.real_plus_synthetic.recall.iter().find(|(c, _)| c == rare_class).map(|r| r.1)
                    });
                    entry["rare_fidelity"] = report.fidelity.into();
                    entry["rare_exact_copy_share"] = report.exact_copy_share.into();
                    entry["rare_recall_with_synthetic"] = recall.into();
                    println!(
                        "{:<12} {:<24} {:>8} {:>9} {:>7} | {:>6.3} {:>6.1}% {:>5} ({:+.2}) | {:>5} ({:.3})",
                        name,
                        label,
                        cell(per_epoch, 3),
                        cell(rate, 0),
                        cell(fidelity, 3),
                        report.fidelity,
                        100.0 * report.exact_copy_share,
                        cell(recall, 2),
                        recall.unwrap_or(0.0) - base_recall.unwrap_or(0.0),
                        cell(rare_share, 3),
                        share(&train, target, rare_class),
                    );
                }
                Err(error) => {
                    entry["rare_error"] = error.clone().into();
                    println!(
                        "{:<12} {:<24} {:>8} {:>9} {:>7} | failed: {}",
                        name,
                        label,
                        cell(per_epoch, 3),
                        cell(rate, 0),
                        cell(fidelity, 3),
                        &error[..error.len().min(60)]
                    );
                }
            }
            results.push(entry);
        }
    }
    std::fs::remove_dir_all(&out).ok();
    support::write_results(
        "neural",
        &json!({"epochs": epochs, "peers": manifest["versions"], "rows": results}),
    );
}
