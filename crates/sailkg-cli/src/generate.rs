//! `sailkg generate`: fits a generator on a table (a CSV, Parquet or JSON file, a catalogued
//! source, or any SQL table such as a class view `kg.<class>`), samples rows under a condition,
//! and writes them as `tables/synthetic/{run}.parquet` with the run as a PROV activity in the
//! catalogue (and to `--out` if given).

use crate::GenerateArgs as Request;
use crate::UserError;
use crate::commands::{Change, open, reindex};
use anyhow::{Context, Result};
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions};
use oxigraph::model::{Literal, NamedNode, Quad, Term};
use sailkg_core::{Config, vocab};
use sailkg_gen::{Condition, Constraints, FitOptions, Method, Role, Synthesizer};
use std::path::Path;

/// What a finished generation leaves for the run's record.
struct Outcome {
    method: &'static str,
    batch: datafusion::arrow::array::RecordBatch,
    report: serde_json::Value,
    /// The evaluation against all real rows.
    evaluation: sailkg_gen::eval::Report,
    html: String,
    model: Option<String>,
}

/// What a generation made.
pub(crate) struct Generated {
    /// The run: its rows are `synthetic.<run>`.
    pub(crate) run: String,
    pub(crate) rows: usize,
    /// The graphs it wrote (the catalogue; instances with --into-store).
    pub(crate) graphs: Vec<Option<String>>,
}

/// `sailkg generate`.
pub(crate) fn generate(config: &Config, request: Request) -> Result<()> {
    let store = open(config)?;
    let generated = run(&store, config, request)?;
    reindex(&store, Change::Graphs(generated.graphs));
    Ok(())
}

/// A generation on an open store (the command's, or a server's job); the caller updates the
/// search index with the graphs it wrote.
pub(crate) fn run(store: &sailkg_store::Store, config: &Config, request: Request) -> Result<Generated> {
    use crate::GenMethod as G;
    let condition = Condition::parse(request.condition.as_deref().unwrap_or(""))
        .map_err(|e| UserError(format!("--where: {e}")))?;
    let series_method = matches!(request.method, G::BlockBootstrap | G::Sde)
        || (request.method == G::Transformer && !request.series.is_empty());
    let neural = matches!(request.method, G::Tvae | G::Ctgan | G::Diffusion);
    let flag = |set: bool, name: &str, applies: &str| -> Result<()> {
        if set { Err(UserError(format!("{name} applies to {applies} only")).into()) } else { Ok(()) }
    };
    flag(request.stratify.is_some() && request.method != G::Bootstrap, "--stratify", "the bootstrap")?;
    flag(
        request.smooth.is_some() && !matches!(request.method, G::Bootstrap | G::Mh | G::Langevin),
        "--smooth",
        "bootstrap, mh and langevin",
    )?;
    flag(request.unadjusted && request.method != G::Langevin, "--unadjusted", "langevin")?;
    flag(!request.series.is_empty() && !series_method, "--series", "block-bootstrap, sde and transformer")?;
    flag(request.text.is_some() && request.method != G::Transformer, "--text", "transformer")?;
    flag(
        (request.temperature != 1.0 || request.top_k != 0) && request.method != G::Transformer,
        "--temperature and --top-k",
        "transformer",
    )?;
    flag(request.guidance != 1.0 && request.method != G::Diffusion, "--guidance", "diffusion")?;
    if request.method == G::Transformer && request.series.is_empty() == request.text.is_none() {
        return Err(UserError(
            "transformer generates either series (--series COLUMN) or text (--text COLUMN): name one".into(),
        )
        .into());
    }
    flag(request.model.is_some() && request.method != G::Sde, "--model", "sde")?;
    flag(
        (request.block.is_some() || request.stationary) && request.method != G::BlockBootstrap,
        "--block and --stationary",
        "block-bootstrap",
    )?;
    flag(request.holdout.is_some() && series_method, "--holdout", "table methods")?;
    flag(
        request.model_in.is_some() && series_method && request.method != G::Transformer,
        "--model-in",
        "table methods and transformer",
    )?;
    flag(request.logit_adjustment != 0.0 && !neural, "--logit-adjustment", "tvae, ctgan and diffusion")?;
    flag(
        request.checkpoint.is_some() && !neural && request.method != G::Transformer,
        "--checkpoint",
        "the neural methods",
    )?;
    if let Some(f) = request.holdout
        && !(f > 0.0 && f < 1.0)
    {
        return Err(UserError(format!("--holdout {f}: give a share between 0 and 1, e.g. 0.2")).into());
    }
    if request.n == 0 {
        return Err(UserError("--n 0: ask for at least one row".into()).into());
    }
    // A taken name fails now, not after a long fit.
    if let Some(name) = &request.name
        && !request.replace
        && store.data_dir().join("tables").join("synthetic").join(format!("{name}.parquet")).exists()
    {
        return Err(UserError(format!("synthetic.{name} exists already; choose another --name")).into());
    }
    let started = std::time::SystemTime::now();
    let table = load_table(store, config, &request.from)?;
    let seed = request.seed.unwrap_or_else(|| {
        started.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
    });
    let view = match request.from.strip_prefix("kg.") {
        Some(view) if !Path::new(&request.from).exists() => view_columns(store, config, view)?,
        _ => None,
    };
    if request.into_store && (view.is_none() || series_method) {
        return Err(UserError(
            "--into-store writes rows as instances of a class: generate --from kg.<class> with a table method".into(),
        )
        .into());
    }
    let outcome = if series_method {
        generate_series(&request, &table, &condition, seed)?
    } else if request.method == G::Transformer {
        generate_text(&request, &table, &condition, seed)?
    } else {
        let constraints = match &view {
            Some(view) => shacl_constraints(store, config, view)?,
            None => Constraints::default(),
        };
        generate_rows(&request, &table, constraints, &condition, seed)?
    };
    let run = match &request.name {
        Some(name) if is_sql_name(name) => name.clone(),
        Some(name) => {
            return Err(UserError(format!(
                "--name {name}: use letters, digits and underscores, starting with a letter (it becomes the table synthetic.{name})"
            ))
            .into());
        }
        None => format!("{}_{}_{seed:x}", outcome.method.replace('-', "_"), stamp(started)),
    };
    let dir = store.data_dir().join("tables").join("synthetic");
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    let table_path = dir.join(format!("{run}.parquet"));
    if table_path.exists() {
        if !request.replace {
            return Err(UserError(format!("synthetic.{run} exists already; choose another --name")).into());
        }
        forget(store, &run)?;
    }
    write(&table_path, &outcome.batch)?;
    if let Some(out) = &request.out {
        write(out, &outcome.batch)?;
    }
    if let (Some(path), Some(model)) = (&request.model_out, &outcome.model) {
        std::fs::write(path, model).with_context(|| path.display().to_string())?;
    }
    let mut report = outcome.report;
    report["run"] = run.clone().into();
    report["seed"] = seed.into();
    report["from"] = request.from.clone().into();
    let report_path = dir.join(format!("{run}.report.json"));
    std::fs::write(&report_path, serde_json::to_string_pretty(&report)?)
        .with_context(|| report_path.display().to_string())?;
    let html_path = dir.join(format!("{run}.report.html"));
    std::fs::write(&html_path, &outcome.html).with_context(|| html_path.display().to_string())?;
    record(
        store,
        &run,
        &request,
        outcome.method,
        seed,
        &condition,
        &table_path,
        outcome.batch.num_rows(),
        started,
        &outcome.evaluation,
    )?;
    let mut changed = vec![Some(vocab::GRAPH_CATALOG.to_owned())];
    if let (true, Some(view)) = (request.into_store, &view) {
        let graph = write_instances(store, &run, view, &outcome.batch)?;
        println!("{} instances of <{}> written to <{graph}>", outcome.batch.num_rows(), view.class);
        changed.push(Some(graph));
    }
    println!(
        "written to {} (SQL: synthetic.{run}), reports {} and {}",
        table_path.display(),
        report_path.display(),
        html_path.display()
    );
    if let Some(out) = &request.out {
        println!("and to {}", out.display());
    }
    Ok(Generated { run, rows: outcome.batch.num_rows(), graphs: changed })
}

/// The rows of `from` as a generator table.
fn load_table(store: &sailkg_store::Store, config: &Config, from: &str) -> Result<sailkg_gen::Table> {
    Ok(load_tables(store, config, &[from])?.remove(0))
}

/// The rows of every `from` as generator tables: list columns left out, `iri` an identifier.
fn load_tables(
    store: &sailkg_store::Store,
    config: &Config,
    froms: &[&str],
) -> Result<Vec<sailkg_gen::Table>> {
    read(store, config, froms)?
        .into_iter()
        .zip(froms)
        .map(|(batches, from)| table_of(batches, from))
        .collect()
}

fn table_of(batches: Vec<datafusion::arrow::array::RecordBatch>, from: &str) -> Result<sailkg_gen::Table> {
    // Several values per instance (list columns of class views) are not generated.
    let batches = match batches.first().map(|b| b.schema()) {
        Some(schema) => {
            let keep: Vec<usize> =
                (0..schema.fields().len()).filter(|&i| !schema.field(i).data_type().is_nested()).collect();
            for field in schema.fields().iter().filter(|f| f.data_type().is_nested()) {
                eprintln!("note: {} holds several values per row and is left out", field.name());
            }
            batches.iter().map(|b| b.project(&keep)).collect::<Result<Vec<_>, _>>()?
        }
        None => batches,
    };
    let mut table =
        sailkg_gen::Table::from_batches(&batches).map_err(|e| UserError(format!("{from}: {e}")))?;
    for column in &mut table.columns {
        if column.name == "iri" {
            column.role = Role::Id;
        }
    }
    Ok(table)
}

/// Table methods: fit (on the training share with --holdout), sample, evaluate.
fn generate_rows(
    request: &Request,
    table: &sailkg_gen::Table,
    constraints: Constraints,
    condition: &Condition,
    seed: u64,
) -> Result<Outcome> {
    use crate::GenMethod as G;
    let method = match request.method {
        G::Bootstrap if request.stratify.is_some() && request.smooth.is_some() => {
            return Err(
                UserError("--stratify and --smooth are two kinds of bootstrap: choose one".into()).into()
            );
        }
        G::Bootstrap if request.stratify.is_some() => Some(Method::StratifiedBootstrap),
        G::Bootstrap if request.smooth.is_some() => Some(Method::SmoothedBootstrap),
        G::Bootstrap => Some(Method::Bootstrap),
        G::Copula => Some(Method::Copula),
        G::Smote => Some(Method::Smote),
        G::Mh => Some(Method::Mh),
        G::Langevin if request.unadjusted => Some(Method::Ula),
        G::Langevin => Some(Method::Mala),
        G::Tilt => Some(Method::Tilt),
        G::Tvae | G::Ctgan | G::Diffusion => None,
        G::BlockBootstrap | G::Sde | G::Transformer => unreachable!("sequence methods are generated apart"),
    };
    let constraints = Constraints {
        columns: constraints.columns.into_iter().filter(|(name, _)| table.position(name).is_some()).collect(),
        order: constraints
            .order
            .into_iter()
            .filter(|o| table.position(&o.smaller).is_some() && table.position(&o.larger).is_some())
            .collect(),
    };
    // The class column: asked for, or the label column the condition names.
    let target = request.target.clone().or_else(|| {
        condition.clauses.iter().map(|c| c.column.clone()).find(|c| {
            table
                .position(c)
                .is_some_and(|p| matches!(table.columns[p].values, sailkg_gen::Values::Labels { .. }))
        })
    });
    if let Some(target) = &request.target
        && table.position(target).is_none()
    {
        return Err(UserError(format!("--target {target}: no such column")).into());
    }
    let (train, holdout) = match request.holdout {
        Some(fraction) => {
            let (train, holdout) = sailkg_gen::eval::holdout_split(table, fraction, target.as_deref(), seed);
            (table.select(&train), Some(table.select(&holdout)))
        }
        None => (table.clone(), None),
    };
    let options = FitOptions { class: request.stratify.clone(), smoothing: request.smooth.unwrap_or(0.0) };
    let fit_start = std::time::Instant::now();
    let mut training = None;
    let mut fine_tuning = None;
    let model: Box<dyn Synthesizer> = match (&request.model_in, method) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
            let loaded: Box<dyn Synthesizer> = if text.contains("\"format\"") {
                let model = sailkg_neural::NeuralModel::from_json(&text)
                    .map_err(|e| UserError(format!("{}: {e}", path.display())))?;
                match request.fine_tune {
                    Some(mode) => {
                        let rank = (mode == crate::FineTune::Lora).then_some(request.rank);
                        let (tuned, report) = sailkg_neural::fine_tune(
                            &model,
                            &train,
                            condition,
                            rank,
                            request.epochs.unwrap_or(300),
                            seed,
                        )
                        .map_err(|e| UserError(format!("fine-tuning: {e}")))?;
                        println!(
                            "fine-tuned ({}) on {} rows for {} epochs in {:.2} s: {} of {} parameters trained, loss {:.3} → {:.3}",
                            report.mode,
                            report.rows,
                            report.epochs,
                            report.seconds,
                            report.trainable_parameters,
                            report.total_parameters,
                            report.first_loss,
                            report.last_loss
                        );
                        fine_tuning = Some(report);
                        Box::new(tuned)
                    }
                    None => Box::new(model),
                }
            } else if request.fine_tune.is_some() {
                return Err(UserError(
                    "--fine-tune adapts a neural model (--method tvae --model-out)".into(),
                )
                .into());
            } else {
                let model = sailkg_gen::Model::from_json(&text).map_err(|e| {
                    UserError(format!("{}: {e} (write one with --model-out)", path.display()))
                })?;
                if let Some((name, ..)) =
                    model.schema.iter().find(|(name, ..)| train.position(name).is_none())
                {
                    return Err(UserError(format!(
                        "{}: the model has column {name}, which {} lacks",
                        path.display(),
                        request.from
                    ))
                    .into());
                }
                Box::new(model)
            };
            loaded
        }
        (None, Some(method)) => Box::new(
            sailkg_gen::fit(method, &train, &constraints, &options)
                .map_err(|e| UserError(format!("{}: {e}", request.from)))?,
        ),
        (None, None) => {
            let options = sailkg_neural::Options {
                epochs: request.epochs.unwrap_or(300),
                batch_size: request.batch_size.unwrap_or(500),
                logit_adjustment: request.logit_adjustment,
                guidance: request.guidance,
                seed,
                checkpoint: request.checkpoint.clone(),
                resume: request.resume,
                device: match request.device {
                    crate::TrainDevice::Cpu => sailkg_neural::Device::Cpu,
                    crate::TrainDevice::Cuda => sailkg_neural::Device::Cuda,
                },
                ..sailkg_neural::Options::default()
            };
            let kind = match request.method {
                G::Ctgan => sailkg_neural::Kind::Ctgan,
                G::Diffusion => sailkg_neural::Kind::Diffusion,
                _ => sailkg_neural::Kind::Tvae,
            };
            let model = with_progress(options.epochs, request, |progress| {
                sailkg_neural::fit(kind, &train, &constraints, &options, progress)
            })?;
            training = Some(model.report.clone());
            Box::new(model)
        }
    };
    let name = model.method_name();
    let is_tilt = name == Method::Tilt.name();
    let fit_seconds = fit_start.elapsed().as_secs_f64();
    let sample_start = std::time::Instant::now();
    let sample = model.sample(request.n, condition, seed).map_err(|e| UserError(e.to_string()))?;
    let sample_seconds = sample_start.elapsed().as_secs_f64();
    for warning in &sample.warnings {
        eprintln!("warning: {warning}");
    }
    if train.rows() == 1 {
        eprintln!("warning: one real row: every method can only vary that row (or copy it)");
    }
    // Evaluation against the real training rows, and those inside the condition (the rare case).
    let evaluation = sailkg_gen::eval::evaluate(&train, &sample.table);
    let conditional = if is_tilt || condition.is_empty() {
        None
    } else {
        let regions = sailkg_gen::region::regions(&train, &constraints, condition)?;
        let inside: Vec<usize> = (0..train.rows()).filter(|&r| regions.contains(&train, r)).collect();
        (!inside.is_empty()).then(|| sailkg_gen::eval::evaluate(&train.select(&inside), &sample.table))
    };
    let privacy = sailkg_gen::eval::privacy(&train, holdout.as_ref(), &sample.table);
    let utility = match (&holdout, &target) {
        (Some(holdout), Some(target)) => {
            match sailkg_gen::utility::utility(&train, holdout, &sample.table, target) {
                Ok(utility) => Some(utility),
                Err(e) => {
                    eprintln!("note: no utility measure: {e}");
                    None
                }
            }
        }
        _ => None,
    };
    let mut table_out = sample.table.clone();
    if let Some(weights) = &sample.weights {
        table_out.columns.push(sailkg_gen::Column::numbers(
            "importance_weight",
            sailkg_gen::NumberKind::Float,
            weights.iter().map(|w| Some(*w)).collect(),
        ));
    }
    let batch = table_out.to_batch()?;
    let report = serde_json::json!({
        "method": name, "condition": condition.text, "rows": batch.num_rows(), "training": training, "fine_tuning": fine_tuning,
        "real_rows": table.rows(), "training_rows": train.rows(), "holdout_rows": holdout.as_ref().map(|h| h.rows()),
        "fit_seconds": fit_seconds, "sample_seconds": sample_seconds,
        "warnings": sample.warnings, "constraints": constraints,
        "against_all_real_rows": evaluation, "against_real_rows_in_condition": conditional,
        "privacy": privacy, "utility": utility, "mcmc": sample.mcmc, "tilt": sample.tilt,
    });
    println!(
        "{} rows by {} from {} (fit {:.3} s, sample {:.3} s, {:.0} rows/s), seed {seed}",
        batch.num_rows(),
        name,
        request.from,
        fit_seconds,
        sample_seconds,
        batch.num_rows() as f64 / sample_seconds.max(1e-9)
    );
    let correlation = evaluation
        .correlation_similarity
        .map(|c| format!(", correlation similarity {c:.3}"))
        .unwrap_or_default();
    println!(
        "fidelity {:.3} (mean KS/TV complement){correlation}, exact copies {:.1}%, {:.0}% closer to a real row than the {} median",
        evaluation.fidelity,
        100.0 * evaluation.exact_copy_share,
        100.0 * privacy.share_closer_than_baseline_median,
        privacy.baseline
    );
    if let Some(conditional) = &conditional {
        println!(
            "fidelity to the {} real rows inside the condition: {:.3}",
            conditional.real_rows, conditional.fidelity
        );
    }
    if let Some(mcmc) = &sample.mcmc {
        println!(
            "chains {}: acceptance {:.2}, min ESS {}, max split-R̂ {}",
            mcmc.chains,
            mcmc.acceptance_rate,
            mcmc.min_ess.map_or("-".into(), |e| format!("{e:.0}")),
            mcmc.max_r_hat.map_or("-".into(), |r| format!("{r:.3}"))
        );
    }
    if let Some(tilt) = &sample.tilt {
        println!(
            "P({}) ≈ {:.3e} ± {:.1e} under the model ({:.0}% of rows inside; variance {:.1}x below plain Monte Carlo; ESS {:.0})",
            tilt.region,
            tilt.probability,
            tilt.standard_error,
            100.0 * tilt.rows_in_region_share,
            tilt.variance_reduction,
            tilt.effective_sample_size
        );
    }
    if let Some(utility) = &utility {
        let rare = |s: &sailkg_gen::utility::Scores| s.rare_recall.map_or("-".into(), |r| format!("{r:.3}"));
        println!(
            "utility ({} held-out rows): macro-F1 {:.3} real, {:.3} real + synthetic; rare-class recall {} → {}",
            utility.test_rows,
            utility.real.macro_f1,
            utility.real_plus_synthetic.macro_f1,
            rare(&utility.real),
            rare(&utility.real_plus_synthetic)
        );
    }
    let title = format!("{} rows by {} from {}", batch.num_rows(), name, request.from);
    let html = sailkg_gen::report::html(&title, &report, &train, &sample.table, &[]);
    Ok(Outcome { method: name, batch, report, evaluation, html, model: Some(model.to_json()) })
}

/// Series methods: block bootstraps and SDE/AR models, paths with likelihood ratios.
fn generate_series(
    request: &Request,
    table: &sailkg_gen::Table,
    condition: &Condition,
    seed: u64,
) -> Result<Outcome> {
    use sailkg_gen::series::{Event, Series, SeriesMethod, SeriesModel, measures};
    if request.series.is_empty() {
        return Err(UserError("name the series column(s) with --series".into()).into());
    }
    let series = Series::from_table(table, &request.series, request.time.as_deref(), request.by.as_deref())
        .map_err(|e| UserError(format!("{}: {e}", request.from)))?;
    // The level: one range clause on the (first) series column.
    let event = match condition.clauses.as_slice() {
        [] => None,
        [clause] if clause.column == request.series[0] => match &clause.test {
            sailkg_gen::condition::Test::Range { lo: Some((level, _)), hi: None } => {
                Some(Event { level: *level, above: true })
            }
            sailkg_gen::condition::Test::Range { lo: None, hi: Some((level, _)) } => {
                Some(Event { level: *level, above: false })
            }
            _ => None,
        },
        _ => None,
    };
    if !condition.is_empty() && event.is_none() {
        return Err(UserError(format!(
            "--where for series is the level paths should reach: one bound on {}, e.g. \"{} >= 100\"",
            request.series[0], request.series[0]
        ))
        .into());
    }
    let fit_start = std::time::Instant::now();
    let (name, parameters, model_json, paths, fit_seconds, sample_seconds);
    if request.method == crate::GenMethod::Transformer {
        if event.is_some() {
            return Err(UserError(
                "transformer paths follow the data: for paths that reach a level use --method sde with --where"
                    .into(),
            )
            .into());
        }
        let [column] = request.series.as_slice() else {
            return Err(UserError("transformer models one series: --series COLUMN".into()).into());
        };
        let model = match &request.model_in {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
                let model = sailkg_neural::transformer::SequenceModel::from_json(&text)
                    .map_err(|e| UserError(format!("{}: {e}", path.display())))?;
                if model.series_column() != Some(column.as_str()) {
                    return Err(
                        UserError(format!("{}: not a model of the series {column}", path.display())).into()
                    );
                }
                model
            }
            None => {
                let integer = table.position(column).is_some_and(|p| {
                    matches!(
                        table.columns[p].values,
                        sailkg_gen::Values::Numbers { kind: sailkg_gen::NumberKind::Integer, .. }
                    )
                });
                let groups: Vec<Vec<f64>> =
                    series.groups.iter().map(|g| g.iter().map(|row| row[0]).collect()).collect();
                let options = sequence_options(request, seed);
                with_progress(options.epochs, request, |progress| {
                    sailkg_neural::transformer::fit_series(column, &groups, integer, &options, progress)
                })?
            }
        };
        fit_seconds = fit_start.elapsed().as_secs_f64();
        let length =
            request.length.unwrap_or_else(|| series.groups.iter().map(Vec::len).max().unwrap_or(1)).max(1);
        let sample_start = std::time::Instant::now();
        let values = model.paths(request.n, length, seed).map_err(|e| UserError(e.to_string()))?;
        sample_seconds = sample_start.elapsed().as_secs_f64();
        paths = sailkg_gen::series::Paths {
            table: paths_table(&series, column, &values)?,
            likelihood_ratios: vec![1.0; request.n],
            report: None,
            warnings: Vec::new(),
        };
        name = "transformer";
        parameters = vec![
            ("parameters".to_owned(), model.report.parameters as f64),
            ("epochs".to_owned(), model.report.epochs_run as f64),
            ("loss".to_owned(), model.report.last_loss),
        ];
        model_json = model.to_json();
    } else {
        let method = match (request.method, request.model) {
            (crate::GenMethod::BlockBootstrap, _) if request.stationary => SeriesMethod::StationaryBlock,
            (crate::GenMethod::BlockBootstrap, _) => SeriesMethod::MovingBlock,
            (_, Some(crate::SdeModel::Ou)) => SeriesMethod::Ou,
            (_, Some(crate::SdeModel::Gbm)) => SeriesMethod::Gbm,
            (_, Some(crate::SdeModel::ZeroInflated)) => SeriesMethod::ZeroInflated,
            (_, Some(crate::SdeModel::Ar)) => SeriesMethod::Ar,
            (_, None) => {
                let values = series.values(0);
                let zeros = values.iter().filter(|v| **v == 0.0).count() as f64 / values.len().max(1) as f64;
                if values.iter().all(|v| *v >= 0.0) && zeros >= 0.1 {
                    SeriesMethod::ZeroInflated
                } else {
                    SeriesMethod::Ou
                }
            }
        };
        let model = SeriesModel::fit(method, series.clone(), request.block, Some(request.order))
            .map_err(|e| UserError(format!("{}: {e}", request.from)))?;
        fit_seconds = fit_start.elapsed().as_secs_f64();
        let sample_start = std::time::Instant::now();
        paths = model.paths(request.n, request.length, event, seed).map_err(|e| UserError(e.to_string()))?;
        sample_seconds = sample_start.elapsed().as_secs_f64();
        name = method.name();
        parameters = model.parameters.clone();
        model_json = serde_json::to_string(&model)?;
    }
    for warning in &paths.warnings {
        eprintln!("warning: {warning}");
    }
    // Evaluation: the value columns' margins, and per series column the time-series measures.
    let real_values = sailkg_gen::Table::new(
        request
            .series
            .iter()
            .enumerate()
            .map(|(k, name)| {
                sailkg_gen::Column::numbers(
                    name,
                    sailkg_gen::NumberKind::Float,
                    series.values(k).into_iter().map(Some).collect(),
                )
            })
            .collect(),
    )?;
    let evaluation = sailkg_gen::eval::evaluate(&real_values, &paths.table);
    let length = paths.table.rows() / request.n;
    let mut per_series = Vec::new();
    let mut plotted = Vec::new();
    for (k, name) in request.series.iter().enumerate() {
        let real: Vec<Vec<f64>> =
            series.groups.iter().map(|g| g.iter().map(|row| row[k]).collect()).collect();
        let p = paths.table.position(name).expect("a column per series");
        let sailkg_gen::Values::Numbers { values, .. } = &paths.table.columns[p].values else {
            unreachable!()
        };
        let synthetic: Vec<Vec<f64>> =
            values.chunks(length).map(|c| c.iter().map(|v| v.unwrap_or(f64::NAN)).collect()).collect();
        let real_measures = measures(&real, None);
        let synthetic_measures = measures(&synthetic, Some((real_measures.q90, real_measures.q99)));
        per_series.push(
            serde_json::json!({"column": name, "real": real_measures, "synthetic": synthetic_measures}),
        );
        plotted.push((name.clone(), real, synthetic));
    }
    // Lead–lag: transfer entropy between the first two series, real against synthetic.
    let lead_lag = if plotted.len() >= 2 {
        let flat = |s: &[Vec<f64>]| s.concat();
        let te = |a: &[Vec<f64>], b: &[Vec<f64>]| {
            sailkg_gen::te::transfer_entropy(
                &flat(a),
                &flat(b),
                sailkg_gen::te::Estimator::Binned { bins: 4 },
                1,
                50,
                seed,
            )
            .ok()
        };
        Some(serde_json::json!({
            "from": plotted[0].0, "to": plotted[1].0,
            "real": te(&plotted[0].1, &plotted[1].1), "synthetic": te(&plotted[0].2, &plotted[1].2),
            "real_reverse": te(&plotted[1].1, &plotted[0].1), "synthetic_reverse": te(&plotted[1].2, &plotted[0].2),
        }))
    } else {
        None
    };
    let batch = paths.table.to_batch()?;
    let report = serde_json::json!({
        "method": name, "condition": condition.text, "paths": request.n, "steps": length,
        "rows": batch.num_rows(), "series": series.groups.len(), "parameters": parameters,
        "fit_seconds": fit_seconds, "sample_seconds": sample_seconds, "warnings": paths.warnings,
        "against_all_real_rows": evaluation, "series_measures": per_series, "transfer_entropy": lead_lag,
        "event": paths.report,
    });
    println!(
        "{} paths × {length} steps by {} from {} (fit {fit_seconds:.3} s, sample {sample_seconds:.3} s), seed {seed}",
        request.n, name, request.from
    );
    println!(
        "parameters: {}",
        parameters.iter().map(|(k, v)| format!("{k} {v:.4}")).collect::<Vec<_>>().join(", ")
    );
    if let Some(event) = &paths.report {
        println!(
            "P(a path reaches {} {}) ≈ {:.3e} ± {:.1e} ({:.0}% of paths reach it; plain Monte Carlo {}/{} = {:.3e}; variance {:.1}x lower)",
            if event.above { "≥" } else { "≤" },
            event.level,
            event.probability,
            event.standard_error,
            100.0 * event.paths_reaching_share,
            event.plain_monte_carlo_hits,
            request.n,
            event.plain_monte_carlo_probability,
            event.variance_reduction
        );
    }
    let title = format!("{} paths by {name} from {}", request.n, request.from);
    let html = sailkg_gen::report::html(&title, &report, &real_values, &paths.table, &plotted);
    Ok(Outcome { method: name, batch, report, evaluation, html, model: Some(model_json) })
}

/// Runs a training with a progress bar of its epochs (or reporting to the request's progress
/// sink, a server job's status); its error is the user's, about `--from`.
fn with_progress<T>(
    epochs: usize,
    request: &Request,
    train: impl FnOnce(&mut dyn FnMut(&sailkg_neural::Progress)) -> Result<T, sailkg_gen::GenError>,
) -> Result<T> {
    let result = match &request.progress {
        Some(sink) => train(&mut |p| (sink.0)(p)),
        None => {
            let bar = indicatif::ProgressBar::new(epochs as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} epoch {pos}/{len} {msg} (eta {eta})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let result = train(&mut |p| {
                bar.set_position(p.epoch as u64);
                bar.set_message(format!("loss {:.3}", p.loss));
            });
            bar.finish_and_clear();
            result
        }
    };
    result.map_err(|e| UserError(format!("{}: {e}", request.from)).into())
}

/// The transformer's settings from the flags.
fn sequence_options(request: &Request, seed: u64) -> sailkg_neural::transformer::SequenceOptions {
    sailkg_neural::transformer::SequenceOptions {
        epochs: request.epochs.unwrap_or(30),
        batch_size: request.batch_size.unwrap_or(64),
        seed,
        device: match request.device {
            crate::TrainDevice::Cpu => sailkg_neural::Device::Cpu,
            crate::TrainDevice::Cuda => sailkg_neural::Device::Cuda,
        },
        context: request.context,
        temperature: request.temperature,
        top_k: request.top_k,
        checkpoint: request.checkpoint.clone(),
        resume: request.resume,
        ..Default::default()
    }
}

/// Generated series as the series methods write them: path, step, time, value.
fn paths_table(
    series: &sailkg_gen::series::Series,
    column: &str,
    values: &[Vec<f64>],
) -> Result<sailkg_gen::Table> {
    use sailkg_gen::{Column, NumberKind};
    let rows: Vec<(usize, usize, f64)> = values
        .iter()
        .enumerate()
        .flat_map(|(p, v)| v.iter().enumerate().map(move |(t, x)| (p, t, *x)))
        .collect();
    let mut columns = vec![
        Column::numbers("path", NumberKind::Integer, rows.iter().map(|r| Some(r.0 as f64)).collect()),
        Column::numbers("step", NumberKind::Integer, rows.iter().map(|r| Some(r.1 as f64)).collect()),
    ];
    if let Some((name, kind, first, step)) = &series.time {
        columns.push(Column::numbers(
            name,
            *kind,
            rows.iter().map(|r| Some(first + r.1 as f64 * step)).collect(),
        ));
    }
    columns.push(Column::numbers(column, NumberKind::Float, rows.iter().map(|r| Some(r.2)).collect()));
    Ok(sailkg_gen::Table::new(columns)?)
}

/// `--method transformer --text COLUMN [--by CLASS]`: texts, character by character, each after
/// its class; --where may ask for classes of the --by column.
fn generate_text(
    request: &Request,
    table: &sailkg_gen::Table,
    condition: &Condition,
    seed: u64,
) -> Result<Outcome> {
    use sailkg_gen::{Column, Role, Table, Values};
    let column = request.text.as_deref().expect("checked by the caller");
    let class = request.by.as_deref();
    if let Some(clause) = condition.clauses.iter().find(|c| Some(c.column.as_str()) != class) {
        return Err(UserError(format!(
            "--where for transformer --text names the class column (--by), not {}",
            clause.column
        ))
        .into());
    }
    // The classes the condition allows.
    let allowed: Option<Vec<String>> = match class {
        Some(class) if !condition.is_empty() => {
            let p =
                table.position(class).ok_or_else(|| UserError(format!("--by {class}: no such column")))?;
            let regions = sailkg_gen::region::regions(table, &Constraints::default(), condition)
                .map_err(|e| UserError(format!("--where: {e}")))?;
            match (&regions.columns[p].0, &table.columns[p].values) {
                (sailkg_gen::Region::Labels { allowed: Some(codes) }, Values::Labels { levels, .. }) => {
                    Some(codes.iter().map(|&c| levels[c as usize].clone()).collect())
                }
                _ => None,
            }
        }
        _ => None,
    };
    let fit_start = std::time::Instant::now();
    let model = match &request.model_in {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
            let model = sailkg_neural::transformer::SequenceModel::from_json(&text)
                .map_err(|e| UserError(format!("{}: {e}", path.display())))?;
            match model.text_columns() {
                Some((c, classes)) if c == column && classes.map(|k| k.column.as_str()) == class => {}
                _ => {
                    return Err(UserError(format!(
                        "{}: not a model of the text {column}{}",
                        path.display(),
                        class.map(|c| format!(" after {c}")).unwrap_or_default()
                    ))
                    .into());
                }
            }
            model
        }
        None => {
            let options = sequence_options(request, seed);
            with_progress(options.epochs, request, |progress| {
                sailkg_neural::transformer::fit_text(table, column, class, &options, progress)
            })?
        }
    };
    let fit_seconds = fit_start.elapsed().as_secs_f64();
    let sample_start = std::time::Instant::now();
    let generated = model.texts(request.n, allowed.as_deref(), seed).map_err(|e| UserError(e.to_string()))?;
    let sample_seconds = sample_start.elapsed().as_secs_f64();
    // The real texts the generated ones answer to: those of the allowed classes.
    let text_at = table.position(column).expect("the model was fitted on it");
    let class_at = class.and_then(|c| table.position(c));
    let real: Vec<String> = (0..table.rows())
        .filter(|&r| match (&allowed, class_at) {
            (Some(allowed), Some(c)) => table.columns[c].text(r).is_some_and(|k| allowed.contains(&k)),
            _ => true,
        })
        .filter_map(|r| table.columns[text_at].text(r).filter(|t| !t.is_empty()))
        .collect();
    let synthetic: Vec<String> = generated.iter().map(|(_, t)| t.clone()).collect();
    let measures = sailkg_neural::transformer::text_measures(&real, &synthetic);
    let mut columns = Vec::new();
    if let Some(class) = class {
        let classes: Vec<Option<String>> = generated.iter().map(|(k, _)| k.clone()).collect();
        columns.push(Column::labels(class, &classes));
    }
    let mut text = Column::labels(column, &synthetic.iter().map(Some).collect::<Vec<_>>());
    text.role = Role::Text;
    columns.push(text);
    let out = Table::new(columns)?;
    // The class column's margin against the real one (the text itself by the text measures).
    let real_classes = match class_at {
        Some(c) => Table::new(vec![table.columns[c].clone()])?,
        None => Table::new(vec![])?,
    };
    let synthetic_classes = match class {
        Some(_) => Table::new(vec![out.columns[0].clone()])?,
        None => Table::new(vec![])?,
    };
    let evaluation = sailkg_gen::eval::evaluate(&real_classes, &synthetic_classes);
    let batch = out.to_batch()?;
    let report = serde_json::json!({
        "method": "transformer", "condition": condition.text, "rows": batch.num_rows(), "text": column,
        "class": class, "training": model.report, "fit_seconds": fit_seconds, "sample_seconds": sample_seconds,
        "temperature": model.options.temperature, "top_k": model.options.top_k,
        "text_measures": measures, "against_all_real_rows": evaluation,
    });
    println!(
        "{} texts by transformer from {} (fit {fit_seconds:.3} s, sample {sample_seconds:.3} s), seed {seed}",
        batch.num_rows(),
        request.from
    );
    println!(
        "against {} real texts: length similarity {:.3}, characters {:.3}, bigrams {:.3}; exact copies {:.1}%, distinct {:.1}%",
        measures.real,
        measures.length_similarity,
        measures.character_similarity,
        measures.bigram_similarity,
        100.0 * measures.exact_copies,
        100.0 * measures.distinct
    );
    let title = format!("{} texts by transformer from {}", batch.num_rows(), request.from);
    let html = sailkg_gen::report::html(&title, &report, &real_classes, &synthetic_classes, &[]);
    Ok(Outcome { method: "transformer", batch, report, evaluation, html, model: Some(model.to_json()) })
}

fn is_sql_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}

/// `YYYYMMDD_HHMMSS` in UTC.
fn stamp(time: std::time::SystemTime) -> String {
    let seconds = time.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (y, m, d) = sailkg_core::terms::civil_from_days(seconds.div_euclid(86_400));
    let s = seconds.rem_euclid(86_400);
    format!("{y:04}{m:02}{d:02}_{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The rows of every `from`, read through one SQL session.
fn read(
    store: &sailkg_store::Store,
    config: &Config,
    froms: &[&str],
) -> Result<Vec<Vec<datafusion::arrow::array::RecordBatch>>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let ctx = sailkg_sql::session(store, config.query_timeout())?;
        let mut out = Vec::with_capacity(froms.len());
        for from in froms {
            out.push(read_one(&ctx, from).await?);
        }
        Ok(out)
    })
}

/// The rows of `from`: a file by its extension, else a catalogued source, else an SQL table.
async fn read_one(
    ctx: &datafusion::prelude::SessionContext,
    from: &str,
) -> Result<Vec<datafusion::arrow::array::RecordBatch>> {
    let path = Path::new(from);
    let frame = if path.is_file() {
        let name = path.to_string_lossy();
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        match extension.as_str() {
            "csv" => ctx.read_csv(name.as_ref(), CsvReadOptions::new()).await,
            "tsv" => {
                ctx.read_csv(name.as_ref(), CsvReadOptions::new().delimiter(b'\t').file_extension(".tsv"))
                    .await
            }
            "parquet" => ctx.read_parquet(name.as_ref(), ParquetReadOptions::default()).await,
            "json" if json_array(path)? => {
                let batch = json_array_batch(path).map_err(|e| UserError(format!("{from}: {e}")))?;
                ctx.read_batch(batch)
            }
            "json" if is_geojson(path)? => {
                return Err(UserError(format!(
                    "{from} is GeoJSON: ingest it first (sailkg ingest {from}) and generate from the source"
                ))
                .into());
            }
            "json" | "ndjson" | "jsonl" => {
                ctx.read_json(
                    name.as_ref(),
                    JsonReadOptions::default().file_extension(&format!(".{extension}")),
                )
                .await
            }
            _ => {
                return Err(UserError(format!(
                    "{from}: a file to generate from must be .csv, .tsv, .parquet, .json (an array of objects) or .ndjson; ingest other formats first and generate from the source"
                ))
                .into());
            }
        }
        .map_err(|e| UserError(format!("{from}: {}", brief(&e.to_string()))))?
    } else {
        let table = if from.contains('.') {
            from.to_owned()
        } else {
            format!("source.\"{}\"", from.replace('"', ""))
        };
        ctx.sql_with_options(&format!("SELECT * FROM {table}"), sailkg_sql::read_only())
            .await
            .map_err(|e| UserError(format!("{from} is neither a file nor a table: {e}")))?
    };
    let batches =
        frame.collect().await.map_err(|e| UserError(format!("{from}: {}", brief(&e.to_string()))))?;
    Ok(batches)
}

/// An error message cut to a readable length (readers may quote whole records).
fn brief(message: &str) -> String {
    match message.char_indices().nth(300) {
        Some((cut, _)) => format!("{} …", &message[..cut]),
        None => message.to_owned(),
    }
}

/// Whether a .json file holds an array (rather than one object per line).
fn json_array(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 4096];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .with_context(|| path.display().to_string())?;
    Ok(head[..n].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'['))
}

/// Whether a .json file is a GeoJSON feature collection.
fn is_geojson(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut head = vec![0u8; 8192];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .with_context(|| path.display().to_string())?;
    Ok(String::from_utf8_lossy(&head[..n]).contains("\"FeatureCollection\""))
}

/// A JSON array of objects as one record batch, its schema inferred from every object.
fn json_array_batch(path: &Path) -> Result<datafusion::arrow::array::RecordBatch> {
    use datafusion::arrow::json::reader::{ReaderBuilder, infer_json_schema_from_iterator};
    let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    let values: Vec<serde_json::Value> =
        serde_json::from_slice(&bytes).map_err(|e| UserError(format!("not a JSON array: {e}")))?;
    if let Some((i, _)) = values.iter().enumerate().find(|(_, v)| !v.is_object()) {
        return Err(UserError(format!("element {} of the array is not an object", i + 1)).into());
    }
    if values.is_empty() {
        return Err(UserError("the array is empty".into()).into());
    }
    let schema = infer_json_schema_from_iterator(values.iter().map(|v| Ok(v.clone())))?;
    // Messy files mix types in a column (a title that is a number): a text column takes every
    // scalar as its text.
    let mut values = values;
    for field in
        schema.fields().iter().filter(|f| f.data_type() == &datafusion::arrow::datatypes::DataType::Utf8)
    {
        for value in &mut values {
            if let Some(v) = value.get_mut(field.name())
                && (v.is_number() || v.is_boolean())
            {
                *v = serde_json::Value::String(v.to_string());
            }
        }
    }
    let mut decoder =
        ReaderBuilder::new(std::sync::Arc::new(schema)).with_batch_size(values.len()).build_decoder()?;
    decoder.serialize(&values)?;
    decoder.flush()?.ok_or_else(|| UserError("the array is empty".into()).into())
}

/// The class behind a class view and its (column, property) pairs.
struct ViewColumns {
    class: String,
    columns: Vec<(String, String)>,
}

fn view_columns(store: &sailkg_store::Store, config: &Config, view: &str) -> Result<Option<ViewColumns>> {
    let timeout = config.query_timeout();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let rows = runtime.block_on(async {
        let ctx = sailkg_sql::session(store, timeout)?;
        let sql = format!(
            "SELECT c.class, cc.\"column\", cc.property FROM meta.classes c JOIN meta.class_columns cc ON cc.view = c.view WHERE c.view = '{}'",
            view.replace('\'', "''")
        );
        let batches = sailkg_sql::run(&ctx, &sql, timeout, 100_000).await?;
        let mut rows = Vec::new();
        for batch in &batches {
            let text = |i: usize| {
                datafusion::arrow::compute::cast(batch.column(i), &datafusion::arrow::datatypes::DataType::Utf8)
            };
            let (class, column, property) = (text(0)?, text(1)?, text(2)?);
            let as_str = |a: &datafusion::arrow::array::ArrayRef, r: usize| {
                a.as_any().downcast_ref::<datafusion::arrow::array::StringArray>().map(|a| a.value(r).to_owned())
            };
            for r in 0..batch.num_rows() {
                if let (Some(c), Some(col), Some(p)) = (as_str(&class, r), as_str(&column, r), as_str(&property, r)) {
                    rows.push((c, col, p));
                }
            }
        }
        Ok::<_, anyhow::Error>(rows)
    })?;
    Ok(rows.first().map(|r| r.0.clone()).map(|class| ViewColumns {
        class,
        columns: rows.into_iter().map(|(_, column, property)| (column, property)).collect(),
    }))
}

/// The SHACL constraints of the class behind a class view, by column: the property shapes of
/// the node shapes targeting the class in the shapes graph (`sh:minInclusive`,
/// `sh:maxInclusive`, `sh:minExclusive`, `sh:maxExclusive`, `sh:in`, `sh:pattern`,
/// `sh:minCount`, and `sh:lessThan` / `sh:lessThanOrEquals` between two properties).
fn shacl_constraints(
    store: &sailkg_store::Store,
    config: &Config,
    view: &ViewColumns,
) -> Result<Constraints> {
    let timeout = config.query_timeout();
    let class = &view.class;
    let query = format!(
        "PREFIX sh: <http://www.w3.org/ns/shacl#> PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> \
         SELECT ?path ?kind ?value WHERE {{ GRAPH <{}> {{ ?shape sh:targetClass <{class}> ; sh:property ?ps . ?ps sh:path ?path . \
           {{ ?ps ?kind ?value FILTER(?kind IN (sh:minInclusive, sh:maxInclusive, sh:minExclusive, sh:maxExclusive, sh:pattern, sh:minCount, sh:lessThan, sh:lessThanOrEquals)) }} \
           UNION {{ ?ps sh:in ?list . ?list rdf:rest*/rdf:first ?value BIND(sh:in AS ?kind) }} }} }}",
        vocab::GRAPH_SHAPES
    );
    let budget = store.budget(timeout);
    let request = sailkg_store::QueryRequest { query: &query, ..Default::default() };
    let sailkg_store::QueryResults::Solutions(solutions) = store.query(&request, &budget)? else {
        return Ok(Constraints::default());
    };
    let mut constraints = Constraints::default();
    for solution in solutions {
        let solution = solution?;
        let (Some(Term::NamedNode(path)), Some(Term::NamedNode(kind)), Some(value)) =
            (solution.get("path"), solution.get("kind"), solution.get("value"))
        else {
            continue;
        };
        let Some((column, _)) = view.columns.iter().find(|r| r.1 == path.as_str()) else { continue };
        let entry = constraints.columns.entry(column.clone()).or_default();
        let text = match value {
            Term::Literal(l) => l.value().to_owned(),
            Term::NamedNode(n) => n.as_str().to_owned(),
            Term::BlankNode(_) | Term::Triple(_) => continue,
        };
        let number = text.parse::<f64>().ok();
        match kind.as_str().rsplit('#').next().unwrap_or("") {
            "minInclusive" => entry.min = number.map(|v| (v, true)),
            "minExclusive" => entry.min = number.map(|v| (v, false)),
            "maxInclusive" => entry.max = number.map(|v| (v, true)),
            "maxExclusive" => entry.max = number.map(|v| (v, false)),
            "pattern" => entry.pattern = Some(text),
            "minCount" => entry.required = number.is_some_and(|n| n >= 1.0),
            "in" => entry.allowed.get_or_insert_with(Vec::new).push(text),
            kind @ ("lessThan" | "lessThanOrEquals") => {
                // The other property's column, if the view has it.
                if let Some((larger, _)) = view.columns.iter().find(|r| r.1 == text) {
                    constraints.order.push(sailkg_gen::Order {
                        smaller: column.clone(),
                        larger: larger.clone(),
                        strict: kind == "lessThan",
                    });
                }
            }
            _ => {}
        }
    }
    Ok(constraints)
}

/// The rows as instances of the view's class in `urn:sailkg:graph:synthetic/{run}`, each
/// `prov:wasGeneratedBy` the run. Values are typed by their column: integers, doubles, dates,
/// timestamps, booleans; text that is an absolute IRI stays an IRI. All or nothing.
fn write_instances(
    store: &sailkg_store::Store,
    run: &str,
    view: &ViewColumns,
    batch: &datafusion::arrow::array::RecordBatch,
) -> Result<String> {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{
        DataType, Date32Type, Float64Type, Int64Type, TimestampMicrosecondType,
    };
    use oxigraph::model::vocab::{rdf, xsd};
    let graph = vocab::synthetic_graph(run);
    let graph_node = NamedNode::new(&graph)?;
    let activity = NamedNode::new_unchecked(format!("urn:sailkg:run:generate/{run}"));
    let class = NamedNode::new(&view.class)?;
    let generated_by = NamedNode::new_unchecked("http://www.w3.org/ns/prov#wasGeneratedBy");
    let schema = batch.schema();
    let mut quads = Vec::with_capacity(batch.num_rows() * (schema.fields().len() + 1));
    let subjects: Vec<NamedNode> = (0..batch.num_rows())
        .map(|i| NamedNode::new_unchecked(format!("urn:sailkg:synthetic:{run}/{i}")))
        .collect();
    for subject in &subjects {
        quads.push(Quad::new(subject.clone(), rdf::TYPE, class.clone(), graph_node.clone()));
        quads.push(Quad::new(subject.clone(), generated_by.clone(), activity.clone(), graph_node.clone()));
    }
    for (c, field) in schema.fields().iter().enumerate() {
        let Some((_, property)) = view.columns.iter().find(|(column, _)| column == field.name()) else {
            continue;
        };
        let property = NamedNode::new(property)?;
        let array = batch.column(c);
        for (row, subject) in subjects.iter().enumerate() {
            if array.is_null(row) {
                continue;
            }
            let typed = |value: String, datatype| Term::from(Literal::new_typed_literal(value, datatype));
            let object = match field.data_type() {
                DataType::Int64 => {
                    typed(array.as_primitive::<Int64Type>().value(row).to_string(), xsd::INTEGER)
                }
                DataType::Float64 => {
                    let v = array.as_primitive::<Float64Type>().value(row);
                    typed(if v.is_finite() { format!("{v:?}") } else { "NaN".into() }, xsd::DOUBLE)
                }
                DataType::Boolean => typed(array.as_boolean().value(row).to_string(), xsd::BOOLEAN),
                DataType::Date32 => {
                    let (y, m, d) = sailkg_core::terms::civil_from_days(i64::from(
                        array.as_primitive::<Date32Type>().value(row),
                    ));
                    typed(format!("{y:04}-{m:02}-{d:02}"), xsd::DATE)
                }
                DataType::Timestamp(..) => {
                    let micros = array.as_primitive::<TimestampMicrosecondType>().value(row);
                    let seconds = micros.div_euclid(1_000_000);
                    let (y, m, d) = sailkg_core::terms::civil_from_days(seconds.div_euclid(86_400));
                    let s = seconds.rem_euclid(86_400);
                    typed(
                        format!(
                            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
                            s / 3600,
                            s / 60 % 60,
                            s % 60,
                            micros.rem_euclid(1_000_000)
                        ),
                        xsd::DATE_TIME,
                    )
                }
                _ => {
                    let text = datafusion::arrow::util::display::array_value_to_string(array, row)?;
                    let looks_like_iri = ["http://", "https://", "urn:"].iter().any(|p| text.starts_with(p));
                    match NamedNode::new(&text) {
                        Ok(iri) if looks_like_iri => iri.into(),
                        _ => Literal::new_simple_literal(text).into(),
                    }
                }
            };
            quads.push(Quad::new(subject.clone(), property.clone(), object, graph_node.clone()));
        }
    }
    store.oxigraph().extend(quads).map_err(sailkg_store::StoreError::from)?;
    store.mark_changed();
    Ok(graph)
}

fn write(path: &Path, batch: &datafusion::arrow::array::RecordBatch) -> Result<()> {
    let partial = path.with_extension("partial");
    let file = std::fs::File::create(&partial).with_context(|| partial.display().to_string())?;
    let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        let mut writer = datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(file);
        writer.write(batch)?;
    } else {
        let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None)?;
        writer.write(batch)?;
        writer.close()?;
    }
    std::fs::rename(&partial, path).with_context(|| path.display().to_string())?;
    Ok(())
}

/// The run as a `sail:GenerationRun` activity in the catalogue, generating the table.
#[allow(clippy::too_many_arguments)]
fn record(
    store: &sailkg_store::Store,
    run: &str,
    request: &Request,
    method: &str,
    seed: u64,
    condition: &Condition,
    table: &Path,
    rows: usize,
    started: std::time::SystemTime,
    report: &sailkg_gen::eval::Report,
) -> Result<()> {
    let prov = |local: &str| NamedNode::new_unchecked(format!("http://www.w3.org/ns/prov#{local}"));
    let sail = |local: &str| NamedNode::new_unchecked(format!("{}{local}", vocab::SAIL));
    let catalog = NamedNode::new_unchecked(vocab::GRAPH_CATALOG);
    let activity = NamedNode::new_unchecked(format!("urn:sailkg:run:generate/{run}"));
    let output = sailkg_core::terms::file_iri(table);
    let integer = |v: u64| Literal::new_typed_literal(v.to_string(), oxigraph::model::vocab::xsd::INTEGER);
    let mut facts: Vec<(NamedNode, Term)> = vec![
        (oxigraph::model::vocab::rdf::TYPE.into_owned(), prov("Activity").into()),
        (oxigraph::model::vocab::rdf::TYPE.into_owned(), sail("GenerationRun").into()),
        (prov("startedAtTime"), sailkg_core::terms::date_time(started).into()),
        (prov("endedAtTime"), sailkg_core::terms::date_time(std::time::SystemTime::now()).into()),
        (prov("generated"), output.clone().into()),
        (sail("method"), Literal::new_simple_literal(method).into()),
        (
            sail("seed"),
            Literal::new_typed_literal(seed.to_string(), oxigraph::model::vocab::xsd::UNSIGNED_LONG).into(),
        ),
        (sail("rowCount"), integer(rows as u64).into()),
        (sail("table"), Literal::new_simple_literal(format!("synthetic.{run}")).into()),
        (sail("source"), Literal::new_simple_literal(&request.from).into()),
    ];
    if !condition.is_empty() {
        facts.push((sail("condition"), Literal::new_simple_literal(&condition.text).into()));
    }
    let double = |v: f64| Literal::new_typed_literal(format!("{v:?}"), oxigraph::model::vocab::xsd::DOUBLE);
    facts.push((sail("fidelity"), double(report.fidelity).into()));
    facts.push((sail("exactCopyShare"), double(report.exact_copy_share).into()));
    let mut quads: Vec<Quad> =
        facts.into_iter().map(|(p, o)| Quad::new(activity.clone(), p, o, catalog.clone())).collect();
    quads.push(Quad::new(output, prov("wasGeneratedBy"), activity, catalog));
    store.oxigraph().extend(quads).map_err(sailkg_store::StoreError::from)?;
    store.mark_changed();
    Ok(())
}

/// Removes what the catalogue and the store say of run `run` (its provenance and instances) before
/// a replacement is written; its files are overwritten by the new run.
fn forget(store: &sailkg_store::Store, run: &str) -> Result<()> {
    let activity = format!("urn:sailkg:run:generate/{run}");
    let update = format!(
        "DELETE WHERE {{ GRAPH <{catalog}> {{ <{activity}> ?p ?o }} }};\n\
         DELETE WHERE {{ GRAPH <{catalog}> {{ ?s <http://www.w3.org/ns/prov#wasGeneratedBy> <{activity}> }} }};\n\
         CLEAR SILENT GRAPH <{graph}>",
        catalog = vocab::GRAPH_CATALOG,
        graph = vocab::synthetic_graph(run),
    );
    let budget = store.budget(std::time::Duration::from_secs(600));
    store.update(&sailkg_store::UpdateRequest { update: &update, ..Default::default() }, &budget)?;
    Ok(())
}

/// `sailkg eval`: a synthetic table against the real one.
pub(crate) fn eval(
    config: &Config,
    real: &str,
    synthetic: &str,
    holdout: Option<&str>,
    target: Option<&str>,
    html: Option<&Path>,
) -> Result<()> {
    let store = open(config)?;
    let mut froms = vec![real, synthetic];
    froms.extend(holdout);
    let mut tables = load_tables(&store, config, &froms)?.into_iter();
    let (real_table, synthetic_table) = (tables.next().expect("real"), tables.next().expect("synthetic"));
    let holdout_table = tables.next();
    let evaluation = sailkg_gen::eval::evaluate(&real_table, &synthetic_table);
    let privacy = sailkg_gen::eval::privacy(&real_table, holdout_table.as_ref(), &synthetic_table);
    let utility = match (&holdout_table, target) {
        (Some(holdout), Some(target)) => Some(
            sailkg_gen::utility::utility(&real_table, holdout, &synthetic_table, target)
                .map_err(|e| UserError(format!("utility: {e}")))?,
        ),
        _ => None,
    };
    let report = serde_json::json!({
        "real": real, "synthetic": synthetic, "holdout": holdout,
        "fidelity": evaluation.fidelity, "evaluation": evaluation, "privacy": privacy, "utility": utility,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if let Some(path) = html {
        let page = sailkg_gen::report::html(
            &format!("{synthetic} against {real}"),
            &report,
            &real_table,
            &synthetic_table,
            &[],
        );
        std::fs::write(path, page).with_context(|| path.display().to_string())?;
        eprintln!("report written to {}", path.display());
    }
    Ok(())
}

/// What `sailkg analyze te` was asked.
#[derive(Debug)]
pub(crate) struct TeRequest {
    pub series_a: String,
    pub series_b: String,
    pub time: Option<String>,
    pub lag: usize,
    pub bins: usize,
    pub k: usize,
    pub permutations: usize,
    pub seed: u64,
    pub json: bool,
}

/// `sailkg analyze te`: transfer entropy both ways, two estimators, permutation tests.
pub(crate) fn transfer_entropy(config: &Config, request: TeRequest) -> Result<()> {
    use sailkg_gen::te::{Estimator, transfer_entropy};
    let split = |series: &str| -> Result<(String, String)> {
        series
            .rsplit_once(':')
            .filter(|(from, column)| !from.is_empty() && !column.is_empty())
            .map(|(from, column)| (from.to_owned(), column.to_owned()))
            .ok_or_else(|| {
                UserError(format!("{series}: write a series as FROM:COLUMN, e.g. weather.csv:rain")).into()
            })
    };
    let ((from_a, column_a), (from_b, column_b)) = (split(&request.series_a)?, split(&request.series_b)?);
    let store = open(config)?;
    let number = |table: &sailkg_gen::Table, from: &str, column: &str| -> Result<Vec<Option<f64>>> {
        let p = table.position(column).ok_or_else(|| {
            UserError(format!(
                "{from} has no column {column}; it has {}",
                table.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })?;
        match &table.columns[p].values {
            sailkg_gen::Values::Numbers { values, .. } => Ok(values.clone()),
            sailkg_gen::Values::Labels { .. } => {
                Err(UserError(format!("{from}:{column} holds labels, not numbers")).into())
            }
        }
    };
    let (table_a, table_b) = if from_b == from_a {
        (load_table(&store, config, &from_a)?, None)
    } else {
        let mut tables = load_tables(&store, config, &[&from_a, &from_b])?;
        let b = tables.pop();
        (tables.remove(0), b)
    };
    let (a, b) = match (&table_b, &request.time) {
        (None, time) => {
            let (a, b) = (number(&table_a, &from_a, &column_a)?, number(&table_a, &from_a, &column_b)?);
            let mut rows: Vec<usize> = (0..a.len()).filter(|&r| a[r].is_some() && b[r].is_some()).collect();
            if let Some(time) = time {
                let t = number(&table_a, &from_a, time)?;
                rows.retain(|&r| t[r].is_some());
                rows.sort_by(|x, y| t[*x].unwrap_or(0.0).total_cmp(&t[*y].unwrap_or(0.0)));
            }
            (
                rows.iter().map(|&r| a[r].unwrap_or(0.0)).collect::<Vec<_>>(),
                rows.iter().map(|&r| b[r].unwrap_or(0.0)).collect(),
            )
        }
        (Some(table_b), Some(time)) => {
            let (a, ta) = (number(&table_a, &from_a, &column_a)?, number(&table_a, &from_a, time)?);
            let (b, tb) = (number(table_b, &from_b, &column_b)?, number(table_b, &from_b, time)?);
            let at: std::collections::HashMap<u64, f64> =
                tb.iter().zip(&b).filter_map(|(t, v)| Some((t.as_ref()?.to_bits(), (*v)?))).collect();
            let mut pairs: Vec<(f64, f64, f64)> = ta
                .iter()
                .zip(&a)
                .filter_map(|(t, v)| Some((*t.as_ref()?, (*v)?, *at.get(&t.as_ref()?.to_bits())?)))
                .collect();
            pairs.sort_by(|x, y| x.0.total_cmp(&y.0));
            (pairs.iter().map(|p| p.1).collect(), pairs.iter().map(|p| p.2).collect())
        }
        (Some(_), None) => {
            return Err(UserError(
                "series from two tables are joined on --time: name the time column".into(),
            )
            .into());
        }
    };
    let mut results = Vec::new();
    for (name, source, target) in [
        (format!("{} → {}", request.series_a, request.series_b), &a, &b),
        (format!("{} → {}", request.series_b, request.series_a), &b, &a),
    ] {
        for estimator in [Estimator::Binned { bins: request.bins }, Estimator::Knn { k: request.k }] {
            let estimate =
                transfer_entropy(source, target, estimator, request.lag, request.permutations, request.seed)
                    .map_err(|e| UserError(e.to_string()))?;
            results.push((name.clone(), estimate));
        }
    }
    if request.json {
        let json: Vec<serde_json::Value> = results
            .iter()
            .map(|(direction, e)| serde_json::json!({"direction": direction, "estimate": e}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("{} aligned values, lag {}, {} shuffles", a.len(), request.lag, request.permutations);
        for (direction, e) in &results {
            let (estimator, unit) = match e.estimator {
                Estimator::Binned { bins } => (format!("binned ({bins} bins)"), "bits"),
                Estimator::Knn { k } => (format!("k-NN (k = {k})"), "nats"),
            };
            println!(
                "{direction:<40} {estimator:<16} TE {:>8.4} {unit}  (shuffled mean {:.4})  p = {:.3}",
                e.transfer_entropy, e.shuffled_mean, e.p_value
            );
        }
    }
    Ok(())
}
