//! The neural generators against SDV's TVAE and CTGAN, in one run, on the demo tables
//! (disasters, movies, earthquakes; the same columns and stratified 80/20 split as
//! `benches/compare.rs`, prepared by `benches/peers/generation_peers.py`), at the same number of
//! epochs: seconds per epoch, rows/s, fidelity to the training rows, and 200 rows of the rarest
//! class (≥ 15 rows): fidelity to its real rows, exact copies, and the rare-class recall of the
//! fixed classifier (smartcore forest) trained on real + those rows, tested on the hold-out.
//! Our TVAE, CTGAN and diffusion; logit adjustment against its absence (the rare class's share
//! of unconditional rows); LoRA against full fine-tuning of the TVAE on the rare class.
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
        use sailkg_neural::Kind;
        for (label, kind, tau) in [
            ("sailkg tvae", Kind::Tvae, 0.0),
            ("sailkg tvae + logit adj.", Kind::Tvae, 1.0),
            ("sailkg ctgan", Kind::Ctgan, 0.0),
            ("sailkg ctgan + logit adj.", Kind::Ctgan, 1.0),
            ("sailkg diffusion", Kind::Diffusion, 0.0),
        ] {
            let options = sailkg_neural::Options {
                epochs,
                patience: 0,
                logit_adjustment: tau,
                seed: 7,
                ..sailkg_neural::Options::default()
            };
            let model = sailkg_neural::fit(kind, &train, &Constraints::default(), &options, &mut |_| {})
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
            if kind == Kind::Tvae && tau == 0.0 {
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
    let sequences = sequences(epochs.min(30));
    support::write_results(
        "neural",
        &json!({"epochs": epochs, "peers": manifest["versions"], "rows": results, "sequences": sequences}),
    );
}

/// The Transformer on the two kinds of sequences, against the statistical series models: yearly
/// deaths per disaster type (paths of 50 years: quantiles, zero share, autocorrelation) and movie
/// titles after their genre (all genres, and the rarest with ≥ 15 titles).
fn sequences(epochs: usize) -> serde_json::Value {
    use sailkg_gen::series::{Series, SeriesMethod, SeriesModel, measures};
    use sailkg_neural::transformer::{SequenceOptions, fit_series, fit_text, text_measures};
    let shared = support::shared();
    let disasters = read_csv(shared.join("data/demo/disasters.csv").to_str().unwrap());
    let series =
        Series::from_table(&disasters, &["Deaths".into()], Some("Year"), Some("Entity")).expect("series");
    let real: Vec<Vec<f64>> = series.groups.iter().map(|g| g.iter().map(|r| r[0]).collect()).collect();
    let real_measures = measures(&real, None);
    let reference = Some((real_measures.q90, real_measures.q99));
    let (paths, length) = (200, 50);
    let mut rows =
        vec![json!({"series": "disasters Deaths by Entity", "method": "real", "measures": real_measures})];
    println!(
        "\n{:<28} {:>8} {:>9} {:>10} {:>10} {:>10} {:>6} {:>6}",
        "series (200 × 50)", "s/epoch", "paths/s", "q50", "q90", "q99", "zeros", "acf1"
    );
    let line = |label: &str, per_epoch: Option<f64>, rate: f64, m: &sailkg_gen::series::SeriesMeasures| {
        println!(
            "{:<28} {:>8} {:>9.0} {:>10.0} {:>10.0} {:>10.0} {:>6.3} {:>6.3}",
            label,
            per_epoch.map_or("-".into(), |v| format!("{v:.3}")),
            rate,
            m.q50,
            m.q90,
            m.q99,
            m.zero_share,
            m.autocorrelation.first().copied().unwrap_or(f64::NAN)
        );
    };
    line("real", None, f64::NAN, &real_measures);
    let options = SequenceOptions { epochs, seed: 7, patience: 0, ..Default::default() };
    let model = fit_series("Deaths", &real, true, &options, &mut |_| {}).expect("transformer");
    let start = Instant::now();
    let generated = model.paths(paths, length, 1).expect("paths");
    let rate = paths as f64 / start.elapsed().as_secs_f64();
    let m = measures(&generated, reference);
    line("sailkg transformer", Some(model.report.seconds_per_epoch), rate, &m);
    rows.push(json!({"series": "disasters", "method": "transformer", "training": model.report, "paths_per_second": rate, "measures": m}));
    for (label, method) in
        [("sailkg block bootstrap", SeriesMethod::MovingBlock), ("sailkg ar (sde)", SeriesMethod::Ar)]
    {
        let fitted = SeriesModel::fit(method, series.clone(), None, Some(5)).expect("fit");
        let start = Instant::now();
        let out = fitted.paths(paths, Some(length), None, 1).expect("paths");
        let rate = paths as f64 / start.elapsed().as_secs_f64();
        let p = out.table.position("Deaths").unwrap();
        let sailkg_gen::Values::Numbers { values, .. } = &out.table.columns[p].values else { unreachable!() };
        let generated: Vec<Vec<f64>> =
            values.chunks(length).map(|c| c.iter().map(|v| v.unwrap_or(f64::NAN)).collect()).collect();
        let m = measures(&generated, reference);
        line(label, None, rate, &m);
        rows.push(json!({"series": "disasters", "method": label, "paths_per_second": rate, "measures": m}));
    }
    // Titles after their genre.
    let movies: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(shared.join("data/demo/movies.json")).unwrap())
            .unwrap();
    let text = |key: &str| -> Vec<Option<String>> {
        movies.iter().map(|m| m[key].as_str().map(str::to_owned)).collect()
    };
    let (titles, genres) = (text("Title"), text("Major Genre"));
    let table = Table::new(vec![
        sailkg_gen::Column::labels("Title", &titles),
        sailkg_gen::Column::labels("Major Genre", &genres),
    ])
    .unwrap();
    let options =
        SequenceOptions { epochs, seed: 7, patience: 0, top_k: 20, temperature: 0.9, ..Default::default() };
    let model = fit_text(&table, "Title", Some("Major Genre"), &options, &mut |_| {}).expect("titles");
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for g in genres.iter().flatten() {
        *counts.entry(g.clone()).or_default() += 1;
    }
    let rare =
        counts.iter().filter(|(_, c)| **c >= 15).min_by_key(|(_, c)| **c).map(|(g, _)| g.clone()).unwrap();
    println!(
        "\n{:<28} {:>8} {:>9} {:>7} {:>7} {:>7} {:>7} {:>8}",
        "titles", "s/epoch", "texts/s", "length", "chars", "bigrams", "copies", "distinct"
    );
    for (label, allowed) in [("all genres".to_owned(), None), (rare.clone(), Some(vec![rare.clone()]))] {
        let start = Instant::now();
        let generated = model.texts(500, allowed.as_deref(), 3).expect("texts");
        let rate = 500.0 / start.elapsed().as_secs_f64();
        let real: Vec<String> = titles
            .iter()
            .zip(&genres)
            .filter(|(_, g)| allowed.as_ref().is_none_or(|a| g.as_ref().is_some_and(|g| a.contains(g))))
            .filter_map(|(t, _)| t.clone())
            .collect();
        let synthetic: Vec<String> = generated.iter().map(|(_, t)| t.clone()).collect();
        let m = text_measures(&real, &synthetic);
        println!(
            "{:<28} {:>8.3} {:>9.0} {:>7.3} {:>7.3} {:>7.3} {:>6.1}% {:>7.1}%",
            format!("transformer: {label}"),
            model.report.seconds_per_epoch,
            rate,
            m.length_similarity,
            m.character_similarity,
            m.bigram_similarity,
            100.0 * m.exact_copies,
            100.0 * m.distinct
        );
        eprintln!("{label}: {}", synthetic.iter().take(8).cloned().collect::<Vec<_>>().join(" | "));
        rows.push(json!({"text": "movies Title by Major Genre", "class": label, "training": model.report, "texts_per_second": rate, "measures": m}));
    }
    serde_json::Value::Array(rows)
}
