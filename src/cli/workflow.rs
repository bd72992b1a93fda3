//! `comfydock workflow analyze` (and `comfydock analyze`): what workflow files need. Works with
//! no workspace, no environment and no network; with a workspace, models are also looked up in
//! its model index.

use super::args::AnalyzeArgs;
use super::{ExitStatus, Globals};
use crate::ops::workflow_needs::{env_builtins, env_providers, model_index, node_index};
use crate::workflow::resolve::{self, ModelLookup, ModelRule, NoModels, NoProviders, NodeRule, Resolution};
use crate::workflow::{Analysis, Builtins, Format, WorkflowError};
use crate::workspace::Workspace;
use serde::Serialize;
use std::path::Path;

#[derive(Serialize)]
struct Report<'a> {
    format_version: &'static str,
    builtins: &'a str,
    files: Vec<FileReport>,
}

#[derive(Serialize)]
struct FileReport {
    file: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    analysis: Option<Analysis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolution: Option<Resolution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorReport>,
}

#[derive(Serialize)]
struct ErrorReport {
    code: String,
    message: String,
    help: Option<String>,
}

pub fn analyze(g: &Globals, a: &AnalyzeArgs) -> miette::Result<ExitStatus> {
    let ws = Workspace::open(&Workspace::locate(g.workspace.as_deref())).ok();
    // With an environment, its ComfyUI's builtins and declared packs answer first (what really runs there).
    let env = ws.as_ref().and_then(|ws| ws.select_env(g.env.as_deref()).ok());
    let env_builtins = ws
        .as_ref()
        .zip(env.as_ref())
        .and_then(|(ws, env)| env_builtins(ws, env));
    let builtins = env_builtins.as_ref().unwrap_or(Builtins::shipped());
    let index = ws.as_ref().and_then(model_index);
    let nodes = ws.as_ref().and_then(node_index);
    let manifest = env
        .as_ref()
        .and_then(|env| crate::manifest::Manifest::load(&env.pyproject()).ok());
    let local = match (&ws, &env, &manifest) {
        (Some(ws), Some(env), Some(manifest)) => Some(env_providers(ws, env, manifest, nodes.as_ref())),
        _ => None,
    };
    let mut files = Vec::new();
    let mut failed = false;
    for path in &a.files {
        let file = path.display().to_string();
        let result = read(path, &file).and_then(|bytes| crate::workflow::analyze(&bytes, &file, builtins));
        match result {
            Ok(analysis) => {
                let resolution = ws.as_ref().map(|_| {
                    let models: &dyn ModelLookup = match &index {
                        Some(i) => i,
                        None => &NoModels,
                    };
                    let providers: &dyn resolve::NodeProviders = match (&local, &nodes) {
                        (Some(l), _) => l,
                        (None, Some(i)) => i,
                        (None, None) => &NoProviders,
                    };
                    resolve::resolve(&analysis, providers, models)
                });
                files.push(FileReport {
                    file,
                    ok: true,
                    analysis: Some(analysis),
                    resolution,
                    error: None,
                });
            }
            Err(e) => {
                failed = true;
                // On stderr in both modes: stdout stays data under --json.
                errln!(g.printer, "{:?}", miette::Report::new(e.clone()));
                files.push(FileReport {
                    file,
                    ok: false,
                    analysis: None,
                    resolution: None,
                    error: Some(error_report(&e)),
                });
            }
        }
    }
    // Custom node types left unresolved because nothing was ever loaded into the node index.
    let index_empty = ws.is_some() && nodes.as_ref().is_none_or(|i| i.info().ok().flatten().is_none());
    if index_empty
        && files
            .iter()
            .any(|f| f.resolution.as_ref().is_some_and(|r| r.unresolved_nodes() > 0))
    {
        errln!(g.printer, "{}", super::registry::EMPTY_INDEX_HINT);
    }
    if a.json {
        let report = Report {
            format_version: "1",
            builtins: &builtins.source,
            files,
        };
        outln!("{}", serde_json::to_string_pretty(&report).expect("serializable"));
    } else {
        let ok: Vec<&FileReport> = files.iter().filter(|f| f.ok).collect();
        for (i, f) in ok.iter().enumerate() {
            if i > 0 {
                outln!();
            }
            if let Some(analysis) = &f.analysis {
                print_human(&f.file, analysis, f.resolution.as_ref(), builtins);
            }
        }
    }
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn read(path: &Path, file: &str) -> Result<Vec<u8>, WorkflowError> {
    crate::workflow::read_file(path).map_err(|e| WorkflowError::Unreadable {
        file: file.to_string(),
        reason: e.to_string(),
    })
}

fn error_report(e: &WorkflowError) -> ErrorReport {
    use miette::Diagnostic;
    ErrorReport {
        code: e.code().map(|c| c.to_string()).unwrap_or_default(),
        message: e.to_string(),
        help: e.help().map(|h| h.to_string()),
    }
}

fn print_human(file: &str, a: &Analysis, r: Option<&Resolution>, builtins: &Builtins) {
    let format = match a.format {
        Format::Ui => match a.schema_version {
            Some(v) => format!("UI workflow, schema {v}"),
            None => "UI workflow".to_string(),
        },
        Format::Api => "API workflow".to_string(),
    };
    let from = match &a.embedded_key {
        Some(k) => format!(", embedded in {} `{k}`", a.container.name()),
        None => String::new(),
    };
    outln!("{file}  ({format}{from})");
    let custom: Vec<&crate::workflow::NodeType> = a.node_types.iter().filter(|n| !n.builtin).collect();
    outln!(
        "  node types: {} ({} builtin, {} custom; builtins from the {})",
        a.node_types.len(),
        a.node_types.len() - custom.len(),
        custom.len(),
        builtins.source
    );
    for n in &custom {
        let hints: Vec<String> = n
            .packs
            .iter()
            .map(|p| {
                let id = p.cnr_id.as_deref().or(p.aux_id.as_deref()).unwrap_or("?");
                match &p.ver {
                    Some(v) => format!("{id}@{}", short(v)),
                    None => id.to_string(),
                }
            })
            .collect();
        let hint = if hints.is_empty() {
            String::new()
        } else {
            format!("  [{}]", hints.join(", "))
        };
        outln!("    custom  {}{hint}", n.name);
    }
    if !a.group_node_types.is_empty() {
        outln!("  group nodes: {}", a.group_node_types.join(", "));
    }
    if !a.subgraph_ids.is_empty() {
        outln!("  subgraphs: {}", a.subgraph_ids.join(", "));
    }
    if a.models.is_empty() {
        outln!("  models: none found");
    } else {
        outln!("  models: {}", a.models.len());
        for m in &a.models {
            outln!("    {:<18} {}  ({}.{})", m.category, m.path, m.node_type, m.input);
        }
    }
    if !a.embedded_models.is_empty() {
        outln!("  download hints embedded in the file: {}", a.embedded_models.len());
        for e in &a.embedded_models {
            outln!("    {}  {}", e.name, e.url.as_deref().unwrap_or("(no url)"));
        }
    }
    if !a.embeddings.is_empty() {
        let names: Vec<&str> = a.embeddings.iter().map(|e| e.name.as_str()).collect();
        outln!("  embeddings in prompts: {}", names.join(", "));
    }
    if !a.unmapped_model_like_values.is_empty() {
        outln!("  model-like values no loader table explains:");
        for u in &a.unmapped_model_like_values {
            outln!("    {}  ({})", u.value, u.node_type);
        }
    }
    if !a.notes.is_empty() {
        outln!("  notes:");
        for n in &a.notes {
            outln!("    - {}", n.message);
        }
    }
    if let Some(r) = r {
        outln!(
            "  in this workspace: {} of {} node types resolved, {} of {} models found",
            r.nodes.len() - r.unresolved_nodes(),
            r.nodes.len(),
            r.models.iter().filter(|m| m.found.is_some()).count(),
            r.models.len()
        );
        for n in r.nodes.iter().filter(|n| n.rule != NodeRule::Builtin) {
            let pack = n.pack.as_deref().unwrap_or("-");
            outln!("    node  {:<32} {:<11} {pack}", n.node_type, rule_name(&n.rule));
        }
        for m in &r.models {
            let target = m
                .found
                .as_ref()
                .map(|f| f.path.clone())
                .or(m.url.clone())
                .unwrap_or_else(|| "-".to_string());
            outln!("    model {:<32} {:<13} {target}", m.path, model_rule_name(&m.rule));
        }
    }
}

fn short(v: &str) -> &str {
    if v.len() == 40 && v.chars().all(|c| c.is_ascii_hexdigit()) {
        v.get(..8).unwrap_or(v)
    } else {
        v
    }
}

fn rule_name(r: &NodeRule) -> &'static str {
    match r {
        NodeRule::Builtin => "builtin",
        NodeRule::Installed => "installed",
        NodeRule::CnrId => "cnr_id",
        NodeRule::AuxId => "aux_id",
        NodeRule::Provider => "provider",
        NodeRule::Unresolved => "unresolved",
    }
}

fn model_rule_name(r: &ModelRule) -> &'static str {
    match r {
        ModelRule::Hash => "hash",
        ModelRule::RelativePath => "path",
        ModelRule::FileName => "file name",
        ModelRule::DownloadHint => "download url",
        ModelRule::Unresolved => "not found",
    }
}
