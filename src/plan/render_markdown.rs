//! The plan as a Markdown block for pull-request comments (`plan --format markdown`): a
//! heading, the summary line, the actions grouped by kind, and a fenced `diff` block whose
//! `+`/`-`/`~` lines GitHub colours. Pure: a plan in, text out.

use super::{Kind, Plan};

/// `lock_status` as for `render_json`: "updated" adds a note that apply will rewrite the lock.
pub fn render_markdown(plan: &Plan, lock_status: &str) -> String {
    let mut out = format!("### comfydock plan: {}\n\n", code_span(&plan.environment));
    if lock_status == "updated" {
        out.push_str("> The manifest changed since the last lock; apply will update `comfydock.lock`.\n\n");
    }
    let skipped = super::render::skipped_note(plan);
    if !skipped.is_empty() {
        out.push_str(&format!("> {skipped}\n"));
    }
    if plan.is_empty() {
        out.push_str("**No changes.** The environment matches its lock.\n");
        return out;
    }
    let s = plan.summary();
    out.push_str(&format!(
        "**Plan:** {} to add, {} to change, {} to destroy.\n",
        s.add, s.change, s.destroy
    ));
    for (kind, title) in [
        (Kind::Create, "Add"),
        (Kind::Update, "Change"),
        (Kind::Delete, "Destroy"),
    ] {
        let ids: Vec<String> = plan
            .actions
            .iter()
            .filter(|a| a.kind() == kind)
            .map(|a| code_span(&a.id()))
            .collect();
        if !ids.is_empty() {
            out.push_str(&format!("\n**{title} ({}):** {}\n", ids.len(), ids.join(", ")));
        }
    }
    let mut body = String::new();
    for action in &plan.actions {
        body.push_str(&format!(
            "{} {}\n",
            action.kind().symbol(),
            one_line(&action.describe())
        ));
        for line in action.detail_lines() {
            body.push_str(&format!("    {}\n", one_line(&line)));
        }
    }
    let fence = fence_for(&body);
    out.push_str(&format!("\n{fence}diff\n{body}{fence}\n"));
    out
}

/// Text inside backticks, with a fence longer than any run of backticks in it (CommonMark),
/// so an id or path cannot end the span and inject Markdown.
fn code_span(text: &str) -> String {
    let text = one_line(text);
    let ticks = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// A code fence of at least three backticks, longer than any run in `body`.
fn fence_for(body: &str) -> String {
    "`".repeat((longest_backtick_run(body) + 1).max(3))
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Line breaks in a value (a hand-written reason, a path) would break the block's layout.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;

    fn sample() -> Plan {
        let mut plan = Plan::new("prod");
        let commit = |c: char| c.to_string().repeat(40).parse().unwrap();
        let pin = crate::manifest::PackPin::Git(crate::manifest::GitPin {
            repository: "https://example.com/alpha".parse().unwrap(),
            rev: Some("v1.0.0".parse().unwrap()),
            commit: commit('a'),
            tree: crate::types::Blake3::of_bytes(b"alpha"),
            folder: None,
        });
        plan.push(Action::InstallNode {
            id: "alpha".parse().unwrap(),
            source: crate::manifest::NodeSource::Git,
            version: "v1.0.0".into(),
            run_install: false,
            notes: vec!["runs install.py".into()],
            pin,
        });
        plan.push(Action::CheckoutComfyui {
            from: commit('1'),
            rev: "v0.2.0".parse().unwrap(),
            to: commit('2'),
        });
        plan.push(Action::RemoveNode {
            id: "beta".parse().unwrap(),
            linked: false,
            required_by: vec!["portrait".into()],
        });
        plan
    }

    #[test]
    fn a_plan_renders_as_summary_groups_and_a_diff_block() {
        let expected = "\
### comfydock plan: `prod`

**Plan:** 1 to add, 1 to change, 1 to destroy.

**Add (1):** `node.alpha`

**Change (1):** `comfyui`

**Destroy (1):** `node.beta`

```diff
+ node alpha v1.0.0 (git)
    ! runs install.py
~ comfyui 1111111111 -> v0.2.0 (2222222222)
- node beta (moved to trash)  (required by workflows portrait)
```
";
        assert_eq!(render_markdown(&sample(), "fresh"), expected);
    }

    #[test]
    fn an_empty_plan_says_no_changes_and_a_new_lock_is_noted() {
        let text = render_markdown(&Plan::new("prod"), "updated");
        assert_eq!(
            text,
            "### comfydock plan: `prod`\n\n> The manifest changed since the last lock; apply will update `comfydock.lock`.\n\n**No changes.** The environment matches its lock.\n"
        );
    }

    #[test]
    fn backticks_in_values_cannot_close_the_fence() {
        let mut plan = Plan::new("prod");
        plan.push(Action::TrashUntracked {
            name: "evil```\n# injected".into(),
        });
        let text = render_markdown(&plan, "fresh");
        assert!(text.contains(
            "````diff\n- custom_nodes/evil``` # injected (untracked; moved to trash; to keep it: comfydock node adopt evil``` # injected)\n````\n"
        ));
        assert!(text.contains("````untracked.evil``` # injected````"));
        assert!(!text.contains("\n# injected"));
    }
}
