//! Generation jobs over HTTP. `POST /api/generate` (an admin token) queues a job and answers
//! 202 with its id; `GET /api/generate/{id}` follows it — queued, running (with the training's
//! epoch, loss and ETA), done (the run, its rows, its SQL table) or failed (why); `GET
//! /api/generate` lists the recent ones. One worker thread runs the jobs in turn, at most
//! `QUEUE` waiting. The generation itself is the binary's [`Runner`]: this crate knows HTTP,
//! not generation.

use crate::{ApiError, AppState, authorize_write};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

/// Jobs that may wait behind the running one.
const QUEUE: usize = 8;
/// Finished jobs remembered.
const KEPT: usize = 100;
/// Rows a job may ask for.
pub const MAX_ROWS: usize = 1_000_000;

/// A generation request: what `sailkg generate` takes, for a table or class of the store (never
/// a file path).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// An SQL table: `source.<table>`, `kg.<class>` or `synthetic.<run>`.
    pub from: String,
    #[serde(default = "default_method")]
    pub method: String,
    pub n: usize,
    #[serde(default, rename = "where")]
    pub condition: Option<String>,
    #[serde(default)]
    pub seed: Option<u64>,
    /// Neural methods: training epochs.
    #[serde(default)]
    pub epochs: Option<usize>,
    /// The run's name (the table `synthetic.<name>`).
    #[serde(default)]
    pub name: Option<String>,
}

fn default_method() -> String {
    "copula".into()
}

/// Where a training stands.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct JobProgress {
    pub epoch: usize,
    pub epochs: usize,
    pub loss: f64,
    pub eta_seconds: f64,
}

/// What a finished job made.
#[derive(Debug, Clone)]
pub struct JobOutcome {
    /// The run's name: its rows are the SQL table `synthetic.<run>`.
    pub run: String,
    pub rows: usize,
    /// Graphs it wrote (the catalogue, instances), for the search index.
    pub graphs: Vec<String>,
}

/// Where a job reports its training's progress.
pub type ProgressFn = Arc<dyn Fn(JobProgress) + Send + Sync>;

/// Runs one job, reporting training progress as it goes; an error is a message for the person.
pub type Runner = Arc<dyn Fn(&JobRequest, ProgressFn) -> Result<JobOutcome, String> + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

#[derive(Debug, Clone, serde::Serialize)]
struct Job {
    id: u64,
    state: JobState,
    request: JobRequest,
    progress: Option<JobProgress>,
    run: Option<String>,
    rows: Option<usize>,
    table: Option<String>,
    error: Option<String>,
    seconds: Option<f64>,
}

/// The jobs and the queue of the worker.
pub(crate) struct Jobs {
    jobs: Mutex<BTreeMap<u64, Job>>,
    next: AtomicU64,
    queue: Option<SyncSender<u64>>,
}

impl Jobs {
    /// Starts the worker when there is a runner; `done` hears the graphs each job wrote.
    pub(crate) fn start(runner: Option<Runner>, done: impl Fn(Vec<String>) + Send + 'static) -> Arc<Self> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(QUEUE);
        let jobs = Arc::new(Self {
            jobs: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(1),
            queue: runner.is_some().then_some(sender),
        });
        if let Some(runner) = runner {
            let worker = Arc::clone(&jobs);
            let spawned = std::thread::Builder::new()
                .name("sailkg-jobs".into())
                .spawn(move || worker.work(&runner, &receiver, &done));
            if let Err(e) = spawned {
                tracing::error!("generation jobs are off: {e}");
            }
        }
        jobs
    }

    fn update(&self, id: u64, change: impl FnOnce(&mut Job)) {
        if let Some(job) = self.jobs.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&id) {
            change(job);
        }
    }

    fn work(self: &Arc<Self>, runner: &Runner, receiver: &Receiver<u64>, done: &dyn Fn(Vec<String>)) {
        while let Ok(id) = receiver.recv() {
            let Some(request) =
                self.jobs.lock().unwrap_or_else(|e| e.into_inner()).get(&id).map(|j| j.request.clone())
            else {
                continue;
            };
            self.update(id, |job| job.state = JobState::Running);
            let started = std::time::Instant::now();
            let jobs = Arc::clone(self);
            let progress: ProgressFn = Arc::new(move |p| jobs.update(id, |job| job.progress = Some(p)));
            // A panic in a job fails that job, not the server.
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runner(&request, progress)))
                    .unwrap_or_else(|_| Err("the job failed unexpectedly (see the server log)".into()));
            let seconds = started.elapsed().as_secs_f64();
            match result {
                Ok(outcome) => {
                    self.update(id, |job| {
                        job.state = JobState::Done;
                        job.table = Some(format!("synthetic.{}", outcome.run));
                        job.run = Some(outcome.run.clone());
                        job.rows = Some(outcome.rows);
                        job.seconds = Some(seconds);
                    });
                    done(outcome.graphs);
                }
                Err(error) => self.update(id, |job| {
                    job.state = JobState::Failed;
                    job.error = Some(error);
                    job.seconds = Some(seconds);
                }),
            }
        }
    }

    /// Queues a job; refuses when the queue is full.
    fn submit(&self, request: JobRequest) -> Result<u64, ApiError> {
        let Some(queue) = &self.queue else {
            return Err(ApiError::new(StatusCode::NOT_IMPLEMENTED, "this server runs no generation jobs"));
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.insert(
            id,
            Job {
                id,
                state: JobState::Queued,
                request,
                progress: None,
                run: None,
                rows: None,
                table: None,
                error: None,
                seconds: None,
            },
        );
        // Forget the oldest finished jobs beyond the limit.
        let finished: Vec<u64> = jobs
            .values()
            .filter(|j| matches!(j.state, JobState::Done | JobState::Failed))
            .map(|j| j.id)
            .collect();
        for old in finished.iter().take(finished.len().saturating_sub(KEPT)) {
            jobs.remove(old);
        }
        drop(jobs);
        match queue.try_send(id) {
            Ok(()) => Ok(id),
            Err(e) => {
                self.jobs.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                Err(match e {
                    TrySendError::Full(_) => ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        format!("{QUEUE} jobs are waiting already; try again later"),
                    ),
                    TrySendError::Disconnected(_) => ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the job worker stopped (see the server log)",
                    ),
                })
            }
        }
    }
}

/// Whether `from` names a table of the store: `source.x`, `kg.x` or `synthetic.x`.
fn is_store_table(from: &str) -> bool {
    from.split_once('.').is_some_and(|(schema, table)| {
        matches!(schema, "source" | "kg" | "synthetic")
            && !table.is_empty()
            && !table.contains(['/', '\\'])
            && !table.starts_with('.')
    })
}

/// `POST /api/generate`: queues a job (an admin token).
pub(crate) async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<JobRequest>,
) -> Result<HttpResponse, ApiError> {
    authorize_write(&req, &state)?;
    let request = body.into_inner();
    if !is_store_table(&request.from) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "from: {:?} is not a table of the store; name source.<table>, kg.<class> or synthetic.<run>",
                request.from
            ),
        ));
    }
    if request.n == 0 || request.n > MAX_ROWS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("n: {}: ask for 1 to {MAX_ROWS} rows", request.n),
        ));
    }
    let id = state.jobs.submit(request)?;
    Ok(HttpResponse::Accepted()
        .insert_header((actix_web::http::header::LOCATION, format!("/api/generate/{id}")))
        .json(serde_json::json!({"id": id, "status": format!("/api/generate/{id}")})))
}

/// `GET /api/generate/{id}`: one job.
pub(crate) async fn status(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let job = id
        .parse::<u64>()
        .ok()
        .and_then(|id| state.jobs.jobs.lock().unwrap_or_else(|e| e.into_inner()).get(&id).cloned())
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no job {id}")))?;
    Ok(HttpResponse::Ok().json(job))
}

/// `GET /api/generate`: the recent jobs, newest first.
pub(crate) async fn list(state: web::Data<AppState>) -> HttpResponse {
    let jobs: Vec<Job> =
        state.jobs.jobs.lock().unwrap_or_else(|e| e.into_inner()).values().rev().cloned().collect();
    HttpResponse::Ok().json(serde_json::json!({"jobs": jobs}))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_store_tables_are_sources() {
        for ok in ["source.disasters", "kg.Person", "synthetic.run_1"] {
            assert!(super::is_store_table(ok), "{ok}");
        }
        for bad in ["disasters.csv", "/etc/passwd", "source.", "source./x", "other.t", "source.a/b", "kg..x"]
        {
            assert!(!super::is_store_table(bad), "{bad}");
        }
    }
}
