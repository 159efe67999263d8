//! The SAIL-KG pipeline language: one TOML file declares the sources to ingest, the ontologies and
//! shapes to load, the mappings and link specifications to run, and the generation jobs; this
//! crate reads it, validates all of it at once — every error with its file, line and column and a
//! hint — plans it as a graph of steps, and runs the plan ([`execute`]) through an [`Executor`]
//! (the `sailkg` binary's), skipping steps whose inputs and settings are unchanged since they last
//! succeeded (content hashes kept in a state file), so a rerun after a failure resumes.
//!
//! ```toml
//! [pipeline]
//! name = "demo"
//!
//! [[source]]
//! name = "disasters"
//! path = "data/disasters.csv"      # relative to this file
//!
//! [[ontology]]
//! path = "ontologies/demo.ttl"
//!
//! [[mapping]]
//! path = "mappings/disasters.yml"  # RML (.ttl) or YARRRML (.yml)
//!
//! [[generate]]
//! name = "rare_disasters"
//! from = "disasters"                # a source above, or kg.<class>
//! method = "copula"
//! where = "Entity = 'Mass movement (dry)'"
//! n = 200
//! seed = 1
//! ```

mod run;

pub use run::{Event, Executor, Outcome, RunReport, StepReport, execute};

use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The generation methods a job may name (those of `sailkg generate` for tables).
pub const METHODS: [&str; 10] =
    ["bootstrap", "copula", "smote", "mh", "langevin", "tilt", "tvae", "ctgan", "diffusion", "transformer"];

/// Input formats a source may name (`auto`: from the file).
pub const FORMATS: [&str; 10] =
    ["auto", "csv", "tsv", "json", "ndjson", "geojson", "parquet", "xlsx", "text", "image"];

/// Rows a job may ask for.
pub const MAX_ROWS: u64 = 1_000_000;

/// A mistake in a pipeline file, where it is, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl std::fmt::Display for Located {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.column, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every mistake found in a pipeline file (at least one).
#[derive(Debug, Clone)]
pub struct Invalid(pub Vec<Located>);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Invalid {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    pipeline: Option<Spanned<RawHeader>>,
    #[serde(default)]
    source: Vec<Spanned<RawSource>>,
    #[serde(default)]
    ontology: Vec<Spanned<RawFile>>,
    #[serde(default)]
    shapes: Vec<Spanned<RawFile>>,
    #[serde(default)]
    mapping: Vec<Spanned<RawMapping>>,
    #[serde(default)]
    link: Vec<Spanned<RawFile>>,
    #[serde(default)]
    generate: Vec<Spanned<RawGenerate>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Spanned<String>,
    path: Spanned<String>,
    format: Option<Spanned<String>>,
    rules: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    path: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    path: Option<Spanned<String>>,
    source: Option<Spanned<String>>,
    ontology: Option<Spanned<String>>,
    base: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGenerate {
    name: Spanned<String>,
    from: Spanned<String>,
    method: Option<Spanned<String>>,
    #[serde(rename = "where")]
    condition: Option<Spanned<String>>,
    n: Spanned<i64>,
    seed: Option<Spanned<i64>>,
    epochs: Option<Spanned<i64>>,
    holdout: Option<Spanned<f64>>,
    target: Option<Spanned<String>>,
    out: Option<Spanned<String>>,
}

/// A validated pipeline; paths are resolved against the pipeline file's folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub file: PathBuf,
    pub name: String,
    pub sources: Vec<Source>,
    pub ontologies: Vec<PathBuf>,
    pub shapes: Vec<PathBuf>,
    pub mappings: Vec<Mapping>,
    pub links: Vec<PathBuf>,
    pub jobs: Vec<Job>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub name: String,
    pub path: PathBuf,
    pub format: String,
    pub rules: Option<PathBuf>,
}

/// A mapping: a file, or one suggested from a source's columns and an ontology's terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapping {
    /// RML (.ttl) or YARRRML (.yml).
    File(PathBuf),
    /// `sailkg map suggest SOURCE --ontology NAMESPACE --base BASE`, then mapped.
    Auto { source: String, ontology: String, base: Option<String> },
}

/// A generation job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub name: String,
    /// A source of the pipeline, or an SQL table (`kg.<class>`, `synthetic.<run>`).
    pub from: String,
    pub method: String,
    pub condition: Option<String>,
    pub n: u64,
    pub seed: Option<u64>,
    pub epochs: Option<u64>,
    /// Real rows held out of training to measure privacy and utility (a share, 0 to 1).
    pub holdout: Option<f64>,
    /// The column a model predicts in the utility test.
    pub target: Option<String>,
    /// A copy of the rows written here too (.csv, .parquet, .json).
    pub out: Option<PathBuf>,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    Ingest,
    Ontology,
    Shapes,
    Map,
    Link,
    Generate,
}

/// One step of the plan: its id, what it does, the files it reads, the settings that shape its
/// result (part of its fingerprint with the files' contents), the steps it waits for.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: String,
    pub kind: StepKind,
    pub inputs: Vec<PathBuf>,
    pub settings: String,
    pub after: Vec<String>,
}

/// Line and column (1-based, characters) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Whether `name` can name a table (letters, digits, underscores; a letter first).
fn is_sql_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The closest of `candidates` to `word`, when it is close.
fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut previous = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let substitution = previous + usize::from(ca != *cb);
                previous = row[j + 1];
                row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
            }
        }
        row[b.len()]
    }
    candidates
        .into_iter()
        .map(|c| (distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    folder: PathBuf,
    errors: Vec<Located>,
}

impl Checker<'_> {
    fn error(&mut self, at: usize, message: impl Into<String>, hint: Option<String>) {
        let (line, column) = position(self.text, at);
        self.errors.push(Located { file: self.file.to_owned(), line, column, message: message.into(), hint });
    }

    /// A value that must be one of `known` (`default` when left out).
    fn one_of(
        &mut self,
        value: Option<&Spanned<String>>,
        known: &[&str],
        what: &str,
        default: &str,
    ) -> String {
        let Some(value) = value else { return default.to_owned() };
        if !known.contains(&value.get_ref().as_str()) {
            let list = known.join(", ");
            let hint = match closest(value.get_ref(), known.iter().copied()) {
                Some(near) => format!("did you mean {near:?}? {what}s: {list}"),
                None => format!("{what}s: {list}"),
            };
            self.error(value.span().start, format!("unknown {what} {:?}", value.get_ref()), Some(hint));
        }
        value.get_ref().clone()
    }

    /// A name that becomes `table` (`source.<name>`, `synthetic.<name>`), unique among `taken`.
    fn name(&mut self, name: &Spanned<String>, what: &str, table: &str, taken: bool) {
        if !is_sql_name(name.get_ref()) {
            self.error(
                name.span().start,
                format!("{what} name {:?}", name.get_ref()),
                Some(format!(
                    "use letters, digits and underscores, starting with a letter: it names the table {table}"
                )),
            );
        } else if taken {
            self.error(
                name.span().start,
                format!("a second {what} named {:?}", name.get_ref()),
                Some(format!("{what} names are unique")),
            );
        }
    }

    /// A file that must exist, resolved against the pipeline's folder.
    fn file(&mut self, path: &Spanned<String>, what: &str) -> PathBuf {
        let resolved = self.folder.join(path.get_ref());
        if !resolved.is_file() {
            self.error(
                path.span().start,
                format!("{what} {:?} does not exist", path.get_ref()),
                Some(format!("paths are relative to the pipeline file's folder ({})", self.folder.display())),
            );
        }
        resolved
    }
}

impl Pipeline {
    /// Reads and validates the pipeline file at `path`.
    pub fn read(path: &Path) -> Result<Self, Invalid> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Invalid(vec![Located {
                file: path.to_owned(),
                line: 1,
                column: 1,
                message: format!("cannot read the pipeline: {e}"),
                hint: None,
            }])
        })?;
        Self::parse(path, &text)
    }

    /// Validates the pipeline `text`, read from `file` (paths resolve against its folder).
    pub fn parse(file: &Path, text: &str) -> Result<Self, Invalid> {
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| position(text, s.start));
            Invalid(vec![Located {
                file: file.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
                hint: Some(
                    "a pipeline has [pipeline], [[source]], [[ontology]], [[shapes]], [[mapping]], [[link]] and [[generate]]; see config/pipeline.example.toml".into(),
                ),
            }])
        })?;
        let folder = file.parent().map(Path::to_owned).unwrap_or_default();
        let mut check = Checker { file, text, folder, errors: Vec::new() };
        let name = match &raw.pipeline {
            Some(header) => {
                let name = &header.get_ref().name;
                if !is_sql_name(name.get_ref()) {
                    check.error(
                        name.span().start,
                        format!("pipeline name {:?}", name.get_ref()),
                        Some("use letters, digits and underscores, starting with a letter".into()),
                    );
                }
                name.get_ref().clone()
            }
            None => {
                check.error(
                    0,
                    "no [pipeline] table",
                    Some("start the file with [pipeline] and name = \"...\"".into()),
                );
                String::new()
            }
        };
        let mut sources: Vec<Source> = Vec::new();
        for source in &raw.source {
            let s = source.get_ref();
            let name = s.name.get_ref();
            check.name(&s.name, "source", "source.<name>", sources.iter().any(|other| &other.name == name));
            let path = check.file(&s.path, "source file");
            let format = check.one_of(s.format.as_ref(), &FORMATS, "format", "auto");
            let rules = s.rules.as_ref().map(|rules| check.file(rules, "rules file"));
            sources.push(Source { name: name.clone(), path, format, rules });
        }
        let ontologies =
            raw.ontology.iter().map(|o| check.file(&o.get_ref().path, "ontology file")).collect();
        let shapes = raw.shapes.iter().map(|o| check.file(&o.get_ref().path, "shapes file")).collect();
        let mut mappings = Vec::new();
        for mapping in &raw.mapping {
            let m = mapping.get_ref();
            match (&m.path, &m.source) {
                (Some(path), None) => {
                    let resolved = check.file(path, "mapping file");
                    let extension =
                        resolved.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
                    if !matches!(extension.as_str(), "ttl" | "yml" | "yaml") {
                        check.error(
                            path.span().start,
                            format!("mapping {:?} is neither RML (.ttl) nor YARRRML (.yml)", path.get_ref()),
                            None,
                        );
                    }
                    for extra in [&m.ontology, &m.base].into_iter().flatten() {
                        check.error(
                            extra.span().start,
                            "ontology and base belong to a suggested mapping (source = ...)",
                            Some("a mapping file says its own terms".into()),
                        );
                    }
                    mappings.push(Mapping::File(resolved));
                }
                (None, Some(source)) => {
                    if !sources.iter().any(|s| &s.name == source.get_ref()) {
                        let hint = closest(source.get_ref(), sources.iter().map(|s| s.name.as_str()))
                            .map(|near| format!("did you mean {near:?}?"));
                        check.error(source.span().start, format!("no source {:?}", source.get_ref()), hint);
                    }
                    let Some(ontology) = &m.ontology else {
                        check.error(
                            mapping.span().start,
                            "a suggested mapping needs ontology = \"<namespace IRI>\"",
                            Some("the namespace whose classes and properties the columns map to, e.g. \"http://schema.org/\"".into()),
                        );
                        continue;
                    };
                    mappings.push(Mapping::Auto {
                        source: source.get_ref().clone(),
                        ontology: ontology.get_ref().clone(),
                        base: m.base.as_ref().map(|b| b.get_ref().clone()),
                    });
                }
                (Some(_), Some(source)) => check.error(
                    source.span().start,
                    "a mapping has either path (a file) or source (suggested), not both",
                    None,
                ),
                (None, None) => check.error(
                    mapping.span().start,
                    "a mapping needs path = \"<file>\" or source = \"<source>\" with ontology = \"<namespace>\"",
                    None,
                ),
            }
        }
        let links = raw.link.iter().map(|l| check.file(&l.get_ref().path, "link specification")).collect();
        let mut jobs: Vec<Job> = Vec::new();
        for job in &raw.generate {
            let g = job.get_ref();
            let name = g.name.get_ref();
            check.name(&g.name, "job", "synthetic.<name>", jobs.iter().any(|other| &other.name == name));
            let from = g.from.get_ref();
            let declared = sources.iter().any(|s| &s.name == from);
            let table =
                from.starts_with("kg.") || from.starts_with("synthetic.") || from.starts_with("source.");
            if !declared && !table {
                let hint = match closest(from, sources.iter().map(|s| s.name.as_str())) {
                    Some(near) => format!("did you mean {near:?}?"),
                    None => format!(
                        "name a [[source]] of this pipeline ({}) or a class view kg.<class>",
                        sources.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                };
                check.error(g.from.span().start, format!("no source {from:?}"), Some(hint));
            }
            let method = check.one_of(g.method.as_ref(), &METHODS, "method", "copula");
            if let Some(condition) = &g.condition
                && let Err(e) = sailkg_gen::Condition::parse(condition.get_ref())
            {
                // Point inside the string: its opening quote, then the column the parser gives.
                let inside = match &e {
                    sailkg_gen::GenError::Condition { column, .. } => {
                        let text = condition.get_ref();
                        text.char_indices().nth(column.saturating_sub(1)).map_or(text.len(), |(i, _)| i)
                    }
                    _ => 0,
                };
                check.error(
                    condition.span().start + 1 + inside,
                    format!("where: {e}"),
                    Some("e.g. \"Entity = 'Flood'\" or \"magnitude >= 7 and depth < 70\"".into()),
                );
            }
            let n = *g.n.get_ref();
            if n < 1 || n as u64 > MAX_ROWS {
                check.error(
                    g.n.span().start,
                    format!("n = {n}"),
                    Some(format!("ask for 1 to {MAX_ROWS} rows")),
                );
            }
            let non_negative = |value: &Option<Spanned<i64>>, what: &str, check: &mut Checker| {
                value.as_ref().and_then(|v| {
                    if *v.get_ref() < 0 {
                        check.error(
                            v.span().start,
                            format!("{what} = {}", v.get_ref()),
                            Some(format!("{what} is a non-negative integer")),
                        );
                        None
                    } else {
                        Some(*v.get_ref() as u64)
                    }
                })
            };
            let seed = non_negative(&g.seed, "seed", &mut check);
            let epochs = non_negative(&g.epochs, "epochs", &mut check);
            if let Some(h) = &g.holdout
                && !(*h.get_ref() > 0.0 && *h.get_ref() < 1.0)
            {
                check.error(
                    h.span().start,
                    format!("holdout = {}", h.get_ref()),
                    Some("a share of the real rows between 0 and 1, e.g. 0.2".into()),
                );
            }
            let out = g.out.as_ref().map(|o| {
                let path = check.folder.join(o.get_ref());
                let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
                if !matches!(extension.as_str(), "csv" | "parquet" | "json") {
                    check.error(
                        o.span().start,
                        format!("out = {:?}", o.get_ref()),
                        Some("write .csv, .parquet or .json".into()),
                    );
                }
                path
            });
            jobs.push(Job {
                name: name.clone(),
                from: from.clone(),
                method,
                condition: g.condition.as_ref().map(|c| c.get_ref().clone()),
                n: n.max(0) as u64,
                seed,
                epochs,
                holdout: g.holdout.as_ref().map(|h| *h.get_ref()),
                target: g.target.as_ref().map(|t| t.get_ref().clone()),
                out,
            });
        }
        if check.errors.is_empty() {
            Ok(Self { file: file.to_owned(), name, sources, ontologies, shapes, mappings, links, jobs })
        } else {
            Err(Invalid(check.errors))
        }
    }

    /// The steps in an order that respects their dependencies: sources, ontologies and shapes
    /// first; mappings after every source and ontology; links after every mapping; a job after
    /// its source, or, for a class view, after the mappings, links and shapes.
    pub fn plan(&self) -> Vec<Step> {
        let mut steps = Vec::new();
        let ingests: Vec<String> = self.sources.iter().map(|s| format!("ingest:{}", s.name)).collect();
        for (source, id) in self.sources.iter().zip(&ingests) {
            let mut inputs = vec![source.path.clone()];
            inputs.extend(source.rules.clone());
            let settings = format!("name={} format={}", source.name, source.format);
            steps.push(Step { id: id.clone(), kind: StepKind::Ingest, inputs, settings, after: Vec::new() });
        }
        let file_steps = |kind: StepKind, prefix: &str, files: &[PathBuf], after: &[String]| -> Vec<Step> {
            files
                .iter()
                .map(|f| Step {
                    id: format!(
                        "{prefix}:{}",
                        f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
                    ),
                    kind: kind.clone(),
                    inputs: vec![f.clone()],
                    settings: String::new(),
                    after: after.to_vec(),
                })
                .collect()
        };
        let ontologies = file_steps(StepKind::Ontology, "ontology", &self.ontologies, &[]);
        let shapes = file_steps(StepKind::Shapes, "shapes", &self.shapes, &[]);
        let before_mapping: Vec<String> =
            ingests.iter().cloned().chain(ontologies.iter().map(|s| s.id.clone())).collect();
        let mappings: Vec<Step> = self
            .mappings
            .iter()
            .map(|mapping| match mapping {
                Mapping::File(path) => {
                    file_steps(StepKind::Map, "map", std::slice::from_ref(path), &before_mapping).remove(0)
                }
                Mapping::Auto { source, ontology, base } => Step {
                    id: format!("map:auto-{source}"),
                    kind: StepKind::Map,
                    inputs: Vec::new(),
                    settings: format!("suggest source={source} ontology={ontology} base={base:?}"),
                    after: before_mapping.clone(),
                },
            })
            .collect();
        let links = file_steps(
            StepKind::Link,
            "link",
            &self.links,
            &mappings.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        );
        let graph_ready: Vec<String> =
            mappings.iter().chain(&links).chain(&shapes).map(|s| s.id.clone()).collect();
        steps.extend(ontologies);
        steps.extend(shapes);
        steps.extend(mappings);
        steps.extend(links);
        for job in &self.jobs {
            let after = if self.sources.iter().any(|s| s.name == job.from) {
                vec![format!("ingest:{}", job.from)]
            } else {
                graph_ready.clone()
            };
            steps.push(Step {
                id: format!("generate:{}", job.name),
                kind: StepKind::Generate,
                inputs: Vec::new(),
                settings: format!("{job:?}"),
                after,
            });
        }
        steps
    }
}

#[cfg(test)]
mod tests;
