//! `sailkg generate`: fits a generator on a table (a CSV, Parquet or JSON file, a catalogued
//! source, or any SQL table such as a class view `kg.<class>`), samples rows under a condition,
//! and writes them as `tables/synthetic/{run}.parquet` with the run as a PROV activity in the
//! catalogue (and to `--out` if given).

use crate::UserError;
use crate::commands::{Change, open, reindex};
use anyhow::{Context, Result};
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions};
use oxigraph::model::{Literal, NamedNode, Quad, Term};
use sailkg_core::{Config, vocab};
use sailkg_gen::{Condition, Constraints, FitOptions, Method, Role};
use std::path::{Path, PathBuf};

/// What `sailkg generate` was asked.
#[derive(Debug)]
pub(crate) struct Request {
    pub from: String,
    pub method: crate::GenMethod,
    pub n: usize,
    pub condition: Option<String>,
    pub seed: Option<u64>,
    pub stratify: Option<String>,
    pub smooth: Option<f64>,
    pub name: Option<String>,
    pub out: Option<PathBuf>,
    pub model_out: Option<PathBuf>,
    pub into_store: bool,
}

pub(crate) fn generate(config: &Config, request: Request) -> Result<()> {
    let condition = Condition::parse(request.condition.as_deref().unwrap_or(""))
        .map_err(|e| UserError(format!("--where: {e}")))?;
    let method = match (request.method, &request.stratify, request.smooth) {
        (crate::GenMethod::Bootstrap, Some(_), Some(_)) => {
            return Err(
                UserError("--stratify and --smooth are two kinds of bootstrap: choose one".into()).into()
            );
        }
        (crate::GenMethod::Bootstrap, Some(_), None) => Method::StratifiedBootstrap,
        (crate::GenMethod::Bootstrap, None, Some(_)) => Method::SmoothedBootstrap,
        (crate::GenMethod::Bootstrap, None, None) => Method::Bootstrap,
        (crate::GenMethod::Copula, None, None) => Method::Copula,
        (crate::GenMethod::Smote, None, None) => Method::Smote,
        (crate::GenMethod::Copula | crate::GenMethod::Smote, ..) => {
            return Err(UserError("--stratify and --smooth apply to the bootstrap only".into()).into());
        }
    };
    let store = open(config)?;
    let started = std::time::SystemTime::now();
    let batches = read(&store, config, &request.from)?;
    // Several values per instance (list columns of class views) are not generated yet.
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
        sailkg_gen::Table::from_batches(&batches).map_err(|e| UserError(format!("{}: {e}", request.from)))?;
    for column in &mut table.columns {
        if column.name == "iri" {
            column.role = Role::Id;
        }
    }
    let view = match request.from.strip_prefix("kg.") {
        Some(view) if !Path::new(&request.from).exists() => view_columns(&store, config, view)?,
        _ => None,
    };
    if request.into_store && view.is_none() {
        return Err(
            UserError("--into-store writes instances of a class: generate --from kg.<class>".into()).into()
        );
    }
    let constraints = match &view {
        Some(view) => shacl_constraints(&store, config, view)?,
        None => Constraints::default(),
    };
    let constraints = Constraints {
        columns: constraints.columns.into_iter().filter(|(name, _)| table.position(name).is_some()).collect(),
    };
    let options = FitOptions { class: request.stratify.clone(), smoothing: request.smooth.unwrap_or(0.0) };
    let fit_start = std::time::Instant::now();
    let model = sailkg_gen::fit(method, &table, &constraints, &options)
        .map_err(|e| UserError(format!("{}: {e}", request.from)))?;
    let fit_seconds = fit_start.elapsed().as_secs_f64();
    let seed = request.seed.unwrap_or_else(|| {
        started.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
    });
    let sample_start = std::time::Instant::now();
    let sample = model.sample(request.n, &condition, seed).map_err(|e| UserError(e.to_string()))?;
    let sample_seconds = sample_start.elapsed().as_secs_f64();
    for warning in &sample.warnings {
        eprintln!("warning: {warning}");
    }
    let batch = sample.table.to_batch()?;
    // Evaluation against the real rows, and against those inside the condition (the rare case).
    let report = sailkg_gen::eval::evaluate(&table, &sample.table);
    let regions = sailkg_gen::region::regions(&table, &constraints, &condition)?;
    let inside: Vec<usize> = (0..table.rows()).filter(|&r| regions.contains(&table, r)).collect();
    let conditional = (!condition.is_empty() && !inside.is_empty())
        .then(|| sailkg_gen::eval::evaluate(&table.select(&inside), &sample.table));
    let run = match &request.name {
        Some(name) if is_sql_name(name) => name.clone(),
        Some(name) => {
            return Err(UserError(format!(
                "--name {name}: use letters, digits and underscores, starting with a letter (it becomes the table synthetic.{name})"
            ))
            .into());
        }
        None => format!("{}_{}_{seed:x}", method.name().replace('-', "_"), stamp(started)),
    };
    let dir = store.data_dir().join("tables").join("synthetic");
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    let table_path = dir.join(format!("{run}.parquet"));
    if table_path.exists() {
        return Err(UserError(format!("synthetic.{run} exists already; choose another --name")).into());
    }
    write(&table_path, &batch)?;
    if let Some(out) = &request.out {
        write(out, &batch)?;
    }
    if let Some(path) = &request.model_out {
        std::fs::write(path, model.to_json()).with_context(|| path.display().to_string())?;
    }
    let report_path = dir.join(format!("{run}.report.json"));
    let report_json = serde_json::json!({
        "run": run, "method": method.name(), "seed": seed, "from": request.from, "condition": condition.text,
        "rows": batch.num_rows(), "fit_seconds": fit_seconds, "sample_seconds": sample_seconds,
        "warnings": sample.warnings, "against_all_real_rows": report, "against_real_rows_in_condition": conditional,
    });
    std::fs::write(&report_path, serde_json::to_string_pretty(&report_json)?)
        .with_context(|| report_path.display().to_string())?;
    record(
        &store,
        &run,
        &request,
        method,
        seed,
        &condition,
        &table_path,
        batch.num_rows(),
        started,
        &report,
    )?;
    let mut changed = vec![Some(vocab::GRAPH_CATALOG.to_owned())];
    if let (true, Some(view)) = (request.into_store, &view) {
        let graph = write_instances(&store, &run, view, &batch)?;
        println!("{} instances of <{}> written to <{graph}>", batch.num_rows(), view.class);
        changed.push(Some(graph));
    }
    reindex(&store, Change::Graphs(changed));
    println!(
        "{} rows by {} from {} (fit {:.3} s, sample {:.3} s, {:.0} rows/s), seed {seed}",
        batch.num_rows(),
        method.name(),
        request.from,
        fit_seconds,
        sample_seconds,
        batch.num_rows() as f64 / sample_seconds.max(1e-9)
    );
    let correlation =
        report.correlation_similarity.map(|c| format!(", correlation similarity {c:.3}")).unwrap_or_default();
    println!(
        "fidelity {:.3} (mean KS/TV complement){correlation}, exact copies {:.1}%",
        report.fidelity,
        100.0 * report.exact_copy_share
    );
    if let Some(conditional) = &conditional {
        println!(
            "fidelity to the {} real rows inside the condition: {:.3}",
            conditional.real_rows, conditional.fidelity
        );
    }
    println!("written to {} (SQL: synthetic.{run}), report {}", table_path.display(), report_path.display());
    if let Some(out) = &request.out {
        println!("and to {}", out.display());
    }
    Ok(())
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

/// The rows of `from`: a file by its extension, else a catalogued source, else an SQL table.
fn read(
    store: &sailkg_store::Store,
    config: &Config,
    from: &str,
) -> Result<Vec<datafusion::arrow::array::RecordBatch>> {
    let timeout = config.query_timeout();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let ctx = sailkg_sql::session(store, timeout)?;
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
                "json" | "ndjson" | "jsonl" => {
                    ctx.read_json(
                        name.as_ref(),
                        JsonReadOptions::default().file_extension(&format!(".{extension}")),
                    )
                    .await
                }
                _ => {
                    return Err(UserError(format!(
                        "{from}: a file to generate from must be .csv, .tsv, .parquet or .ndjson"
                    ))
                    .into());
                }
            }
            .map_err(|e| UserError(format!("{from}: {e}")))?
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
        let batches = frame.collect().await.map_err(|e| UserError(format!("{from}: {e}")))?;
        Ok(batches)
    })
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
/// `sh:minCount`).
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
           {{ ?ps ?kind ?value FILTER(?kind IN (sh:minInclusive, sh:maxInclusive, sh:minExclusive, sh:maxExclusive, sh:pattern, sh:minCount)) }} \
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
            Term::BlankNode(_) => continue,
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
    method: Method,
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
        (sail("method"), Literal::new_simple_literal(method.name()).into()),
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
