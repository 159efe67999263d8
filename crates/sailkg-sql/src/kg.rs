//! Class views (schema `kg`): for each class with instances, a table whose rows are its
//! instances (`iri` first) and whose columns are the properties its instances use, plus the
//! datatype properties the ontology gives it by `rdfs:domain`. One value per instance gives a
//! scalar column typed from the literals' datatypes (integer, double, boolean, date, timestamp,
//! text; IRIs as text); more than one gives a list column.
//!
//! Scans are SPARQL queries over the store: only the projected columns are fetched, simple
//! filters (comparisons, `IN`, `IS [NOT] NULL`, `LIKE` prefixes/suffixes/infixes, IRI lookups)
//! become graph patterns and `FILTER`s, and a limit becomes a `LIMIT` on the instances. A class's
//! columns are discovered on first use and kept until the store changes.

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, ListBuilder, RecordBatch,
    StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{SchemaProvider, Session, TableProvider};
use datafusion::common::DataFusionError;
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::scalar::ScalarValue;
use oxigraph::model::{Literal, NamedNode, Term};
use oxigraph::sparql::QueryResults;
use sailkg_store::{QueryRequest, Store, term_text};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const XSD: &str = "http://www.w3.org/2001/XMLSchema#";
/// Stands for "an IRI or blank node" among the datatypes of a property's values.
const RESOURCE: &str = "urn:sailkg:vocab#Resource";
/// Classes of these vocabularies describe the model, not the data: they get no view.
const MODEL_NAMESPACES: [&str; 5] = [
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://www.w3.org/2000/01/rdf-schema#",
    "http://www.w3.org/2002/07/owl#",
    "http://www.w3.org/ns/shacl#",
    XSD,
];

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Integer,
    Double,
    Boolean,
    Date,
    DateTime,
}

impl Kind {
    fn data_type(self) -> DataType {
        match self {
            Kind::Text => DataType::Utf8,
            Kind::Integer => DataType::Int64,
            Kind::Double => DataType::Float64,
            Kind::Boolean => DataType::Boolean,
            Kind::Date => DataType::Date32,
            Kind::DateTime => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }

    /// The kind that holds values of all these datatypes.
    fn of_datatypes<'a>(datatypes: impl IntoIterator<Item = &'a str>) -> Kind {
        let mut kind = None;
        for datatype in datatypes {
            let one = match datatype.strip_prefix(XSD) {
                Some(
                    "integer" | "int" | "long" | "short" | "byte" | "nonNegativeInteger" | "positiveInteger"
                    | "nonPositiveInteger" | "negativeInteger" | "unsignedInt" | "unsignedShort"
                    | "unsignedByte",
                ) => Kind::Integer,
                Some("decimal" | "double" | "float") => Kind::Double,
                Some("boolean") => Kind::Boolean,
                Some("date") => Kind::Date,
                Some("dateTime" | "dateTimeStamp") => Kind::DateTime,
                _ => Kind::Text,
            };
            kind = Some(match (kind, one) {
                (None, one) => one,
                (Some(a), b) if a == b => a,
                (Some(Kind::Integer | Kind::Double), Kind::Integer | Kind::Double) => Kind::Double,
                _ => Kind::Text,
            });
        }
        kind.unwrap_or(Kind::Text)
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Integer => "integer",
            Kind::Double => "double",
            Kind::Boolean => "boolean",
            Kind::Date => "date",
            Kind::DateTime => "timestamp",
        }
    }
}

/// One column of a class view.
#[derive(Clone, Debug)]
pub(crate) struct Column {
    pub name: String,
    pub property: String,
    pub kind: Kind,
    pub multi: bool,
}

impl Column {
    pub fn type_name(&self) -> String {
        if self.multi { format!("list<{}>", self.kind.name()) } else { self.kind.name().to_owned() }
    }
}

/// A class with instances and the name of its view.
#[derive(Clone, Debug)]
pub(crate) struct Class {
    pub name: String,
    pub iri: String,
    pub instances: u64,
}

/// The `kg` schema: the classes are listed once per store change, their columns on first use.
#[derive(Debug, Clone)]
pub(crate) struct KgSchema {
    store: Store,
    timeout: Duration,
    cache: Arc<Mutex<Cache>>,
}

#[derive(Debug, Default)]
struct Cache {
    generation: Option<u64>,
    classes: Option<Arc<Vec<Class>>>,
    views: HashMap<String, Arc<ClassView>>,
}

impl KgSchema {
    pub fn new(store: Store, timeout: Duration) -> Self {
        Self { store, timeout, cache: Arc::default() }
    }

    /// The cache, emptied if the store changed since it was filled.
    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        let generation = self.store.generation();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.generation != Some(generation) {
            *cache = Cache { generation: Some(generation), ..Cache::default() };
        }
        cache
    }

    /// The classes with instances, with their view names.
    pub fn classes(&self) -> datafusion::error::Result<Arc<Vec<Class>>> {
        let generation = self.store.generation();
        if let Some(classes) = &self.cache().classes {
            return Ok(Arc::clone(classes));
        }
        let classes = Arc::new(discover_classes(&self.store, self.timeout)?);
        let mut cache = self.cache();
        if cache.generation == Some(generation) {
            cache.classes = Some(Arc::clone(&classes));
        }
        Ok(classes)
    }

    /// The view of one class, discovering its columns if needed.
    pub fn view(&self, name: &str) -> datafusion::error::Result<Option<Arc<ClassView>>> {
        let generation = self.store.generation();
        if let Some(view) = self.cache().views.get(name) {
            return Ok(Some(Arc::clone(view)));
        }
        let classes = self.classes()?;
        let Some(class) = classes.iter().find(|c| c.name == name) else { return Ok(None) };
        let columns = discover_columns(&self.store, &class.iri, self.timeout)?;
        let view = Arc::new(ClassView::new(class.clone(), columns, self.store.clone(), self.timeout));
        let mut cache = self.cache();
        if cache.generation == Some(generation) {
            cache.views.insert(name.to_owned(), Arc::clone(&view));
        }
        Ok(Some(view))
    }
}

#[async_trait::async_trait]
impl SchemaProvider for KgSchema {
    fn table_names(&self) -> Vec<String> {
        match self.classes() {
            Ok(classes) => classes.iter().map(|c| c.name.clone()).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the classes of the kg schema");
                Vec::new()
            }
        }
    }

    async fn table(&self, name: &str) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        // Discovery runs SPARQL queries: keep it off the async workers.
        let this = self.clone();
        let name = name.to_owned();
        let view = tokio::task::spawn_blocking(move || this.view(&name))
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))??;
        Ok(view.map(|view| view as Arc<dyn TableProvider>))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.classes().map(|classes| classes.iter().any(|c| c.name == name)).unwrap_or(false)
    }
}

fn select(
    store: &Store,
    query: &str,
    timeout: Duration,
) -> datafusion::error::Result<Vec<Vec<Option<Term>>>> {
    let budget = store.budget(timeout);
    let request = QueryRequest { query, union_default_graph: true, ..Default::default() };
    let results = store.query(&request, &budget).map_err(|e| DataFusionError::External(Box::new(e)))?;
    let QueryResults::Solutions(solutions) = results else {
        return Err(DataFusionError::Internal("a class-view query did not give solutions".into()));
    };
    let variables: Vec<_> = solutions.variables().to_vec();
    let mut rows = Vec::new();
    for solution in solutions {
        let solution = solution.map_err(|e| DataFusionError::External(Box::new(e)))?;
        rows.push(variables.iter().map(|v| solution.get(v).cloned()).collect());
    }
    Ok(rows)
}

fn text(term: &Option<Term>) -> Option<&str> {
    match term {
        Some(Term::NamedNode(n)) => Some(n.as_str()),
        Some(Term::Literal(l)) => Some(l.value()),
        _ => None,
    }
}

fn number(term: &Option<Term>) -> u64 {
    text(term).and_then(|t| t.parse().ok()).unwrap_or(0)
}

fn discover_classes(store: &Store, timeout: Duration) -> datafusion::error::Result<Vec<Class>> {
    let rows = select(
        store,
        "SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?class FILTER(isIRI(?class)) } GROUP BY ?class",
        timeout,
    )?;
    let mut classes: Vec<(String, u64)> = rows
        .iter()
        .filter_map(|row| Some((text(&row[0])?.to_owned(), number(&row[1]))))
        .filter(|(iri, _)| !MODEL_NAMESPACES.iter().any(|ns| iri.starts_with(ns)))
        .collect();
    classes.sort();
    let names = unique_names(classes.iter().map(|(iri, _)| iri.as_str()), &[]);
    Ok(classes
        .into_iter()
        .zip(names)
        .map(|((iri, instances), name)| Class { name, iri, instances })
        .collect())
}

fn discover_columns(store: &Store, class: &str, timeout: Duration) -> datafusion::error::Result<Vec<Column>> {
    let class = NamedNode::new(class).map_err(|e| DataFusionError::External(Box::new(e)))?;
    // Distinct (instance, property, value) first: an instance typed in several graphs counts once.
    let observed = select(
        store,
        &format!(
            "SELECT ?p (COUNT(*) AS ?n) (COUNT(DISTINCT ?s) AS ?subjects) \
               (GROUP_CONCAT(DISTINCT STR(?dt); separator=\" \") AS ?datatypes) WHERE {{ \
               {{ SELECT DISTINCT ?s ?p ?o WHERE {{ ?s a {class} . ?s ?p ?o }} }} \
               BIND(IF(isLiteral(?o), DATATYPE(?o), <{RESOURCE}>) AS ?dt) \
             }} GROUP BY ?p"
        ),
        timeout,
    )?;
    let declared = select(
        store,
        &format!(
            "SELECT ?p (SAMPLE(?range) AS ?r) WHERE {{ ?p <http://www.w3.org/2000/01/rdf-schema#domain> {class} \
               FILTER(isIRI(?p)) OPTIONAL {{ ?p <http://www.w3.org/2000/01/rdf-schema#range> ?range }} }} GROUP BY ?p"
        ),
        timeout,
    )?;
    let mut properties: Vec<(String, Kind, bool)> = Vec::new();
    for row in &observed {
        let Some(property) = text(&row[0]) else { continue };
        if property == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type" {
            continue;
        }
        let datatypes = text(&row[3]).unwrap_or("");
        let kind = Kind::of_datatypes(datatypes.split(' ').map(|d| if d == RESOURCE { "" } else { d }));
        properties.push((property.to_owned(), kind, number(&row[1]) > number(&row[2])));
    }
    for row in &declared {
        let Some(property) = text(&row[0]) else { continue };
        if properties.iter().any(|(p, ..)| p == property) {
            continue;
        }
        let kind = Kind::of_datatypes(text(&row[1]));
        properties.push((property.to_owned(), kind, false));
    }
    properties.sort_by(|a, b| a.0.cmp(&b.0));
    let names = unique_names(properties.iter().map(|(p, ..)| p.as_str()), &["iri"]);
    Ok(properties
        .into_iter()
        .zip(names)
        .map(|((property, kind, multi), name)| Column { name, property, kind, multi })
        .collect())
}

/// SQL-friendly names for IRIs: the local name in snake case; where two IRIs give the same
/// name, both are prefixed with a label of their namespace, then numbered if still equal.
pub(crate) fn unique_names<'a>(iris: impl Iterator<Item = &'a str>, reserved: &[&str]) -> Vec<String> {
    let iris: Vec<&str> = iris.collect();
    let locals: Vec<String> = iris.iter().map(|iri| snake_case(local_name(iri))).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for local in &locals {
        *counts.entry(local.as_str()).or_default() += 1;
    }
    let mut taken: HashSet<String> = reserved.iter().map(|r| (*r).to_owned()).collect();
    let mut names = Vec::with_capacity(iris.len());
    for (iri, local) in iris.iter().zip(&locals) {
        let mut name = if counts[local.as_str()] > 1 || taken.contains(local) {
            format!("{}_{local}", snake_case(namespace_label(iri)))
        } else {
            local.clone()
        };
        if taken.contains(&name) {
            let base = name.clone();
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{base}_{n}");
                n += 1;
            }
        }
        taken.insert(name.clone());
        names.push(name);
    }
    names
}

fn local_name(iri: &str) -> &str {
    let trimmed = iri.trim_end_matches(['/', '#']);
    let local = trimmed.rsplit(['#', '/', ':']).next().unwrap_or(trimmed);
    if local.is_empty() { trimmed } else { local }
}

/// The last part of the namespace with a letter in it (`foaf` of `http://xmlns.com/foaf/0.1/`).
fn namespace_label(iri: &str) -> &str {
    let namespace = iri.strip_suffix(local_name(iri)).unwrap_or(iri);
    namespace.split(['/', '#', ':']).rev().find(|part| part.chars().any(char::is_alphabetic)).unwrap_or("ns")
}

fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if c.is_uppercase() {
            if previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit()) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
        previous = Some(c);
    }
    let out = out.trim_end_matches('_').to_owned();
    match out.chars().next() {
        None => "_".to_owned(),
        Some(c) if c.is_ascii_digit() => format!("_{out}"),
        Some(_) => out,
    }
}

/// The table of one class.
#[derive(Debug)]
pub(crate) struct ClassView {
    pub class: Class,
    pub columns: Vec<Column>,
    schema: SchemaRef,
    store: Store,
    timeout: Duration,
}

/// How a filter goes into SPARQL.
struct Pushed {
    pattern: String,
    exact: bool,
}

impl ClassView {
    fn new(class: Class, columns: Vec<Column>, store: Store, timeout: Duration) -> Self {
        let mut fields = vec![Field::new("iri", DataType::Utf8, false)];
        for column in &columns {
            let data_type = column.kind.data_type();
            fields.push(if column.multi {
                Field::new(&column.name, DataType::new_list(data_type, true), true)
            } else {
                Field::new(&column.name, data_type, true)
            });
        }
        Self { class, columns, schema: Arc::new(Schema::new(fields)), store, timeout }
    }

    /// The column of a `Column` expression: `None` for `iri`, `Some(i)` for property columns.
    fn column_of(&self, expr: &Expr) -> Option<Option<usize>> {
        let Expr::Column(column) = expr else { return None };
        if column.name == "iri" {
            return Some(None);
        }
        self.columns.iter().position(|c| c.name == column.name).map(Some)
    }

    /// The SPARQL form of a simple filter, if it has one.
    fn push(&self, expr: &Expr, var: &str) -> Option<Pushed> {
        match expr {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                let (column, value, op) = match (self.column_of(left), self.column_of(right)) {
                    (Some(c), None) => (c, literal_of(right)?, *op),
                    (None, Some(c)) => (c, literal_of(left)?, op.swap()?),
                    _ => return None,
                };
                let op = match op {
                    Operator::Eq => "=",
                    Operator::NotEq => "!=",
                    Operator::Lt => "<",
                    Operator::LtEq => "<=",
                    Operator::Gt => ">",
                    Operator::GtEq => ">=",
                    _ => return None,
                };
                self.comparison(column, op, &value, var)
            }
            Expr::InList(list) if !list.negated => {
                let column = self.column_of(&list.expr)?;
                let values = list.list.iter().map(literal_of).collect::<Option<Vec<_>>>()?;
                match column {
                    None => {
                        let iris: Vec<String> = values
                            .iter()
                            .filter_map(|v| match v {
                                ScalarValue::Utf8(Some(s)) => NamedNode::new(s).ok().map(|n| n.to_string()),
                                _ => None,
                            })
                            .collect();
                        Some(Pushed { pattern: format!("VALUES ?s {{ {} }}", iris.join(" ")), exact: true })
                    }
                    Some(i) => {
                        let column = &self.columns[i];
                        let (target, exact) = self.value_expr(column, var)?;
                        let rendered =
                            values.iter().map(|v| render(column.kind, v)).collect::<Option<Vec<_>>>()?;
                        Some(Pushed {
                            pattern: format!(
                                "?s <{}> {var} FILTER({target} IN ({}))",
                                column.property,
                                rendered.join(", ")
                            ),
                            exact,
                        })
                    }
                }
            }
            Expr::IsNotNull(inner) => {
                let column = &self.columns[self.column_of(inner)??];
                // A text column shows every value; typed columns only the literals that parse.
                Some(if column.kind == Kind::Text {
                    Pushed { pattern: format!("?s <{}> {var}", column.property), exact: true }
                } else {
                    Pushed {
                        pattern: format!("?s <{}> {var} FILTER(isLiteral({var}))", column.property),
                        exact: false,
                    }
                })
            }
            Expr::IsNull(inner) => {
                let column = &self.columns[self.column_of(inner)??];
                (column.kind == Kind::Text).then(|| Pushed {
                    pattern: format!("FILTER NOT EXISTS {{ ?s <{}> {var} }}", column.property),
                    exact: true,
                })
            }
            Expr::Like(like) if !like.negated && !like.case_insensitive && like.escape_char.is_none() => {
                let column = &self.columns[self.column_of(&like.expr)??];
                if column.kind != Kind::Text || column.multi {
                    return None;
                }
                let ScalarValue::Utf8(Some(pattern)) = literal_of(&like.pattern)? else { return None };
                let inner = pattern.trim_start_matches('%').trim_end_matches('%');
                if inner.contains(['%', '_', '\\']) {
                    return None;
                }
                let needle = Literal::new_simple_literal(inner).to_string();
                let test = match (pattern.starts_with('%'), pattern.ends_with('%') && !pattern.is_empty()) {
                    (false, false) => format!("STR({var}) = {needle}"),
                    (false, true) => format!("STRSTARTS(STR({var}), {needle})"),
                    (true, false) => format!("STRENDS(STR({var}), {needle})"),
                    (true, true) => format!("CONTAINS(STR({var}), {needle})"),
                };
                Some(Pushed {
                    pattern: format!("?s <{}> {var} FILTER({test})", column.property),
                    exact: true,
                })
            }
            _ => None,
        }
    }

    /// The expression compared in SPARQL for a column's value, and whether the comparison is
    /// exactly SQL's.
    fn value_expr(&self, column: &Column, var: &str) -> Option<(String, bool)> {
        if column.multi {
            return None;
        }
        match column.kind {
            Kind::Text => Some((format!("STR({var})"), true)),
            Kind::Integer => Some((var.to_owned(), true)),
            Kind::Double | Kind::Boolean => Some((var.to_owned(), false)),
            Kind::Date | Kind::DateTime => None,
        }
    }

    fn comparison(&self, column: Option<usize>, op: &str, value: &ScalarValue, var: &str) -> Option<Pushed> {
        match column {
            None => {
                let ScalarValue::Utf8(Some(value)) = value else { return None };
                if op == "=" {
                    let pattern = match NamedNode::new(value) {
                        Ok(iri) => format!("VALUES ?s {{ {iri} }}"),
                        Err(_) => "FILTER(false)".to_owned(),
                    };
                    return Some(Pushed { pattern, exact: true });
                }
                let value = Literal::new_simple_literal(value);
                Some(Pushed { pattern: format!("FILTER(STR(?s) {op} {value})"), exact: true })
            }
            Some(i) => {
                let column = &self.columns[i];
                let (target, exact) = self.value_expr(column, var)?;
                let rendered = render(column.kind, value)?;
                Some(Pushed {
                    pattern: format!("?s <{}> {var} FILTER({target} {op} {rendered})", column.property),
                    exact,
                })
            }
        }
    }

    pub(crate) fn query(&self, projection: &[usize], filters: &[Expr], limit: Option<usize>) -> String {
        let class = format!("<{}>", self.class.iri);
        let mut instances = format!("?s a {class} .");
        for (i, filter) in filters.iter().enumerate() {
            if let Some(pushed) = self.push(filter, &format!("?f{i}")) {
                let _ = write!(instances, " {}", pushed.pattern);
            }
        }
        let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
        let properties: Vec<String> = projection
            .iter()
            .filter(|&&i| i > 0)
            .map(|&i| format!("<{}>", self.columns[i - 1].property))
            .collect();
        if properties.is_empty() {
            return format!("SELECT DISTINCT ?s WHERE {{ {instances} }}{limit}");
        }
        format!(
            "SELECT ?s ?p ?o WHERE {{ {{ SELECT DISTINCT ?s WHERE {{ {instances} }}{limit} }} \
             OPTIONAL {{ VALUES ?p {{ {} }} ?s ?p ?o }} }}",
            properties.join(" ")
        )
    }
}

fn literal_of(expr: &Expr) -> Option<ScalarValue> {
    match expr {
        Expr::Literal(value, _) if !value.is_null() => Some(match value {
            ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => ScalarValue::Utf8(s.clone()),
            other => other.clone(),
        }),
        _ => None,
    }
}

/// A SQL literal as a SPARQL term comparable with the values of a column of `kind`.
fn render(kind: Kind, value: &ScalarValue) -> Option<String> {
    let number = match value {
        ScalarValue::Int8(Some(v)) => Some(i64::from(*v).to_string()),
        ScalarValue::Int16(Some(v)) => Some(i64::from(*v).to_string()),
        ScalarValue::Int32(Some(v)) => Some(i64::from(*v).to_string()),
        ScalarValue::Int64(Some(v)) => Some(v.to_string()),
        ScalarValue::UInt8(Some(v)) => Some(v.to_string()),
        ScalarValue::UInt16(Some(v)) => Some(v.to_string()),
        ScalarValue::UInt32(Some(v)) => Some(v.to_string()),
        ScalarValue::UInt64(Some(v)) => Some(v.to_string()),
        ScalarValue::Float64(Some(v)) if v.is_finite() => Some(format!("\"{v:?}\"^^<{XSD}double>")),
        ScalarValue::Float32(Some(v)) if v.is_finite() => Some(format!("\"{v:?}\"^^<{XSD}double>")),
        _ => None,
    };
    match (kind, value) {
        (Kind::Text, ScalarValue::Utf8(Some(s))) => Some(Literal::new_simple_literal(s).to_string()),
        (Kind::Integer | Kind::Double, _) => number,
        (Kind::Boolean, ScalarValue::Boolean(Some(b))) => Some(b.to_string()),
        _ => None,
    }
}

#[async_trait::async_trait]
impl TableProvider for ClassView {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|filter| match self.push(filter, "?f") {
                Some(Pushed { exact: true, .. }) => TableProviderFilterPushDown::Exact,
                Some(Pushed { exact: false, .. }) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let all: Vec<usize> = (0..self.schema.fields().len()).collect();
        let projection = projection.unwrap_or(&all).clone();
        let schema = Arc::new(self.schema.project(&projection)?);
        let query = self.query(&projection, filters, limit);
        tracing::debug!(view = %self.class.name, %query, "class view scan");
        let stream = ViewStream {
            schema: Arc::clone(&schema),
            query,
            columns: projection.iter().map(|&i| (i > 0).then(|| self.columns[i - 1].clone())).collect(),
            store: self.store.clone(),
            timeout: self.timeout,
        };
        Ok(Arc::new(StreamingTableExec::try_new(schema, vec![Arc::new(stream)], None, [], false, None)?))
    }
}

/// The rows of one scan, fetched when the plan runs.
#[derive(Debug)]
struct ViewStream {
    schema: SchemaRef,
    query: String,
    /// Per output column: `None` for `iri`, else the property column.
    columns: Vec<Option<Column>>,
    store: Store,
    timeout: Duration,
}

impl PartitionStream for ViewStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let schema = Arc::clone(&self.schema);
        let query = self.query.clone();
        let columns = self.columns.clone();
        let store = self.store.clone();
        let timeout = self.timeout;
        let work = tokio::task::spawn_blocking(move || fetch(&store, &query, timeout, &columns, &schema));
        let stream =
            futures::stream::once(
                async move { work.await.map_err(|e| DataFusionError::External(Box::new(e)))? },
            );
        Box::pin(RecordBatchStreamAdapter::new(Arc::clone(&self.schema), stream))
    }
}

fn fetch(
    store: &Store,
    query: &str,
    timeout: Duration,
    columns: &[Option<Column>],
    schema: &SchemaRef,
) -> datafusion::error::Result<RecordBatch> {
    let rows = select(store, query, timeout)?;
    // Instances in the order first seen; values per projected column, without repeats.
    let mut index: HashMap<Term, usize> = HashMap::new();
    let mut instances: Vec<(Term, Vec<Vec<Term>>)> = Vec::new();
    let by_property: HashMap<&str, Vec<usize>> =
        columns.iter().enumerate().fold(HashMap::new(), |mut map, (i, c)| {
            if let Some(c) = c {
                map.entry(c.property.as_str()).or_default().push(i);
            }
            map
        });
    for row in rows {
        let mut row = row.into_iter();
        let Some(Some(subject)) = row.next() else { continue };
        let slot = *index.entry(subject.clone()).or_insert_with(|| {
            instances.push((subject, vec![Vec::new(); columns.len()]));
            instances.len() - 1
        });
        let (Some(Some(Term::NamedNode(property))), Some(Some(value))) = (row.next(), row.next()) else {
            continue;
        };
        for &i in by_property.get(property.as_str()).into_iter().flatten() {
            let values = &mut instances[slot].1[i];
            if !values.contains(&value) {
                values.push(value.clone());
            }
        }
    }
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let Some(column) = column else {
            let mut builder = StringBuilder::new();
            for (subject, _) in &instances {
                builder.append_value(term_text(subject));
            }
            arrays.push(Arc::new(builder.finish()));
            continue;
        };
        let values = instances.iter().map(|(_, values)| values[i].as_slice());
        arrays.push(build(column, values));
    }
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        arrays,
        &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(instances.len())),
    )?)
}

fn build<'a>(column: &Column, rows: impl Iterator<Item = &'a [Term]>) -> ArrayRef {
    macro_rules! fill {
        ($builder:expr, $convert:expr) => {{
            let mut builder = $builder;
            if column.multi {
                let mut list = ListBuilder::new(builder);
                for values in rows {
                    if values.is_empty() {
                        list.append_null();
                        continue;
                    }
                    for value in values {
                        list.values().append_option($convert(value));
                    }
                    list.append(true);
                }
                Arc::new(list.finish()) as ArrayRef
            } else {
                for values in rows {
                    builder.append_option(values.first().and_then(|v| $convert(v)));
                }
                Arc::new(builder.finish()) as ArrayRef
            }
        }};
    }
    let lexical = |term: &Term| match term {
        Term::Literal(l) => Some(l.value().to_owned()),
        _ => None,
    };
    match column.kind {
        Kind::Text => fill!(StringBuilder::new(), |t: &Term| Some(term_text(t))),
        Kind::Integer => fill!(Int64Builder::new(), |t: &Term| lexical(t).and_then(|s| s
            .trim()
            .trim_start_matches('+')
            .parse::<i64>()
            .ok())),
        Kind::Double => fill!(Float64Builder::new(), |t: &Term| lexical(t).and_then(|s| parse_double(&s))),
        Kind::Boolean => fill!(BooleanBuilder::new(), |t: &Term| lexical(t).and_then(|s| match s.trim() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        })),
        Kind::Date => fill!(Date32Builder::new(), |t: &Term| lexical(t).and_then(|s| parse_date(&s))),
        Kind::DateTime => {
            fill!(TimestampMicrosecondBuilder::new().with_timezone("UTC"), |t: &Term| lexical(t)
                .and_then(|s| parse_date_time(&s)))
        }
    }
}

fn parse_double(s: &str) -> Option<f64> {
    match s.trim() {
        "INF" | "+INF" => Some(f64::INFINITY),
        "-INF" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        s => s.parse().ok(),
    }
}

/// `YYYY-MM-DD` (a time zone after it is ignored) as days since 1970-01-01.
fn parse_date(s: &str) -> Option<i32> {
    let s = s.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut parts = s.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.get(..2)?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let year = if negative { -year } else { year };
    i32::try_from(sailkg_core::terms::days_from_civil(year, month, day)).ok()
}

/// `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]` as microseconds since the epoch in UTC (no zone = UTC).
fn parse_date_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once('T')?;
    let days = i64::from(parse_date(date)?);
    let (clock, offset) = match time.find(['Z', '+', '-']) {
        Some(at) => (&time[..at], &time[at..]),
        None => (time, ""),
    };
    let mut parts = clock.splitn(3, ':');
    let hour: i64 = parts.next()?.parse().ok()?;
    let minute: i64 = parts.next()?.parse().ok()?;
    let seconds = parts.next()?;
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
    let second: i64 = whole.parse().ok()?;
    let mut micros: i64 = 0;
    for (i, digit) in fraction.chars().take(6).enumerate() {
        micros += i64::from(digit.to_digit(10)?) * 10_i64.pow(5 - i as u32);
    }
    if hour > 24 || minute > 59 || second > 60 {
        return None;
    }
    let offset_minutes = match offset {
        "" | "Z" => 0,
        _ => {
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let (h, m) = offset[1..].split_once(':')?;
            sign * (h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?)
        }
    };
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    seconds.checked_mul(1_000_000)?.checked_add(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_snake_case_and_unique() {
        let names = unique_names(
            [
                "http://schema.org/Person",
                "http://xmlns.com/foaf/0.1/Person",
                "http://example.org/onto#TextDigitalDocument",
                "http://example.org/onto#depDelay",
                "urn:x:iri",
            ]
            .into_iter(),
            &["iri"],
        );
        assert_eq!(
            names,
            ["schema_org_person", "foaf_person", "text_digital_document", "dep_delay", "x_iri"]
        );
    }

    #[test]
    fn kinds_and_values() {
        assert_eq!(Kind::of_datatypes([&*format!("{XSD}integer"), &*format!("{XSD}long")]), Kind::Integer);
        assert_eq!(Kind::of_datatypes([&*format!("{XSD}integer"), &*format!("{XSD}decimal")]), Kind::Double);
        assert_eq!(Kind::of_datatypes([&*format!("{XSD}integer"), ""]), Kind::Text);
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(parse_date_time("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_date_time("1970-01-01T00:00:01.5Z"), Some(1_500_000));
        assert_eq!(parse_date_time("garbage"), None);
    }
}
