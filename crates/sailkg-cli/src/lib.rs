//! The `sailkg` command-line tool: commands over one data directory.
//!
//! Exit codes: 0 ok, 1 user error (with a located message), 2 internal error. [`exit_code`] is the
//! one place that decides.

mod commands;
mod generate;
mod pipeline;

pub use commands::run;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// SAIL-KG: messy multimodal data to one knowledge graph, and synthetic records for the long tail.
#[derive(Debug, Parser)]
#[command(name = "sailkg", version, about, long_about = None, after_help = ENV_HELP)]
pub struct Cli {
    /// The configuration file (TOML; see config/sailkg.toml for every setting).
    #[arg(long, global = true, env = "SAILKG_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data directory [default: ./sailkg-data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

const ENV_HELP: &str = "Environment: SAILKG_DATA, SAILKG_BIND, SAILKG_READ_ONLY, SAILKG_ADMIN_TOKEN, \
SAILKG_QUERY_TIMEOUT_SECS, SAILKG_MAX_RESULT_ROWS, SAILKG_UNION_DEFAULT_GRAPH, SAILKG_WORKERS, \
SAILKG_MAX_REQUEST_BYTES, SAILKG_MAX_UPLOAD_BYTES, SAILKG_CORS_ORIGINS, SAILKG_LOAD_MAX_MEMORY_MB, \
SAILKG_LOAD_THREADS, SAILKG_PG_BIND override the config file; SAILKG_LOG sets the log filter (e.g. info, sailkg=debug).
Exit codes: 0 ok, 1 user error, 2 internal error.";

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the data directory and load the SAIL-KG core ontology.
    Init {
        /// Also load the small demo graph.
        #[arg(long)]
        demo: bool,
    },
    /// Run a pipeline (see config/pipeline.example.toml): validate all of it, plan its steps, and
    /// run those whose input files or settings changed since they last succeeded, recording the
    /// run as PROV. After a failure, what finished is kept and running it again resumes.
    Run {
        /// The pipeline file (TOML).
        #[arg(value_name = "PIPELINE.toml")]
        pipeline: PathBuf,
        /// Validate and show the plan (which steps would run, which are unchanged); change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the run's report as JSON instead of progress lines.
        #[arg(long)]
        json: bool,
    },
    /// The demo: writes the bundled corpus (six real tables, an ontology, shapes, mappings) into
    /// the data directory [default here: ./sailkg-demo], runs its pipeline (ingest, mapping,
    /// generation of rare cases; unchanged steps are skipped on later starts), then serves the
    /// web page, SPARQL and SQL, and prints the address to open.
    Demo {
        /// Address to listen on [default: 127.0.0.1:7878].
        #[arg(long, value_name = "ADDR")]
        bind: Option<std::net::SocketAddr>,
    },
    /// Bulk-load RDF files (N-Triples, N-Quads, Turtle, TriG, RDF/XML, JSON-LD; .gz too), all or nothing.
    Load {
        /// Files to load, in one atomic operation.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Load into this named graph instead of the default graph.
        #[arg(long, value_name = "IRI")]
        graph: Option<String>,
        /// The syntax of every file, instead of telling it from the file name.
        #[arg(long, value_enum)]
        format: Option<RdfSyntax>,
        /// Base IRI for relative IRIs [default: the file's file:// URL].
        #[arg(long, value_name = "IRI")]
        base: Option<String>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
        /// Leave the search index as it is (run `sailkg index rebuild` later).
        #[arg(long)]
        no_index: bool,
    },
    /// Run a SPARQL query and print the results.
    Query {
        /// The query, or @FILE to read it from a file (@- for standard input).
        query: String,
        /// Output format of solutions; graph results use Turtle (table), N-Triples (csv, tsv),
        /// JSON-LD (json) or RDF/XML (xml).
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// Query the union of all graphs as the default graph.
        #[arg(long)]
        union: bool,
    },
    /// Run a SPARQL update (applied whole or not at all).
    Update {
        /// The update, or @FILE to read it from a file (@- for standard input).
        update: String,
    },
    /// Serve the SPARQL endpoint, Graph Store, search, SQL, generation jobs (/api/generate) and
    /// web page over HTTP, and SQL over the PostgreSQL wire protocol with --pg-bind.
    Serve {
        /// Address to listen on [default: 127.0.0.1:7878].
        #[arg(long, value_name = "ADDR")]
        bind: Option<std::net::SocketAddr>,
        /// Also answer the PostgreSQL wire protocol here (read-only SQL for psql, DBeaver, BI
        /// tools), for example 127.0.0.1:5433 [config: sql.pg_bind].
        #[arg(long, value_name = "ADDR")]
        pg_bind: Option<std::net::SocketAddr>,
        /// Refuse every write.
        #[arg(long)]
        read_only: bool,
        /// Load the demo graph first if the store is empty.
        #[arg(long)]
        demo: bool,
    },
    /// Ingest sources (CSV, TSV, JSON, NDJSON, GeoJSON, Parquet; images and text documents as one
    /// record each): cleanse, profile, write a versioned Parquet table and catalogue it. A
    /// directory ingests each file as its own source.
    Ingest {
        /// Files or directories.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The source name (only with a single file) [default: the file name].
        #[arg(long)]
        name: Option<String>,
        /// Cleansing rules (TOML) instead of the defaults.
        #[arg(long, value_name = "RULES.toml")]
        rules: Option<PathBuf>,
        /// The format of every file instead of detecting it.
        #[arg(long, value_enum, default_value_t = IngestFormat::Auto)]
        format: IngestFormat,
    },
    /// Run an RML (Turtle) or YARRRML (.yml) mapping: N-Quads to standard output, to a file, or
    /// into the store with its provenance.
    #[command(args_conflicts_with_subcommands = true)]
    Map {
        #[command(subcommand)]
        action: Option<MapAction>,
        /// The mapping file.
        #[arg(value_name = "MAPPING.ttl|MAPPING.yml", required = true)]
        mapping: Option<PathBuf>,
        /// Write the output to this file (.nq, .nt, .ttl or .trig) instead of standard output.
        #[arg(long, value_name = "FILE", conflicts_with = "into_store")]
        out: Option<PathBuf>,
        /// Load the output into the store, replacing the target graph.
        #[arg(long)]
        into_store: bool,
        /// The target graph [default: the version graph of the catalogued table the mapping
        /// reads, else one named after the mapping].
        #[arg(long, value_name = "IRI", requires = "into_store")]
        graph: Option<String>,
        /// Base IRI of generated relative IRIs.
        #[arg(long, value_name = "IRI", default_value = sailkg_map::DEFAULT_BASE)]
        base: String,
    },
    /// Link entities of two classes in the store by a link specification (TOML): owl:sameAs
    /// above its accept threshold, skos:closeMatch in its review band, into the links graph.
    Link {
        /// The link specification.
        #[arg(value_name = "SPEC.toml")]
        spec: PathBuf,
        /// Report the links without writing them.
        #[arg(long)]
        dry_run: bool,
        /// How many links of each band to show.
        #[arg(long, default_value_t = 5)]
        sample: usize,
    },
    /// Search the catalogue, the ontologies and the entities (full text, with facets).
    Search {
        /// The query: words, "phrases", field:word; typos are tolerated.
        text: String,
        /// Only hits of this kind (dataset, version, column, class, property, concept, entity, ...).
        #[arg(long)]
        kind: Option<String>,
        /// Only hits from this source (a source name, catalog, ontology, links, ...).
        #[arg(long)]
        source: Option<String>,
        /// Hits per page.
        #[arg(long, default_value_t = 10)]
        size: usize,
        /// The page, from 0.
        #[arg(long, default_value_t = 0)]
        page: usize,
        /// Print the results as JSON (hits, highlights, facet counts).
        #[arg(long)]
        json: bool,
    },
    /// Run a read-only SQL statement over the catalogued tables (`source.<name>`,
    /// `source."<name>@<version>"`), generated tables (`synthetic.<run>`), class views over the
    /// graph (`kg.<class>`), the catalogue (`meta.datasets`, `columns`, `graphs`, `runs`,
    /// `classes`, `class_columns`) and the graph itself (`sparql('SELECT ...')`).
    Sql {
        /// The statement, or @FILE to read it from a file (@- for standard input).
        statement: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = SqlFormat::Table)]
        format: SqlFormat,
    },
    /// Generate synthetic rows for the long tail: fit a method on a table (a .csv, .tsv,
    /// .parquet or .ndjson file, a catalogued source, or an SQL table such as kg.<class>) and
    /// sample under a condition. Writes tables/synthetic/{run}.parquet (SQL: synthetic.<run>)
    /// with a JSON and an HTML report beside it and the run's provenance in the catalogue.
    Generate(Box<GenerateArgs>),
    /// Evaluate a synthetic table against a real one: fidelity (KS/TV complements, correlation
    /// and contingency similarity), exact copies, distance to closest record, and with
    /// --target and --holdout the utility for a classifier. Prints JSON; --html writes the
    /// report page.
    Eval {
        /// The real rows (file, source or SQL table) the generator learnt from.
        real: String,
        /// The synthetic rows (file, source or SQL table such as synthetic.<run>).
        synthetic: String,
        /// Real rows the generator never saw: the privacy baseline and the utility test set.
        #[arg(long, value_name = "FILE|SOURCE|TABLE")]
        holdout: Option<String>,
        /// The class column for the utility measure (needs --holdout).
        #[arg(long, value_name = "COLUMN", requires = "holdout")]
        target: Option<String>,
        /// Write the HTML report here.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Analyses of tables and series.
    Analyze {
        #[command(subcommand)]
        action: AnalyzeAction,
    },
    /// Manage the search index.
    Index {
        #[command(subcommand)]
        action: IndexAction,
    },
    /// List the catalogued sources, or show one with its column profiles.
    Catalog {
        #[command(subcommand)]
        action: Option<CatalogAction>,
    },
    /// Validate the data in the store with SHACL (rudof's engine) against the shapes graph, or
    /// against shapes files. Prints each violated constraint with its count and examples, or the
    /// whole report with --json; exits 1 when the data does not conform.
    Validate {
        /// Shapes files (Turtle, RDF/XML, N-Triples, JSON-LD; .gz too) instead of the store's
        /// shapes graph.
        #[arg(long, value_name = "FILE")]
        shapes: Vec<PathBuf>,
        /// Only the focus nodes of shapes that target this class or a superclass of it
        /// (repeatable).
        #[arg(long, value_name = "IRI")]
        class: Vec<String>,
        /// Examples per violated constraint.
        #[arg(long, default_value_t = 3, value_name = "N")]
        examples: usize,
        /// Print the report (every result) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a consistent backup of the store into a new folder.
    Backup {
        /// The folder to create.
        dir: PathBuf,
    },
    /// Replace the store by a backup (stop the server first).
    Restore {
        /// A folder written by `sailkg backup`.
        dir: PathBuf,
    },
}

/// What `sailkg generate` takes.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// What to learn from: a file, a source name or an SQL table.
    #[arg(long, value_name = "FILE|SOURCE|TABLE")]
    pub from: String,
    /// The method.
    #[arg(long, value_enum, default_value_t = GenMethod::Copula)]
    pub method: GenMethod,
    /// How many rows (for block-bootstrap, sde and transformer --series: how many paths).
    #[arg(long, value_name = "N")]
    pub n: usize,
    /// The condition every row satisfies, e.g. "weather = 'snow'" or "magnitude >= 7 and
    /// depth < 70". For tilt: the tail region to tilt toward. For sde: the level paths
    /// should reach, e.g. "deaths >= 100000".
    #[arg(long = "where", value_name = "COND")]
    pub condition: Option<String>,
    /// The seed: the same seed gives the same rows [default: from the clock, printed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Bootstrap: draw every class of this column equally often.
    #[arg(long, value_name = "COLUMN")]
    pub stratify: Option<String>,
    /// Bootstrap: move numbers by kernel noise, this many times Silverman's bandwidth; mh
    /// and langevin: scale the kernel density's bandwidth.
    #[arg(long, value_name = "FACTOR", num_args = 0..=1, default_missing_value = "1.0")]
    pub smooth: Option<f64>,
    /// langevin: unadjusted (no Metropolis correction; reflected at the region's walls).
    #[arg(long)]
    pub unadjusted: bool,
    /// block-bootstrap, sde, transformer: the series column(s), comma-separated (sde and
    /// transformer take one).
    #[arg(long, value_name = "COLUMN[,COLUMN]", value_delimiter = ',')]
    pub series: Vec<String>,
    /// block-bootstrap, sde, transformer: the time column the series are ordered by.
    #[arg(long, value_name = "COLUMN")]
    pub time: Option<String>,
    /// block-bootstrap, sde, transformer: one series per value of this column (stations,
    /// entities); transformer --text: the class column the text follows.
    #[arg(long, value_name = "COLUMN")]
    pub by: Option<String>,
    /// sde: the model [default: zero-inflated for non-negative series with many zeros, else ou].
    #[arg(long, value_enum)]
    pub model: Option<SdeModel>,
    /// block-bootstrap, sde, transformer: steps per path [default: the longest real series].
    #[arg(long, value_name = "STEPS")]
    pub length: Option<usize>,
    /// block-bootstrap: the (mean) block length [default: the cube root of the series' length].
    #[arg(long, value_name = "STEPS")]
    pub block: Option<usize>,
    /// block-bootstrap: stationary (geometric block lengths) instead of moving blocks.
    #[arg(long)]
    pub stationary: bool,
    /// sde --model ar: the largest order tried (chosen by AIC).
    #[arg(long, value_name = "P", default_value_t = 5)]
    pub order: usize,
    /// Hold out this share of the real rows from fitting (stratified by --target), to
    /// measure privacy against them and the utility of the synthetic rows.
    #[arg(long, value_name = "FRACTION")]
    pub holdout: Option<f64>,
    /// The class column for the utility measure [default: the label column of --where].
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    /// The run's name, which names the table synthetic.<name> [default: method_time_seed].
    #[arg(long)]
    pub name: Option<String>,
    /// Replace the run of that --name if there is one: its table, reports, instances and
    /// provenance.
    #[arg(long, requires = "name")]
    pub replace: bool,
    /// Also write the rows here (.csv or .parquet).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Save the fitted model with its parameters (JSON).
    #[arg(long, value_name = "FILE")]
    pub model_out: Option<PathBuf>,
    /// Sample from a model saved by --model-out instead of fitting one (its method is used;
    /// --from is still read, to evaluate against).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["holdout", "stratify", "smooth", "unadjusted"])]
    pub model_in: Option<PathBuf>,
    /// Neural methods: training epochs (early stopping may end sooner) [default: 300;
    /// transformer 30].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Neural methods: rows (transformer: windows) per training step [default: 500;
    /// transformer 64].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// tvae, ctgan, diffusion: logit adjustment τ on label columns (τ·log prior added to the
    /// logits in training, so sampling favours rare labels); 0 is off.
    #[arg(long, value_name = "TAU", default_value_t = 0.0)]
    pub logit_adjustment: f64,
    /// diffusion: the classifier-free guidance weight w toward the --where class.
    #[arg(long, value_name = "W", default_value_t = 1.0)]
    pub guidance: f64,
    /// transformer: generate this text column, character by character (after the class of
    /// the --by label column, so --where can ask for a class).
    #[arg(long, value_name = "COLUMN")]
    pub text: Option<String>,
    /// transformer: tokens the model sees at once (longer series slide through it).
    #[arg(long, value_name = "TOKENS", default_value_t = 32)]
    pub context: usize,
    /// transformer: the sampling temperature (below 1 safer, above 1 more varied).
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// transformer: sample among the k likeliest tokens only (0: all).
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub top_k: usize,
    /// tvae with --model-in: fine-tune the saved model on the real rows inside --where
    /// first, with LoRA adapters (lora, rank --rank) or every parameter (full).
    #[arg(long, value_enum, requires = "model_in")]
    pub fine_tune: Option<FineTune>,
    /// The rank of the LoRA adapters.
    #[arg(long, default_value_t = 8)]
    pub rank: usize,
    /// Neural methods: write a checkpoint (config.json, weights.bin, optimizer.bin) into DIR
    /// every 10 epochs and at the end.
    #[arg(long, value_name = "DIR")]
    pub checkpoint: Option<PathBuf>,
    /// Continue the training checkpointed in --checkpoint DIR up to --epochs.
    #[arg(long, requires = "checkpoint")]
    pub resume: bool,
    /// Neural methods: where to train (cuda needs a build with --features cuda).
    #[arg(long, value_enum, default_value_t = TrainDevice::Cpu)]
    pub device: TrainDevice,
    /// Where training progress goes instead of the progress bar (a server job's status).
    #[arg(skip)]
    pub progress: Option<ProgressSink>,
    /// With --from kg.<class>: also write the rows as instances of the class into the graph
    /// urn:sailkg:graph:synthetic/<run>, each prov:wasGeneratedBy the run.
    #[arg(long)]
    pub into_store: bool,
}

/// A listener of training progress.
#[derive(Clone)]
pub struct ProgressSink(pub std::sync::Arc<dyn Fn(&sailkg_neural::Progress) + Send + Sync>);

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressSink")
    }
}

/// Formats for `sql --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqlFormat {
    /// A text table.
    Table,
    /// CSV with a header.
    Csv,
    /// A JSON array of rows.
    Json,
}

/// `analyze` subcommands.
#[derive(Debug, Subcommand)]
pub enum AnalyzeAction {
    /// Transfer entropy between two series, both ways, with binned and k-nearest-neighbour
    /// estimators and permutation-test p-values. A series is FROM:COLUMN (FROM a file, source
    /// or SQL table); two series from different tables are joined on --time.
    Te {
        /// The first series, FROM:COLUMN.
        series_a: String,
        /// The second series, FROM:COLUMN.
        series_b: String,
        /// The time column that orders (and joins) the series [default: row order].
        #[arg(long, value_name = "COLUMN")]
        time: Option<String>,
        /// How many steps the source leads.
        #[arg(long, default_value_t = 1)]
        lag: usize,
        /// Bins of the binned estimator.
        #[arg(long, default_value_t = 4)]
        bins: usize,
        /// Neighbours of the k-NN estimator.
        #[arg(long, default_value_t = 4)]
        k: usize,
        /// Shuffles of the permutation test.
        #[arg(long, default_value_t = 100)]
        permutations: usize,
        /// The seed of the shuffles.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// How `generate --fine-tune` adapts a saved neural model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FineTune {
    /// Low-rank adapters beside the frozen decoder.
    Lora,
    /// Every parameter.
    Full,
}

/// Where neural models train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrainDevice {
    Cpu,
    Cuda,
}

/// `generate --model` for sde.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SdeModel {
    /// Ornstein–Uhlenbeck (mean-reverting).
    Ou,
    /// Geometric Brownian motion (positive, multiplicative).
    Gbm,
    /// Wet/dry Markov chain with log-normal amounts (precipitation-like).
    ZeroInflated,
    /// Autoregression, order by AIC up to --order.
    Ar,
}

/// `index` subcommands.
#[derive(Debug, Subcommand)]
pub enum IndexAction {
    /// Rebuild the search index from the store (after a crash, or to recover from any doubt).
    Rebuild,
}

/// `map` subcommands.
#[derive(Debug, Subcommand)]
pub enum MapAction {
    /// Propose an RML mapping of a catalogued table onto an ontology in the store (a class for
    /// the rows, a property per column, datatypes from the profile, an IRI template from a key
    /// column), written to standard output for review.
    Suggest {
        /// The catalogued source.
        source: String,
        /// The ontology: its namespace IRI (terms starting with it, or rdfs:isDefinedBy it).
        #[arg(long, value_name = "IRI")]
        ontology: String,
        /// Base IRI of the subjects' template.
        #[arg(long, value_name = "IRI", default_value = sailkg_map::DEFAULT_BASE)]
        base: String,
    },
}

/// What `catalog` does.
#[derive(Debug, Subcommand)]
pub enum CatalogAction {
    /// Every source with its latest version (the default).
    List,
    /// One source: versions, rows and column profiles.
    Show {
        /// The source name.
        name: String,
    },
}

/// Formats for `ingest --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IngestFormat {
    /// Detect from the name and content.
    Auto,
    /// Comma-separated (or another separator, detected).
    Csv,
    /// Tab-separated.
    Tsv,
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// GeoJSON FeatureCollection.
    Geojson,
    /// Apache Parquet.
    Parquet,
    /// An Excel workbook (first sheet); `excel` is accepted too.
    #[value(name = "xlsx", alias = "excel")]
    Excel,
    /// A PNG, JPEG, GIF or WebP image (one metadata record).
    Image,
    /// A plain-text or Markdown document (one record).
    Text,
}

/// RDF syntaxes for `load --format`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RdfSyntax {
    /// N-Triples.
    Nt,
    /// N-Quads.
    Nq,
    /// Turtle.
    Ttl,
    /// TriG.
    Trig,
    /// RDF/XML.
    Rdfxml,
    /// JSON-LD.
    Jsonld,
}

/// Output formats for `query --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// An aligned text table.
    Table,
    /// SPARQL 1.1 Query Results JSON.
    Json,
    /// SPARQL Query Results XML.
    Xml,
    /// SPARQL 1.1 Query Results CSV.
    Csv,
    /// SPARQL 1.1 Query Results TSV.
    Tsv,
}

/// Generation methods of `sailkg generate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenMethod {
    /// Real rows drawn with replacement (with --stratify or --smooth: stratified or smoothed).
    Bootstrap,
    /// Gaussian copula with empirical margins; conditions exact in the latent space.
    Copula,
    /// SMOTE-NC: interpolation between a real row and one of its 5 nearest neighbours.
    Smote,
    /// Metropolis–Hastings over a kernel density, inside the condition (reaches past the data).
    Mh,
    /// Langevin (MALA; --unadjusted for ULA) over a kernel density, inside the condition.
    Langevin,
    /// The copula tilted toward the --where region; every row carries an importance weight.
    Tilt,
    /// Moving-block or (--stationary) stationary bootstrap of time series.
    BlockBootstrap,
    /// A fitted SDE or AR model of a time series; with --where, paths tilted toward the level
    /// (Girsanov) with their likelihood ratios.
    Sde,
    /// A conditional TVAE (neural, burn): rare classes through its conditional vector.
    Tvae,
    /// A conditional GAN in the CTGAN manner (neural: PacGAN critic, WGAN-GP loss): rare
    /// classes through its conditional vector.
    Ctgan,
    /// Tabular diffusion in the TabDDPM manner (neural: Gaussian and multinomial), guided toward
    /// the --where class (classifier-free guidance).
    Diffusion,
    /// A decoder-only Transformer (neural): --series paths, or --text values character by
    /// character (after their --by class).
    Transformer,
}

/// Installs the log subscriber, filtered by `SAILKG_LOG` (default: warnings).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SAILKG_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,sailkg_cli=info,sailkg_server=info,sailkg_store=info")
    });
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// A mistake of the user that the command reports without being a failure of SAIL-KG.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

/// The exit code of an error: 1 when the user can fix it, 2 when SAIL-KG failed.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    for cause in error.chain() {
        if cause.is::<UserError>() || cause.is::<sailkg_core::ConfigError>() {
            return 1;
        }
        if let Some(e) = cause.downcast_ref::<sailkg_store::StoreError>() {
            return if e.is_user_error() { 1 } else { 2 };
        }
        if let Some(e) = cause.downcast_ref::<sailkg_ingest::IngestError>() {
            return if e.is_user_error() { 1 } else { 2 };
        }
        if let Some(e) = cause.downcast_ref::<sailkg_sql::SqlError>() {
            return if e.is_user_error() { 1 } else { 2 };
        }
        if cause.is::<sailkg_gen::GenError>() {
            return 1;
        }
        if cause.is::<sailkg_map::MapError>() || cause.is::<sailkg_map::link::LinkError>() {
            return 1;
        }
    }
    2
}

/// The error and its causes on one line, each cause once: errors that already print their
/// cause (`path: reason`) do not get it twice.
pub fn error_message(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let store = sailkg_store::StoreError::Io { path: "nope.ttl".into(), source: io };
        let error = anyhow::Error::from(store).context("cannot read the shapes");
        assert_eq!(
            super::error_message(&error),
            "cannot read the shapes: nope.ttl: No such file or directory"
        );
        let plain = anyhow::anyhow!("outer").context("context");
        assert_eq!(super::error_message(&plain), "context: outer");
    }

    #[test]
    fn the_pipeline_language_knows_exactly_the_table_methods() {
        use clap::ValueEnum;
        let names: Vec<String> = super::GenMethod::value_variants()
            .iter()
            .filter(|m| !matches!(m, super::GenMethod::BlockBootstrap | super::GenMethod::Sde))
            .filter_map(|m| m.to_possible_value().map(|v| v.get_name().to_owned()))
            .collect();
        let mut known: Vec<String> = sailkg_pipeline::METHODS.iter().map(|m| m.to_string()).collect();
        let mut names = names;
        names.sort();
        known.sort();
        assert_eq!(names, known);
    }

    #[test]
    fn help_names_every_environment_override() {
        for (var, _) in sailkg_core::ENV_OVERRIDES {
            assert!(super::ENV_HELP.contains(var), "--help does not mention {var}");
        }
    }
}
