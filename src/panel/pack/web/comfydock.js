// comfydock's sidebar tab in ComfyUI. It shows what the comfydock binary reports (through the
// routes of ../__init__.py) and asks it to act; it decides nothing itself. See docs/panel.md.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

let session = null;
let root = null;
const progress = [];

async function getSession() {
  if (!session) session = await (await api.fetchApi("/comfydock/session")).json();
  return session;
}

async function call(path, body) {
  const s = await getSession();
  const init = body === undefined
    ? {}
    : {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Comfydock-Token": s.token },
        body: JSON.stringify(body),
      };
  const res = await api.fetchApi(path, init);
  let doc;
  try {
    doc = await res.json();
  } catch {
    doc = { ok: false, error: `${res.status} ${res.statusText}` };
  }
  if (res.status === 403) session = null; // a new token after a restart
  return doc;
}

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function failure(doc) {
  const text = doc.error || (doc.log || "").trim() || doc.output || `comfydock exited with ${doc.exit_code}`;
  return h("pre", { class: "comfydock-error" }, text);
}

function section(title, id, ...body) {
  return h("section", { class: "comfydock-section", "data-section": id }, h("h3", {}, title), ...body);
}

function button(label, id, onclick) {
  return h("button", { class: "comfydock-button", "data-action": id, onclick }, label);
}

async function act(question, path, body) {
  if (question && !window.confirm(question)) return;
  progress.length = 0;
  setBusy(true);
  const doc = await call(path, body);
  setBusy(false);
  progress.length = 0; // shown in full below as the command's log
  const out = root?.querySelector("[data-section=result]");
  if (out) {
    const parts = [
      doc.ok ? h("p", { class: "comfydock-ok" }, "Done.") : failure(doc),
      doc.ok && doc.log ? h("pre", {}, doc.log.trim()) : null,
      doc.ok && session?.supervised ? button("Restart ComfyUI", "restart", restart) : null,
    ];
    out.replaceChildren(...parts.filter(Boolean));
  }
  await refresh({ keepResult: true });
}

async function restart() {
  const doc = await call("/comfydock/restart", {});
  const out = root?.querySelector("[data-section=result]");
  out?.replaceChildren(doc.ok ? h("p", {}, "Restarting ComfyUI; this page reconnects when it is back.") : failure(doc));
}

function setBusy(busy) {
  root?.classList.toggle("comfydock-busy", busy);
  for (const b of root?.querySelectorAll("button") ?? []) b.disabled = busy;
}

function currentGraph() {
  return app.graph.serialize();
}

function environmentView(status, plan, log) {
  if (!status.ok) return section("Environment", "environment", failure(status));
  const s = status.report;
  const planLines = plan.ok ? (plan.report.actions || []).map((a) => h("li", {}, `${a.symbol} ${a.description}`)) : [];
  const gens = log.ok ? (log.report.generations || []) : [];
  return section(
    "Environment",
    "environment",
    h("p", {}, h("b", {}, s.environment), ` · generation ${s.generation} · `, s.in_sync ? "in sync" : "not in sync"),
    h("p", {}, `Lock: ${s.lock}`),
    s.drift.length ? h("ul", { class: "comfydock-drift" }, s.drift.map((d) => h("li", {}, d))) : null,
    planLines.length
      ? h("div", {}, h("p", {}, "Plan:"), h("ul", { class: "comfydock-plan" }, planLines),
          button("Apply", "apply", () => act("Apply this plan to the environment?", "/comfydock/apply", {})))
      : null,
    gens.length > 1
      ? h("details", {}, h("summary", {}, `Generations (${gens.length})`),
          h("ul", {}, gens.map((g) => h("li", {}, `${g.number}: ${g.summary || ""} `,
            g.current ? "(current)" : button(`Roll back to ${g.number}`, `rollback-${g.number}`,
              () => act(`Roll back to generation ${g.number}?`, "/comfydock/rollback", { generation: g.number }))))))
      : null,
  );
}

function needsView(needs) {
  if (!needs) return section("This workflow needs", "needs", h("p", {}, "…"));
  if (!needs.report) return section("This workflow needs", "needs", failure(needs));
  const r = needs.report;
  const nodes = r.nodes.map((n) =>
    h("li", { class: "comfydock-need" }, h("b", {}, n.node_type), " → pack ", h("b", {}, n.id),
      ` (${n.spec.source || "git"}${n.spec.repository ? ": " + n.spec.repository : ""}${n.spec.version ? " " + n.spec.version : ""})`,
      h("br"), h("small", {}, `why: ${n.reason}`)));
  const models = r.models.map((m) =>
    h("li", { class: "comfydock-need" }, h("b", {}, m.path), " → model ", h("b", {}, m.key),
      (m.spec.sources || []).length ? ` (source: ${m.spec.sources.map((s) => s.url || s.repo || s.model_id).join(", ")})` : " (found locally)"));
  const open = [...r.choices.map((c) => `${c.node_type}: several packs (${c.packs.join(", ")})`),
                ...r.unresolved.map((u) => `cannot resolve ${u}`)];
  const nothing = !nodes.length && !models.length && !open.length;
  return section(
    "This workflow needs",
    "needs",
    nothing ? h("p", {}, "Nothing: the environment has every node type and model it uses.") : null,
    nodes.length ? h("ul", {}, nodes) : null,
    models.length ? h("ul", {}, models) : null,
    open.length ? h("ul", { class: "comfydock-drift" }, open.map((o) => h("li", {}, o))) : null,
    nodes.length || models.length
      ? button("Add them to the environment", "add-needs",
          () => act("Add these packs and models to the environment (lock and apply)?", "/comfydock/add", currentGraph()))
      : null,
    button("Check again", "check-needs", () => refresh({ keepResult: true })),
  );
}

function workflowsView(workflows, tests) {
  const rows = workflows.ok ? (workflows.report.workflows || []) : [];
  const results = tests.ok && tests.report ? (tests.report.workflows || []) : [];
  return section(
    "Tracked workflows",
    "workflows",
    workflows.ok ? null : failure(workflows),
    rows.length ? h("ul", {}, rows.map((w) => h("li", {}, `${w.name}: ${w.state}`))) : h("p", {}, "None tracked."),
    results.length
      ? h("div", {}, h("p", {}, "Last test:"),
          h("ul", {}, results.map((t) => h("li", {}, `${t.name}: ${t.status}`))))
      : h("p", {}, "No test results yet (`comfydock test`)."),
  );
}

function untrackedView(status) {
  const names = status.ok ? (status.report.untracked || []) : [];
  if (!names.length) return null;
  return section(
    "Installed outside comfydock",
    "untracked",
    h("ul", {}, names.map((n) => h("li", {}, `custom_nodes/${n} `,
      button("Adopt", `adopt-${n}`, () => act(`Adopt custom_nodes/${n} as a declared pack?`, "/comfydock/adopt", { name: n }))))),
  );
}

async function refresh(opts = {}) {
  if (!root) return;
  const s = await getSession();
  if (!s.configured) {
    root.replaceChildren(h("p", {}, "Start ComfyUI with `comfydock -e NAME run` to use this panel."));
    return;
  }
  const result = opts.keepResult ? root.querySelector("[data-section=result]") : null;
  const [status, plan, log, workflows, tests, needs] = await Promise.all([
    call("/comfydock/status"), call("/comfydock/plan"), call("/comfydock/log"),
    call("/comfydock/workflows"), call("/comfydock/tests"), call("/comfydock/needs", currentGraph()),
  ]);
  if (!root) return;
  const parts = [
    h("h2", {}, "comfydock"),
    environmentView(status, plan, log),
    needsView(needs),
    workflowsView(workflows, tests),
    untrackedView(status),
    result ?? h("section", { class: "comfydock-section", "data-section": "result" }),
    h("pre", { class: "comfydock-progress", "data-section": "progress" }, progress.join("\n")),
  ];
  root.replaceChildren(...parts.filter(Boolean));
}

const style = `
.comfydock-panel { padding: 0.6rem; font-size: 0.85rem; overflow-y: auto; height: 100%; }
.comfydock-panel h2 { font-size: 1.1rem; margin: 0 0 0.5rem; }
.comfydock-panel h3 { font-size: 0.95rem; margin: 0.8rem 0 0.3rem; }
.comfydock-panel ul { margin: 0.2rem 0; padding-left: 1.1rem; }
.comfydock-panel pre { white-space: pre-wrap; font-size: 0.75rem; }
.comfydock-error { color: #f87171; }
.comfydock-drift li { color: #fbbf24; }
.comfydock-button { margin: 0.3rem 0.3rem 0 0; padding: 0.2rem 0.6rem; cursor: pointer; }
.comfydock-busy { opacity: 0.7; }
`;

app.registerExtension({
  name: "comfydock.panel",
  async setup() {
    document.head.append(h("style", {}, style));
    api.addEventListener("comfydock.progress", (e) => {
      progress.push(e.detail.line);
      const el = root?.querySelector("[data-section=progress]");
      if (el) el.textContent = progress.join("\n");
    });
    api.addEventListener("reconnected", () => {
      session = null;
      refresh();
    });
    app.extensionManager.registerSidebarTab({
      id: "comfydock",
      icon: "pi pi-box",
      title: "comfydock",
      tooltip: "comfydock: this environment, what the open workflow needs",
      type: "custom",
      render: (el) => {
        root = h("div", { class: "comfydock-panel" }, h("p", {}, "Loading…"));
        el.replaceChildren(root);
        refresh();
      },
      destroy: () => {
        root = null;
      },
    });
  },
});
