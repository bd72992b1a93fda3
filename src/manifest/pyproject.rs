//! `Manifest`: the pyproject document as the user wrote it, plus its typed `[tool.comfydock]`.

use super::{ComfydockConfig, ManifestError, ModelSpec, NodeSpec, SCHEMA_VERSION};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use toml_edit::{Array, DocumentMut, Item, Table, Value};

/// A manifest as read, cheap to clone: the parts are shared until one is edited.
///
/// A no-op plan only reads values, so the formatting-preserving document (the dearer parse, and
/// the dearer value to clone and drop) is built on first use, from the text it was read from.
#[derive(Debug, Clone)]
pub struct Manifest {
    path: PathBuf,
    source: Arc<str>,
    /// The document, edited in place so comments and order survive. Reached through `doc()` and
    /// `doc_mut()`: the latter marks the plain value below out of date.
    document: OnceLock<Arc<DocumentMut>>,
    /// The file's values as read (no formatting), while the document is unedited: what the
    /// inputs hash reads, so a no-op plan does not render and parse the document again.
    pristine: Option<Arc<toml::Table>>,
    config: Arc<ComfydockConfig>,
}

#[derive(Deserialize)]
struct PyProject {
    tool: Option<ToolSection>,
}

#[derive(Deserialize)]
struct ToolSection {
    comfydock: Option<ComfydockConfig>,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let source = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &source)
    }

    /// Parses `source` as the manifest at `path` (the path is only used in messages and `save`).
    pub fn parse(path: &Path, source: &str) -> Result<Self, ManifestError> {
        let spanned = |e: toml::de::Error| ManifestError::invalid(path, source, e.message().to_string(), e.span());
        let plain: toml::Table = toml::from_str(source).map_err(spanned)?;
        if let Some(keys) = misshapen_table(&plain) {
            return Err(shape_error(path, source, keys));
        }
        // The typed view from the values already parsed; only a value that does not fit is
        // parsed again from the text, for an error that points at its line and column.
        let typed: PyProject = match toml::Value::Table(plain.clone()).try_into() {
            Ok(typed) => typed,
            Err(_) => toml::from_str(source).map_err(spanned)?,
        };
        let config = typed
            .tool
            .and_then(|t| t.comfydock)
            .ok_or_else(|| ManifestError::MissingSection {
                path: path.to_path_buf(),
            })?;
        // A tracked workflow's file is `workflows/NAME.json`: nothing else in `.cec` (its git
        // config, the lock) can be published into ComfyUI or deleted by `untrack`.
        for (name, tracked) in &config.workflows.tracked {
            let expected = format!("workflows/{name}.json");
            if tracked.file.as_str() != expected {
                return Err(ManifestError::invalid(
                    path,
                    source,
                    format!(
                        "tracked workflow `{name}` has file = \"{}\"; a tracked workflow's file is \"{expected}\"",
                        tracked.file
                    ),
                    None,
                ));
            }
        }
        if config.version != SCHEMA_VERSION {
            return Err(ManifestError::UnsupportedVersion {
                found: config.version,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(Manifest {
            path: path.to_path_buf(),
            source: source.into(),
            document: OnceLock::new(),
            pristine: Some(Arc::new(plain)),
            config: Arc::new(config),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn config(&self) -> &ComfydockConfig {
        &self.config
    }

    /// The document exactly as it would be written.
    pub fn render(&self) -> String {
        match self.document.get() {
            Some(doc) => doc.to_string(),
            // Never parsed, so never edited: the text it was read from, byte for byte.
            None => self.source.to_string(),
        }
    }

    pub(super) fn doc(&self) -> &DocumentMut {
        self.document.get_or_init(|| Arc::new(self.parse_document()))
    }

    /// The document, to edit: the plain value read with it no longer describes it.
    pub(super) fn doc_mut(&mut self) -> &mut DocumentMut {
        self.doc();
        self.pristine = None;
        match self.document.get_mut() {
            Some(doc) => Arc::make_mut(doc),
            None => unreachable!("doc() initialised the document"),
        }
    }

    /// The document of the text `parse` accepted. toml and toml_edit read TOML with the same
    /// parser (toml_parser), so this does not fail; were it ever to, the document is rebuilt
    /// from the values (formatting lost, content kept) rather than lost.
    fn parse_document(&self) -> DocumentMut {
        self.source.parse().unwrap_or_else(|_| {
            let plain = self.pristine.as_deref().cloned().unwrap_or_default();
            toml_edit::ser::to_document(&plain).unwrap_or_default()
        })
    }

    /// The manifest's values without formatting (what resolution reads and hashes): the values
    /// read from the file while it is unedited, else the document rendered and read again.
    pub fn plain(&self) -> std::borrow::Cow<'_, toml::Table> {
        match &self.pristine {
            Some(t) => std::borrow::Cow::Borrowed(&**t),
            None => std::borrow::Cow::Owned(toml::from_str(&self.render()).unwrap_or_default()),
        }
    }

    pub fn save(&self) -> std::io::Result<()> {
        crate::fsx::write_atomic(&self.path, self.render().as_bytes())
    }

    /// `[project].dependencies`.
    pub fn dependencies(&self) -> Vec<String> {
        self.doc()
            .get("project")
            .and_then(|p| p.get("dependencies"))
            .and_then(Item::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    /// Replaces `[project].dependencies`, one requirement a line.
    pub fn set_dependencies(&mut self, deps: &[String]) {
        let project = self
            .doc_mut()
            .entry("project")
            .or_insert_with(|| Item::Table(Table::new()));
        project["dependencies"] = Item::Value(Value::Array(multiline_array(deps)));
    }

    /// Sets a scalar of `[tool.comfydock]` (`comfyui_version`, `python_version`, ...).
    pub fn set_setting(&mut self, key: &str, value: &str) {
        comfydock_table(self.doc_mut())[key] = toml_edit::value(value);
        self.refresh();
    }

    /// Adds or replaces `[tool.comfydock.nodes.<id>]`, leaving every other table as it was.
    pub fn set_node(&mut self, id: &str, spec: &NodeSpec) {
        let nodes = subtable(comfydock_table(self.doc_mut()), "nodes");
        let mut table = Table::new();
        for (key, value) in spec.string_keys() {
            table[key] = toml_edit::value(value);
        }
        if let Some(t) = spec.install_timeout {
            table["install_timeout"] = toml_edit::value(t.seconds() as i64);
        }
        if !spec.runtime_paths.is_empty() {
            let mut a = Array::new();
            for p in &spec.runtime_paths {
                a.push(p.as_str());
            }
            table["runtime_paths"] = Item::Value(Value::Array(a));
        }
        nodes.insert(id, Item::Table(table));
        self.refresh();
    }

    /// Adds or replaces `[tool.comfydock.models.<key>]`; sources become an array of inline tables,
    /// one a line, as in the documented format.
    pub fn set_model(&mut self, key: &str, spec: &ModelSpec) {
        let models = subtable(comfydock_table(self.doc_mut()), "models");
        let mut table = Table::new();
        if let Some(name) = &spec.name {
            table["name"] = toml_edit::value(name.as_str());
        }
        table["hash"] = toml_edit::value(spec.hash.to_string());
        if let Some(size) = spec.size {
            table["size"] = toml_edit::value(size as i64);
        }
        if let Some(category) = &spec.category {
            table["category"] = toml_edit::value(category.as_str());
        }
        if let Some(filename) = &spec.filename {
            table["filename"] = toml_edit::value(filename.as_str());
        }
        if let Some(local_path) = &spec.local_path {
            table["local_path"] = toml_edit::value(local_path.as_str());
        }
        if !spec.sources.is_empty() {
            let mut array = Array::new();
            for source in &spec.sources {
                let json = serde_json::to_value(source).expect("serializable");
                let mut inline = toml_edit::InlineTable::new();
                if let Some(obj) = json.as_object() {
                    // `type` first, as people write it.
                    let mut keys: Vec<&String> = obj.keys().collect();
                    keys.sort_by_key(|k| (k.as_str() != "type", k.as_str().to_string()));
                    for k in keys {
                        if let Some(v) = obj[k].as_str() {
                            inline.insert(k, v.into());
                        }
                    }
                }
                let mut value = Value::InlineTable(inline);
                value.decor_mut().set_prefix("\n  ");
                array.push_formatted(value);
            }
            array.set_trailing("\n");
            array.set_trailing_comma(true);
            table["sources"] = Item::Value(Value::Array(array));
        }
        models.insert(key, Item::Table(table));
        self.refresh();
    }

    /// Removes `[tool.comfydock.models.<key>]`; false when there was no such model.
    pub fn remove_model(&mut self, key: &str) -> bool {
        let removed = comfydock_table(self.doc_mut())
            .get_mut("models")
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.remove(key))
            .is_some();
        self.refresh();
        removed
    }

    /// Removes `[tool.comfydock.nodes.<id>]` and the node's dependency group; false when there
    /// was no such node.
    pub fn remove_node(&mut self, id: &str) -> bool {
        self.remove_group(id);
        let removed = comfydock_table(self.doc_mut())
            .get_mut("nodes")
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.remove(id))
            .is_some();
        self.refresh();
        removed
    }

    /// Adds `[tool.comfydock.workflows.tracked.<name>]`, or updates its file, labels and what it
    /// requires in place: keys and comments the user wrote there stay, and a label `spec` does
    /// not give is kept (`requires` is one inline
    /// table, as the documented format writes it).
    pub fn set_workflow(&mut self, name: &str, spec: &super::TrackedWorkflow) {
        let workflows = subtable(comfydock_table(self.doc_mut()), "workflows");
        let tracked = subtable(workflows, "tracked");
        let existing = tracked.get_mut(name).and_then(Item::as_table_like_mut);
        let mut fresh = Table::new();
        let table: &mut dyn toml_edit::TableLike = match existing {
            Some(t) => t,
            None => &mut fresh,
        };
        set_str(table, "file", spec.file.as_str());
        // The user's labels: comfydock sets them when given and never drops them.
        if let Some(version) = &spec.version {
            set_str(table, "version", version);
        }
        if let Some(description) = &spec.description {
            set_str(table, "description", description);
        }
        if let Some(test) = spec.test {
            set_str(table, "test", test.as_str());
        }
        fn list<T: AsRef<str>>(items: &[T]) -> Value {
            let mut a = Array::new();
            for i in items {
                a.push(i.as_ref());
            }
            Value::Array(a)
        }
        let mut requires = toml_edit::InlineTable::new();
        requires.insert("nodes", list(&spec.requires.nodes));
        requires.insert("models", list(&spec.requires.models));
        requires.insert("python", list(&spec.requires.python));
        table.insert("requires", Item::Value(Value::InlineTable(requires)));
        if !fresh.is_empty() {
            tracked.insert(name, Item::Table(fresh));
        }
        self.refresh();
    }

    /// Removes `[tool.comfydock.workflows.tracked.<name>]`; false when it was not tracked.
    pub fn remove_workflow(&mut self, name: &str) -> bool {
        let removed = comfydock_table(self.doc_mut())
            .get_mut("workflows")
            .and_then(Item::as_table_like_mut)
            .and_then(|w| w.get_mut("tracked"))
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.remove(name))
            .is_some();
        self.refresh();
        removed
    }

    /// Re-reads the typed view after an edit, so `config()` always matches the document.
    pub(super) fn refresh(&mut self) {
        let text = self.render();
        if let Ok(typed) = toml::from_str::<PyProject>(&text)
            && let Some(config) = typed.tool.and_then(|t| t.comfydock)
        {
            self.config = Arc::new(config);
        }
    }
}

/// Sets `key` to a string, keeping the value's formatting when it is unchanged.
fn set_str(table: &mut dyn toml_edit::TableLike, key: &str, value: &str) {
    if table.get(key).and_then(Item::as_str) != Some(value) {
        table.insert(key, toml_edit::value(value));
    }
}

/// `parent.<name>` as an implicit table (no `[header]` of its own until it has keys).
fn subtable<'t>(parent: &'t mut Table, name: &str) -> &'t mut Table {
    table_in(parent, name, true)
}

fn comfydock_table(doc: &mut DocumentMut) -> &mut Table {
    let tool = table_in(doc.as_table_mut(), "tool", true);
    table_in(tool, "comfydock", false)
}

/// `parent.<name>` as a table to edit: created when absent, and an inline table the user wrote
/// (`nodes = { ... }`, valid TOML) becomes a regular one with the same keys. `parse` has already
/// refused a non-table value there.
pub(super) fn table_in<'t>(parent: &'t mut Table, name: &str, implicit: bool) -> &'t mut Table {
    let item = parent.entry(name).or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(implicit);
        Item::Table(t)
    });
    if !item.is_table() {
        let table = match std::mem::take(item) {
            Item::Value(Value::InlineTable(inline)) => inline.into_table(),
            _ => Table::new(),
        };
        *item = Item::Table(table);
    }
    match item {
        Item::Table(t) => t,
        _ => unreachable!("made a table above"),
    }
}

/// Tables comfydock edits must be tables (or inline tables) when present.
/// Tables that must be tables (`[tool.comfydock] nodes = 3` is refused where it is read).
const TABLES: [&[&str]; 7] = [
    &["project"],
    &["tool"],
    &["tool", "uv"],
    &["tool", "comfydock"],
    &["tool", "comfydock", "nodes"],
    &["tool", "comfydock", "models"],
    &["dependency-groups"],
];

/// The first of `TABLES` that is present but not a table.
fn misshapen_table(plain: &toml::Table) -> Option<&'static [&'static str]> {
    TABLES.into_iter().find(|keys| {
        let mut value: Option<&toml::Value> = None;
        for (i, key) in keys.iter().enumerate() {
            value = if i == 0 {
                plain.get(*key)
            } else {
                value.and_then(|v| v.get(*key))
            };
        }
        value.is_some_and(|v| !v.is_table())
    })
}

/// The diagnostic for a value at `keys` that should be a table, pointing at it (the document
/// is parsed here, on the error path only, for its span).
fn shape_error(path: &Path, source: &str, keys: &[&str]) -> ManifestError {
    let span = source.parse::<DocumentMut>().ok().and_then(|doc| {
        let mut item = Some(doc.as_item());
        for key in keys {
            item = item.and_then(|i| i.get(key));
        }
        item.and_then(Item::span)
    });
    ManifestError::invalid(path, source, format!("`{}` must be a table", keys.join(".")), span)
}

pub(super) fn multiline_array(items: &[String]) -> Array {
    let mut array: Array = items.iter().map(String::as_str).collect();
    for value in array.iter_mut() {
        value.decor_mut().set_prefix("\n    ");
    }
    array.set_trailing(if items.is_empty() { "" } else { "\n" });
    array.set_trailing_comma(!items.is_empty());
    array
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::NodeSource;

    const DESIGN_EXAMPLE: &str = r#"[project]
name = "env"
version = "0.1.0"
dependencies = ["numpy"]  # ComfyUI's own

# comfydock's section
[tool.comfydock]
version = "1"                      # schema version of this section
comfyui_version = "v0.3.10"        # tag, branch or commit
python_version = "3.12"

[tool.comfydock.nodes.comfyui-impact-pack]
name = "ComfyUI Impact Pack"
source = "registry"                # registry | git | local
registry_id = "comfyui-impact-pack"
version = "8.8.1"

[tool.comfydock.nodes.my-dev-node]
source = "local"
path = "../my-dev-node"

[tool.comfydock.models.sd15_base]
name = "SD 1.5 Base"
hash = "blake3:7c497c497c497c497c497c497c497c497c497c497c497c497c497c497c497c49"
size = 4265146304
category = "checkpoints"
filename = "v1-5-pruned.safetensors"
sources = [
  { type = "huggingface", repo = "runwayml/stable-diffusion-v1-5", file = "v1-5-pruned.safetensors" },
  { type = "civitai", model_id = "6431", version_id = "7425" },
  { type = "url", url = "https://example.com/models/sd15.safetensors" },
]

[tool.comfydock.workflows.tracked.my_workflow]
file = "workflows/my_workflow.json"
requires = {
  nodes = ["comfyui-impact-pack"],
  models = ["sd15_base"],
  python = ["numpy"],
}
"#;

    fn parse(text: &str) -> Manifest {
        Manifest::parse(Path::new("pyproject.toml"), text).unwrap()
    }

    #[test]
    fn reads_design_example_with_multiline_inline_table() {
        let m = parse(DESIGN_EXAMPLE);
        let c = m.config();
        assert_eq!(c.comfyui_version.as_deref(), Some("v0.3.10"));
        assert_eq!(c.nodes["comfyui-impact-pack"].kind(), NodeSource::Registry);
        assert_eq!(c.models["sd15_base"].sources.len(), 3);
        assert_eq!(c.workflows.tracked["my_workflow"].requires.models, vec!["sd15_base"]);
        assert_eq!(c.workflows.tracked["my_workflow"].requires.python, vec!["numpy"]);
    }

    #[test]
    fn unchanged_document_round_trips_byte_for_byte() {
        assert_eq!(parse(DESIGN_EXAMPLE).render(), DESIGN_EXAMPLE);
    }

    #[test]
    fn adding_a_node_touches_only_its_table() {
        let mut m = parse(DESIGN_EXAMPLE);
        let spec = NodeSpec::git("https://x/y".parse().unwrap(), Some("main".parse().unwrap()));
        m.set_node("my-git-node", &spec);
        let out = m.render();
        assert!(out.starts_with(DESIGN_EXAMPLE.split("[tool.comfydock.models").next().unwrap()));
        assert!(out.contains("# schema version of this section"));
        assert!(out.contains(
            "[tool.comfydock.nodes.my-git-node]\nsource = \"git\"\nrepository = \"https://x/y\"\nrev = \"main\"\n"
        ));
        assert_eq!(m.config().nodes["my-git-node"], spec);
        // Removing it again gives back the original bytes.
        assert!(m.remove_node("my-git-node"));
        assert_eq!(m.render(), DESIGN_EXAMPLE);
    }

    #[test]
    fn a_workflow_test_level_is_read_and_kept_through_edits() {
        let text = format!(
            "{DESIGN_EXAMPLE}\n[tool.comfydock.workflows.tracked.slow]\nfile = \"workflows/slow.json\"\ntest = \"validate\"\n"
        );
        let mut m = parse(&text);
        let slow = m.config().workflows.tracked["slow"].clone();
        assert_eq!(slow.test, Some(crate::manifest::TestLevel::Validate));
        // An edit that does not name the level (track, sync, resolve) keeps it.
        m.set_workflow("slow", &crate::manifest::TrackedWorkflow { test: None, ..slow });
        assert!(m.render().contains("test = \"validate\""), "{}", m.render());
        assert_eq!(
            parse(&m.render()).config().workflows.tracked["slow"].test,
            Some(crate::manifest::TestLevel::Validate)
        );
    }

    #[test]
    fn tracking_a_workflow_keeps_the_seed_table_and_names_are_checked() {
        let mut m = parse(DESIGN_EXAMPLE);
        let spec = crate::manifest::TrackedWorkflow {
            file: "workflows/my flow.json".parse().unwrap(),
            version: None,
            description: None,
            test: None,
            requires: crate::manifest::Requires {
                nodes: vec!["comfyui-impact-pack".parse().unwrap()],
                models: vec![],
                python: vec![],
            },
        };
        m.set_workflow("my flow", &spec);
        let out = m.render();
        assert!(out.starts_with(DESIGN_EXAMPLE), "{out}");
        assert!(out.contains("[tool.comfydock.workflows.tracked.\"my flow\"]"), "{out}");
        assert_eq!(parse(&out).config().workflows.tracked["my flow"], spec);
        assert!(m.remove_workflow("my flow"));
        assert_eq!(m.render(), DESIGN_EXAMPLE);
        let hostile = DESIGN_EXAMPLE.replace("tracked.my_workflow]", "tracked.\"../../x\"]");
        assert!(Manifest::parse(Path::new("p.toml"), &hostile).is_err());
    }

    #[test]
    fn syntax_errors_carry_a_location() {
        let err = Manifest::parse(Path::new("p.toml"), "[tool.comfydock]\nversion = \"1\"\nbroken = \n").unwrap_err();
        match err {
            ManifestError::Invalid { span: Some(span), .. } => assert!(span.offset() >= 30),
            other => panic!("unexpected: {other:?}"),
        }
    }

    #[test]
    fn type_errors_point_at_the_value() {
        let text = "[tool.comfydock]\nversion = \"1\"\n[tool.comfydock.models.a]\nhash = 12\n";
        let err = Manifest::parse(Path::new("p.toml"), text).unwrap_err();
        assert!(matches!(err, ManifestError::Invalid { span: Some(_), .. }), "{err:?}");
    }

    #[test]
    fn a_node_table_its_source_cannot_have_is_refused_at_the_table() {
        let text =
            "[tool.comfydock]\nversion = \"1\"\n[tool.comfydock.nodes.a]\nsource = \"registry\"\nrev = \"main\"\n";
        let table = text.find("source =").unwrap();
        match Manifest::parse(Path::new("p.toml"), text).unwrap_err() {
            ManifestError::Invalid {
                span: Some(span),
                message,
                ..
            } => {
                assert!(span.offset() >= table - 30, "{span:?}");
                assert_eq!(
                    message,
                    "`rev` belongs to a git pack, but this pack has `source = \"registry\"`: remove it or set `source = \"git\"`"
                );
            }
            other => panic!("{other:?}"),
        }
        // A git table without `source` keeps that form through an edit.
        let implied = "[tool.comfydock]\nversion = \"1\"\n[tool.comfydock.nodes.a]\nrepository = \"https://x/a\"\n";
        let mut m = parse(implied);
        let spec = m.config().nodes["a"].clone();
        m.set_node("a", &spec);
        assert!(!m.render().contains("source"), "{}", m.render());
        assert_eq!(parse(&m.render()).config().nodes["a"], spec);
    }
}
