//! What each command does.

use crate::{
    CatalogAction, Cli, Command, IndexAction, IngestFormat, MapAction, OutputFormat, RdfSyntax, SqlFormat,
    UserError,
};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use oxigraph::io::{JsonLdProfileSet, RdfFormat};
use oxigraph::model::{GraphName, NamedNode};
use oxigraph::sparql::results::QueryResultsFormat;
use sailkg_core::{Config, vocab};
use sailkg_store::{LoadInput, LoadProgress, QueryRequest, ResultsFormat, Store, UpdateRequest};
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The SAIL-KG core ontology, loaded by `init` into the ontology graph.
const CORE_ONTOLOGY: &str = include_str!("../../../ontologies/sail.ttl");
/// The small demo graph.
const DEMO_GRAPH: &str = include_str!("../../../ontologies/demo.ttl");
/// The graph that holds the demo data.
const DEMO_GRAPH_IRI: &str = "urn:sailkg:graph:source/demo/1";

/// Runs one command.
pub fn run(cli: Cli) -> Result<()> {
    let mut config = Config::load(cli.config.as_deref())?;
    let data_given = cli.data.is_some();
    if let Some(data) = cli.data {
        config.data_dir = data;
    }
    match cli.command {
        Command::Init { demo } => init(&config, demo),
        Command::Run { pipeline, dry_run, json } => crate::pipeline::run(&config, &pipeline, dry_run, json),
        Command::Demo { bind } => {
            if !data_given && std::env::var_os("SAILKG_DATA").is_none() {
                config.data_dir = std::path::PathBuf::from("./sailkg-demo");
            }
            if let Some(bind) = bind {
                config.server.bind = bind;
            }
            crate::pipeline::demo(config)
        }
        Command::Load { files, graph, format, base, quiet, no_index } => {
            load(&config, &files, graph.as_deref(), format, base.as_deref(), quiet, no_index)
        }
        Command::Query { query, format, union } => run_query(&config, &read_arg(&query)?, format, union),
        Command::Update { update } => run_update(&config, &read_arg(&update)?),
        Command::Generate(args) => crate::generate::generate(&config, *args),
        Command::Eval { real, synthetic, holdout, target, html } => crate::generate::eval(
            &config,
            &real,
            &synthetic,
            holdout.as_deref(),
            target.as_deref(),
            html.as_deref(),
        ),
        Command::Analyze {
            action:
                crate::AnalyzeAction::Te { series_a, series_b, time, lag, bins, k, permutations, seed, json },
        } => crate::generate::transfer_entropy(
            &config,
            crate::generate::TeRequest { series_a, series_b, time, lag, bins, k, permutations, seed, json },
        ),
        Command::Serve { bind, pg_bind, read_only, demo } => {
            if let Some(bind) = bind {
                config.server.bind = bind;
            }
            if pg_bind.is_some() {
                config.sql.pg_bind = pg_bind;
            }
            config.server.read_only |= read_only;
            serve(config, demo)
        }
        Command::Ingest { paths, name, rules, format } => {
            ingest(&config, &paths, name, rules.as_deref(), format)
        }
        Command::Map { action: Some(MapAction::Suggest { source, ontology, base }), .. } => {
            suggest(&config, &source, &ontology, &base)
        }
        Command::Map { action: None, mapping, out, into_store, graph, base } => {
            let mapping = mapping.ok_or_else(|| UserError("map needs a mapping file".into()))?;
            map(&config, &mapping, out.as_deref(), into_store, graph.as_deref(), base)
        }
        Command::Link { spec, dry_run, sample } => link(&config, &spec, dry_run, sample),
        Command::Search { text, kind, source, size, page, json } => {
            search(&config, text, kind, source, size, page, json)
        }
        Command::Sql { statement, format } => sql(&config, &read_arg(&statement)?, format),
        Command::Index { action: IndexAction::Rebuild } => {
            let store = open(&config)?;
            let index = sailkg_search::SearchIndex::open(&store.data_dir().join("index"))?;
            let report = index.rebuild(&store)?;
            println!(
                "indexed {} documents from {} graphs in {:.2} s",
                report.documents, report.graphs, report.seconds
            );
            Ok(())
        }
        Command::Validate { shapes, class, examples, json } => {
            validate(&config, &shapes, &class, examples, json)
        }
        Command::Catalog { action } => catalog(&config, action.unwrap_or(CatalogAction::List)),
        Command::Backup { dir } => {
            let store = open(&config)?;
            let manifest = store.backup(&dir)?;
            println!("backup of {} quads written to {}", manifest.quads, dir.display());
            Ok(())
        }
        Command::Restore { dir } => {
            let manifest = sailkg_store::restore(&dir, &config.data_dir)?;
            reindex(&open(&config)?, Change::All);
            println!(
                "restored {} quads from {} into {}",
                manifest.quads,
                dir.display(),
                config.data_dir.display()
            );
            Ok(())
        }
    }
}

pub(crate) fn map(
    config: &Config,
    path: &Path,
    out: Option<&Path>,
    into_store: bool,
    graph: Option<&str>,
    base: String,
) -> Result<()> {
    let mapping = sailkg_map::Mapping::from_file(path, &sailkg_map::MapOptions { base, working_dir: None })?;
    let tables = mapping.catalogue_tables();
    let store = if into_store || !tables.is_empty() { Some(open(config)?) } else { None };
    // Catalogued tables by name: the newest version's Parquet file.
    let mut versions: Vec<(String, String)> = Vec::new();
    if let Some(store) = &store {
        for name in &tables {
            match sailkg_ingest::show_dataset(store, name)? {
                Some((summary, _)) => versions.push((name.clone(), summary.latest_version)),
                None => {
                    return Err(
                        UserError(format!("{}: no catalogued source {name:?}", path.display())).into()
                    );
                }
            }
        }
    }
    let data_dir = config.data_dir.clone();
    let lookup = |name: &str| -> std::result::Result<std::path::PathBuf, String> {
        versions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(n, v)| data_dir.join("tables").join(n).join(format!("{v}.parquet")))
            .ok_or_else(|| format!("no catalogued source {name:?}"))
    };
    match (out, &store) {
        (Some(out), _) => {
            let report = sailkg_map::map_to_file(&mapping, out, &lookup)?;
            eprintln!(
                "{} quads from {} records in {:.2} s -> {}",
                report.quads,
                report.records,
                report.seconds,
                out.display()
            );
        }
        (None, Some(store)) if into_store => {
            let graph = match graph {
                Some(iri) => {
                    NamedNode::new(iri).map_err(|e| UserError(format!("invalid graph IRI {iri:?}: {e}")))?
                }
                None => match versions.as_slice() {
                    [(name, version)] => NamedNode::new_unchecked(vocab::source_graph(name, version)),
                    _ => {
                        let text = std::fs::read(path).unwrap_or_default();
                        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("mapping");
                        NamedNode::new_unchecked(vocab::source_graph(stem, &format!("{:016x}", fnv1a(&text))))
                    }
                },
            };
            let derived: Vec<NamedNode> =
                versions.iter().map(|(n, v)| NamedNode::new_unchecked(vocab::version_iri(n, v))).collect();
            let report = sailkg_map::map_into_store(&mapping, store, &graph, &derived, &lookup)?;
            reindex(
                store,
                Change::Graphs(vec![Some(graph.as_str().to_owned()), Some(vocab::GRAPH_CATALOG.to_owned())]),
            );
            println!(
                "{} quads from {} records in {:.2} s into <{}> (provenance <{}>)",
                report.run.quads,
                report.run.records,
                report.run.seconds,
                report.graph.as_str(),
                report.activity.as_str()
            );
        }
        _ => {
            let stdout = std::io::stdout();
            let report = sailkg_map::map_to_writer(
                &mapping,
                std::io::BufWriter::with_capacity(1 << 20, stdout),
                RdfFormat::NQuads,
                &lookup,
            )?;
            eprintln!("{} quads from {} records in {:.2} s", report.quads, report.records, report.seconds);
        }
    }
    Ok(())
}

fn suggest(config: &Config, source: &str, ontology: &str, base: &str) -> Result<()> {
    print!("{}", suggested_mapping(config, source, ontology, base)?);
    Ok(())
}

/// A YARRRML mapping of a catalogued source onto an ontology's terms, from its columns.
pub(crate) fn suggested_mapping(config: &Config, source: &str, ontology: &str, base: &str) -> Result<String> {
    let store = open(config)?;
    let Some((summary, columns)) = sailkg_ingest::show_dataset(&store, source)? else {
        return Err(UserError(format!("no catalogued source {source:?} (see `sailkg catalog`)")).into());
    };
    let columns: Vec<sailkg_map::suggest::ColumnInfo> = columns
        .into_iter()
        .map(|c| sailkg_map::suggest::ColumnInfo {
            name: c.name,
            datatype: c.datatype,
            distinct: c.distinct,
            null_share: c.null_share,
        })
        .collect();
    let timeout = Duration::from_secs(config.sparql.timeout_secs);
    let text =
        sailkg_map::suggest::suggest_mapping(&store, source, summary.rows, &columns, ontology, base, timeout)
            .map_err(UserError)?;
    Ok(text)
}

pub(crate) fn link(config: &Config, path: &Path, dry_run: bool, sample: usize) -> Result<()> {
    use sailkg_map::link::{LinkSpec, find_links, write_links};
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| UserError(format!("{file}: {e}")))?;
    let spec = LinkSpec::from_toml(&text, &file)?;
    let store = open(config)?;
    let report = find_links(&store, &spec, &file)?;
    let accepted = report.accepted();
    println!(
        "{}: {} source and {} target entities; {} comparisons of {} pairs ({:.4}% of the cross product) in {:.2} s",
        report.name,
        report.sources,
        report.targets,
        report.comparisons,
        report.cross_product,
        100.0 * report.comparisons as f64 / report.cross_product.max(1) as f64,
        report.seconds
    );
    println!("  owl:sameAs (score >= {}): {accepted}", spec.accept);
    println!(
        "  skos:closeMatch (review, {} <= score < {}): {}",
        spec.review,
        spec.accept,
        report.links.len() - accepted
    );
    for (band, wanted) in [("sameAs", true), ("closeMatch", false)] {
        for link in report.links.iter().filter(|l| l.accepted == wanted).take(sample) {
            println!("  {band} {:.3} <{}> <{}>", link.score, link.source.as_str(), link.target.as_str());
        }
    }
    if !dry_run {
        write_links(&store, &report, path)?;
        reindex(
            &store,
            Change::Graphs(vec![Some(vocab::GRAPH_LINKS.to_owned()), Some(vocab::GRAPH_CATALOG.to_owned())]),
        );
        println!("written to <{}>", vocab::GRAPH_LINKS);
    }
    Ok(())
}

/// A stable 64-bit digest (FNV-1a), to name a mapping's graph by its text.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn sql(config: &Config, statement: &str, format: SqlFormat) -> Result<()> {
    let store = open(config)?;
    let timeout = config.query_timeout();
    let max_rows = usize::try_from(config.sparql.max_result_rows).unwrap_or(usize::MAX);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let out = runtime.block_on(async {
        let ctx = sailkg_sql::session(&store, timeout)?;
        let batches = sailkg_sql::run(&ctx, statement, timeout, max_rows).await?;
        Ok::<_, sailkg_sql::SqlError>(match format {
            SqlFormat::Table => format!("{}\n", sailkg_sql::to_table(&batches)?).into_bytes(),
            SqlFormat::Csv => sailkg_sql::to_csv(&batches)?,
            SqlFormat::Json => sailkg_sql::to_json(&batches)?,
        })
    })?;
    std::io::stdout().write_all(&out)?;
    Ok(())
}

/// What a command changed, for the search index.
pub(crate) enum Change {
    Graphs(Vec<Option<String>>),
    Update(String),
    All,
}

/// Brings the search index up to date after a write. The write itself is done: a failure here
/// is a warning, and `sailkg index rebuild` recovers.
pub(crate) fn reindex(store: &Store, change: Change) {
    let result =
        sailkg_search::SearchIndex::open(&store.data_dir().join("index")).and_then(|index| match change {
            Change::Graphs(graphs) => index.sync(store, &graphs),
            Change::Update(update) => index.sync_after_update(store, &update, None),
            Change::All => index.rebuild(store),
        });
    if let Err(e) = result {
        eprintln!("warning: the search index was not updated: {e}; run `sailkg index rebuild`");
    }
}

fn search(
    config: &Config,
    text: String,
    kind: Option<String>,
    source: Option<String>,
    size: usize,
    page: usize,
    json: bool,
) -> Result<()> {
    let store = open(config)?;
    let index = sailkg_search::SearchIndex::open(&store.data_dir().join("index"))?;
    if index.is_empty() && !store.is_empty()? {
        index.rebuild(&store)?;
    }
    let mut filters = Vec::new();
    if let Some(kind) = kind {
        filters.push(("kind".to_owned(), kind));
    }
    if let Some(source) = source {
        filters.push(("source".to_owned(), source));
    }
    let results = index.search(&sailkg_search::SearchQuery { text, filters, page, size })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(());
    }
    println!("{} hits in {:.1} ms", results.total, results.took_ms);
    for hit in &results.hits {
        println!("{:>7.2}  {:<12} {:<14} {}  <{}>", hit.score, hit.kind, hit.source, hit.title, hit.id);
    }
    for (dimension, values) in &results.facets {
        if dimension == "class" || values.is_empty() {
            continue;
        }
        let values: Vec<String> = values.iter().take(6).map(|(v, n)| format!("{v} {n}")).collect();
        println!("  {dimension}: {}", values.join(", "));
    }
    Ok(())
}

/// `sailkg validate`.
fn validate(
    config: &Config,
    files: &[std::path::PathBuf],
    classes: &[String],
    examples: usize,
    json: bool,
) -> Result<()> {
    use sailkg_store::model::Term;
    use sailkg_store::shacl;
    let store = open(config)?;
    let shapes = if files.is_empty() {
        shacl::shapes_graph(&store)?
    } else {
        let mut shapes = Vec::new();
        for file in files {
            shapes.extend(shacl::read_shapes(file)?);
        }
        shapes
    };
    let hierarchy = shacl::hierarchy(&store)?;
    // --class: the shapes that target it or one of its superclasses.
    let scope = if classes.is_empty() {
        None
    } else {
        let mut wanted: Vec<Term> = Vec::new();
        for class in classes {
            wanted.push(
                NamedNode::new(class.as_str())
                    .map_err(|e| UserError(format!("--class {class:?} is not an IRI: {e}")))?
                    .into(),
            );
        }
        Some(shacl::targeting(&shapes, &shacl::with_superclasses(&hierarchy, wanted)))
    };
    let started = std::time::Instant::now();
    let report = shacl::validate(&store, &shapes, &hierarchy, scope.as_ref(), &shacl::Limits::default())?;
    let seconds = started.elapsed().as_secs_f64();
    let violations = report.findings.iter().filter(|f| f.severity == "Violation").count();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let mut groups: std::collections::BTreeMap<(&str, &str, String), Vec<&shacl::Finding>> =
            std::collections::BTreeMap::new();
        for f in &report.findings {
            groups.entry((f.severity.as_str(), f.path.as_str(), f.constraint())).or_default().push(f);
        }
        for ((severity, path, constraint), findings) in &groups {
            let path = if path.is_empty() { "(node)" } else { path };
            println!("{severity}: {constraint} on {path}: {} ({})", findings.len(), findings[0].message);
            for f in findings.iter().take(examples) {
                if f.value.is_empty() {
                    println!("    {}", f.focus);
                } else {
                    println!("    {} = {}", f.focus, f.value);
                }
            }
        }
        println!(
            "{} focus nodes, {} statements checked by {} in {seconds:.2} s: {}{}",
            report.focus_nodes,
            report.triples,
            shacl::ENGINE,
            if report.conforms { "the data conforms".to_owned() } else { format!("{violations} violations") },
            if report.truncated {
                " (a limit cut the validation short: the data was checked in part)"
            } else {
                ""
            },
        );
    }
    if report.conforms {
        Ok(())
    } else {
        Err(UserError(format!("the data does not conform to the shapes: {violations} violations")).into())
    }
}

pub(crate) fn open(config: &Config) -> Result<Store> {
    Ok(Store::open(&config.data_dir, config.load.clone())?)
}

fn init(config: &Config, demo: bool) -> Result<()> {
    let store = open(config)?;
    load_embedded(&store, CORE_ONTOLOGY, vocab::GRAPH_ONTOLOGY, "ontologies/sail.ttl")?;
    let mut graphs = vec![Some(vocab::GRAPH_ONTOLOGY.to_owned())];
    if demo {
        load_embedded(&store, DEMO_GRAPH, DEMO_GRAPH_IRI, "ontologies/demo.ttl")?;
        graphs.push(Some(DEMO_GRAPH_IRI.to_owned()));
    }
    reindex(&store, Change::Graphs(graphs));
    println!("initialised {}", config.data_dir.display());
    Ok(())
}

/// Replaces a graph by an embedded Turtle document.
fn load_embedded(store: &Store, text: &'static str, graph: &str, name: &str) -> Result<()> {
    let graph = GraphName::from(NamedNode::new(graph)?);
    let input = LoadInput {
        name: name.into(),
        format: RdfFormat::Turtle,
        reader: Box::new(text.as_bytes()),
        base_iri: None,
    };
    store.load_small(vec![input], &graph, true)?;
    Ok(())
}

fn load(
    config: &Config,
    files: &[std::path::PathBuf],
    graph: Option<&str>,
    format: Option<RdfSyntax>,
    base: Option<&str>,
    quiet: bool,
    no_index: bool,
) -> Result<()> {
    let graph = match graph {
        Some(iri) => GraphName::from(
            NamedNode::new(iri).map_err(|e| UserError(format!("--graph {iri:?} is not an IRI: {e}")))?,
        ),
        None => GraphName::DefaultGraph,
    };
    let format = format.map(|f| match f {
        RdfSyntax::Nt => RdfFormat::NTriples,
        RdfSyntax::Nq => RdfFormat::NQuads,
        RdfSyntax::Ttl => RdfFormat::Turtle,
        RdfSyntax::Trig => RdfFormat::TriG,
        RdfSyntax::Rdfxml => RdfFormat::RdfXml,
        RdfSyntax::Jsonld => RdfFormat::JsonLd { profile: JsonLdProfileSet::empty() },
    });
    let progress = Arc::new(LoadProgress::default());
    let mut total_bytes = 0;
    let mut inputs = Vec::with_capacity(files.len());
    for file in files {
        total_bytes +=
            std::fs::metadata(file).map_err(|e| UserError(format!("{}: {e}", file.display())))?.len();
        let mut input = sailkg_store::open_input(file, format, Some(Arc::clone(&progress)))?;
        if let Some(base) = base {
            input.base_iri = Some(base.to_owned());
        }
        inputs.push(input);
    }
    let store = open(config)?;
    let bar = if quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total_bytes)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} (eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticker = {
        let bar = bar.clone();
        let progress = Arc::clone(&progress);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                bar.set_position(progress.bytes.load(Ordering::Relaxed));
                bar.set_message(format!("{} triples", progress.triples.load(Ordering::Relaxed)));
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    // Quad formats may write any graph.
    let change = if inputs.iter().any(|i| i.format.supports_datasets()) {
        Change::All
    } else {
        Change::Graphs(vec![match &graph {
            GraphName::NamedNode(n) => Some(n.as_str().to_owned()),
            _ => None,
        }])
    };
    let result = store.bulk_load(inputs, &graph, Some(Arc::clone(&progress)));
    done.store(true, Ordering::Relaxed);
    let _ = ticker.join();
    bar.finish_and_clear();
    let report = result?;
    let peak = peak_memory_mb().map_or_else(String::new, |mb| format!(", peak memory {mb:.0} MB"));
    println!(
        "loaded {} triples from {} file{} in {:.2} s ({:.0} triples/s){peak}",
        report.triples,
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        report.seconds,
        report.triples_per_second
    );
    if !no_index {
        reindex(&store, change);
    }
    Ok(())
}

fn run_query(config: &Config, text: &str, format: OutputFormat, union: bool) -> Result<()> {
    let store = open(config)?;
    // Full-text search inside SPARQL, when the query asks for it.
    if text.contains(sailkg_search::SEARCH_SERVICE) {
        let index = sailkg_search::SearchIndex::open(&store.data_dir().join("index"))?;
        if index.is_empty() && !store.is_empty()? {
            index.rebuild(&store)?;
        }
        store.register_service(
            NamedNode::new_unchecked(sailkg_search::SEARCH_SERVICE),
            sailkg_search::sparql_service(Arc::new(index)),
        );
    }
    let budget = store.budget(config.query_timeout());
    let request = QueryRequest {
        query: text,
        union_default_graph: union || config.sparql.union_default_graph,
        ..Default::default()
    };
    let results = store.query(&request, &budget)?;
    let (solutions, graph) = match format {
        OutputFormat::Table => (ResultsFormat::Table, RdfFormat::Turtle),
        OutputFormat::Json => (
            ResultsFormat::Sparql(QueryResultsFormat::Json),
            RdfFormat::JsonLd { profile: JsonLdProfileSet::empty() },
        ),
        OutputFormat::Xml => (ResultsFormat::Sparql(QueryResultsFormat::Xml), RdfFormat::RdfXml),
        OutputFormat::Csv => (ResultsFormat::Sparql(QueryResultsFormat::Csv), RdfFormat::NTriples),
        OutputFormat::Tsv => (ResultsFormat::Sparql(QueryResultsFormat::Tsv), RdfFormat::NTriples),
    };
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::new(stdout);
    sailkg_store::write_results(results, solutions, graph, &mut out, config.sparql.max_result_rows, &budget)?;
    out.flush().context("cannot write to standard output")?;
    Ok(())
}

fn run_update(config: &Config, text: &str) -> Result<()> {
    let store = open(config)?;
    let budget = store.budget(config.query_timeout());
    store.update(&UpdateRequest { update: text, ..Default::default() }, &budget)?;
    reindex(&store, Change::Update(text.to_owned()));
    println!("update applied");
    Ok(())
}

/// Loads the core ontology into an empty store (`sailkg demo` on a fresh data directory).
pub(crate) fn init_if_empty(config: &Config) -> Result<()> {
    let store = open(config)?;
    if store.is_empty()? {
        load_embedded(&store, CORE_ONTOLOGY, vocab::GRAPH_ONTOLOGY, "ontologies/sail.ttl")?;
        reindex(&store, Change::Graphs(vec![Some(vocab::GRAPH_ONTOLOGY.to_owned())]));
    }
    Ok(())
}

fn serve(config: Config, demo: bool) -> Result<()> {
    if demo {
        let store = open(&config)?;
        if store.is_empty()? {
            load_embedded(&store, CORE_ONTOLOGY, vocab::GRAPH_ONTOLOGY, "ontologies/sail.ttl")?;
            load_embedded(&store, DEMO_GRAPH, DEMO_GRAPH_IRI, "ontologies/demo.ttl")?;
        }
    }
    serve_with(config, |_| {})
}

/// Serves the store of `config`; `on_listen` is told each address once it listens.
pub(crate) fn serve_with(config: Config, on_listen: impl Fn(std::net::SocketAddr)) -> Result<()> {
    let store = open(&config)?;
    if config.auth.tokens.is_empty() && !config.server.read_only {
        tracing::warn!(
            "no token is configured: writes are refused until SAILKG_ADMIN_TOKEN or auth.tokens is set"
        );
    }
    actix_web::rt::System::new().block_on(async move {
        let runner: sailkg_server::Runner = {
            let (config, store) = (config.clone(), store.clone());
            std::sync::Arc::new(
                move |job: &sailkg_server::JobRequest, progress: sailkg_server::ProgressFn| {
                    run_job(&config, &store, job, progress)
                },
            )
        };
        let running = sailkg_server::start_with_jobs(config, store, Some(runner))
            .map_err(|e| UserError(format!("cannot listen: {e}")))?;
        for addr in &running.addrs {
            println!("SAIL-KG is serving http://{addr}/ (SPARQL at http://{addr}/sparql)");
        }
        for addr in &running.addrs {
            on_listen(*addr);
        }
        if let Some(addr) = running.pg_addr {
            println!(
                "SQL over the PostgreSQL wire protocol: psql -h {} -p {} sailkg",
                addr.ip(),
                addr.port()
            );
        }
        running.server.await.context("the server stopped with an error")
    })
}

/// A server's generation job: the request read as `sailkg generate` flags, progress to the job's
/// status.
fn run_job(
    config: &Config,
    store: &sailkg_store::Store,
    job: &sailkg_server::JobRequest,
    progress: sailkg_server::ProgressFn,
) -> std::result::Result<sailkg_server::JobOutcome, String> {
    let mut request = crate::pipeline::generate_request(
        &job.from,
        &job.method,
        job.n as u64,
        &[
            ("--where", job.condition.clone()),
            ("--seed", job.seed.map(|s| s.to_string())),
            ("--epochs", job.epochs.map(|e| e.to_string())),
            ("--name", job.name.clone()),
        ],
    )?;
    request.progress = Some(crate::ProgressSink(std::sync::Arc::new(move |p: &sailkg_neural::Progress| {
        progress(sailkg_server::JobProgress {
            epoch: p.epoch,
            epochs: p.epochs,
            loss: p.loss,
            eta_seconds: p.eta_seconds,
        })
    })));
    let generated = crate::generate::run(store, config, request).map_err(|e| format!("{e:#}"))?;
    Ok(sailkg_server::JobOutcome {
        run: generated.run,
        rows: generated.rows,
        graphs: generated.graphs.into_iter().flatten().collect(),
    })
}

fn ingest(
    config: &Config,
    paths: &[std::path::PathBuf],
    name: Option<String>,
    rules: Option<&Path>,
    format: IngestFormat,
) -> Result<()> {
    // (file, whether it came from a directory listing)
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<_> = std::fs::read_dir(path)
                .map_err(|e| UserError(format!("{}: {e}", path.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect();
            entries.sort();
            files.extend(entries.into_iter().map(|p| (p, true)));
        } else {
            files.push((path.clone(), false));
        }
    }
    if name.is_some() && files.len() > 1 {
        return Err(UserError(
            "--name needs a single file; each file of a directory is its own source".into(),
        )
        .into());
    }
    let rules = match rules {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| UserError(format!("{}: {e}", path.display())))?;
            sailkg_ingest::Rules::from_toml(&text, &path.display().to_string())?
        }
        None => sailkg_ingest::Rules::default(),
    };
    let format = match format {
        IngestFormat::Auto => None,
        IngestFormat::Csv => Some(sailkg_ingest::SourceFormat::Csv),
        IngestFormat::Tsv => Some(sailkg_ingest::SourceFormat::Tsv),
        IngestFormat::Json => Some(sailkg_ingest::SourceFormat::Json),
        IngestFormat::Ndjson => Some(sailkg_ingest::SourceFormat::Ndjson),
        IngestFormat::Geojson => Some(sailkg_ingest::SourceFormat::GeoJson),
        IngestFormat::Parquet => Some(sailkg_ingest::SourceFormat::Parquet),
        IngestFormat::Excel => Some(sailkg_ingest::SourceFormat::Excel),
        IngestFormat::Image => Some(sailkg_ingest::SourceFormat::Image),
        IngestFormat::Text => Some(sailkg_ingest::SourceFormat::Text),
    };
    let store = open(config)?;
    let options = sailkg_ingest::IngestOptions { name, format, rules };
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(files.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for (file, listed) in &files {
        bar.set_message(file.display().to_string());
        match sailkg_ingest::ingest(&store, file, &options) {
            Ok(report) => reports.push(report),
            // A directory may hold files of other kinds; naming such a file is an error.
            Err(sailkg_ingest::IngestError::UnknownFormat(_)) if *listed => skipped.push(file),
            Err(e) => failures.push(anyhow::Error::new(e)),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if reports.iter().any(|r| !r.unchanged) {
        reindex(&store, Change::Graphs(vec![Some(vocab::GRAPH_CATALOG.to_owned())]));
    }
    println!(
        "{:<24} {:<17} {:<8} {:>9} {:>9} {:>8} {:>8}  status",
        "source", "version", "format", "read", "written", "rejected", "seconds"
    );
    for r in &reports {
        println!(
            "{:<24} {:<17} {:<8} {:>9} {:>9} {:>8} {:>8.2}  {}",
            r.source,
            r.version,
            r.format,
            r.rows_read,
            r.rows_written,
            r.rows_rejected,
            r.timings.iter().map(|t| t.1).sum::<f64>(),
            if r.unchanged { "unchanged".to_owned() } else { changed_summary(&r.changed) }
        );
        if let Some(rejects) = &r.rejects {
            println!("  rejects: {}", rejects.display());
        }
    }
    for file in skipped {
        println!("skipped {} (not a format ingest reads)", file.display());
    }
    match failures.len() {
        0 => Ok(()),
        1 => Err(failures.remove(0)),
        n => {
            for failure in &failures {
                eprintln!("error: {failure:#}");
            }
            Err(UserError(format!("{n} of {} files failed", files.len())).into())
        }
    }
}

fn changed_summary(changed: &[(String, u64)]) -> String {
    let parts: Vec<String> =
        changed.iter().filter(|(_, n)| *n > 0).map(|(rule, n)| format!("{rule} {n}")).collect();
    if parts.is_empty() {
        "new version".into()
    } else {
        format!("new version; cells changed: {}", parts.join(", "))
    }
}

fn catalog(config: &Config, action: CatalogAction) -> Result<()> {
    let store = open(config)?;
    match action {
        CatalogAction::List => {
            println!(
                "{:<24} {:<17} {:>9} {:>8}  {:<22} format",
                "source", "latest version", "rows", "versions", "issued"
            );
            for d in sailkg_ingest::list_datasets(&store)? {
                println!(
                    "{:<24} {:<17} {:>9} {:>8}  {:<22} {}",
                    d.name, d.latest_version, d.rows, d.versions, d.issued, d.format
                );
            }
        }
        CatalogAction::Show { name } => {
            let Some((d, columns)) = sailkg_ingest::show_dataset(&store, &name)? else {
                return Err(
                    UserError(format!("no source named {name:?}; `sailkg catalog list` shows them")).into()
                );
            };
            println!(
                "source {}
latest version {} ({} rows, {} versions, issued {}, {})",
                d.name, d.latest_version, d.rows, d.versions, d.issued, d.format
            );
            println!("{:<28} {:<12} {:>6} {:>9}  range", "column", "type", "nulls", "distinct");
            for c in columns {
                let range = match (&c.min, &c.max) {
                    (Some(lo), Some(hi)) => format!("{lo} .. {hi}"),
                    _ => String::new(),
                };
                println!(
                    "{:<28} {:<12} {:>5.1}% {:>9}  {range}",
                    c.name,
                    c.datatype,
                    c.null_share * 100.0,
                    c.distinct
                );
            }
        }
    }
    Ok(())
}

/// A command argument that is either the text itself or `@FILE` (`@-` for standard input).
fn read_arg(arg: &str) -> Result<String> {
    match arg.strip_prefix('@') {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("cannot read standard input")?;
            Ok(text)
        }
        Some(path) => {
            std::fs::read_to_string(Path::new(path)).map_err(|e| UserError(format!("{path}: {e}")).into())
        }
        None => Ok(arg.to_owned()),
    }
}

/// The process's peak resident memory, where the platform tells it.
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
