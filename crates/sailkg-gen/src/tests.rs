use super::*;
use rand::RngExt;
use rand_distr::{Distribution, Normal};

/// Weather: sun 900, rain 97, snow 3 rows; temperature depends on the weather; wind is
/// correlated with temperature; an id column.
fn weather() -> Table {
    let mut rng = stream(42, 0);
    let mut kinds = Vec::new();
    let mut temperature = Vec::new();
    let mut wind = Vec::new();
    for i in 0..1000 {
        let (kind, mean) = if i < 900 {
            ("sun", 25.0)
        } else if i < 997 {
            ("rain", 12.0)
        } else {
            ("snow", -5.0)
        };
        let t: f64 = Normal::new(mean, 3.0).unwrap().sample(&mut rng);
        kinds.push(Some(kind));
        temperature.push(Some(t));
        wind.push(Some((40.0 - t + Normal::new(0.0, 2.0).unwrap().sample(&mut rng)).round()));
    }
    let ids: Vec<Option<String>> = (0..1000).map(|i| Some(format!("r{i}"))).collect();
    let mut id = Column::labels("id", &ids);
    id.role = Role::Id;
    Table::new(vec![
        id,
        Column::labels("weather", &kinds),
        Column::numbers("temperature", NumberKind::Float, temperature),
        Column::numbers("wind", NumberKind::Integer, wind),
    ])
    .unwrap()
}

fn numbers(table: &Table, name: &str) -> Vec<Option<f64>> {
    match &table.columns[table.position(name).unwrap()].values {
        Values::Numbers { values, .. } => values.clone(),
        Values::Labels { .. } => panic!("{name} holds labels"),
    }
}

fn texts(table: &Table, name: &str) -> Vec<Option<String>> {
    let column = &table.columns[table.position(name).unwrap()];
    (0..column.len()).map(|r| column.text(r)).collect()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn copula_samples_the_rarest_class_directly_and_keeps_its_shape() {
    let table = weather();
    let model = fit(Method::Copula, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let sample = model.sample(2000, &Condition::parse("weather = 'snow'").unwrap(), 7).unwrap();
    assert_eq!(sample.table.rows(), 2000);
    assert!(texts(&sample.table, "weather").iter().all(|w| w.as_deref() == Some("snow")));
    // Snow is cold: the latent interval of the rarest label carries the correlation along.
    let t: Vec<f64> = numbers(&sample.table, "temperature").into_iter().flatten().collect();
    // The Gaussian dependence smears a 3-row class toward its neighbour (rain, 12), but it
    // stays far colder than the whole table (mean 23.6).
    assert!(mean(&t) < 15.0, "snow temperature mean {}", mean(&t));
    // Ids are fresh, never real ones.
    assert!(
        texts(&sample.table, "id").iter().all(|id| id.as_deref().is_some_and(|id| id.starts_with("syn-")))
    );
    // No exact copy of a real row (temperature is continuous).
    let real: Vec<f64> = numbers(&table, "temperature").into_iter().flatten().collect();
    assert!(t.iter().all(|v| !real.contains(v)));
}

#[test]
fn copula_keeps_moments_and_correlation_of_known_distributions() {
    let mut rng = stream(1, 0);
    let n = 20_000;
    let normal = Normal::new(3.0, 2.0).unwrap();
    let a: Vec<f64> = (0..n).map(|_| normal.sample(&mut rng)).collect();
    let b: Vec<f64> =
        a.iter().map(|x| 0.8 * x + 0.6 * 2.0 * Normal::new(0.0, 1.0).unwrap().sample(&mut rng)).collect();
    let exp: Vec<f64> = (0..n).map(|_| -rng.random::<f64>().ln()).collect();
    let table = Table::new(vec![
        Column::numbers("a", NumberKind::Float, a.iter().copied().map(Some).collect()),
        Column::numbers("b", NumberKind::Float, b.iter().copied().map(Some).collect()),
        Column::numbers("e", NumberKind::Float, exp.iter().copied().map(Some).collect()),
    ])
    .unwrap();
    let model = fit(Method::Copula, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let sample = model.sample(n, &Condition::default(), 3).unwrap();
    let sa: Vec<f64> = numbers(&sample.table, "a").into_iter().flatten().collect();
    let sb: Vec<f64> = numbers(&sample.table, "b").into_iter().flatten().collect();
    let se: Vec<f64> = numbers(&sample.table, "e").into_iter().flatten().collect();
    assert!((mean(&sa) - 3.0).abs() < 0.1, "{}", mean(&sa));
    let sd = (sa.iter().map(|x| (x - mean(&sa)).powi(2)).sum::<f64>() / n as f64).sqrt();
    assert!((sd - 2.0).abs() < 0.1, "{sd}");
    assert!((correlation(&sa, &sb) - correlation(&a, &b)).abs() < 0.03);
    assert!(correlation(&sa, &se).abs() < 0.05);
    // The exponential margin: median ln 2, 90th percentile ln 10.
    let mut sorted = se.clone();
    sorted.sort_by(f64::total_cmp);
    assert!((sorted[n / 2] - 2f64.ln()).abs() < 0.05);
    assert!((sorted[n * 9 / 10] - 10f64.ln()).abs() < 0.1);
}

#[test]
fn conditions_and_constraints_hold_on_every_row() {
    let table = weather();
    let mut constraints = Constraints::default();
    constraints.columns.insert(
        "temperature".into(),
        ColumnConstraint { min: Some((0.0, false)), max: Some((30.0, true)), ..Default::default() },
    );
    constraints.columns.insert(
        "weather".into(),
        ColumnConstraint {
            allowed: Some(vec!["sun".into(), "rain".into()]),
            required: true,
            ..Default::default()
        },
    );
    for method in [Method::Copula, Method::Bootstrap, Method::SmoothedBootstrap, Method::Smote] {
        let model = fit(method, &table, &constraints, &FitOptions::default()).unwrap();
        let condition = Condition::parse("wind >= 20 and wind < 30 and weather in ('rain', 'snow')").unwrap();
        let sample = model.sample(3000, &condition, 11).unwrap();
        assert_eq!(sample.table.rows(), 3000);
        for (t, (w, k)) in numbers(&sample.table, "temperature")
            .iter()
            .zip(numbers(&sample.table, "wind").iter().zip(texts(&sample.table, "weather")))
        {
            if let Some(t) = t {
                assert!(*t > 0.0 && *t <= 30.0, "{method:?}: temperature {t}");
            }
            let w = w.expect("a conditioned column is never null");
            assert!((20.0..30.0).contains(&w) && w.fract() == 0.0, "{method:?}: wind {w}");
            assert_eq!(k.as_deref(), Some("rain"), "{method:?}");
        }
    }
}

#[test]
fn same_seed_same_rows_whatever_the_threads_and_after_a_save() {
    let table = weather();
    let model = fit(Method::Copula, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let condition = Condition::parse("temperature >= 20").unwrap();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let four = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
    let a = one.install(|| model.sample(5000, &condition, 99).unwrap().table);
    let b = four.install(|| model.sample(5000, &condition, 99).unwrap().table);
    for (x, y) in a.columns.iter().zip(&b.columns) {
        let differ = (0..x.len()).filter(|&r| x.text(r) != y.text(r)).count();
        assert_eq!(differ, 0, "{}: {differ} rows differ", x.name);
    }
    let reloaded = Model::from_json(&model.to_json()).unwrap();
    assert_eq!(reloaded.sample(5000, &condition, 99).unwrap().table, a);
    assert_ne!(model.sample(5000, &condition, 100).unwrap().table, a);
}

#[test]
fn stratified_bootstrap_balances_classes_and_bootstrap_refuses_what_it_cannot_give() {
    let table = weather();
    let options = FitOptions { class: Some("weather".into()), ..Default::default() };
    let model = fit(Method::StratifiedBootstrap, &table, &Constraints::default(), &options).unwrap();
    let sample = model.sample(300, &Condition::default(), 5).unwrap();
    let weather = texts(&sample.table, "weather");
    for kind in ["sun", "rain", "snow"] {
        assert_eq!(weather.iter().filter(|w| w.as_deref() == Some(kind)).count(), 100);
    }
    let model = fit(Method::Bootstrap, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let error = model.sample(10, &Condition::parse("temperature > 100").unwrap(), 5).unwrap_err();
    assert!(matches!(error, GenError::Impossible(_)), "{error}");
    // The copula reaches past the data through its fitted upper tail ...
    let model = fit(Method::Copula, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let hot = model.sample(10, &Condition::parse("temperature > 100").unwrap(), 5).unwrap();
    assert!(numbers(&hot.table, "temperature").iter().all(|t| t.unwrap() > 100.0));
    // ... but not below zero for a column that never goes there, and it says why.
    let error = model.sample(10, &Condition::parse("wind < -5").unwrap(), 5).unwrap_err().to_string();
    assert!(error.contains("wind") && error.contains("range"), "{error}");
    let error = model.sample(10, &Condition::parse("weather = 'hail'").unwrap(), 5).unwrap_err().to_string();
    assert!(error.contains("weather"), "{error}");
    let error = model.sample(10, &Condition::parse("pressure > 3").unwrap(), 5).unwrap_err().to_string();
    assert!(error.contains("unknown column pressure"), "{error}");
}

#[test]
fn degenerate_columns_and_single_rows_still_generate() {
    let table = Table::new(vec![
        Column::numbers("constant", NumberKind::Integer, vec![Some(5.0); 4]),
        Column::numbers("empty", NumberKind::Float, vec![None; 4]),
        Column::labels("kind", &[Some("a"), Some("a"), Some("a"), Some("b")]),
    ])
    .unwrap();
    let model = fit(Method::Copula, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let sample = model.sample(100, &Condition::parse("kind = 'b'").unwrap(), 1).unwrap();
    assert!(numbers(&sample.table, "constant").iter().all(|v| *v == Some(5.0)));
    assert!(numbers(&sample.table, "empty").iter().all(Option::is_none));
    let model = fit(Method::Bootstrap, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let sample = model.sample(10, &Condition::parse("kind = 'b'").unwrap(), 1).unwrap();
    assert_eq!(sample.warnings.len(), 1, "one real row: a warning");
    let mut constraints = Constraints::default();
    constraints.columns.insert("empty".into(), ColumnConstraint { required: true, ..Default::default() });
    let model = fit(Method::Copula, &table, &constraints, &FitOptions::default()).unwrap();
    assert!(matches!(model.sample(10, &Condition::default(), 1), Err(GenError::Impossible(_))));
}

#[test]
fn arrow_round_trip_keeps_types() {
    let table = weather();
    let batch = table.to_batch().unwrap();
    let back = Table::from_batches(&[batch]).unwrap();
    assert_eq!(back.columns[0].role, Role::Id);
    assert_eq!(back.columns[1].role, Role::Categorical);
    assert_eq!(back.columns[3].values, table.columns[3].values);
    assert_eq!(texts(&back, "weather"), texts(&table, "weather"));
}

#[test]
fn smote_interpolates_inside_the_rare_class() {
    let table = weather();
    let model = fit(Method::Smote, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let sample = model.sample(300, &Condition::parse("weather = 'rain'").unwrap(), 4).unwrap();
    let rain: Vec<usize> =
        (0..table.rows()).filter(|&r| texts(&table, "weather")[r].as_deref() == Some("rain")).collect();
    let real = numbers(&table, "temperature");
    let (lo, hi) =
        rain.iter().map(|&r| real[r].unwrap()).fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    for t in numbers(&sample.table, "temperature").into_iter().flatten() {
        assert!((lo..=hi).contains(&t), "{t} outside the rain rows' range [{lo}, {hi}]");
    }
    assert!(texts(&sample.table, "weather").iter().all(|w| w.as_deref() == Some("rain")));
    assert!(matches!(
        model.sample(5, &Condition::parse("weather = 'hail'").unwrap(), 4),
        Err(GenError::Impossible(_))
    ));
}

#[test]
fn evaluation_scores_fidelity_correlation_and_copies() {
    let table = weather();
    let model = fit(Method::Copula, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let sample = model.sample(5000, &Condition::default(), 8).unwrap();
    let report = eval::evaluate(&table, &sample.table);
    assert_eq!(report.columns.len(), 3, "the id column is not scored");
    assert!(report.fidelity > 0.9, "{report:?}");
    assert!(report.correlation_similarity.unwrap() > 0.95, "{report:?}");
    assert!(report.exact_copy_share < 0.01, "{report:?}");
    // A bootstrap copies: every row is a real one.
    let model = fit(Method::Bootstrap, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let copies = eval::evaluate(&table, &model.sample(500, &Condition::default(), 8).unwrap().table);
    assert_eq!(copies.exact_copy_share, 1.0);
    // Against itself everything is perfect; against a shifted column the KS complement drops.
    let same = eval::evaluate(&table, &table);
    assert!(same.columns.iter().all(|c| (c.score - 1.0).abs() < 1e-12));
    let mut shifted = table.clone();
    if let Values::Numbers { values, .. } = &mut shifted.columns[2].values {
        values.iter_mut().flatten().for_each(|v| *v += 100.0);
    }
    assert!(eval::evaluate(&table, &shifted).columns[1].score < 0.01);
}

#[test]
fn labels_are_ordered_by_the_numbers_they_explain() {
    // 20 groups whose means are unrelated to their frequencies; group g7 is rare and extreme.
    let mut rng = stream(3, 0);
    let means: Vec<f64> = (0..20).map(|g| ((g * 37) % 20) as f64 * 10.0).collect();
    let (mut groups, mut values) = (Vec::new(), Vec::new());
    for i in 0..4000 {
        let g = if i < 20 { 7 } else { (i * 13) % 20 };
        let g = if g == 7 && i >= 20 { 8 } else { g };
        groups.push(Some(format!("g{g}")));
        values.push(Some(means[g] + Normal::new(0.0, 3.0).unwrap().sample(&mut rng)));
    }
    let table = Table::new(vec![
        Column::labels("group", &groups),
        Column::numbers("value", NumberKind::Float, values),
    ])
    .unwrap();
    let model = fit(Method::Copula, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let sample = model.sample(2000, &Condition::parse("group = 'g7'").unwrap(), 1).unwrap();
    let v: Vec<f64> = numbers(&sample.table, "value").into_iter().flatten().collect();
    assert!((mean(&v) - means[7]).abs() < 25.0, "g7 mean {} (real {})", mean(&v), means[7]);
}

fn standard_normal_table(n: usize, seed: u64) -> Table {
    let mut rng = stream(seed, 0);
    let x: Vec<Option<f64>> = (0..n).map(|_| Some(StandardNormalDraw.draw(&mut rng))).collect();
    Table::new(vec![Column::numbers("x", NumberKind::Float, x)]).unwrap()
}

struct StandardNormalDraw;

impl StandardNormalDraw {
    fn draw(&self, rng: &mut rand::rngs::Xoshiro256PlusPlus) -> f64 {
        rand_distr::StandardNormal.sample(rng)
    }
}

fn variance(values: &[f64]) -> f64 {
    let m = mean(values);
    values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64
}

#[test]
fn mcmc_samplers_match_the_kernel_density_and_stay_in_the_region() {
    // The kernel density of N(0, 1) rows with bandwidth h is about N(0, 1 + h²).
    let table = standard_normal_table(3000, 7);
    for method in [Method::Mh, Method::Mala, Method::Ula] {
        let model = fit(method, &table, &Constraints::default(), &FitOptions::default()).unwrap();
        let sample = model.sample(4000, &Condition::default(), 11).unwrap();
        let x: Vec<f64> = numbers(&sample.table, "x").into_iter().flatten().collect();
        let diagnostics = sample.mcmc.expect("chains report");
        let h = diagnostics.bandwidth;
        assert!(mean(&x).abs() < 0.12, "{method:?}: mean {}", mean(&x));
        let expected = 1.0 + h * h;
        // Unadjusted Langevin is biased by its step: a looser bound.
        let tolerance = if method == Method::Ula { 0.3 } else { 0.15 };
        assert!(
            (variance(&x) - expected).abs() < tolerance * expected,
            "{method:?}: variance {}",
            variance(&x)
        );
        assert!(diagnostics.max_r_hat.unwrap() < 1.1, "{method:?}: {diagnostics:?}");
        assert!(diagnostics.min_ess.unwrap() > 100.0, "{method:?}: {diagnostics:?}");
        if method != Method::Ula {
            assert!((0.1..0.9).contains(&diagnostics.acceptance_rate), "{method:?}: {diagnostics:?}");
        }
        // Inside a tail region, and past the largest observed value (an extrapolation).
        let max = numbers(&table, "x").into_iter().flatten().fold(f64::MIN, f64::max);
        let condition = Condition::parse(&format!("x >= {}", max + 0.2)).unwrap();
        let tail = model.sample(500, &condition, 3).unwrap();
        let x: Vec<f64> = numbers(&tail.table, "x").into_iter().flatten().collect();
        assert_eq!(x.len(), 500);
        assert!(x.iter().all(|v| *v >= max + 0.2), "{method:?}");
        assert!(tail.warnings.iter().any(|w| w.contains("extrapolation")), "{:?}", tail.warnings);
        // Reproducible.
        let again = model.sample(500, &condition, 3).unwrap();
        assert_eq!(numbers(&again.table, "x"), numbers(&tail.table, "x"));
    }
}

#[test]
fn mcmc_conditions_on_a_rare_label_and_keeps_its_shape() {
    let table = weather();
    let model = fit(Method::Mala, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let sample = model.sample(600, &Condition::parse("weather = 'snow'").unwrap(), 5).unwrap();
    assert!(texts(&sample.table, "weather").iter().all(|w| w.as_deref() == Some("snow")));
    let t: Vec<f64> = numbers(&sample.table, "temperature").into_iter().flatten().collect();
    // Three snow rows around −5 °C; a little mass borrowed from the others.
    assert!(mean(&t) < 5.0, "mean temperature of snow {}", mean(&t));
    let ids = texts(&sample.table, "id");
    assert!(ids.iter().all(|i| i.as_deref().is_some_and(|i| i.starts_with("syn-"))));
}

#[test]
fn tilting_estimates_a_tail_probability_with_less_variance() {
    let table = standard_normal_table(20_000, 9);
    let model = fit(Method::Tilt, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let sample = model.sample(20_000, &Condition::parse("x >= 2.5").unwrap(), 1).unwrap();
    let report = sample.tilt.expect("a tilt report");
    let weights = sample.weights.expect("weights");
    assert_eq!(weights.len(), 20_000);
    // The empirical margin's tail share.
    let real = numbers(&table, "x").into_iter().flatten().filter(|v| *v >= 2.5).count() as f64 / 20_000.0;
    assert!((report.probability - real).abs() < 4.0 * report.standard_error + 1e-4, "{report:?} vs {real}");
    assert!(report.rows_in_region_share > 0.3, "{report:?}");
    assert!(report.variance_reduction > 10.0, "{report:?}");
    assert!(report.effective_sample_size > 1000.0, "{report:?}");
}

fn ou_series(n: usize, a: f64, mu: f64, s: f64, seed: u64) -> Table {
    let mut rng = stream(seed, 0);
    let mut x = mu;
    let values: Vec<Option<f64>> = (0..n)
        .map(|_| {
            x = mu + a * (x - mu) + s * StandardNormalDraw.draw(&mut rng);
            Some(x)
        })
        .collect();
    let time: Vec<Option<f64>> = (0..n).map(|t| Some(t as f64 * 86_400_000_000.0)).collect();
    Table::new(vec![
        Column::numbers("day", NumberKind::Timestamp, time),
        Column::numbers("level", NumberKind::Float, values),
    ])
    .unwrap()
}

#[test]
fn sde_fits_recover_parameters_and_girsanov_keeps_estimates_unbiased() {
    use series::{Event, Series, SeriesMethod, SeriesModel};
    let table = ou_series(20_000, 0.8, 10.0, 1.0, 4);
    let series = Series::from_table(&table, &["level".into()], Some("day"), None).unwrap();
    let model = SeriesModel::fit(SeriesMethod::Ou, series.clone(), None, None).unwrap();
    let p = |name: &str| model.parameters.iter().find(|(n, _)| n == name).unwrap().1;
    assert!((p("mu") - 10.0).abs() < 0.1, "{:?}", model.parameters);
    assert!((p("kappa") - (-(0.8f64).ln())).abs() < 0.03, "{:?}", model.parameters);
    // A level about 3.3 stationary standard deviations up, within 50 steps: rare.
    let event = Event { level: 15.5, above: true };
    let paths = model.paths(4000, Some(50), Some(event), 8).unwrap();
    let report = paths.report.unwrap();
    assert!(report.paths_reaching_share > 0.3, "{report:?}");
    assert!(report.variance_reduction > 5.0, "{report:?}");
    // Plain Monte Carlo with many more paths agrees with the likelihood-ratio estimate.
    let plain = model.paths(40_000, Some(50), None, 9).unwrap();
    let level = numbers(&plain.table, "level");
    let hits = level.chunks(50).filter(|p| p.iter().any(|v| v.unwrap() >= 15.5)).count() as f64 / 40_000.0;
    let se = (hits * (1.0 - hits) / 40_000.0).sqrt();
    assert!(
        (report.probability - hits).abs() < 4.0 * (report.standard_error.powi(2) + se * se).sqrt(),
        "{report:?} vs plain {hits}"
    );
    assert_eq!(paths.table.rows(), 4000 * 50);
    assert!((report.mean_likelihood_ratio - 1.0).abs() < 0.2, "{report:?}");
    // The time column continues the real one's step.
    let days = numbers(&paths.table, "day");
    assert_eq!(days[1].unwrap() - days[0].unwrap(), 86_400_000_000.0);

    // AR(2) recovers its coefficients.
    let mut rng = stream(12, 0);
    let (mut x1, mut x2) = (0.0, 0.0);
    let values: Vec<Option<f64>> = (0..20_000)
        .map(|_| {
            let x = 0.5 * x1 - 0.3 * x2 + StandardNormalDraw.draw(&mut rng);
            (x2, x1) = (x1, x);
            Some(x + 3.0)
        })
        .collect();
    let table = Table::new(vec![Column::numbers("v", NumberKind::Float, values)]).unwrap();
    let series = Series::from_table(&table, &["v".into()], None, None).unwrap();
    let ar = SeriesModel::fit(SeriesMethod::Ar, series, None, None).unwrap();
    let p = |name: &str| ar.parameters.iter().find(|(n, _)| n == name).map_or(0.0, |p| p.1);
    assert!((p("phi1") - 0.5).abs() < 0.05 && (p("phi2") + 0.3).abs() < 0.05, "{:?}", ar.parameters);
}

#[test]
fn zero_inflated_series_keep_dry_spells_and_heavy_wet_tails() {
    use series::{Event, Series, SeriesMethod, SeriesModel, measures};
    // Wet/dry chain (p01 0.2, p11 0.6) with log-normal amounts.
    let mut rng = stream(21, 0);
    let mut wet = false;
    let rain: Vec<Option<f64>> = (0..30_000)
        .map(|_| {
            wet = rng.random::<f64>() < if wet { 0.6 } else { 0.2 };
            Some(if wet { (1.0 + 0.8 * StandardNormalDraw.draw(&mut rng)).exp() } else { 0.0 })
        })
        .collect();
    let table = Table::new(vec![Column::numbers("rain", NumberKind::Float, rain)]).unwrap();
    let series = Series::from_table(&table, &["rain".into()], None, None).unwrap();
    let real = measures(&[series.values(0)], None);
    let model = SeriesModel::fit(SeriesMethod::ZeroInflated, series, None, None).unwrap();
    let paths = model.paths(100, Some(300), None, 2).unwrap();
    let synthetic = measures(
        &[numbers(&paths.table, "rain").into_iter().flatten().collect()],
        Some((real.q90, real.q99)),
    );
    assert!((synthetic.zero_share - real.zero_share).abs() < 0.03, "{synthetic:?} vs {real:?}");
    assert!((synthetic.q99 / real.q99 - 1.0).abs() < 0.25, "{synthetic:?} vs {real:?}");
    assert!((synthetic.autocorrelation[0] - real.autocorrelation[0]).abs() < 0.1);
    // Tilting the amounts upward makes a two-q999 day common, weights keep it honest.
    let report = model
        .paths(2000, Some(30), Some(Event { level: 2.0 * real.q999, above: true }), 4)
        .unwrap()
        .report
        .unwrap();
    assert!(report.paths_reaching_share > 0.5 && report.variance_reduction > 3.0, "{report:?}");
    // Block bootstraps only give observed values and refuse a level.
    let series = Series::from_table(&table, &["rain".into()], None, None).unwrap();
    let observed: std::collections::HashSet<u64> = series.values(0).iter().map(|v| v.to_bits()).collect();
    for method in [SeriesMethod::MovingBlock, SeriesMethod::StationaryBlock] {
        let model = SeriesModel::fit(method, series.clone(), Some(10), None).unwrap();
        let paths = model.paths(20, Some(100), None, 1).unwrap();
        assert!(numbers(&paths.table, "rain").iter().all(|v| observed.contains(&v.unwrap().to_bits())));
        assert!(model.paths(2, None, Some(Event { level: 1.0, above: true }), 1).is_err());
    }
}

#[test]
fn transfer_entropy_finds_the_direction_of_influence() {
    use te::{Estimator, transfer_entropy};
    let mut rng = stream(33, 0);
    let x: Vec<f64> = (0..1500).map(|_| StandardNormalDraw.draw(&mut rng)).collect();
    let mut y = vec![0.0; 1500];
    for t in 1..1500 {
        y[t] = 0.3 * y[t - 1] + 0.8 * x[t - 1] + 0.3 * StandardNormalDraw.draw(&mut rng);
    }
    for estimator in [Estimator::Binned { bins: 4 }, Estimator::Knn { k: 4 }] {
        let forward = transfer_entropy(&x, &y, estimator, 1, 50, 1).unwrap();
        let backward = transfer_entropy(&y, &x, estimator, 1, 50, 1).unwrap();
        assert!(forward.p_value < 0.05, "{forward:?}");
        assert!(backward.p_value > 0.05, "{backward:?}");
        assert!(
            forward.transfer_entropy > 5.0 * backward.transfer_entropy.abs().max(0.01),
            "{forward:?} {backward:?}"
        );
    }
    assert!(transfer_entropy(&x[..5], &y[..5], Estimator::Binned { bins: 4 }, 1, 10, 1).is_err());
}

#[test]
fn privacy_utility_and_contingency_tell_copies_from_new_rows() {
    let table = weather();
    let (train_rows, holdout_rows) = eval::holdout_split(&table, 0.3, Some("weather"), 1);
    let (train, holdout) = (table.select(&train_rows), table.select(&holdout_rows));
    // The split keeps every class on both sides where it can.
    let snow = |t: &Table| texts(t, "weather").iter().filter(|w| w.as_deref() == Some("snow")).count();
    assert_eq!((snow(&train), snow(&holdout)), (2, 1));
    let copies = fit(Method::Bootstrap, &train, &Constraints::default(), &FitOptions::default())
        .unwrap()
        .sample(1000, &Condition::default(), 1)
        .unwrap()
        .table;
    let fresh = fit(Method::Copula, &train, &Constraints::default(), &FitOptions::default())
        .unwrap()
        .sample(1000, &Condition::default(), 1)
        .unwrap()
        .table;
    let copied = eval::privacy(&train, Some(&holdout), &copies);
    let new = eval::privacy(&train, Some(&holdout), &fresh);
    assert_eq!(copied.baseline, "holdout");
    assert!(copied.share_closer_than_baseline_median > 0.95, "{copied:?}");
    assert!(new.share_closer_than_baseline_median < 0.8, "{new:?}");
    assert!(eval::privacy(&train, None, &fresh).baseline == "leave-one-out");
    let contingency = eval::evaluate(&train, &fresh).contingency_similarity.unwrap();
    assert!(contingency > 0.8, "{contingency}");
    // Rare rows from the copula added to the real ones: the rare classes' recall does not drop.
    let rare = fit(Method::Copula, &train, &Constraints::default(), &FitOptions::default())
        .unwrap()
        .sample(300, &Condition::parse("weather in ('snow', 'rain')").unwrap(), 2)
        .unwrap()
        .table;
    let utility = utility::utility(&train, &holdout, &rare, "weather").unwrap();
    assert_eq!(utility.rare_classes, vec!["snow".to_owned()]);
    assert!(utility.synthetic_rows_added > 0);
    assert!(
        utility.real_plus_synthetic.rare_recall.unwrap() >= utility.real.rare_recall.unwrap(),
        "{utility:?}"
    );
    assert!(utility.real.macro_f1 > 0.5, "{utility:?}");
    // The page is self-contained.
    let page = report::html("weather", &serde_json::json!({"fidelity": 0.9}), &train, &fresh, &[]);
    assert!(page.contains("<svg") && page.contains("temperature — tail QQ") && !page.contains("<script"));
}

#[test]
fn order_constraints_hold_on_every_row() {
    let mut rng = stream(5, 0);
    let mut start = Vec::new();
    let mut end = Vec::new();
    for _ in 0..500 {
        let s: f64 = Normal::new(10.0, 3.0).unwrap().sample(&mut rng);
        start.push(Some(s.round()));
        // Noisy durations: some real rows break the order, as messy data does.
        end.push(Some((s + Normal::new(2.0, 2.0).unwrap().sample(&mut rng)).round()));
    }
    let table = Table::new(vec![
        Column::numbers("start", NumberKind::Integer, start),
        Column::numbers("end", NumberKind::Integer, end),
    ])
    .unwrap();
    let mut constraints = Constraints::default();
    constraints.order.push(Order { smaller: "start".into(), larger: "end".into(), strict: true });
    constraints
        .columns
        .insert("end".into(), ColumnConstraint { max: Some((20.0, true)), ..Default::default() });
    for method in [Method::Copula, Method::Mh, Method::Smote, Method::SmoothedBootstrap] {
        let model = fit(method, &table, &constraints, &FitOptions::default()).unwrap();
        let sample = model.sample(2000, &Condition::default(), 1).unwrap();
        let (s, e) = (numbers(&sample.table, "start"), numbers(&sample.table, "end"));
        assert!(s.iter().zip(&e).all(|(s, e)| s.unwrap() < e.unwrap()), "{method:?}");
        assert!(e.iter().all(|e| e.unwrap() <= 20.0), "{method:?}");
    }
    constraints.order[0].larger = "missing".into();
    assert!(fit(Method::Copula, &table, &constraints, &FitOptions::default()).is_err());
}

#[test]
fn copula_tails_extrapolate_like_the_data() {
    // Pareto data (ξ = 0.5): the fitted tail gives exceedances of the observed maximum at about
    // the rate the model implies, and a condition far past it still samples.
    let mut rng = stream(17, 0);
    let values: Vec<Option<f64>> = (0..5000).map(|_| Some((1.0 - rng.random::<f64>()).powf(-0.5))).collect();
    let max = values.iter().flatten().fold(0.0f64, |a, b| a.max(*b));
    let table = Table::new(vec![Column::numbers("loss", NumberKind::Float, values)]).unwrap();
    let model = fit(Method::Copula, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let sample = model.sample(200_000, &Condition::default(), 1).unwrap();
    let above = numbers(&sample.table, "loss").iter().filter(|v| v.unwrap() > max).count() as f64 / 200_000.0;
    // The true P(X > max of 5000) is about 1/5000.
    assert!(above > 0.2 / 5000.0 && above < 5.0 / 5000.0, "share above the maximum {above}");
    let far = model.sample(100, &Condition::parse(&format!("loss >= {}", 10.0 * max)).unwrap(), 2).unwrap();
    assert!(numbers(&far.table, "loss").iter().all(|v| v.unwrap() >= 10.0 * max));
    // The same tail's quantiles: q99.9 of the model near the true 1000^0.5 ≈ 31.6.
    let mut x: Vec<f64> = numbers(&sample.table, "loss").into_iter().flatten().collect();
    x.sort_by(f64::total_cmp);
    let q = x[(0.999 * x.len() as f64) as usize];
    assert!((q / 31.6 - 1.0).abs() < 0.3, "q99.9 {q}");
}

#[test]
fn copula_samples_a_rare_class_from_its_own_margins() {
    // Rain (97 rows, 12 °C ± 3) against sun (900 rows, 25 °C ± 3): a condition on rain gives
    // rain's temperatures, not the bulk's shifted.
    let table = weather();
    let model = fit(Method::Copula, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let sample = model.sample(4000, &Condition::parse("weather = 'rain'").unwrap(), 3).unwrap();
    assert!(texts(&sample.table, "weather").iter().all(|w| w.as_deref() == Some("rain")));
    let t: Vec<f64> = numbers(&sample.table, "temperature").into_iter().flatten().collect();
    let w: Vec<f64> = numbers(&sample.table, "wind").into_iter().flatten().collect();
    assert!((mean(&t) - 12.0).abs() < 1.0, "mean {}", mean(&t));
    assert!((variance(&t).sqrt() - 3.0).abs() < 0.8, "sd {}", variance(&t).sqrt());
    assert!(correlation(&t, &w) < -0.5, "the dependence stays: {}", correlation(&t, &w));
    // With a further condition the class's rows never reach, the global margins answer.
    let hot =
        model.sample(50, &Condition::parse("weather = 'rain' and temperature > 30").unwrap(), 3).unwrap();
    assert!(numbers(&hot.table, "temperature").iter().all(|t| t.unwrap() > 30.0));
    // The model with its class margins survives a save.
    let again = Model::from_json(&model.to_json()).unwrap();
    let sample2 = again.sample(4000, &Condition::parse("weather = 'rain'").unwrap(), 3).unwrap();
    assert_eq!(numbers(&sample2.table, "temperature"), numbers(&sample.table, "temperature"));
}
