//! Which format a JSON value is, told by its shape, and the service wrappers around it
//! (`POST /prompt` bodies, `{"workflow": ..., "prompt": ...}` metadata, RunPod's
//! `{"input": {"workflow": ...}}`).

use serde_json::{Map, Value};

#[derive(Debug)]
pub(crate) enum Shape<'a> {
    Ui(&'a Map<String, Value>),
    Api(&'a Map<String, Value>),
}

/// Keys under which wrappers carry a workflow, most informative first.
const WRAPPER_KEYS: &[&str] = &["workflow", "extra_data", "extra_pnginfo", "input", "prompt"];
const MAX_WRAPPING: usize = 4;

/// The workflow in `v` and the wrapper path it was found under (empty when `v` is one).
pub(crate) fn detect(v: &Value) -> Result<(Shape<'_>, Vec<&'static str>), String> {
    let mut found = Vec::new();
    search(v, 0, &mut Vec::new(), &mut found);
    // A UI graph says more (pack ids, embedded models, muted nodes) than its API prompt.
    let best = found
        .iter()
        .position(|(s, _)| matches!(s, Shape::Ui(_)))
        .or(if found.is_empty() { None } else { Some(0) });
    match best {
        Some(i) => Ok(found.swap_remove(i)),
        None => Err(describe(v)),
    }
}

fn search<'a>(
    v: &'a Value,
    depth: usize,
    path: &mut Vec<&'static str>,
    found: &mut Vec<(Shape<'a>, Vec<&'static str>)>,
) {
    let Some(obj) = v.as_object() else { return };
    if obj.get("nodes").is_some_and(Value::is_array) {
        found.push((Shape::Ui(obj), path.clone()));
        return;
    }
    if is_api(obj) {
        found.push((Shape::Api(obj), path.clone()));
        return;
    }
    if depth >= MAX_WRAPPING {
        return;
    }
    for key in WRAPPER_KEYS {
        if let Some(inner) = obj.get(*key) {
            // Metadata often stores the inner workflow as a JSON string.
            if let Value::String(text) = inner
                && text.trim_start().starts_with('{')
            {
                continue;
            }
            path.push(key);
            search(inner, depth + 1, path, found);
            path.pop();
        }
    }
}

/// An API prompt: an object of node objects, each with a `class_type` string.
fn is_api(obj: &Map<String, Value>) -> bool {
    let mut nodes = 0;
    for v in obj.values() {
        match v.get("class_type") {
            Some(Value::String(_)) => nodes += 1,
            _ => return false,
        }
    }
    nodes > 0
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "it is `null`".to_string(),
        Value::Bool(_) => "it is a boolean".to_string(),
        Value::Number(_) => "it is a number".to_string(),
        Value::String(_) => "it is a string".to_string(),
        Value::Array(a) => format!("it is an array of {} items", a.len()),
        Value::Object(o) if o.is_empty() => "it is an empty object".to_string(),
        Value::Object(o) => {
            let keys: Vec<&str> = o.keys().take(6).map(String::as_str).collect();
            format!(
                "an object with keys {}{}, but no `nodes` array and no nodes with `class_type`",
                keys.join(", "),
                if o.len() > 6 { ", ..." } else { "" }
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        assert!(matches!(detect(&json!({"nodes": []})), Ok((Shape::Ui(_), p)) if p.is_empty()));
        assert!(matches!(
            detect(&json!({"1": {"class_type": "X", "inputs": {}}})),
            Ok((Shape::Api(_), _))
        ));
        let body =
            json!({"prompt": {"1": {"class_type": "X"}}, "extra_data": {"extra_pnginfo": {"workflow": {"nodes": []}}}});
        assert!(matches!(detect(&body), Ok((Shape::Ui(_), p)) if p == ["extra_data", "extra_pnginfo", "workflow"]));
        let runpod = json!({"input": {"workflow": {"3": {"class_type": "KSampler"}}}});
        assert!(matches!(detect(&runpod), Ok((Shape::Api(_), p)) if p == ["input", "workflow"]));
        assert!(detect(&json!({"a": 1})).unwrap_err().contains("keys a"));
        assert!(detect(&json!([1, 2])).unwrap_err().contains("array of 2"));
        assert!(detect(&json!({})).is_err());
    }
}
