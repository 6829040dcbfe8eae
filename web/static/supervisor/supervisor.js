// The supervisor view: queues with depth and SLA risk, agents with status and load,
// the routing weights (editable), SLA policies, and the model registry's versions with
// their live metrics and a rollback button.
import { api, el, lang, live, session, signInForm, t } from "../lib/api.js";

const S = {
  en: { title: "Supervisor", signInTitle: "Sign in", username: "User name", password: "Password", signIn: "Sign in",
    wrongRole: "This page is for supervisors and admins.", signOut: "Sign out", queues: "Queues", group: "Group", backlog: "Waiting",
    atRisk: "SLA at risk", waitingFor: "Oldest wait", load: "Load", agents: "Agents", agent: "Agent", status: "Status", groups: "Groups",
    weights: "Routing weights", save: "Save", saved: "Saved.", sla: "SLA policies", priority: "Priority", firstResponse: "First response",
    resolution: "Resolution", models: "Models", model: "Model", version: "Version", role: "Role", requests: "Requests", errors: "Errors",
    p50: "Mean latency", rollback: "Roll back", rollbackConfirm: "Roll %s back to the version that served before?", noModels: "No models in the repository.", modelsForbidden: "Your role may not see model versions.",
    live: "live", reconnecting: "reconnecting", updated: "Updated" },
  zh: { title: "主管视图", signInTitle: "登录", username: "用户名", password: "密码", signIn: "登录", wrongRole: "此页面仅供主管和管理员使用。",
    signOut: "退出", queues: "队列", group: "技能组", backlog: "排队", atRisk: "SLA 临近", waitingFor: "最长等待", load: "负载", agents: "坐席",
    agent: "坐席", status: "状态", groups: "所属组", weights: "路由权重", save: "保存", saved: "已保存。", sla: "SLA 策略", priority: "优先级",
    firstResponse: "首次响应", resolution: "解决", models: "模型", model: "模型", version: "版本", role: "角色", requests: "请求数",
    errors: "错误", p50: "平均延迟", rollback: "回滚", rollbackConfirm: "将 %s 回滚到之前的版本？", noModels: "模型仓库为空。", modelsForbidden: "您的角色无权查看模型版本。",
    live: "实时", reconnecting: "重新连接中", updated: "更新于" },
};
const tr = (k) => t(S, k);
const app = document.getElementById("app");
document.documentElement.lang = lang;
document.title = "Switchboard — " + tr("title");

const table = (head, rows, testid) => el("table", { "data-testid": testid }, el("tr", {}, head.map((h) => el("th", {}, h))), rows);
const secs = (s) => (s >= 3600 ? (s / 3600).toFixed(1) + " h" : s >= 60 ? Math.round(s / 60) + " min" : Math.round(s) + " s");

async function renderQueues() {
  const { queues } = await api("GET", "/v1/queues");
  document.getElementById("queues").replaceChildren(el("h2", {}, tr("queues")),
    table([tr("group"), tr("backlog"), tr("atRisk"), tr("waitingFor"), tr("load")], queues.map((q) =>
      el("tr", { "data-testid": "queue-row", "data-group": q.group_id },
        el("td", {}, q.group_id), el("td", { "data-testid": "backlog" }, q.backlog), el("td", {}, q.at_risk ? el("span", { class: "tag risk" }, q.at_risk) : "0"),
        el("td", {}, q.waiting ? secs(q.waiting) : "—"), el("td", {}, q.load + "/" + q.capacity))), "queues-table"),
    el("p", { class: "muted" }, tr("updated") + " " + new Date().toLocaleTimeString()));
}

async function renderAgents() {
  const { agents } = await api("GET", "/v1/agents");
  document.getElementById("agents").replaceChildren(el("h2", {}, tr("agents")),
    table([tr("agent"), tr("status"), tr("load"), tr("groups")], agents.map((a) =>
      el("tr", { "data-testid": "agent-row" }, el("td", {}, a.name || a.id), el("td", {}, a.status), el("td", {}, a.load + "/" + a.capacity),
        el("td", {}, (a.groups || []).join(", ")))), "agents-table"));
}

async function renderWeights() {
  const w = await api("GET", "/v1/routing/weights");
  const inputs = {};
  const msg = el("span", { class: "muted" });
  document.getElementById("weights").replaceChildren(el("h2", {}, tr("weights")),
    el("div", {}, ["vip", "skill", "load", "wait"].map((k) => el("label", {}, k + " ",
      inputs[k] = el("input", { class: "num", type: "number", step: "0.05", min: "0", max: "1", value: w[k], "data-testid": "weight-" + k }), " "))),
    el("div", { class: "actions" }, el("button", { "data-testid": "save-weights", onclick: async () => {
      const body = {};
      for (const k in inputs) body[k] = Number(inputs[k].value);
      try { await api("PUT", "/v1/routing/weights", body); msg.textContent = tr("saved"); } catch (x) { msg.textContent = x.message; }
    } }, tr("save")), msg));
}

async function renderSLA() {
  const { sla_policies } = await api("GET", "/v1/sla-policies");
  const order = { urgent: 0, high: 1, normal: 2, low: 3 };
  const list = Object.values(sla_policies || {}).sort((a, b) => order[a.priority] - order[b.priority]);
  document.getElementById("sla").replaceChildren(el("h2", {}, tr("sla")),
    table([tr("priority"), tr("firstResponse"), tr("resolution")], list.map((p) =>
      el("tr", {}, el("td", {}, p.priority), el("td", {}, secs(60 * p.first_response_minutes)), el("td", {}, secs(60 * p.resolution_minutes)))), "sla-table"));
}

// modelMetrics reads the registry's counters from /metrics, by "model/version".
async function modelMetrics() {
  const out = {};
  const text = await (await fetch("/metrics")).text();
  const line = /^(switchboard_model_(?:requests_total|errors_total|inference_seconds_sum|inference_seconds_count))\{([^}]*)\} ([0-9.eE+-]+)$/;
  for (const l of text.split("\n")) {
    const m = line.exec(l);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const key = labels.model + "/" + labels.version;
    const st = out[key] || (out[key] = { requests: 0, errors: 0, sum: 0, count: 0 });
    const v = Number(m[3]);
    if (m[1].endsWith("requests_total")) st.requests += v;
    else if (m[1].endsWith("errors_total")) st.errors += v;
    else if (m[1].endsWith("_sum")) st.sum += v;
    else st.count += v;
  }
  return out;
}

async function renderModels() {
  const box = document.getElementById("models");
  let models;
  try { ({ models } = await api("GET", "/v1/models")); } catch (x) {
    box.replaceChildren(el("h2", {}, tr("models")), el("p", { class: "muted", "data-testid": "models-note" }, x.status === 403 ? tr("modelsForbidden") : x.message));
    return;
  }
  const rows = [];
  const stats = await modelMetrics().catch(() => ({}));
  for (const m of models || []) {
    for (const v of m.versions || []) {
      const st = stats[m.name + "/" + v.version] || { requests: 0, errors: 0, sum: 0, count: 0 };
      rows.push(el("tr", { "data-testid": "model-row", "data-model": m.name, "data-version": v.version }, el("td", {}, m.name), el("td", {}, v.version),
        el("td", { "data-testid": "model-role" }, (v.roles || []).join(", ") || (v.error ? "refused: " + v.error : "")),
        el("td", { "data-testid": "model-requests" }, st.requests), el("td", {}, st.errors), el("td", {}, st.count ? (1000 * st.sum / st.count).toFixed(1) + " ms" : "—")));
    }
    rows.push(el("tr", {}, el("td", { colspan: "6" }, el("button", { class: "secondary", "data-testid": "rollback", onclick: async (e) => {
      if (!confirm(tr("rollbackConfirm").replace("%s", m.name))) return;
      try { await api("POST", "/v1/models/" + encodeURIComponent(m.name) + "/rollback"); await renderModels(); } catch (x) { e.target.replaceWith(el("span", { class: "error" }, x.message)); }
    } }, tr("rollback") + " " + m.name))));
  }
  box.replaceChildren(el("h2", {}, tr("models")), rows.length ? table([tr("model"), tr("version"), tr("role"), tr("requests"), tr("errors"), tr("p50")], rows, "models-table") :
    el("p", { class: "muted" }, tr("noModels")));
}

async function refresh() {
  await Promise.allSettled([renderQueues(), renderAgents()]);
}

async function start() {
  let me = session.get();
  if (!me || !["supervisor", "admin"].includes(me.role)) me = await signInForm(app, S, ["supervisor", "admin"]);
  const liveTag = el("span", { class: "muted", "data-testid": "live" }, "…");
  app.replaceChildren(
    el("header", { class: "top" }, el("h1", {}, "Switchboard · " + tr("title")), el("span", {}, me.subject), liveTag,
      el("button", { class: "secondary", onclick: () => { session.clear(); location.reload(); } }, tr("signOut"))),
    el("main", { class: "grid" },
      el("div", {}, el("section", { class: "card", id: "queues" }), el("section", { class: "card", id: "agents" })),
      el("div", {}, el("section", { class: "card", id: "weights" }), el("section", { class: "card", id: "sla" })),
      el("section", { class: "card wide", id: "models" })));
  await Promise.allSettled([refresh(), renderWeights(), renderSLA(), renderModels()]);
  live(() => refresh(), (up) => { liveTag.textContent = up ? "● " + tr("live") : "○ " + tr("reconnecting"); liveTag.dataset.state = up ? "live" : "down"; });
  setInterval(() => { refresh(); renderModels(); }, 5000);
}

start();
