//! The API (prompt) format: node id -> `{class_type, inputs, _meta}`. Loader inputs are found by
//! name; an input that is a link (`[node_id, slot]`) gets its value from another node.

use super::analysis::{Collector, NoteKind, Source};
use super::tables::{self, WidgetIndex};
use serde_json::{Map, Value};

pub(crate) fn walk(prompt: &Map<String, Value>, c: &mut Collector<'_>) {
    let mut nodes = 0usize;
    let mut without_meta = 0usize;
    let mut entries: Vec<(&String, &Value)> = prompt.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    for (id, node) in entries {
        let Some(node) = node.as_object() else { continue };
        let Some(node_type) = node.get("class_type").and_then(Value::as_str) else {
            c.note(NoteKind::Malformed, format!("node {id} has no class_type; skipped"));
            continue;
        };
        nodes += 1;
        if !node.contains_key("_meta") {
            without_meta += 1;
        }
        c.node(node_type, "root", None);
        let Some(inputs) = node.get("inputs").and_then(Value::as_object) else {
            continue;
        };
        let rows = tables::loaders().get(node_type);
        for (name, value) in inputs {
            let row = rows.and_then(|r| r.iter().find(|row| row.matches_input(name)));
            match (row, value) {
                (Some(row), Value::String(s)) => {
                    if row.index == WidgetIndex::Any && !tables::is_model_like(s) {
                        continue;
                    }
                    c.model(node_type, name, row, s, Source::ApiInput, "root");
                }
                (Some(_), Value::Array(_)) => c.note(
                    NoteKind::LinkedModelInput,
                    format!("node {id} ({node_type}): input {name} is wired to another node; its file name is only known when the workflow runs"),
                ),
                (Some(_), _) => {}
                (None, Value::Array(a)) if is_link(a) => {}
                (None, v) => c.loose_value(node_type, v, 0),
            }
        }
    }
    if without_meta > 0 {
        c.note(
            NoteKind::NoMeta,
            format!("{without_meta} of {nodes} nodes have no _meta (older API export)"),
        );
    }
}

/// `[source_node_id, output_index]`
fn is_link(a: &[Value]) -> bool {
    matches!(a, [from, slot] if (from.is_string() || from.is_number()) && slot.is_number())
}
