//! Builtin node types read statically from ComfyUI's Python source (no import, no torch):
//! the keys of `NODE_CLASS_MAPPINGS = {...}` dicts (V1 nodes) and `node_id="..."` in schema
//! definitions (V3 nodes). Pure text in, names out; walking a checkout is the caller's job.

/// The source files of a ComfyUI checkout that register builtin nodes, relative to its root:
/// `nodes.py`, and every `.py` under these folders.
pub const SOURCE_DIRS: &[&str] = &["comfy_extras", "comfy_api_nodes"];

/// Node type names one Python file registers.
pub fn names_in_source(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = code.get(from..).and_then(|c| c.find("NODE_CLASS_MAPPINGS")) {
        let start = from + pos;
        from = start + "NODE_CLASS_MAPPINGS".len();
        let rest = code.get(from..).unwrap_or_default();
        let trimmed = rest.trim_start();
        let Some(after_eq) = trimmed.strip_prefix('=') else {
            continue;
        };
        let Some(body) = after_eq.trim_start().strip_prefix('{') else {
            continue;
        };
        let end = body.find('}').unwrap_or(body.len());
        out.extend(dict_keys(body.get(..end).unwrap_or_default()));
    }
    for marker in ["node_id=\"", "node_id='"] {
        let quote = marker.chars().last().unwrap_or('"');
        let mut from = 0;
        while let Some(pos) = code.get(from..).and_then(|c| c.find(marker)) {
            let start = from + pos + marker.len();
            from = start;
            if let Some(end) = code.get(start..).and_then(|r| r.find(quote)) {
                let name = code.get(start..start + end).unwrap_or_default();
                if !name.is_empty() && !name.contains('\n') {
                    out.push(name.to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// String keys of a Python dict body: `"Name": Class,` entries.
fn dict_keys(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in body.split(',') {
        let e = entry.trim();
        let Some(q) = e.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        let rest = e.get(1..).unwrap_or_default();
        if let Some(end) = rest.find(q)
            && rest.get(end + 1..).is_some_and(|r| r.trim_start().starts_with(':'))
        {
            out.push(rest.get(..end).unwrap_or_default().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v3_registrations() {
        let src = r#"
class A: pass
NODE_CLASS_MAPPINGS = {
    "KSampler": KSampler,
    'VAELoader' : VAELoader,
#   "Gone": Gone,
}
NODE_DISPLAY_NAME_MAPPINGS = {"KSampler": "K Sampler"}
def define_schema(cls):
    return io.Schema(node_id="ImageCompare", display_name="x")
# return io.Schema(node_id="Commented")
"#;
        assert_eq!(names_in_source(src), ["ImageCompare", "KSampler", "VAELoader"]);
    }
}
