//! Reading ComfyUI workflows: what a workflow needs (node types, pack hints, model files),
//! from the bytes of a JSON file (UI or API format) or of a PNG/WebP/FLAC/MP4 file that embeds
//! one. Pure: no I/O beyond the bytes given, no network, never a panic on any input.
//! See docs/workflows.md.

mod analysis;
mod api;
pub mod builtin_scan;
pub mod embedded;
mod error;
pub mod ignore;
pub mod prompt_check;
pub mod requires;
pub mod resolve;
pub mod semantic_diff;
mod shape;
mod tables;
pub mod to_prompt;
mod ui;

pub use analysis::{
    Analysis, EmbeddedModel, EmbeddingRef, Format, ModelRef, NodeType, Note, NoteKind, PackHint, Source, Unmapped,
    embeddings_in,
};
pub use embedded::Container;
pub use error::WorkflowError;
pub use tables::{Builtins, Table, is_model_like};

use analysis::Collector;
use serde_json::Value;

/// The largest workflow file (JSON or media) comfydock reads, tracked or given: far above a real
/// workflow (a 100 MB one is analysed). Read through [`crate::fsx::read_regular`], so a FIFO or
/// device in its place is refused, not waited on or read forever.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// Reads a workflow file: a regular file of at most [`MAX_FILE_BYTES`].
pub fn read_file(path: impl AsRef<std::path::Path>) -> std::io::Result<Vec<u8>> {
    crate::fsx::read_regular(path.as_ref(), MAX_FILE_BYTES)
}

/// Reads a tracked workflow in `.cec` (an untrusted tree): as [`read_file`], and never through a
/// symbolic link, which a pulled commit could point anywhere.
pub fn read_tracked(path: impl AsRef<std::path::Path>) -> std::io::Result<Vec<u8>> {
    crate::fsx::read_regular_nofollow(path.as_ref(), MAX_FILE_BYTES)
}

/// serde_json's own nesting limit; deeper input is refused with [`WorkflowError::TooDeep`].
const JSON_DEPTH_LIMIT: usize = 128;

/// Analyses the workflow in `bytes`. `file` names the input in diagnostics.
pub fn analyze(bytes: &[u8], file: &str, builtins: &Builtins) -> Result<Analysis, WorkflowError> {
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(WorkflowError::Empty { file: file.to_string() });
    }
    let container = Container::sniff(body);
    if container == Container::Json {
        return analyze_json(body, file, builtins, container).map_err(|e| match e {
            // Text that is not JSON is a JSON error; bytes that are not text are not JSON at all.
            WorkflowError::InvalidJson { .. } if looks_binary(body) => {
                WorkflowError::UnknownFormat { file: file.to_string() }
            }
            e => e,
        });
    }
    let entries = embedded::entries(container, body).map_err(|reason| WorkflowError::DamagedContainer {
        file: file.to_string(),
        container: container.name(),
        reason,
    })?;
    let rank = |key: &str| match key.to_ascii_lowercase().as_str() {
        "workflow" => 0,
        "prompt" => 1,
        _ => 2,
    };
    let mut candidates: Vec<&embedded::Entry> = entries
        .iter()
        .filter(|e| rank(&e.key) < 2 || e.text.trim_start().starts_with('{'))
        .collect();
    candidates.sort_by_key(|e| rank(&e.key));
    let mut first_error = None;
    for entry in candidates {
        let label = format!("{file} ({} `{}`)", container.name(), entry.key);
        match analyze_json(entry.text.as_bytes(), &label, builtins, container) {
            Ok(mut a) => {
                a.embedded_key = Some(entry.key.clone());
                return Ok(a);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(WorkflowError::NoEmbeddedWorkflow {
        file: file.to_string(),
        container: container.name(),
    }))
}

fn looks_binary(bytes: &[u8]) -> bool {
    let head = bytes.get(..bytes.len().min(4096)).unwrap_or(bytes);
    head.contains(&0)
        || match std::str::from_utf8(head) {
            Ok(_) => false,
            // A multi-byte character cut at the 4096 boundary is still text.
            Err(e) => e.valid_up_to() + 4 < head.len(),
        }
}

fn analyze_json(text: &[u8], file: &str, builtins: &Builtins, container: Container) -> Result<Analysis, WorkflowError> {
    let (value, non_finite) = parse(text, file)?;
    let (shape, wrappers) = shape::detect(&value).map_err(|found| WorkflowError::NotAWorkflow {
        file: file.to_string(),
        found,
    })?;
    let mut c = Collector::new(builtins);
    if !wrappers.is_empty() {
        c.note(
            NoteKind::Wrapper,
            format!(
                "the workflow was found under `{}` of a wrapper object",
                wrappers.join(".")
            ),
        );
    }
    if non_finite {
        c.note(
            NoteKind::NonFinite,
            "the file has NaN/Infinity numbers (Python's json writes them); read as null".to_string(),
        );
    }
    let (format, schema_version, root) = match shape {
        shape::Shape::Ui(root) => {
            let version = ui::walk(root, &mut c);
            (Format::Ui, version, Some(root))
        }
        shape::Shape::Api(prompt) => {
            api::walk(prompt, &mut c);
            (Format::Api, None, None)
        }
    };
    let node_versions = root
        .and_then(|r| r.get("extra"))
        .and_then(|e| e.get("node_versions"))
        .filter(|v| v.is_object())
        .cloned();
    if node_versions.is_some() {
        c.note(
            NoteKind::NodeVersions,
            "extra.node_versions present (Dec-2024 ComfyUI-Manager format: custom_nodes dir name -> version); entries may be stale".to_string(),
        );
    }
    let mut analysis = c.finish(format, schema_version, container);
    analysis.extra_node_versions = node_versions;
    Ok(analysis)
}

/// Parses JSON; Python's `NaN`/`Infinity` (which ComfyUI can write) are read as null.
fn parse(text: &[u8], file: &str) -> Result<(Value, bool), WorkflowError> {
    match serde_json::from_slice::<Value>(text) {
        Ok(v) => Ok((v, false)),
        Err(first) => {
            if let Some(clean) = replace_non_finite(text)
                && let Ok(v) = serde_json::from_slice::<Value>(&clean)
            {
                return Ok((v, true));
            }
            Err(json_error(first, file))
        }
    }
}

fn json_error(e: serde_json::Error, file: &str) -> WorkflowError {
    let reason = e.to_string();
    if reason.contains("recursion limit") {
        return WorkflowError::TooDeep {
            file: file.to_string(),
            limit: JSON_DEPTH_LIMIT,
        };
    }
    let help = if e.is_eof() {
        "the file ends in the middle of the JSON: it is probably truncated; download or export it again"
    } else {
        "export the workflow again from ComfyUI; if you edited it by hand, fix the JSON at that position"
    };
    let reason = reason.split(" at line ").next().unwrap_or(&reason).to_string();
    WorkflowError::InvalidJson {
        file: file.to_string(),
        reason,
        line: e.line(),
        column: e.column(),
        help: help.to_string(),
    }
}

/// `text` with bare `NaN`, `Infinity` and `-Infinity` (outside strings) replaced by `null`,
/// or `None` when there are none.
fn replace_non_finite(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let (mut in_string, mut escaped, mut changed) = (false, false, false);
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        if in_string {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        let rest = text.get(i..).unwrap_or_default();
        let token = [&b"-Infinity"[..], &b"Infinity"[..], &b"NaN"[..]]
            .into_iter()
            .find(|t| rest.starts_with(t));
        if let Some(t) = token {
            out.extend_from_slice(b"null");
            i += t.len();
            changed = true;
            continue;
        }
        if b == b'"' {
            in_string = true;
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<Analysis, WorkflowError> {
        analyze(text.as_bytes(), "t.json", Builtins::shipped())
    }

    #[test]
    fn garbage_gets_diagnostics() {
        assert!(matches!(run(""), Err(WorkflowError::Empty { .. })));
        assert!(matches!(run("{\"nodes\": [1,"), Err(WorkflowError::InvalidJson { .. })));
        assert!(matches!(run("[1,2]"), Err(WorkflowError::NotAWorkflow { .. })));
        let deep = "[".repeat(100_000);
        assert!(matches!(run(&deep), Err(WorkflowError::TooDeep { .. })));
        let bin = analyze(&[0u8, 159, 146, 150, 1, 2, 3], "b.bin", Builtins::shipped());
        assert!(matches!(bin, Err(WorkflowError::UnknownFormat { .. })));
        let png = analyze(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", "x.png", Builtins::shipped());
        assert!(matches!(png, Err(WorkflowError::DamagedContainer { .. })), "{png:?}");
    }

    #[test]
    fn nan_is_read_as_null() {
        let a = run(r#"{"nodes":[{"id":1,"type":"KSampler","widgets_values":[NaN,"NaN",-Infinity]}]}"#).unwrap();
        assert_eq!(a.node_type_names(), ["KSampler"]);
        assert!(a.notes.iter().any(|n| n.kind == NoteKind::NonFinite));
    }

    #[test]
    fn api_loaders_by_name() {
        let a = run(
            r#"{"1":{"class_type":"CheckpointLoaderSimple","inputs":{"ckpt_name":"sd\\v1.safetensors"}},
                        "2":{"class_type":"CLIPTextEncode","inputs":{"text":"embedding:bad, x","clip":["1",1]}},
                        "3":{"class_type":"Mystery","inputs":{"file":"odd.pth"}}}"#,
        )
        .unwrap();
        assert_eq!(a.format, Format::Api);
        assert_eq!(a.models.len(), 1);
        assert_eq!(a.models[0].path, "sd/v1.safetensors");
        assert_eq!(a.models[0].sources, [Source::ApiInput]);
        assert_eq!(a.embeddings[0].name, "bad");
        assert_eq!(a.unmapped_model_like_values[0].value, "odd.pth");
        assert_eq!(a.custom_node_types(), ["Mystery"]);
    }
}
