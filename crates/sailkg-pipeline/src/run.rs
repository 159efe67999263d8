//! Running a plan: each step's fingerprint is a SHA-256 over its kind, settings, the contents of
//! its input files and the fingerprints of the steps it waits for, so a change anywhere upstream
//! reaches everything downstream. A step whose fingerprint equals the one it last succeeded with
//! is skipped. The state file is rewritten (whole, then renamed) after every step, so a failure
//! or a kill keeps what finished and the next run resumes there.

use crate::{Pipeline, Step, StepKind};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// Does the work of a step; the `sailkg` binary implements it over the store.
pub trait Executor {
    /// Runs `step` of `pipeline`; `Ok` carries a one-line summary, `Err` the reason it failed.
    fn execute(&mut self, pipeline: &Pipeline, step: &Step) -> Result<String, String>;
}

/// What became of a step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It ran and succeeded.
    Ran,
    /// Unchanged since it last succeeded.
    Skipped,
    /// It ran and failed.
    Failed,
    /// It waits for a step that failed.
    Blocked,
    /// A dry run: it would run.
    WouldRun,
}

/// One step's part of a run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepReport {
    pub id: String,
    pub outcome: Outcome,
    /// Why it runs or is skipped, its summary, or why it failed.
    pub message: String,
    pub fingerprint: String,
    pub seconds: f64,
}

/// A whole run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunReport {
    pub pipeline: String,
    pub steps: Vec<StepReport>,
}

impl RunReport {
    /// Whether every step ran or was skipped.
    pub fn succeeded(&self) -> bool {
        self.steps.iter().all(|s| matches!(s.outcome, Outcome::Ran | Outcome::Skipped | Outcome::WouldRun))
    }
}

/// Progress while a run goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// `step` (number `index` of `total`, from 1) starts.
    Started { index: usize, total: usize, step: &'a Step },
    /// It is done.
    Finished { index: usize, total: usize, report: &'a StepReport },
}

/// The state file: each step's last success.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct State {
    format: u32,
    steps: BTreeMap<String, Done>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Done {
    fingerprint: String,
    summary: String,
}

fn read_state(path: &Path) -> Result<State, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: {e} (delete it to run every step again)", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State { format: 1, ..State::default() }),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn write_state(path: &Path, state: &State) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let partial = path.with_extension("json.partial");
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| e.to_string())?;
    std::fs::write(&partial, bytes).map_err(fail)?;
    std::fs::rename(&partial, path).map_err(fail)
}

/// The fingerprint of `step` given those of the steps before it.
fn fingerprint(step: &Step, upstream: &BTreeMap<String, String>) -> Result<String, String> {
    let mut hash = Sha256::new();
    hash.update(format!("sailkg {} {:?}\n{}\n", env!("CARGO_PKG_VERSION"), step.kind, step.settings));
    for input in &step.inputs {
        let bytes = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
        hash.update(format!("{} {}\n", input.display(), bytes.len()));
        hash.update(&bytes);
    }
    for after in &step.after {
        hash.update(format!("after {after} {}\n", upstream.get(after).map_or("", String::as_str)));
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Runs the plan of `pipeline` with `executor`, keeping the state in `state_file`. With
/// `dry_run`, nothing runs: the report says what would. Stops starting new steps after a
/// failure (the steps that wait for it are `Blocked`; independent ones still run).
pub fn execute(
    pipeline: &Pipeline,
    state_file: &Path,
    executor: &mut dyn Executor,
    dry_run: bool,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<RunReport, String> {
    let plan = pipeline.plan();
    let mut state = read_state(state_file)?;
    let mut fingerprints = BTreeMap::new();
    let mut failed: Vec<String> = Vec::new();
    let mut steps = Vec::with_capacity(plan.len());
    let total = plan.len();
    for (i, step) in plan.iter().enumerate() {
        let index = i + 1;
        let started = Instant::now();
        let report = |outcome, message: String, fingerprint: &str| StepReport {
            id: step.id.clone(),
            outcome,
            message,
            fingerprint: fingerprint.to_owned(),
            seconds: started.elapsed().as_secs_f64(),
        };
        if let Some(blocker) = step.after.iter().find(|a| failed.contains(a)) {
            failed.push(step.id.clone());
            steps.push(report(Outcome::Blocked, format!("waits for {blocker}, which failed"), ""));
            progress(Event::Finished { index, total, report: steps.last().expect("pushed") });
            continue;
        }
        let print = match fingerprint(step, &fingerprints) {
            Ok(print) => print,
            Err(e) => {
                failed.push(step.id.clone());
                steps.push(report(Outcome::Failed, e, ""));
                progress(Event::Finished { index, total, report: steps.last().expect("pushed") });
                continue;
            }
        };
        fingerprints.insert(step.id.clone(), print.clone());
        let last = state.steps.get(&step.id);
        if let Some(done) = last.filter(|d| d.fingerprint == print) {
            steps.push(report(Outcome::Skipped, format!("unchanged ({})", done.summary), &print));
            progress(Event::Finished { index, total, report: steps.last().expect("pushed") });
            continue;
        }
        let why = match (last, step.kind == StepKind::Generate) {
            (None, _) => "never ran".to_owned(),
            (Some(_), true) => "its settings or inputs changed".to_owned(),
            (Some(_), false) => "its inputs, settings or upstream steps changed".to_owned(),
        };
        if dry_run {
            steps.push(report(Outcome::WouldRun, why, &print));
            progress(Event::Finished { index, total, report: steps.last().expect("pushed") });
            continue;
        }
        progress(Event::Started { index, total, step });
        match executor.execute(pipeline, step) {
            Ok(summary) => {
                state
                    .steps
                    .insert(step.id.clone(), Done { fingerprint: print.clone(), summary: summary.clone() });
                write_state(state_file, &state)?;
                steps.push(report(Outcome::Ran, summary, &print));
            }
            Err(e) => {
                // A step that failed must run again, whatever it did before.
                if state.steps.remove(&step.id).is_some() {
                    write_state(state_file, &state)?;
                }
                failed.push(step.id.clone());
                steps.push(report(Outcome::Failed, e, &print));
            }
        }
        progress(Event::Finished { index, total, report: steps.last().expect("pushed") });
    }
    Ok(RunReport { pipeline: pipeline.name.clone(), steps })
}
