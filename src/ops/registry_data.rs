//! The registry data pipeline's steps (`registry mappings build|augment`): node mappings built
//! from a registry cache, then merged with ComfyUI-Manager's data, each written once at the end.

use crate::registry::mappings::augment::{self, AugmentSummary, ManagerData};
use crate::registry::mappings::{Mappings, OutputFilter, Stats, build};
use miette::{Result, miette};
use std::path::{Path, PathBuf};

fn output_filter(schema: Option<&Path>) -> Result<Option<OutputFilter>> {
    Ok(schema.map(OutputFilter::load).transpose()?)
}

/// `mappings build`: from the cache at `cache` (on top of the mappings at `input`, when given),
/// written to `out` (limited to the fields of `schema`, when given).
pub fn build(
    cache: &Path,
    input: Option<&Path>,
    max_versions: usize,
    out: &Path,
    schema: Option<&Path>,
) -> Result<Stats> {
    let filter = output_filter(schema)?;
    let options = build::BuildOptions {
        max_versions,
        input: input.map(Mappings::load).transpose()?,
    };
    let m = build::build_from_cache(cache, &options)?;
    m.save(out, filter.as_ref())?;
    Ok(m.stats)
}

/// What `mappings augment` reads and where it writes.
pub struct AugmentInput<'a> {
    /// Mappings to augment; None: Manager's data alone.
    pub mappings: Option<&'a Path>,
    /// Manager's `extension-node-map.json`.
    pub manager: &'a Path,
    pub stats: Option<&'a Path>,
    pub list: Option<&'a Path>,
    /// Where to write; None: over `mappings`.
    pub out: Option<&'a Path>,
    pub schema: Option<&'a Path>,
}

pub struct Augmented {
    pub out: PathBuf,
    pub summary: AugmentSummary,
    /// Built-in node types the mappings now list.
    pub builtin: usize,
}

pub fn augment(input: &AugmentInput) -> Result<Augmented> {
    let out = input.out.or(input.mappings).ok_or_else(|| {
        miette!(
            code = "comfydock::registry::no_output",
            help = "give --out FILE, or --mappings FILE to augment it in place",
            "nowhere to write the augmented mappings"
        )
    })?;
    let filter = output_filter(input.schema)?;
    let now = crate::registry::snapshot::rfc3339_now();
    let mut m = match input.mappings {
        Some(path) => Mappings::load(path)?,
        // Manager's data alone: dated now, so recency is measured from today.
        None => Mappings {
            version: now.get(0..10).unwrap_or_default().replace('-', "."),
            generated_at: now.clone(),
            ..Mappings::default()
        },
    };
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| {
            miette!(
                code = "comfydock::registry::read",
                "could not read {}: {e}",
                p.display()
            )
        })
    };
    let data = ManagerData {
        map: augment::load_manager_map(input.manager)?,
        stats: match input.stats {
            Some(p) => augment::parse_stats(&read(p)?, p)?,
            None => Default::default(),
        },
        list: match input.list {
            Some(p) => augment::parse_custom_node_list(&read(p)?, p)?,
            None => Vec::new(),
        },
    };
    let summary = augment::augment_with(&mut m, &data, &now);
    m.save(out, filter.as_ref())?;
    Ok(Augmented {
        out: out.to_path_buf(),
        summary,
        builtin: m.builtin.len(),
    })
}
