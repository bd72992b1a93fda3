//! A prompt checked as ComfyUI's `validate_prompt` would check it, from `/object_info` alone:
//! every class registered, at least one output node, and from each output node back through its
//! links: required inputs present, links well formed and of a matching type, values convertible
//! to their type, numbers within `min`/`max`, combo values in their list. Errors carry ComfyUI's
//! own `type` names (`required_input_missing`, `value_not_in_list`, …). Pure.
//!
//! What it cannot see: a node's own `VALIDATE_INPUTS` (run by ComfyUI at `/prompt`, which the
//! `run` level reaches).

use super::to_prompt::{InputKind, NodeDefs, Prompt};
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// One thing ComfyUI would refuse.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptError {
    /// The prompt's node id (`12`, `5:3` inside a subgraph); None for the prompt as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_type: Option<String>,
    /// ComfyUI's error type (`value_not_in_list`, `required_input_missing`, …).
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
    pub details: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// For a model file not in its list: the model category the loader reads it from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_category: Option<String>,
}

impl PromptError {
    fn prompt(kind: &str, message: String, details: String) -> Self {
        PromptError {
            node_id: None,
            class_type: None,
            kind: kind.to_string(),
            message,
            details,
            input: None,
            value: None,
            model_category: None,
        }
    }
}

/// The model category a loader's input reads from, when comfydock's loader tables know it.
pub fn model_category(class_type: &str, input: &str) -> Option<String> {
    super::tables::loaders()
        .get(class_type)?
        .iter()
        .find(|row| row.matches_input(input))
        .map(|row| row.category.clone())
}

/// Checks `prompt`; empty when ComfyUI's validation would accept it.
pub fn check(prompt: &Prompt, defs: &NodeDefs) -> Vec<PromptError> {
    let mut outputs = Vec::new();
    for (id, node) in prompt {
        let Some(class) = node.get("class_type").and_then(Value::as_str) else {
            return vec![PromptError::prompt(
                "invalid_prompt",
                "Cannot execute because a node is missing the class_type property.".into(),
                format!("Node ID '#{id}'"),
            )];
        };
        let Some(def) = defs.get(class) else {
            let mut e = PromptError::prompt(
                "invalid_prompt",
                format!("Cannot execute because node {class} does not exist."),
                format!("Node ID '#{id}'"),
            );
            e.node_id = Some(id.clone());
            e.class_type = Some(class.to_string());
            return vec![e];
        };
        if def.output_node {
            outputs.push(id.clone());
        }
    }
    if outputs.is_empty() {
        return vec![PromptError::prompt(
            "prompt_no_outputs",
            "Prompt has no outputs".into(),
            String::new(),
        )];
    }
    let mut seen = HashSet::new();
    let mut errors: HashMap<String, Vec<PromptError>> = HashMap::new();
    let mut stack = outputs;
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let (errs, linked) = check_node(prompt, defs, &id);
        stack.extend(linked);
        if !errs.is_empty() {
            errors.insert(id, errs);
        }
    }
    let mut ids: Vec<String> = errors.keys().cloned().collect();
    ids.sort_by_key(|id| natural(id));
    ids.into_iter()
        .flat_map(|id| errors.remove(&id).unwrap_or_default())
        .collect()
}

/// Numeric ids in numeric order (`2` before `10`), composite ones by their parts.
fn natural(id: &str) -> Vec<(u64, String)> {
    id.split(':')
        .map(|p| (p.parse().unwrap_or(u64::MAX), p.to_string()))
        .collect()
}

/// One node's errors, and the nodes its links lead to (checked next).
fn check_node(prompt: &Prompt, defs: &NodeDefs, id: &str) -> (Vec<PromptError>, Vec<String>) {
    let node = &prompt[id];
    let class = node.get("class_type").and_then(Value::as_str).unwrap_or_default();
    let Some(def) = defs.get(class) else {
        return (Vec::new(), Vec::new());
    };
    let empty = serde_json::Map::new();
    let inputs = node.get("inputs").and_then(Value::as_object).unwrap_or(&empty);
    let mut errors = Vec::new();
    let mut linked = Vec::new();
    let mut err = |kind: &str, message: String, details: String, input: &str, value: Option<Value>| {
        errors.push(PromptError {
            node_id: Some(id.to_string()),
            class_type: Some(class.to_string()),
            kind: kind.to_string(),
            message,
            details,
            input: Some(input.to_string()),
            value,
            model_category: None,
        });
    };
    for input in &def.inputs {
        let x = input.name.as_str();
        let Some(val) = inputs.get(x) else {
            if input.required {
                err(
                    "required_input_missing",
                    "Required input is missing".into(),
                    x.to_string(),
                    x,
                    None,
                );
            }
            continue;
        };
        if let Value::Array(link) = val {
            let origin = match (link.as_slice(), link.len()) {
                ([o, s], 2) => id_of(o).zip(s.as_u64()),
                _ => None,
            };
            let Some((origin, slot)) = origin else {
                err(
                    "bad_linked_input",
                    "Bad linked input, must be a length-2 list of [node_id, slot_index]".into(),
                    x.to_string(),
                    x,
                    Some(val.clone()),
                );
                continue;
            };
            let received = prompt
                .get(&origin)
                .and_then(|o| o.get("class_type"))
                .and_then(Value::as_str)
                .and_then(|c| defs.get(c))
                .and_then(|d| d.outputs.get(usize::try_from(slot).unwrap_or(usize::MAX)));
            let Some(received) = received else {
                err(
                    "exception_during_inner_validation",
                    "Exception when validating inner node".into(),
                    format!("{x}: linked to node {origin} output {slot}, which does not exist"),
                    x,
                    Some(val.clone()),
                );
                continue;
            };
            if !types_match(received, input.type_name()) {
                err(
                    "return_type_mismatch",
                    "Return type mismatch between linked nodes".into(),
                    format!(
                        "{x}, received_type({received}) mismatch input_type({})",
                        input.type_name()
                    ),
                    x,
                    Some(val.clone()),
                );
                continue;
            }
            linked.push(origin);
            continue;
        }
        let val = match val {
            Value::Object(o) if o.contains_key("__value__") => &o["__value__"],
            v => v,
        };
        let number = match &input.kind {
            InputKind::Scalar(t) if t == "INT" || t == "FLOAT" => match to_number(val, t == "INT") {
                Some(n) => Some(n),
                None => {
                    err(
                        "invalid_input_type",
                        format!("Failed to convert an input value to a {t} value"),
                        format!("{x}, {}", plain(val)),
                        x,
                        Some(val.clone()),
                    );
                    continue;
                }
            },
            _ => None,
        };
        if let Some(n) = number {
            if let Some(min) = input.options.get("min").and_then(Value::as_f64)
                && n < min
            {
                err(
                    "value_smaller_than_min",
                    format!(
                        "Value {} smaller than min of {}",
                        plain(val),
                        plain(&input.options["min"])
                    ),
                    x.to_string(),
                    x,
                    Some(val.clone()),
                );
                continue;
            }
            if let Some(max) = input.options.get("max").and_then(Value::as_f64)
                && n > max
            {
                err(
                    "value_bigger_than_max",
                    format!(
                        "Value {} bigger than max of {}",
                        plain(val),
                        plain(&input.options["max"])
                    ),
                    x.to_string(),
                    x,
                    Some(val.clone()),
                );
                continue;
            }
        }
        if let InputKind::Combo(list) = &input.kind
            && !list.contains(val)
        {
            let list_info = if list.len() > 20 {
                format!("(list of length {})", list.len())
            } else {
                format!(
                    "[{}]",
                    list.iter()
                        .map(|v| format!("'{}'", plain(v)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            err(
                "value_not_in_list",
                "Value not in list".into(),
                format!("{x}: '{}' not in {list_info}", plain(val)),
                x,
                Some(val.clone()),
            );
        }
    }
    for e in &mut errors {
        if e.kind == "value_not_in_list"
            && let Some(input) = &e.input
        {
            e.model_category = model_category(class, input);
        }
    }
    (errors, linked)
}

fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// ComfyUI converts with `int()` / `float()`: numbers, numeric strings, booleans.
fn to_number(v: &Value, int: bool) -> Option<f64> {
    match v {
        Value::Number(n) => {
            let f = n.as_f64()?;
            Some(if int { f.trunc() } else { f })
        }
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::String(s) => {
            let s = s.trim();
            if int {
                s.parse::<i64>().ok().map(|i| i as f64)
            } else {
                s.parse::<f64>().ok()
            }
        }
        _ => None,
    }
}

/// ComfyUI's link type check: equal, or sharing one of the comma-separated types; `*` (the
/// "any" type packs declare) matches everything.
pub fn types_match(received: &str, wanted: &str) -> bool {
    if received == wanted || received == "*" || wanted == "*" {
        return true;
    }
    let a: HashSet<&str> = received.split(',').map(str::trim).collect();
    wanted.split(',').map(str::trim).any(|t| a.contains(t))
}
