//! `export` and `import`: moving an environment to another machine.

use super::environments::chosen_backend;
use super::{ExitStatus, Globals};
use crate::portability::{Allow, ExportOptions, ImportOptions, ModelPolicy, SourceKind};
use clap::Args;
use miette::Result;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The bundle to write (default: ENV.comfydock.tar.gz in the current folder); never overwritten
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the models list (hashes, sizes, sources) as FILE.models.json beside the bundle
    #[arg(long)]
    pub include_models_manifest: bool,
    /// Export despite dev nodes, models without a source, a stale lock or drift (recorded in bundle.json)
    #[arg(long, value_name = "KIND", value_delimiter = ',')]
    pub allow: Vec<Allow>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A bundle from `export`, a .cec folder, or a git URL or path of a repository holding a .cec
    #[arg(value_name = "SOURCE", required_unless_present = "manager_snapshot")]
    pub source: Option<String>,
    /// Instead of SOURCE: a ComfyUI-Manager snapshot (JSON or YAML); its packs, commits and pip packages are declared, locked and applied (no install script runs)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["source", "subdir", "update", "models"])]
    pub manager_snapshot: Option<PathBuf>,
    /// With --manager-snapshot: the ComfyUI repository the snapshot's commit is fetched from
    #[arg(long, value_name = "URL_OR_PATH", default_value = crate::workspace::DEFAULT_COMFYUI_REPO, requires = "manager_snapshot")]
    pub comfyui_repo: crate::types::RepoUrl,
    /// The new environment's name (default: the name it had where it comes from)
    #[arg(long, value_name = "NAME")]
    pub name: Option<crate::types::EnvName>,
    /// The folder of the repository or folder that holds the .cec (default: its root, else `.cec/`)
    #[arg(long, value_name = "DIR")]
    pub subdir: Option<String>,
    /// Make the new environment the active one
    #[arg(long = "use")]
    pub use_it: bool,
    /// The torch backend to sync, or auto (this machine's); one the lock covers
    #[arg(long, value_name = "BACKEND", value_parser = super::args::parse_torch_backend)]
    pub torch_backend: Option<String>,
    /// Models: download (a local file with the same content first, else from its source), link (local files only) or skip (placed later with `apply --place-models`)
    #[arg(long, value_name = "POLICY", value_parser = parse_models)]
    pub models: Option<ModelPolicy>,
    /// Resolve the manifest again instead of refusing a lock that does not match it
    #[arg(long)]
    pub update: bool,
}

fn parse_models(value: &str) -> Result<ModelPolicy, String> {
    match value {
        "download" => Ok(ModelPolicy::Download),
        "link" => Ok(ModelPolicy::Link),
        "skip" => Ok(ModelPolicy::Skip),
        _ => Err("download, link or skip".into()),
    }
}

pub fn export(g: &Globals, args: &ExportArgs) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.comfydock.tar.gz", env.name)));
    let session = g.reader(&ws, env);
    let exported = crate::portability::export(
        &session,
        &ExportOptions {
            out: out.clone(),
            allow: args.allow.iter().copied().collect(),
            include_models_manifest: args.include_models_manifest,
        },
    )?;
    for warning in &exported.manifest.warnings {
        errln!(g.printer, "warning: {warning}");
    }
    outln!(
        "Exported `{}` to {}: {} file(s), {} bytes of .cec, {} model(s) listed with their hashes and sources.",
        session.env.name,
        out.display(),
        exported.files,
        exported.bytes,
        exported.manifest.models.len()
    );
    if let Some(path) = &exported.models_manifest {
        outln!("Models list: {}", path.display());
    }
    outln!(
        "On the other machine: comfydock import {}",
        out.file_name().unwrap_or_default().to_string_lossy()
    );
    Ok(ExitStatus::Success)
}

pub fn import(g: &Globals, args: &ImportArgs) -> Result<ExitStatus> {
    let ws = g.workspace()?;
    if let Some(file) = &args.manager_snapshot {
        return import_snapshot(g, &ws, args, file);
    }
    let Some(source) = &args.source else {
        return Err(miette::miette!(
            code = "comfydock::import::no_source",
            help = "give a bundle, a .cec folder or a git repository, or --manager-snapshot FILE",
            "import needs a SOURCE"
        ));
    };
    let opts = ImportOptions {
        source: source.clone(),
        subdir: args.subdir.clone(),
        name: args.name.clone(),
        torch_backend: chosen_backend(g.printer, args.torch_backend.as_deref())?,
        models: args.models.unwrap_or_default(),
        update: args.update,
        offline: g.offline,
    };
    let imported = crate::portability::import(&ws, &opts, &g.reporter)?;
    for warning in &imported.warnings {
        errln!(g.printer, "warning (from the export): {warning}");
    }
    let name = imported.env.name.clone();
    let make_active = args.use_it || ws.config()?.active_environment.is_none();
    if make_active {
        ws.set_active(Some(&name))?;
    }
    let kind = match imported.kind {
        SourceKind::Bundle => "bundle",
        SourceKind::Folder => "folder",
        SourceKind::Git => "git repository",
    };
    outln!(
        "Imported `{name}` from {kind} {source}: {} .cec file(s), {} node(s), {} model(s){}.",
        imported.files,
        imported.nodes,
        imported.models,
        if make_active { " (active)" } else { "" }
    );
    outln!(
        "Verified {} item(s) against the lock; `plan --detailed-exitcode` would exit 0 (no changes).",
        imported.verified
    );
    if opts.models == ModelPolicy::Skip && imported.models > 0 {
        outln!(
            "Models were skipped: {} model(s) are left out of this machine's plans until `comfydock -e {name} apply --place-models`.",
            imported.models
        );
    }
    Ok(ExitStatus::Success)
}

fn import_snapshot(
    g: &Globals,
    ws: &crate::workspace::Workspace,
    args: &ImportArgs,
    file: &std::path::Path,
) -> Result<ExitStatus> {
    let opts = crate::portability::SnapshotImportOptions {
        file: file.to_path_buf(),
        name: args.name.clone(),
        comfyui_repo: args.comfyui_repo.clone(),
        torch_backend: chosen_backend(g.printer, args.torch_backend.as_deref())?,
        offline: g.offline,
    };
    let imported = crate::portability::import_manager_snapshot(ws, &opts, &g.reporter)?;
    let name = imported.env.name.clone();
    let make_active = args.use_it || ws.config()?.active_environment.is_none();
    if make_active {
        ws.set_active(Some(&name))?;
    }
    let s = &imported.snapshot;
    outln!(
        "Imported `{name}` from the Manager snapshot {}: {} registry pack(s), {} git pack(s), {} Python package(s){}.",
        file.display(),
        s.registry.len(),
        s.git.len(),
        s.pips.len(),
        if make_active { " (active)" } else { "" }
    );
    if !s.skipped.is_empty() {
        outln!("Not imported:");
        for line in &s.skipped {
            outln!("  {line}");
        }
    }
    Ok(ExitStatus::Success)
}
