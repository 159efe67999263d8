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
