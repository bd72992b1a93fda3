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
///
/// The hash is of compact JSON, `{"comfydock":…,"python":…}` with every object's keys sorted
/// (locks on disk carry it, so the bytes must stay exactly these). The JSON is streamed into
/// the hasher from the values in place: a no-op plan on thousands of models copies nothing.
pub fn inputs_hash_of(pyproject: &toml::Table) -> crate::types::Blake3 {
    let comfydock = match lookup(pyproject, &["tool", "comfydock"]) {
        // Workflows and model sources do not change what gets resolved.
        Some(toml::Value::Table(t)) => Comfydock::Without(t, "workflows"),
        Some(other) => Comfydock::Value(other),
        None => Comfydock::Value(&toml::Value::Boolean(false)),
    };
    hash_json(&Inputs {
        comfydock,
        python: python_inputs(pyproject),
    })
}

/// The value at `path` (table keys) in a pyproject, if there is one.
fn lookup<'a>(pyproject: &'a toml::Table, path: &[&str]) -> Option<&'a toml::Value> {
    let (first, rest) = path.split_first()?;
    rest.iter().try_fold(pyproject.get(*first)?, |v, key| v.get(key))
}

/// Field order is the JSON's key order: sorted.
#[derive(serde::Serialize)]
struct Inputs<'a> {
    comfydock: Comfydock<'a>,
    python: PythonInputs<'a>,
}

#[derive(serde::Serialize)]
struct PythonInputs<'a> {
    dependencies: Option<&'a toml::Value>,
    groups: Option<&'a toml::Value>,
    optional: Option<&'a toml::Value>,
    requires_python: Option<&'a toml::Value>,
    uv: Option<&'a toml::Value>,
}

/// `[tool.comfydock]` as hashed: a table less one key, or whatever else stands there.
enum Comfydock<'a> {
    Without(&'a toml::Table, &'static str),
    Value(&'a toml::Value),
}

impl serde::Serialize for Comfydock<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            // toml's tables iterate in key order, as serde_json's objects would print.
            Comfydock::Without(table, skip) => {
                let mut map = serializer.serialize_map(None)?;
                for (k, v) in table.iter().filter(|(k, _)| k != skip) {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Comfydock::Value(v) => v.serialize(serializer),
        }
    }
}

fn python_inputs(pyproject: &toml::Table) -> PythonInputs<'_> {
    PythonInputs {
        dependencies: lookup(pyproject, &["project", "dependencies"]),
        groups: lookup(pyproject, &["dependency-groups"]),
        optional: lookup(pyproject, &["project", "optional-dependencies"]),
        requires_python: lookup(pyproject, &["project", "requires-python"]),
        uv: lookup(pyproject, &["tool", "uv"]),
    }
}

fn hash_json<T: serde::Serialize>(value: &T) -> crate::types::Blake3 {
    let mut hasher = blake3::Hasher::new();
    // Writing into a hasher cannot fail, and these values always serialise.
    let _ = serde_json::to_writer(&mut hasher, value);
    crate::types::Blake3::from_hasher(&hasher)
}

/// Hash of the Python-relevant inputs alone: whether `uv lock` must run again.
pub fn python_inputs_hash(pyproject: &toml::Table) -> crate::types::Blake3 {
    hash_json(&python_inputs(pyproject))
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

#[cfg(test)]
mod pinned {
    /// A manifest with every kind of value the hash reads: nested tables, arrays, inline
    /// tables, numbers, booleans, a date, workflows (left out) and Python sections.
    pub const RICH: &str = r#"
[project]
name = "comfydock-env-x"
requires-python = ">=3.11"
dependencies = ["numpy>=1.26", "torch"]
[project.optional-dependencies]
cu124 = ["torch==2.5.1"]
[dependency-groups]
dev = ["pytest"]
[tool.uv]
index-strategy = "unsafe-best-match"
sources = { torch = [{ index = "pytorch-cu124", extra = "cu124" }] }
[tool.comfydock]
version = "1"
comfyui_version = "v0.3.10"
torch_backends = ["cpu", "cu124"]
[tool.comfydock.nodes.impact]
source = "registry"
version = "8.1.0"
[tool.comfydock.nodes.dev-pack]
source = "dev"
path = "/home/a/pack"
[tool.comfydock.models.sd15]
category = "checkpoints"
filename = "sd15.safetensors"
blake3 = "blake3:aa"
size = 2132625894
sources = [{ url = "https://example.com/sd15" }]
optional = false
released = 1979-05-27T07:32:00Z
[tool.comfydock.workflows.tracked.w]
file = "w.json"
"#;
    /// The hashes locks already on disk carry for this manifest: a change here would make
    /// every existing lock stale.
    #[test]
    fn hashes_stay_those_existing_locks_carry() {
        assert_eq!(
            super::inputs_hash(RICH).to_string(),
            "blake3:d530fe43ba53f7c7a1229bb096482733837aa00951cd1ed8dc03d8da91ee8a73"
        );
        let plain: toml::Table = toml::from_str(RICH).unwrap();
        assert_eq!(
            super::python_inputs_hash(&plain).to_string(),
            "blake3:db4ca1747840661c1f97160119a2ef2f8895e72594bf2644b732a1b3545c91a8"
        );
    }
}
