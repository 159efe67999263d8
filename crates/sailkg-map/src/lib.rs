//! SAIL-KG mapping: an RML engine.
//!
//! A mapping (RML in Turtle, current or legacy vocabulary) is read into a [`Plan`] and checked
//! before any data is read. Running it reads each logical source in batches (CSV and Parquet
//! stream, so memory stays bounded; JSON and XML documents are parsed whole), evaluates every
//! term map over a whole batch, joins referencing object maps through a hash index of the parent
//! triples map, and hands each quad to a sink: a file writer or the store's bulk loader.

mod error;
mod eval;
mod json_stream;
pub mod link;
mod ntriples;
mod output;
mod plan;
pub mod reconcile;
mod source;
pub mod suggest;
mod target;
mod template;
mod xpath;
mod yarrrml;

pub use error::{Location, MapError, Result};
pub use output::{Catalogue, StoreReport, format_for, map_into_store, map_to_file, map_to_writer};
pub use plan::Plan;
pub use source::read_decompressed;

use eval::{Evaluator, Terms};
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::vocab::rdf;
use oxigraph::model::{Graph, GraphName, GraphNameRef, NamedOrBlankNodeRef, Quad, QuadRef, Term};
use plan::{ObjectMap, TermMap, TriplesMap};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The base IRI of generated relative IRIs unless a mapping or caller says otherwise.
pub const DEFAULT_BASE: &str = "http://example.com/";

/// How a mapping is read.
#[derive(Debug, Clone)]
pub struct MapOptions {
    /// The base IRI of generated relative IRIs (a triples map's `rml:baseIRI` overrides it).
    pub base: String,
    /// What `rml:CurrentWorkingDirectory` means; the process's working directory when `None`.
    pub working_dir: Option<PathBuf>,
}

impl Default for MapOptions {
    fn default() -> Self {
        Self { base: DEFAULT_BASE.to_owned(), working_dir: None }
    }
}

/// A mapping ready to run.
#[derive(Debug)]
pub struct Mapping {
    plan: Plan,
    file: String,
}

/// What a run produced.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Quads handed to the sink.
    pub quads: u64,
    /// Records read, over all triples maps (a source read for several maps counts each time).
    pub records: u64,
    /// Triples maps run.
    pub triples_maps: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl Mapping {
    /// Reads a mapping file: YARRRML (`.yml`, `.yaml`) or RML (Turtle, or another RDF syntax by
    /// extension). Relative source paths resolve against the mapping's directory.
    pub fn from_file(path: &Path, options: &MapOptions) -> Result<Self> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Location::file(&file).error(format!("cannot read the mapping: {e}")))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let yaml =
            path.extension().is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
        if yaml {
            return Self::from_yarrrml(&text, &file, &dir, options);
        }
        let format = path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(RdfFormat::from_extension)
            .filter(|f| !matches!(f, RdfFormat::NQuads | RdfFormat::TriG))
            .unwrap_or(RdfFormat::Turtle);
        Self::from_rdf(&text, format, &file, &dir, options)
    }

    /// Reads a YARRRML mapping.
    pub fn from_yarrrml(text: &str, file: &str, dir: &Path, options: &MapOptions) -> Result<Self> {
        let graph = yarrrml::translate(text, file)?;
        Self::from_graph(&graph, file, dir, options)
    }

    fn from_graph(graph: &Graph, file: &str, dir: &Path, options: &MapOptions) -> Result<Self> {
        let working_dir = match &options.working_dir {
            Some(dir) => dir.clone(),
            None => std::env::current_dir().unwrap_or_default(),
        };
        let plan = Plan::from_graph(graph, file, dir, &working_dir, &options.base)?;
        Ok(Self { plan, file: file.to_owned() })
    }

    /// Reads an RML mapping from RDF text.
    pub fn from_rdf(
        text: &str,
        format: RdfFormat,
        file: &str,
        dir: &Path,
        options: &MapOptions,
    ) -> Result<Self> {
        let at = Location::file(file);
        let absolute = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let mapping_base = format!("{}/", sailkg_core::terms::file_iri(&absolute).as_str());
        let parser = RdfParser::from_format(format)
            .with_base_iri(&mapping_base)
            .map_err(|e| at.error(format!("invalid base IRI: {e}")))?;
        let mut graph = Graph::new();
        for quad in parser.for_slice(text.as_bytes()) {
            let quad = quad.map_err(|e| at.error(format!("not valid {}: {e}", format.name())))?;
            graph.insert(oxigraph::model::TripleRef::from(quad.as_ref()));
        }
        Self::from_graph(&graph, file, dir, options)
    }

    /// The mapping file, as given.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The catalogue tables (`sail:table`) the mapping reads.
    pub fn catalogue_tables(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .plan
            .sources
            .iter()
            .filter_map(|s| match &s.input {
                plan::Input::Catalogue(name) => Some(name.clone()),
                plan::Input::File(_) => None,
            })
            .collect();
        names.dedup();
        names
    }

    /// Runs the mapping, handing every quad to `sink`. `catalogue` finds the Parquet file of a
    /// catalogued table by name.
    pub fn run(
        &self,
        catalogue: &dyn Fn(&str) -> std::result::Result<PathBuf, String>,
        sink: &mut dyn FnMut(QuadRef<'_>) -> std::io::Result<()>,
    ) -> Result<RunReport> {
        self.run_into(catalogue, &mut Sink::Quads(sink))
    }

    /// Runs the mapping into N-Triples (or N-Quads with `graphs`) lines, handed to `out` in
    /// chunks; serialisation runs in parallel with evaluation.
    pub(crate) fn run_lines(
        &self,
        catalogue: &dyn Fn(&str) -> std::result::Result<PathBuf, String>,
        graphs: bool,
        out: &mut dyn FnMut(Vec<u8>) -> std::io::Result<()>,
    ) -> Result<RunReport> {
        self.run_into(catalogue, &mut Sink::Lines { out, graphs })
    }

    fn run_into(
        &self,
        catalogue: &dyn Fn(&str) -> std::result::Result<PathBuf, String>,
        sink: &mut Sink<'_>,
    ) -> Result<RunReport> {
        let start = Instant::now();
        let mut report = RunReport { triples_maps: self.plan.maps.len(), ..RunReport::default() };
        let mut targets = match self.plan.targets.is_empty() {
            true => None,
            false => Some(target::Targets::open(&self.plan.targets, &Location::file(&self.file))?),
        };
        for map in &self.plan.maps {
            if let Err(e) = self.run_map(map, catalogue, sink, &mut targets, &mut report) {
                if let Some(targets) = targets {
                    targets.abandon();
                }
                return Err(e);
            }
        }
        if let Some(targets) = targets {
            targets.finish()?;
        }
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }

    fn batches(
        &self,
        map: &TriplesMap,
        catalogue: &dyn Fn(&str) -> std::result::Result<PathBuf, String>,
        visit: &mut dyn FnMut(&dyn source::Batch) -> Result<()>,
    ) -> Result<()> {
        let spec = &self.plan.sources[map.source];
        source::for_each_batch(spec, catalogue, self.plan.natural_datatypes, visit).map_err(|e| match e {
            source::SourceError::Read(message) => map.location.term("logical source").error(message),
            source::SourceError::Map(error) => error,
        })
    }

    /// An index from join key values to the parent's subjects.
    fn join_index(
        &self,
        parent: &TriplesMap,
        joins: &[(TermMap, TermMap)],
        catalogue: &dyn Fn(&str) -> std::result::Result<PathBuf, String>,
    ) -> Result<JoinIndex> {
        let mut index: JoinIndex = HashMap::new();
        self.batches(parent, catalogue, &mut |batch| {
            let evaluator = Evaluator::new(batch, &parent.base);
            let subjects = evaluator.terms(&parent.subject)?;
            let keys: Vec<Vec<Vec<source::Value>>> =
                joins.iter().map(|(_, p)| evaluator.strings(p)).collect::<Result<_>>()?;
            for record in 0..batch.len() {
                let subjects = subjects.get(record);
                if subjects.is_empty() {
                    continue;
                }
                for key in combinations(&keys, record) {
                    index.entry(key).or_default().extend(subjects.iter().cloned());
                }
            }
            Ok(())
        })?;
        for subjects in index.values_mut() {
            subjects.dedup();
        }
        Ok(index)
    }

    fn run_map(
        &self,
        map: &TriplesMap,
        catalogue: &dyn Fn(&str) -> std::result::Result<PathBuf, String>,
        sink: &mut Sink<'_>,
        targets: &mut Option<target::Targets>,
        report: &mut RunReport,
    ) -> Result<()> {
        // Parent indexes first: they read the parent sources whole.
        let mut indexes: HashMap<(usize, usize), JoinIndex> = HashMap::new();
        for (p, pom) in map.poms.iter().enumerate() {
            for (o, object) in pom.objects.iter().enumerate() {
                if let ObjectMap::Join(join) = object {
                    let parent = &self.plan.maps[join.parent];
                    if join.joins.is_empty() {
                        if parent.source != map.source {
                            return Err(join.location.error(format!(
                                "a referencing object map without a join condition needs the parent triples map {} to have the same logical source",
                                parent.name
                            )));
                        }
                    } else {
                        indexes.insert((p, o), self.join_index(parent, &join.joins, catalogue)?);
                    }
                }
            }
        }
        let io = |e: std::io::Error| map.location.error(format!("cannot write the output: {e}"));
        let threads = rayon::current_num_threads();
        self.batches(map, catalogue, &mut |batch| {
            report.records += batch.len() as u64;
            // A batch is cut into pieces, evaluated (and, for line output, serialised) a round of
            // one piece per thread at a time, and handed on in order; memory holds one round.
            let pieces: Vec<(usize, usize)> =
                (0..batch.len()).step_by(PIECE).map(|s| (s, (s + PIECE).min(batch.len()))).collect();
            for bounds in pieces.chunks(threads) {
                // Each piece: its default-output quads (as quads or serialised lines) and the quads
                // bound for logical targets.
                let graphs = match sink {
                    Sink::Lines { graphs, .. } => Some(*graphs),
                    Sink::Quads(_) => None,
                };
                let outputs: Vec<Result<Piece>> = bounds
                    .par_iter()
                    .map(|&(start, end)| {
                        let mut piece = Piece::default();
                        self.emit(map, batch.slice(start, end).as_ref(), &indexes, &mut |q, to| {
                            if !to.is_empty() {
                                piece.targeted.push((q.into_owned(), to.to_vec()));
                                return Ok(());
                            }
                            piece.count += 1;
                            match graphs {
                                None => piece.quads.push(q.into_owned()),
                                Some(false) if !q.graph_name.is_default_graph() => {
                                    return Err(no_named_graphs(q.graph_name));
                                }
                                Some(graphs) => ntriples::write_quad(&mut piece.lines, q, graphs),
                            }
                            Ok(())
                        })?;
                        Ok(piece)
                    })
                    .collect();
                for piece in outputs {
                    let piece = piece?;
                    match sink {
                        Sink::Quads(sink) => {
                            for quad in &piece.quads {
                                sink(quad.as_ref()).map_err(io)?;
                            }
                        }
                        Sink::Lines { out, .. } => out(piece.lines).map_err(io)?,
                    }
                    report.quads += piece.count + piece.targeted.len() as u64;
                    if let Some(targets) = targets.as_mut() {
                        for (quad, to) in &piece.targeted {
                            targets.write(quad.as_ref(), to)?;
                        }
                    }
                }
            }
            Ok(())
        })
    }

    /// The quads of one triples map over one batch (or piece of one), in record order.
    fn emit(
        &self,
        map: &TriplesMap,
        batch: &dyn source::Batch,
        indexes: &HashMap<(usize, usize), JoinIndex>,
        sink: &mut dyn FnMut(QuadRef<'_>, &[usize]) -> std::io::Result<()>,
    ) -> Result<u64> {
        let io = |e: std::io::Error| map.location.error(format!("cannot write the output: {e}"));
        let mut count = 0u64;
        let evaluator = Evaluator::new(batch, &map.base);
        let targets_of = |m: &TermMap| {
            let mut out = Vec::new();
            m.all_targets(&mut out);
            out
        };
        let subject_targets = targets_of(&map.subject);
        let subjects = evaluator.terms(&map.subject)?;
        let subject_graphs = graph_terms(&evaluator, &map.subject.graphs)?;
        let mut poms = Vec::with_capacity(map.poms.len());
        for (p, pom) in map.poms.iter().enumerate() {
            let predicates = pom
                .predicates
                .iter()
                .map(|m| Ok((evaluator.terms(m)?, targets_of(m))))
                .collect::<Result<Vec<_>>>()?;
            let mut objects = Vec::with_capacity(pom.objects.len());
            for (o, object) in pom.objects.iter().enumerate() {
                let object_targets = match object {
                    ObjectMap::Term(m) => targets_of(m),
                    ObjectMap::Join(_) => Vec::new(),
                };
                objects.push((
                    object_targets,
                    match object {
                        ObjectMap::Term(m) => Objects::Terms(evaluator.terms(m)?),
                        ObjectMap::Join(join) if join.joins.is_empty() => {
                            let parent = &self.plan.maps[join.parent];
                            Objects::Terms(Evaluator::new(batch, &parent.base).terms(&parent.subject)?)
                        }
                        ObjectMap::Join(join) => Objects::Join {
                            keys: join
                                .joins
                                .iter()
                                .map(|(c, _)| evaluator.strings(c))
                                .collect::<Result<_>>()?,
                            index: &indexes[&(p, o)],
                        },
                    },
                ));
            }
            let graphs = graph_terms(&evaluator, &pom.graphs)?;
            poms.push((predicates, objects, graphs));
        }
        let mut graphs: Vec<(GraphName, Vec<usize>)> = Vec::new();
        let mut to: Vec<usize> = Vec::new();
        let union = |to: &mut Vec<usize>, parts: &[&[usize]]| {
            to.clear();
            for part in parts {
                for t in *part {
                    if !to.contains(t) {
                        to.push(*t);
                    }
                }
            }
        };
        for record in 0..batch.len() {
            for subject in subjects.get(record) {
                let subject = match subject {
                    Term::NamedNode(n) => NamedOrBlankNodeRef::from(n),
                    Term::BlankNode(b) => NamedOrBlankNodeRef::from(b),
                    Term::Literal(_) | Term::Triple(_) => {
                        return Err(map
                            .location
                            .term("subject map")
                            .error("a subject must be an IRI or a blank node"));
                    }
                };
                graphs.clear();
                collect_graphs(&subject_graphs, record, &mut graphs, &map.location)?;
                let subject_graph_count = graphs.len();
                for class in &map.classes {
                    for (graph, graph_targets) in graph_or_default(&graphs) {
                        union(&mut to, &[&subject_targets, graph_targets]);
                        sink(QuadRef::new(subject, rdf::TYPE, class, graph), &to).map_err(io)?;
                        count += 1;
                    }
                }
                for (predicates, objects, pom_graphs) in &poms {
                    graphs.truncate(subject_graph_count);
                    collect_graphs(pom_graphs, record, &mut graphs, &map.location)?;
                    for (predicate, predicate_targets) in predicates {
                        for predicate in predicate.get(record) {
                            let Term::NamedNode(predicate) = predicate else {
                                return Err(map
                                    .location
                                    .error(format!("predicate {predicate} is not an IRI")));
                            };
                            for (object_targets, object) in objects {
                                for object in object.get(record).iter() {
                                    for (graph, graph_targets) in graph_or_default(&graphs) {
                                        union(
                                            &mut to,
                                            &[
                                                &subject_targets,
                                                predicate_targets,
                                                object_targets,
                                                graph_targets,
                                            ],
                                        );
                                        sink(QuadRef::new(subject, predicate, object, graph), &to)
                                            .map_err(io)?;
                                        count += 1;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(count)
    }
}

/// Records per piece of parallel work.
const PIECE: usize = 8192;

/// Join key values to the parent's subjects.
type JoinIndex = HashMap<Vec<String>, Vec<Term>>;

/// The error of a quad in a named graph bound for a format without graphs.
pub(crate) fn no_named_graphs(graph: GraphNameRef<'_>) -> std::io::Error {
    std::io::Error::other(format!(
        "the mapping puts triples in the named graph {graph}; write N-Quads or TriG"
    ))
}

/// What one piece of a batch produced.
#[derive(Default)]
struct Piece {
    quads: Vec<Quad>,
    lines: Vec<u8>,
    count: u64,
    targeted: Vec<(Quad, Vec<usize>)>,
}

/// Where quads go.
enum Sink<'a> {
    Quads(&'a mut dyn FnMut(QuadRef<'_>) -> std::io::Result<()>),
    Lines { out: &'a mut dyn FnMut(Vec<u8>) -> std::io::Result<()>, graphs: bool },
}

/// The objects of one object map over a batch.
enum Objects<'a> {
    Terms(Terms),
    Join { keys: Vec<Vec<Vec<source::Value>>>, index: &'a HashMap<Vec<String>, Vec<Term>> },
}

impl Objects<'_> {
    fn get(&self, record: usize) -> std::borrow::Cow<'_, [Term]> {
        match self {
            Objects::Terms(terms) => std::borrow::Cow::Borrowed(terms.get(record)),
            Objects::Join { keys, index } => {
                let mut out: Vec<Term> = Vec::new();
                for key in combinations(keys, record) {
                    if let Some(subjects) = index.get(&key) {
                        for s in subjects {
                            if !out.contains(s) {
                                out.push(s.clone());
                            }
                        }
                    }
                }
                std::borrow::Cow::Owned(out)
            }
        }
    }
}

/// Every combination of the join values of one record (none when a value is missing).
fn combinations(keys: &[Vec<Vec<source::Value>>], record: usize) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for key in keys {
        let values = &key[record];
        let mut next = Vec::with_capacity(out.len() * values.len());
        for prefix in &out {
            for value in values {
                let mut k = prefix.clone();
                k.push(value.text.clone());
                next.push(k);
            }
        }
        out = next;
    }
    out
}

/// Graph term maps evaluated over a batch; `None` stands for `rml:defaultGraph`.
/// Graph term maps evaluated over a batch, with their targets; `None` stands for
/// `rml:defaultGraph`.
fn graph_terms(evaluator: &Evaluator<'_>, maps: &[TermMap]) -> Result<Vec<(Option<Terms>, Vec<usize>)>> {
    maps.iter()
        .map(|m| {
            let mut targets = Vec::new();
            m.all_targets(&mut targets);
            let terms = if m.is_default_graph() { None } else { Some(evaluator.terms(m)?) };
            Ok((terms, targets))
        })
        .collect()
}

fn collect_graphs(
    terms: &[(Option<Terms>, Vec<usize>)],
    record: usize,
    graphs: &mut Vec<(GraphName, Vec<usize>)>,
    at: &Location,
) -> Result<()> {
    for (terms, targets) in terms {
        match terms {
            None => push_unique(graphs, GraphName::DefaultGraph, targets),
            Some(terms) => {
                for term in terms.get(record) {
                    match term {
                        Term::NamedNode(n) => push_unique(graphs, GraphName::NamedNode(n.clone()), targets),
                        other => return Err(at.error(format!("graph name {other} is not an IRI"))),
                    }
                }
            }
        }
    }
    Ok(())
}

fn push_unique(graphs: &mut Vec<(GraphName, Vec<usize>)>, graph: GraphName, targets: &[usize]) {
    match graphs.iter_mut().find(|(g, _)| *g == graph) {
        Some((_, known)) => {
            for t in targets {
                if !known.contains(t) {
                    known.push(*t);
                }
            }
        }
        None => graphs.push((graph, targets.to_vec())),
    }
}

fn graph_or_default(
    graphs: &[(GraphName, Vec<usize>)],
) -> impl Iterator<Item = (GraphNameRef<'_>, &[usize])> {
    let default = graphs.is_empty().then_some((GraphNameRef::DefaultGraph, &[][..]));
    graphs.iter().map(|(g, t)| (g.as_ref(), t.as_slice())).chain(default)
}

#[cfg(test)]
mod tests;
