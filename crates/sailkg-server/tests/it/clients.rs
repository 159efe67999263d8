//! Standard clients work unchanged: rdflib's SPARQLStore and SPARQLWrapper (Python), driven by
//! `tests/clients/python_clients.py` against a real server. CI installs them (`.ci/run`).

use crate::support::{TOKEN, TestServer};

#[test]
fn python_clients_work_unchanged() {
    let server = TestServer::start();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/python_clients.py");
    let output = std::process::Command::new("python3")
        .arg(&script)
        .arg(&server.url)
        .arg(TOKEN)
        .output()
        .expect("python3 is needed for the client tests");
    assert!(
        output.status.success(),
        "the Python clients failed (install them with `pip install rdflib==7.6.0 SPARQLWrapper==2.0.0`):\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
