//! `comfydock test`: an environment's tracked workflows as its test suite. ComfyUI is started
//! once; each workflow goes as far as its level: `import` (every node type it uses is
//! registered), `validate` (converted to a prompt from `/object_info` and checked as ComfyUI
//! would), `run` (queued, followed on the websocket, its history read). See docs/testing.md.

use super::comfyui_client::{Client, Event, Queued};
use super::comfyui_process::{ComfyUi, ImportFailure, StartError, StartOptions, import_failures};
use crate::manifest::{Manifest, TestLevel};
use crate::progress::Reporter;
use crate::workflow::prompt_check::{self, PromptError};
use crate::workflow::to_prompt::{self, Given, NodeDefs, Prompt};
use crate::workspace::{EnvPaths, Workspace};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long an interrupted prompt may take to stop before it is reported as stuck.
const INTERRUPT_GRACE: Duration = Duration::from_secs(10);

/// What to test and how.
#[derive(Debug, Clone)]
pub struct TestInput {
    /// Tracked workflow names; empty: all.
    pub names: Vec<String>,
    /// `--level`: None takes each workflow's `test` (default validate).
    pub level: Option<TestLevel>,
    /// Bound on each workflow's run.
    pub timeout: Duration,
    pub start: StartOptions,
    /// Where to keep the prompts sent (or that would be sent).
    pub keep_prompts: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    Skipped,
}

/// One thing that failed (or, in `warnings`, one that would have).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Failure {
    /// `missing_node`, ComfyUI's validation error types (`value_not_in_list`, …),
    /// `prompt_rejected`, `execution_error`, `execution_interrupted`, `timeout`, `unreadable`.
    pub kind: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// For a missing node type: the declared pack that should provide it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pack: Option<String>,
    /// That pack's import error from ComfyUI's log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_error: Option<String>,
    /// For a model file not in its list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelNote>,
}

/// A model file a loader names that ComfyUI does not list.
#[derive(Debug, Clone, Serialize)]
pub struct ModelNote {
    pub category: String,
    pub file: String,
    /// The workspace's model index has a file of that name.
    pub in_index: bool,
    /// The manifest declares it (category and file).
    pub declared: bool,
    /// Declared, and this machine skips the environment's models (`import --models skip`).
    pub skipped_on_this_machine: bool,
}

/// A file the run wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Output {
    pub node_id: String,
    /// Relative to the scratch output folder.
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
}

/// One level of one workflow.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub level: TestLevel,
    pub status: Status,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Failure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<Output>,
}

impl Stage {
    fn new(level: TestLevel, started: Instant) -> Stage {
        Stage {
            level,
            status: Status::Passed,
            duration_ms: ms(started.elapsed()),
            reason: None,
            failures: Vec::new(),
            warnings: Vec::new(),
            prompt_id: None,
            outputs: Vec::new(),
        }
    }

    fn skipped(level: TestLevel, reason: &str) -> Stage {
        let mut s = Stage::new(level, Instant::now());
        s.status = Status::Skipped;
        s.duration_ms = 0;
        s.reason = Some(reason.to_string());
        s
    }

    fn finish(mut self, started: Instant) -> Stage {
        self.duration_ms = ms(started.elapsed());
        if !self.failures.is_empty() {
            self.status = Status::Failed;
        }
        self
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkflowReport {
    pub name: String,
    pub file: String,
    /// The level this workflow was taken to.
    pub level: TestLevel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Given>,
    pub status: Status,
    pub duration_ms: u64,
    pub stages: Vec<Stage>,
    /// Notes from the UI → API conversion.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComfyUiInfo {
    pub url: String,
    pub started_in_ms: u64,
    pub log: PathBuf,
    pub gpu: bool,
    /// Packs that failed to import, by folder.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub import_failures: Vec<ImportFailure>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// What `comfydock test` found: `--json` prints it in an `ops::Envelope`.
#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    pub environment: String,
    /// `--level` as given; None: each workflow's own.
    pub level: Option<TestLevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comfyui: Option<ComfyUiInfo>,
    pub workflows: Vec<WorkflowReport>,
    pub summary: Summary,
    pub passed: bool,
    pub duration_ms: u64,
}

impl TestReport {
    /// The workflows that failed, by name.
    pub fn failed(&self) -> Vec<&str> {
        self.workflows
            .iter()
            .filter(|w| w.status == Status::Failed)
            .map(|w| w.name.as_str())
            .collect()
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TestError {
    #[error("no tracked workflow named {0}")]
    #[diagnostic(
        code(comfydock::test::unknown_workflow),
        help("`comfydock workflow status` lists them")
    )]
    Unknown(String),
    #[error("ComfyUI could not start: {source}")]
    #[diagnostic(code(comfydock::test::comfyui_start))]
    Start {
        #[source]
        source: StartError,
    },
    #[error("ComfyUI's /object_info: {0}")]
    #[diagnostic(code(comfydock::test::comfyui_api))]
    Api(#[from] super::comfyui_client::ClientError),
    #[error("{0}")]
    #[diagnostic(code(comfydock::test::io))]
    Io(#[from] std::io::Error),
}

/// The level a workflow is taken to: its own `test` without `--level`; with it, the lower of
/// the two (a workflow that says `validate` is never run); `skip` always.
pub fn effective_level(cli: Option<TestLevel>, own: Option<TestLevel>) -> TestLevel {
    match (cli, own) {
        (_, Some(TestLevel::Skip)) => TestLevel::Skip,
        (None, own) => own.unwrap_or(TestLevel::Validate),
        (Some(l), own) => l.min(own.unwrap_or(TestLevel::Run)),
    }
}

struct Case {
    name: String,
    file: String,
    level: TestLevel,
    requires: Vec<String>,
    bytes: std::io::Result<Vec<u8>>,
}

/// Runs the suite. ComfyUI is started only when some workflow goes beyond `skip`, and stopped
/// before this returns, whatever happens.
pub fn run(
    ws: &Workspace,
    env: &EnvPaths,
    input: &TestInput,
    reporter: &dyn Reporter,
) -> Result<TestReport, TestError> {
    let started = Instant::now();
    let manifest = Manifest::load(&env.pyproject()).map_err(|e| std::io::Error::other(e.to_string()))?;
    let config = manifest.config();
    for name in &input.names {
        if !config.workflows.tracked.keys().any(|k| k.as_str() == name) {
            return Err(TestError::Unknown(name.clone()));
        }
    }
    let cases: Vec<Case> = config
        .workflows
        .tracked
        .iter()
        .filter(|(k, _)| input.names.is_empty() || input.names.iter().any(|n| n == k.as_str()))
        .map(|(k, t)| Case {
            name: k.to_string(),
            file: t.file.to_string(),
            level: effective_level(input.level, t.test),
            requires: t.requires.nodes.iter().map(ToString::to_string).collect(),
            bytes: crate::workflow::read_file(env.cec.join(t.file.as_str())),
        })
        .collect();
    let mut report = TestReport {
        environment: env.name.clone(),
        level: input.level,
        comfyui: None,
        workflows: Vec::new(),
        summary: Summary::default(),
        passed: true,
        duration_ms: 0,
    };
    if cases.iter().all(|c| c.level == TestLevel::Skip) {
        for c in &cases {
            report.workflows.push(skipped_workflow(c, "test = \"skip\""));
        }
        return Ok(finish(report, started));
    }

    let scratch = tempfile::Builder::new().prefix("comfydock-test-").tempdir()?;
    let log = ws.root().join("logs").join(format!("{}-test.log", env.name));
    reporter.step("Starting ComfyUI");
    let comfy = ComfyUi::start(
        &env.python(),
        &env.comfyui,
        &log,
        &scratch.path().join("output"),
        &input.start,
    )
    .map_err(|source| TestError::Start { source })?;
    let client = Client::new(&comfy.base_url)?;
    let defs = NodeDefs::from_object_info(&client.object_info()?);
    let failures = import_failures(&comfy.log_text());
    report.comfyui = Some(ComfyUiInfo {
        url: comfy.base_url.clone(),
        started_in_ms: ms(comfy.started_in),
        log: comfy.log.clone(),
        gpu: input.start.gpu,
        import_failures: failures.clone(),
    });
    let ctx = Ctx {
        manifest: &manifest,
        defs: &defs,
        failures: &failures,
        folders: pack_folders(env),
        index: crate::models::ModelIndex::open(&crate::models::index_path(ws)).ok(),
        models_skipped: env.models_skipped_marker().exists(),
    };
    let mut events = None;
    for case in &cases {
        let w = test_one(&ctx, case, input, &client, &comfy, &mut events, reporter);
        report.workflows.push(w);
    }
    drop(events);
    drop(comfy);
    Ok(finish(report, started))
}

fn finish(mut report: TestReport, started: Instant) -> TestReport {
    for w in &report.workflows {
        match w.status {
            Status::Passed => report.summary.passed += 1,
            Status::Failed => report.summary.failed += 1,
            Status::Skipped => report.summary.skipped += 1,
        }
    }
    report.passed = report.summary.failed == 0;
    report.duration_ms = ms(started.elapsed());
    report
}

fn skipped_workflow(c: &Case, reason: &str) -> WorkflowReport {
    WorkflowReport {
        name: c.name.clone(),
        file: c.file.clone(),
        level: c.level,
        format: None,
        status: Status::Skipped,
        duration_ms: 0,
        stages: vec![Stage::skipped(TestLevel::Import, reason)],
        notes: Vec::new(),
    }
}

struct Ctx<'a> {
    manifest: &'a Manifest,
    defs: &'a NodeDefs,
    failures: &'a [ImportFailure],
    /// custom_nodes folder -> manifest id, for what is installed.
    folders: BTreeMap<String, String>,
    index: Option<crate::models::ModelIndex>,
    models_skipped: bool,
}

fn pack_folders(env: &EnvPaths) -> BTreeMap<String, String> {
    crate::observe::Installed::load(&env.state)
        .map(|i| {
            i.nodes
                .iter()
                .map(|(id, n)| (n.folder(id).to_string(), id.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn test_one(
    ctx: &Ctx<'_>,
    case: &Case,
    input: &TestInput,
    client: &Client,
    comfy: &ComfyUi,
    events: &mut Option<super::comfyui_client::Events>,
    reporter: &dyn Reporter,
) -> WorkflowReport {
    let started = Instant::now();
    let mut w = WorkflowReport {
        name: case.name.clone(),
        file: case.file.clone(),
        level: case.level,
        format: None,
        status: Status::Passed,
        duration_ms: 0,
        stages: Vec::new(),
        notes: Vec::new(),
    };
    let done = |mut w: WorkflowReport| {
        w.duration_ms = ms(started.elapsed());
        w.status = if w.stages.iter().any(|s| s.status == Status::Failed) {
            Status::Failed
        } else if w.stages.iter().all(|s| s.status == Status::Skipped) {
            Status::Skipped
        } else {
            Status::Passed
        };
        w
    };
    if case.level == TestLevel::Skip {
        return skipped_workflow(case, "test = \"skip\"");
    }
    // import
    let t = Instant::now();
    let mut stage = Stage::new(TestLevel::Import, t);
    let converted = match &case.bytes {
        Err(e) => Err(format!("cannot read .cec/{}: {e}", case.file)),
        Ok(bytes) => to_prompt::prompt_of(bytes, &case.file, ctx.defs).map_err(|e| e.to_string()),
    };
    let (given, conversion) = match converted {
        Ok(c) => c,
        Err(message) => {
            stage.failures.push(Failure {
                kind: "unreadable".into(),
                message,
                ..Failure::default()
            });
            w.stages.push(stage.finish(t));
            return done(w);
        }
    };
    w.format = Some(given);
    w.notes = conversion.notes.clone();
    let prompt = conversion.prompt;
    stage.failures = missing_nodes(ctx, case, &prompt);
    let import_ok = stage.failures.is_empty();
    w.stages.push(stage.finish(t));
    if let Some(dir) = &input.keep_prompts {
        let _ = fs_err::create_dir_all(dir).and_then(|_| {
            let text = serde_json::to_vec_pretty(&prompt).unwrap_or_default();
            crate::fsx::write_atomic(&dir.join(format!("{}.json", case.name)), &text)
        });
    }
    if case.level == TestLevel::Import {
        return done(w);
    }
    if !import_ok {
        w.stages
            .push(Stage::skipped(TestLevel::Validate, "node types are missing"));
        if case.level == TestLevel::Run {
            w.stages.push(Stage::skipped(TestLevel::Run, "node types are missing"));
        }
        return done(w);
    }
    // validate
    let t = Instant::now();
    let mut stage = Stage::new(TestLevel::Validate, t);
    for e in prompt_check::check(&prompt, ctx.defs) {
        let f = validation_failure(ctx, e);
        if f.model.as_ref().is_some_and(|m| m.skipped_on_this_machine) {
            stage.warnings.push(f);
        } else {
            stage.failures.push(f);
        }
    }
    let models_absent = !stage.warnings.is_empty();
    let valid = stage.failures.is_empty();
    w.stages.push(stage.finish(t));
    if case.level == TestLevel::Validate {
        return done(w);
    }
    if !valid {
        w.stages.push(Stage::skipped(TestLevel::Run, "validation failed"));
        return done(w);
    }
    if models_absent {
        w.stages.push(Stage::skipped(
            TestLevel::Run,
            "its models are not placed on this machine (`apply --place-models` places them)",
        ));
        return done(w);
    }
    // run
    w.stages
        .push(run_prompt(case, input, client, comfy, events, &prompt, reporter));
    done(w)
}

fn missing_nodes(ctx: &Ctx<'_>, case: &Case, prompt: &Prompt) -> Vec<Failure> {
    let mut by_type: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, node) in prompt {
        let class = node.get("class_type").and_then(Value::as_str).unwrap_or_default();
        if !ctx.defs.contains(class) {
            by_type.entry(class.to_string()).or_default().push(id.clone());
        }
    }
    // Packs the workflow requires that failed to import.
    let failed: Vec<(&str, &ImportFailure)> = ctx
        .failures
        .iter()
        .filter_map(|f| {
            let id = ctx
                .folders
                .get(&f.folder)
                .map(String::as_str)
                .unwrap_or(f.folder.as_str());
            case.requires.iter().any(|r| r == id).then_some((id, f))
        })
        .collect();
    by_type
        .into_iter()
        .map(|(node_type, ids)| {
            let (pack, import_error, message) = match failed.as_slice() {
                [(id, f)] => (
                    Some(id.to_string()),
                    Some(f.error.clone()),
                    format!("node type {node_type} is not registered: pack {id} failed to import"),
                ),
                [] if case.requires.is_empty() => (
                    None,
                    None,
                    format!("node type {node_type} is not registered, and the workflow requires no pack (`comfydock workflow resolve {}`)", case.name),
                ),
                [] => (
                    None,
                    None,
                    format!(
                        "node type {node_type} is not registered; the packs the workflow requires ({}) imported without registering it",
                        case.requires.join(", ")
                    ),
                ),
                many => (
                    Some(many.iter().map(|(id, _)| *id).collect::<Vec<_>>().join(", ")),
                    Some(many.iter().map(|(id, f)| format!("{id}:\n{}", f.error)).collect::<Vec<_>>().join("\n\n")),
                    format!(
                        "node type {node_type} is not registered: packs {} failed to import",
                        many.iter().map(|(id, _)| *id).collect::<Vec<_>>().join(", ")
                    ),
                ),
            };
            Failure {
                kind: "missing_node".into(),
                message,
                node_id: Some(ids.join(", ")),
                node_type: Some(node_type),
                pack,
                import_error,
                ..Failure::default()
            }
        })
        .collect()
}

fn validation_failure(ctx: &Ctx<'_>, e: PromptError) -> Failure {
    let model = match (&e.model_category, &e.value) {
        (Some(category), Some(Value::String(file))) => Some(model_note(ctx, category, file)),
        _ => None,
    };
    let mut message = e.message.clone();
    if let Some(m) = &model {
        message = format!(
            "model {}/{} is not in ComfyUI's list ({}{})",
            m.category,
            m.file,
            if m.declared {
                "declared in the manifest"
            } else {
                "not declared in the manifest"
            },
            match (m.skipped_on_this_machine, m.in_index) {
                (true, _) => "; this machine skips the environment's models",
                (false, true) => "; the model index knows a file of that name",
                (false, false) => "; the model index does not know it",
            }
        );
    }
    Failure {
        kind: e.kind,
        message,
        node_id: e.node_id,
        node_type: e.class_type,
        input: e.input,
        details: (!e.details.is_empty()).then_some(e.details),
        model,
        ..Failure::default()
    }
}

fn model_note(ctx: &Ctx<'_>, category: &str, file: &str) -> ModelNote {
    let normal = file.replace('\\', "/");
    let declared = ctx.manifest.config().models.values().any(|m| {
        m.category().is_some_and(|c| c.as_str() == category) && m.filename().is_some_and(|f| f.as_str() == normal)
    });
    let base = normal.rsplit('/').next().unwrap_or(&normal);
    let in_index = ctx
        .index
        .as_ref()
        .and_then(|i| i.by_name(base).ok())
        .is_some_and(|found| !found.is_empty());
    ModelNote {
        category: category.to_string(),
        file: file.to_string(),
        in_index,
        declared,
        skipped_on_this_machine: declared && ctx.models_skipped,
    }
}

fn run_prompt(
    case: &Case,
    input: &TestInput,
    client: &Client,
    comfy: &ComfyUi,
    events: &mut Option<super::comfyui_client::Events>,
    prompt: &Prompt,
    reporter: &dyn Reporter,
) -> Stage {
    let t = Instant::now();
    let mut stage = Stage::new(TestLevel::Run, t);
    if events.is_none() {
        *events = client.events(comfy.port).ok();
    }
    let body = serde_json::to_value(prompt).unwrap_or(Value::Null);
    let prompt_id = match client.queue(&body) {
        Err(e) => {
            stage.failures.push(Failure {
                kind: "prompt_rejected".into(),
                message: e.to_string(),
                ..Failure::default()
            });
            return stage.finish(t);
        }
        Ok(Queued::Rejected { error, node_errors }) => {
            stage.failures.extend(rejected(&error, &node_errors));
            return stage.finish(t);
        }
        Ok(Queued::Accepted { prompt_id }) => prompt_id,
    };
    stage.prompt_id = Some(prompt_id.clone());
    let label = format!("workflow {}", case.name);
    let total = prompt.len() as u64;
    let mut done_nodes = 0u64;
    reporter.count(&label, 0, total);
    let deadline = t + input.timeout;
    let mut interrupted_at: Option<Instant> = None;
    let mut end_event: Option<(String, Value)> = None;
    let mut last_poll = Instant::now();
    loop {
        let now = Instant::now();
        if interrupted_at.is_none() && now >= deadline {
            let _ = client.interrupt();
            interrupted_at = Some(now);
        }
        if interrupted_at.is_some_and(|i| now >= i + INTERRUPT_GRACE) {
            break;
        }
        match events.as_mut().map(|e| e.read_event()) {
            Some(Event::Message { kind, data }) => {
                let ours = data.get("prompt_id").and_then(Value::as_str) == Some(prompt_id.as_str());
                if !ours {
                    continue;
                }
                match kind.as_str() {
                    "executing" if data.get("node").is_some_and(|n| !n.is_null()) => {
                        done_nodes += 1;
                        reporter.count(&label, done_nodes.min(total), total);
                    }
                    "executing" => break,
                    "execution_success" | "execution_error" | "execution_interrupted" => {
                        end_event = Some((kind, data));
                    }
                    _ => {}
                }
            }
            Some(Event::Idle) => {}
            Some(Event::Closed) | None => {
                *events = None;
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // Without events (or as a safety net), the history says when it is over. The net is
        // needed even with a socket: ComfyUI registers a websocket only after its handshake
        // answer, so a prompt queued at once can finish before its events have anywhere to go.
        let poll_every = if events.is_none() || end_event.is_some() {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(1)
        };
        if last_poll.elapsed() >= poll_every {
            last_poll = Instant::now();
            if client.history(&prompt_id).ok().flatten().is_some() {
                break;
            }
        }
    }
    reporter.count_end(&label);
    let history = client.history(&prompt_id).ok().flatten();
    if let Some(at) = interrupted_at {
        let finished = history.is_some();
        stage.failures.push(Failure {
            kind: "timeout".into(),
            message: if finished {
                format!(
                    "did not finish within {} s; interrupted after {:.1} s",
                    input.timeout.as_secs(),
                    (at - t).as_secs_f64()
                )
            } else {
                format!(
                    "did not finish within {} s and did not stop within {} s of the interrupt",
                    input.timeout.as_secs(),
                    INTERRUPT_GRACE.as_secs()
                )
            },
            ..Failure::default()
        });
        return stage.finish(t);
    }
    let Some(history) = history else {
        stage.failures.push(Failure {
            kind: "no_history".into(),
            message: "ComfyUI has no history for the prompt".into(),
            ..Failure::default()
        });
        return stage.finish(t);
    };
    let status = history
        .pointer("/status/status_str")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if status != "success" {
        // The error event, from the websocket or from the history's messages.
        let from_history = history
            .pointer("/status/messages")
            .and_then(Value::as_array)
            .and_then(|m| {
                m.iter().find_map(|pair| {
                    let kind = pair.get(0)?.as_str()?;
                    matches!(kind, "execution_error" | "execution_interrupted")
                        .then(|| (kind.to_string(), pair.get(1).cloned().unwrap_or(Value::Null)))
                })
            });
        let (kind, data) = end_event
            .filter(|(k, _)| k != "execution_success")
            .or(from_history)
            .unwrap_or(("execution_error".to_string(), Value::Null));
        let text = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_string);
        stage.failures.push(Failure {
            message: text("exception_message").unwrap_or_else(|| format!("ComfyUI reports status {status:?}")),
            kind,
            node_id: text("node_id"),
            node_type: text("node_type"),
            details: data
                .get("traceback")
                .and_then(Value::as_array)
                .map(|t| t.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("")),
            ..Failure::default()
        });
        return stage.finish(t);
    }
    stage.outputs = outputs(&history, &comfy.output_dir);
    stage.finish(t)
}

/// A 400 from `/prompt`: ComfyUI's `error` and each node's errors.
fn rejected(error: &Value, node_errors: &Value) -> Vec<Failure> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let mut out = Vec::new();
    if let Some(nodes) = node_errors.as_object() {
        for (id, n) in nodes {
            for e in n.get("errors").and_then(Value::as_array).into_iter().flatten() {
                out.push(Failure {
                    kind: text(e, "type"),
                    message: text(e, "message"),
                    node_id: Some(id.clone()),
                    node_type: n.get("class_type").and_then(Value::as_str).map(str::to_string),
                    input: e
                        .pointer("/extra_info/input_name")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    details: Some(text(e, "details")).filter(|d| !d.is_empty()),
                    ..Failure::default()
                });
            }
        }
    }
    if out.is_empty() {
        out.push(Failure {
            kind: Some(text(error, "type"))
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "prompt_rejected".into()),
            message: text(error, "message"),
            details: Some(text(error, "details")).filter(|d| !d.is_empty()),
            ..Failure::default()
        });
    }
    out
}

/// The files a history entry's outputs name (`images`, `gifs`, `audio`, … entries with a
/// `filename`), with their blake3.
fn outputs(history: &Value, output_dir: &std::path::Path) -> Vec<Output> {
    let mut out = Vec::new();
    let Some(nodes) = history.get("outputs").and_then(Value::as_object) else {
        return out;
    };
    for (node_id, ui) in nodes {
        for list in ui.as_object().into_iter().flat_map(|o| o.values()) {
            for item in list.as_array().into_iter().flatten() {
                let Some(name) = item.get("filename").and_then(Value::as_str) else {
                    continue;
                };
                let sub = item.get("subfolder").and_then(Value::as_str).unwrap_or_default();
                let kind = item.get("type").and_then(Value::as_str).unwrap_or("output");
                // Only files in the scratch output folder; names are checked before use.
                let rel = if sub.is_empty() {
                    name.to_string()
                } else {
                    format!("{sub}/{name}")
                };
                let safe = rel.parse::<crate::types::RelPath>().is_ok();
                let blake3 = (kind == "output" && safe)
                    .then(|| fs_err::read(output_dir.join(&rel)).ok())
                    .flatten()
                    .map(|b| crate::types::Blake3::of_bytes(&b).to_string());
                out.push(Output {
                    node_id: node_id.clone(),
                    file: rel,
                    blake3,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_combine_as_documented() {
        use TestLevel::*;
        assert_eq!(effective_level(None, None), Validate);
        assert_eq!(effective_level(None, Some(Run)), Run);
        assert_eq!(effective_level(Some(Run), None), Run);
        assert_eq!(effective_level(Some(Run), Some(Validate)), Validate);
        assert_eq!(effective_level(Some(Import), Some(Run)), Import);
        assert_eq!(effective_level(Some(Run), Some(Skip)), Skip);
    }
}
