// The supervisor view: queues (tickets waiting and for how long, assigned, the group's
// load against its capacity, SLA risk), agents with status and load, the routing weights
// (editable), SLA policies, the model registry's versions with their live metrics and
// a rollback button (confirmed in a dialog), the quality inspection (each agent's trend
// and reasons, the flagged conversations and a review of each), and the reports of a chosen period with
// their charts; live, the open conversations (waiting customers and how long, who holds
// each, SLA at risk or breached first) with a takeover: the supervisor takes one over as
// an agent. Errors show inline, never in an alert().
import { api, confirmDialog, customerLabel, duration, el, endSession, explain, inlineError, lang, live, session, signInForm, t, word } from "../lib/api.js";
import { chartLib, charts, colors, timeUnit } from "../lib/charts.js";
import { renderSupervisorQuality } from "../lib/quality.js";

const S = {
  en: { title: "Supervisor", conversationsLive: "Open conversations", customer: "Customer", subject: "Asked", heldBy: "Held by",
    waitedFor: "Open for", slaState: "SLA", takeOver: "Take over", takeOverConfirm: "Take this conversation over from %s? It moves to you.",
    takeOverWaiting: "Take this waiting conversation yourself?", takeOverFailed: "Not taken over.",
    takeOverNoAgent: "To take conversations over, a supervisor needs an agent record with a group and room, online: an admin sets it (Agents), then set yourself online in the console.",
    takenOver: "Taken over: it is yours in the console.", openConsole: "Open in the console", slaFine: "fine", slaBreached: "SLA breached", noConversations: "No open conversations.",
    signInTitle: "Sign in", username: "User name", password: "Password", signIn: "Sign in",
    wrongRole: "This page is for supervisors and admins.", signOut: "Sign out", queues: "Queues", group: "Group", waiting: "Waiting",
    waitingHint: "Tickets waiting for an agent", oldestHint: "How long the longest-waiting ticket has waited",
    assigned: "Assigned", assignedHint: "Tickets an agent holds (assigned, or pending on the customer)",
    loadCap: "Load / capacity", loadHint: "Tickets held by the group's online agents, against the tickets they may hold",
    atRiskHint: "Unresolved tickets close to an SLA deadline",
    atRisk: "SLA at risk", waitingFor: "Oldest wait", load: "Load", agents: "Agents", agent: "Agent", status: "Status", groups: "Groups",
    weights: "Routing weights", save: "Save", saved: "Saved.", saveFailed: "Not saved.", rollbackFailed: "Rollback failed.", sla: "SLA policies", priority: "Priority", firstResponse: "First response",
    resolution: "Resolution", models: "Models", model: "Model", version: "Version", role: "Role", requests: "Requests", errors: "Errors",
    p50: "Mean latency", rollback: "Roll back", rollbackConfirm: "Roll %s back to the version that served before?", noModels: "No models in the repository.", modelsForbidden: "Your role may not see model versions.",
    live: "live", reconnecting: "reconnecting", updated: "Updated", reports: "Reports", period: "Period", today: "Today",
    last7: "Last 7 days", last30: "Last 30 days", conversations: "Conversations", deflection: "Resolved by the bot",
    deflectionHint: "Conversations that never needed a human", frt: "First response (median)", resTime: "Resolution (median)",
    slaFirst: "First responses in time", slaRes: "Resolutions in time", csat: "CSAT", csatHint: "Mean rating of 5, and how many rated",
    opened: "Tickets", resolved: "Resolved", byAgent: "By agent", byHour: "Conversations by hour", byChannel: "By channel",
    csv: "Download CSV", channel: "Channel", escalated: "Escalated", none: "—", byGroup: "By group", dayByDay: "Day by day",
    volumeByDay: "Conversations by day, and the share the bot resolved", timesByDay: "Median first response and resolution by day",
    botOnly: "Bot only", deflectionPct: "Resolved by the bot (%)", channelChart: "Conversations by channel",
    csatChart: "Ratings: mean %s of 5, %n rated", ratings: "Ratings", slaChart: "SLA attainment", hourAxis: "Hour of the day",
    unassigned: "Unassigned", noGroup: "No group", noData: "Nothing in this period.", ofDecided: "%m of %d",
    role_active: "active", role_canary: "canary", role_shadow: "shadow", refused: "refused",
    weight_vip: "vip", weight_skill: "skill", weight_load: "load", weight_wait: "wait",
    admin: "Admin: agents, groups, hours, knowledge base" },
  zh: { title: "主管视图", conversationsLive: "进行中的会话", customer: "客户", subject: "问题", heldBy: "处理坐席",
    waitedFor: "已开启", slaState: "SLA", takeOver: "接管", takeOverConfirm: "确认从 %s 接管此会话？会话将转给您。",
    takeOverWaiting: "确认由您接待这个排队中的会话？", takeOverFailed: "未能接管。",
    takeOverNoAgent: "主管接管会话需要一个属于技能组、有空余接待量且在线的坐席身份：请管理员在“坐席”中设置，然后在坐席工作台把自己设为在线。",
    takenOver: "已接管：可在坐席工作台中处理。", openConsole: "在坐席工作台中打开", slaFine: "正常", slaBreached: "SLA 超时", noConversations: "没有进行中的会话。",
    signInTitle: "登录", username: "用户名", password: "密码", signIn: "登录", wrongRole: "此页面仅供主管和管理员使用。",
    signOut: "退出", queues: "队列", group: "技能组", waiting: "排队中", waitingHint: "等待坐席接待的工单数",
    oldestHint: "等待最久的工单已等待的时长", assigned: "已分配", assignedHint: "坐席正在处理的工单（已分配，或等待客户回复）",
    loadCap: "负载 / 上限", loadHint: "该组在线坐席正在处理的工单数与可接待上限", atRiskHint: "临近 SLA 期限的未解决工单",
    atRisk: "SLA 临近", waitingFor: "最长等待", load: "负载", agents: "坐席",
    agent: "坐席", status: "状态", groups: "所属组", weights: "路由权重", save: "保存", saved: "已保存。", saveFailed: "未保存。", rollbackFailed: "回滚失败。", sla: "SLA 策略", priority: "优先级",
    firstResponse: "首次响应", resolution: "解决", models: "模型", model: "模型", version: "版本", role: "角色", requests: "请求数",
    errors: "错误", p50: "平均延迟", rollback: "回滚", rollbackConfirm: "将 %s 回滚到之前的版本？", noModels: "模型仓库为空。", modelsForbidden: "您的角色无权查看模型版本。",
    live: "实时", reconnecting: "重新连接中", updated: "更新于", reports: "报表", period: "时间段", today: "今天",
    last7: "最近 7 天", last30: "最近 30 天", conversations: "会话数", deflection: "机器人解决率", deflectionHint: "无需人工的会话占比",
    frt: "首次响应（中位数）", resTime: "解决时长（中位数）", slaFirst: "首次响应达标率", slaRes: "解决达标率", csat: "满意度",
    csatHint: "平均分（满分 5 分）与评价数", opened: "工单数", resolved: "已解决", byAgent: "按坐席", byHour: "各时段会话数",
    byChannel: "按渠道", csv: "下载 CSV", channel: "渠道", escalated: "转人工", none: "—", byGroup: "按技能组", dayByDay: "每日趋势",
    volumeByDay: "每日会话数与机器人解决率", timesByDay: "每日首次响应与解决时长（中位数）",
    botOnly: "仅机器人", deflectionPct: "机器人解决率（%）", channelChart: "各渠道会话数",
    csatChart: "评分分布：平均 %s 分（满分 5 分），共 %n 条", ratings: "评价数", slaChart: "SLA 达标率", hourAxis: "时段（点）",
    unassigned: "未分配", noGroup: "未分组", noData: "此时间段内无数据。", ofDecided: "%d 个中 %m 个",
    role_active: "在用", role_canary: "灰度", role_shadow: "影子", refused: "加载失败",
    weight_vip: "VIP", weight_skill: "技能匹配", weight_load: "负载", weight_wait: "等待时长",
    admin: "管理：坐席、技能组、营业时间、知识库" },
};
const tr = (k) => t(S, k);
const app = document.getElementById("app");
document.documentElement.lang = lang;
document.title = "Switchboard — " + tr("title");

const table = (head, rows, testid) => el("table", { "data-testid": testid },
  el("tr", {}, head.map((h) => (Array.isArray(h) ? el("th", { title: h[1] }, h[0]) : el("th", {}, h)))), rows);
let groupNames = {}, agentNames = {};
const qaState = { flaggedOnly: false }; // the quality card: every inspected conversation, or the flagged ones

// renderQueues: one row per skill group; every column is what its heading says.
async function renderQueues() {
  const { queues } = await api("GET", "/v1/queues");
  document.getElementById("queues").replaceChildren(el("h2", {}, tr("queues")),
    table([tr("group"), [tr("waiting"), tr("waitingHint")], [tr("waitingFor"), tr("oldestHint")], [tr("assigned"), tr("assignedHint")],
      [tr("loadCap"), tr("loadHint")], [tr("atRisk"), tr("atRiskHint")]], queues.map((q) =>
      el("tr", { "data-testid": "queue-row", "data-group": q.group_id },
        el("td", {}, groupNames[q.group_id] || q.group_id),
        el("td", { "data-testid": "waiting" }, q.waiting_tickets),
        el("td", { "data-testid": "oldest-wait" }, q.waiting_tickets ? duration(q.oldest_wait_seconds) : "—"),
        el("td", { "data-testid": "assigned" }, q.assigned_tickets),
        el("td", { "data-testid": "group-load" }, q.load + "/" + q.capacity),
        el("td", { "data-testid": "at-risk" }, q.at_risk ? el("span", { class: "tag risk" }, q.at_risk) : "0"))), "queues-table"),
    el("p", { class: "muted" }, tr("updated") + " " + new Date().toLocaleTimeString()));
}

async function renderAgents() {
  const { agents } = await api("GET", "/v1/agents");
  agentNames = Object.fromEntries(agents.map((a) => [a.id, a.name || a.id]));
  document.getElementById("agents").replaceChildren(el("h2", {}, tr("agents")),
    table([tr("agent"), tr("status"), tr("load"), tr("groups")], agents.map((a) =>
      el("tr", { "data-testid": "agent-row", "data-agent": a.id }, el("td", {}, a.name || a.id), el("td", { "data-testid": "agent-status", "data-status": a.status }, word(a.status)), el("td", {}, a.load + "/" + a.capacity),
        el("td", {}, (a.groups || []).join(", ")))), "agents-table"));
}

async function renderWeights() {
  const w = await api("GET", "/v1/routing/weights");
  const inputs = {};
  const msg = el("span", { class: "muted" });
  document.getElementById("weights").replaceChildren(el("h2", {}, tr("weights")),
    el("div", {}, ["vip", "skill", "load", "wait"].map((k) => el("label", {}, tr("weight_" + k) + " ",
      inputs[k] = el("input", { class: "num", type: "number", step: "0.05", min: "0", max: "1", value: w[k], "data-testid": "weight-" + k }), " "))),
    el("div", { class: "actions" }, el("button", { "data-testid": "save-weights", onclick: async () => {
      const body = {};
      for (const k in inputs) body[k] = Number(inputs[k].value);
      try { await api("PUT", "/v1/routing/weights", body); msg.className = "muted"; msg.textContent = tr("saved"); } catch (x) {
        msg.className = "error"; msg.textContent = tr("saveFailed") + " " + explain(x);
      }
    } }, tr("save")), msg));
}

async function renderSLA() {
  const { sla_policies } = await api("GET", "/v1/sla-policies");
  const order = { urgent: 0, high: 1, normal: 2, low: 3 };
  const list = Object.values(sla_policies || {}).sort((a, b) => order[a.priority] - order[b.priority]);
  document.getElementById("sla").replaceChildren(el("h2", {}, tr("sla")),
    table([tr("priority"), tr("firstResponse"), tr("resolution")], list.map((p) =>
      el("tr", {}, el("td", {}, word(p.priority)), el("td", {}, duration(60 * p.first_response_minutes)), el("td", {}, duration(60 * p.resolution_minutes)))), "sla-table"));
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
    box.replaceChildren(el("h2", {}, tr("models")), el("p", { class: "muted", "data-testid": "models-note" }, x.status === 403 ? tr("modelsForbidden") : explain(x)));
    return;
  }
  const rows = [];
  const stats = await modelMetrics().catch(() => ({}));
  for (const m of models || []) {
    for (const v of m.versions || []) {
      const st = stats[m.name + "/" + v.version] || { requests: 0, errors: 0, sum: 0, count: 0 };
      rows.push(el("tr", { "data-testid": "model-row", "data-model": m.name, "data-version": v.version }, el("td", {}, m.name), el("td", {}, v.version),
        el("td", { "data-testid": "model-role" }, (v.roles || []).map((r) => (S.en["role_" + r] ? tr("role_" + r) : r)).join(", ") || (v.error ? tr("refused") + ": " + v.error : "")),
        el("td", { "data-testid": "model-requests" }, st.requests), el("td", {}, st.errors), el("td", {}, st.count ? (1000 * st.sum / st.count).toFixed(1) + " ms" : "—")));
    }
    rows.push(el("tr", {}, el("td", { colspan: "6" }, el("button", { class: "secondary", "data-testid": "rollback", onclick: async (e) => {
      const b = e.currentTarget;
      if (!(await confirmDialog(tr("rollbackConfirm").replace("%s", m.name), tr("rollback")))) return;
      try { await api("POST", "/v1/models/" + encodeURIComponent(m.name) + "/rollback"); await renderModels(); } catch (x) {
        b.replaceWith(el("span", { class: "error", "data-testid": "action-error" }, tr("rollbackFailed") + " " + explain(x)));
      }
    } }, tr("rollback") + " " + m.name))));
  }
  box.replaceChildren(el("h2", {}, tr("models")), rows.length ? table([tr("model"), tr("version"), tr("role"), tr("requests"), tr("errors"), tr("p50")], rows, "models-table") :
    el("p", { class: "muted" }, tr("noModels")));
}

// The reports card: the chosen period's figures (GET /v1/reports, in the browser's time
// zone), charts of them (day by day, by hour, by channel, the ratings, and per agent and
// group the median times and SLA attainment), the tables per agent, group and channel,
// and the CSV download. Without the chart library the figures and tables still show,
// with the hours as plain bars.
let reportDays = 7, reportCharts = null;
const pct = (x) => (100 * x).toFixed(0) + "%";
async function renderReports() {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const to = new Date(), from = new Date(to);
  if (reportDays === 1) from.setHours(0, 0, 0, 0); else from.setDate(from.getDate() - reportDays);
  const q = "from=" + encodeURIComponent(from.toISOString()) + "&to=" + encodeURIComponent(to.toISOString()) + "&tz=" + encodeURIComponent(tz);
  const [r, Chart] = await Promise.all([api("GET", "/v1/reports?" + q), chartLib()]);
  if (!Object.keys(agentNames).length) {
    try { agentNames = Object.fromEntries((await api("GET", "/v1/agents")).agents.map((a) => [a.id, a.name || a.id])); } catch (x) { /* ids then */ }
  }
  const pick = el("select", { "data-testid": "report-period", "aria-label": tr("period"),
    onchange: (e) => { reportDays = Number(e.target.value); guarded("reports", renderReports); } },
    [[1, "today"], [7, "last7"], [30, "last30"]].map(([d, k]) => el("option", { value: d, selected: d === reportDays }, tr(k))));
  const download = async () => {
    const s = session.get();
    const res = await fetch("/v1/reports?format=csv&" + q, { headers: { Authorization: "Bearer " + s.token } });
    const url = URL.createObjectURL(await res.blob());
    el("a", { href: url, download: "switchboard-report.csv" }).click();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  };
  const tk = r.tickets, most = Math.max(1, ...r.by_hour);
  const figure = (label, value, testid, hint) => el("div", { class: "figure", "data-testid": testid, title: hint || "" },
    el("div", { class: "value" }, value), el("div", { class: "muted" }, label));
  const agentName = (id) => (id ? agentNames[id] || id : tr("unassigned"));
  const groupName = (id) => (id ? groupNames[id] || id : tr("noGroup"));
  const median = (d) => (d.count ? duration(d.median_seconds) : tr("none"));
  const attained = (a) => (a.decided ? pct(a.share) : tr("none"));
  const hourBars = () => el("div", { class: "bars" }, r.by_hour.map((n, h) =>
    el("div", { class: "bar", title: h + ":00 · " + n }, el("span", { style: "height:" + Math.round(60 * n / most) + "px" }), el("small", {}, String(h)))));
  const c = Chart ? (reportCharts ??= charts(Chart)) : null;
  const perScope = (rows, name, scope) => {
    if (!c) return null;
    const labels = rows.map((a) => name(a.id)), height = 56 + 30 * Math.max(1, rows.length);
    return el("div", { class: "charts" },
      timesChart(c, "chart-" + scope + "-frt", tr("frt"), labels, rows.map((a) => a.first_response), colors.blue, height),
      timesChart(c, "chart-" + scope + "-resolution", tr("resTime"), labels, rows.map((a) => a.resolution), colors.purple, height),
      slaChart(c, "chart-" + scope + "-sla", labels, rows, height));
  };
  document.getElementById("reports").replaceChildren(
    el("h2", {}, tr("reports"), " ", pick, " ", el("button", { class: "secondary", "data-testid": "report-csv", onclick: download }, tr("csv"))),
    el("div", { class: "figures" },
      figure(tr("conversations"), r.conversations, "report-conversations"),
      figure(tr("deflection"), r.conversations ? pct(r.deflection_rate) : tr("none"), "report-deflection", tr("deflectionHint")),
      figure(tr("frt"), median(tk.first_response), "report-frt"),
      figure(tr("resTime"), median(tk.resolution), "report-resolution"),
      figure(tr("slaFirst"), attained(tk.sla_first_response), "report-sla-first"),
      figure(tr("slaRes"), attained(tk.sla_resolution), "report-sla-resolution"),
      figure(tr("csat"), r.csat.count ? r.csat.mean.toFixed(1) + " · " + r.csat.count : tr("none"), "report-csat", tr("csatHint"))),
    c && el("h3", {}, tr("dayByDay")),
    c && el("div", { class: "charts" }, volumeByDay(c, r.by_day || []), timesByDay(c, r.by_day || [])),
    el("h3", {}, tr("byHour")),
    el("div", { "data-testid": "report-hours" }, c ? byHourChart(c, r.by_hour) : hourBars()),
    el("h3", {}, tr("byChannel"), " · ", tr("csat")),
    c && el("div", { class: "charts" }, byChannelChart(c, r.by_channel), csatChart(c, r.csat)),
    table([tr("channel"), tr("conversations"), tr("escalated")], r.by_channel.map((ch) =>
      el("tr", {}, el("td", {}, ch.channel), el("td", {}, ch.conversations), el("td", {}, ch.escalated))), "report-channels"),
    el("h3", {}, tr("byAgent")),
    perScope(r.by_agent, agentName, "agents"),
    table([tr("agent"), tr("opened"), tr("resolved"), tr("frt"), tr("resTime"), tr("csat")], r.by_agent.map((a) =>
      el("tr", { "data-testid": "report-agent", "data-agent": a.id || "-" }, el("td", {}, agentName(a.id)), el("td", {}, a.opened), el("td", {}, a.resolved),
        el("td", {}, median(a.first_response)), el("td", {}, median(a.resolution)),
        el("td", {}, a.csat.count ? a.csat.mean.toFixed(1) + " · " + a.csat.count : tr("none")))), "report-agents"),
    el("h3", {}, tr("byGroup")),
    perScope(r.by_group, groupName, "groups"),
    table([tr("group"), tr("opened"), tr("resolved"), tr("frt"), tr("resTime"), tr("slaFirst"), tr("slaRes")], r.by_group.map((g) =>
      el("tr", { "data-testid": "report-group", "data-group": g.id || "-" }, el("td", {}, groupName(g.id)), el("td", {}, g.opened), el("td", {}, g.resolved),
        el("td", {}, median(g.first_response)), el("td", {}, median(g.resolution)),
        el("td", {}, attained(g.sla_first_response)), el("td", {}, attained(g.sla_resolution)))), "report-groups"));
  if (c) c.draw();
  document.getElementById("reports").dataset.period = reportDays; // drawn: the browser test waits for it
}

// The report's charts. Each returns a <figure data-testid="chart-…">; counts on their
// axes are whole, durations in the unit that reads best, shares in percent.
const whole = { beginAtZero: true, ticks: { precision: 0 } };
const percentAxis = (more) => ({ min: 0, max: 100, ticks: { callback: (v) => v + "%" }, ...more });
const dayLabel = (date) => new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en", { month: "short", day: "numeric", timeZone: "UTC" })
  .format(new Date(date + "T12:00:00Z"));
const axisTitle = (text, color) => ({ display: true, text, color });
const dayAxis = (more) => ({ ticks: { maxRotation: 0, autoSkip: true }, ...more }); // every other day on a phone, not slanted

function volumeByDay(c, days) {
  return c.figure("chart-by-day", tr("volumeByDay"), 240, {
    type: "bar",
    data: { labels: days.map((d) => dayLabel(d.date)), datasets: [
      { type: "line", label: tr("deflectionPct"), data: days.map((d) => (d.conversations ? Math.round(100 * d.deflection_rate) : null)),
        yAxisID: "share", borderColor: colors.blue, backgroundColor: colors.blue, pointRadius: 3, spanGaps: true, order: 0 },
      { label: tr("botOnly"), data: days.map((d) => d.conversations - d.escalated), backgroundColor: colors.green, stack: "c", order: 1 },
      { label: tr("escalated"), data: days.map((d) => d.escalated), backgroundColor: colors.orange, stack: "c", order: 1 }] },
    options: { scales: { x: dayAxis({ stacked: true }), y: { ...whole, stacked: true, title: axisTitle(tr("conversations")) },
      share: percentAxis({ position: "right", grid: { drawOnChartArea: false } }) },
    plugins: { tooltip: { callbacks: { label: (x) => x.dataset.label + ": " + x.formattedValue + (x.dataset.yAxisID === "share" ? "%" : "") } } } },
  }, days.length ? null : tr("noData"));
}

function timesByDay(c, days) {
  const series = (key) => days.map((d) => (d[key].count ? d[key].median_seconds : null));
  const frt = series("first_response"), res = series("resolution");
  const fu = timeUnit(Math.max(0, ...frt)), ru = timeUnit(Math.max(0, ...res));
  const line = (label, data, u, axis, color) => ({ type: "line", label, data: data.map((s) => (s === null ? null : s / u.per)), seconds: data,
    yAxisID: axis, borderColor: color, backgroundColor: color, pointRadius: 3, spanGaps: true });
  return c.figure("chart-by-day-times", tr("timesByDay"), 240, {
    data: { labels: days.map((d) => dayLabel(d.date)), datasets: [line(tr("frt"), frt, fu, "y", colors.blue), line(tr("resTime"), res, ru, "res", colors.purple)] },
    // two axes, each in its line's colour: first responses take minutes, resolutions hours
    options: { scales: { x: dayAxis({ offset: true }),
      y: { beginAtZero: true, title: axisTitle(tr("frt") + " · " + word(fu.key), colors.blue), ticks: { color: colors.blue } },
      res: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: axisTitle(tr("resTime") + " · " + word(ru.key), colors.purple),
        ticks: { color: colors.purple } } },
    plugins: { tooltip: { callbacks: { label: (x) => x.dataset.label + ": " + duration(x.dataset.seconds[x.dataIndex]) } } } },
  }, days.some((d) => d.first_response.count || d.resolution.count) ? null : tr("noData"));
}

function byHourChart(c, hours) {
  return c.figure("chart-by-hour", tr("byHour"), 200, {
    type: "bar",
    data: { labels: hours.map((_, h) => String(h)), datasets: [{ label: tr("conversations"), data: hours, backgroundColor: colors.blue }] },
    options: { scales: { x: { title: axisTitle(tr("hourAxis")), ticks: { autoSkip: true, maxRotation: 0 } }, y: whole },
      plugins: { legend: { display: false }, tooltip: { callbacks: { title: (x) => x[0].label + ":00" } } } },
  });
}

function byChannelChart(c, channels) {
  return c.figure("chart-by-channel", tr("channelChart"), 56 + 30 * Math.max(1, channels.length), {
    type: "bar",
    data: { labels: channels.map((ch) => ch.channel), datasets: [
      { label: tr("botOnly"), data: channels.map((ch) => ch.conversations - ch.escalated), backgroundColor: colors.green },
      { label: tr("escalated"), data: channels.map((ch) => ch.escalated), backgroundColor: colors.orange }] },
    options: { indexAxis: "y", scales: { x: { ...whole, stacked: true }, y: { stacked: true } } },
  }, channels.length ? null : tr("noData"));
}

function csatChart(c, csat) {
  const caption = csat.count ? tr("csatChart").replace("%s", csat.mean.toFixed(1)).replace("%n", csat.count) : tr("csat");
  return c.figure("chart-csat", caption, 180, {
    type: "bar",
    data: { labels: ["1 ★", "2 ★", "3 ★", "4 ★", "5 ★"],
      datasets: [{ label: tr("ratings"), data: csat.distribution, backgroundColor: ["#c0392b", "#e67e22", "#f1c40f", "#8bc34a", colors.green] }] },
    options: { scales: { y: { ...whole, title: axisTitle(tr("ratings")) } }, plugins: { legend: { display: false } } },
  }, csat.count ? null : tr("noData"));
}

// timesChart: one bar per agent or group, its median time (first response or resolution).
function timesChart(c, testid, caption, labels, times, color, height) {
  const secs = times.map((d) => (d.count ? d.median_seconds : null)), u = timeUnit(Math.max(0, ...secs));
  return c.figure(testid, caption, height, {
    type: "bar",
    data: { labels, datasets: [{ label: caption, data: secs.map((s) => (s === null ? null : s / u.per)), backgroundColor: color }] },
    options: { indexAxis: "y", scales: { x: { beginAtZero: true, title: axisTitle(word(u.key)) } },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (x) => duration(secs[x.dataIndex]) } } } },
  }, times.some((d) => d.count) ? null : tr("noData"));
}

// slaChart: per agent or group, the shares of first responses and resolutions in time.
function slaChart(c, testid, labels, rows, height) {
  const set = (label, key, color) => ({ label, backgroundColor: color, attained: rows.map((a) => a[key]),
    data: rows.map((a) => (a[key].decided ? Math.round(100 * a[key].share) : null)) });
  return c.figure(testid, tr("slaChart"), height + 24, {
    type: "bar",
    data: { labels, datasets: [set(tr("slaFirst"), "sla_first_response", colors.blue), set(tr("slaRes"), "sla_resolution", colors.purple)] },
    options: { indexAxis: "y", scales: { x: percentAxis() },
      plugins: { tooltip: { callbacks: { label: (x) => {
        const a = x.dataset.attained[x.dataIndex];
        return x.dataset.label + ": " + x.formattedValue + "% (" + tr("ofDecided").replace("%m", a.met).replace("%d", a.decided) + ")";
      } } } } },
  }, rows.some((a) => a.sla_first_response.decided || a.sla_resolution.decided) ? null : tr("noData"));
}

// guarded renders a card; a failure shows in the card instead of its content.
async function guarded(id, render) {
  try { await render(); } catch (x) {
    const box = document.getElementById(id);
    const line = box.querySelector(":scope > .error") || el("p", { class: "error", "data-testid": "card-error" });
    line.textContent = explain(x);
    box.appendChild(line);
  }
}

// renderConversations lists the open conversations, breached and at-risk ones first,
// then by how long they have been open; each may be taken over.
async function renderConversations() {
  const [open, breached, atRisk] = await Promise.all([api("GET", "/v1/tickets?view=open&limit=200"),
    api("GET", "/v1/tickets?view=open&sla=breached&limit=200"), api("GET", "/v1/tickets?view=open&sla=at_risk&limit=200")]);
  const state = new Map([...breached.tickets.map((x) => [x.id, "breached"]), ...atRisk.tickets.map((x) => [x.id, "at_risk"])]);
  const order = { breached: 0, at_risk: 1 };
  const list = [...open.tickets].sort((a, b) => ((order[state.get(a.id)] ?? 2) - (order[state.get(b.id)] ?? 2)) ||
    (new Date(a.created_at) - new Date(b.created_at)));
  const box = document.getElementById("conversations");
  const note = el("div", { "data-testid": "takeover-note" });
  const keep = box.querySelector('[data-testid="takeover-note"]');
  box.replaceChildren(el("h2", {}, tr("conversationsLive") + " (" + list.length + ")"), keep || note,
    list.length ? table([tr("customer"), tr("subject"), tr("group"), tr("heldBy"), tr("waitedFor"), tr("slaState"), ""], list.map((tk) => {
      const sla = state.get(tk.id);
      return el("tr", { "data-testid": "conversation-row", "data-ticket": tk.id, "data-sla": sla || "ok", "data-status": tk.status },
        el("td", {}, customerLabel(tk)), el("td", {}, tk.subject || "—"), el("td", {}, groupNames[tk.group_id] || tk.group_id || "—"),
        el("td", { "data-testid": "held-by" }, tk.assignee_id || word("open")),
        el("td", {}, duration((Date.now() - new Date(tk.created_at)) / 1000)),
        el("td", {}, sla ? el("span", { class: "tag " + (sla === "breached" ? "breached" : "risk") }, tr(sla === "breached" ? "slaBreached" : "atRisk")) : tr("slaFine")),
        el("td", {}, tk.assignee_id === session.get().subject ? el("a", { href: "/ui/console/#ticket=" + tk.id }, tr("openConsole"))
          : el("button", { class: "secondary", "data-testid": "take-over", onclick: () => takeOver(tk) }, tr("takeOver"))));
    }), "conversations-table") : el("p", { class: "muted" }, tr("noConversations")));
}

// takeOver moves a conversation to the supervisor (an agent of theirs: transfer to
// themselves), after a confirmation; the outcome shows above the table.
async function takeOver(tk) {
  const ask = tk.assignee_id ? tr("takeOverConfirm").replace("%s", tk.assignee_id) : tr("takeOverWaiting");
  if (!(await confirmDialog(ask, tr("takeOver")))) return;
  const me = session.get().subject;
  const note = document.querySelector('[data-testid="takeover-note"]');
  try {
    await api("POST", "/v1/tickets/" + tk.id + "/transfer", { agent: me });
    note.replaceChildren(el("p", { class: "muted", "data-testid": "taken-over", "data-ticket": tk.id }, tr("takenOver") + " ",
      el("a", { href: "/ui/console/#ticket=" + tk.id }, tr("openConsole"))));
  } catch (x) {
    note.replaceChildren(inlineError(tr("takeOverFailed"), x.status === 404 || x.code === "no_capacity" ? tr("takeOverNoAgent") + " (" + explain(x) + ")" : explain(x)));
  }
  await guarded("conversations", renderConversations);
}

async function refresh() {
  await Promise.all([guarded("queues", renderQueues), guarded("agents", renderAgents), guarded("conversations", renderConversations)]);
}

async function start() {
  let me = session.get();
  if (!me || !["supervisor", "admin"].includes(me.role)) me = await signInForm(app, S, ["supervisor", "admin"]);
  const liveTag = el("span", { class: "muted", "data-testid": "live" }, "…");
  app.replaceChildren(
    el("header", { class: "top" }, el("h1", {}, "Switchboard · " + tr("title")),
      el("a", { href: "/ui/admin/" + (new URLSearchParams(location.search).get("lang") ? "?lang=" + lang : ""), class: "to-admin", "data-testid": "to-admin" }, tr("admin")),
      el("span", {}, me.subject), liveTag,
      el("button", { class: "secondary", "data-testid": "signout", onclick: () => endSession("signedOut") }, tr("signOut"))),
    el("main", { class: "grid sup" },
      el("div", {}, el("section", { class: "card", id: "queues" }), el("section", { class: "card", id: "agents" })),
      el("section", { class: "card wide", id: "conversations", "data-testid": "conversations" }),
      el("div", {}, el("section", { class: "card", id: "weights" }), el("section", { class: "card", id: "sla" })),
      el("section", { class: "card wide", id: "models" }),
      el("section", { class: "card wide", id: "quality", "data-testid": "quality" }),
      el("section", { class: "card wide", id: "reports", "data-testid": "reports" })));
  try { groupNames = Object.fromEntries((await api("GET", "/v1/skill-groups")).skill_groups.map((g) => [g.id, g.name || g.id])); } catch (x) { groupNames = {}; }
  const quality = () => guarded("quality", () => renderSupervisorQuality(document.getElementById("quality"), qaState));
  await Promise.all([refresh(), guarded("weights", renderWeights), guarded("sla", renderSLA), guarded("models", renderModels),
    guarded("reports", renderReports), quality()]);
  live(() => refresh(), (up, again) => {
    liveTag.textContent = up ? "● " + tr("live") : "○ " + tr("reconnecting");
    liveTag.dataset.state = up ? "live" : "down";
    if (up && again) refresh();
  });
  setInterval(() => { refresh(); guarded("models", renderModels); }, 5000);
  setInterval(quality, 15000);
}

start();
