//! The Comfy Registry's JSON, typed. Field names match the live API exactly, including its mix
//! of camelCase (`createdAt`, `downloadUrl`, `totalPages`) and snake_case. Every field is
//! optional on input (the API omits empty ones, and sometimes sends `null`); fields this code
//! does not model are kept in `extra`, so the mirror serves back what a snapshot recorded.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// `null` reads as the default, like an absent field.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The API sends `input_types` and friends as strings holding JSON; accept an inline JSON value
/// too, and keep the string form.
fn json_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => String::new(),
        Value::String(s) => s,
        other => other.to_string(),
    })
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($variant,)*
            /// A value this version of comfydock does not know; kept verbatim.
            Other(String),
            #[default]
            Unknown,
        }
        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($text => $name::$variant,)*
                    "" => $name::Unknown,
                    _ => $name::Other(s),
                }
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                match v {
                    $($name::$variant => $text.to_string(),)*
                    $name::Other(s) => s,
                    $name::Unknown => String::new(),
                }
            }
        }
        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(s) => s,
                    $name::Unknown => "",
                }
            }
        }
    };
}

string_enum!(
    /// A pack's status.
    NodeStatus {
        Active = "NodeStatusActive",
        Deleted = "NodeStatusDeleted",
        Banned = "NodeStatusBanned",
    }
);

string_enum!(
    /// A version's review status. Deprecation is the separate `deprecated` flag.
    VersionStatus {
        Active = "NodeVersionStatusActive",
        Deleted = "NodeVersionStatusDeleted",
        Banned = "NodeVersionStatusBanned",
        Pending = "NodeVersionStatusPending",
        Flagged = "NodeVersionStatusFlagged",
    }
);

impl VersionStatus {
    /// The statuses the registry itself offers as installable: the ones its own "latest" is
    /// chosen from.
    pub fn installable(&self) -> bool {
        matches!(
            self,
            VersionStatus::Active | VersionStatus::Pending | VersionStatus::Flagged
        )
    }
}

/// A node pack.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Node {
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub description: String,
    #[serde(deserialize_with = "nullable")]
    pub author: String,
    /// Free text, often a stringified TOML table such as `{"file": "LICENSE"}`.
    #[serde(deserialize_with = "nullable")]
    pub license: String,
    #[serde(deserialize_with = "nullable")]
    pub icon: String,
    #[serde(deserialize_with = "nullable")]
    pub repository: String,
    #[serde(deserialize_with = "nullable")]
    pub tags: Vec<String>,
    /// Absent for packs without versions. In lists it is the newest by creation time, in
    /// `/nodes/{id}` the greatest version *string*: use `resolve::latest` instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_version: Option<NodeVersion>,
    #[serde(deserialize_with = "nullable")]
    pub rating: f64,
    #[serde(deserialize_with = "nullable")]
    pub downloads: u64,
    #[serde(deserialize_with = "nullable")]
    pub github_stars: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<Publisher>,
    #[serde(deserialize_with = "nullable")]
    pub status: NodeStatus,
    #[serde(deserialize_with = "nullable")]
    pub status_detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub preempted_comfy_node_names: Vec<String>,
    /// Lower is better.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_ranking: Option<i64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Publisher {
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One published version of a pack.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeVersion {
    /// The row's UUID, not the semver.
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    #[serde(deserialize_with = "nullable")]
    pub node_id: String,
    #[serde(deserialize_with = "nullable")]
    pub version: String,
    #[serde(rename = "createdAt", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub changelog: String,
    /// pip requirement strings from the pack's `[project].dependencies` at publish time.
    #[serde(deserialize_with = "nullable")]
    pub dependencies: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub deprecated: bool,
    /// Opaque; empty when the registry holds no file.
    #[serde(rename = "downloadUrl", deserialize_with = "nullable")]
    pub download_url: String,
    #[serde(deserialize_with = "nullable")]
    pub status: VersionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comfy_node_extract_status: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One node class inside a version, as ComfyUI's `/object_info` described it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ComfyNode {
    #[serde(deserialize_with = "nullable")]
    pub comfy_node_name: String,
    #[serde(deserialize_with = "nullable")]
    pub category: String,
    #[serde(deserialize_with = "nullable")]
    pub description: String,
    /// JSON text: `{"required": {...}, "optional": {...}, "hidden": {...}}`.
    #[serde(deserialize_with = "json_string")]
    pub input_types: String,
    /// JSON text: the output type list.
    #[serde(deserialize_with = "json_string")]
    pub return_types: String,
    /// JSON text: the output name list.
    #[serde(deserialize_with = "json_string")]
    pub return_names: String,
    #[serde(deserialize_with = "nullable")]
    pub output_is_list: Vec<bool>,
    #[serde(deserialize_with = "nullable")]
    pub function: String,
    #[serde(deserialize_with = "nullable")]
    pub deprecated: bool,
    #[serde(deserialize_with = "nullable")]
    pub experimental: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ComfyNode {
    /// `input_types` parsed. Integers up to u64::MAX (seed maxima) survive; an empty string
    /// reads as `{}`.
    pub fn inputs(&self) -> serde_json::Result<Value> {
        if self.input_types.trim().is_empty() {
            return Ok(Value::Object(Map::new()));
        }
        serde_json::from_str(&self.input_types)
    }
}

/// The envelope of `/nodes` and `/nodes/search`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodePage {
    #[serde(deserialize_with = "nullable")]
    pub total: u64,
    #[serde(deserialize_with = "nullable")]
    pub nodes: Vec<Node>,
    #[serde(deserialize_with = "nullable")]
    pub page: u64,
    #[serde(deserialize_with = "nullable")]
    pub limit: u64,
    #[serde(rename = "totalPages", deserialize_with = "nullable")]
    pub total_pages: u64,
}

/// The envelope of `/nodes/{id}/versions/{v}/comfy-nodes`: no total, no page echo.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ComfyNodePage {
    #[serde(deserialize_with = "nullable")]
    pub comfy_nodes: Vec<ComfyNode>,
    #[serde(rename = "totalNumberOfPages", alias = "totalPages", deserialize_with = "nullable")]
    pub total_number_of_pages: u64,
}

/// The envelope of the global `/comfy-nodes` list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ComfyNodeList {
    #[serde(deserialize_with = "nullable")]
    pub comfy_nodes: Vec<ComfyNode>,
    #[serde(deserialize_with = "nullable")]
    pub total: u64,
    #[serde(deserialize_with = "nullable")]
    pub page_size: u64,
}

/// Both error shapes: `{error, message}` and `{message, details}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<String>>,
}

impl ErrorBody {
    pub fn summary(&self) -> Option<String> {
        let mut parts: Vec<&str> = Vec::new();
        if let Some(m) = self.message.as_deref().or(self.error.as_deref()) {
            parts.push(m);
        }
        if let Some(d) = &self.details {
            parts.extend(d.iter().map(String::as_str));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NodeVersionId {
    pub node_id: String,
    pub version: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BulkRequest {
    pub node_versions: Vec<NodeVersionId>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BulkResult {
    pub identifier: NodeVersionId,
    /// `success`, `not_found` or `error`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_version: Option<NodeVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BulkResponse {
    pub node_versions: Vec<BulkResult>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/registry/testdata");

    fn sample(name: &str) -> String {
        fs_err::read_to_string(format!("{SAMPLES}/{name}")).unwrap()
    }

    #[test]
    fn node_page_with_mixed_casing_and_statuses() {
        let page: NodePage = serde_json::from_str(&sample("GET_nodes.page3.limit2.json")).unwrap();
        assert_eq!((page.total, page.page, page.limit, page.total_pages), (5, 3, 2, 3));
        let banned = &page.nodes[0];
        assert_eq!(banned.status, NodeStatus::Banned);
        let lv = banned.latest_version.as_ref().unwrap();
        assert_eq!(lv.status, VersionStatus::Banned);
        assert_eq!(lv.created_at.as_deref(), Some("2024-09-09T09:09:09Z"));
        assert!(lv.download_url.ends_with("node.zip"));
        // Unmodelled fields survive a round trip.
        let again = serde_json::to_value(banned).unwrap();
        assert!(again.get("translations").is_some());
        assert!(again["latest_version"].get("supported_os").is_some());
        assert_eq!(again["latest_version"]["downloadUrl"], lv.download_url.as_str());
    }

    #[test]
    fn comfy_nodes_keep_json_strings_and_u64_maxima() {
        let page: ComfyNodePage = serde_json::from_str(&sample(
            "GET_nodes_example-impact_versions_1.2.0_comfy-nodes.page1.json",
        ))
        .unwrap();
        assert_eq!(page.total_number_of_pages, 2);
        let detailer = &page.comfy_nodes[0];
        let inputs = detailer.inputs().unwrap();
        assert_eq!(inputs["required"]["seed"][1]["max"].as_u64(), Some(u64::MAX));
        assert_eq!(detailer.output_is_list, vec![false, true]);
    }

    #[test]
    fn nulls_and_unknown_values_are_tolerated() {
        let v: NodeVersion = serde_json::from_str(
            r#"{"version":"1.0.0","dependencies":null,"status":"NodeVersionStatusSomethingNew","downloadUrl":null,"new_field":[1]}"#,
        )
        .unwrap();
        assert!(v.dependencies.is_empty());
        assert_eq!(v.status, VersionStatus::Other("NodeVersionStatusSomethingNew".into()));
        assert_eq!(
            serde_json::to_value(&v).unwrap()["status"],
            "NodeVersionStatusSomethingNew"
        );
        let c: ComfyNode = serde_json::from_str(r#"{"comfy_node_name":"X","input_types":{"required":{}}}"#).unwrap();
        assert_eq!(c.input_types, r#"{"required":{}}"#);
    }

    #[test]
    fn both_error_shapes_summarise() {
        let a: ErrorBody = serde_json::from_str(r#"{"error":"Not Found","message":"Node not found"}"#).unwrap();
        assert_eq!(a.summary().as_deref(), Some("Node not found"));
        let b: ErrorBody = serde_json::from_str(r#"{"message":"nope","details":["x"]}"#).unwrap();
        assert_eq!(b.summary().as_deref(), Some("nope; x"));
    }
}
