//! The inputs a lock is resolved from, hashed: a lock is fresh when its `inputs` equals the hash
//! of the manifest as it is now. Only values count; comments and formatting do not.

use crate::manifest::Lock;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    Fresh,
    /// No lock yet.
    Missing,
    /// The manifest changed since the lock was made, or uv.lock is not the one pinned.
    Stale(String),
}

/// Hash of the parts of a pyproject that resolution reads.
pub fn inputs_hash(pyproject: &str) -> crate::types::Blake3 {
    inputs_hash_of(&toml::from_str(pyproject).unwrap_or_default())
}

/// `inputs_hash` of a pyproject's values (`Manifest::plain`), read once with the manifest.
pub fn inputs_hash_of(pyproject: &toml::Table) -> crate::types::Blake3 {
    let mut comfydock = lookup(pyproject, &["tool", "comfydock"])
        .cloned()
        .unwrap_or(toml::Value::Boolean(false));
    // Workflows and model sources do not change what gets resolved.
    if let Some(t) = comfydock.as_table_mut() {
        t.remove("workflows");
    }
    let doc = serde_json::json!({
        "comfydock": comfydock,
        "python": python_value(pyproject),
    });
    crate::resolve::hash_bytes(doc.to_string().as_bytes())
}

/// The value at `path` (table keys) in a pyproject, if there is one.
fn lookup<'a>(pyproject: &'a toml::Table, path: &[&str]) -> Option<&'a toml::Value> {
    let (first, rest) = path.split_first()?;
    rest.iter().try_fold(pyproject.get(*first)?, |v, key| v.get(key))
}

fn python_value(pyproject: &toml::Table) -> serde_json::Value {
    let get = |path: &[&str]| serde_json::to_value(lookup(pyproject, path)).unwrap_or_default();
    serde_json::json!({
        "dependencies": get(&["project", "dependencies"]),
        "optional": get(&["project", "optional-dependencies"]),
        "requires_python": get(&["project", "requires-python"]),
        "groups": get(&["dependency-groups"]),
        "uv": get(&["tool", "uv"]),
    })
}

/// Hash of the Python-relevant inputs alone: whether `uv lock` must run again.
pub fn python_inputs_hash(pyproject: &toml::Table) -> crate::types::Blake3 {
    crate::resolve::hash_bytes(python_value(pyproject).to_string().as_bytes())
}

/// Whether `lock` is what `pyproject` resolves to: its inputs hash matches the manifest, every
/// entry it holds is one the manifest declares (`Lock::mismatch`), and uv.lock is the one pinned.
pub fn freshness(manifest: &crate::manifest::Manifest, lock: Option<&Lock>, uv_lock: Option<&[u8]>) -> Freshness {
    let Some(lock) = lock else { return Freshness::Missing };
    if lock.inputs != inputs_hash_of(&manifest.plain()) {
        return Freshness::Stale("the manifest changed since the lock was made".into());
    }
    if let Some(why) = lock.mismatch(manifest.config()) {
        return Freshness::Stale(why);
    }
    match uv_lock {
        Some(bytes) if crate::resolve::hash_bytes(bytes) == lock.python.uv_lock => Freshness::Fresh,
        Some(_) => Freshness::Stale("uv.lock is not the one the lock pins".into()),
        None => Freshness::Stale("uv.lock is missing".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::inputs_hash;

    #[test]
    fn comments_and_workflows_do_not_count_but_values_do() {
        let a = "[project]\ndependencies = [\"x\"]\n[tool.comfydock]\nversion = \"1\"\n";
        let b = "# note\n[project]\ndependencies = [ \"x\" ]  # same\n[tool.comfydock]\nversion = \"1\"\n[tool.comfydock.workflows.tracked.w]\nfile = \"w.json\"\n";
        let c = "[project]\ndependencies = [\"y\"]\n[tool.comfydock]\nversion = \"1\"\n";
        assert_eq!(inputs_hash(a), inputs_hash(b));
        assert_ne!(inputs_hash(a), inputs_hash(c));
    }
}
