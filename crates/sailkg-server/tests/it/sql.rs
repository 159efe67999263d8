//! SQL over HTTP.

use crate::support::{TestServer, send};

#[test]
fn post_sql_answers_json_csv_and_arrow_and_refuses_writes() {
    let server = TestServer::start();
    let options = sailkg_ingest::IngestOptions::default();
    sailkg_ingest::ingest(&server.store, &crate::support::shared().join("data/demo/airports.csv"), &options)
        .unwrap();
    let ask = |accept: &str, sql: &str| {
        send(
            &server.agent,
            "POST",
            &server.url("/sql"),
            &[("content-type", "application/sql"), ("accept", accept)],
            Some(sql.as_bytes().to_vec()),
        )
    };
    let reply = ask("application/json", "SELECT iata, city FROM source.airports WHERE iata = 'ORD'");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.text(), "[{\"iata\":\"ORD\",\"city\":\"Chicago\"}]");
    let reply = ask("text/csv", "SELECT count(*) AS n FROM airports");
    assert_eq!((reply.status, reply.text().as_str()), (200, "n\n3376\n"));
    let reply = ask("application/vnd.apache.arrow.stream", "SELECT iata FROM airports LIMIT 3");
    assert_eq!(reply.status, 200);
    assert!(reply.content_type.starts_with("application/vnd.apache.arrow.stream"));
    assert!(reply.body.len() > 8);
    for bad in ["DELETE FROM airports", "CREATE TABLE x (a INT)", "SELEC 1"] {
        assert_eq!(ask("application/json", bad).status, 400, "{bad}");
    }
    let get = send(&server.agent, "GET", &server.url("/sql"), &[], None);
    assert_eq!(get.status, 405);
}

/// Runs psql against the wire protocol; `Ok(stdout)` or `Err(stderr)`.
fn psql(addr: std::net::SocketAddr, input: &str) -> Result<String, String> {
    use std::io::Write;
    let mut child = std::process::Command::new("psql")
        .args(["-h", &addr.ip().to_string(), "-p", &addr.port().to_string()])
        .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", "sailkg", "-U", "analyst", "-f", "-"])
        .env("PGCONNECT_TIMEOUT", "10")
        .env_remove("PGPASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("psql runs (Debian: apt-get install postgresql-client; .ci/run installs it)");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!("{}{stdout}", String::from_utf8_lossy(&output.stderr)))
    }
}

/// A server answering the wire protocol, with a row limit of 1000 and the airports table.
fn pg_server() -> TestServer {
    let server = TestServer::start_with(|config| {
        config.sql.pg_bind = Some("127.0.0.1:0".parse().unwrap());
        config.sparql.max_result_rows = 1000;
    });
    let options = sailkg_ingest::IngestOptions::default();
    sailkg_ingest::ingest(&server.store, &crate::support::shared().join("data/demo/airports.csv"), &options)
        .unwrap();
    server
}

#[test]
fn psql_queries_tables_class_views_and_sparql_over_the_wire_protocol() {
    let server = pg_server();
    let update = "INSERT DATA { GRAPH <urn:sailkg:graph:source/storms/1> { \
        <http://e/s1> a <http://e/Storm> ; <http://e/name> \"Ana\" ; <http://e/category> 1 . \
        <http://e/s2> a <http://e/Storm> ; <http://e/name> \"Bella\" ; <http://e/category> 4 } }";
    let budget = server.store.budget(std::time::Duration::from_secs(10));
    server.store.update(&sailkg_store::UpdateRequest { update, ..Default::default() }, &budget).unwrap();
    let addr = server.pg_addr.expect("the wire protocol listens");

    // One psql session: tables, class views, sparql() and a join of a view with a table.
    let session = "SELECT count(*) FROM source.airports;\n\
        SELECT name, category FROM kg.storm WHERE category > 2;\n\
        SELECT count(*) FROM sparql('SELECT ?s WHERE { ?s a <http://e/Storm> }');\n\
        SELECT a.city FROM source.airports AS a JOIN kg.storm AS s ON s.name = 'Bella' WHERE a.iata = 'ORD';\n\
        BEGIN;\nSELECT 1 + 1;\nCOMMIT;\n\
        SET statement_timeout = '5s';\nSHOW statement_timeout;\n";
    assert_eq!(psql(addr, session).unwrap(), "3376\nBella|4\n2\nChicago\n2\n5000ms");

    // psql's own catalogue queries work: \dt lists the tables of a schema, \dv the class views.
    let tables = psql(addr, "\\dt source.*\n").unwrap();
    assert!(tables.contains("airports"), "{tables}");
    let views = psql(addr, "\\dv kg.*\n").unwrap();
    assert!(views.contains("storm"), "{views}");

    // Writes, engine settings and an unbounded timeout are refused; so is a result past the
    // row limit; bad SQL reports where it broke.
    for (statement, expected) in [
        ("CREATE TABLE t (a int);", "read-only"),
        ("INSERT INTO source.airports SELECT * FROM source.airports;", "read-only"),
        ("DROP TABLE source.airports;", "read-only"),
        ("COPY (SELECT 1) TO '/tmp/sailkg-pg-copy.csv';", "read-only"),
        ("SET datafusion.execution.batch_size = 1;", "cannot be changed"),
        ("SET statement_timeout = 0;", "statement_timeout"),
        ("SELECT * FROM source.airports;", "more than 1000 rows"),
        ("SELEC 1;", "SELEC"),
        ("SELECT * FROM sparql('SELECT ?s WHERE { ?s ?p }');", "sparql()"),
    ] {
        let error = psql(addr, statement).expect_err(statement);
        assert!(error.contains(expected), "{statement}: {error}");
    }
    assert!(!std::path::Path::new("/tmp/sailkg-pg-copy.csv").exists());
}

/// Drivers (JDBC, psycopg, pg8000) prepare statements with the extended query protocol: typed
/// parameters, writes refused at parse time, results cut at the row limit.
#[test]
fn a_driver_using_the_extended_protocol_binds_parameters_and_is_held_to_the_limits() {
    let server = pg_server();
    let addr = server.pg_addr.unwrap();
    let script = format!(
        r#"
import pg8000.native as pg
c = pg.Connection("analyst", host="{ip}", port={port}, database="sailkg")
print(c.run("SELECT iata, city FROM source.airports WHERE state = :s AND iata = :i", s="IL", i="ORD"))
print(len(c.run("SELECT iata FROM source.airports WHERE iata <> :x", x="")))
for bad in ["CREATE TABLE t (a int)", "DELETE FROM source.airports WHERE iata = :x", "SET statement_timeout = 0"]:
    try:
        c.run(bad, x="ORD") if ":x" in bad else c.run(bad)
        print("accepted", bad)
    except pg.DatabaseError as e:
        print(e.args[0]["C"])
"#,
        ip = addr.ip(),
        port = addr.port()
    );
    let output = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3 with pg8000 (.ci/run installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout.trim(), "[['ORD', 'Chicago']]\n1000\n25006\n25006\n22023");
}
