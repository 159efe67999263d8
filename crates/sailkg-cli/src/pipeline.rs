//! `sailkg run PIPELINE.toml` and `sailkg demo`: a pipeline's steps done by the same code as the
//! commands (`ingest`, `load`, `map`, `link`, `generate`), skipped when unchanged, recorded as
//! PROV in the catalogue.

use crate::UserError;
use crate::commands::{Change, open, reindex};
use anyhow::{Context, Result};
use oxigraph::model::{GraphName, Literal, NamedNode, Quad, Term};
use sailkg_core::{Config, vocab};
use sailkg_pipeline::{Event, Executor, Mapping, Outcome, Pipeline, RunReport, Step, StepKind};
use std::path::{Path, PathBuf};

/// The files of the demo, written into the data directory by `sailkg demo`.
const DEMO_FILES: [(&str, &[u8]); 12] = [
    ("pipeline.toml", include_bytes!("../../../demo/pipeline.toml")),
    ("README.md", include_bytes!("../../../demo/README.md")),
    ("ontology.ttl", include_bytes!("../../../demo/ontology.ttl")),
    ("shapes.ttl", include_bytes!("../../../demo/shapes.ttl")),
    ("mappings/airports.yml", include_bytes!("../../../demo/mappings/airports.yml")),
    ("mappings/routes.yml", include_bytes!("../../../demo/mappings/routes.yml")),
    ("data/airports.csv", include_bytes!("../../../demo/data/airports.csv")),
    ("data/flights-airport.csv", include_bytes!("../../../demo/data/flights-airport.csv")),
    ("data/disasters.csv", include_bytes!("../../../demo/data/disasters.csv")),
    ("data/movies.json", include_bytes!("../../../demo/data/movies.json")),
    ("data/earthquakes.json", include_bytes!("../../../demo/data/earthquakes.json")),
    ("data/gapminder.json", include_bytes!("../../../demo/data/gapminder.json")),
];

/// Does each step with the commands' code; every step opens the store and closes it again.
struct Steps<'a> {
    config: &'a Config,
}

impl Executor for Steps<'_> {
    fn execute(&mut self, pipeline: &Pipeline, step: &Step) -> std::result::Result<String, String> {
        self.step(pipeline, step).map_err(|e| format!("{e:#}"))
    }
}

impl Steps<'_> {
    fn step(&self, pipeline: &Pipeline, step: &Step) -> Result<String> {
        let input = step.inputs.first().map(PathBuf::as_path);
        match step.kind {
            StepKind::Ingest => {
                let source = pipeline
                    .sources
                    .iter()
                    .find(|s| format!("ingest:{}", s.name) == step.id)
                    .context("the step's source is not in the pipeline")?;
                self.ingest(source)
            }
            StepKind::Ontology => self.load(input.context("no file")?, vocab::GRAPH_ONTOLOGY),
            StepKind::Shapes => self.load(input.context("no file")?, vocab::GRAPH_SHAPES),
            StepKind::Map => {
                let suggested = pipeline.mappings.iter().find_map(|m| match m {
                    Mapping::Auto { source, ontology, base } if step.id == format!("map:auto-{source}") => {
                        Some((source, ontology, base.as_deref().unwrap_or(sailkg_map::DEFAULT_BASE)))
                    }
                    _ => None,
                });
                let (file, base) = match suggested {
                    Some((source, ontology, base)) => {
                        let text = crate::commands::suggested_mapping(self.config, source, ontology, base)?;
                        let dir = self.config.data_dir.join("pipelines").join(&pipeline.name);
                        std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
                        let file = dir.join(format!("{source}.suggested.ttl"));
                        std::fs::write(&file, text).with_context(|| file.display().to_string())?;
                        (file, base.to_owned())
                    }
                    None => (input.context("no file")?.to_owned(), sailkg_map::DEFAULT_BASE.to_owned()),
                };
                crate::commands::map(self.config, &file, None, true, None, base)?;
                Ok(match suggested {
                    Some(_) => format!("mapped into the store by the suggested mapping {}", file.display()),
                    None => "mapped into the store".into(),
                })
            }
            StepKind::Link => {
                crate::commands::link(self.config, input.context("no file")?, false, 0)?;
                Ok("links written".into())
            }
            StepKind::Generate => {
                let job = pipeline
                    .jobs
                    .iter()
                    .find(|j| format!("generate:{}", j.name) == step.id)
                    .context("the step's job is not in the pipeline")?;
                let mut request = generate_request(
                    &job.from,
                    &job.method,
                    job.n,
                    &[
                        ("--where", job.condition.clone()),
                        ("--seed", job.seed.map(|s| s.to_string())),
                        ("--epochs", job.epochs.map(|e| e.to_string())),
                        ("--holdout", job.holdout.map(|h| h.to_string())),
                        ("--target", job.target.clone()),
                        ("--out", job.out.as_ref().map(|o| o.display().to_string())),
                        ("--name", Some(job.name.clone())),
                    ],
                )
                .map_err(UserError)?;
                if let Some(dir) = job.out.as_ref().and_then(|o| o.parent()) {
                    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
                }
                // A job whose settings changed replaces its earlier rows.
                request.replace = true;
                let store = open(self.config)?;
                let generated = crate::generate::run(&store, self.config, request)?;
                reindex(&store, Change::Graphs(generated.graphs));
                Ok(format!("{} rows in synthetic.{}", generated.rows, generated.run))
            }
        }
    }

    fn ingest(&self, source: &sailkg_pipeline::Source) -> Result<String> {
        use sailkg_ingest::SourceFormat as F;
        let format = match source.format.as_str() {
            "csv" => Some(F::Csv),
            "tsv" => Some(F::Tsv),
            "json" => Some(F::Json),
            "ndjson" => Some(F::Ndjson),
            "geojson" => Some(F::GeoJson),
            "parquet" => Some(F::Parquet),
            "xlsx" => Some(F::Excel),
            "text" => Some(F::Text),
            "image" => Some(F::Image),
            _ => None,
        };
        let rules = match &source.rules {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
                sailkg_ingest::Rules::from_toml(&text, &path.display().to_string())?
            }
            None => sailkg_ingest::Rules::default(),
        };
        let store = open(self.config)?;
        let options = sailkg_ingest::IngestOptions { name: Some(source.name.clone()), format, rules };
        let report = sailkg_ingest::ingest(&store, &source.path, &options)?;
        if !report.unchanged {
            reindex(&store, Change::Graphs(vec![Some(vocab::GRAPH_CATALOG.to_owned())]));
        }
        Ok(format!(
            "{} rows of {} into source.{} (version {}{})",
            report.rows_written,
            report.rows_read,
            report.source,
            report.version,
            if report.rows_rejected > 0 {
                format!(", {} rejected", report.rows_rejected)
            } else {
                String::new()
            }
        ))
    }

    fn load(&self, file: &Path, graph: &str) -> Result<String> {
        let store = open(self.config)?;
        let input = sailkg_store::open_input(file, None, None)?;
        let graph_name = GraphName::from(NamedNode::new_unchecked(graph));
        store.load_small(vec![input], &graph_name, false)?;
        reindex(&store, Change::Graphs(vec![Some(graph.to_owned())]));
        Ok(format!("loaded into <{graph}>"))
    }
}

/// A generation as `sailkg generate` flags read by the command's parser, so a pipeline job and
/// a server job mean exactly what the command means. `optional` flags without a value are left
/// out.
pub(crate) fn generate_request(
    from: &str,
    method: &str,
    n: u64,
    optional: &[(&str, Option<String>)],
) -> std::result::Result<crate::GenerateArgs, String> {
    use clap::Parser;
    let mut argv: Vec<String> =
        ["sailkg", "generate", "--from", from, "--method", method].into_iter().map(str::to_owned).collect();
    argv.extend(["--n".to_owned(), n.to_string()]);
    for (flag, value) in optional {
        if let Some(value) = value {
            argv.extend([(*flag).to_owned(), value.clone()]);
        }
    }
    let cli = crate::Cli::try_parse_from(&argv).map_err(|e| {
        // clap's message without its usage lines.
        e.to_string()
            .lines()
            .take_while(|l| !l.starts_with("Usage:"))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_owned()
    })?;
    match cli.command {
        crate::Command::Generate(request) => Ok(*request),
        _ => Err("not a generation".into()),
    }
}

/// `sailkg run`.
pub(crate) fn run(config: &Config, file: &Path, dry_run: bool, json: bool) -> Result<()> {
    let pipeline = Pipeline::read(file).map_err(|invalid| UserError(invalid.to_string()))?;
    let report = run_pipeline(config, &pipeline, dry_run, !json)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    if report.succeeded() {
        Ok(())
    } else {
        let failed: Vec<&str> =
            report.steps.iter().filter(|s| s.outcome == Outcome::Failed).map(|s| s.id.as_str()).collect();
        Err(UserError(format!(
            "{} failed; what finished is kept, and `sailkg run {}` again resumes",
            failed.join(", "),
            file.display()
        ))
        .into())
    }
}

/// Runs `pipeline` on the data directory of `config`, printing progress when `verbose`.
fn run_pipeline(config: &Config, pipeline: &Pipeline, dry_run: bool, verbose: bool) -> Result<RunReport> {
    let state = config.data_dir.join("pipelines").join(format!("{}.state.json", pipeline.name));
    let started = std::time::SystemTime::now();
    let mut progress = |event: Event<'_>| {
        if !verbose {
            return;
        }
        match event {
            Event::Started { index, total, step } => println!("[{index}/{total}] {} …", step.id),
            Event::Finished { index, total, report } => {
                let what = match report.outcome {
                    Outcome::Ran => "done",
                    Outcome::Skipped => "skipped",
                    Outcome::Failed => "FAILED",
                    Outcome::Blocked => "blocked",
                    Outcome::WouldRun => "would run",
                };
                println!(
                    "[{index}/{total}] {} {what} in {:.2} s: {}",
                    report.id, report.seconds, report.message
                );
            }
        }
    };
    let mut steps = Steps { config };
    let report =
        sailkg_pipeline::execute(pipeline, &state, &mut steps, dry_run, &mut progress).map_err(UserError)?;
    if !dry_run {
        let store = open(config)?;
        record(&store, pipeline, &report, started)?;
        reindex(&store, Change::Graphs(vec![Some(vocab::GRAPH_CATALOG.to_owned())]));
    }
    Ok(report)
}

/// The run as PROV in the catalogue: a `sail:PipelineRun` that used the pipeline file, and one
/// activity per step, part of it, with its outcome, fingerprint and message.
fn record(
    store: &sailkg_store::Store,
    pipeline: &Pipeline,
    report: &RunReport,
    started: std::time::SystemTime,
) -> Result<()> {
    let prov = |local: &str| NamedNode::new_unchecked(format!("http://www.w3.org/ns/prov#{local}"));
    let sail = |local: &str| NamedNode::new_unchecked(format!("{}{local}", vocab::SAIL));
    let rdf_type = oxigraph::model::vocab::rdf::TYPE.into_owned();
    let label = oxigraph::model::vocab::rdfs::LABEL.into_owned();
    let text = |s: &str| -> Term { Literal::new_simple_literal(s).into() };
    let catalog = NamedNode::new_unchecked(vocab::GRAPH_CATALOG);
    let stamp = started.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let run = NamedNode::new_unchecked(format!("urn:sailkg:run:pipeline/{}/{stamp}", pipeline.name));
    let mut facts: Vec<(NamedNode, NamedNode, Term)> = vec![
        (run.clone(), rdf_type.clone(), prov("Activity").into()),
        (run.clone(), rdf_type.clone(), sail("PipelineRun").into()),
        (run.clone(), label.clone(), text(&format!("pipeline {}", pipeline.name))),
        (run.clone(), prov("startedAtTime"), sailkg_core::terms::date_time(started).into()),
        (
            run.clone(),
            prov("endedAtTime"),
            sailkg_core::terms::date_time(std::time::SystemTime::now()).into(),
        ),
        (run.clone(), prov("used"), sailkg_core::terms::file_iri(&pipeline.file).into()),
        (run.clone(), sail("status"), text(if report.succeeded() { "succeeded" } else { "failed" })),
    ];
    for step in &report.steps {
        let id: String = step
            .id
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
            .collect();
        let node = NamedNode::new_unchecked(format!("{}/step/{id}", run.as_str()));
        let outcome = serde_json::to_value(&step.outcome)?.as_str().unwrap_or_default().to_owned();
        facts.extend([
            (node.clone(), rdf_type.clone(), prov("Activity").into()),
            (node.clone(), label.clone(), text(&step.id)),
            (node.clone(), NamedNode::new_unchecked("http://purl.org/dc/terms/isPartOf"), run.clone().into()),
            (node.clone(), sail("outcome"), text(&outcome)),
            (node.clone(), sail("message"), text(&step.message)),
        ]);
        if !step.fingerprint.is_empty() {
            facts.push((node.clone(), sail("fingerprint"), text(&step.fingerprint)));
        }
        if let Some(job) = step.id.strip_prefix("generate:")
            && step.outcome == Outcome::Ran
        {
            let generation = NamedNode::new_unchecked(format!("urn:sailkg:run:generate/{job}"));
            facts.push((generation, prov("wasInformedBy"), node.into()));
        }
    }
    let quads: Vec<Quad> = facts.into_iter().map(|(s, p, o)| Quad::new(s, p, o, catalog.clone())).collect();
    store.oxigraph().extend(quads).map_err(sailkg_store::StoreError::from)?;
    store.mark_changed();
    Ok(())
}

/// `sailkg demo`: the bundled corpus written into the data directory, its pipeline run (steps
/// that are done already are skipped), then the server with a fresh admin token for the page.
pub(crate) fn demo(mut config: Config) -> Result<()> {
    let folder = config.data_dir.join("demo");
    for (name, bytes) in DEMO_FILES {
        let path = folder.join(name);
        if std::fs::read(&path).is_ok_and(|old| old == bytes) {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
        }
        std::fs::write(&path, bytes).with_context(|| path.display().to_string())?;
    }
    crate::commands::init_if_empty(&config)?;
    println!("running the demo pipeline ({}) …", folder.join("pipeline.toml").display());
    let pipeline =
        Pipeline::read(&folder.join("pipeline.toml")).map_err(|invalid| UserError(invalid.to_string()))?;
    let report = run_pipeline(&config, &pipeline, false, true)?;
    if !report.succeeded() {
        eprintln!("some demo steps failed (above); serving what is there");
    }
    let token = match config.auth.tokens.iter().find(|t| t.role == sailkg_core::Role::Admin) {
        Some(t) => t.token.clone(),
        None => {
            let token = random_token()?;
            config.auth.tokens.push(sailkg_core::TokenConfig {
                name: "demo".into(),
                token: token.clone(),
                role: sailkg_core::Role::Admin,
            });
            token
        }
    };
    crate::commands::serve_with(config, move |addr| {
        println!("open http://{addr}/#token={token} (the token lets this browser start generation jobs)");
    })
}

/// 128 random bits from the operating system, as hex.
fn random_token() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for a token; set SAILKG_ADMIN_TOKEN instead")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
