//! A UI (litegraph) workflow converted to the API prompt that ComfyUI's frontend would queue for
//! it, from the node definitions ComfyUI serves at `/object_info`. Pure: values in, a prompt out.
//!
//! The frontend's rules, as this module follows them (see docs/testing.md):
//! - a node's `widgets_values` are positional: they map, in order, onto the node definition's
//!   widget inputs (required then optional, `input_order`); an INT or COMBO input with
//!   `control_after_generate` (or a legacy `seed` / `noise_seed`) is followed by its control
//!   value (`"randomize"`, …), which is dropped; values missing at the end take the definition's
//!   default (a file made before a widget was added). A list value is sent as `{"__value__": […]}`;
//! - a linked input is `[origin id, origin slot]`, the link followed through `Reroute` nodes and
//!   bypassed nodes (mode 4: the first input of the wanted type, the same slot first); a link from
//!   a `PrimitiveNode` is its value; `Note` and `MarkdownNote` are dropped;
//! - muted (mode 2) and bypassed (mode 4) nodes are not sent, and inputs linked to a node that is
//!   not sent are removed; a muted or bypassed subgraph or group node instance mutes or bypasses
//!   everything in it;
//! - subgraph instances are flattened: inner node ids become `instance:inner` (nested:
//!   `a:b:c`), a link from the subgraph's input node is followed out of the instance (or takes the
//!   instance's widget value), an instance output is the inner node linked to the output node;
//!   promoted widgets (`properties.proxyWidgets`) set the inner widget;
//! - legacy group nodes (`workflow>NAME`, `extra.groupNodes`) are expanded to `group:index`; the
//!   instance's inputs, outputs and widget values are the inner nodes' unlinked ones, in order.

use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

type Obj = Map<String, Value>;

/// Nested subgraph instances deeper than this are not expanded (no real file comes close).
const MAX_DEPTH: usize = 32;
/// Hops through reroutes, bypassed nodes and subgraph boundaries before a link is given up.
const MAX_HOPS: usize = 4096;

/// Node types the frontend registers itself: never sent to the backend.
pub const VIRTUAL_TYPES: &[&str] = &["Note", "MarkdownNote", "Reroute", "PrimitiveNode"];
/// Values the frontend stores after a widget with `control_after_generate`.
const CONTROL_VALUES: &[&str] = &["fixed", "increment", "decrement", "randomize", "increment-wrap"];
const WIDGET_SCALARS: &[&str] = &["INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"];

/// How an input of a node definition is given.
#[derive(Debug, Clone, PartialEq)]
pub enum InputKind {
    /// A list of allowed values (`[["a", "b"], {...}]` or `["COMBO", {"options": [...]}]`).
    Combo(Vec<Value>),
    /// INT, FLOAT, STRING or BOOLEAN.
    Scalar(String),
    /// A socket of this type (`MODEL`, `IMAGE`, `*`, `A,B`).
    Socket(String),
}

#[derive(Debug, Clone)]
pub struct InputDef {
    pub name: String,
    pub kind: InputKind,
    pub required: bool,
    pub options: Obj,
}

impl InputDef {
    /// A widget on the node (a value in `widgets_values`) rather than a socket only.
    pub fn is_widget(&self) -> bool {
        !matches!(self.kind, InputKind::Socket(_))
            && !self.options.get("forceInput").and_then(Value::as_bool).unwrap_or(false)
    }

    /// The type name ComfyUI's link check compares (`COMBO` for lists).
    pub fn type_name(&self) -> &str {
        match &self.kind {
            InputKind::Combo(_) => "COMBO",
            InputKind::Scalar(t) | InputKind::Socket(t) => t,
        }
    }

    fn control_after_generate(&self) -> bool {
        if let Some(flag) = self.options.get("control_after_generate") {
            return flag.as_bool().unwrap_or(true);
        }
        matches!(&self.kind, InputKind::Scalar(t) if t == "INT") && matches!(self.name.as_str(), "seed" | "noise_seed")
    }

    fn default_value(&self) -> Option<Value> {
        if let Some(d) = self.options.get("default") {
            return Some(d.clone());
        }
        match &self.kind {
            InputKind::Combo(list) => list.first().cloned(),
            _ => None,
        }
    }
}

/// One node class as `/object_info` describes it.
#[derive(Debug, Clone)]
pub struct NodeDef {
    pub inputs: Vec<InputDef>,
    pub outputs: Vec<String>,
    pub output_node: bool,
    pub display_name: Option<String>,
    pub python_module: Option<String>,
}

impl NodeDef {
    pub fn input(&self, name: &str) -> Option<&InputDef> {
        self.inputs.iter().find(|i| i.name == name)
    }
}

/// The node classes a running ComfyUI has registered.
#[derive(Debug, Clone, Default)]
pub struct NodeDefs {
    pub classes: HashMap<String, NodeDef>,
}

impl NodeDefs {
    /// From the body of `GET /object_info`. Entries that are not node descriptions are skipped.
    pub fn from_object_info(v: &Value) -> NodeDefs {
        let mut classes = HashMap::new();
        if let Some(all) = v.as_object() {
            for (name, info) in all {
                if let Some(def) = info.as_object().map(node_def) {
                    classes.insert(name.clone(), def);
                }
            }
        }
        NodeDefs { classes }
    }

    pub fn get(&self, class: &str) -> Option<&NodeDef> {
        self.classes.get(class)
    }

    pub fn contains(&self, class: &str) -> bool {
        self.classes.contains_key(class)
    }
}

fn node_def(info: &Obj) -> NodeDef {
    let mut inputs = Vec::new();
    let input = info.get("input").and_then(Value::as_object);
    let order = info.get("input_order").and_then(Value::as_object);
    for (section, required) in [("required", true), ("optional", false)] {
        let Some(specs) = input.and_then(|i| i.get(section)).and_then(Value::as_object) else {
            continue;
        };
        // `input_order` keeps the class's declaration order; without it, the map's own.
        let names: Vec<String> = order
            .and_then(|o| o.get(section))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_else(|| specs.keys().cloned().collect());
        for name in names {
            let Some(spec) = specs.get(&name) else { continue };
            inputs.push(input_def(&name, spec, required));
        }
    }
    let outputs = info
        .get("output")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(type_text).collect())
        .unwrap_or_default();
    NodeDef {
        inputs,
        outputs,
        output_node: info.get("output_node").and_then(Value::as_bool).unwrap_or(false),
        display_name: info.get("display_name").and_then(Value::as_str).map(str::to_string),
        python_module: info.get("python_module").and_then(Value::as_str).map(str::to_string),
    }
}

fn type_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        // An output typed as a list of values is a COMBO for the link check.
        Value::Array(_) => "COMBO".to_string(),
        other => other.to_string(),
    }
}

fn input_def(name: &str, spec: &Value, required: bool) -> InputDef {
    let (head, options) = match spec {
        Value::Array(a) => (
            a.first().cloned().unwrap_or(Value::Null),
            a.get(1).and_then(Value::as_object).cloned().unwrap_or_default(),
        ),
        other => (other.clone(), Obj::new()),
    };
    let kind = match &head {
        Value::Array(list) => InputKind::Combo(list.clone()),
        Value::String(t) if t == "COMBO" => InputKind::Combo(
            options
                .get("options")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        ),
        Value::String(t) if WIDGET_SCALARS.contains(&t.as_str()) => InputKind::Scalar(t.clone()),
        other => InputKind::Socket(type_text(other)),
    };
    InputDef {
        name: name.to_string(),
        kind,
        required,
        options,
    }
}

/// A prompt: node id -> `{class_type, inputs, _meta}`.
pub type Prompt = BTreeMap<String, Value>;

/// What the conversion made, and what it noticed on the way.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Conversion {
    pub prompt: Prompt,
    /// Things a person may want to know (a dangling link, a widget value with no input).
    pub notes: Vec<String>,
}

/// The class types a prompt uses, sorted.
pub fn class_types(prompt: &Prompt) -> Vec<String> {
    let mut out: Vec<String> = prompt
        .values()
        .filter_map(|n| n.get("class_type").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// An API-format workflow as a prompt (node entries that are not objects are skipped).
pub fn api_prompt(api: &Obj) -> Prompt {
    api.iter()
        .filter(|(_, v)| v.is_object())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The graph, normalised: root, subgraph definitions and group-node definitions look alike.

#[derive(Debug, Clone)]
enum Source {
    None,
    /// A node of the same graph, by id, and its output slot.
    Node(String, usize),
    /// The graph's boundary: a subgraph input slot, or a group instance's input index.
    Outer(usize),
}

#[derive(Debug)]
struct GInput {
    name: String,
    ty: String,
    /// The widget this input feeds, when it is one.
    widget: Option<String>,
    source: Source,
}

#[derive(Debug)]
struct GNode<'a> {
    id: String,
    ty: String,
    mode: i64,
    title: Option<String>,
    inputs: Vec<GInput>,
    values: Option<&'a Value>,
    raw: &'a Obj,
}

#[derive(Debug)]
struct Graph<'a> {
    nodes: Vec<GNode<'a>>,
    by_id: HashMap<String, usize>,
    /// Output slot of the graph (subgraph output / group instance output) -> inner origin.
    outputs: HashMap<usize, (String, usize)>,
}

fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn as_index(v: Option<&Value>) -> Option<usize> {
    v.and_then(Value::as_u64).and_then(|u| usize::try_from(u).ok())
}

/// A link of a UI graph: (origin id, origin slot, target id, target slot).
type Link = (String, usize, String, usize);

fn links_of(g: &Obj) -> HashMap<i64, Link> {
    let mut out = HashMap::new();
    let mut add = |l: &Value| match l {
        Value::Array(t) => {
            if let (Some(id), Some(o), Some(os), Some(t_), Some(ts)) = (
                t.first().and_then(Value::as_i64),
                id_text(t.get(1)),
                as_index(t.get(2)),
                id_text(t.get(3)),
                as_index(t.get(4)),
            ) {
                out.insert(id, (o, os, t_, ts));
            }
        }
        Value::Object(m) => {
            if let (Some(id), Some(o), Some(os), Some(t_), Some(ts)) = (
                m.get("id").and_then(Value::as_i64),
                id_text(m.get("origin_id")),
                as_index(m.get("origin_slot")),
                id_text(m.get("target_id")),
                as_index(m.get("target_slot")),
            ) {
                out.insert(id, (o, os, t_, ts));
            }
        }
        _ => {}
    };
    match g.get("links") {
        Some(Value::Array(a)) => a.iter().for_each(&mut add),
        Some(Value::Object(m)) => m.values().for_each(&mut add),
        _ => {}
    }
    out
}

const SUBGRAPH_INPUT: &str = "-10";
const SUBGRAPH_OUTPUT: &str = "-20";

fn node_inputs(raw: &Obj) -> Vec<(String, String, Option<String>, Option<i64>)> {
    raw.get("inputs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_object)
                .map(|i| {
                    let s = |k: &str| i.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                    let widget = i
                        .get("widget")
                        .and_then(|w| w.get("name"))
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    let ty = match i.get("type") {
                        Some(Value::String(t)) => t.clone(),
                        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
                        _ => String::new(),
                    };
                    (s("name"), ty, widget, i.get("link").and_then(Value::as_i64))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn output_types(raw: &Obj) -> Vec<String> {
    raw.get("outputs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|o| o.get("type").and_then(Value::as_str).unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn gnode<'a>(raw: &'a Obj, id: String, inputs: Vec<GInput>) -> Option<GNode<'a>> {
    Some(GNode {
        id,
        ty: raw.get("type").and_then(Value::as_str)?.to_string(),
        mode: raw.get("mode").and_then(Value::as_i64).unwrap_or(0),
        title: raw.get("title").and_then(Value::as_str).map(str::to_string),
        inputs,
        values: raw.get("widgets_values"),
        raw,
    })
}

/// The root graph or a subgraph definition (links by id; boundary nodes -10 and -20).
fn litegraph(g: &Obj) -> Graph<'_> {
    let links = links_of(g);
    let mut nodes = Vec::new();
    for raw in g.get("nodes").and_then(Value::as_array).into_iter().flatten() {
        let Some(raw) = raw.as_object() else { continue };
        let Some(id) = id_text(raw.get("id")) else { continue };
        let inputs = node_inputs(raw)
            .into_iter()
            .map(|(name, ty, widget, link)| {
                let source = match link.and_then(|l| links.get(&l)) {
                    None => Source::None,
                    Some((o, s, _, _)) if o == SUBGRAPH_INPUT => Source::Outer(*s),
                    Some((o, s, _, _)) => Source::Node(o.clone(), *s),
                };
                GInput {
                    name,
                    ty,
                    widget,
                    source,
                }
            })
            .collect();
        if let Some(n) = gnode(raw, id, inputs) {
            nodes.push(n);
        }
    }
    let outputs = links
        .values()
        .filter(|(_, _, t, _)| t == SUBGRAPH_OUTPUT)
        .map(|(o, s, _, ts)| (*ts, (o.clone(), *s)))
        .collect();
    finish(nodes, outputs)
}

fn finish(nodes: Vec<GNode<'_>>, outputs: HashMap<usize, (String, usize)>) -> Graph<'_> {
    let by_id = nodes.iter().enumerate().map(|(i, n)| (n.id.clone(), i)).collect();
    Graph { nodes, by_id, outputs }
}

/// A legacy group node's definition: inner nodes by `index`, links as
/// `[origin index | null, origin slot, target index, target slot, …]`. Returns the graph and
/// the (inner index, input name) of each instance input, in order.
fn group_graph<'a>(def: &'a Obj, defs: &NodeDefs) -> Graph<'a> {
    let raw_nodes: Vec<(usize, &Obj)> = {
        let mut v: Vec<(usize, &Obj)> = def
            .get("nodes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .enumerate()
            .map(|(pos, n)| (as_index(n.get("index")).unwrap_or(pos), n))
            .collect();
        v.sort_by_key(|(i, _)| *i);
        v
    };
    // target (index, slot) -> origin (Some(index) | None for outside, slot)
    let mut feeds: HashMap<(usize, usize), (Option<usize>, usize)> = HashMap::new();
    let mut used_outputs: HashSet<(usize, usize)> = HashSet::new();
    for l in def.get("links").and_then(Value::as_array).into_iter().flatten() {
        let Some(t) = l.as_array() else { continue };
        let (Some(os), Some(ti), Some(ts)) = (as_index(t.get(1)), as_index(t.get(2)), as_index(t.get(3))) else {
            continue;
        };
        let origin = as_index(t.first());
        if let Some(o) = origin {
            used_outputs.insert((o, os));
        }
        feeds.insert((ti, ts), (origin, os));
    }
    let external: HashSet<(usize, usize)> = def
        .get("external")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.as_array()?;
            Some((as_index(e.first())?, as_index(e.get(1))?))
        })
        .collect();
    let mut nodes = Vec::new();
    let mut outer = 0usize;
    let mut outputs = HashMap::new();
    let mut out_slot = 0usize;
    for (index, raw) in &raw_nodes {
        let ty = raw.get("type").and_then(Value::as_str).unwrap_or_default();
        let virtual_node = VIRTUAL_TYPES.contains(&ty);
        let def_inputs = defs.get(ty).map(|d| d.inputs.as_slice()).unwrap_or_default();
        let mut inputs = Vec::new();
        for (slot, (name, ity, widget, _)) in node_inputs(raw).into_iter().enumerate() {
            let source = match feeds.get(&(*index, slot)) {
                Some((Some(o), os)) => Source::Node(o.to_string(), *os),
                // Linked from outside, or not linked inside: an input of the instance.
                _ => {
                    let is_widget_only = widget.is_some() || def_inputs.iter().any(|d| d.name == name && d.is_widget());
                    if is_widget_only && !feeds.contains_key(&(*index, slot)) {
                        Source::None
                    } else {
                        outer += 1;
                        Source::Outer(outer - 1)
                    }
                }
            };
            inputs.push(GInput {
                name,
                ty: ity,
                widget,
                source,
            });
        }
        if !virtual_node {
            for (slot, _) in output_types(raw).iter().enumerate() {
                if !used_outputs.contains(&(*index, slot)) || external.contains(&(*index, slot)) {
                    outputs.insert(out_slot, (index.to_string(), slot));
                    out_slot += 1;
                }
            }
        }
        if let Some(n) = gnode(raw, index.to_string(), inputs) {
            nodes.push(n);
        }
    }
    finish(nodes, outputs)
}

// ---------------------------------------------------------------------------------------------
// Frames: one per expanded graph (the root, each subgraph instance, each group instance).

#[derive(Debug, Clone, Copy, PartialEq)]
enum FrameKind {
    Root,
    Subgraph,
    Group,
}

struct Frame<'a> {
    graph: Graph<'a>,
    /// Prefix of the execution ids of this frame's nodes (`""` at the root, `"5:"` inside 5).
    prefix: String,
    kind: FrameKind,
    /// (parent frame, index of the instance node in the parent's graph).
    parent: Option<(usize, usize)>,
    /// Child frames by instance node index.
    children: HashMap<usize, usize>,
    /// Widget values for inner nodes set from the instance: node id -> widget name -> value.
    overrides: HashMap<String, Obj>,
    /// Subgraph instance widget values by subgraph input slot.
    slot_values: HashMap<usize, Value>,
    /// Mode forced by a muted or bypassed instance.
    forced_mode: Option<i64>,
}

enum Resolved {
    Link(String, usize),
    Value(Value),
    Nothing,
}

struct Converter<'a, 'd> {
    defs: &'d NodeDefs,
    definitions: HashMap<&'a str, &'a Obj>,
    groups: Option<&'a Obj>,
    frames: Vec<Frame<'a>>,
    notes: Vec<String>,
}

/// Converts a UI workflow (the object with `nodes`) to the prompt the frontend would queue.
pub fn ui_to_prompt(root: &Obj, defs: &NodeDefs) -> Conversion {
    let mut definitions = HashMap::new();
    collect_definitions(root, 0, &mut definitions);
    let groups = root
        .get("extra")
        .and_then(|e| e.get("groupNodes"))
        .and_then(Value::as_object);
    let mut c = Converter {
        defs,
        definitions,
        groups,
        frames: Vec::new(),
        notes: Vec::new(),
    };
    c.frames.push(Frame {
        graph: litegraph(root),
        prefix: String::new(),
        kind: FrameKind::Root,
        parent: None,
        children: HashMap::new(),
        overrides: HashMap::new(),
        slot_values: HashMap::new(),
        forced_mode: None,
    });
    c.expand(0, 0);
    let mut prompt = Prompt::new();
    for f in 0..c.frames.len() {
        for n in 0..c.frames[f].graph.nodes.len() {
            if let Some((id, entry)) = c.emit(f, n) {
                prompt.insert(id, entry);
            }
        }
    }
    // Inputs linked to a node that is not sent are removed, as the frontend does.
    let ids: HashSet<String> = prompt.keys().cloned().collect();
    for entry in prompt.values_mut() {
        if let Some(inputs) = entry.get_mut("inputs").and_then(Value::as_object_mut) {
            inputs.retain(|_, v| match v {
                Value::Array(a) if a.len() == 2 => a[0].as_str().is_some_and(|id| ids.contains(id)),
                _ => true,
            });
        }
    }
    Conversion { prompt, notes: c.notes }
}

fn collect_definitions<'a>(g: &'a Obj, depth: usize, out: &mut HashMap<&'a str, &'a Obj>) {
    if depth >= MAX_DEPTH {
        return;
    }
    for def in g
        .get("definitions")
        .and_then(|d| d.get("subgraphs"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
    {
        if let Some(id) = def.get("id").and_then(Value::as_str)
            && !out.contains_key(id)
        {
            out.insert(id, def);
            collect_definitions(def, depth + 1, out);
        }
    }
}

fn group_name(ty: &str) -> Option<&str> {
    ty.strip_prefix("workflow>").or_else(|| ty.strip_prefix("workflow/"))
}

impl<'a> Converter<'a, '_> {
    fn frame_mode(&self, f: usize, n: usize) -> i64 {
        let frame = &self.frames[f];
        match frame.forced_mode {
            Some(m) => m,
            None => frame.graph.nodes[n].mode,
        }
    }

    /// Creates child frames for the subgraph and group instances of frame `f`, recursively.
    fn expand(&mut self, f: usize, depth: usize) {
        if depth >= MAX_DEPTH {
            self.notes.push(format!(
                "subgraphs nest deeper than {MAX_DEPTH} levels; deeper ones are not expanded"
            ));
            return;
        }
        for n in 0..self.frames[f].graph.nodes.len() {
            let node = &self.frames[f].graph.nodes[n];
            let ty = node.ty.clone();
            let prefix = format!("{}{}:", self.frames[f].prefix, node.id);
            let inherited = self.frames[f].forced_mode;
            let mode = inherited.or(match node.mode {
                2 | 4 => Some(node.mode),
                _ => None,
            });
            let child = if let Some(def) = self.definitions.get(ty.as_str()).copied() {
                let (overrides, slot_values) = subgraph_values(node, def);
                Frame {
                    graph: litegraph(def),
                    prefix,
                    kind: FrameKind::Subgraph,
                    parent: Some((f, n)),
                    children: HashMap::new(),
                    overrides,
                    slot_values,
                    forced_mode: mode,
                }
            } else if let Some(def) = group_name(&ty).and_then(|name| self.groups?.get(name)?.as_object()) {
                let graph = group_graph(def, self.defs);
                let overrides = group_values(self.defs, node, &graph);
                Frame {
                    graph,
                    prefix,
                    kind: FrameKind::Group,
                    parent: Some((f, n)),
                    children: HashMap::new(),
                    overrides,
                    slot_values: HashMap::new(),
                    forced_mode: mode,
                }
            } else {
                continue;
            };
            let id = self.frames.len();
            self.frames.push(child);
            self.frames[f].children.insert(n, id);
            self.expand(id, depth + 1);
        }
    }
}

/// A group instance's widget values, handed out to the inner nodes' widgets (those not linked
/// inside the group) in index order.
fn group_values(defs: &NodeDefs, instance: &GNode<'_>, graph: &Graph<'_>) -> HashMap<String, Obj> {
    {
        let values: &[Value] = instance
            .values
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut at = 0usize;
        let mut out = HashMap::new();
        for node in &graph.nodes {
            let Some(def) = defs.get(&node.ty) else { continue };
            let linked: HashSet<&str> = node
                .inputs
                .iter()
                .filter(|i| matches!(i.source, Source::Node(..)))
                .map(|i| i.widget.as_deref().unwrap_or(&i.name))
                .collect();
            let (map, used) = map_widgets(def, &values[at.min(values.len())..], &linked);
            at += used;
            out.insert(node.id.clone(), map);
        }
        out
    }
}

impl Converter<'_, '_> {
    fn exec_id(&self, f: usize, n: usize) -> String {
        format!("{}{}", self.frames[f].prefix, self.frames[f].graph.nodes[n].id)
    }

    /// The prompt entry of node `n` of frame `f`, when it is sent.
    fn emit(&mut self, f: usize, n: usize) -> Option<(String, Value)> {
        let node = &self.frames[f].graph.nodes[n];
        if self.frames[f].children.contains_key(&n) || VIRTUAL_TYPES.contains(&node.ty.as_str()) {
            return None;
        }
        if matches!(self.frame_mode(f, n), 2 | 4) {
            return None;
        }
        let ty = node.ty.clone();
        if self.frames[f].kind == FrameKind::Root && (group_name(&ty).is_some() || looks_like_uuid(&ty)) {
            self.notes.push(format!(
                "node {} is an instance of `{ty}`, which the workflow does not define; sent as it is",
                node.id
            ));
        }
        let id = self.exec_id(f, n);
        let mut inputs = Obj::new();
        let def = self.defs.get(&ty);
        if let Some(def) = def {
            let own = match node.values {
                Some(Value::Array(a)) => map_widgets(def, a, &HashSet::new()).0,
                Some(Value::Object(o)) => o
                    .iter()
                    .filter(|(k, _)| def.input(k).is_some_and(InputDef::is_widget))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                _ => map_widgets(def, &[], &HashSet::new()).0,
            };
            let over = self.frames[f].overrides.get(&node.id);
            let map = match (self.frames[f].kind, over) {
                // A group instance's values replace the inner nodes' (stale) copies.
                (FrameKind::Group, Some(o)) => o.clone(),
                (_, Some(o)) => {
                    let mut m = own;
                    m.extend(o.clone());
                    m
                }
                _ => own,
            };
            for (k, v) in map {
                inputs.insert(k, wrap_list(v));
            }
        }
        for slot in 0..self.frames[f].graph.nodes[n].inputs.len() {
            let input = &self.frames[f].graph.nodes[n].inputs[slot];
            let name = input.widget.clone().unwrap_or_else(|| input.name.clone());
            if name.is_empty() {
                continue;
            }
            let ty = input.ty.clone();
            let mut hops = 0;
            match self.resolve_input(f, n, slot, &ty, &mut hops) {
                Resolved::Link(origin, s) => {
                    inputs.insert(name, json!([origin, s]));
                }
                Resolved::Value(v) => {
                    inputs.insert(name, wrap_list(v));
                }
                Resolved::Nothing => {}
            }
        }
        let node = &self.frames[f].graph.nodes[n];
        let title = node
            .title
            .clone()
            .or_else(|| def.and_then(|d| d.display_name.clone()))
            .unwrap_or_else(|| ty.clone());
        Some((
            id,
            json!({"inputs": inputs, "class_type": ty, "_meta": {"title": title}}),
        ))
    }

    fn resolve_input(&mut self, f: usize, n: usize, slot: usize, ty: &str, hops: &mut usize) -> Resolved {
        *hops += 1;
        if *hops > MAX_HOPS {
            self.notes
                .push(format!("a link into {} loops; dropped", self.exec_id(f, n)));
            return Resolved::Nothing;
        }
        let Some(input) = self.frames[f].graph.nodes[n].inputs.get(slot) else {
            return Resolved::Nothing;
        };
        match input.source.clone() {
            Source::None => Resolved::Nothing,
            Source::Node(origin, os) => {
                let Some(&o) = self.frames[f].graph.by_id.get(&origin) else {
                    let id = self.exec_id(f, n);
                    self.notes.push(format!(
                        "node {id}: input `{}` is linked to node {origin}, which does not exist; dropped",
                        input.name
                    ));
                    return Resolved::Nothing;
                };
                self.resolve_output(f, o, os, ty, hops)
            }
            Source::Outer(outer) => {
                let Some((pf, pn)) = self.frames[f].parent else {
                    return Resolved::Nothing;
                };
                // The instance's input of that slot: linked outside, or its widget value.
                let linked = self.frames[pf].graph.nodes[pn]
                    .inputs
                    .get(outer)
                    .is_some_and(|i| !matches!(i.source, Source::None));
                if linked {
                    return self.resolve_input(pf, pn, outer, ty, hops);
                }
                match self.frames[f].slot_values.get(&outer) {
                    Some(v) => Resolved::Value(v.clone()),
                    None => Resolved::Nothing,
                }
            }
        }
    }

    fn resolve_output(&mut self, f: usize, n: usize, slot: usize, ty: &str, hops: &mut usize) -> Resolved {
        *hops += 1;
        if *hops > MAX_HOPS {
            return Resolved::Nothing;
        }
        let node = &self.frames[f].graph.nodes[n];
        if self.frame_mode(f, n) == 4 {
            // Bypassed: the input of the same slot when its type fits, else the first that does.
            let fits = |t: &str| t == ty || t == "*" || ty == "*" || ty.is_empty();
            let pick = node
                .inputs
                .get(slot)
                .filter(|i| fits(&i.ty))
                .map(|_| slot)
                .or_else(|| node.inputs.iter().position(|i| i.ty == ty))
                .or_else(|| node.inputs.iter().position(|i| fits(&i.ty)));
            return match pick {
                Some(i) => self.resolve_input(f, n, i, ty, hops),
                None => Resolved::Nothing,
            };
        }
        if let Some(&child) = self.frames[f].children.get(&n) {
            let Some((inner, os)) = self.frames[child].graph.outputs.get(&slot).cloned() else {
                return Resolved::Nothing;
            };
            let Some(&i) = self.frames[child].graph.by_id.get(&inner) else {
                return Resolved::Nothing;
            };
            return self.resolve_output(child, i, os, ty, hops);
        }
        match node.ty.as_str() {
            "Reroute" => self.resolve_input(f, n, 0, ty, hops),
            "PrimitiveNode" => match node.values {
                Some(Value::Array(a)) => a.first().cloned().map_or(Resolved::Nothing, Resolved::Value),
                _ => Resolved::Nothing,
            },
            "Note" | "MarkdownNote" => Resolved::Nothing,
            _ => Resolved::Link(self.exec_id(f, n), slot),
        }
    }
}

fn wrap_list(v: Value) -> Value {
    match v {
        Value::Array(_) => json!({"__value__": v}),
        other => other,
    }
}

/// A subgraph reference with no definition: 8-4-4-4-12 hex.
fn looks_like_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A subgraph instance's values: promoted widgets (`proxyWidgets`, in order, onto its
/// `widgets_values`) as overrides of inner widgets, and the widget-typed subgraph inputs (in
/// order, onto its `widgets_values` after the promoted ones) by input slot.
fn subgraph_values(instance: &GNode<'_>, def: &Obj) -> (HashMap<String, Obj>, HashMap<usize, Value>) {
    let values: &[Value] = instance
        .values
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut overrides: HashMap<String, Obj> = HashMap::new();
    let proxies: Vec<(String, String)> = instance
        .raw
        .get("properties")
        .and_then(|p| p.get("proxyWidgets"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|pair| {
            let p = pair.as_array()?;
            Some((id_text(p.first())?, p.get(1)?.as_str()?.to_string()))
        })
        .collect();
    let mut slot_values = HashMap::new();
    if !proxies.is_empty() {
        for ((node, widget), value) in proxies.iter().zip(values) {
            // "-1" names a widget of a subgraph input; those are mapped by slot below.
            if node != "-1" {
                overrides
                    .entry(node.clone())
                    .or_default()
                    .insert(widget.clone(), value.clone());
            }
        }
        // Subgraph-input widgets promoted by name: ("-1", input name).
        let inputs = def.get("inputs").and_then(Value::as_array);
        for ((node, widget), value) in proxies.iter().zip(values) {
            if node == "-1"
                && let Some(slot) = inputs.and_then(|a| {
                    a.iter()
                        .position(|i| i.get("name").and_then(Value::as_str) == Some(widget))
                })
            {
                slot_values.insert(slot, value.clone());
            }
        }
        return (overrides, slot_values);
    }
    let mut k = 0usize;
    for (slot, input) in def
        .get("inputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let t = input.get("type").and_then(Value::as_str).unwrap_or_default();
        if WIDGET_SCALARS.contains(&t) {
            if let Some(v) = values.get(k) {
                slot_values.insert(slot, v.clone());
            }
            k += 1;
        }
    }
    (overrides, slot_values)
}

/// Maps positional widget values onto the definition's widget inputs (skipping `skip`); returns
/// the inputs and how many values were used. Missing values take the definition's default.
fn map_widgets(def: &NodeDef, values: &[Value], skip: &HashSet<&str>) -> (Obj, usize) {
    let mut out = Obj::new();
    let mut at = 0usize;
    for input in def
        .inputs
        .iter()
        .filter(|i| i.is_widget() && !skip.contains(i.name.as_str()))
    {
        match values.get(at) {
            Some(v) => {
                out.insert(input.name.clone(), v.clone());
                at += 1;
                if input.control_after_generate()
                    && values
                        .get(at)
                        .and_then(Value::as_str)
                        .is_some_and(|s| CONTROL_VALUES.contains(&s))
                {
                    at += 1;
                }
                // LoadImage-style upload widgets store their button's value after the file.
                if input.options.keys().any(|k| k.ends_with("_upload"))
                    && values
                        .get(at)
                        .and_then(Value::as_str)
                        .is_some_and(|s| matches!(s, "image" | "video" | "audio"))
                {
                    at += 1;
                }
            }
            None => {
                if let Some(d) = input.default_value() {
                    out.insert(input.name.clone(), d);
                }
            }
        }
    }
    (out, at.min(values.len()))
}

#[cfg(test)]
mod tests;

/// The format a workflow was given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Given {
    Ui,
    Api,
}

/// The prompt of a workflow file (UI: converted; API: as it is), from its JSON bytes.
pub fn prompt_of(bytes: &[u8], file: &str, defs: &NodeDefs) -> Result<(Given, Conversion), super::WorkflowError> {
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let (value, _) = super::parse(body, file)?;
    match super::shape::detect(&value) {
        Ok((super::shape::Shape::Ui(ui), _)) => Ok((Given::Ui, ui_to_prompt(ui, defs))),
        Ok((super::shape::Shape::Api(api), _)) => Ok((
            Given::Api,
            Conversion {
                prompt: api_prompt(api),
                notes: Vec::new(),
            },
        )),
        Err(found) => Err(super::WorkflowError::NotAWorkflow {
            file: file.to_string(),
            found,
        }),
    }
}
