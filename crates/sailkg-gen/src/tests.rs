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
    // The copula says why it cannot go past the data either.
    let model = fit(Method::Copula, &table, &Constraints::default(), &FitOptions::default()).unwrap();
    let error = model.sample(10, &Condition::parse("temperature > 100").unwrap(), 5).unwrap_err().to_string();
    assert!(error.contains("temperature") && error.contains("range"), "{error}");
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
