use super::*;
use rand_distr::{Distribution, Normal};
use sailkg_gen::{Column, ColumnConstraint, NumberKind};

/// Sun 450 rows around 25 °C, rain 45 around 12 °C, snow one row at −5 °C; wind falls with
/// temperature; a constant column and an all-null one.
fn weather() -> Table {
    let mut rng = sailkg_gen::stream(3, 0);
    let (mut kinds, mut t, mut wind) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..496 {
        let (kind, mean) = if i < 450 {
            ("sun", 25.0)
        } else if i < 495 {
            ("rain", 12.0)
        } else {
            ("snow", -5.0)
        };
        let v: f64 = Normal::new(mean, 3.0).unwrap().sample(&mut rng);
        kinds.push(Some(kind));
        t.push(Some(v));
        wind.push(Some((40.0 - v).round()));
    }
    Table::new(vec![
        Column::labels("weather", &kinds),
        Column::numbers("temperature", NumberKind::Float, t),
        Column::numbers("wind", NumberKind::Integer, wind),
        Column::numbers("station", NumberKind::Integer, vec![Some(7.0); 496]),
        Column::numbers("gauge", NumberKind::Float, vec![None; 496]),
    ])
    .unwrap()
}

fn options(epochs: usize) -> Options {
    Options { epochs, batch_size: 100, patience: 0, seed: 11, ..Options::default() }
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

#[test]
fn the_transform_encodes_and_finds_the_modes() {
    let table = weather();
    let transform = Transform::fit(&table, 1000, 1).unwrap();
    // temperature has two clear modes (sun, rain) at least.
    let Encoding::Numbers { modes, .. } = &transform.encodings[1] else { panic!() };
    assert!(modes.len() >= 2, "{modes:?}");
    let encoded = transform.encode(&table, 1);
    assert_eq!(encoded.len(), table.rows() * transform.width);
    // Every one-hot block of every row sums to one (the all-null gauge through its null slot).
    for r in 0..table.rows() {
        for span in transform.spans() {
            if let Span::Softmax { start, size, .. } = span {
                let sum: f32 =
                    encoded[r * transform.width + start..r * transform.width + start + size].iter().sum();
                assert_eq!(sum, 1.0, "row {r}, block at {start}");
            }
        }
    }
    assert!(Transform::fit(&table, 5, 1).unwrap_err().to_string().contains("over the limit"));
}

#[test]
fn tvae_shapes_training_and_constraints() {
    let table = weather();
    let device = Default::default();
    let transform = Transform::fit(&table, 1000, 1).unwrap();
    let config = Shape { width: transform.width, cond_width: 3, hidden: 16, latent: 8, steps: 0, pac: 0 };
    let network = new_network::<Cpu>(&config, &device, Some(1));
    let z = Tensor::<Cpu, 2>::zeros([5, 8], &device);
    let c = Tensor::<Cpu, 2>::zeros([5, 3], &device);
    assert_eq!(network.decode(z, c).dims(), [5, transform.width]);

    let mut losses = Vec::new();
    let model = fit(Kind::Tvae, &table, &at_most_30(), &options(60), &mut |p| losses.push(p.loss)).unwrap();
    assert_eq!(losses.len(), 60);
    assert_falls(&losses);
    respects_constraints_and_rare_classes(&model);
}

#[test]
fn save_load_sample_round_trip_and_determinism() {
    let table = weather();
    let model = fit(Kind::Tvae, &table, &Constraints::default(), &options(5), &mut |_| {}).unwrap();
    let again = fit(Kind::Tvae, &table, &Constraints::default(), &options(5), &mut |_| {}).unwrap();
    let a = model.sample(100, &Condition::default(), 1).unwrap();
    let b = again.sample(100, &Condition::default(), 1).unwrap();
    assert_eq!(numbers(&a.table, "temperature"), numbers(&b.table, "temperature"), "same seed, same model");
    let loaded = NeuralModel::from_json(&model.to_json()).unwrap();
    let c = loaded.sample(100, &Condition::default(), 1).unwrap();
    assert_eq!(numbers(&a.table, "temperature"), numbers(&c.table, "temperature"));
    let other = model.to_json().replace("\"format\":1", "\"format\":99");
    assert!(NeuralModel::from_json(&other).unwrap_err().to_string().contains("format 99"));
    assert!(fit(Kind::Tvae, &table.select(&[0]), &Constraints::default(), &options(1), &mut |_| {}).is_err());
}

#[test]
fn many_levels_share_a_slot_and_a_rest_level_is_still_reached() {
    // 150 levels: the 99 most frequent get slots, the rest share one.
    let labels: Vec<Option<String>> =
        (0..600).map(|i| Some(format!("l{}", if i < 300 { i % 10 } else { 10 + i % 140 }))).collect();
    let values: Vec<Option<f64>> = (0..600).map(|i| Some((i % 37) as f64)).collect();
    let table =
        Table::new(vec![Column::labels("code", &labels), Column::numbers("x", NumberKind::Float, values)])
            .unwrap();
    let transform = Transform::fit(&table, 1000, 1).unwrap();
    assert_eq!(transform.encodings[0].label_slots(), 100);
    let model = fit(Kind::Tvae, &table, &Constraints::default(), &options(3), &mut |_| {}).unwrap();
    let rare = model.sample(50, &Condition::parse("code = 'l149'").unwrap(), 1).unwrap();
    assert!(texts(&rare.table, "code").iter().all(|c| c.as_deref() == Some("l149")));
    let any = model.sample(500, &Condition::default(), 1).unwrap();
    let distinct: std::collections::HashSet<Option<String>> = texts(&any.table, "code").into_iter().collect();
    assert!(distinct.len() > 100, "the rest's levels come back: {}", distinct.len());
}

#[test]
fn lora_fine_tunes_a_rare_class_and_leaves_the_base_frozen() {
    let table = weather();
    let base = fit(Kind::Tvae, &table, &Constraints::default(), &options(30), &mut |_| {}).unwrap();
    let rain = Condition::parse("weather = 'rain'").unwrap();
    let (lora, report) = fine_tune(&base, &table, &rain, Some(4), 30, 5).unwrap();
    let (full, full_report) = fine_tune(&base, &table, &rain, None, 30, 5).unwrap();
    assert_eq!(report.rows, 45);
    assert!(report.trainable_parameters * 5 < full_report.trainable_parameters, "{report:?} {full_report:?}");
    assert!(report.last_loss < report.first_loss && full_report.last_loss < full_report.first_loss);
    // The encoder stays as it was; the decoder moves by a rank-4 update.
    let device = Default::default();
    let (before, after) =
        (base.load_network::<Cpu>(&device).unwrap(), lora.load_network::<Cpu>(&device).unwrap());
    let weights = |t: Tensor<Cpu, 2>| t.into_data().to_vec::<f32>().unwrap();
    assert_eq!(weights(before.enc1.weight.val()), weights(after.enc1.weight.val()));
    assert_ne!(weights(before.dec1.weight.val()), weights(after.dec1.weight.val()));
    // Both tuned models sample rain as rain looks.
    for model in [&lora, &full] {
        let sample = model.sample(300, &rain, 1).unwrap();
        let t: Vec<f64> = numbers(&sample.table, "temperature").into_iter().flatten().collect();
        let mean = t.iter().sum::<f64>() / t.len() as f64;
        assert!(mean < 20.0, "mean {mean}");
    }
    assert!(fine_tune(&base, &table, &Condition::parse("weather = 'hail'").unwrap(), Some(4), 1, 1).is_err());
}

#[test]
fn a_resumed_training_continues_exactly_and_foreign_checkpoints_are_refused() {
    let table = weather();
    let dir = std::env::temp_dir().join(format!("sailkg-neural-checkpoint-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let straight = fit(Kind::Tvae, &table, &Constraints::default(), &options(12), &mut |_| {}).unwrap();
    let first = Options { checkpoint: Some(dir.clone()), checkpoint_every: 3, ..options(6) };
    fit(Kind::Tvae, &table, &Constraints::default(), &first, &mut |_| {}).unwrap();
    assert!(
        dir.join("config.json").exists()
            && dir.join("weights.bin").exists()
            && dir.join("optimizer.bin").exists()
    );
    let mut epochs = Vec::new();
    let resumed = Options { checkpoint: Some(dir.clone()), resume: true, ..options(12) };
    let model =
        fit(Kind::Tvae, &table, &Constraints::default(), &resumed, &mut |p| epochs.push(p.epoch)).unwrap();
    assert_eq!(epochs, (7..=12).collect::<Vec<_>>(), "it continues after epoch 6");
    let (a, b) = (
        straight.sample(200, &Condition::default(), 1).unwrap(),
        model.sample(200, &Condition::default(), 1).unwrap(),
    );
    assert_eq!(
        numbers(&a.table, "temperature"),
        numbers(&b.table, "temperature"),
        "6 + 6 epochs = 12 epochs"
    );
    // Another seed, or a checkpoint of another version, is refused with a reason.
    let other = Options { seed: 12, ..resumed.clone() };
    assert!(
        fit(Kind::Tvae, &table, &Constraints::default(), &other, &mut |_| {})
            .unwrap_err()
            .to_string()
            .contains("seed")
    );
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    std::fs::write(dir.join("config.json"), config.replace("\"format\": 1", "\"format\": 7")).unwrap();
    let error =
        fit(Kind::Tvae, &table, &Constraints::default(), &resumed, &mut |_| {}).unwrap_err().to_string();
    assert!(error.contains("another model or version"), "{error}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Every loss finite, and the last five epochs' mean below the first five's.
fn assert_falls(losses: &[f64]) {
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    let early: f64 = losses[..5].iter().sum::<f64>() / 5.0;
    let late: f64 = losses[losses.len() - 5..].iter().sum::<f64>() / 5.0;
    assert!(late < early, "the loss falls: {early} → {late}");
}

fn fidelity(real: &Table, model: &NeuralModel) -> f64 {
    sailkg_gen::eval::evaluate(real, &model.sample(500, &Condition::default(), 9).unwrap().table).fidelity
}

/// Every row inside `temperature <= 30` and the rare classes — even the one-row class —
/// sampled directly; rain keeps its temperatures.
fn respects_constraints_and_rare_classes(model: &NeuralModel) {
    let sample = model.sample(500, &Condition::default(), 2).unwrap();
    let t: Vec<f64> = numbers(&sample.table, "temperature").into_iter().flatten().collect();
    assert!(t.iter().all(|v| *v <= 30.0), "the constraint holds on every row");
    assert!(numbers(&sample.table, "station").iter().all(|v| *v == Some(7.0)), "a constant stays constant");
    assert!(numbers(&sample.table, "gauge").iter().all(Option::is_none), "an all-null column stays null");
    for class in ["rain", "snow"] {
        let rare = model.sample(200, &Condition::parse(&format!("weather = '{class}'")).unwrap(), 3).unwrap();
        assert!(texts(&rare.table, "weather").iter().all(|w| w.as_deref() == Some(class)));
    }
    let rain = model.sample(400, &Condition::parse("weather = 'rain'").unwrap(), 3).unwrap();
    let t: Vec<f64> = numbers(&rain.table, "temperature").into_iter().flatten().collect();
    let mean = t.iter().sum::<f64>() / t.len() as f64;
    assert!(mean < 20.0, "{}: rain keeps its temperatures: mean {mean}", model.method.name());
    let cold = model.sample(100, &Condition::parse("temperature < 5").unwrap(), 4).unwrap();
    assert!(numbers(&cold.table, "temperature").iter().all(|v| v.unwrap() < 5.0));
}

fn at_most_30() -> Constraints {
    let mut constraints = Constraints::default();
    constraints
        .columns
        .insert("temperature".into(), ColumnConstraint { max: Some((30.0, true)), ..Default::default() });
    constraints
}

#[test]
fn ctgan_shapes_training_and_constraints() {
    let table = weather();
    let device = Default::default();
    let shape = Shape { width: 12, cond_width: 3, hidden: 16, latent: 8, steps: 0, pac: 10 };
    let generator = ctgan::generator::<Cpu>(&shape, &device, Some(1));
    let out = generator.forward(Tensor::zeros([20, 8], &device), Tensor::zeros([20, 3], &device));
    assert_eq!(out.dims(), [20, 12]);

    let mut losses = Vec::new();
    let untrained = fit(Kind::Ctgan, &table, &at_most_30(), &options(1), &mut |_| {}).unwrap();
    let model = fit(Kind::Ctgan, &table, &at_most_30(), &options(150), &mut |p| losses.push(p.loss)).unwrap();
    assert_eq!(losses.len(), 150, "a GAN never stops early");
    assert!(losses.iter().all(|l| l.is_finite()));
    // The conditional cross-entropy dominates the generator's loss early and falls.
    let early: f64 = losses[..5].iter().sum::<f64>() / 5.0;
    let late: f64 = losses[145..].iter().sum::<f64>() / 5.0;
    assert!(late < early, "the generator's loss falls: {early} → {late}");
    let (before, after) = (fidelity(&table, &untrained), fidelity(&table, &model));
    assert!(after > before + 0.03, "training improves fidelity: {before} → {after}");
    respects_constraints_and_rare_classes(&model);
    let loaded = NeuralModel::from_json(&model.to_json()).unwrap();
    assert_eq!(
        numbers(&model.sample(50, &Condition::default(), 1).unwrap().table, "temperature"),
        numbers(&loaded.sample(50, &Condition::default(), 1).unwrap().table, "temperature")
    );
}

#[test]
fn diffusion_shapes_training_guidance_and_constraints() {
    let table = weather();
    let device = Default::default();
    let shape = Shape { width: 12, cond_width: 3, hidden: 16, latent: 8, steps: 20, pac: 0 };
    let network = diffusion::denoiser::<Cpu>(&shape, &device, Some(1));
    let out = network.forward(
        Tensor::zeros([7, 12], &device),
        Tensor::zeros([7, 3], &device),
        Tensor::zeros([7, 8], &device),
    );
    assert_eq!(out.dims(), [7, 12]);
    let (alpha_bar, alpha) = diffusion::schedule(100);
    assert_eq!(alpha_bar[0], 1.0);
    assert!(alpha_bar.windows(2).all(|w| w[1] < w[0]) && alpha_bar[100] < 1e-3 && alpha[1] > 0.99);

    let mut losses = Vec::new();
    let model =
        fit(Kind::Diffusion, &table, &at_most_30(), &options(150), &mut |p| losses.push(p.loss)).unwrap();
    assert_falls(&losses);
    assert!(fidelity(&table, &model) > 0.85, "fidelity {}", fidelity(&table, &model));
    respects_constraints_and_rare_classes(&model);
    // Without guidance the condition still holds (labels are masked), with it the class looks more
    // like itself.
    let unguided =
        NeuralModel { options: Options { guidance: 0.0, ..model.options.clone() }, ..model.clone() };
    let rain = Condition::parse("weather = 'rain'").unwrap();
    let sample = unguided.sample(200, &rain, 3).unwrap();
    assert!(texts(&sample.table, "weather").iter().all(|w| w.as_deref() == Some("rain")));
    let loaded = NeuralModel::from_json(&model.to_json()).unwrap();
    assert_eq!(
        numbers(&model.sample(50, &rain, 1).unwrap().table, "temperature"),
        numbers(&loaded.sample(50, &rain, 1).unwrap().table, "temperature")
    );
    // A TVAE-only operation refuses the other families.
    assert!(fine_tune(&model, &table, &rain, Some(4), 1, 1).unwrap_err().to_string().contains("TVAE"));
}

#[test]
fn a_gan_resumes_exactly_with_both_optimizers() {
    let table = weather();
    let dir = std::env::temp_dir().join(format!("sailkg-neural-gan-checkpoint-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let straight = fit(Kind::Ctgan, &table, &Constraints::default(), &options(6), &mut |_| {}).unwrap();
    let first = Options { checkpoint: Some(dir.clone()), ..options(3) };
    fit(Kind::Ctgan, &table, &Constraints::default(), &first, &mut |_| {}).unwrap();
    assert!(dir.join("critic-optimizer.bin").exists());
    let resumed = Options { checkpoint: Some(dir.clone()), resume: true, ..options(6) };
    let model = fit(Kind::Ctgan, &table, &Constraints::default(), &resumed, &mut |_| {}).unwrap();
    assert_eq!(
        numbers(&straight.sample(100, &Condition::default(), 1).unwrap().table, "temperature"),
        numbers(&model.sample(100, &Condition::default(), 1).unwrap().table, "temperature"),
        "3 + 3 epochs = 6 epochs"
    );
    // A TVAE cannot resume a GAN's checkpoint.
    let error =
        fit(Kind::Tvae, &table, &Constraints::default(), &resumed, &mut |_| {}).unwrap_err().to_string();
    assert!(error.contains("another model or version"), "{error}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_transformer_learns_series_and_text() {
    use transformer::{SequenceModel, SequenceOptions, fit_series, fit_text, text_measures};
    // Two series: dry spells (zeros) broken by rain bursts that decay.
    let mut rng = sailkg_gen::stream(5, 0);
    let groups: Vec<Vec<f64>> = (0..2)
        .map(|_| {
            let mut v = Vec::new();
            let mut level: f64 = 0.0;
            for _ in 0..400 {
                level = if level > 0.5 {
                    level * 0.6
                } else if rng.random::<f64>() < 0.1 {
                    20.0
                } else {
                    0.0
                };
                v.push(if level > 0.5 { level.round() } else { 0.0 });
            }
            v
        })
        .collect();
    let options = SequenceOptions { epochs: 25, seed: 3, patience: 0, ..Default::default() };
    let mut losses = Vec::new();
    let model = fit_series("rain", &groups, true, &options, &mut |p| losses.push(p.loss)).unwrap();
    assert!(losses.last().unwrap() < losses.first().unwrap(), "the loss falls: {losses:?}");
    let paths = model.paths(20, 100, 1).unwrap();
    assert_eq!(paths.len(), 20);
    assert!(paths.iter().all(|p| p.len() == 100));
    let values: Vec<f64> = paths.concat();
    assert!(values.iter().all(|v| (0.0..=20.0).contains(v) && v.fract() == 0.0), "inside the data, integers");
    let zeros = values.iter().filter(|v| **v == 0.0).count() as f64 / values.len() as f64;
    let real_zeros = groups.concat().iter().filter(|v| **v == 0.0).count() as f64 / 800.0;
    assert!((zeros - real_zeros).abs() < 0.15, "zero share {zeros} vs {real_zeros}");
    // After a 20 comes a 12 most of the time (the decay), which needs the previous value.
    let (mut after, mut twelve) = (0, 0);
    for p in &paths {
        for w in p.windows(2) {
            if w[0] == 20.0 {
                after += 1;
                twelve += usize::from(w[1] == 12.0);
            }
        }
    }
    assert!(after > 0 && twelve * 2 > after, "{twelve} of {after} bursts decay to 12");
    let loaded = SequenceModel::from_json(&model.to_json()).unwrap();
    assert_eq!(loaded.paths(5, 30, 2).unwrap(), model.paths(5, 30, 2).unwrap(), "save → load → same paths");
    // 4 + 4 epochs from a checkpoint give the model of 8.
    let dir = std::env::temp_dir().join(format!("sailkg-transformer-checkpoint-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let eight = SequenceOptions { epochs: 8, ..options.clone() };
    let straight = fit_series("rain", &groups, true, &eight, &mut |_| {}).unwrap();
    let first = SequenceOptions { epochs: 4, checkpoint: Some(dir.clone()), ..options.clone() };
    fit_series("rain", &groups, true, &first, &mut |_| {}).unwrap();
    let resumed = SequenceOptions { checkpoint: Some(dir.clone()), resume: true, ..eight.clone() };
    let mut epochs = Vec::new();
    let model8 = fit_series("rain", &groups, true, &resumed, &mut |p| epochs.push(p.epoch)).unwrap();
    assert_eq!(epochs, vec![5, 6, 7, 8]);
    assert_eq!(model8.paths(3, 20, 1).unwrap(), straight.paths(3, 20, 1).unwrap());
    let other = SequenceOptions { seed: 99, ..resumed };
    assert!(fit_series("rain", &groups, true, &other, &mut |_| {}).unwrap_err().to_string().contains("seed"));
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(model.paths(5, 30, 2).unwrap(), model.paths(5, 30, 2).unwrap());

    // Text after its class: quiet names are lower-case words, loud ones upper-case with a bang.
    let names: Vec<(String, &str)> = (0..300)
        .map(|i| {
            let word = ["river", "cloud", "stone", "maple", "ember"][i % 5];
            if i % 10 == 0 {
                (format!("{}!", word.to_uppercase()), "loud")
            } else {
                (format!("{word} {}", i % 7), "quiet")
            }
        })
        .collect();
    let table = Table::new(vec![
        Column::labels("name", &names.iter().map(|(n, _)| Some(n.as_str())).collect::<Vec<_>>()),
        Column::labels("kind", &names.iter().map(|(_, k)| Some(*k)).collect::<Vec<_>>()),
    ])
    .unwrap();
    let options = SequenceOptions { epochs: 40, top_k: 5, temperature: 0.8, ..options };
    let model = fit_text(&table, "name", Some("kind"), &options, &mut |_| {}).unwrap();
    let loud = model.texts(50, Some(&["loud".to_owned()]), 1).unwrap();
    assert!(loud.iter().all(|(k, _)| k.as_deref() == Some("loud")));
    let shouted =
        loud.iter().filter(|(_, t)| t.ends_with('!') && t.chars().all(|c| !c.is_lowercase())).count();
    assert!(shouted >= 40, "{shouted} of 50 loud names look loud: {loud:?}");
    let real: Vec<String> = names.iter().filter(|(_, k)| *k == "loud").map(|(n, _)| n.clone()).collect();
    let measures = text_measures(&real, &loud.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>());
    assert!(measures.character_similarity > 0.8, "{measures:?}");
    assert!(model.texts(5, Some(&["silent".to_owned()]), 1).is_err(), "an unknown class is refused");
    assert!(fit_text(&table, "nothing", None, &options, &mut |_| {}).is_err());
    assert!(fit_text(&table, "name", Some("nothing"), &options, &mut |_| {}).is_err());
    // Bad input: a constant series stays constant; too few values, a zero context, a bad
    // temperature are refused with a reason.
    let quick = SequenceOptions { epochs: 2, ..options };
    let flat = fit_series("level", &[vec![3.0; 50]], false, &quick, &mut |_| {}).unwrap();
    assert!(flat.paths(3, 20, 1).unwrap().concat().iter().all(|v| *v == 3.0));
    for (groups, options, says) in [
        (vec![vec![1.0, 2.0]], quick.clone(), "at least three values"),
        (vec![vec![1.0; 10]], SequenceOptions { context: 0, ..quick.clone() }, "context"),
        (vec![vec![1.0; 10]], SequenceOptions { temperature: 0.0, ..quick.clone() }, "temperature"),
    ] {
        let error = fit_series("x", &groups, false, &options, &mut |_| {}).unwrap_err().to_string();
        assert!(error.contains(says), "{error}");
    }
}
