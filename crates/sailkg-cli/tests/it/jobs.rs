//! Generation jobs through the server: `POST /api/generate`, its status with the training's
//! progress, the rows in SQL, refusals.

use crate::crash::Server;
use crate::{TOKEN, run, shared, stderr};
use std::time::{Duration, Instant};

struct Client {
    agent: ureq::Agent,
    url: String,
}

impl Client {
    /// (status, body as JSON, or as a string when it is not JSON).
    fn send(&self, method: &str, path: &str, body: Option<&str>, token: bool) -> (u16, serde_json::Value) {
        let url = format!("{}{path}", self.url);
        let auth = format!("Bearer {TOKEN}");
        let mut response = match body {
            Some(body) => {
                let mut request = self.agent.post(&url).header("Content-Type", "application/json");
                if token {
                    request = request.header("Authorization", &auth);
                }
                request.send(body)
            }
            None if method == "GET" => self.agent.get(&url).call(),
            None => self.agent.delete(&url).call(),
        }
        .unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }

    /// Polls a job until it is done or failed; returns every status seen.
    fn wait(&self, id: u64) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut seen = Vec::new();
        loop {
            let (status, job) = self.send("GET", &format!("/api/generate/{id}"), None, false);
            assert_eq!(status, 200, "{job}");
            let state = job["state"].as_str().unwrap().to_owned();
            seen.push(job);
            if state == "done" || state == "failed" {
                return seen;
            }
            assert!(Instant::now() < deadline, "job {id} did not finish: {:?}", seen.last());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn a_server_runs_generation_jobs_and_reports_their_progress() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let output = run(&data, &["ingest", shared().join("data/demo/disasters.csv").to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let server = Server::start(&data);
    let client = Client {
        agent: ureq::Agent::config_builder().http_status_as_error(false).build().into(),
        url: server.url.clone(),
    };
    let job = r#"{"from": "source.disasters", "method": "tvae", "n": 50, "epochs": 40, "seed": 1,
        "where": "Entity = 'Mass movement (dry)'", "name": "job1"}"#;
    // Writes need the token; only store tables are sources; the body is checked.
    let (status, _) = client.send("POST", "/api/generate", Some(job), false);
    assert_eq!(status, 401);
    for (body, says) in [
        (r#"{"from": "/etc/passwd", "n": 5}"#, "not a table of the store"),
        (r#"{"from": "source.disasters", "n": 0}"#, "1 to"),
        (r#"{"from": "source.disasters", "n": 5, "rows": 9}"#, "unknown field"),
    ] {
        let (status, error) = client.send("POST", "/api/generate", Some(body), true);
        assert_eq!(status, 400, "{body}: {error}");
        assert!(error.to_string().contains(says), "{body}: {error}");
    }
    let (status, accepted) = client.send("POST", "/api/generate", Some(job), true);
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["id"].as_u64().unwrap();
    let seen = client.wait(id);
    let last = seen.last().unwrap();
    assert_eq!(last["state"], "done", "{last}");
    assert_eq!(last["run"], "job1");
    assert_eq!(last["rows"], 50);
    assert_eq!(last["table"], "synthetic.job1");
    assert_eq!(last["progress"]["epoch"], 40, "{last}");
    assert_eq!(last["progress"]["epochs"], 40);
    assert!(last["progress"]["loss"].as_f64().unwrap().is_finite());
    // The progress moved while it ran.
    let epochs: Vec<u64> = seen.iter().filter_map(|j| j["progress"]["epoch"].as_u64()).collect();
    assert!(epochs.windows(2).all(|w| w[0] <= w[1]), "{epochs:?}");
    // The rows are in SQL at once, all of the rare class.
    let mut response = client
        .agent
        .post(&format!("{}/sql", client.url))
        .header("Accept", "text/csv")
        .send("SELECT count(*) AS n FROM synthetic.job1 WHERE \"Entity\" = 'Mass movement (dry)'")
        .unwrap();
    assert_eq!(response.body_mut().read_to_string().unwrap(), "n\n50\n");
    // A job the generator refuses fails with the reason; the list shows both, newest first.
    let (status, accepted) = client.send(
        "POST",
        "/api/generate",
        Some(r#"{"from": "source.disasters", "method": "magic", "n": 5}"#),
        true,
    );
    assert_eq!(status, 202);
    let failed = client.wait(accepted["id"].as_u64().unwrap());
    let failed = failed.last().unwrap();
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(failed["error"].as_str().unwrap().contains("magic"), "{failed}");
    let (_, list) = client.send("GET", "/api/generate", None, false);
    let ids: Vec<u64> = list["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, vec![accepted["id"].as_u64().unwrap(), id]);
    let (status, _) = client.send("GET", "/api/generate/999", None, false);
    assert_eq!(status, 404);
    let (status, _) = client.send("DELETE", "/api/generate", None, false);
    assert_eq!(status, 405);
}
