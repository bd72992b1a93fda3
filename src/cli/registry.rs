//! `registry serve`, `registry snapshot` and `node find`.

use super::args::{
    CacheBuildArgs, FindArgs, MappingsAugmentArgs, MappingsBuildArgs, MappingsCommand, RegistryCacheCommand,
    RegistryCommand, ServeArgs, SnapshotArgs, StatusArgs, UpdateArgs, ValidateArgs,
};
use super::printer::Printer;
use super::{ExitStatus, Globals};
use crate::registry::RegistryClient;
use crate::registry::server::{ServeOptions, serve_blocking};
use crate::registry::snapshot::{SnapshotRequest, build_snapshot};
use crate::workspace::Workspace;
use miette::Result;
use std::io::Write;
use std::sync::Arc;

pub fn registry(g: &Globals, cmd: &RegistryCommand) -> Result<ExitStatus> {
    match cmd {
        RegistryCommand::Serve(a) => serve(g.printer, a),
        RegistryCommand::Snapshot(a) => snapshot(g, a),
        RegistryCommand::Cache(RegistryCacheCommand::Build(a)) => cache_build(g, a),
        RegistryCommand::Mappings(MappingsCommand::Build(a)) => mappings_build(g.printer, a),
        RegistryCommand::Mappings(MappingsCommand::Augment(a)) => mappings_augment(g.printer, a),
        RegistryCommand::Validate(a) => validate(g.printer, a),
        RegistryCommand::Update(a) => update(g, a),
        RegistryCommand::Status(a) => status(g, a),
    }
}

/// A client for the workspace's registry (`ops::registry::client`), reporting on stderr.
fn client(g: &Globals, cached: bool) -> Result<RegistryClient> {
    let ws = Workspace::open(&Workspace::locate(g.workspace.as_deref())).ok();
    crate::ops::registry::client(ws.as_ref(), g.offline, cached, Arc::new(g.reporter))
}

fn serve(p: Printer, a: &ServeArgs) -> Result<ExitStatus> {
    let options = ServeOptions {
        snapshot: a.snapshot.clone(),
        addr: a.addr,
        base_url: a.base_url.clone(),
        idle_timeout: std::time::Duration::from_secs(a.idle_timeout),
    };
    serve_blocking(&options, |url, packs| {
        // The URL first and alone on stdout: scripts and tests read it from there.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{url}");
        let _ = out.flush();
        errln!(
            p,
            "Serving {packs} node pack{} from {} at {url} (Ctrl-C stops)",
            if packs == 1 { "" } else { "s" },
            a.snapshot.display()
        );
    })?;
    Ok(ExitStatus::Success)
}

fn snapshot(g: &Globals, a: &SnapshotArgs) -> Result<ExitStatus> {
    // A snapshot is taken fresh from the registry, never from cached answers.
    let client = client(g, false)?;
    let nodes = a.nodes.as_deref().map(crate::ops::registry::pack_list);
    let request = SnapshotRequest {
        nodes,
        all_versions: a.all_versions,
    };
    let s = build_snapshot(&client, &a.out, &request)?;
    errln!(
        g.printer,
        "Snapshot at {}: {} pack{}, {} version{}; {} archive{} downloaded ({}), {} already present",
        a.out.display(),
        s.packs,
        if s.packs == 1 { "" } else { "s" },
        s.versions,
        if s.versions == 1 { "" } else { "s" },
        s.archives_downloaded,
        if s.archives_downloaded == 1 { "" } else { "s" },
        crate::plan::human_size(s.bytes_downloaded),
        s.archives_reused
    );
    errln!(
        g.printer,
        "Serve it with: comfydock registry serve --snapshot {}",
        a.out.display()
    );
    Ok(ExitStatus::Success)
}

fn cache_build(g: &Globals, a: &CacheBuildArgs) -> Result<ExitStatus> {
    use crate::registry::cache_build::{CacheBuildOptions, build_cache};
    // Like a snapshot, the cache is built from fresh answers, never from the answer cache.
    let client = client(g, false)?;
    let options = CacheBuildOptions {
        input: a.input.clone(),
        nodes: !a.no_nodes,
        versions: !a.no_versions,
        metadata: !a.no_metadata,
        max_versions: a.max_versions,
        concurrency: usize::try_from(a.concurrency).unwrap_or(1),
        checkpoint_interval: usize::try_from(a.checkpoint_interval).unwrap_or(usize::MAX),
        pages: a.pages,
        archives: a.archives,
        history: a.history.clone(),
        ..CacheBuildOptions::new(a.out.clone())
    };
    let s = build_cache(&client, &options)?;
    if a.json {
        super::print_report(&s);
    }
    let c = &s.counts;
    errln!(
        g.printer,
        "Cache at {}: {} packs ({} new, {} vanished), {} versions ({} new), {} node classes; {} packs refreshed, {} version(s) with node classes fetched, {} without metadata; {} requests in {:.1}s",
        a.out.display(),
        c.packs,
        s.new_packs,
        c.vanished_packs,
        c.versions,
        s.new_versions,
        c.comfy_nodes,
        s.packs_refreshed,
        s.metadata_fetched,
        s.metadata_missing,
        s.requests,
        s.duration_secs
    );
    if s.failures.is_empty() {
        return Ok(ExitStatus::Success);
    }
    for f in &s.failures {
        errln!(g.printer, "error: {} ({}): {}", f.pack, f.phase, f.error);
    }
    errln!(
        g.printer,
        "{} pack(s) could not be fetched; the cache keeps their previous data and the next build retries them.",
        s.failures.len()
    );
    Ok(ExitStatus::Failure)
}

fn mappings_build(p: Printer, a: &MappingsBuildArgs) -> Result<ExitStatus> {
    let stats = crate::ops::registry_data::build(
        &a.cache,
        a.input.as_deref(),
        a.max_versions,
        &a.out,
        a.schema.as_deref(),
    )?;
    errln!(
        p,
        "Mappings at {}: {} packages, {} keys, {} node classes read",
        a.out.display(),
        stats.packages,
        stats.signatures,
        stats.total_nodes
    );
    Ok(ExitStatus::Success)
}

fn mappings_augment(p: Printer, a: &MappingsAugmentArgs) -> Result<ExitStatus> {
    use crate::ops::registry_data::{AugmentInput, augment};
    let done = augment(&AugmentInput {
        mappings: a.mappings.as_deref(),
        manager: &a.manager,
        stats: a.stats.as_deref(),
        list: a.list.as_deref(),
        out: a.out.as_deref(),
        schema: a.schema.as_deref(),
    })?;
    let s = &done.summary;
    for (pack, pattern) in &s.bad_patterns {
        errln!(
            p,
            "warning: {pack}: nodename_pattern {pattern:?} is not a valid regular expression; ignored"
        );
    }
    errln!(
        p,
        "Mappings at {}: {} Manager repositories matched registry packs, {} synthetic packs, {} name-only entries added, {} built-in node types, {} repositories on unsupported hosts skipped",
        done.out.display(),
        s.matched_registry,
        s.synthetic_packages,
        s.entries_added,
        done.builtin,
        s.skipped_hosts
    );
    Ok(ExitStatus::Success)
}

fn validate(p: Printer, a: &ValidateArgs) -> Result<ExitStatus> {
    let report = crate::registry::mappings::validate::validate(&a.cache, a.mappings.as_deref());
    if a.json {
        super::print_report(&report);
    }
    for w in &report.warnings {
        errln!(p, "warning: {w}");
    }
    for problem in &report.problems {
        errln!(p, "error: {problem}");
    }
    if report.ok() {
        errln!(p, "Valid: {} packs, {} mapping keys.", report.packs, report.keys);
        Ok(ExitStatus::Success)
    } else {
        errln!(p, "{} problem(s) found.", report.problems.len());
        Ok(ExitStatus::Failure)
    }
}

fn update(g: &Globals, a: &UpdateArgs) -> Result<ExitStatus> {
    let ws = Workspace::open(&Workspace::locate(g.workspace.as_deref()))?;
    let info = crate::ops::registry::update_index(&ws, a.from.as_deref(), &g.reporter)?;
    errln!(
        g.printer,
        "Node index updated from {}: {} packages, {} keys, {} built-in node types (data of {})",
        info.source,
        info.packages,
        info.keys,
        info.builtin,
        info.generated_at
    );
    Ok(ExitStatus::Success)
}

/// The hint printed where an empty node index leaves node types unresolved.
pub(super) const EMPTY_INDEX_HINT: &str = "The node index is empty: run `comfydock registry update` to fill it (from ComfyUI-Manager's public data unless `mappings_url` is set).";

/// Before `workflow resolve`: an index older than `mappings_max_age_days` is refreshed from
/// its configured source, unless `--offline`. A failed refresh keeps the old index and says so;
/// an empty index only gets the hint (filling it is `registry update`'s decision).
pub(super) fn refresh_if_stale(g: &Globals) {
    use crate::ops::registry::{IndexAge, index_age, update_index};
    let Ok(ws) = Workspace::open(&Workspace::locate(g.workspace.as_deref())) else {
        return;
    };
    let Ok(age) = index_age(&ws) else { return };
    let (when, max) = match age {
        IndexAge::Fresh => return,
        IndexAge::Empty => {
            errln!(g.printer, "{EMPTY_INDEX_HINT}");
            return;
        }
        IndexAge::Stale { when, max } => (when, max),
    };
    if g.offline {
        errln!(
            g.printer,
            "note: the node index was updated {when} (older than {max} days); not refreshed under --offline."
        );
        return;
    }
    errln!(
        g.printer,
        "The node index was updated {when} (older than {max} days); refreshing it."
    );
    match update_index(&ws, None, &g.reporter) {
        Ok(i) => errln!(
            g.printer,
            "Node index refreshed from {}: {} packages, {} keys.",
            i.source,
            i.packages,
            i.keys
        ),
        Err(e) => {
            errln!(
                g.printer,
                "warning: the node index could not be refreshed, so the one from {when} is used: {e}"
            );
        }
    }
}

fn status(g: &Globals, a: &StatusArgs) -> Result<ExitStatus> {
    use crate::registry::mappings_update::human_age;
    let ws = Workspace::open(&Workspace::locate(g.workspace.as_deref()))?;
    let status = crate::ops::registry::index_status(&ws)?;
    if a.json {
        super::print_report_sorted(&status);
        return Ok(ExitStatus::Success);
    }
    let max = status.max_age_days;
    match &status.data {
        None => errln!(g.printer, "{EMPTY_INDEX_HINT}"),
        Some(i) => {
            let age = match status.age_days {
                Some(d) if d >= max as f64 => format!(
                    " ({}, older than {max} days: `workflow resolve` refreshes it)",
                    human_age(d)
                ),
                Some(d) => format!(" ({})", human_age(d)),
                None => String::new(),
            };
            outln!("source        {}", i.source);
            outln!("kind          {}", i.kind);
            outln!("sha256        {}", i.sha256);
            outln!("updated       {}{age}", i.installed_at);
            outln!("generated     {}", i.generated_at);
            outln!("packages      {}", i.packages);
            outln!("keys          {}", i.keys);
            outln!("builtin       {}", i.builtin);
            outln!("in envs       {} node types of installed packs", i.installed_nodes);
        }
    }
    Ok(ExitStatus::Success)
}

/// `node find --provides`: the node index only, no network.
fn find_provides(g: &Globals, node_type: &str, a: &FindArgs) -> Result<ExitStatus> {
    let ws = Workspace::open(&Workspace::locate(g.workspace.as_deref()))?;
    let report = crate::ops::registry::providers(&ws, node_type, a.signature.as_deref(), a.limit)?;
    if a.json {
        super::print_report_sorted(&report);
        return Ok(ExitStatus::Success);
    }
    if report.builtin {
        errln!(g.printer, "{node_type} is one of ComfyUI's own node types.");
    }
    if report.providers.is_empty() {
        if !report.builtin {
            errln!(g.printer, "No known pack provides {node_type}.");
            if report.index_empty {
                errln!(g.printer, "{EMPTY_INDEX_HINT}");
            }
        }
        return Ok(ExitStatus::Success);
    }
    let rows: Vec<[String; 4]> = report
        .providers
        .iter()
        .map(|c| {
            let how = match c.environment.as_deref() {
                Some(env) => format!("installed in {env}"),
                None => format!("{:?} #{}", c.matched, c.rank).to_lowercase(),
            };
            [
                c.pack_id.clone(),
                c.versions.first().cloned().unwrap_or_else(|| "-".into()),
                serde_json::to_value(c.origin)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                how,
            ]
        })
        .collect();
    print_table(["PACK", "VERSION", "SOURCE", "MATCH"], &rows, false);
    Ok(ExitStatus::Success)
}

pub fn find(g: &Globals, a: &FindArgs) -> Result<ExitStatus> {
    if let Some(node_type) = &a.provides {
        return find_provides(g, node_type, a);
    }
    let client = client(g, true)?;
    let query = a.query.join(" ");
    let report = crate::ops::registry::search(&client, &query, a.limit)?;
    if a.json {
        super::print_report_sorted(&report);
        return Ok(ExitStatus::Success);
    }
    if report.nodes.is_empty() {
        errln!(g.printer, "No node packs match `{query}` in {}.", report.registry);
        return Ok(ExitStatus::Success);
    }
    let rows: Vec<[String; 4]> = report
        .nodes
        .iter()
        .map(|f| {
            let mut latest = f.latest_version.clone().unwrap_or_else(|| "-".into());
            if f.banned {
                latest.push_str(" (banned)");
            }
            [f.id.clone(), f.name.clone(), latest, f.downloads.to_string()]
        })
        .collect();
    print_table(["ID", "NAME", "LATEST", "DOWNLOADS"], &rows, true);
    if report.total > report.nodes.len() as u64 {
        errln!(
            g.printer,
            "{} of {} matches shown; --limit N shows more.",
            report.nodes.len(),
            report.total
        );
    }
    Ok(ExitStatus::Success)
}

/// A four-column table with a header, columns as wide as their widest cell; the last column
/// right-aligned (numbers) or left as it is.
fn print_table(header: [&str; 4], rows: &[[String; 4]], last_right: bool) {
    let header = header.map(String::from);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(rows) {
        let last = if last_right {
            format!("{:>w$}", row[3], w = widths[3])
        } else {
            row[3].clone()
        };
        outln!(
            "{:w0$}  {:w1$}  {:w2$}  {last}",
            row[0],
            row[1],
            row[2],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
}
