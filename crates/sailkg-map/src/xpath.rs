//! The XPath subset that RML mappings use over XML: absolute and relative location paths of
//! child (`/`) and descendant (`//`) steps, name tests with namespace prefixes, `*`, `@attr`,
//! `text()`, `.` and `..`, and predicates `[n]`, `[name]`, `[@attr]`, `[name='v']`, `[@attr='v']`.

use roxmltree::Node;

/// A compiled path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    absolute: bool,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    descendant: bool,
    test: Test,
    predicates: Vec<Predicate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Test {
    Element(Option<String>, String),
    AnyElement,
    Attribute(Option<String>, String),
    Text,
    SelfNode,
    Parent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Predicate {
    Position(usize),
    Exists(Path),
    Equals(Path, String),
}

/// What a path selects: nodes, or attribute values.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a, 'input> {
    Node(Node<'a, 'input>),
    Attribute(&'a str),
}

impl Item<'_, '_> {
    /// The string value: attribute value, text, or the concatenated text of an element.
    pub fn string(&self) -> String {
        match self {
            Item::Attribute(value) => (*value).to_owned(),
            Item::Node(node) if node.is_text() => node.text().unwrap_or("").to_owned(),
            Item::Node(node) => node.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).collect(),
        }
    }
}

impl Path {
    /// Compiles `text`, with namespace prefixes bound by `namespaces`.
    pub fn parse(text: &str, namespaces: &[(String, String)]) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty path".into());
        }
        let (absolute, mut rest) = match text.strip_prefix('/') {
            Some(_) => (true, text),
            None => (false, text),
        };
        let mut steps = Vec::new();
        let mut first = true;
        while !rest.is_empty() {
            let descendant;
            if let Some(r) = rest.strip_prefix("//") {
                descendant = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix('/') {
                descendant = false;
                rest = r;
            } else if first {
                descendant = false;
            } else {
                return Err(format!("expected '/' at {rest:?}"));
            }
            first = false;
            let end = step_end(rest)?;
            let (step_text, after) = rest.split_at(end);
            steps.push(parse_step(step_text, descendant, namespaces)?);
            rest = after;
        }
        if steps.is_empty() {
            return Err(format!("no step in {text:?}"));
        }
        Ok(Self { absolute, steps })
    }

    /// Evaluates the path from `context`.
    pub fn select<'a, 'input>(&self, context: Node<'a, 'input>) -> Vec<Item<'a, 'input>> {
        let start = if self.absolute { context.document().root() } else { context };
        let mut current = vec![Item::Node(start)];
        for step in &self.steps {
            let mut next = Vec::new();
            for item in &current {
                let Item::Node(node) = item else { continue };
                let candidates: Vec<Node<'a, 'input>> =
                    if step.descendant { node.descendants().collect() } else { vec![*node] };
                for base in candidates {
                    let mut selected = step.apply(base);
                    selected = step.filter(selected);
                    for s in selected {
                        let duplicate = match (&s, next.last()) {
                            (Item::Node(a), Some(Item::Node(b))) => a == b,
                            _ => false,
                        };
                        if !duplicate {
                            next.push(s);
                        }
                    }
                }
            }
            current = next;
        }
        current
    }
}

impl Step {
    fn apply<'a, 'input>(&self, node: Node<'a, 'input>) -> Vec<Item<'a, 'input>> {
        match &self.test {
            Test::SelfNode => vec![Item::Node(node)],
            Test::Parent => node.parent().map(Item::Node).into_iter().collect(),
            Test::Text => node.children().filter(|c| c.is_text()).map(Item::Node).collect(),
            Test::AnyElement => node.children().filter(|c| c.is_element()).map(Item::Node).collect(),
            Test::Element(ns, name) => node
                .children()
                .filter(|c| {
                    c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == ns.as_deref()
                })
                .map(Item::Node)
                .collect(),
            Test::Attribute(ns, name) => node
                .attributes()
                .filter(|a| a.name() == name && a.namespace() == ns.as_deref())
                .map(|a| Item::Attribute(a.value()))
                .collect(),
        }
    }

    fn filter<'a, 'input>(&self, mut items: Vec<Item<'a, 'input>>) -> Vec<Item<'a, 'input>> {
        for predicate in &self.predicates {
            items = match predicate {
                Predicate::Position(n) => items.into_iter().nth(n - 1).into_iter().collect(),
                Predicate::Exists(path) => items
                    .into_iter()
                    .filter(|i| matches!(i, Item::Node(n) if !path.select(*n).is_empty()))
                    .collect(),
                Predicate::Equals(path, value) => items
                    .into_iter()
                    .filter(|i| matches!(i, Item::Node(n) if path.select(*n).iter().any(|v| v.string() == *value)))
                    .collect(),
            };
        }
        items
    }
}

/// Where the step starting `text` ends: at a `/` outside brackets and quotes.
fn step_end(text: &str) -> Result<usize, String> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth = depth.checked_sub(1).ok_or_else(|| format!("unbalanced ']' in {text:?}"))?
            }
            (None, '/') if depth == 0 => return Ok(i),
            _ => {}
        }
    }
    if depth != 0 || quote.is_some() {
        return Err(format!("unclosed '[' or quote in {text:?}"));
    }
    Ok(text.len())
}

fn parse_step(text: &str, descendant: bool, namespaces: &[(String, String)]) -> Result<Step, String> {
    let (test_text, mut rest) = match text.find('[') {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let test = match test_text.trim() {
        "" => return Err("empty step".into()),
        "." => Test::SelfNode,
        ".." => Test::Parent,
        "*" => Test::AnyElement,
        "text()" => Test::Text,
        "node()" => Test::AnyElement,
        t if t.starts_with('@') => {
            let (ns, name) = qname(&t[1..], namespaces, true)?;
            Test::Attribute(ns, name)
        }
        t => {
            let (ns, name) = qname(t, namespaces, false)?;
            Test::Element(ns, name)
        }
    };
    let mut predicates = Vec::new();
    while !rest.is_empty() {
        let inner_end = {
            let mut depth = 0;
            let mut end = None;
            for (i, c) in rest.char_indices() {
                match c {
                    '[' => depth += 1,
                    ']' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            end.ok_or_else(|| format!("unclosed '[' in {text:?}"))?
        };
        let inner = rest[1..inner_end].trim();
        rest = &rest[inner_end + 1..];
        predicates.push(if let Ok(n) = inner.parse::<usize>() {
            if n == 0 {
                return Err("positions start at 1".into());
            }
            Predicate::Position(n)
        } else if let Some((left, right)) = inner.split_once('=') {
            let value = right.trim();
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
                .ok_or_else(|| format!("expected a quoted string in [{inner}]"))?;
            Predicate::Equals(Path::parse(left.trim(), namespaces)?, value.to_owned())
        } else {
            Predicate::Exists(Path::parse(inner, namespaces)?)
        });
    }
    Ok(Step { descendant, test, predicates })
}

fn qname(
    text: &str,
    namespaces: &[(String, String)],
    attribute: bool,
) -> Result<(Option<String>, String), String> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !s.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
    };
    match text.split_once(':') {
        Some((prefix, local)) => {
            let url = namespaces
                .iter()
                .find(|(p, _)| p == prefix)
                .map(|(_, u)| u.clone())
                .ok_or_else(|| format!("unknown namespace prefix {prefix:?}"))?;
            if !valid(local) {
                return Err(format!("invalid name {text:?}"));
            }
            Ok((Some(url), local.to_owned()))
        }
        None if valid(text) => Ok((None, text.to_owned())),
        None => Err(format!("invalid {} {text:?}", if attribute { "attribute name" } else { "step" })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_select_elements_attributes_and_text() {
        let xml = r#"<a xmlns:e="urn:e"><b id="1"><c>x</c></b><b id="2"><c>y</c><e:d>z</e:d></b></a>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let ns = vec![("e".to_owned(), "urn:e".to_owned())];
        let strings = |path: &str, from: Node<'_, '_>| -> Vec<String> {
            Path::parse(path, &ns).unwrap().select(from).iter().map(Item::string).collect()
        };
        assert_eq!(strings("/a/b/@id", doc.root()), ["1", "2"]);
        assert_eq!(strings("//c/text()", doc.root()), ["x", "y"]);
        assert_eq!(strings("/a/b[@id='2']/e:d", doc.root()), ["z"]);
        assert_eq!(strings("/a/b[1]/c", doc.root()), ["x"]);
        let second = Path::parse("/a/b", &ns).unwrap().select(doc.root())[1];
        let Item::Node(second) = second else { panic!() };
        assert_eq!(strings("c", second), ["y"]);
        assert_eq!(strings("../b/@id", second), ["1", "2"]);
        for bad in ["/a/b[", "/a/x:y", "/a/b]", ""] {
            assert!(Path::parse(bad, &ns).is_err(), "{bad}");
        }
    }
}
