//! The UI (litegraph) format: the root graph, every subgraph definition (nested definitions
//! too), legacy group nodes, with instance values overlaid on the loaders inside.

use super::analysis::{Collector, NoteKind, PackHint, Source};
use super::tables::{self, LoaderInput, WidgetIndex};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// Nested subgraph definitions deeper than this are not followed (no real file comes close).
const MAX_DEFINITION_DEPTH: usize = 32;

/// Subgraph input types that are widgets on the instance (and so have a `widgets_values` slot).
const WIDGET_TYPES: &[&str] = &["COMBO", "STRING", "INT", "FLOAT", "BOOLEAN"];

type Obj = Map<String, Value>;

struct Ctx<'a> {
    definitions: HashMap<&'a str, &'a Obj>,
    group_nodes: Option<&'a Obj>,
    used_groups: BTreeSet<String>,
}

/// Walks a UI workflow into `c`; returns its schema version.
pub(crate) fn walk(root: &Obj, c: &mut Collector<'_>) -> Option<f64> {
    let version = root.get("version").and_then(Value::as_f64);
    let extra = root.get("extra").and_then(Value::as_object);
    let mut ctx = Ctx {
        definitions: HashMap::new(),
        group_nodes: extra.and_then(|e| e.get("groupNodes")).and_then(Value::as_object),
        used_groups: BTreeSet::new(),
    };
    collect_definitions(root, 0, &mut ctx, c);
    if let Some(models) = root.get("models") {
        c.embedded_models(models, "workflow");
    }
    graph(root, "root", &mut ctx, c);

    let mut defs: Vec<(&str, &Obj)> = ctx.definitions.iter().map(|(k, v)| (*k, *v)).collect();
    defs.sort_by_key(|(id, _)| *id);
    for (id, def) in defs {
        let scope = format!("subgraph[{}]", def_name(def, id));
        if let Some(models) = def.get("models") {
            c.embedded_models(models, &scope);
        }
        graph(def, &scope, &mut ctx, c);
        if !c.subgraph_ids.contains(id) {
            c.note(
                NoteKind::UnusedSubgraph,
                format!("{scope}: subgraph {id} is defined but not instantiated; its inner nodes are still counted"),
            );
        }
    }

    if let Some(groups) = ctx.group_nodes {
        if groups.is_empty() {
            c.note(
                NoteKind::EmptyGroupNodes,
                "extra.groupNodes is present but empty".to_string(),
            );
        }
        for (name, def) in groups {
            let scope = format!("group-node[{name}]");
            graph(def.as_object().unwrap_or(&Map::new()), &scope, &mut ctx, c);
            if !ctx.used_groups.contains(name) {
                c.note(
                    NoteKind::UnusedGroupNode,
                    format!("extra.groupNodes['{name}'] is defined but no node instantiates it; its inner nodes are still counted"),
                );
            }
        }
    }
    version
}

fn def_name<'a>(def: &'a Obj, id: &'a str) -> &'a str {
    def.get("name").and_then(Value::as_str).unwrap_or(id)
}

fn collect_definitions<'a>(graph: &'a Obj, depth: usize, ctx: &mut Ctx<'a>, c: &mut Collector<'_>) {
    let Some(list) = graph
        .get("definitions")
        .and_then(|d| d.get("subgraphs"))
        .and_then(Value::as_array)
    else {
        return;
    };
    if depth >= MAX_DEFINITION_DEPTH {
        c.note(
            NoteKind::DepthLimit,
            format!("subgraph definitions nest deeper than {MAX_DEFINITION_DEPTH} levels; deeper ones are ignored"),
        );
        return;
    }
    for def in list.iter().filter_map(Value::as_object) {
        if let Some(id) = def.get("id").and_then(Value::as_str)
            && !ctx.definitions.contains_key(id)
        {
            ctx.definitions.insert(id, def);
            collect_definitions(def, depth + 1, ctx, c);
        }
    }
}

fn id_text(node: &Obj) -> String {
    match node.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => "?".to_string(),
    }
}

/// A subgraph reference that has no definition: 8-4-4-4-12 hex.
fn looks_like_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn graph(g: &Obj, scope: &str, ctx: &mut Ctx<'_>, c: &mut Collector<'_>) {
    let Some(nodes) = g.get("nodes").and_then(Value::as_array) else {
        return;
    };
    for node in nodes {
        let Some(node) = node.as_object() else {
            c.note(
                NoteKind::Malformed,
                format!("{scope}: a node entry is not an object; skipped"),
            );
            continue;
        };
        let Some(node_type) = node.get("type").and_then(Value::as_str) else {
            c.note(
                NoteKind::Malformed,
                format!("{scope}: node {} has no type; skipped", id_text(node)),
            );
            continue;
        };
        match node.get("mode").and_then(Value::as_i64) {
            Some(2) => c.note(
                NoteKind::Muted,
                format!(
                    "{scope}: node {} ({node_type}) is muted (mode 2); still counted",
                    id_text(node)
                ),
            ),
            Some(4) => c.note(
                NoteKind::Bypassed,
                format!(
                    "{scope}: node {} ({node_type}) is bypassed (mode 4); still counted",
                    id_text(node)
                ),
            ),
            _ => {}
        }
        if let Some(def) = ctx.definitions.get(node_type).copied() {
            c.subgraph_ids.insert(node_type.to_string());
            subgraph_instance(node, node_type, def, c);
            continue;
        }
        if let Some(name) = node_type
            .strip_prefix("workflow>")
            .or_else(|| node_type.strip_prefix("workflow/"))
        {
            c.group_node_types.insert(node_type.to_string());
            ctx.used_groups.insert(name.to_string());
            match ctx.group_nodes.and_then(|g| g.get(name)).and_then(Value::as_object) {
                Some(def) => group_instance(node, name, def, c),
                None => c.note(
                    NoteKind::UndefinedSubgraph,
                    format!(
                        "{scope}: node {} is group node '{name}' but extra.groupNodes has no such definition",
                        id_text(node)
                    ),
                ),
            }
            continue;
        }
        if looks_like_uuid(node_type) {
            c.note(
                NoteKind::UndefinedSubgraph,
                format!(
                    "{scope}: node {} is an instance of subgraph {node_type}, which is not defined in the file",
                    id_text(node)
                ),
            );
            continue;
        }
        let props = node.get("properties").and_then(Value::as_object);
        c.node(node_type, scope, props.and_then(pack_hint));
        if node_type.starts_with("## ") {
            c.note(
                NoteKind::ManagerComponent,
                format!("{scope}: node type '{node_type}' looks like a ComfyUI-Manager component (group node whose definition is stored outside the workflow)"),
            );
        }
        if let Some(models) = props.and_then(|p| p.get("models")) {
            c.embedded_models(models, &format!("node:{node_type}"));
        }
        widgets(node, node_type, scope, c);
    }
}

fn pack_hint(props: &Obj) -> Option<PackHint> {
    let text = |k: &str| props.get(k).and_then(Value::as_str).map(str::to_string);
    let hint = PackHint {
        cnr_id: text("cnr_id"),
        aux_id: text("aux_id"),
        ver: text("ver"),
    };
    (hint.cnr_id.is_some() || hint.aux_id.is_some()).then_some(hint)
}

/// A node's own widget values: loader inputs become model references, the rest are scanned
/// for model-like values and embeddings.
fn widgets(node: &Obj, node_type: &str, scope: &str, c: &mut Collector<'_>) {
    let Some(values) = node.get("widgets_values") else {
        return;
    };
    let rows = tables::loaders().get(node_type);
    let mut claimed = BTreeSet::new();
    for row in rows.into_iter().flatten() {
        match (row.index, values) {
            (WidgetIndex::At(i), Value::Array(a)) => {
                if let Some(Value::String(s)) = a.get(i) {
                    c.model(node_type, &row.input, row, s, Source::Widget, scope);
                    claimed.insert(i);
                }
            }
            (WidgetIndex::At(_), Value::Object(o)) => {
                if let Some(Value::String(s)) = o.get(&row.input) {
                    c.model(node_type, &row.input, row, s, Source::Widget, scope);
                }
            }
            (WidgetIndex::Any, v) => {
                any_model_like(v, node_type, row, scope, c, 0);
                return;
            }
            _ => {}
        }
    }
    match values {
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                if !claimed.contains(&i) {
                    c.loose_value(node_type, v, 0);
                }
            }
        }
        Value::Object(o) => {
            for (k, v) in o {
                if !rows.is_some_and(|r| r.iter().any(|row| row.input == *k)) {
                    c.loose_value(node_type, v, 0);
                }
            }
        }
        other => c.loose_value(node_type, other, 0),
    }
}

/// Stacker-style loaders: every model-like string anywhere in the widgets is one of theirs.
fn any_model_like(v: &Value, node_type: &str, row: &LoaderInput, scope: &str, c: &mut Collector<'_>, depth: usize) {
    if depth > 8 {
        return;
    }
    match v {
        Value::String(s) if tables::is_model_like(s) => c.model(
            node_type,
            row.input.trim_end_matches('*'),
            row,
            s,
            Source::Widget,
            scope,
        ),
        Value::Array(a) => a
            .iter()
            .for_each(|x| any_model_like(x, node_type, row, scope, c, depth + 1)),
        Value::Object(o) => o
            .values()
            .for_each(|x| any_model_like(x, node_type, row, scope, c, depth + 1)),
        _ => {}
    }
}

/// link id -> (origin node id, origin slot), from tuple, object or id-keyed links.
fn link_origins(def: &Obj) -> HashMap<i64, (i64, i64)> {
    let mut out = HashMap::new();
    let mut add = |l: &Value| match l {
        Value::Array(t) => {
            if let (Some(id), Some(o), Some(s)) = (
                t.first().and_then(Value::as_i64),
                t.get(1).and_then(Value::as_i64),
                t.get(2).and_then(Value::as_i64),
            ) {
                out.insert(id, (o, s));
            }
        }
        Value::Object(m) => {
            if let (Some(id), Some(o), Some(s)) = (
                m.get("id").and_then(Value::as_i64),
                m.get("origin_id").and_then(Value::as_i64),
                m.get("origin_slot").and_then(Value::as_i64),
            ) {
                out.insert(id, (o, s));
            }
        }
        _ => {}
    };
    match def.get("links") {
        Some(Value::Array(a)) => a.iter().for_each(&mut add),
        Some(Value::Object(m)) => m.values().for_each(&mut add),
        _ => {}
    }
    out
}

/// The id the virtual input node of a subgraph has.
const SUBGRAPH_INPUT_NODE: i64 = -10;

/// Values a subgraph instance gives the loaders inside its definition: through widget-typed
/// subgraph inputs (in order, onto the instance's `widgets_values`), or through promoted
/// widgets (`properties.proxyWidgets`, in order).
fn subgraph_instance(instance: &Obj, id: &str, def: &Obj, c: &mut Collector<'_>) {
    let scope = format!("subgraph[{}]", def_name(def, id));
    let values: &[Value] = instance
        .get("widgets_values")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let inner: Vec<&Obj> = def
        .get("nodes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();

    let proxies: Vec<(String, String)> = instance
        .get("properties")
        .and_then(|p| p.get("proxyWidgets"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|pair| {
                    let p = pair.as_array()?;
                    let node = match p.first()? {
                        Value::String(s) => s.clone(),
                        v => v.to_string(),
                    };
                    Some((node, p.get(1)?.as_str()?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    for (i, (node_id, widget)) in proxies.iter().enumerate() {
        let Some(Value::String(value)) = values.get(i) else {
            continue;
        };
        let Some(node) = inner.iter().find(|n| id_text(n) == *node_id) else {
            continue;
        };
        let Some(node_type) = node.get("type").and_then(Value::as_str) else {
            continue;
        };
        for row in tables::loaders().get(node_type).into_iter().flatten() {
            if row.input == *widget {
                c.model(node_type, &row.input, row, value, Source::SubgraphProxyWidget, &scope);
            }
        }
    }

    // Widget-typed subgraph inputs: slot -> position among the instance's widget values.
    let slots: Vec<Option<usize>> = {
        let mut k = 0;
        def.get("inputs")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|input| {
                        let t = input.get("type").and_then(Value::as_str).unwrap_or_default();
                        WIDGET_TYPES.contains(&t).then(|| {
                            k += 1;
                            k - 1
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let origins = link_origins(def);
    for node in &inner {
        let Some(node_type) = node.get("type").and_then(Value::as_str) else {
            continue;
        };
        let Some(rows) = tables::loaders().get(node_type) else {
            continue;
        };
        let inputs = node
            .get("inputs")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for row in rows {
            let fed = inputs.iter().find_map(|input| {
                let name = input
                    .get("widget")
                    .and_then(|w| w.get("name"))
                    .or_else(|| input.get("name"));
                (name.and_then(Value::as_str) == Some(row.input.as_str()))
                    .then(|| input.get("link").and_then(Value::as_i64))
                    .flatten()
            });
            let Some(link) = fed else { continue };
            let Some(&(origin, slot)) = origins.get(&link) else {
                continue;
            };
            if origin != SUBGRAPH_INPUT_NODE {
                continue;
            }
            let inner_value = match node.get("widgets_values") {
                Some(Value::Array(a)) => match row.index {
                    WidgetIndex::At(i) => a.get(i).and_then(Value::as_str),
                    WidgetIndex::Any => None,
                },
                _ => None,
            };
            c.note(
                NoteKind::SubgraphInput,
                format!(
                    "{scope}: {node_type}.{} is fed by a subgraph input; the instance's widget value wins when present, else the inner widgets_values '{}'",
                    row.input,
                    inner_value.unwrap_or("")
                ),
            );
            let position = usize::try_from(slot).ok().and_then(|s| slots.get(s).copied().flatten());
            if let Some(Value::String(value)) = position.and_then(|p| values.get(p)) {
                c.model(node_type, &row.input, row, value, Source::SubgraphInputWidget, &scope);
            }
        }
    }
}

/// A group node's instance holds the inner nodes' widget values concatenated in `index` order.
fn group_instance(instance: &Obj, name: &str, def: &Obj, c: &mut Collector<'_>) {
    let scope = format!("group-node[{name}]");
    let Some(values) = instance.get("widgets_values").and_then(Value::as_array) else {
        return;
    };
    let mut inner: Vec<(usize, &Obj)> = def
        .get("nodes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_object)
                .enumerate()
                .map(|(pos, n)| {
                    (
                        n.get("index")
                            .and_then(Value::as_u64)
                            .map(|i| i as usize)
                            .unwrap_or(pos),
                        n,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    inner.sort_by_key(|(i, _)| *i);
    let mut offset = 0usize;
    for (_, node) in inner {
        let count = node.get("widgets_values").and_then(Value::as_array).map_or(0, Vec::len);
        if let Some(node_type) = node.get("type").and_then(Value::as_str) {
            for row in tables::loaders().get(node_type).into_iter().flatten() {
                if let WidgetIndex::At(i) = row.index
                    && i < count
                    && let Some(Value::String(v)) = values.get(offset.saturating_add(i))
                {
                    c.model(node_type, &row.input, row, v, Source::GroupNodeInstanceWidget, &scope);
                }
            }
        }
        offset = offset.saturating_add(count);
    }
}

#[cfg(test)]
mod tests {
    use crate::workflow::{Analysis, Builtins, NoteKind, Source, analyze};
    use serde_json::json;

    fn run(v: serde_json::Value) -> Analysis {
        analyze(v.to_string().as_bytes(), "t.json", Builtins::shipped()).unwrap()
    }

    fn model<'a>(a: &'a Analysis, name: &str) -> &'a crate::workflow::ModelRef {
        a.models
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name} in {:#?}", a.models))
    }

    const SG: &str = "11111111-2222-3333-4444-555555555555";
    const INNER: &str = "99999999-2222-3333-4444-555555555555";

    #[test]
    fn subgraph_values_nested_definitions_and_proxies() {
        let a = run(json!({
            "version": 0.4, "links": [],
            "nodes": [
                {"id": 1, "type": SG, "widgets_values": [7, "instance.safetensors"]},
                {"id": 2, "type": SG, "widgets_values": ["proxied.safetensors"],
                 "properties": {"proxyWidgets": [["5", "ckpt_name"]]}},
                {"id": 3, "type": "00000000-0000-0000-0000-000000000000"}
            ],
            "definitions": {"subgraphs": [{
                "id": SG, "name": "Outer", "version": 1,
                "inputs": [{"name": "image", "type": "IMAGE"}, {"name": "steps", "type": "INT"}, {"name": "ckpt_name", "type": "COMBO"}],
                // schema 1 links are objects
                "links": [{"id": 40, "origin_id": -10, "origin_slot": 2, "target_id": 5, "target_slot": 0, "type": "COMBO"}],
                "nodes": [
                    {"id": 5, "type": "CheckpointLoaderSimple", "mode": 2,
                     "inputs": [{"name": "ckpt_name", "type": "COMBO", "widget": {"name": "ckpt_name"}, "link": 40}],
                     "widgets_values": ["inner.safetensors"]},
                    {"id": 6, "type": INNER, "widgets_values": []}
                ],
                "definitions": {"subgraphs": [{
                    "id": INNER, "name": "Inner", "links": [], "inputs": [],
                    "nodes": [{"id": 1, "type": "LoraLoader", "widgets_values": ["deep.safetensors", 1, 1]}]
                }]}
            }]}
        }));
        assert_eq!(a.subgraph_ids, [SG, INNER]);
        assert_eq!(a.node_type_names(), ["CheckpointLoaderSimple", "LoraLoader"]);
        assert_eq!(model(&a, "instance.safetensors").sources, [Source::SubgraphInputWidget]);
        assert_eq!(model(&a, "proxied.safetensors").sources, [Source::SubgraphProxyWidget]);
        assert_eq!(model(&a, "inner.safetensors").sources, [Source::Widget]);
        assert_eq!(model(&a, "deep.safetensors").found_in, ["subgraph[Inner]"]);
        let kinds: Vec<NoteKind> = a.notes.iter().map(|n| n.kind).collect();
        assert!(
            kinds.contains(&NoteKind::Muted) && kinds.contains(&NoteKind::UndefinedSubgraph),
            "{:#?}",
            a.notes
        );
    }

    #[test]
    fn group_node_instance_values_follow_inner_index_order() {
        let a = run(json!({
            "nodes": [{"id": 1, "type": "workflow>pair", "widgets_values": [0, "randomize", 20, "mine.safetensors"]},
                      {"id": 2, "type": "workflow/ghost"}],
            "extra": {"groupNodes": {
                "pair": {"nodes": [
                    {"id": -1, "index": 1, "type": "VAELoader", "widgets_values": ["stale.safetensors"]},
                    {"id": -1, "index": 0, "type": "KSampler", "widgets_values": [0, "randomize", 20]}
                ]},
                "unused": {"nodes": [{"id": -1, "index": 0, "type": "Upscaler9000"}]}
            }}
        }));
        assert_eq!(a.group_node_types, ["workflow/ghost", "workflow>pair"]);
        assert_eq!(a.node_type_names(), ["KSampler", "Upscaler9000", "VAELoader"]);
        assert_eq!(model(&a, "mine.safetensors").sources, [Source::GroupNodeInstanceWidget]);
        assert_eq!(model(&a, "stale.safetensors").sources, [Source::Widget]);
        let kinds: Vec<NoteKind> = a.notes.iter().map(|n| n.kind).collect();
        assert!(kinds.contains(&NoteKind::UnusedGroupNode), "{:#?}", a.notes);
        assert!(kinds.contains(&NoteKind::UndefinedSubgraph), "{:#?}", a.notes);
    }

    #[test]
    fn custom_loaders_and_stackers() {
        let a = run(json!({"nodes": [
            {"id": 1, "type": "LoRA Stacker", "widgets_values": ["simple", 2, "a.safetensors", 1, 1, 1, "None", 1, 1, 1]},
            {"id": 2, "type": "Power Lora Loader (rgthree)", "widgets_values": [{}, {"on": true, "lora": "sub\\b.safetensors", "strength": 1}, ""]},
            {"id": 3, "type": "Efficient Loader", "widgets_values": ["c.ckpt", "Baked VAE", -1, "None", 1, 1, "pos", "neg"]},
            {"id": 4, "type": "MarkdownNote", "widgets_values": ["get https://x/y.safetensors or z.safetensors"]},
            {"id": 5, "type": "MyLoader", "widgets_values": ["odd.gguf"]}
        ]}));
        let names: Vec<(&str, &str)> = a
            .models
            .iter()
            .map(|m| (m.name.as_str(), m.category.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("a.safetensors", "loras"),
                ("c.ckpt", "checkpoints"),
                ("sub\\b.safetensors", "loras")
            ]
        );
        assert_eq!(model(&a, "sub\\b.safetensors").path, "sub/b.safetensors");
        assert_eq!(a.unmapped_model_like_values.len(), 1);
        assert_eq!(a.unmapped_model_like_values[0].value, "odd.gguf");
    }

    #[test]
    fn cnr_id_comfy_core_marks_newer_core_nodes_builtin() {
        let a = run(json!({"nodes": [
            {"id": 1, "type": "BrandNewCoreNode", "properties": {"cnr_id": "comfy-core", "ver": "0.9.0"}},
            {"id": 2, "type": "SomePackNode", "properties": {"cnr_id": "some-pack", "ver": "1.0.0"}}
        ]}));
        let t = &a.node_types;
        assert!(t[0].builtin && t[0].builtin_by == Some("cnr_id"));
        assert!(!t[1].builtin);
    }
}
