//! SPARQL query and update with a dataset from the protocol and a time budget.

use crate::{Budget, Result, Store, StoreError};
use oxigraph::model::{GraphName, NamedNode, NamedOrBlankNode};
use oxigraph::sparql::{
    QueryEvaluationError, QueryResults, QuerySolutionIter, ServiceHandler, SparqlEvaluator,
};

/// A query and how to evaluate it.
#[derive(Debug, Default, Clone)]
pub struct QueryRequest<'a> {
    /// The SPARQL text.
    pub query: &'a str,
    /// The base IRI for relative IRIs in the query.
    pub base_iri: Option<&'a str>,
    /// Graphs that make up the default graph (SPARQL protocol `default-graph-uri`); they
    /// override the query's own `FROM`.
    pub default_graphs: Vec<NamedNode>,
    /// Graphs available to `GRAPH` (protocol `named-graph-uri`); override `FROM NAMED`.
    pub named_graphs: Vec<NamedNode>,
    /// With no dataset given, query the union of all graphs instead of the default graph.
    pub union_default_graph: bool,
}

/// An update and how to evaluate it.
#[derive(Debug, Default, Clone)]
pub struct UpdateRequest<'a> {
    /// The SPARQL text.
    pub update: &'a str,
    /// The base IRI for relative IRIs in the update.
    pub base_iri: Option<&'a str>,
    /// Protocol `using-graph-uri`.
    pub using_graphs: Vec<NamedNode>,
    /// Protocol `using-named-graph-uri`.
    pub using_named_graphs: Vec<NamedNode>,
}

impl Store {
    /// Evaluates a query. Evaluation is lazy: the work happens while the results are iterated,
    /// and stops when `budget` runs out or is cancelled.
    pub fn query(&self, request: &QueryRequest<'_>, budget: &Budget) -> Result<QueryResults<'static>> {
        let mut prepared = self.evaluator(request.base_iri, budget)?.parse_query(request.query)?;
        let protocol_dataset = !request.default_graphs.is_empty() || !request.named_graphs.is_empty();
        let dataset = prepared.dataset_mut();
        if protocol_dataset {
            dataset.set_default_graph(request.default_graphs.iter().cloned().map(GraphName::from).collect());
            dataset.set_available_named_graphs(
                request.named_graphs.iter().cloned().map(NamedOrBlankNode::from).collect(),
            );
        } else if request.union_default_graph && dataset.is_default_dataset() {
            dataset.set_default_graph_as_union();
        }
        prepared.on_store(&self.inner).execute().map_err(|e| query_error(e, budget))
    }

    /// Evaluates an update in one transaction: it applies whole or not at all.
    pub fn update(&self, request: &UpdateRequest<'_>, budget: &Budget) -> Result<()> {
        let mut prepared = self.evaluator(request.base_iri, budget)?.parse_update(request.update)?;
        if !request.using_graphs.is_empty() || !request.using_named_graphs.is_empty() {
            for dataset in prepared.using_datasets_mut() {
                if !dataset.is_default_dataset() {
                    return Err(StoreError::DatasetConflict);
                }
                dataset
                    .set_default_graph(request.using_graphs.iter().cloned().map(GraphName::from).collect());
                dataset.set_available_named_graphs(
                    request.using_named_graphs.iter().cloned().map(NamedOrBlankNode::from).collect(),
                );
            }
        }
        let result = prepared
            .on_store(&self.inner)
            .execute()
            .map_err(|e| if budget.is_cancelled() { budget.stop_error() } else { StoreError::Update(e) });
        self.mark_changed();
        result
    }
}

/// A local `SERVICE`: given the pattern inside `SERVICE <name> { ... }`, its solutions, or a
/// message for the user.
pub type ServiceFn = std::sync::Arc<
    dyn Fn(&spargebra::algebra::GraphPattern) -> std::result::Result<QuerySolutionIter<'static>, String>
        + Send
        + Sync,
>;

/// The local services of a store, shared by its clones.
#[derive(Clone, Default)]
pub(crate) struct Services(std::sync::Arc<std::sync::RwLock<Vec<(NamedNode, ServiceFn)>>>);

/// A [`ServiceFn`] as Oxigraph's service handler.
struct Local(ServiceFn);

/// A local service's error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServiceError(String);

impl ServiceHandler for Local {
    type Error = ServiceError;

    fn handle(
        &self,
        pattern: &spargebra::algebra::GraphPattern,
        _base_iri: Option<&oxiri::Iri<String>>,
    ) -> std::result::Result<QuerySolutionIter<'static>, ServiceError> {
        (self.0)(pattern).map_err(ServiceError)
    }
}

impl Store {
    /// Makes `SERVICE <name> { ... }` in queries call `handler` instead of a remote endpoint;
    /// replaces an earlier handler of the same name.
    pub fn register_service(&self, name: NamedNode, handler: ServiceFn) {
        let mut services = self.services.0.write().unwrap_or_else(|e| e.into_inner());
        services.retain(|(n, _)| *n != name);
        services.push((name, handler));
    }

    fn evaluator(&self, base: Option<&str>, budget: &Budget) -> Result<SparqlEvaluator> {
        let mut evaluator = evaluator(base, budget)?;
        for (name, handler) in self.services.0.read().unwrap_or_else(|e| e.into_inner()).iter() {
            evaluator = evaluator.with_service_handler(name.clone(), Local(handler.clone()));
        }
        Ok(evaluator)
    }
}

/// An evaluator bound to the budget's cancellation token, resolving against `base`.
fn evaluator(base: Option<&str>, budget: &Budget) -> Result<SparqlEvaluator> {
    let evaluator = SparqlEvaluator::new().with_cancellation_token(budget.token().clone());
    match base {
        Some(base) => evaluator
            .with_base_iri(base)
            .map_err(|e| StoreError::InvalidIri { iri: base.into(), message: e.to_string() }),
        None => Ok(evaluator),
    }
}

/// Maps an evaluation error, telling a timeout or cancellation apart from a real failure.
pub(crate) fn query_error(error: QueryEvaluationError, budget: &Budget) -> StoreError {
    if matches!(error, QueryEvaluationError::Cancelled) || budget.is_cancelled() {
        budget.stop_error()
    } else {
        StoreError::Query(error)
    }
}

impl Store {
    /// Runs a SELECT query under `timeout` and gives each solution's values as text (IRIs bare,
    /// blank nodes as `_:id`, literals by their lexical form), in the order of its variables.
    pub fn select_strings(
        &self,
        query: &str,
        timeout: std::time::Duration,
    ) -> Result<Vec<Vec<Option<String>>>> {
        let budget = self.budget(timeout);
        let request = QueryRequest { query, ..Default::default() };
        let QueryResults::Solutions(solutions) = self.query(&request, &budget)? else {
            return Ok(Vec::new());
        };
        let variables = solutions.variables().to_vec();
        let mut rows = Vec::new();
        for solution in solutions {
            let solution = solution.map_err(|e| query_error(e, &budget))?;
            rows.push(variables.iter().map(|v| solution.get(v).map(crate::term_text)).collect());
        }
        Ok(rows)
    }
}
