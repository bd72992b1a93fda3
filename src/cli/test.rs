//! `test`, and `apply --test` / `rollback --test`: the report of `ops::test_suite` as text,
//! `--json` (schema/test-report.schema.json) or JUnit XML.

use super::args::TestArgs;
use super::printer::Printer;
use super::{ExitStatus, Globals};
use crate::ops::comfyui_process::StartOptions;
use crate::ops::test_suite::{self, Failure, Stage, Status, TestError, TestInput, TestReport};
use crate::workspace::{EnvPaths, Workspace};
use miette::{IntoDiagnostic, Result};
use std::time::Duration;

/// The last report of an environment, as `test --json` printed it (the panel shows it).
const LAST_REPORT: &str = "last-test.json";

pub fn test(g: &Globals, args: &TestArgs) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let last = env.state.join(LAST_REPORT);
    if args.last {
        match fs_err::read_to_string(&last) {
            Ok(text) => outln!("{}", text.trim_end()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                errln!(g.printer, "No test has run in this environment yet.")
            }
            Err(e) => return Err(miette::miette!("cannot read {}: {e}", last.display())),
        }
        return Ok(ExitStatus::Success);
    }
    let input = TestInput {
        names: args.names.clone(),
        level: args.level.map(Into::into),
        timeout: Duration::from_secs(args.timeout),
        start: StartOptions {
            gpu: args.gpu,
            start_timeout: Duration::from_secs(args.start_timeout),
        },
        keep_prompts: args.keep_prompts.clone(),
    };
    let report = match test_suite::run(&ws, &env, &input, &g.reporter) {
        Ok(r) => r,
        Err(e) => return not_started(g.printer, e),
    };
    if let Some(path) = &args.junit {
        crate::fsx::write_atomic(path, junit(&report).as_bytes()).into_diagnostic()?;
    }
    let doc = serde_json::to_string_pretty(&crate::ops::Envelope::new(&report)).into_diagnostic()?;
    // Kept for `test --last`; a state folder that cannot take it does not fail the test.
    if env.state.is_dir() {
        let _ = crate::fsx::write_atomic(&last, doc.as_bytes());
    }
    if args.json {
        outln!("{doc}");
    } else {
        render(&report);
    }
    Ok(if report.passed {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// ComfyUI did not start: its log's tail and exit 2; other errors are errors (exit 1).
fn not_started(p: Printer, e: TestError) -> Result<ExitStatus> {
    match &e {
        TestError::Start { source } => {
            errln!(p, "error: {e}");
            if let Some((log, tail)) = source.log_tail() {
                errln!(p, "--- the end of ComfyUI's log ({}):", log.display());
                for line in tail.lines() {
                    errln!(p, "    {line}");
                }
            }
            Ok(ExitStatus::NotStarted)
        }
        _ => Err(e.into()),
    }
}

fn secs(ms: u64) -> String {
    format!("{:.2} s", ms as f64 / 1000.0)
}

fn render(report: &TestReport) {
    if let Some(c) = &report.comfyui {
        outln!(
            "ComfyUI started in {} ({}, {}); log: {}",
            secs(c.started_in_ms),
            if c.gpu { "GPU" } else { "CPU" },
            c.url,
            c.log.display()
        );
    }
    if report.workflows.is_empty() {
        outln!("No tracked workflows to test (`comfydock workflow track`).");
    }
    let width = report
        .workflows
        .iter()
        .map(|w| w.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    for w in &report.workflows {
        let mark = match w.status {
            Status::Passed => "PASS",
            Status::Failed => "FAIL",
            Status::Skipped => "SKIP",
        };
        let reached = w
            .stages
            .iter()
            .rev()
            .find(|s| s.status != Status::Skipped)
            .map_or("-", |s| s.level.as_str());
        let mut line = format!("{mark}  {:<width$}  {:<8}  {}", w.name, reached, secs(w.duration_ms));
        if w.status == Status::Skipped
            && let Some(reason) = w.stages.first().and_then(|s| s.reason.as_deref())
        {
            line.push_str(&format!("  ({reason})"));
        }
        outln!("{line}");
        for s in &w.stages {
            stage_lines(s);
        }
    }
    let s = &report.summary;
    outln!(
        "\n{} passed, {} failed, {} skipped in {}.",
        s.passed,
        s.failed,
        s.skipped,
        secs(report.duration_ms)
    );
}

fn stage_lines(s: &Stage) {
    for f in &s.failures {
        failure_lines(s.level.as_str(), f, "");
    }
    for f in &s.warnings {
        failure_lines(s.level.as_str(), f, "warning: ");
    }
    if s.status == Status::Skipped
        && let Some(reason) = &s.reason
        && s.level != crate::manifest::TestLevel::Import
    {
        outln!("      {}: not reached ({reason})", s.level.as_str());
    }
    for o in &s.outputs {
        outln!(
            "      output {} (node {}) {}",
            o.file,
            o.node_id,
            o.blake3.as_deref().unwrap_or("(not read)")
        );
    }
}

fn failure_lines(level: &str, f: &Failure, prefix: &str) {
    let at = match (&f.node_id, &f.node_type) {
        (Some(id), Some(t)) => format!(" [node {id} {t}]"),
        (Some(id), None) => format!(" [node {id}]"),
        (None, Some(t)) => format!(" [{t}]"),
        (None, None) => String::new(),
    };
    outln!("      {level}: {prefix}{}: {}{at}", f.kind, f.message);
    if let Some(d) = &f.details
        && f.model.is_none()
    {
        for line in d.lines().take(12) {
            outln!("        {line}");
        }
    }
    if let Some(e) = &f.import_error {
        for line in e.lines() {
            outln!("        {line}");
        }
    }
}

/// The report as JUnit XML: one testsuite per environment, one testcase per workflow and level.
pub fn junit(report: &TestReport) -> String {
    let mut cases = String::new();
    let (mut tests, mut failures, mut skipped) = (0, 0, 0);
    for w in &report.workflows {
        for s in &w.stages {
            tests += 1;
            cases.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                xml(&format!("{}.{}", report.environment, w.name)),
                s.level.as_str(),
                s.duration_ms as f64 / 1000.0
            ));
            match s.status {
                Status::Passed => cases.push_str("/>\n"),
                Status::Skipped => {
                    skipped += 1;
                    cases.push_str(&format!(
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                        xml(s.reason.as_deref().unwrap_or("skipped"))
                    ));
                }
                Status::Failed => {
                    failures += 1;
                    cases.push_str(">\n");
                    for f in &s.failures {
                        let mut body = f.message.clone();
                        for extra in [&f.details, &f.import_error].into_iter().flatten() {
                            body.push('\n');
                            body.push_str(extra);
                        }
                        cases.push_str(&format!(
                            "      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
                            xml(&f.kind),
                            xml(&f.message),
                            xml(&body)
                        ));
                    }
                    cases.push_str("    </testcase>\n");
                }
            }
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"comfydock test\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{:.3}\">\n  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{:.3}\">\n{cases}  </testsuite>\n</testsuites>\n",
        report.duration_ms as f64 / 1000.0,
        xml(&report.environment),
        report.duration_ms as f64 / 1000.0,
    )
}

/// Text as XML attribute or element content: escaped, and characters XML 1.0 cannot hold dropped.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `apply --test`, `rollback --test`: the suite after a switch; when a workflow fails, the
/// generation before is restored (as a new generation, like any rollback) and the exit is 1.
pub(super) fn after_switch(
    p: Printer,
    ws: &Workspace,
    session: &mut crate::reconcile::Session<'_>,
) -> Result<ExitStatus> {
    let env: EnvPaths = session.env.clone();
    let input = TestInput {
        names: Vec::new(),
        level: None,
        timeout: Duration::from_secs(600),
        start: StartOptions {
            gpu: false,
            start_timeout: Duration::from_secs(300),
        },
        keep_prompts: None,
    };
    errln!(p, "\nTesting the tracked workflows:");
    let failed = match test_suite::run(ws, &env, &input, &super::ui::StderrReporter(p)) {
        Ok(report) => {
            render(&report);
            if report.passed {
                return Ok(ExitStatus::Success);
            }
            format!("tests failed: {}", report.failed().join(", "))
        }
        Err(e @ TestError::Start { .. }) => {
            let text = e.to_string();
            let _ = not_started(p, e);
            text
        }
        Err(e) => return Err(e.into()),
    };
    let (target, new) = crate::ops::rollback::roll_back(session, None, &format!("({failed})"), &mut |_, _| true)?;
    match new {
        Some(new) => outln!(
            "\n{failed}; switched back to generation {} (recorded as generation {}). The environment is as it was before.",
            target.number,
            new.number
        ),
        None => outln!(
            "\n{failed}; generation {} was already in place. The environment is as it was before.",
            target.number
        ),
    }
    Ok(ExitStatus::Failure)
}
