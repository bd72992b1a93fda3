//! `model dirs|scan|list|find|show|export-paths`.

use super::args::{ModelCommand, ModelDirsCommand};
use super::printer::Printer;
use super::{ExitStatus, Globals};
use crate::models::{self, Model, ModelDirs, ModelIndex, ScanReport, dirs, find};
use crate::workspace::Workspace;
use indicatif::HumanBytes;
use miette::Result;
use std::path::PathBuf;

pub fn run(g: &Globals, cmd: &ModelCommand) -> Result<ExitStatus> {
    let ws = g.workspace()?;
    match cmd {
        ModelCommand::Dirs(d) => dirs_cmd(g.printer, &ws, d),
        ModelCommand::Scan { dirs, sha256, json } => scan(g.printer, &ws, dirs, *sha256, *json),
        ModelCommand::Add {
            target,
            category,
            name,
            sources,
            no_apply,
        } => super::env_models::add(g, target, category.as_deref(), name.as_deref(), sources, *no_apply),
        ModelCommand::Remove { key, no_apply } => super::env_models::remove(g, key, *no_apply),
        ModelCommand::List { json } if super::env_models::in_environment(g, &ws) => super::env_models::list(g, *json),
        ModelCommand::List { json } => {
            let index = open_index(&ws)?;
            print_models(
                g.printer,
                &index.all().map_err(miette::Report::from)?,
                *json,
                "No models indexed yet. Run `comfydock model scan`.",
            )
        }
        ModelCommand::Find { query, json } => {
            let index = open_index(&ws)?;
            let found = find::find(&index, query)?;
            print_models(g.printer, &found, *json, &format!("No model matches `{query}`."))
        }
        ModelCommand::Show { target, json } => {
            let index = open_index(&ws)?;
            let model = find::resolve_one(&index, target)?;
            if *json {
                print_json(serde_json::json!({ "format_version": "1", "model": model }));
            } else {
                show(&model);
            }
            Ok(ExitStatus::Success)
        }
        ModelCommand::ExportPaths { force } => {
            let env = ws.select_env(g.env.as_deref())?;
            let done = crate::ops::models::export_paths(&ws, &env.comfyui, &env.state, *force)?;
            if let Some(b) = done.backup {
                errln!(g.printer, "Kept your previous file at {}", b.display());
            }
            errln!(
                g.printer,
                "Wrote {} ({} model folder{})",
                done.path.display(),
                done.folders,
                plural(done.folders)
            );
            Ok(ExitStatus::Success)
        }
    }
}

fn open_index(ws: &Workspace) -> Result<ModelIndex> {
    Ok(ModelIndex::open(&models::index_path(ws))?)
}

fn dirs_cmd(p: Printer, ws: &Workspace, cmd: &ModelDirsCommand) -> Result<ExitStatus> {
    match cmd {
        ModelDirsCommand::Add { dir } => {
            let (path, added) = dirs::add(ws, dir)?;
            if added {
                errln!(
                    p,
                    "Added model folder {}; `comfydock model scan` indexes it",
                    path.display()
                );
            } else {
                errln!(p, "{} is already a model folder", path.display());
            }
        }
        ModelDirsCommand::Remove { dir } => {
            let index_path = models::index_path(ws);
            let _lock = models::scan::lock_index(&index_path)?;
            let mut index = ModelIndex::open(&index_path)?;
            let (path, forgotten) = dirs::remove(ws, &mut index, dir)?;
            errln!(
                p,
                "Removed model folder {} (its files are untouched; the index forgot {forgotten} model{} found nowhere else)",
                path.display(),
                plural(forgotten)
            );
        }
        ModelDirsCommand::List { json } => {
            let d = ModelDirs::of(ws)?;
            if *json {
                let list: Vec<_> = d
                    .all()
                    .iter()
                    .map(|p| serde_json::json!({ "path": p, "builtin": *p == d.builtin, "exists": p.is_dir() }))
                    .collect();
                print_json(serde_json::json!({ "format_version": "1", "model_dirs": list }));
            } else {
                for p in d.all() {
                    let mut line = p.display().to_string();
                    if p == d.builtin {
                        line.push_str("  (workspace)");
                    }
                    if !p.is_dir() {
                        line.push_str("  (not found)");
                    }
                    outln!("{line}");
                }
            }
        }
    }
    Ok(ExitStatus::Success)
}

fn scan(p: Printer, ws: &Workspace, dirs: &[PathBuf], sha256: bool, json: bool) -> Result<ExitStatus> {
    let report = crate::ops::models::scan(ws, dirs, sha256, &super::ui::StderrReporter(p))?;
    if json {
        let mut doc = serde_json::to_value(&report).expect("serializable");
        doc["format_version"] = "1".into();
        print_json(doc);
    } else {
        print_scan(&report);
    }
    Ok(ExitStatus::Success)
}

fn print_scan(r: &ScanReport) {
    let secs = r.elapsed_ms as f64 / 1000.0;
    let mut line = format!(
        "Scanned {} model file{} in {secs:.2} s",
        r.files_seen,
        plural(r.files_seen as usize)
    );
    if r.files_hashed > 0 {
        let rate = if secs > 0.0 {
            (r.bytes_hashed as f64 / secs) as u64
        } else {
            0
        };
        line.push_str(&format!(
            "; hashed {} ({}, {}/s)",
            r.files_hashed,
            HumanBytes(r.bytes_hashed),
            HumanBytes(rate)
        ));
    }
    outln!("{line}");
    outln!(
        "  {} new, {} moved, {} unchanged, {} changed, {} duplicate{}, {} missing{}",
        r.new,
        r.moved,
        r.unchanged,
        r.changed,
        r.duplicates,
        plural(r.duplicates as usize),
        r.missing,
        if r.skipped > 0 {
            format!(", {} skipped", r.skipped)
        } else {
            String::new()
        }
    );
}

fn print_models(p: Printer, list: &[Model], json: bool, empty: &str) -> Result<ExitStatus> {
    if json {
        print_json(serde_json::json!({ "format_version": "1", "models": list }));
        return Ok(ExitStatus::Success);
    }
    if list.is_empty() {
        errln!(p, "{empty}");
        return Ok(ExitStatus::Success);
    }
    let name_w = list.iter().map(|m| m.name.len()).max().unwrap_or(4).clamp(4, 48);
    let cat_w = list
        .iter()
        .map(|m| m.category.as_deref().unwrap_or("-").len())
        .max()
        .unwrap_or(8)
        .max(8);
    outln!(
        "{:name_w$}  {:cat_w$}  {:>10}  {:16}  PATH",
        "NAME",
        "CATEGORY",
        "SIZE",
        "BLAKE3"
    );
    for m in list {
        let b3 = m.hashes.get("blake3").map(|h| &h[..16.min(h.len())]).unwrap_or("-");
        let path = m.local_path.as_deref().unwrap_or("-");
        let status = if m.missing { "  (missing)" } else { "" };
        outln!(
            "{:name_w$}  {:cat_w$}  {:>10}  {b3:16}  {path}{status}",
            m.name,
            m.category.as_deref().unwrap_or("-"),
            HumanBytes(m.size).to_string(),
        );
    }
    Ok(ExitStatus::Success)
}

fn show(m: &Model) {
    outln!("{}", m.name);
    outln!(
        "  category:  {}",
        m.category.as_deref().unwrap_or("- (not in a category folder)")
    );
    outln!("  size:      {} ({} bytes)", HumanBytes(m.size), m.size);
    for t in find::HASH_TYPES {
        match m.hashes.get(*t) {
            Some(h) => outln!("  {:10} {t}:{h}", format!("{t}:")),
            None => outln!("  {:10} not computed (`comfydock model scan --{t}`)", format!("{t}:")),
        }
    }
    if m.missing {
        outln!(
            "  status:    missing (last seen {} at {})",
            utc(m.last_seen),
            m.local_path.as_deref().unwrap_or("?")
        );
    } else {
        outln!("  status:    present (last seen {})", utc(m.last_seen));
    }
    for (i, p) in m.locations.iter().enumerate() {
        outln!("  {}{p}", if i == 0 { "files:     " } else { "           " });
    }
    if m.original_name != m.name {
        outln!("  first indexed as: {}", m.original_name);
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` from Unix seconds.
fn utc(secs: i64) -> String {
    crate::clock::human(secs.max(0) as u64)
}

fn print_json(v: serde_json::Value) {
    outln!("{}", serde_json::to_string_pretty(&v).expect("serializable"));
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
