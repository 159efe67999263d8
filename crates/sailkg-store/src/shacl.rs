//! SHACL validation of the store's data by a maintained engine: rudof's `shacl` crate.
//!
//! The engine validates an in-memory graph, so [`validate`] first gathers what the shapes can
//! look at: the focus nodes of their targets (instances of each target class and of its
//! subclasses, target nodes, subjects and objects of target properties), every statement about
//! them, the statements about the blank nodes they reach, the types of the nodes they point to
//! (for `sh:class`), the statements pointing at them through the predicates of inverse paths, and
//! the class hierarchy (SHACL reads `rdfs:subClassOf` in the data graph). [`Limits`] bound that
//! gathering; a report says when it stopped short.

use crate::{Result, Store, StoreError};
use oxigraph::model::vocab::{rdf, rdfs};
use oxigraph::model::{
    GraphNameRef, NamedNode, NamedNodeRef, NamedOrBlankNode, NamedOrBlankNodeRef, Term, TermRef, Triple,
};
use rudof_rdf::rdf_core::term::Object;
use rudof_rdf::rdf_impl::OxigraphInMemory;
use sailkg_core::vocab;
use serde::{Deserialize, Serialize};
use shacl::ir::IRSchema;
use shacl::rdf::ShaclParser;
use shacl::validator::processor::{GraphValidation, ShaclProcessor};
use shacl::validator::store::Graph;
use shacl::validator::{ShaclConfig, ShaclValidationMode};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The engine, as reports name it.
pub const ENGINE: &str = "rudof shacl 0.3.37";

const SH: &str = "http://www.w3.org/ns/shacl#";

/// Bounds on what one validation gathers and reports.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Focus nodes gathered from the targets.
    pub focus_nodes: usize,
    /// Statements copied into the engine's graph.
    pub triples: usize,
    /// Results kept.
    pub results: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { focus_nodes: 200_000, triples: 2_000_000, results: 100_000 }
    }
}

/// One validation result.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Finding {
    pub focus: String,
    /// The result path (`sh:resultPath`), empty for node constraints.
    pub path: String,
    /// The offending value, empty when the constraint is about the focus node as a whole.
    pub value: String,
    /// The constraint component, e.g. `http://www.w3.org/ns/shacl#MaxInclusiveConstraintComponent`.
    pub component: String,
    /// The shape the constraint belongs to (a blank node is written `_:id`).
    pub shape: String,
    /// `Violation`, `Warning` or `Info`.
    pub severity: String,
    pub message: String,
}

impl Finding {
    /// The constraint's local name, as the shape writes it: `maxInclusive`, `minCount`, …
    pub fn constraint(&self) -> String {
        let local = self.component.rsplit(['#', '/']).next().unwrap_or(&self.component);
        let local = local.strip_suffix("ConstraintComponent").unwrap_or(local);
        let mut chars = local.chars();
        chars.next().map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
    }
}

/// The outcome of [`validate`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub conforms: bool,
    pub findings: Vec<Finding>,
    /// Focus nodes gathered from the targets.
    pub focus_nodes: u64,
    /// Statements the engine saw.
    pub triples: u64,
    /// Whether a limit stopped the gathering or the results: then the report covers part of the data.
    pub truncated: bool,
}

/// The statements of the store's shapes graph.
pub fn shapes_graph(store: &Store) -> Result<Vec<Triple>> {
    graph_triples(store, vocab::GRAPH_SHAPES, None)
}

/// The statements of a shapes file (any RDF syntax the store loads, gzip too), with a located
/// error for a malformed one.
pub fn read_shapes(path: &std::path::Path) -> Result<Vec<Triple>> {
    let input = crate::open_input(path, None, None)?;
    oxigraph::io::RdfParser::from_format(input.format)
        .for_reader(input.reader)
        .map(|q| q.map(Triple::from).map_err(|e| crate::load::located(&input.name, e)))
        .collect()
}

/// The class hierarchy (`rdfs:subClassOf`) of the store's ontology graph.
pub fn hierarchy(store: &Store) -> Result<Vec<Triple>> {
    graph_triples(store, vocab::GRAPH_ONTOLOGY, Some(rdfs::SUB_CLASS_OF))
}

fn graph_triples(store: &Store, graph: &str, predicate: Option<NamedNodeRef<'_>>) -> Result<Vec<Triple>> {
    let graph = NamedNode::new_unchecked(graph);
    store
        .oxigraph()
        .quads_for_pattern(None, predicate, None, Some(GraphNameRef::NamedNode(graph.as_ref())))
        .map(|q| q.map(Triple::from).map_err(StoreError::from))
        .collect()
}

/// The shape nodes whose targets [`validate`] gathers: all named and blank subjects that
/// declare a target, or only some of them.
pub type Scope = HashSet<NamedOrBlankNode>;

/// Validates the store's data against `shapes`, reading `hierarchy` as the class hierarchy.
///
/// With `scope`, only the targets of those shapes are gathered (every shape still checks the
/// nodes gathered, so compare two reports of the same data to see what a change does).
pub fn validate(
    store: &Store,
    shapes: &[Triple],
    hierarchy: &[Triple],
    scope: Option<&Scope>,
    limits: &Limits,
) -> Result<Report> {
    let schema = compile(shapes)?;
    let data = gather(store, &[(shapes, hierarchy)], scope, limits)?;
    // The statements move into the engine's graph one by one, so they are not held twice.
    check(&schema, data.triples.into_iter(), hierarchy, data.focus_nodes, data.truncated, limits)
}

/// What [`gather`] read from the store, to check against one or more states of the shapes.
pub struct Data {
    pub focus_nodes: u64,
    pub truncated: bool,
    triples: Vec<Triple>,
}

impl Data {
    /// Validates the gathered data against `shapes`, reading `hierarchy` as the class hierarchy.
    pub fn check(&self, shapes: &[Triple], hierarchy: &[Triple], limits: &Limits) -> Result<Report> {
        let schema = compile(shapes)?;
        check(&schema, self.triples.iter().cloned(), hierarchy, self.focus_nodes, self.truncated, limits)
    }
}

/// Reads from the store the focus nodes of the targets of each `(shapes, hierarchy)` state (of
/// the shapes in `scope` only, with it) and what the shapes can see of them, once for all states.
pub fn gather(
    store: &Store,
    states: &[(&[Triple], &[Triple])],
    scope: Option<&Scope>,
    limits: &Limits,
) -> Result<Data> {
    let mut gather = Gatherer::new(store, limits);
    let mut inverse: Vec<NamedNode> = Vec::new();
    for (shapes, hierarchy) in states {
        gather.targets(shapes, hierarchy, scope)?;
        for t in shapes.iter().filter(|t| t.predicate.as_str() == format!("{SH}inversePath")) {
            if let Term::NamedNode(p) = &t.object
                && !inverse.contains(p)
            {
                inverse.push(p.clone());
            }
        }
    }
    gather.statements(&inverse)?;
    Ok(Data { focus_nodes: gather.focus.len() as u64, truncated: gather.truncated, triples: gather.triples })
}

/// Runs the engine on `hierarchy` and `triples`.
fn check(
    schema: &IRSchema,
    triples: impl Iterator<Item = Triple>,
    hierarchy: &[Triple],
    focus_nodes: u64,
    cut: bool,
    limits: &Limits,
) -> Result<Report> {
    let mut data = OxigraphInMemory::new();
    for triple in hierarchy.iter().cloned().chain(triples) {
        data.add_triple_ref(triple.subject.as_ref(), triple.predicate.as_ref(), triple.object.as_ref())
            .map_err(|e| shapes_error(e.to_string()))?;
    }
    let triples = data.len() as u64;
    let config = ShaclConfig::default().with_max_results(Some(limits.results));
    let mut validator = GraphValidation::new(Graph::from(data));
    let report = validator
        .validate(schema, &ShaclValidationMode::Native, &config)
        .map_err(|e| shapes_error(format!("validation failed: {e}")))?;
    let mut findings: Vec<Finding> = report
        .results()
        .iter()
        .map(|r| Finding {
            focus: object_text(r.focus_node()),
            path: r.path().map(|p| p.to_string()).unwrap_or_default(),
            value: r.value().map(object_text).unwrap_or_default(),
            component: object_text(r.constraint_component()),
            shape: r.source().map(object_text).unwrap_or_default(),
            severity: r.severity().to_string(),
            message: message(&r.message().to_string()),
        })
        .collect();
    findings.sort();
    findings.dedup();
    Ok(Report {
        conforms: report.conforms(),
        truncated: cut || findings.len() >= limits.results,
        findings,
        focus_nodes,
        triples,
    })
}

/// `classes` with all their superclasses in `hierarchy`.
pub fn with_superclasses(hierarchy: &[Triple], classes: impl IntoIterator<Item = Term>) -> HashSet<Term> {
    let mut all: HashSet<Term> = HashSet::new();
    let mut queue: Vec<Term> = classes.into_iter().collect();
    while let Some(class) = queue.pop() {
        if all.insert(class.clone()) {
            queue.extend(
                hierarchy.iter().filter(|t| Term::from(t.subject.clone()) == class).map(|t| t.object.clone()),
            );
        }
    }
    all
}

/// The shapes that target one of `classes` (`sh:targetClass`).
pub fn targeting<'a>(shapes: impl IntoIterator<Item = &'a Triple>, classes: &HashSet<Term>) -> Scope {
    shapes
        .into_iter()
        .filter(|t| t.predicate.as_str() == format!("{SH}targetClass") && classes.contains(&t.object))
        .map(|t| t.subject.clone())
        .collect()
}

/// Parses and compiles a shapes graph.
pub fn compile(shapes: &[Triple]) -> Result<IRSchema> {
    let mut graph = OxigraphInMemory::new();
    for t in shapes {
        graph
            .add_triple_ref(t.subject.as_ref(), t.predicate.as_ref(), t.object.as_ref())
            .map_err(|e| shapes_error(e.to_string()))?;
    }
    let ast = ShaclParser::new(graph).parse().map_err(|e| shapes_error(format!("the shapes graph: {e}")))?;
    IRSchema::compile(&ast).map_err(|e| shapes_error(format!("the shapes graph: {e}")))
}

fn shapes_error(message: String) -> StoreError {
    StoreError::Shacl(message)
}

/// The engine writes a message as an RDF literal; people read its text.
fn message(text: &str) -> String {
    text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text).to_owned()
}

fn object_text(object: &Object) -> String {
    match object {
        Object::Literal(literal) => literal.lexical_form(),
        other => other.to_string(),
    }
}

/// Collects focus nodes and the statements about them from the store.
struct Gatherer<'a> {
    store: &'a Store,
    limits: &'a Limits,
    focus: Vec<NamedOrBlankNode>,
    seen_focus: HashSet<NamedOrBlankNode>,
    /// Duplicates are left to the engine's graph.
    triples: Vec<Triple>,
    truncated: bool,
}

impl<'a> Gatherer<'a> {
    fn new(store: &'a Store, limits: &'a Limits) -> Self {
        Self {
            store,
            limits,
            focus: Vec::new(),
            seen_focus: HashSet::new(),
            triples: Vec::new(),
            truncated: false,
        }
    }

    fn add_focus(&mut self, node: NamedOrBlankNode) -> bool {
        if self.focus.len() >= self.limits.focus_nodes {
            self.truncated = true;
            return false;
        }
        if self.seen_focus.insert(node.clone()) {
            self.focus.push(node);
        }
        true
    }

    fn add_triple(&mut self, triple: Triple) -> bool {
        if self.triples.len() >= self.limits.triples {
            self.truncated = true;
            return false;
        }
        self.triples.push(triple);
        true
    }

    /// The focus nodes of the targets of the shapes in `scope` (all when `None`).
    fn targets(&mut self, shapes: &[Triple], hierarchy: &[Triple], scope: Option<&Scope>) -> Result<()> {
        let mut subclasses: HashMap<&NamedNode, Vec<&NamedNode>> = HashMap::new();
        for t in hierarchy {
            if let (NamedOrBlankNode::NamedNode(sub), Term::NamedNode(sup)) = (&t.subject, &t.object) {
                subclasses.entry(sup).or_default().push(sub);
            }
        }
        let in_scope = |s: &NamedOrBlankNode| scope.is_none_or(|scope| scope.contains(s));
        let sh = |local: &str| format!("{SH}{local}");
        let (target_class, target_node, subjects_of, objects_of) =
            (sh("targetClass"), sh("targetNode"), sh("targetSubjectsOf"), sh("targetObjectsOf"));
        let shape_types = [sh("NodeShape"), sh("PropertyShape")];
        let shapes_set: HashSet<&NamedOrBlankNode> = shapes
            .iter()
            .filter(|t| {
                t.predicate == rdf::TYPE
                    && matches!(&t.object, Term::NamedNode(n) if shape_types.contains(&n.as_str().to_owned()))
            })
            .map(|t| &t.subject)
            .collect();
        let mut classes: BTreeSet<&NamedNode> = BTreeSet::new();
        let mut nodes: Vec<Term> = Vec::new();
        let mut properties: Vec<(&NamedNode, bool)> = Vec::new();
        for t in shapes.iter().filter(|t| in_scope(&t.subject)) {
            let p = t.predicate.as_str();
            match &t.object {
                Term::NamedNode(o) if p == target_class => {
                    classes.insert(o);
                }
                Term::NamedNode(o) if p == subjects_of || p == objects_of => {
                    properties.push((o, p == subjects_of))
                }
                o if p == target_node => nodes.push(o.clone()),
                // Implicit class targets: a shape that is also a class.
                Term::NamedNode(o)
                    if t.predicate == rdf::TYPE
                        && (*o == rdfs::CLASS || o.as_str() == "http://www.w3.org/2002/07/owl#Class")
                        && shapes_set.contains(&t.subject) =>
                {
                    if let NamedOrBlankNode::NamedNode(s) = &t.subject {
                        classes.insert(s);
                    }
                }
                _ => {}
            }
        }
        // Each target class with its subclasses.
        let mut queue: Vec<&NamedNode> = classes.iter().copied().collect();
        let mut closure: BTreeSet<&NamedNode> = BTreeSet::new();
        while let Some(class) = queue.pop() {
            if closure.insert(class) {
                queue.extend(subclasses.get(class).into_iter().flatten().copied());
            }
        }
        for class in closure {
            for triple in pattern(self.store, None, Some(rdf::TYPE), Some(class.as_ref().into())) {
                if !self.add_focus(triple?.subject) {
                    return Ok(());
                }
            }
        }
        for node in nodes {
            // A literal target node has no statements to gather; the engine checks it as it is.
            if let Ok(node) = NamedOrBlankNode::try_from(node)
                && !self.add_focus(node)
            {
                return Ok(());
            }
        }
        for (property, subjects) in properties {
            for triple in pattern(self.store, None, Some(property.as_ref()), None) {
                let triple = triple?;
                let keep = if subjects {
                    self.add_focus(triple.subject.clone())
                } else {
                    match NamedOrBlankNode::try_from(triple.object.clone()) {
                        Ok(node) => self.add_focus(node),
                        Err(_) => true,
                    }
                };
                // The target needs the statement itself in the data graph.
                if !keep || !self.add_triple(triple) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Every statement about the focus nodes and the blank nodes they reach, the types of the
    /// nodes they point to, and the statements pointing at them through `inverse` predicates.
    /// Reading a statement costs lookups of its strings in RocksDB, so the focus nodes are read in
    /// parallel, a share per core.
    fn statements(&mut self, inverse: &[NamedNode]) -> Result<()> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        let share = self.focus.len().div_ceil(threads).max(1);
        let budget = Budget {
            left: AtomicUsize::new(self.limits.triples.saturating_sub(self.triples.len())),
            cut: AtomicBool::new(false),
        };
        let (store, focus, budget) = (self.store, &self.focus, &budget);
        let shares: Vec<Result<Vec<Triple>>> = std::thread::scope(|scope| {
            let readers: Vec<_> = focus
                .chunks(share)
                .map(|nodes| scope.spawn(move || read_about(store, nodes, inverse, budget)))
                .collect();
            readers
                .into_iter()
                .map(|r| {
                    r.join().unwrap_or_else(|_| Err(StoreError::Shacl("a reading thread failed".into())))
                })
                .collect()
        });
        for share in shares {
            self.triples.extend(share?);
        }
        self.truncated |= budget.cut.load(Ordering::Relaxed);
        Ok(())
    }
}

/// What the reading threads may still copy.
struct Budget {
    left: AtomicUsize,
    cut: AtomicBool,
}

impl Budget {
    /// Takes one statement from the budget; false once it is spent.
    fn take(&self) -> bool {
        let taken =
            self.left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok();
        if !taken {
            self.cut.store(true, Ordering::Relaxed);
        }
        taken
    }
}

/// The statements about `nodes` (see [`Gatherer::statements`]).
fn read_about(
    store: &Store,
    nodes: &[NamedOrBlankNode],
    inverse: &[NamedNode],
    budget: &Budget,
) -> Result<Vec<Triple>> {
    let mut out = Vec::new();
    let mut queue: Vec<NamedOrBlankNode> = nodes.to_vec();
    let mut visited: HashSet<NamedOrBlankNode> = HashSet::new();
    let mut typed: HashSet<NamedNode> = HashSet::new();
    let keep = |triple: Triple, out: &mut Vec<Triple>| {
        let kept = budget.take();
        if kept {
            out.push(triple);
        }
        kept
    };
    while let Some(node) = queue.pop() {
        if !visited.insert(node.clone()) {
            continue;
        }
        for triple in pattern(store, Some(node.as_ref()), None, None) {
            let triple = triple?;
            match &triple.object {
                Term::BlankNode(b) => queue.push(b.clone().into()),
                Term::NamedNode(n) if triple.predicate != rdf::TYPE && typed.insert(n.clone()) => {
                    for t in pattern(store, Some(n.as_ref().into()), Some(rdf::TYPE), None) {
                        if !keep(t?, &mut out) {
                            return Ok(out);
                        }
                    }
                }
                _ => {}
            }
            if !keep(triple, &mut out) {
                return Ok(out);
            }
        }
        for p in inverse {
            for triple in pattern(store, None, Some(p.as_ref()), Some(node.as_ref().into())) {
                if !keep(triple?, &mut out) {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

fn pattern(
    store: &Store,
    s: Option<NamedOrBlankNodeRef<'_>>,
    p: Option<NamedNodeRef<'_>>,
    o: Option<TermRef<'_>>,
) -> impl Iterator<Item = Result<Triple>> + 'static {
    store.oxigraph().quads_for_pattern(s, p, o, None).map(|q| q.map(Triple::from).map_err(StoreError::from))
}
