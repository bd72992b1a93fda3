//! `workflow diff`: what changed between two versions of a workflow, in workflow terms: nodes
//! added or removed (by id and type), widget values changed (by node title and input name),
//! links added or removed. Root graph of UI files and API prompts; anything else (layout,
//! subgraph definitions, files that are not JSON workflows) falls back to a text diff.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    NodeAdded {
        id: String,
        node_type: String,
    },
    NodeRemoved {
        id: String,
        node_type: String,
    },
    NodeTypeChanged {
        id: String,
        from: String,
        to: String,
    },
    WidgetChanged {
        node: String,
        input: String,
        from: Value,
        to: Value,
    },
    LinkAdded {
        link: String,
    },
    LinkRemoved {
        link: String,
    },
}

impl Change {
    pub fn describe(&self) -> String {
        match self {
            Change::NodeAdded { id, node_type } => format!("+ node {id} ({node_type})"),
            Change::NodeRemoved { id, node_type } => format!("- node {id} ({node_type})"),
            Change::NodeTypeChanged { id, from, to } => format!("~ node {id}: type {from} -> {to}"),
            Change::WidgetChanged { node, input, from, to } => format!("~ {node}: {input} {from} -> {to}"),
            Change::LinkAdded { link } => format!("+ link {link}"),
            Change::LinkRemoved { link } => format!("- link {link}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Same,
    /// Workflow changes; `other_changes`: the bytes differ beyond them too (layout, extra data).
    Semantic {
        changes: Vec<Change>,
        other_changes: bool,
    },
    /// Not comparable as workflows: a unified text diff.
    Text(String),
}

struct Node {
    node_type: String,
    label: String,
    /// (input name, value), in order.
    widgets: Vec<(String, Value)>,
}

struct Graph {
    nodes: BTreeMap<String, Node>,
    links: BTreeSet<String>,
}

pub fn diff(old: &[u8], new: &[u8], old_label: &str, new_label: &str) -> Outcome {
    if old == new {
        return Outcome::Same;
    }
    let parse = |b: &[u8]| serde_json::from_slice::<Value>(b).ok();
    let graphs = parse(old)
        .zip(parse(new))
        .and_then(|(a, b)| Some((graph(&a)?, graph(&b)?)));
    let Some((a, b)) = graphs else {
        return Outcome::Text(text_diff(old, new, old_label, new_label));
    };
    let mut changes = Vec::new();
    for (id, n) in &b.nodes {
        match a.nodes.get(id) {
            None => changes.push(Change::NodeAdded {
                id: id.clone(),
                node_type: n.node_type.clone(),
            }),
            Some(o) if o.node_type != n.node_type => changes.push(Change::NodeTypeChanged {
                id: id.clone(),
                from: o.node_type.clone(),
                to: n.node_type.clone(),
            }),
            Some(o) => {
                // By position (names may be known on one side only); the newer name labels it.
                for (i, (input, value)) in n.widgets.iter().enumerate() {
                    let from = o.widgets.get(i).map(|(_, v)| v.clone()).unwrap_or(Value::Null);
                    let input = match o.widgets.get(i) {
                        Some((old_name, _)) if input.starts_with("widget ") => old_name,
                        _ => input,
                    };
                    if from != *value {
                        changes.push(Change::WidgetChanged {
                            node: n.label.clone(),
                            input: input.clone(),
                            from,
                            to: value.clone(),
                        });
                    }
                }
            }
        }
    }
    for (id, o) in &a.nodes {
        if !b.nodes.contains_key(id) {
            changes.push(Change::NodeRemoved {
                id: id.clone(),
                node_type: o.node_type.clone(),
            });
        }
    }
    for l in b.links.difference(&a.links) {
        changes.push(Change::LinkAdded { link: l.clone() });
    }
    for l in a.links.difference(&b.links) {
        changes.push(Change::LinkRemoved { link: l.clone() });
    }
    Outcome::Semantic {
        other_changes: changes.is_empty(),
        changes,
    }
}

/// Nodes and links of a UI workflow's root graph or of an API prompt.
fn graph(v: &Value) -> Option<Graph> {
    let obj = v.as_object()?;
    if let Some(nodes) = obj.get("nodes").and_then(Value::as_array) {
        return Some(ui_graph(nodes, obj));
    }
    let api: Vec<(&String, &Map<String, Value>)> = obj
        .iter()
        .filter_map(|(k, n)| Some((k, n.as_object().filter(|n| n.contains_key("class_type"))?)))
        .collect();
    (!api.is_empty()).then(|| api_graph(&api))
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "?".to_string(),
    }
}

fn ui_graph(nodes: &[Value], obj: &Map<String, Value>) -> Graph {
    let mut out = BTreeMap::new();
    for n in nodes.iter().filter_map(Value::as_object) {
        let id = text(n.get("id"));
        let node_type = text(n.get("type"));
        let title = n.get("title").and_then(Value::as_str).unwrap_or(&node_type);
        let label = format!("{title} #{id}");
        // Widget names come from the inputs that carry a `widget`; used only when they line up
        // with the values (a seed's `control_after_generate` adds a value with no input).
        let names: Vec<String> = n
            .get("inputs")
            .and_then(Value::as_array)
            .map(|ins| {
                ins.iter()
                    .filter_map(|i| i.get("widget")?.get("name")?.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let widgets = match n.get("widgets_values") {
            Some(Value::Array(values)) => values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let name = match names.get(i) {
                        Some(name) if names.len() == values.len() => name.clone(),
                        _ => format!("widget {i}"),
                    };
                    (name, v.clone())
                })
                .collect(),
            Some(Value::Object(values)) => values.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            _ => Vec::new(),
        };
        out.insert(
            id,
            Node {
                node_type,
                label,
                widgets,
            },
        );
    }
    let mut links = BTreeSet::new();
    for l in obj.get("links").and_then(Value::as_array).into_iter().flatten() {
        let (from, from_slot, to, to_slot) = match l {
            Value::Array(a) => (a.get(1), a.get(2), a.get(3), a.get(4)),
            Value::Object(o) => (
                o.get("origin_id"),
                o.get("origin_slot"),
                o.get("target_id"),
                o.get("target_slot"),
            ),
            _ => continue,
        };
        links.insert(format!(
            "{}:{} -> {}:{}",
            text(from),
            text(from_slot),
            text(to),
            text(to_slot)
        ));
    }
    Graph { nodes: out, links }
}

fn api_graph(nodes: &[(&String, &Map<String, Value>)]) -> Graph {
    let mut out = BTreeMap::new();
    let mut links = BTreeSet::new();
    for (id, n) in nodes {
        let node_type = text(n.get("class_type"));
        let title = n
            .get("_meta")
            .and_then(|m| m.get("title"))
            .and_then(Value::as_str)
            .unwrap_or(&node_type);
        let mut widgets = Vec::new();
        for (input, value) in n.get("inputs").and_then(Value::as_object).into_iter().flatten() {
            match value.as_array() {
                Some(a) if a.len() == 2 && (a[0].is_string() || a[0].is_number()) && a[1].is_number() => {
                    links.insert(format!("{}:{} -> {id}.{input}", text(a.first()), text(a.get(1))));
                }
                _ => widgets.push((input.clone(), value.clone())),
            }
        }
        out.insert(
            id.to_string(),
            Node {
                label: format!("{title} #{id}"),
                node_type,
                widgets,
            },
        );
    }
    Graph { nodes: out, links }
}

/// A unified diff of the two texts (pretty-printed first when both are JSON, so one-line files
/// still diff by line).
pub fn text_diff(old: &[u8], new: &[u8], old_label: &str, new_label: &str) -> String {
    let pretty = |b: &[u8]| {
        serde_json::from_slice::<Value>(b)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| String::from_utf8_lossy(b).into_owned())
    };
    let (a, b) = (pretty(old), pretty(new));
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(2)
        .header(old_label, new_label)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_widgets_and_links_are_named() {
        let old = br#"{"nodes":[{"id":1,"type":"KSampler","widgets_values":[5,20]},{"id":2,"type":"VAEDecode"}],
            "links":[[1,1,0,2,0,"LATENT"]]}"#;
        let new = br#"{"nodes":[{"id":1,"type":"KSampler","title":"Sampler","widgets_values":[5,30],
            "inputs":[{"name":"seed","widget":{"name":"seed"}},{"name":"steps","widget":{"name":"steps"}}]},
            {"id":3,"type":"SaveImage"}],"links":[]}"#;
        let Outcome::Semantic { changes, .. } = diff(old, new, "a", "b") else {
            panic!("not semantic")
        };
        let lines: Vec<String> = changes.iter().map(Change::describe).collect();
        assert_eq!(
            lines,
            vec![
                "~ Sampler #1: steps 20 -> 30",
                "+ node 3 (SaveImage)",
                "- node 2 (VAEDecode)",
                "- link 1:0 -> 2:0",
            ]
        );
    }

    #[test]
    fn api_prompts_and_non_workflows() {
        let old = br#"{"3":{"class_type":"KSampler","inputs":{"steps":20,"model":["4",0]}}}"#;
        let new = br#"{"3":{"class_type":"KSampler","inputs":{"steps":25,"model":["5",0]}}}"#;
        let Outcome::Semantic { changes, .. } = diff(old, new, "a", "b") else {
            panic!("not semantic")
        };
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert!(matches!(diff(b"not json", b"also not", "a", "b"), Outcome::Text(t) if t.contains("-not json")));
        assert_eq!(diff(b"x", b"x", "a", "b"), Outcome::Same);
    }
}
