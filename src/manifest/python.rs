//! Edits of the Python side of the pyproject: dependency groups (one per node pack, plus the
//! environment's own), `[tool.uv] constraint-dependencies`, and the tables that declare the
//! torch backends (extras, conflicts, sources, indexes). All through toml_edit, so the rest of
//! the document stays as the user wrote it.

use super::Manifest;
use super::pyproject::multiline_array;
use crate::python::torch::{index_name, is_backend_name, is_flat_index};
use crate::python::{is_torch_family, requirement_name};
use std::collections::BTreeMap;
use toml_edit::{Array, ArrayOfTables, InlineTable, Item, Table, Value};

impl Manifest {
    /// `[project].name`.
    pub fn project_name(&self) -> String {
        self.doc()
            .get("project")
            .and_then(|p| p.get("name"))
            .and_then(Item::as_str)
            .unwrap_or("")
            .to_string()
    }

    /// `[dependency-groups]`: group → requirements.
    pub fn dependency_groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        if let Some(t) = self.doc().get("dependency-groups").and_then(Item::as_table_like) {
            for (k, v) in t.iter() {
                out.insert(k.to_string(), strings(v));
            }
        }
        out
    }

    /// Sets a dependency group (an empty list removes it).
    pub fn set_group(&mut self, name: &str, requirements: &[String]) {
        if requirements.is_empty() {
            self.remove_group(name);
            return;
        }
        if self.dependency_groups().get(name).map(Vec::as_slice) == Some(requirements) {
            return;
        }
        let position = self
            .doc()
            .get("project")
            .and_then(Item::as_table)
            .and_then(Table::position);
        let groups = self.doc_mut().entry("dependency-groups").or_insert_with(|| {
            let mut t = Table::new();
            t.set_position(position);
            Item::Table(t)
        });
        if let Some(t) = groups.as_table_like_mut() {
            t.insert(name, Item::Value(Value::Array(multiline_array(requirements))));
        }
    }

    /// Removes a dependency group; false when there was none.
    pub fn remove_group(&mut self, name: &str) -> bool {
        let Some(groups) = self
            .doc_mut()
            .get_mut("dependency-groups")
            .and_then(Item::as_table_like_mut)
        else {
            return false;
        };
        let removed = groups.remove(name).is_some();
        if groups.is_empty() {
            self.doc_mut().remove("dependency-groups");
        }
        removed
    }

    /// `[tool.uv] constraint-dependencies`.
    pub fn constraints(&self) -> Vec<String> {
        self.uv_table()
            .and_then(|t| t.get("constraint-dependencies"))
            .map(strings)
            .unwrap_or_default()
    }

    pub fn set_constraints(&mut self, constraints: &[String]) {
        let uv = self.uv_table_mut();
        if constraints.is_empty() {
            uv.remove("constraint-dependencies");
        } else {
            uv.insert(
                "constraint-dependencies",
                Item::Value(Value::Array(multiline_array(constraints))),
            );
        }
    }

    /// `[project.optional-dependencies]`: extra → requirements.
    pub fn optional_dependencies(&self) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        if let Some(t) = self
            .doc()
            .get("project")
            .and_then(|p| p.get("optional-dependencies"))
            .and_then(Item::as_table_like)
        {
            for (k, v) in t.iter() {
                out.insert(k.to_string(), strings(v));
            }
        }
        out
    }

    /// The torch family as the environment declares it: the requirements of the first backend
    /// extra, else the family entries of `[project].dependencies`.
    pub fn torch_requirements(&self) -> Vec<String> {
        let extras = self.optional_dependencies();
        if let Some(reqs) = self.managed_backends().iter().find_map(|b| extras.get(b)) {
            return reqs.clone();
        }
        self.dependencies()
            .into_iter()
            .filter(|r| requirement_name(r).is_some_and(|n| is_torch_family(&n)))
            .collect()
    }

    /// Backends whose tables are in the document: extras named like a backend with an index
    /// `pytorch-<name>`.
    fn managed_backends(&self) -> Vec<String> {
        let indexes: Vec<String> = self.indexes().into_iter().map(|(name, _)| name).collect();
        self.optional_dependencies()
            .into_keys()
            .filter(|k| is_backend_name(k) && indexes.contains(&index_name(k)))
            .collect()
    }

    fn indexes(&self) -> Vec<(String, String)> {
        self.uv_table()
            .and_then(|t| t.get("index"))
            .and_then(Item::as_array_of_tables)
            .map(|a| {
                a.iter()
                    .map(|t| {
                        let get = |k: &str| t.get(k).and_then(Item::as_str).unwrap_or("").to_string();
                        (get("name"), get("url"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Makes the uv tables declare exactly the backends of `[tool.comfydock] torch_backends`:
    /// per backend an extra holding the torch family, an explicit index (`index_url(backend)`
    /// for a new one; an existing index keeps the URL the user gave it) and per-extra sources;
    /// with two or more backends, a `conflicts` entry making the extras mutually exclusive.
    /// With no backends, the torch family goes back to `[project].dependencies`. Returns
    /// whether anything changed.
    pub fn sync_torch_backends(&mut self, index_url: &dyn Fn(&str) -> String) -> bool {
        let before = self.render();
        let backends: Vec<String> = self.config().torch_backends.iter().map(ToString::to_string).collect();
        let managed = self.managed_backends();
        let mut family = self.torch_requirements();
        if family.is_empty() {
            family.push("torch".to_string());
        }
        let deps = self.dependencies();
        let (torch_deps, other_deps): (Vec<String>, Vec<String>) = deps
            .iter()
            .cloned()
            .partition(|r| requirement_name(r).is_some_and(|n| is_torch_family(&n)));

        if backends.is_empty() {
            if managed.is_empty() {
                return false;
            }
            let mut deps = other_deps;
            if torch_deps.is_empty() {
                deps.extend(family.iter().cloned());
            } else {
                deps.extend(torch_deps);
            }
            self.set_dependencies(&deps);
        } else if !torch_deps.is_empty() {
            self.set_dependencies(&other_deps);
        }

        // Extras.
        let extras = self.optional_dependencies();
        let project = super::pyproject::table_in(self.doc_mut().as_table_mut(), "project", false);
        let optional = project
            .entry("optional-dependencies")
            .or_insert(Item::Table(Table::new()));
        if let Some(t) = optional.as_table_like_mut() {
            for b in &managed {
                if !backends.contains(b) {
                    t.remove(b);
                }
            }
            for b in &backends {
                if !extras.contains_key(b) {
                    t.insert(
                        b,
                        Item::Value(Value::Array(family.iter().map(String::as_str).collect())),
                    );
                }
            }
        }
        if optional.as_table_like().is_some_and(|t| t.is_empty())
            && let Some(p) = self.doc_mut().get_mut("project").and_then(Item::as_table_like_mut)
        {
            p.remove("optional-dependencies");
        }

        // Indexes: drop those of dropped backends, add the missing ones.
        let existing: Vec<String> = self.indexes().into_iter().map(|(n, _)| n).collect();
        let uv = self.uv_table_mut();
        let mut kept = ArrayOfTables::new();
        if let Some(old) = uv.get("index").and_then(Item::as_array_of_tables) {
            for t in old.iter() {
                let name = t.get("name").and_then(Item::as_str).unwrap_or("");
                let dropped = name
                    .strip_prefix("pytorch-")
                    .is_some_and(|b| managed.iter().any(|m| m == b) && !backends.iter().any(|x| x == b));
                if !dropped {
                    kept.push(t.clone());
                }
            }
        }
        for b in &backends {
            if !existing.contains(&index_name(b)) {
                let url = index_url(b);
                let mut t = Table::new();
                t["name"] = toml_edit::value(index_name(b));
                t["url"] = toml_edit::value(url.clone());
                if is_flat_index(&url) {
                    t["format"] = toml_edit::value("flat");
                }
                t["explicit"] = toml_edit::value(true);
                kept.push(t);
            }
        }
        if kept.is_empty() {
            uv.remove("index");
        } else {
            uv.insert("index", Item::ArrayOfTables(kept));
        }

        // Sources: each family member from its backend's index, per extra.
        let members: Vec<String> = family.iter().filter_map(|r| requirement_name(r)).collect();
        let sources = uv.entry("sources").or_insert(Item::Table(Table::new()));
        if let Some(t) = sources.as_table_like_mut() {
            for name in crate::python::TORCH_FAMILY {
                if backends.is_empty() || !members.iter().any(|m| m == name) {
                    if !managed.is_empty() || !backends.is_empty() {
                        t.remove(name);
                    }
                    continue;
                }
                let mut list = Array::new();
                for b in &backends {
                    let mut entry = InlineTable::new();
                    entry.insert("index", index_name(b).into());
                    entry.insert("extra", b.as_str().into());
                    list.push(Value::InlineTable(entry));
                }
                t.insert(name, Item::Value(Value::Array(list)));
            }
        }
        if sources.as_table_like().is_some_and(|t| t.is_empty()) {
            uv.remove("sources");
        }

        // Conflicts: keep the user's sets, replace the one of the backends.
        let mut conflicts = Array::new();
        if let Some(old) = uv.get("conflicts").and_then(Item::as_array) {
            for set in old.iter() {
                let ours = set.as_array().is_some_and(|s| {
                    s.iter().all(|e| {
                        e.as_inline_table()
                            .and_then(|t| t.get("extra"))
                            .and_then(Value::as_str)
                            .is_some_and(is_backend_name)
                    })
                });
                if !ours {
                    conflicts.push(set.clone());
                }
            }
        }
        if backends.len() >= 2 {
            let mut set = Array::new();
            for b in &backends {
                let mut entry = InlineTable::new();
                entry.insert("extra", b.as_str().into());
                set.push(Value::InlineTable(entry));
            }
            conflicts.push(set);
        }
        if conflicts.is_empty() {
            uv.remove("conflicts");
        } else {
            uv.insert("conflicts", Item::Value(Value::Array(conflicts)));
        }
        self.refresh();
        self.render() != before
    }

    /// Sets the torch family requirement `requirement` (e.g. `torch==2.5.1`) wherever the
    /// environment declares the family: every backend extra, else `[project].dependencies`.
    pub fn set_torch_requirement(&mut self, requirement: &str) {
        let name = requirement_name(requirement);
        let replace = |list: &[String]| -> Vec<String> {
            let mut out: Vec<String> = list.iter().filter(|r| requirement_name(r) != name).cloned().collect();
            out.push(requirement.to_string());
            out
        };
        let backends: Vec<String> = self.config().torch_backends.iter().map(ToString::to_string).collect();
        if backends.is_empty() {
            let deps = replace(&self.dependencies());
            self.set_dependencies(&deps);
            return;
        }
        let extras = self.optional_dependencies();
        if let Some(t) = self
            .doc_mut()
            .get_mut("project")
            .and_then(|p| p.get_mut("optional-dependencies"))
            .and_then(Item::as_table_like_mut)
        {
            for b in &backends {
                let list = replace(extras.get(b).map(Vec::as_slice).unwrap_or(&[]));
                t.insert(b, Item::Value(Value::Array(list.iter().map(String::as_str).collect())));
            }
        }
    }

    fn uv_table(&self) -> Option<&Table> {
        self.doc().get("tool")?.get("uv")?.as_table()
    }

    fn uv_table_mut(&mut self) -> &mut Table {
        let tool = super::pyproject::table_in(self.doc_mut().as_table_mut(), "tool", true);
        super::pyproject::table_in(tool, "uv", false)
    }
}

fn strings(item: &Item) -> Vec<String> {
    item.as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use crate::manifest::Manifest;
    use std::path::Path;

    const BASE: &str = r#"# my environment
[project]
name = "comfydock-env-demo"
version = "0.1.0"
dependencies = [
    "numpy",
    "torch>=2.4",  # ComfyUI's
]

[tool.uv]
package = false # keep

[tool.comfydock]
version = "1"
torch_backends = ["cpu", "cu124"]
"#;

    fn url(b: &str) -> String {
        format!("/wheels/{b}")
    }

    #[test]
    fn backends_become_extras_indexes_sources_and_conflicts() {
        let mut m = Manifest::parse(Path::new("p.toml"), BASE).unwrap();
        assert!(m.sync_torch_backends(&url));
        let text = m.render();
        let v: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(v["project"]["dependencies"].as_array().unwrap().len(), 1);
        assert_eq!(
            v["project"]["optional-dependencies"]["cu124"][0].as_str(),
            Some("torch>=2.4")
        );
        assert_eq!(v["tool"]["uv"]["index"][1]["url"].as_str(), Some("/wheels/cu124"));
        assert_eq!(v["tool"]["uv"]["index"][1]["format"].as_str(), Some("flat"));
        assert_eq!(v["tool"]["uv"]["sources"]["torch"][0]["extra"].as_str(), Some("cpu"));
        assert_eq!(v["tool"]["uv"]["conflicts"][0].as_array().unwrap().len(), 2);
        assert!(text.contains("# my environment") && text.contains("package = false # keep"));
        assert!(
            text.find("[project.optional-dependencies]").unwrap() < text.find("[tool.uv]").unwrap(),
            "{text}"
        );
        // Idempotent.
        assert!(!m.sync_torch_backends(&url));

        // Dropping a backend drops its tables; dropping all puts torch back.
        let one = text.replace("torch_backends = [\"cpu\", \"cu124\"]", "torch_backends = [\"cu124\"]");
        let mut m = Manifest::parse(Path::new("p.toml"), &one).unwrap();
        assert!(m.sync_torch_backends(&url));
        let v: toml::Value = toml::from_str(&m.render()).unwrap();
        assert!(v["project"]["optional-dependencies"].get("cpu").is_none());
        assert_eq!(v["tool"]["uv"]["index"].as_array().unwrap().len(), 1);
        assert!(v["tool"]["uv"].get("conflicts").is_none());
        let none = m
            .render()
            .replace("torch_backends = [\"cu124\"]", "torch_backends = []");
        let mut m = Manifest::parse(Path::new("p.toml"), &none).unwrap();
        assert!(m.sync_torch_backends(&url));
        let v: toml::Value = toml::from_str(&m.render()).unwrap();
        assert_eq!(v["project"]["dependencies"][1].as_str(), Some("torch>=2.4"));
        assert!(v["tool"]["uv"].get("index").is_none() && v["tool"]["uv"].get("sources").is_none());
    }

    #[test]
    fn groups_and_constraints_round_trip() {
        let mut m = Manifest::parse(Path::new("p.toml"), BASE).unwrap();
        m.set_group("alpha", &["pillow>=10".to_string()]);
        m.set_constraints(&["numpy<2".to_string()]);
        let text = m.render();
        assert!(
            text.find("[dependency-groups]").unwrap() < text.find("[tool.uv]").unwrap(),
            "{text}"
        );
        assert_eq!(m.dependency_groups()["alpha"], vec!["pillow>=10"]);
        assert_eq!(m.constraints(), vec!["numpy<2"]);
        assert!(m.remove_group("alpha"));
        m.set_constraints(&[]);
        assert_eq!(m.render(), BASE);
    }
}
