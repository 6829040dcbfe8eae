// The admin page: agents, skill groups and their business hours, staff sign-ins and
// roles, routing weights, SLA policies, the quality inspection rules (YAML, checked on
// save), the shared canned responses, the knowledge base
// (upload with progress, its documents, deleting one, trying a question) and the model
// versions (promote, canary, roll back). One tab per area; a row is edited in place.
// Administrators may do everything here; supervisors all the API lets them, and a note
// says what is left to others. Errors show inline, never in an alert(); destructive
// actions are confirmed in a dialog.
import { APIError, api, confirmDialog, duration, el, endSession, explain, inlineError, lang, session, signInForm, t, word } from "../lib/api.js";

const S = {
  en: { title: "Admin", signInTitle: "Sign in", username: "User name", password: "Password", signIn: "Sign in",
    wrongRole: "This page is for administrators and supervisors.", signOut: "Sign out", console: "Console", supervisorView: "Supervisor view",
    otherLang: "中文", loading: "Loading…", save: "Save", saved: "Saved.", notSaved: "Not saved.", cancel: "Cancel", edit: "Edit",
    add: "Add", remove: "Remove", del: "Delete", create: "Create", failed: "That did not work.", none: "—", you: "you",
    tabAgents: "Agents", tabGroups: "Groups & skills", tabHours: "Business hours", tabStaff: "Sign-ins & roles", tabRouting: "Routing", tabQuality: "Quality rules",
    tabSLA: "SLA policies", tabCanned: "Canned responses", tabKB: "Knowledge base", tabModels: "Models",
    agentsLead: "Who takes tickets: their groups, skills and how many tickets the router may give them at once. An agent signs in with a sign-in of the same user name.",
    agent: "Agent", id: "ID", name: "Name", groups: "Groups", skills: "Skills", skillsHint: "separated by commas", capacity: "Capacity",
    maxCapacity: "Most they may set", maxHint: "The most the agent may raise their own capacity to (0: their capacity)", status: "Status", load: "Load", signInCol: "Sign-in", noSignIn: "no sign-in", addAgent: "Add an agent",
    agentIDHint: "lower-case letters, digits, . - _", noGroups: "No groups yet: add one under Groups & skills.", noAgents: "No agents yet.",
    groupsLead: "Skill groups are the teams tickets queue for; a ticket goes to a group whose skills it needs.",
    group: "Group", hours: "Business hours", alwaysOpen: "Always open (the SLA policies' hours count)", addGroup: "Add a group",
    editHours: "Hours", holidaysN: "%1 holidays", holiday1: "1 holiday", noGroupsYet: "No groups yet.",
    hoursLead: "When a group works. Outside these hours its SLA clocks stop, and a customer who writes is told when the team is back.",
    pickGroup: "Group", timezone: "Time zone", openingHours: "Opening hours", days: "Days", opensAt: "From", closesAt: "Until",
    addHours: "Add opening hours", holidays: "Holidays", date: "Date", holidayName: "Name", addHoliday: "Add a holiday",
    noCalendar: "This group has no business hours of its own: it never counts as closed, and the SLA policies' hours count its deadlines.",
    setHours: "Set business hours", removeHours: "Remove business hours", removeHoursConfirm: "Remove the business hours of %1? It will count as always open.",
    noHolidays: "No holidays.", untilHint: "24:00 is the end of the day",
    d0: "Sun", d1: "Mon", d2: "Tue", d3: "Wed", d4: "Thu", d5: "Fri", d6: "Sat",
    staffLead: "Who may sign in to the console, and as what. A change ends that person's sessions: they sign in again.",
    staffAdminsOnly: "Only administrators keep sign-ins and roles. Ask an administrator, or run `switchboard users set NAME --role ROLE` on the server.",
    role: "Role", state: "State", enabled: "enabled", disabled: "disabled", updated: "Changed", newPassword: "New password",
    setPassword: "Set password", disable: "Disable", enable: "Enable", saveRole: "Save role", addStaff: "Add a sign-in",
    passwordHint: "10 to 72 characters", ownRow: "You cannot take your own admin role away or disable yourself; another administrator can.",
    roleConfirm: "Make %1 %2? Their current sessions end.", disableConfirm: "Disable %1? They are signed out and cannot sign in until enabled.",
    ownPasswordConfirm: "Change your own password? You will have to sign in again.", passwordSet: "Password set.",
    r_agent: "agent", r_supervisor: "supervisor", r_admin: "admin", "r_ml-engineer": "ML engineer", r_auditor: "auditor",
    routingLead: "How the router scores an agent for a ticket. Each weight is from 0 to 1; what matters is how they compare.",
    qualityLead: "The rules every agent reply is inspected by, in YAML: `default:` for every group and `groups:` for one skill group's own, each starting from the built-in rules. Cue lists (`greeting`, `closing`, `empathy`, `promises`, `rude`, `forbidden`, `negations`, each `{en: […], zh: […]}`) replace the built-in ones; `weights` set what a finding costs. Saved rules are in force within seconds on every server.",
    rulesSource: "In force: %1", src_database: "saved here (version %1, by %2, %3)", src_file: "the server's rules file", "src_built-in": "the built-in rules",
    builtInRules: "The built-in rules", saveRules: "Save the rules",
    w_vip: "VIP customers first", w_skill: "Skill match", w_load: "Free capacity", w_wait: "Waiting time",
    slaLead: "The targets each priority's tickets are held to, in business minutes (the group's hours when it has them).",
    priority: "Priority", firstResponse: "First response (minutes)", resolution: "Resolution (minutes)",
    cannedLead: "The team's shared replies. Agents insert one by typing its shortcut (/refund) in the console; each agent keeps their own there too.",
    shortcut: "Shortcut", language: "Language", anyLang: "any", titleCol: "Title", body: "Text", variables: "Insert",
    addCanned: "Add a shared response", deleteCannedConfirm: "Delete the shared response /%1?", noCanned: "No shared responses yet.",
    kbLead: "What the bot answers from. Uploaded documents are ingested in the background; every server picks the change up within seconds.",
    generation: "Generation", chunks: "Passages", documents: "Documents", docsHeading: "Documents", loadedAt: "Loaded", lastError: "Last problem",
    upload: "Upload", chooseFiles: "FAQ (.csv, .json), Markdown, HTML or text files", pickFiles: "Choose files…", noFiles: "No file chosen", uploading: "Uploading %1%",
    ingesting: "Ingesting: %1 of %2 files", ingested: "Done: %1 added, %2 changed, %3 unchanged. Generation %4.",
    ingestedNothing: "Done: nothing changed.", jobFailed: "Failed: %1", document: "Document", source: "Source",
    uploaded: "uploaded", fromCLI: "from `kb ingest`: %1", deleteDocConfirm: "Delete %1 from the knowledge base? The bot stops answering from it on every server.",
    deleting: "Deleting…", deleted: "Deleted %1 (%2 passages). Generation %3.", noDocuments: "The knowledge base is empty.",
    cliComesBack: "A document `kb ingest` brought comes back when its folder is ingested again.",
    tryQuestion: "Try a question", question: "A customer's question", ask: "Ask", answers: "The bot would answer:",
    handsOver: "The bot would hand this to a human.", handsOverWith: "The bot would hand this to a human; its best answer:",
    confidence: "Confidence", citations: "Sources", noAnswer: "No answer in the knowledge base.",
    redactedAs: "Asked as (personal data removed): %1",
    modelsLead: "The model versions each stage serves. Promote makes a version the active one; a canary sends it a share of the traffic first.",
    modelsML: "Promoting and canarying are for ML engineers and administrators; you may roll a model back.",
    noModels: "No models in the repository.", model: "Model", version: "Version", roles: "Serving", evalCol: "Evaluation", policy: "Policy",
    promote: "Promote", canary: "Canary", canaryPct: "% of traffic", stopCanary: "End the canary", rollback: "Roll back",
    rollbackConfirm: "Roll %1 back from version %2 to the one that served before it?", promoteConfirm: "Make version %1 of %2 the active one?",
    refused: "refused: %1", accuracy: "accuracy %1 on %2", p_latest: "newest valid version", p_pinned: "pinned",
    active: "active", canaryRole: "canary", shadow: "shadow", modelNow: "%1 now answers with version %2." },
  zh: { title: "管理", signInTitle: "登录", username: "用户名", password: "密码", signIn: "登录",
    wrongRole: "此页面仅供管理员和主管使用。", signOut: "退出", console: "坐席工作台", supervisorView: "主管视图",
    otherLang: "English", loading: "加载中…", save: "保存", saved: "已保存。", notSaved: "未保存。", cancel: "取消", edit: "编辑",
    add: "添加", remove: "移除", del: "删除", create: "创建", failed: "操作未成功。", none: "—", you: "本人",
    tabAgents: "坐席", tabGroups: "技能组与技能", tabHours: "营业时间", tabStaff: "登录账号与角色", tabRouting: "路由", tabQuality: "质检规则",
    tabSLA: "SLA 策略", tabCanned: "快捷回复", tabKB: "知识库", tabModels: "模型",
    agentsLead: "接待工单的坐席：所属技能组、技能，以及路由一次最多分配给他们的工单数。坐席使用同名的登录账号登录。",
    agent: "坐席", id: "ID", name: "姓名", groups: "技能组", skills: "技能", skillsHint: "用逗号分隔", capacity: "接待上限",
    maxCapacity: "本人可调至", maxHint: "坐席可自行调高到的最大接待数（0：等于接待上限）", status: "状态", load: "负载", signInCol: "登录账号", noSignIn: "无登录账号", addAgent: "添加坐席",
    agentIDHint: "小写字母、数字及 . - _", noGroups: "还没有技能组：请先在“技能组与技能”中添加。", noAgents: "还没有坐席。",
    groupsLead: "技能组是工单排队的团队；工单会分配给具备其所需技能的技能组。",
    group: "技能组", hours: "营业时间", alwaysOpen: "全天候（按 SLA 策略的时间计算）", addGroup: "添加技能组",
    editHours: "营业时间", holidaysN: "%1 个节假日", holiday1: "1 个节假日", noGroupsYet: "还没有技能组。",
    hoursLead: "技能组的工作时间。非工作时间 SLA 计时暂停，来咨询的客户会收到团队恢复服务的时间。",
    pickGroup: "技能组", timezone: "时区", openingHours: "营业时段", days: "星期", opensAt: "开始", closesAt: "结束",
    addHours: "添加营业时段", holidays: "节假日", date: "日期", holidayName: "名称", addHoliday: "添加节假日",
    noCalendar: "该技能组没有自己的营业时间：始终视为营业，SLA 期限按 SLA 策略的时间计算。",
    setHours: "设置营业时间", removeHours: "移除营业时间", removeHoursConfirm: "移除 %1 的营业时间？该组将视为全天候营业。",
    noHolidays: "没有节假日。", untilHint: "24:00 表示当天结束",
    d0: "周日", d1: "周一", d2: "周二", d3: "周三", d4: "周四", d5: "周五", d6: "周六",
    staffLead: "谁可以登录工作台、以什么角色登录。修改后该用户的登录会结束，需要重新登录。",
    staffAdminsOnly: "只有管理员可以管理登录账号和角色。请联系管理员，或在服务器上运行 `switchboard users set 用户名 --role 角色`。",
    role: "角色", state: "状态", enabled: "已启用", disabled: "已停用", updated: "修改时间", newPassword: "新密码",
    setPassword: "设置密码", disable: "停用", enable: "启用", saveRole: "保存角色", addStaff: "添加登录账号",
    passwordHint: "10 到 72 个字符", ownRow: "您不能取消自己的管理员角色或停用自己的账号；可由其他管理员操作。",
    roleConfirm: "将 %1 的角色改为%2？其当前登录将结束。", disableConfirm: "停用 %1？其登录将结束，启用前无法再登录。",
    ownPasswordConfirm: "修改您自己的密码？修改后需要重新登录。", passwordSet: "密码已设置。",
    r_agent: "坐席", r_supervisor: "主管", r_admin: "管理员", "r_ml-engineer": "算法工程师", r_auditor: "审计员",
    routingLead: "路由为工单给坐席打分的方式。每项权重在 0 到 1 之间，重要的是它们之间的比例。",
    qualityLead: "坐席每条回复的质检规则（YAML）：`default:` 适用于所有技能组，`groups:` 为某个技能组单独设置，都以内置规则为起点。关键词列表（`greeting`、`closing`、`empathy`、`promises`、`rude`、`forbidden`、`negations`，各为 `{en: […], zh: […]}`）替换内置列表；`weights` 设置每项扣分。保存后数秒内在所有服务器生效。",
    rulesSource: "当前生效：%1", src_database: "在此保存（第 %1 版，%2，%3）", src_file: "服务器的规则文件", "src_built-in": "内置规则",
    builtInRules: "内置规则", saveRules: "保存规则",
    w_vip: "VIP 客户优先", w_skill: "技能匹配", w_load: "空闲容量", w_wait: "等待时长",
    slaLead: "各优先级工单的服务目标，以营业分钟计（技能组有营业时间时按其营业时间）。",
    priority: "优先级", firstResponse: "首次响应（分钟）", resolution: "解决（分钟）",
    cannedLead: "团队共享的回复。坐席在工作台输入快捷指令（如 /refund）即可插入；每位坐席也可在工作台保存自己的回复。",
    shortcut: "快捷指令", language: "语言", anyLang: "任意", titleCol: "标题", body: "内容", variables: "插入",
    addCanned: "添加共享回复", deleteCannedConfirm: "删除共享回复 /%1？", noCanned: "还没有共享回复。",
    kbLead: "机器人回答所依据的内容。上传的文档在后台导入；所有服务器会在几秒内生效。",
    generation: "版本", chunks: "段落数", documents: "文档数", docsHeading: "文档", loadedAt: "加载时间", lastError: "最近的问题",
    upload: "上传", chooseFiles: "FAQ（.csv、.json）、Markdown、HTML 或文本文件", pickFiles: "选择文件…", noFiles: "未选择文件", uploading: "上传中 %1%",
    ingesting: "导入中：%2 个文件已完成 %1 个", ingested: "完成：新增 %1，更新 %2，未变 %3。版本 %4。",
    ingestedNothing: "完成：没有变化。", jobFailed: "失败：%1", document: "文档", source: "来源",
    uploaded: "上传", fromCLI: "由 `kb ingest` 导入：%1", deleteDocConfirm: "从知识库删除 %1？所有服务器上的机器人将不再依据它回答。",
    deleting: "删除中…", deleted: "已删除 %1（%2 个段落）。版本 %3。", noDocuments: "知识库为空。",
    cliComesBack: "由 `kb ingest` 导入的文档，在其文件夹再次导入时会重新出现。",
    tryQuestion: "试问一个问题", question: "客户的问题", ask: "提问", answers: "机器人会这样回答：",
    handsOver: "机器人会把这个问题转给人工。", handsOverWith: "机器人会转给人工；它的最佳答案是：",
    confidence: "置信度", citations: "来源", noAnswer: "知识库中没有答案。",
    redactedAs: "实际提问（已去除个人信息）：%1",
    modelsLead: "各处理环节所用的模型版本。“设为当前”让该版本正式服务；灰度发布先让它承担一部分流量。",
    modelsML: "设为当前和灰度发布由算法工程师和管理员操作；您可以回滚模型。",
    noModels: "模型仓库为空。", model: "模型", version: "版本", roles: "服务中", evalCol: "评估", policy: "策略",
    promote: "设为当前", canary: "灰度", canaryPct: "% 流量", stopCanary: "结束灰度", rollback: "回滚",
    rollbackConfirm: "将 %1 从版本 %2 回滚到之前服务的版本？", promoteConfirm: "将 %2 的版本 %1 设为当前版本？",
    refused: "未通过：%1", accuracy: "准确率 %1（%2 个样本）", p_latest: "最新有效版本", p_pinned: "固定版本",
    active: "当前", canaryRole: "灰度", shadow: "影子", modelNow: "%1 现由版本 %2 回答。" },
};
const tr = (k) => t(S, k);
// fmt fills %1, %2 … of a string of S.
const fmt = (k, ...args) => args.reduce((s, v, i) => s.replaceAll("%" + (i + 1), String(v)), tr(k));
const roleName = (r) => (S.en["r_" + r] ? tr("r_" + r) : r);
const staffRoles = ["agent", "supervisor", "admin", "ml-engineer", "auditor"];
const priorities = ["urgent", "high", "normal", "low"];

const app = document.getElementById("app");
document.documentElement.lang = lang;
document.title = "Switchboard — " + tr("title");
let me = null;
const isAdmin = () => me && me.role === "admin";

// ---- small helpers ----

// fill and add replace or extend a node's children, leaving out null and false (which
// the DOM would print as words).
const kept = (kids) => kids.flat().filter((k) => k !== null && k !== undefined && k !== false);
const fill = (node, ...kids) => node.replaceChildren(...kept(kids));
const add = (node, ...kids) => node.append(...kept(kids));

const table = (head, rows, testid, cls) => el("table", { "data-testid": testid, class: cls || "" },
  el("tr", {}, head.map((h) => el("th", {}, h))), rows);

// feedback is the line beside a form's buttons: "Saved." or the error, inline.
function feedback() {
  const box = el("div", { class: "feedback", "aria-live": "polite" });
  return {
    box,
    ok(text) { fill(box, el("span", { class: "ok", "data-testid": "saved" }, "✓ " + (text || tr("saved")))); },
    fail(x, title) { fill(box, inlineError(title || tr("notSaved"), explain(x))); },
    clear() { fill(box); },
  };
}

// act runs fn with button disabled; an error shows in fb.
async function act(button, fb, fn, title) {
  fb.clear();
  if (button) button.disabled = true;
  try { await fn(); } catch (x) { fb.fail(x, title); } finally { if (button) button.disabled = false; }
}

// rich shows `command` parts of a string as code.
const rich = (text) => text.split("`").map((part, i) => (i % 2 ? el("code", {}, part) : part));
const field = (label, input, cls) => el("label", { class: cls || "" }, label, input);
const input = (attrs) => el("input", { type: "text", ...attrs });
const list = (s) => String(s || "").split(/[,，\s]+/).map((x) => x.trim()).filter(Boolean);
const when = (ts) => (ts ? new Date(ts).toLocaleString(lang === "zh" ? "zh-CN" : "en") : tr("none"));

// ---- the tabs ----

const tabs = [
  ["agents", "tabAgents", renderAgents], ["groups", "tabGroups", renderGroups], ["hours", "tabHours", renderHours],
  ["staff", "tabStaff", renderStaff], ["routing", "tabRouting", renderRouting], ["sla", "tabSLA", renderSLA],
  ["quality", "tabQuality", renderQuality], ["canned", "tabCanned", renderCanned], ["kb", "tabKB", renderKB], ["models", "tabModels", renderModels],
];
let panel, nav, hoursGroup = "";

async function show(id) {
  const tab = tabs.find((x) => x[0] === id) || tabs[0];
  for (const b of nav.children) b.setAttribute("aria-selected", String(b.dataset.tab === tab[0]));
  if (location.hash !== "#" + tab[0]) history.replaceState(null, "", "#" + tab[0]);
  const card = el("section", { class: "card", id: "panel-" + tab[0], "data-testid": "panel-" + tab[0] }, el("p", { class: "muted" }, tr("loading")));
  fill(panel, card);
  try { await tab[2](card); } catch (x) {
    add(card, el("p", { class: "error", "data-testid": "card-error" }, explain(x)));
  }
  card.dataset.ready = "1"; // drawn: the browser test waits for it
}

// ---- agents ----

async function renderAgents(card) {
  const [{ agents }, { skill_groups: groups }] = await Promise.all([api("GET", "/v1/agents"), api("GET", "/v1/skill-groups")]);
  let accounts = null;
  if (isAdmin()) accounts = Object.fromEntries(((await api("GET", "/v1/staff").catch(() => ({ accounts: [] }))).accounts).map((a) => [a.subject, a]));
  const groupName = Object.fromEntries(groups.map((g) => [g.id, g.name || g.id]));
  const rows = agents.map((a) => {
    const row = el("tr", { "data-testid": "agent-row", "data-agent": a.id },
      el("td", {}, a.name || a.id, el("span", { class: "muted" }, a.id)),
      el("td", {}, (a.groups || []).map((g) => el("span", { class: "tag" }, groupName[g] || g))),
      el("td", {}, (a.skills || []).join(", ") || tr("none")),
      el("td", { "data-testid": "agent-capacity" }, a.capacity + (a.max_capacity > a.capacity ? " (≤ " + a.max_capacity + ")" : "")),
      el("td", {}, word(a.status), el("span", { class: "muted" }, tr("load") + " " + a.load)),
      accounts && el("td", { "data-testid": "agent-signin" }, signInTag(accounts[a.id])),
      el("td", { class: "ops" }, el("button", { class: "secondary", "data-testid": "agent-edit", onclick: () => {
        fill(row, el("td", { colspan: accounts ? 7 : 6 }, agentForm(a, groups, () => show("agents"), () => show("agents"))));
      } }, tr("edit"))));
    return row;
  });
  const addBox = el("div");
  fill(card, el("h2", {}, tr("tabAgents"), el("button", { "data-testid": "agent-add", onclick: () => {
    fill(addBox, agentForm(null, groups, () => show("agents"), () => fill(addBox)));
  } }, tr("addAgent"))),
  el("p", { class: "lead" }, tr("agentsLead")),
  groups.length ? null : el("p", { class: "note" }, tr("noGroups")),
  addBox,
  agents.length ? table([tr("agent"), tr("groups"), tr("skills"), tr("capacity"), tr("status"), accounts && tr("signInCol"), ""].filter((x) => x !== null),
    rows, "agents-table", "stack") : el("p", { class: "muted" }, tr("noAgents")));
}

function signInTag(acct) {
  if (!acct) return el("span", { class: "tag off" }, tr("noSignIn"));
  return el("span", { class: "tag " + (acct.disabled ? "off" : "on") }, roleName(acct.role) + (acct.disabled ? " · " + tr("disabled") : ""));
}

// agentForm edits agent a (null: a new one) and calls done after saving.
function agentForm(a, groups, done, cancel) {
  const fb = feedback();
  const id = input({ "data-testid": "agent-id", required: true, placeholder: tr("agentIDHint"), class: "short" });
  const name = input({ "data-testid": "agent-name", value: a ? a.name : "" });
  const skills = input({ "data-testid": "agent-skills", value: a ? (a.skills || []).join(", ") : "", placeholder: tr("skillsHint") });
  const cap = el("input", { type: "number", min: "0", max: "100", class: "num", "data-testid": "agent-capacity-input", value: a ? a.capacity : 2 });
  const maxCap = el("input", { type: "number", min: "0", max: "100", class: "num", "data-testid": "agent-max-capacity", value: a ? a.max_capacity : 0, title: tr("maxHint") });
  const boxes = groups.map((g) => el("label", { class: "check" },
    el("input", { type: "checkbox", value: g.id, "data-testid": "agent-group-" + g.id, checked: a && (a.groups || []).includes(g.id) }), g.name || g.id));
  const save = el("button", { type: "submit", "data-testid": "agent-save" }, tr("save"));
  return el("form", { class: "edit", "data-testid": "agent-form", onsubmit: (e) => {
    e.preventDefault();
    const agentID = a ? a.id : id.value.trim();
    act(save, fb, async () => {
      await api("PUT", "/v1/agents/" + encodeURIComponent(agentID), { name: name.value.trim(), skills: list(skills.value),
        groups: boxes.map((b) => b.firstChild).filter((c) => c.checked).map((c) => c.value),
        capacity: Number(cap.value), max_capacity: Number(maxCap.value) });
      await done();
    });
  } },
  a ? null : field(tr("id"), id), field(tr("name"), name),
  el("fieldset", {}, el("legend", {}, tr("groups")), boxes),
  field(tr("skills"), skills), field(tr("capacity"), cap), field(tr("maxCapacity"), maxCap),
  el("div", { class: "buttons" }, save, el("button", { type: "button", class: "secondary", onclick: cancel }, tr("cancel"))), fb.box);
}

// ---- groups and skills ----

const dayName = (d) => tr("d" + d);
// daysText: [1,2,3,4,5] → "Mon–Fri"; [1,3] → "Mon, Wed".
function daysText(days) {
  const ds = [...new Set(days)].sort((x, y) => x - y), parts = [];
  for (let i = 0; i < ds.length; i++) {
    let j = i;
    while (j + 1 < ds.length && ds[j + 1] === ds[j] + 1) j++;
    parts.push(j - i >= 2 ? dayName(ds[i]) + "–" + dayName(ds[j]) : ds.slice(i, j + 1).map(dayName).join(", "));
    i = j;
  }
  return parts.join(", ");
}

function hoursSummary(cal) {
  if (!cal) return tr("alwaysOpen");
  const spans = (cal.hours || []).map((h) => daysText(h.days) + " " + h.start + "–" + h.end);
  const hol = (cal.holidays || []).length;
  return [cal.timezone, ...spans, hol ? (hol === 1 ? tr("holiday1") : fmt("holidaysN", hol)) : null].filter(Boolean).join(" · ");
}

async function renderGroups(card) {
  const { skill_groups: groups } = await api("GET", "/v1/skill-groups");
  const rows = groups.map((g) => {
    const row = el("tr", { "data-testid": "group-row", "data-group": g.id },
      el("td", {}, g.name || g.id, el("span", { class: "muted" }, g.id)),
      el("td", { "data-testid": "group-skills" }, (g.skills || []).map((s) => el("span", { class: "tag" }, s))),
      el("td", { "data-testid": "group-hours" }, hoursSummary(g.calendar)),
      el("td", { class: "ops" },
        el("button", { class: "secondary", "data-testid": "group-edit", onclick: () => {
          fill(row, el("td", { colspan: 4 }, groupForm(g, () => show("groups"), () => show("groups"))));
        } }, tr("edit")),
        el("button", { class: "secondary", "data-testid": "group-hours-edit", onclick: () => { hoursGroup = g.id; show("hours"); } }, tr("editHours"))));
    return row;
  });
  const addBox = el("div");
  fill(card, el("h2", {}, tr("tabGroups"), el("button", { "data-testid": "group-add", onclick: () => {
    fill(addBox, groupForm(null, () => show("groups"), () => fill(addBox)));
  } }, tr("addGroup"))),
  el("p", { class: "lead" }, tr("groupsLead")), addBox,
  groups.length ? table([tr("group"), tr("skills"), tr("hours"), ""], rows, "groups-table", "stack") : el("p", { class: "muted" }, tr("noGroupsYet")));
}

// groupForm edits a group's name and skills (null: a new group); its calendar is sent
// back unchanged, as PUT replaces the whole group.
function groupForm(g, done, cancel) {
  const fb = feedback();
  const id = input({ "data-testid": "group-id", required: true, placeholder: tr("agentIDHint"), class: "short" });
  const name = input({ "data-testid": "group-name", value: g ? g.name : "" });
  const skills = input({ "data-testid": "group-skills-input", value: g ? (g.skills || []).join(", ") : "", placeholder: tr("skillsHint") });
  const save = el("button", { type: "submit", "data-testid": "group-save" }, tr("save"));
  return el("form", { class: "edit", "data-testid": "group-form", onsubmit: (e) => {
    e.preventDefault();
    const gid = g ? g.id : id.value.trim();
    act(save, fb, async () => {
      const body = { name: name.value.trim(), skills: list(skills.value) };
      if (g && g.calendar) body.calendar = g.calendar;
      await api("PUT", "/v1/skill-groups/" + encodeURIComponent(gid), body);
      await done();
    });
  } }, g ? null : field(tr("id"), id), field(tr("name"), name), field(tr("skills") + " (" + tr("skillsHint") + ")", skills),
  el("div", { class: "buttons" }, save, el("button", { type: "button", class: "secondary", onclick: cancel }, tr("cancel"))), fb.box);
}

// ---- business hours ----

const zones = (() => { try { return Intl.supportedValuesOf("timeZone"); } catch (e) { return ["UTC", "Asia/Shanghai", "Europe/London", "America/New_York"]; } })();
const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

async function renderHours(card) {
  const { skill_groups: groups } = await api("GET", "/v1/skill-groups");
  if (!groups.length) { fill(card, el("h2", {}, tr("tabHours")), el("p", { class: "note" }, tr("noGroupsYet"))); return; }
  if (!groups.some((g) => g.id === hoursGroup)) hoursGroup = groups[0].id;
  const g = groups.find((x) => x.id === hoursGroup);
  const pick = el("select", { "data-testid": "hours-group", "aria-label": tr("pickGroup"), onchange: (e) => { hoursGroup = e.target.value; show("hours"); } },
    groups.map((x) => el("option", { value: x.id, selected: x.id === g.id }, x.name || x.id)));
  const editorBox = el("div", { "data-testid": "hours-editor" });
  const draw = (cal) => fill(editorBox, cal ? calendarForm(g, cal) : el("div", {},
    el("p", { class: "note", "data-testid": "hours-none" }, tr("noCalendar")),
    el("button", { "data-testid": "hours-set", onclick: () => draw({ timezone: browserZone(), hours: [{ days: [1, 2, 3, 4, 5], start: "09:00", end: "18:00" }], holidays: [] }) },
      tr("setHours"))));
  draw(g.calendar ? structuredClone(g.calendar) : null);
  fill(card, el("h2", {}, tr("tabHours"), pick), el("p", { class: "lead" }, tr("hoursLead")), editorBox);
}

// calendarForm edits cal (the group's, or a new one) and saves it with the group.
function calendarForm(g, cal) {
  const fb = feedback();
  cal.hours = cal.hours || [];
  cal.holidays = cal.holidays || [];
  const tz = input({ "data-testid": "hours-timezone", value: cal.timezone, list: "zones", class: "zone", oninput: (e) => { cal.timezone = e.target.value.trim(); } });
  const hoursBox = el("div", { "data-testid": "hours-rows" }), holBox = el("div", { "data-testid": "holiday-rows" });
  const drawHours = () => fill(hoursBox, ...cal.hours.map((h, i) => el("div", { class: "hours-row", "data-testid": "hours-row" },
    el("div", { class: "days", role: "group", "aria-label": tr("days") }, [1, 2, 3, 4, 5, 6, 0].map((d) => el("label", { title: dayName(d) },
      el("input", { type: "checkbox", checked: h.days.includes(d), "data-testid": "day-" + d, onchange: (e) => {
        h.days = e.target.checked ? [...h.days, d] : h.days.filter((x) => x !== d);
      } }), dayName(d)))),
    field(tr("opensAt") + " ", input({ class: "time", value: h.start, "data-testid": "hours-start", placeholder: "09:00", oninput: (e) => { h.start = e.target.value.trim(); } })),
    field(tr("closesAt") + " ", input({ class: "time", value: h.end, "data-testid": "hours-end", placeholder: "18:00", title: tr("untilHint"), oninput: (e) => { h.end = e.target.value.trim(); } })),
    el("button", { type: "button", class: "icon", "aria-label": tr("remove"), title: tr("remove"), "data-testid": "hours-remove",
      onclick: () => { cal.hours.splice(i, 1); drawHours(); } }, "×"))));
  const drawHolidays = () => fill(holBox, ...(cal.holidays.length ? cal.holidays.map((h, i) => el("div", { class: "hours-row", "data-testid": "holiday-row" },
    el("input", { type: "date", value: h.date, "data-testid": "holiday-date", "aria-label": tr("date"), oninput: (e) => { h.date = e.target.value; } }),
    input({ value: h.name || "", "data-testid": "holiday-name", "aria-label": tr("holidayName"), placeholder: tr("holidayName"), oninput: (e) => { h.name = e.target.value; } }),
    el("button", { type: "button", class: "icon", "aria-label": tr("remove"), title: tr("remove"), "data-testid": "holiday-remove",
      onclick: () => { cal.holidays.splice(i, 1); drawHolidays(); } }, "×"))) : [el("p", { class: "muted" }, tr("noHolidays"))]));
  drawHours();
  drawHolidays();
  const save = el("button", { "data-testid": "hours-save" }, tr("save"));
  const put = (calendar) => {
    const body = { name: g.name, skills: g.skills || [] };
    if (calendar) body.calendar = calendar;
    return api("PUT", "/v1/skill-groups/" + encodeURIComponent(g.id), body);
  };
  save.onclick = () => act(save, fb, async () => {
    const out = await put({ timezone: cal.timezone, hours: cal.hours, holidays: cal.holidays.filter((h) => h.date) });
    g.calendar = out.calendar;
    fb.ok();
  });
  const drop = el("button", { class: "secondary", "data-testid": "hours-clear", onclick: async () => {
    if (!(await confirmDialog(fmt("removeHoursConfirm", g.name || g.id), tr("removeHours")))) return;
    act(drop, fb, async () => { await put(null); await show("hours"); });
  } }, tr("removeHours"));
  return el("div", {},
    el("datalist", { id: "zones" }, zones.map((z) => el("option", { value: z }))),
    el("form", { class: "edit", onsubmit: (e) => e.preventDefault() }, field(tr("timezone"), tz)),
    el("h3", {}, tr("openingHours")), hoursBox,
    el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", "data-testid": "hours-add",
      onclick: () => { cal.hours.push({ days: [1, 2, 3, 4, 5], start: "09:00", end: "18:00" }); drawHours(); } }, tr("addHours"))),
    el("h3", {}, tr("holidays")), holBox,
    el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", "data-testid": "holiday-add",
      onclick: () => { cal.holidays.push({ date: "", name: "" }); drawHolidays(); } }, tr("addHoliday"))),
    el("div", { class: "actions" }, save, g.calendar ? drop : null), fb.box);
}

// ---- sign-ins and roles ----

async function renderStaff(card) {
  fill(card, el("h2", {}, tr("tabStaff")), el("p", { class: "lead" }, tr("staffLead")));
  if (!isAdmin()) { add(card, el("p", { class: "note", "data-testid": "staff-note" }, rich(tr("staffAdminsOnly")))); return; }
  const { accounts } = await api("GET", "/v1/staff");
  const rows = accounts.map((a) => staffRow(a));
  const addBox = el("div");
  card.querySelector("h2").append(el("button", { "data-testid": "staff-add", onclick: () => fill(addBox, staffForm(() => fill(addBox))) }, tr("addStaff")));
  add(card, addBox, table([tr("username"), tr("role"), tr("state"), tr("updated"), tr("newPassword"), ""], rows, "staff-table", "stack"),
    el("p", { class: "muted" }, tr("ownRow")));
}

function staffRow(a) {
  const own = a.subject === me.subject;
  const fb = feedback();
  const role = el("select", { "data-testid": "staff-role", "aria-label": tr("role"), disabled: own },
    staffRoles.map((r) => el("option", { value: r, selected: r === a.role }, roleName(r))));
  const saveRole = el("button", { class: "secondary", "data-testid": "staff-save-role", disabled: own, onclick: async () => {
    if (role.value === a.role) return;
    if (!(await confirmDialog(fmt("roleConfirm", a.subject, roleName(role.value)), tr("saveRole")))) { role.value = a.role; return; }
    act(saveRole, fb, async () => { await api("PUT", "/v1/staff/" + encodeURIComponent(a.subject) + "/role", { role: role.value }); await show("staff"); });
  } }, tr("saveRole"));
  const pass = el("input", { type: "password", autocomplete: "new-password", "data-testid": "staff-password", placeholder: tr("passwordHint"), "aria-label": tr("newPassword"), class: "pw" });
  const setPass = el("button", { class: "secondary", "data-testid": "staff-set-password", onclick: async () => {
    if (own && !(await confirmDialog(tr("ownPasswordConfirm"), tr("setPassword")))) return;
    act(setPass, fb, async () => {
      await api("PUT", "/v1/staff/" + encodeURIComponent(a.subject) + "/password", { password: pass.value });
      pass.value = "";
      fb.ok(tr("passwordSet"));
    });
  } }, tr("setPassword"));
  const toggle = el("button", { class: a.disabled ? "" : "secondary", "data-testid": a.disabled ? "staff-enable" : "staff-disable", disabled: own && !a.disabled, onclick: async () => {
    if (!a.disabled && !(await confirmDialog(fmt("disableConfirm", a.subject), tr("disable")))) return;
    act(toggle, fb, async () => { await api("PUT", "/v1/staff/" + encodeURIComponent(a.subject) + "/disabled", { disabled: !a.disabled }); await show("staff"); });
  } }, a.disabled ? tr("enable") : tr("disable"));
  return el("tr", { "data-testid": "staff-row", "data-subject": a.subject, "data-role": a.role },
    el("td", {}, a.subject, own ? el("span", { class: "muted" }, tr("you")) : null),
    el("td", {}, role, " ", saveRole),
    el("td", { "data-testid": "staff-state" }, el("span", { class: "tag " + (a.disabled ? "off" : "on") }, a.disabled ? tr("disabled") : tr("enabled"))),
    el("td", {}, when(a.updated_at)),
    el("td", {}, pass, " ", setPass),
    el("td", { class: "ops" }, toggle, fb.box));
}

function staffForm(cancel) {
  const fb = feedback();
  const subject = input({ "data-testid": "staff-subject", required: true, class: "short", autocomplete: "off" });
  const role = el("select", { "data-testid": "staff-new-role" }, staffRoles.map((r) => el("option", { value: r }, roleName(r))));
  const pass = el("input", { type: "password", autocomplete: "new-password", "data-testid": "staff-new-password", placeholder: tr("passwordHint"), class: "pw" });
  const create = el("button", { type: "submit", "data-testid": "staff-create" }, tr("create"));
  return el("form", { class: "edit", "data-testid": "staff-form", onsubmit: (e) => {
    e.preventDefault();
    act(create, fb, async () => {
      await api("POST", "/v1/staff", { subject: subject.value.trim(), role: role.value, password: pass.value });
      await show("staff");
    });
  } }, field(tr("username"), subject), field(tr("role"), role), field(tr("password"), pass),
  el("div", { class: "buttons" }, create, el("button", { type: "button", class: "secondary", onclick: cancel }, tr("cancel"))), fb.box);
}

// ---- routing weights ----

async function renderRouting(card) {
  const w = await api("GET", "/v1/routing/weights");
  const fb = feedback(), inputs = {};
  const save = el("button", { type: "submit", "data-testid": "save-weights" }, tr("save"));
  fill(card, el("h2", {}, tr("tabRouting")), el("p", { class: "lead" }, tr("routingLead")),
    el("form", { class: "edit", onsubmit: (e) => {
      e.preventDefault();
      const body = {};
      for (const k in inputs) body[k] = Number(inputs[k].value);
      act(save, fb, async () => { await api("PUT", "/v1/routing/weights", body); fb.ok(); });
    } }, ["skill", "load", "vip", "wait"].map((k) => field(tr("w_" + k),
      inputs[k] = el("input", { class: "num", type: "number", step: "0.05", min: "0", max: "1", value: w[k], "data-testid": "weight-" + k }))),
    el("div", { class: "buttons" }, save), fb.box));
}

// ---- quality inspection rules ----

async function renderQuality(card) {
  const doc = await api("GET", "/v1/quality/rules");
  const fb = feedback();
  const source = el("p", { class: "muted", "data-testid": "rules-source" });
  const showSource = (d) => fill(source, fmt("rulesSource", d.source === "database" ? fmt("src_database", d.version, d.updated_by, when(d.updated_at)) : tr("src_" + d.source)));
  showSource(doc);
  const text = el("textarea", { class: "rules", rows: "16", spellcheck: "false", "data-testid": "rules-yaml", "aria-label": tr("tabQuality") });
  text.value = doc.yaml;
  const save = el("button", { type: "submit", "data-testid": "save-rules" }, tr("saveRules"));
  fill(card, el("h2", {}, tr("tabQuality")), el("p", { class: "lead" }, rich(tr("qualityLead"))), source,
    el("form", { class: "edit", onsubmit: (e) => {
      e.preventDefault();
      act(save, fb, async () => { showSource(await api("PUT", "/v1/quality/rules", { yaml: text.value })); fb.ok(); });
    } }, text, el("div", { class: "buttons" }, save), fb.box),
    el("details", { "data-testid": "rules-built-in" }, el("summary", {}, tr("builtInRules")), el("pre", { class: "rules" }, doc.built_in)));
}

// ---- SLA policies ----

async function renderSLA(card) {
  const { sla_policies: policies } = await api("GET", "/v1/sla-policies");
  const rows = priorities.filter((p) => policies[p]).map((p) => {
    const pol = policies[p], fb = feedback();
    const first = el("input", { type: "number", min: "1", class: "num", value: pol.first_response_minutes, "data-testid": "sla-first" });
    const res = el("input", { type: "number", min: "1", class: "num", value: pol.resolution_minutes, "data-testid": "sla-resolution" });
    const human = (n) => duration(60 * Number(n));
    const firstHint = el("span", { class: "muted" }, human(first.value)), resHint = el("span", { class: "muted" }, human(res.value));
    first.oninput = () => { firstHint.textContent = human(first.value); };
    res.oninput = () => { resHint.textContent = human(res.value); };
    const save = el("button", { class: "secondary", "data-testid": "sla-save" }, tr("save"));
    save.onclick = () => act(save, fb, async () => {
      await api("PUT", "/v1/sla-policies/" + p, { ...pol, first_response_minutes: Number(first.value), resolution_minutes: Number(res.value) });
      fb.ok();
    });
    return el("tr", { "data-testid": "sla-row", "data-priority": p }, el("td", {}, el("span", { class: "tag " + p }, word(p))),
      el("td", {}, first, firstHint), el("td", {}, res, resHint), el("td", { class: "ops" }, save, fb.box));
  });
  fill(card, el("h2", {}, tr("tabSLA")), el("p", { class: "lead" }, tr("slaLead")),
    table([tr("priority"), tr("firstResponse"), tr("resolution"), ""], rows, "sla-table", "stack"));
}

// ---- canned responses (the shared ones) ----

async function renderCanned(card) {
  const { canned_responses: all, variables } = await api("GET", "/v1/canned-responses");
  const shared = all.filter((c) => !c.owner);
  const addBox = el("div");
  const rows = shared.map((c) => {
    const row = el("tr", { "data-testid": "canned-row", "data-shortcut": c.shortcut },
      el("td", {}, "/" + c.shortcut), el("td", {}, c.lang ? c.lang : tr("anyLang")), el("td", {}, c.title),
      el("td", { class: "snippet" }, c.body),
      el("td", { class: "ops" },
        el("button", { class: "secondary", "data-testid": "canned-edit", onclick: () => {
          fill(row, el("td", { colspan: 5 }, cannedForm(c, variables, () => show("canned"), () => show("canned"))));
        } }, tr("edit")),
        el("button", { class: "secondary", "data-testid": "canned-delete", onclick: async (e) => {
          const b = e.currentTarget, fb = feedback();
          if (!(await confirmDialog(fmt("deleteCannedConfirm", c.shortcut), tr("del")))) return;
          b.after(fb.box);
          act(b, fb, async () => { await api("DELETE", "/v1/canned-responses/" + c.id); await show("canned"); }, tr("failed"));
        } }, tr("del"))));
    return row;
  });
  fill(card, el("h2", {}, tr("tabCanned"), el("button", { "data-testid": "canned-add", onclick: () => {
    fill(addBox, cannedForm(null, variables, () => show("canned"), () => fill(addBox)));
  } }, tr("addCanned"))),
  el("p", { class: "lead" }, tr("cannedLead")), addBox,
  shared.length ? table([tr("shortcut"), tr("language"), tr("titleCol"), tr("body"), ""], rows, "canned-table", "stack") : el("p", { class: "muted" }, tr("noCanned")));
}

function cannedForm(c, variables, done, cancel) {
  const fb = feedback();
  const shortcut = input({ "data-testid": "canned-shortcut", value: c ? c.shortcut : "", placeholder: "refund", class: "short", required: true });
  const langSel = el("select", { "data-testid": "canned-lang" }, [["", tr("anyLang")], ["zh", "中文"], ["en", "English"]].map(([v, l]) =>
    el("option", { value: v, selected: c ? c.lang === v : v === "" }, l)));
  const title = input({ "data-testid": "canned-title", value: c ? c.title : "" });
  const body = el("textarea", { class: "body", "data-testid": "canned-body", required: true }, c ? c.body : "");
  const insert = (v) => {
    const at = body.selectionStart ?? body.value.length;
    body.value = body.value.slice(0, at) + "{{" + v + "}}" + body.value.slice(body.selectionEnd ?? at);
    body.focus();
  };
  const save = el("button", { type: "submit", "data-testid": "canned-save" }, tr("save"));
  return el("form", { class: "edit", "data-testid": "canned-form", onsubmit: (e) => {
    e.preventDefault();
    const payload = { shortcut: shortcut.value.trim(), lang: langSel.value, title: title.value.trim(), body: body.value, shared: true };
    act(save, fb, async () => {
      if (c) await api("PUT", "/v1/canned-responses/" + c.id, payload); else await api("POST", "/v1/canned-responses", payload);
      await done();
    });
  } }, field(tr("shortcut"), shortcut), field(tr("language"), langSel), field(tr("titleCol"), title),
  field(tr("body"), body, "wide"),
  el("div", { class: "buttons vars" }, tr("variables") + ":", (variables || []).map((v) => el("button", { type: "button", class: "secondary",
    "data-testid": "canned-var", onclick: () => insert(v) }, "{{" + v + "}}"))),
  el("div", { class: "buttons" }, save, el("button", { type: "button", class: "secondary", onclick: cancel }, tr("cancel"))), fb.box);
}

// ---- knowledge base ----

// upload posts files to POST /v1/kb/documents, telling onProgress the share sent.
function upload(files, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const f of files) form.append("files", f, f.name);
    const x = new XMLHttpRequest(), s = session.get();
    x.open("POST", "/v1/kb/documents");
    if (s) x.setRequestHeader("Authorization", "Bearer " + s.token);
    x.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    x.onload = () => {
      let data = {};
      try { data = JSON.parse(x.responseText); } catch (e) { /* not JSON */ }
      if (x.status === 401 && s) endSession("sessionEnded");
      if (x.status >= 200 && x.status < 300) resolve(data); else reject(new APIError(x.status, data));
    };
    x.onerror = () => reject(new TypeError("network"));
    x.send(form);
  });
}

// follow polls a knowledge-base job until it ends, telling onJob each state.
async function follow(job, onJob) {
  while (job.state === "queued" || job.state === "running") {
    onJob(job);
    await new Promise((r) => setTimeout(r, 400));
    job = await api("GET", "/v1/kb/jobs/" + encodeURIComponent(job.id));
  }
  onJob(job);
  return job;
}

async function renderKB(card) {
  fill(card, el("h2", {}, tr("tabKB")), el("p", { class: "lead" }, tr("kbLead")));
  const statusBox = el("div", { class: "figures", "data-testid": "kb-status" });
  const docsBox = el("div", { "data-testid": "kb-documents" });
  const drawStatus = async () => {
    const st = await api("GET", "/v1/kb/status");
    const figure = (label, value, testid, cls) => el("div", { class: "figure " + (cls || ""), "data-testid": testid },
      el("div", { class: "value" }, value), el("div", { class: "muted" }, label));
    fill(statusBox, figure(tr("generation"), st.generation, "kb-generation"), figure(tr("documents"), st.documents, "kb-doc-count"),
      figure(tr("chunks"), st.chunks, "kb-chunks"), figure(tr("loadedAt"), when(st.loaded_at), "kb-loaded", "small"),
      st.last_error ? figure(tr("lastError"), st.last_error, "kb-last-error", "small") : null);
  };
  const drawDocs = async () => {
    const { documents } = await api("GET", "/v1/kb/documents");
    fill(docsBox, documents.length ? table([tr("document"), tr("chunks"), tr("source"), ""], documents.map((d) => {
      const fb = feedback();
      const del = el("button", { class: "secondary", "data-testid": "kb-delete", onclick: async () => {
        if (!(await confirmDialog(fmt("deleteDocConfirm", d.name), tr("del")))) return;
        act(del, fb, async () => {
          fill(fb.box, el("span", { class: "muted", "data-testid": "kb-deleting" }, tr("deleting")));
          const job = await follow(await api("DELETE", "/v1/kb/documents/" + encodeURIComponent(d.id)), () => {});
          if (job.state === "failed") throw new APIError(400, { error: job.error });
          fill(kbNotice, el("p", { class: "ok", "data-testid": "kb-deleted" }, "✓ " + fmt("deleted", d.name, job.stats.deleted, job.generation)));
          await Promise.all([drawDocs(), drawStatus()]);
        }, tr("failed"));
      } }, tr("del"));
      return el("tr", { "data-testid": "kb-doc", "data-name": d.name }, el("td", {}, d.name), el("td", { "data-testid": "kb-doc-chunks" }, d.chunks),
        el("td", { class: "muted path" }, d.uploaded ? tr("uploaded") : rich(fmt("fromCLI", d.path))), el("td", { class: "ops" }, del, fb.box));
    }), "kb-docs-table", "stack") : el("p", { class: "muted" }, tr("noDocuments")),
    documents.some((d) => !d.uploaded) ? el("p", { class: "muted" }, rich(tr("cliComesBack"))) : null);
  };
  const kbNotice = el("div", { "aria-live": "polite" });
  add(card, statusBox, el("h3", {}, tr("upload")), uploadForm(async () => Promise.all([drawDocs(), drawStatus()])),
    el("h3", {}, tr("docsHeading")), kbNotice, docsBox, el("h3", {}, tr("tryQuestion")), askForm());
  await Promise.all([drawStatus(), drawDocs()]);
}

function uploadForm(after) {
  const fb = feedback();
  const chosen = el("span", { "data-testid": "kb-chosen" }, tr("noFiles"));
  const files = el("input", { type: "file", multiple: true, accept: ".csv,.json,.md,.markdown,.html,.htm,.txt", "data-testid": "kb-files", "aria-label": tr("chooseFiles"),
    onchange: () => { chosen.textContent = [...files.files].map((f) => f.name).join(", ") || tr("noFiles"); } });
  // the browser's own file button speaks the browser's language, not the page's
  const pick = el("label", { class: "filepick" }, tr("pickFiles"), files);
  const bar = el("progress", { max: "1", value: "0", "data-testid": "kb-progress", hidden: true });
  const line = el("span", { "data-testid": "kb-progress-text" });
  const progress = el("div", { class: "progress-line", hidden: true }, bar, line);
  const send = el("button", { type: "submit", "data-testid": "kb-upload" }, tr("upload"));
  return el("form", { class: "upload", onsubmit: (e) => {
    e.preventDefault();
    if (!files.files.length) { files.click(); return; }
    act(send, fb, async () => {
      progress.hidden = bar.hidden = false;
      bar.removeAttribute("data-state");
      let job = await upload(files.files, (share) => { bar.value = share / 2; line.textContent = fmt("uploading", Math.round(100 * share)); });
      job = await follow(job, (j) => {
        bar.value = 0.5 + (j.total ? j.done / j.total : 0) / 2;
        line.textContent = fmt("ingesting", j.done, j.total);
      });
      bar.dataset.state = job.state;
      if (job.state === "failed") { line.textContent = ""; throw new APIError(400, { error: job.error }); }
      const st = job.stats;
      line.textContent = st.added + st.updated + st.deleted ? fmt("ingested", st.added, st.updated, st.unchanged, job.generation) : tr("ingestedNothing");
      files.value = "";
      chosen.textContent = tr("noFiles");
      await after();
    }, tr("failed"));
  } }, pick, chosen, send, el("span", { class: "muted" }, tr("chooseFiles")), progress, fb.box);
}

function askForm() {
  const fb = feedback(), out = el("div", { "data-testid": "kb-answer-box" });
  const q = input({ "data-testid": "kb-question", placeholder: tr("question"), "aria-label": tr("question"), style: "flex:1 1 24em" });
  const ask = el("button", { type: "submit", "data-testid": "kb-ask" }, tr("ask"));
  return el("div", {}, el("form", { class: "upload", onsubmit: (e) => {
    e.preventDefault();
    act(ask, fb, async () => { fill(out, answerCard(await api("POST", "/v1/kb/ask", { question: q.value }), q.value)); }, tr("failed"));
  } }, q, ask), fb.box, out);
}

function answerCard(a, asked) {
  const pct = Math.round(100 * (a.confidence || 0));
  const escalates = a.escalates === true;
  return el("div", { class: "answer", "data-testid": "kb-answer", "data-escalates": String(escalates) },
    el("div", { class: "verdict " + (escalates ? "hands-over" : "answers"), "data-testid": "kb-verdict" },
      escalates ? (a.answer ? tr("handsOverWith") : tr("handsOver")) : tr("answers")),
    a.answer ? el("div", { class: "text", "data-testid": "kb-answer-text" }, a.answer) : el("p", { class: "muted" }, tr("noAnswer")),
    el("div", { "data-testid": "kb-confidence" }, tr("confidence"), el("span", { class: "meter" }, el("span", { style: "width:" + pct + "%" })), pct + "%"),
    a.question && a.question !== asked.trim() ? el("p", { class: "muted", "data-testid": "kb-redacted" }, fmt("redactedAs", a.question)) : null,
    (a.citations || []).length ? el("div", {}, el("h3", {}, tr("citations")), el("ol", { class: "citations", "data-testid": "kb-citations" },
      a.citations.map((c) => el("li", {}, el("strong", {}, c.title || c.source), " ", el("span", { class: "muted" }, c.source),
        el("div", { class: "snippet" }, c.snippet))))) : null);
}

// ---- models ----

let modelFlash = ""; // what the last change did, shown once over the models

async function renderModels(card) {
  const { models } = await api("GET", "/v1/models");
  const mayChange = isAdmin(); // activate and canary: ML engineers and admins; rollback: supervisors too
  const flash = modelFlash;
  modelFlash = "";
  fill(card, el("h2", {}, tr("tabModels")), el("p", { class: "lead" }, tr("modelsLead")),
    mayChange ? null : el("p", { class: "note", "data-testid": "models-note" }, tr("modelsML")),
    flash ? el("p", { class: "ok", "data-testid": "model-changed" }, "✓ " + flash) : null,
    models && models.length ? el("div", {}, models.map((m) => modelCard(m, mayChange))) : el("p", { class: "muted" }, tr("noModels")));
}

function modelCard(m, mayChange) {
  const fb = feedback(), st = m.state || {};
  const name = encodeURIComponent(m.name);
  const change = (button, op, body) => act(button, fb, async () => {
    const { model } = await api("POST", "/v1/models/" + name + "/" + op, body);
    const now = (model.versions || []).find((v) => (v.roles || []).includes("active"));
    if (now) modelFlash = fmt("modelNow", m.name, now.version);
    await show("models");
  }, tr("failed"));
  const roleTag = (r) => el("span", { class: "tag " + (r === "active" ? "on" : "risk") }, tr(r === "canary" ? "canaryRole" : r));
  const rows = (m.versions || []).map((v) => {
    const serving = v.roles || [];
    const pct = el("input", { type: "number", min: "1", max: "99", value: serving.includes("canary") && st.canary_percent ? st.canary_percent : 10,
      "data-testid": "canary-percent", "aria-label": tr("canaryPct") });
    const promote = el("button", { class: "secondary", "data-testid": "model-promote", onclick: async () => {
      if (await confirmDialog(fmt("promoteConfirm", v.version, m.name), tr("promote"))) change(promote, "activate", { version: v.version });
    } }, tr("promote"));
    const canary = el("button", { class: "secondary", "data-testid": "model-canary", onclick: () => change(canary, "canary", { version: v.version, percent: Number(pct.value) }) }, tr("canary"));
    const offer = mayChange && !v.error && !serving.includes("active");
    return el("tr", { "data-testid": "model-version", "data-model": m.name, "data-version": v.version },
      el("td", {}, v.version),
      el("td", { "data-testid": "model-roles" }, serving.map(roleTag), serving.includes("canary") && st.canary_percent ? " " + st.canary_percent + "%" : null),
      el("td", {}, v.error ? el("span", { class: "error" }, fmt("refused", v.error)) :
        v.eval ? fmt("accuracy", (100 * v.eval.accuracy).toFixed(1) + "%", v.eval.n) : tr("none")),
      el("td", { class: "ops" }, offer ? [promote, el("span", { class: "canary" }, " ", pct, "% ", canary)] : null));
  });
  const rollback = el("button", { class: "secondary", "data-testid": "model-rollback", onclick: async () => {
    const active = (m.versions || []).find((v) => (v.roles || []).includes("active"));
    if (await confirmDialog(fmt("rollbackConfirm", m.name, active ? active.version : tr("none")), tr("rollback"))) change(rollback, "rollback");
  } }, tr("rollback"));
  const stop = el("button", { class: "secondary", "data-testid": "model-stop-canary", onclick: () => change(stop, "canary", { percent: 0 }) }, tr("stopCanary"));
  return el("div", { class: "model", "data-testid": "model-card", "data-model": m.name },
    el("h3", {}, m.name, el("span", { class: "muted" }, [m.task, tr("policy") + ": " + (S.en["p_" + st.policy] ? tr("p_" + st.policy) : st.policy || tr("none"))].filter(Boolean).join(" · "))),
    table([tr("version"), tr("roles"), tr("evalCol"), ""], rows, "model-versions", "stack"),
    el("div", { class: "actions" }, (st.history || []).length ? rollback : null, mayChange && st.canary ? stop : null), fb.box);
}

// ---- the page ----

async function start() {
  me = session.get();
  if (!me || !["admin", "supervisor"].includes(me.role)) me = await signInForm(app, S, ["admin", "supervisor"]);
  const other = new URLSearchParams(location.search);
  other.set("lang", lang === "zh" ? "en" : "zh");
  nav = el("nav", { class: "tabs", role: "tablist" }, tabs.map(([id, label]) => el("button", { role: "tab", "data-tab": id, "data-testid": "tab-" + id,
    "aria-selected": "false", onclick: () => show(id) }, tr(label))));
  panel = el("main", { class: "admin" });
  fill(app, 
    el("header", { class: "top" }, el("h1", {}, "Switchboard · " + tr("title")),
      el("a", { href: "/ui/supervisor/", "data-testid": "to-supervisor" }, tr("supervisorView")),
      me.role === "supervisor" ? el("a", { href: "/ui/console/" }, tr("console")) : null,
      el("a", { href: "?" + other.toString(), "data-testid": "other-lang", lang: lang === "zh" ? "en" : "zh",
        onclick: (e) => { e.preventDefault(); location.href = "?" + other.toString() + location.hash; } }, tr("otherLang")),
      el("span", { class: "who", "data-testid": "me" }, me.subject + " · " + roleName(me.role)),
      el("button", { class: "secondary", "data-testid": "signout", onclick: () => endSession("signedOut") }, tr("signOut"))),
    nav, panel);
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  await show(location.hash.slice(1));
}

start();
