//! Long operations started by a POST (apply) run on their own thread; their progress lines are
//! kept here and streamed to the page as server-sent events.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Jobs {
    next: Mutex<u64>,
    jobs: Mutex<BTreeMap<u64, Arc<Job>>>,
}

#[derive(Default)]
pub struct Job {
    pub environment: String,
    state: Mutex<JobState>,
}

#[derive(Default, Clone, serde::Serialize)]
pub struct JobState {
    pub lines: Vec<String>,
    /// Set when the job is over: the report as JSON, or the error.
    pub result: Option<Result<serde_json::Value, String>>,
}

impl Jobs {
    pub fn start(&self, environment: &str) -> (u64, Arc<Job>) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        *next += 1;
        let job = Arc::new(Job {
            environment: environment.to_string(),
            state: Mutex::default(),
        });
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(*next, job.clone());
        (*next, job)
    }

    pub fn get(&self, id: u64) -> Option<Arc<Job>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()
    }
}

impl Job {
    pub fn line(&self, text: &str) {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .lines
            .push(text.to_string());
    }

    pub fn finish(&self, result: Result<serde_json::Value, String>) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).result = Some(result);
    }

    pub fn snapshot(&self) -> JobState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Progress of a job's operation, as lines.
pub struct JobReporter(pub Arc<Job>);

impl crate::progress::Reporter for JobReporter {
    fn step(&self, message: &str) {
        self.0.line(message);
    }

    fn warn(&self, message: &str) {
        self.0.line(&format!("warning: {message}"));
    }
}
