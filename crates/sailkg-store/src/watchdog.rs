//! Time limits for queries and updates: one background thread cancels expired work.
//!
//! Oxigraph checks a cancellation token while it evaluates, so cancelling the token stops the
//! work itself, not only the wait for it. One shared thread serves every deadline, instead of one
//! timer thread per query.

use oxigraph::sparql::CancellationToken;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The time and cancellation budget of one operation.
#[derive(Clone)]
pub struct Budget {
    token: CancellationToken,
    deadline: Instant,
    timeout: Duration,
}

impl Budget {
    pub(crate) fn new(watchdog: &Watchdog, timeout: Duration) -> Self {
        let deadline = Instant::now() + timeout;
        let token = CancellationToken::new();
        watchdog.schedule(deadline, token.clone());
        Self { token, deadline, timeout }
    }

    /// The token that evaluation checks.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// When the operation runs out of time.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Stops the operation, for example because its client went away.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Whether the operation was stopped (by the deadline or by [`Budget::cancel`]).
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The error to report for work that stopped because of this budget.
    pub(crate) fn stop_error(&self) -> crate::StoreError {
        if Instant::now() >= self.deadline {
            crate::StoreError::Timeout(self.timeout)
        } else {
            crate::StoreError::Cancelled
        }
    }
}

#[derive(Clone)]
pub(crate) struct Watchdog {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Entry>>,
    next_id: u64,
    started: bool,
}

struct Entry {
    deadline: Instant,
    id: u64,
    token: CancellationToken,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.id) == (other.deadline, other.id)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.deadline, self.id).cmp(&(other.deadline, other.id))
    }
}

impl Watchdog {
    pub(crate) fn new() -> Self {
        Self { shared: Arc::new(Shared { queue: Mutex::new(Queue::default()), wake: Condvar::new() }) }
    }

    fn schedule(&self, deadline: Instant, token: CancellationToken) {
        let Ok(mut queue) = self.shared.queue.lock() else {
            // A poisoned lock means the watchdog thread died; fail safe by not running at all.
            token.cancel();
            return;
        };
        if !queue.started {
            queue.started = true;
            let shared = Arc::clone(&self.shared);
            let spawned =
                std::thread::Builder::new().name("sailkg-watchdog".into()).spawn(move || run(&shared));
            if spawned.is_err() {
                queue.started = false;
                token.cancel();
                return;
            }
        }
        let id = queue.next_id;
        queue.next_id += 1;
        queue.heap.push(Reverse(Entry { deadline, id, token }));
        self.shared.wake.notify_one();
    }
}

fn run(shared: &Shared) {
    let Ok(mut queue) = shared.queue.lock() else { return };
    loop {
        let now = Instant::now();
        while let Some(Reverse(entry)) = queue.heap.peek() {
            if entry.deadline > now {
                break;
            }
            if let Some(Reverse(entry)) = queue.heap.pop() {
                entry.token.cancel();
            }
        }
        let wait = queue
            .heap
            .peek()
            .map_or(Duration::from_secs(3600), |Reverse(e)| e.deadline.saturating_duration_since(now));
        queue = match shared.wake.wait_timeout(queue, wait) {
            Ok((guard, _)) => guard,
            Err(_) => return,
        };
    }
}
