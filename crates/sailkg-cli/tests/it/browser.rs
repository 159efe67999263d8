//! The web page in a real headless Chromium, driven over the W3C WebDriver protocol (Debian's
//! `chromium` and `chromium-driver`, which `.ci/run` installs), against `sailkg demo`: search →
//! facet → dataset page, the SPARQL and SQL consoles, a generation job and its report, ontology
//! curation (a curator proposes a label and a constraint, a reviewer approves, SPARQL, search and
//! the next generation see it, revert restores), errors, phone width. A failing step leaves a screenshot in the target directory and says where.

use crate::sailkg;
use serde_json::{Value, json};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A WebDriver session on a chromedriver of its own.
struct Browser {
    agent: ureq::Agent,
    session: String,
    _driver: Process,
    _profile: tempfile::TempDir,
    /// The step going on, for the screenshot's name.
    step: std::cell::RefCell<String>,
}

impl Browser {
    fn start() -> Self {
        let driver = std::env::var("SAILKG_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let binary = std::env::var("SAILKG_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        assert!(
            std::path::Path::new(&driver).exists() && std::path::Path::new(&binary).exists(),
            "browser tests need Chromium and its driver ({binary}, {driver}): apt-get install chromium chromium-driver (.ci/run does)"
        );
        let port = free_port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver_process = Process(child);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": binary, "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.path().display()),
            ]}
        }}});
        let reply = send(&agent, "POST", &format!("{base}/session"), Some(capabilities));
        let session = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {reply}"))
            .to_owned();
        Self {
            agent,
            session: format!("{base}/session/{session}"),
            _driver: driver_process,
            _profile: profile,
            step: std::cell::RefCell::new("start".into()),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let reply = send(&self.agent, method, &format!("{}{path}", self.session), body);
        if let Some(error) = reply["value"]["error"].as_str() {
            panic!("WebDriver {method} {path}: {error}: {}", reply["value"]["message"]);
        }
        reply["value"].clone()
    }

    fn step(&self, name: &str) {
        *self.step.borrow_mut() = name.to_owned();
    }

    fn open(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    fn script(&self, script: &str, args: Value) -> Value {
        self.call("POST", "/execute/sync", Some(json!({"script": script, "args": args})))
    }

    /// Waits until `script` (a function body returning a value) returns something truthy.
    fn until(&self, what: &str, script: &str, args: Value) -> Value {
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            let value = self.script(script, args.clone());
            if !(value.is_null() || value == json!(false) || value == json!("") || value == json!(0)) {
                return value;
            }
            if Instant::now() > deadline {
                let error = self.script(
                    "return [...document.querySelectorAll('.error')].map(e => e.textContent).join(' | ')",
                    json!([]),
                );
                panic!("timed out waiting for {what}; errors on the page: {error}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The text of the first element matching `css`, once there and non-empty.
    fn text(&self, css: &str) -> String {
        self.until(
            &format!("text in {css}"),
            "const e = document.querySelector(arguments[0]); return e && e.textContent.trim();",
            json!([css]),
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    fn element(&self, css: &str) -> String {
        self.until(
            &format!("element {css}"),
            "return document.querySelector(arguments[0]) !== null",
            json!([css]),
        );
        let found = self.call("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_owned()
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Types `text` as keystrokes (`\u{E007}` is Enter).
    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/clear"), Some(json!({})));
        self.call("POST", &format!("/element/{id}/value"), Some(json!({"text": text})));
    }

    /// Sends keystrokes to an element without clearing it.
    fn keys(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/value"), Some(json!({"text": text})));
    }

    /// Types a token into its field; the page keeps it for its requests.
    fn token(&self, field: &str, token: &str) {
        self.type_into(field, token);
        self.script(
            "document.querySelector(arguments[0]).dispatchEvent(new Event('change'))",
            json!([field]),
        );
    }

    /// Proposes the term page's pending changes as the curator and opens the proposal whose
    /// text includes `shown`; returns its id.
    fn propose(&self, title: &str, shown: &str) -> String {
        self.type_into("#proposal-title", title);
        self.token("#curator-token", CURATOR);
        self.click("#propose");
        self.click("#proposal-result a");
        self.until(
            "the proposal",
            "const d = [...document.querySelectorAll('details.changeset[open]')].find(d => d.textContent.includes(arguments[0])); return d && d.id.replace('changeset-', '')",
            json!([shown]),
        )
        .as_str()
        .unwrap()
        .to_owned()
    }

    /// Waits until change set `id` has `status`.
    fn until_status(&self, id: &str, status: &str) {
        self.until(
            &format!("change set {id} {status}"),
            "const b = document.querySelector(arguments[0]); return b && b.dataset.status === arguments[1]",
            json!([format!("#changeset-{id} .badge"), status]),
        );
    }

    /// Approves change set `id` as the reviewer.
    fn approve(&self, id: &str) {
        self.token("#reviewer-token", REVIEWER);
        self.click(&format!("#approve-{id}"));
        self.until_status(id, "approved");
    }

    /// Every form control of the page has a label (WCAG 1.3.1, 4.1.2).
    fn assert_labelled(&self) {
        let unlabelled = self.script(
            "return [...document.querySelectorAll('input, select, textarea')].filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && e.type !== 'hidden').map(e => e.outerHTML)",
            json!([]),
        );
        assert_eq!(unlabelled, json!([]), "controls without a label on {}", self.step.borrow());
    }

    fn screenshot(&self) -> Option<PathBuf> {
        let reply = send(&self.agent, "GET", &format!("{}/screenshot", self.session), None);
        let png = base64(reply["value"].as_str()?)?;
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
        std::fs::create_dir_all(&dir).ok()?;
        let name: String =
            self.step.borrow().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).ok()?;
        Some(path)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if std::thread::panicking() {
            match self.screenshot() {
                Some(path) => eprintln!("screenshot of the failed step: {}", path.display()),
                None => eprintln!("no screenshot could be taken"),
            }
        }
        let _ = send(&self.agent, "DELETE", &self.session, None);
    }
}

fn send(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> Value {
    let response = match (method, body) {
        ("POST", body) => agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body.unwrap_or_else(|| json!({})).to_string()),
        ("DELETE", _) => agent.delete(url).call(),
        _ => agent.get(url).call(),
    };
    let mut response = response.unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
    let text = response.body_mut().with_config().limit(64 << 20).read_to_string().unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// Standard base64 (the screenshot).
fn base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut buffer, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// `sailkg demo` on a fresh data directory: the README's first command. Returns the process
/// and the address it printed (with the admin token in its fragment).
/// Tokens of the curation part: a curator and a reviewer (the demo makes its own admin token).
const CURATOR: &str = "curator-alice-0123456789abcdef";
const REVIEWER: &str = "reviewer-bob-0123456789abcdef";

fn demo(data: &std::path::Path) -> (Process, String) {
    let port = free_port();
    let config = data.with_extension("toml");
    std::fs::write(
        &config,
        format!(
            "[[auth.tokens]]\nname = \"alice\"\ntoken = \"{CURATOR}\"\nrole = \"curator\"\n\n\
             [[auth.tokens]]\nname = \"bob\"\ntoken = \"{REVIEWER}\"\nrole = \"reviewer\"\n"
        ),
    )
    .unwrap();
    let mut child = sailkg(data)
        .arg("--config")
        .arg(&config)
        .args(["demo", "--bind", &format!("127.0.0.1:{port}")])
        .env_remove("SAILKG_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sailkg demo");
    let stdout = child.stdout.take().unwrap();
    let process = Process(child);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("open ") {
                let _ = sender.send(Ok(url.split_whitespace().next().unwrap_or_default().to_owned()));
            }
            lines.push(line);
        }
        let _ = sender.send(Err(lines.join("\n")));
    });
    match receiver.recv_timeout(Duration::from_secs(600)) {
        Ok(Ok(url)) => (process, url),
        Ok(Err(output)) => panic!("sailkg demo stopped without serving:\n{output}"),
        Err(_) => panic!("sailkg demo did not serve within 10 minutes"),
    }
}

#[test]
fn the_demo_in_a_browser_search_consoles_generation_curation_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_demo, url) = demo(&dir.path().join("demo-data"));
    assert!(url.starts_with("http://127.0.0.1:") && url.contains("/#token="), "{url}");
    let base = url.split("/#").next().unwrap().to_owned();
    let browser = Browser::start();

    browser.step("home");
    browser.open(&url);
    // The token moved into the tab's storage and out of the address.
    browser.until("the token out of the address", "return location.hash === '#/'", json!([]));
    let datasets = browser.text("main table");
    for name in ["airports", "disasters", "movies", "earthquakes", "gapminder", "flights_airport"] {
        assert!(datasets.contains(name), "{name} missing from the datasets: {datasets}");
    }
    browser.assert_labelled();

    browser.step("typeahead");
    browser.type_into("#q", "disas");
    let suggestion = browser.text("#suggestions [role=option]");
    assert!(suggestion.to_lowercase().contains("disas"), "{suggestion}");
    // Arrow keys move through the suggestions and say which one is active.
    browser.keys("#q", "\u{E015}");
    browser.until(
        "an active suggestion",
        "return document.getElementById('q').getAttribute('aria-activedescendant')",
        json!([]),
    );

    browser.step("search-facet-dataset");
    browser.type_into("#q", "disasters\u{E007}");
    browser.text(".hits li");
    browser.click("button[data-facet=kind][data-value=dataset]");
    browser.until(
        "the facet pressed and only datasets listed",
        "const b = document.querySelector('button[data-facet=kind][data-value=dataset]'); \
         const kinds = [...document.querySelectorAll('.hits .badge')].map(e => e.textContent); \
         return b && b.getAttribute('aria-pressed') === 'true' && kinds.length > 0 && kinds.every(k => k === 'dataset')",
        json!([]),
    );
    browser.click(".hits a[href='#/dataset/disasters']");
    browser.until(
        "the dataset page",
        "return document.querySelector('h1').textContent === 'disasters'",
        json!([]),
    );
    let schema = browser.text("main table");
    assert!(schema.contains("Entity") && schema.contains("Deaths"), "{schema}");
    browser.until(
        "two distribution charts and the lineage drawing",
        "return document.querySelectorAll('.charts figure svg').length >= 2 && document.querySelector('.lineage svg') !== null",
        json!([]),
    );
    let lineage = browser.text(".lineage svg");
    assert!(lineage.contains("disasters.csv") && lineage.contains("rare_disasters"), "{lineage}");
    let sample = browser.script(
        "const t = document.querySelectorAll('main table'); return t[t.length - 1].rows.length",
        json!([]),
    );
    assert!(sample.as_u64().unwrap() > 5, "{sample}");

    browser.step("entity");
    browser.open(&format!("{base}/#/entity?iri=urn%3Asailkg%3Ademo%3Aroute%3AATL-ORD"));
    browser.until(
        "the route's name as title",
        "return document.querySelector('h1').textContent === 'ATL to ORD'",
        json!([]),
    );
    browser.click("main a[href='#/entity?iri=urn%3Asailkg%3Ademo%3Aairport%3AATL']");
    browser.until(
        "the airport's page with its incoming routes and provenance",
        "return document.querySelector('h1').textContent.includes('Atlanta') && document.body.textContent.includes('Used by') && document.body.textContent.includes('MappingRun')",
        json!([]),
    );

    // The README's example query answers on the demo.
    let query = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries/demo-routes.rq"),
    )
    .unwrap();
    let sparql = |query: &str| -> String {
        ureq::post(&format!("{base}/sparql"))
            .header("Content-Type", "application/sparql-query")
            .header("Accept", "text/csv")
            .send(query)
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    };
    let routes = sparql(&query);
    assert_eq!(
        routes.lines().nth(1),
        Some("San Francisco International,Los Angeles International,13788"),
        "{routes}"
    );

    browser.step("sparql");
    browser.click("nav a[href='#/sparql']");
    browser.type_into("#sparql-query", "PREFIX sch");
    assert!(browser.text("#sparql-query-completions [role=option]").starts_with("schema:"));
    browser.type_into("#sparql-query", "PREFIX sch\u{E007}");
    browser.script(
        "const a = document.getElementById('sparql-query'); a.value += arguments[0]; a.dispatchEvent(new Event('input'));",
        json!(["SELECT ?name WHERE { GRAPH ?g { ?a a schema:Airport ; schema:addressRegion \"AK\" ; schema:name ?name } } ORDER BY ?name LIMIT 7"]),
    );
    let query = browser.script("return document.getElementById('sparql-query').value", json!([]));
    assert!(query.as_str().unwrap().starts_with("PREFIX schema: <http://schema.org/>"), "{query}");
    browser.click("#run-sparql");
    browser.until(
        "seven rows",
        "const t = document.querySelector('#sparql-results table'); return t && t.tBodies[0].rows.length === 7",
        json!([]),
    );
    // Colours come from the highlighter, not from the text area.
    let keywords =
        browser.script("return document.querySelectorAll('.editor pre .tok-kw').length", json!([]));
    assert!(keywords.as_u64().unwrap() >= 4, "{keywords}");
    // A bad query: the server's message, not a blank page.
    browser.script(
        "const a = document.getElementById('sparql-query'); a.value = 'SELECT ?x WHERE { ?x'; a.dispatchEvent(new Event('input'));",
        json!([]),
    );
    browser.click("#run-sparql");
    let error = browser.text("#sparql-results .error");
    assert!(error.starts_with("400"), "{error}");
    browser.assert_labelled();

    browser.step("sql");
    browser.click("nav a[href='#/sql']");
    browser.until("the SQL console", "return !!document.getElementById('sql-query')", json!([]));
    browser.script(
        "const a = document.getElementById('sql-query'); a.value = arguments[0];",
        json!(["SELECT count(*) AS n FROM source.disasters WHERE \"Entity\" = 'Drought'"]),
    );
    browser.click("#run-sql");
    assert_eq!(browser.text("#sql-results td"), "39");
    browser.script("document.getElementById('sql-query').value = 'SELECT * FROM nowhere'", json!([]));
    browser.click("#run-sql");
    let error = browser.text("#sql-results .error");
    assert!(error.contains("nowhere"), "{error}");
    browser.assert_labelled();

    browser.step("generate");
    browser.click("nav a[href='#/generate']");
    browser.until(
        "the sources listed",
        "return document.querySelectorAll('#gen-from option').length >= 6",
        json!([]),
    );
    browser.script("document.getElementById('gen-from').value = 'source.disasters'", json!([]));
    browser.type_into("#gen-where", "Entity = 'Drought'");
    browser.type_into("#gen-n", "60");
    browser.type_into("#gen-seed", "7");
    browser.type_into("#gen-name", "ui_droughts");
    let token = browser.script("return document.getElementById('gen-token').value", json!([]));
    assert_eq!(token.as_str().unwrap().len(), 32, "the token from the demo's link fills the field");
    browser.assert_labelled();
    browser.click("#gen-start");
    browser.click("#report-link");
    browser.until(
        "the report page",
        "return document.querySelector('h1').textContent === 'Run ui_droughts'",
        json!([]),
    );
    let facts = browser.text("dl.facts");
    assert!(
        facts.contains("copula") && facts.contains("Entity = 'Drought'") && facts.contains("60"),
        "{facts}"
    );
    browser.element("iframe.report");
    let report = ureq::get(&format!("{base}/api/runs/ui_droughts/report.html"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(report.contains("<svg") && report.contains("real") && report.contains("synthetic"));
    browser.open(&format!("{base}/#/generate"));
    let jobs = browser.text("main table");
    assert!(jobs.contains("ui_droughts") && jobs.contains("done"), "{jobs}");
    // Without the token the server refuses, and the page says why.
    browser.script("sessionStorage.clear()", json!([]));
    browser.open(&format!("{base}/#/sql"));
    browser.open(&format!("{base}/#/generate"));
    browser.until(
        "the sources listed",
        "return document.querySelectorAll('#gen-from option').length >= 6",
        json!([]),
    );
    browser.click("#gen-start");
    let error = browser.text("#job-status .error");
    assert!(error.starts_with("401"), "{error}");

    browser.step("ontology-tree");
    browser.click("nav a[href='#/ontology']");
    browser.until(
        "the class tree with instance counts",
        "return [...document.querySelectorAll('ul.tree li')].some(li => li.textContent.includes('airport') && li.textContent.includes('3376 instances'))",
        json!([]),
    );
    browser.assert_labelled();
    assert_eq!(
        browser.script(
            "return [...document.querySelectorAll('main, main *')].some(e => [...e.childNodes].some(n => n.nodeType === 3 && /^(null|undefined)+$/.test(n.textContent.trim())))",
            json!([])
        ),
        json!(false),
        "no placeholder leaks into the page"
    );
    browser.type_into("#onto-q", "airp");
    browser.text("#onto-suggestions [role=option]");
    browser.keys("#onto-q", "\u{E015}\u{E007}");
    browser.until(
        "the airport's term page",
        "return document.querySelector('h1').textContent === 'airport'",
        json!([]),
    );

    browser.step("propose");
    browser.type_into("#label-lang", "es");
    browser.type_into("#label-text", "aeródromo");
    browser.click("#add-label");
    browser.type_into("#constraint-path", "http://schema.org/latitude");
    browser.script("document.getElementById('constraint-kind').value = 'maxInclusive'", json!([]));
    browser.type_into("#constraint-value", "65");
    browser.click("#add-constraint");
    assert_eq!(browser.script("return document.querySelectorAll('#pending li').length", json!([])), json!(2));
    browser.assert_labelled();
    let id = browser.propose("Spanish label; airports north of 65° are out of scope", "would violate");

    browser.step("review");
    let impact = browser.text(&format!("#changeset-{id} table"));
    assert!(impact.contains("maxInclusive 65"), "{impact}");
    // Checked by the SHACL engine before and after: the Alaskan airports north of 65° violate it.
    let shacl = browser.text(&format!("#changeset-{id} .shacl-impact"));
    assert!(shacl.contains("rudof shacl") && !shacl.contains(": 0 new violations"), "{shacl}");
    let diff = browser.text(&format!("#changeset-{id} pre.diff"));
    assert!(diff.contains("aeródromo") && diff.contains("\"90\""), "{diff}");
    // The curator cannot approve; the reviewer can.
    browser.token("#reviewer-token", CURATOR);
    browser.click(&format!("#approve-{id}"));
    assert!(browser.text(&format!("#changeset-{id} .error")).starts_with("403"));
    browser.type_into(&format!("#comment-{id}"), "agreed in the review meeting");
    browser.approve(&id);
    browser.assert_labelled();

    browser.step("approved-everywhere");
    let spanish = "SELECT ?l WHERE { GRAPH <urn:sailkg:graph:ontology> { <http://schema.org/Airport> <http://www.w3.org/2000/01/rdf-schema#label> ?l FILTER(LANG(?l) = 'es') } }";
    let limit = "SELECT ?v WHERE { GRAPH <urn:sailkg:graph:shapes> { ?p <http://www.w3.org/ns/shacl#path> <http://schema.org/latitude> ; <http://www.w3.org/ns/shacl#maxInclusive> ?v } }";
    assert!(sparql(spanish).contains("aeródromo"));
    assert!(sparql(limit).contains("65"), "{}", sparql(limit));
    // Search sees it (the indexer catches up in the background).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let hits = ureq::get(&format!("{base}/search?q=aer%C3%B3dromo"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        if hits.contains("http://schema.org/Airport") {
            break;
        }
        assert!(Instant::now() < deadline, "search never found the new label: {hits}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The next generation from the class respects the new constraint.
    let admin = url.split("#token=").nth(1).unwrap().to_owned();
    let generate = |name: &str| {
        let job: Value = serde_json::from_str(
            &ureq::post(&format!("{base}/api/generate"))
                .header("Authorization", &format!("Bearer {admin}"))
                .header("Content-Type", "application/json")
                .send(format!(r#"{{"from": "kg.airport", "n": 60, "seed": 5, "where": "address_region = 'AK'", "name": "{name}"}}"#))
                .unwrap()
                .body_mut()
                .read_to_string()
                .unwrap(),
        )
        .unwrap();
        let id = job["id"].as_u64().unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let state: Value = serde_json::from_str(
                &ureq::get(&format!("{base}/api/generate/{id}"))
                    .call()
                    .unwrap()
                    .body_mut()
                    .read_to_string()
                    .unwrap(),
            )
            .unwrap();
            match state["state"].as_str() {
                Some("done") => break,
                Some("failed") => panic!("{state}"),
                _ => assert!(Instant::now() < deadline, "{state}"),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let rows = ureq::post(&format!("{base}/sql"))
            .header("Accept", "text/csv")
            .send(format!("SELECT max(latitude) AS top FROM synthetic.{name}"))
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        rows.lines().nth(1).unwrap().parse::<f64>().unwrap()
    };
    let top = generate("ak_constrained");
    assert!(top <= 65.0, "the new sh:maxInclusive holds on every row: {top}");

    browser.step("revert");
    browser.click(&format!("#revert-{id}"));
    browser.until_status(&id, "reverted");
    assert!(!sparql(spanish).contains("aeródromo"));
    assert!(sparql(limit).contains("90"), "{}", sparql(limit));
    assert!(generate("ak_free") > 65.0, "Alaska's airports north of 65° come back once the limit is gone");

    browser.step("new-class");
    browser.open(&format!("{base}/#/term?iri=http%3A%2F%2Fschema.org%2FAirport"));
    browser.until(
        "the airport's term page",
        "const h = document.querySelector('h1'); return h && h.textContent === 'airport' && !!document.getElementById('subclass-iri')",
        json!([]),
    );
    browser.type_into("#subclass-iri", "urn:sailkg:demo:SeaplaneBase");
    browser.type_into("#subclass-label", "seaplane base");
    browser.click("#add-subclass");
    let id = browser.propose("Seaplane bases are airports of their own kind", "SeaplaneBase");
    browser.approve(&id);
    browser.click("nav a[href='#/ontology']");
    browser.until(
        "the new class in the tree, under airport",
        "return [...document.querySelectorAll('ul.tree li')].some(li => li.textContent.startsWith('airport') && [...li.querySelectorAll('li')].some(c => c.textContent.includes('seaplane base')))",
        json!([]),
    );
    assert!(
        sparql("SELECT ?p WHERE { GRAPH <urn:sailkg:graph:ontology> { <urn:sailkg:demo:SeaplaneBase> <http://www.w3.org/2000/01/rdf-schema#subClassOf> ?p } }")
            .contains("http://schema.org/Airport")
    );

    // Renamed from its term page: the new IRI takes over, the old one stays, deprecated.
    browser.step("rename");
    browser.open(&format!("{base}/#/term?iri=urn%3Asailkg%3Ademo%3ASeaplaneBase"));
    browser.until(
        "the new class's term page",
        "const h = document.querySelector('h1'); return h && h.textContent === 'seaplane base' && !!document.getElementById('rename-to')",
        json!([]),
    );
    browser.type_into("#rename-to", "urn:sailkg:demo:WaterAerodrome");
    browser.click("#add-rename");
    let id = browser.propose("The ICAO term", "WaterAerodrome");
    browser.approve(&id);
    let renamed = sparql(
        "SELECT ?new ?parent WHERE { GRAPH <urn:sailkg:graph:ontology> { <urn:sailkg:demo:SeaplaneBase> <http://www.w3.org/2002/07/owl#deprecated> true ; <http://purl.org/dc/terms/isReplacedBy> ?new . ?new <http://www.w3.org/2000/01/rdf-schema#subClassOf> ?parent } }",
    );
    assert!(
        renamed.contains("urn:sailkg:demo:WaterAerodrome") && renamed.contains("http://schema.org/Airport"),
        "{renamed}"
    );

    browser.step("errors");
    browser.open(&format!("{base}/#/dataset/nope"));
    let error = browser.text("main .error");
    assert!(error.starts_with("404") && error.contains("nope"), "{error}");

    browser.step("phone-width");
    browser.call("POST", "/window/rect", Some(json!({"width": 390, "height": 844})));
    for page in ["#/dataset/movies", "#/sparql", "#/generate", "#/?q=airport"] {
        browser.open(&format!("{base}/{page}"));
        browser.text("main h1");
        browser.until(
            "the page drawn",
            "return document.querySelector('main table, main .editor, main .hits') !== null",
            json!([]),
        );
        let overflow = browser.script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            json!([]),
        );
        assert!(overflow.as_i64().unwrap() <= 1, "{page} is wider than a phone: {overflow} px");
    }
}
