//! Plans for people (Terraform's layout) and for machines (one JSON document).

use super::{FORMAT_VERSION, Plan};
use serde_json::json;

pub fn render_text(plan: &Plan) -> String {
    if plan.is_empty() {
        return format!("No changes. The environment matches its lock.\n{}", skipped_note(plan));
    }
    let mut out = String::from("comfydock will perform the following actions:\n\n");
    for action in &plan.actions {
        out.push_str(&format!("  {} {}\n", action.kind().symbol(), action.describe()));
        for line in action.detail_lines() {
            out.push_str(&format!("      {line}\n"));
        }
    }
    let s = plan.summary();
    out.push_str(&format!(
        "\nPlan: {} to add, {} to change, {} to destroy.\n",
        s.add, s.change, s.destroy
    ));
    out.push_str(&skipped_note(plan));
    out
}

/// The line about models this machine skips (empty when there are none).
pub(super) fn skipped_note(plan: &Plan) -> String {
    match plan.skipped_models.len() {
        0 => String::new(),
        n => format!(
            "{n} locked model(s) not placed on this machine (imported with `--models skip`); `comfydock apply --place-models` places them.\n"
        ),
    }
}

/// `lock_status`: "fresh", "updated" (the plan uses a newly resolved lock) or "frozen".
pub fn render_json(plan: &Plan, lock_status: &str, fingerprint: &str) -> serde_json::Value {
    let ids: Vec<String> = plan.actions.iter().map(|a| a.id()).collect();
    let actions: Vec<serde_json::Value> = plan
        .actions
        .iter()
        .enumerate()
        .map(|(i, a)| {
            json!({
                "id": ids[i],
                "action": a.kind(),
                "symbol": a.kind().symbol().to_string(),
                "description": a.describe(),
                "lines": a.detail_lines(),
                "depends_on": plan.depends_on(i).into_iter().map(|d| ids[d].clone()).collect::<Vec<_>>(),
                "details": a,
            })
        })
        .collect();
    let mut doc = json!({
        "format_version": FORMAT_VERSION,
        "environment": plan.environment,
        "changes": !plan.is_empty(),
        "lock": lock_status,
        "summary": plan.summary(),
        "actions": actions,
        "fingerprint": fingerprint,
    });
    if !plan.skipped_models.is_empty() {
        doc["skipped_models"] = json!(plan.skipped_models);
    }
    doc
}
