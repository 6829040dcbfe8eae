// The agent console: sign-in, own status and capacity, the live queue ordered by
// priority and SLA risk, the conversation (redacted; voice-note transcripts and photo
// labels marked, undelivered replies flagged), suggested knowledge-base passages, claim
// (when the server says it would succeed) / reply / transfer / resolve, close and reopen
// of finished tickets (each confirmed in a dialog), the routing score that put the
// ticket here, canned responses (Tab after "/shortcut" in the reply, or from the list;
// an agent saves their own), and audited reveals of redacted values; ticket lists with
// filters and search, the customer's profile, and suggested replies (the knowledge base,
// past resolutions, a language model's streamed draft when one is configured), each an
// editable draft. Errors show inline, never in an alert(). A link can open a ticket:
// /ui/console/#ticket=<id> opens it once signed in, and so does a later change of the
// hash (the browser test shows the same ticket in a Chinese twin of the page this way).
// The agent's own quality scores (trend, reasons, each inspected conversation's review)
// sit under the queue.
import { api, APIError, confirmDialog, customerLabel, el, endSession, explain, inlineError, lang, live, notice, session, signInForm, t, word } from "../lib/api.js";
import { renderMyQuality } from "../lib/quality.js";

const S = {
  en: { title: "Agent console", signInTitle: "Sign in", username: "User name", password: "Password", signIn: "Sign in",
    wrongRole: "This page is for agents.", signOut: "Sign out", status: "Status", online: "Online", away: "Away", offline: "Offline",
    load: "Load", capacity: "Capacity", mine: "My tickets", waiting: "Waiting in my groups", empty: "Nothing here.", pick: "Pick a ticket from the queue.",
    claim: "Claim", reply: "Send reply", transfer: "Transfer to group", resolve: "Resolve", close: "Close", reopen: "Reopen",
    why: "Why it was routed here", suggest: "Suggested answers", use: "Use", reveal: "Reveal", noSuggest: "No passage matches.",
    live: "live", reconnecting: "reconnecting", risk: "SLA at risk", breached: "SLA breached", bot: "Bot", agent: "Agent", system: "System",
    you: "You", replyPlaceholder: "Write to the customer…", total: "total", weights: "weights", claimable: "claimable",
    sure: "Resolve this ticket?", sureClose: "Close this ticket? It leaves every queue; you can still reopen it.",
    sureReopen: "Reopen this ticket? It goes back to the queue and is routed again.",
    claimFailed: "Could not claim this ticket.", replyFailed: "Your reply was not sent.", transferFailed: "Could not transfer this ticket.",
    resolveFailed: "Could not resolve this ticket.", closeFailed: "Could not close this ticket.", reopenFailed: "Could not reopen this ticket.",
    statusFailed: "Your status was not changed.", capacityFailed: "Your capacity was not changed.", loadFailed: "Could not load this.",
    emptyReply: "Write a reply first.", isResolved: "This ticket is resolved. Reopen it to reply again, or close it.",
    isClosed: "This ticket is closed. Reopen it to work on it again.", notClaimable: "Waiting for an agent. You cannot claim it now: you are not online, or already at your limit.",
    gone: "This ticket is no longer in your queue.", undelivered: "Not delivered to the customer", deliveryPending: "Sending to the customer…",
    undeliveredHint: "The customer has not received this reply. Once the channel works again, an administrator can send it again (switchboard outbox retry).",
    reason: "Reason", canned: "Canned responses", cannedHint: "Type /shortcut in the reply and press Tab.", mineTag: "mine",
    cannedNew: "New canned response of mine", shortcut: "Shortcut", cannedBody: "Text ({{customer.name}}, {{agent.name}}, {{ticket.id}})",
    save: "Save", cannedFailed: "Could not use this canned response.", cannedSaveFailed: "The canned response was not saved.", notes: "Internal notes", addNote: "Add note",
    notePlaceholder: "A note for colleagues — the customer never sees it; @name tells them", tags: "Tags", saveTags: "Save tags",
    tagsPlaceholder: "refund, vip", mentionedYou: "mentioned you in a note", open: "Open", noteFailed: "The note was not added.",
    tagsFailed: "The tags were not saved.", emptyNote: "Write the note first.",
    setPriority: "Set priority", priorityFailed: "The priority was not changed.", handoff: "Handed over by the bot", reason_asked_for_human: "The customer asked for a human", reason_intent: "This kind of request always goes to a person",
    reason_no_answer: "The bot had no answer", reason_low_confidence: "The bot was not sure enough of its answer", asked: "Asked",
    botAnswer: "The bot's best answer (%d% sure)", sources: "Sources", frustrated: "The customer seems frustrated", intent: "Intent",
    attempts: " (%d attempts)", reason_route: "route", reason_pull: "pull", reason_claim: "claim", reason_transfer: "transfer",
    find: "Find tickets", search: "Search", searchPlaceholder: "Words, or a customer's full name", view: "List", view_mine: "Mine",
    view_waiting: "Waiting in my groups", view_open: "All open", view_resolved: "Resolved", anyChannel: "Any channel", anyPriority: "Any priority",
    anySLA: "Any SLA state", sla_breached: "SLA breached", sla_at_risk: "SLA at risk", sla_ok: "SLA fine", tagFilter: "Tag",
    results: "Found", searchFailed: "The search did not work.",
    profile: "Customer", crm: "CRM", owner: "owner", tier: "VIP tier", since: "Customer since", identities: "Also known as", channels: "Channels (conversations)",
    pastTickets: "Tickets", ratings: "Ratings", noRatings: "No ratings yet.", ratingAvg: "%s of 5 from %d",
    assist: "Suggested replies", assistKB: "From the knowledge base (%d% sure)", assistPast: "Resolved a similar ticket (%d% alike)",
    assistAsked: "They asked", assistNone: "No suggestion for this conversation.", draftAI: "Draft with AI", drafting: "Writing a draft…",
    drafted: "Draft ready: edit it before sending.", draftFailed: "No draft was written.",
    factor_vip: "vip", factor_skill_match: "skill_match", factor_load: "load", factor_wait: "wait", weightShort: "w", colon: ": ", youNamed: "You (%s)",
    customerTyping: "The customer is typing…", sendFile: "Send a file", fileFailed: "The file was not sent.", download: "Download",
    mergedInto: "Merged into another ticket as a duplicate.", openSurvivor: "Open it", mergedHere: "Merged into this ticket",
    mergeHere: "Merge into this ticket", mergeConfirm: "Merge “%s” into this ticket? It closes as a duplicate; its tags and notes come here.",
    mergeFailed: "The tickets were not merged.", aiSummary: "Summary (AI)", pastConversations: "Conversations",
    messagesN: "%d messages",
    markPhoto: "photo", markVoice: "voice message", markTranscribed: "transcribed", markTranscribing: "transcribing",
    markUnrecognised: "unrecognised", markCategory: "category" },
  zh: { title: "坐席工作台", signInTitle: "登录", username: "用户名", password: "密码", signIn: "登录", wrongRole: "此页面仅供坐席使用。",
    signOut: "退出", status: "状态", online: "在线", away: "离开", offline: "离线", load: "负载", capacity: "接待上限", mine: "我的工单", waiting: "我所在组的排队工单",
    empty: "暂无。", pick: "请从左侧队列选择工单。", claim: "领取", reply: "发送回复", transfer: "转给技能组", resolve: "解决", close: "关闭", reopen: "重新打开",
    why: "分配原因", suggest: "推荐答案", use: "使用", reveal: "查看原文", noSuggest: "没有匹配的知识。", live: "实时",
    reconnecting: "重新连接中", risk: "SLA 临近", breached: "SLA 超时", bot: "机器人", agent: "坐席", system: "系统",
    you: "我", replyPlaceholder: "回复客户…", total: "总分", weights: "权重", claimable: "可领取",
    sure: "确认解决此工单？", sureClose: "确认关闭此工单？关闭后它将离开所有队列，仍可重新打开。", sureReopen: "确认重新打开此工单？它将回到队列并重新分配。",
    claimFailed: "未能领取此工单。", replyFailed: "回复未发送。", transferFailed: "未能转接此工单。", resolveFailed: "未能解决此工单。",
    closeFailed: "未能关闭此工单。", reopenFailed: "未能重新打开此工单。", statusFailed: "状态未更改。", capacityFailed: "接待上限未更改。",
    loadFailed: "加载失败。", emptyReply: "请先填写回复内容。", isResolved: "此工单已解决。如需继续回复请重新打开，或将其关闭。",
    isClosed: "此工单已关闭。如需继续处理请重新打开。", notClaimable: "等待坐席接待。您现在无法领取：您不在线，或已达到接待上限。",
    gone: "此工单已不在您的队列中。", undelivered: "未能送达客户", deliveryPending: "正在发送给客户…", attempts: "（已尝试 %d 次）",
    undeliveredHint: "客户没有收到这条回复。渠道恢复后，管理员可以重新发送（switchboard outbox retry）。", reason: "原因",
    canned: "快捷回复", cannedHint: "在回复框输入 /快捷词 后按 Tab 键。", mineTag: "我的", cannedNew: "新建我的快捷回复", shortcut: "快捷词",
    cannedBody: "内容（{{customer.name}}、{{agent.name}}、{{ticket.id}}）", save: "保存", cannedFailed: "未能使用此快捷回复。",
    cannedSaveFailed: "快捷回复未保存。", notes: "内部备注", addNote: "添加备注", notePlaceholder: "给同事的备注（客户看不到），用 @用户名 提醒同事",
    tags: "标签", saveTags: "保存标签", tagsPlaceholder: "退款, vip", mentionedYou: "在备注中提到了您", open: "打开", noteFailed: "备注未添加。",
    tagsFailed: "标签未保存。", emptyNote: "请先填写备注内容。",
    setPriority: "更改优先级", priorityFailed: "优先级未更改。", handoff: "机器人转接摘要", reason_asked_for_human: "客户要求转人工", reason_intent: "此类请求总是由人工处理", reason_no_answer: "机器人没有答案",
    reason_low_confidence: "机器人对答案把握不足", asked: "客户问题", botAnswer: "机器人的最佳答案（把握 %d%）", sources: "来源",
    frustrated: "客户情绪不满", intent: "意图",
    reason_route: "自动分配", reason_pull: "空闲时拉取", reason_claim: "领取", reason_transfer: "转接",
    find: "查找工单", search: "搜索", searchPlaceholder: "关键词，或客户全名", view: "列表", view_mine: "我的", view_waiting: "我所在组排队中",
    view_open: "全部未解决", view_resolved: "已解决", anyChannel: "全部渠道", anyPriority: "全部优先级", anySLA: "全部 SLA 状态",
    sla_breached: "SLA 超时", sla_at_risk: "SLA 临近", sla_ok: "SLA 正常", tagFilter: "标签", results: "找到", searchFailed: "搜索失败。",
    profile: "客户资料", crm: "CRM", owner: "负责人", tier: "VIP 等级", since: "首次联系", identities: "其他身份", channels: "渠道（会话数）",
    pastTickets: "工单", ratings: "满意度评价", noRatings: "暂无评价。", ratingAvg: "平均 %s 分（共 %d 次）",
    assist: "推荐回复", assistKB: "来自知识库（把握 %d%）", assistPast: "相似工单的解决回复（相似度 %d%）", assistAsked: "当时的问题",
    assistNone: "此会话暂无推荐。", draftAI: "AI 起草", drafting: "正在起草…", drafted: "草稿已填入回复框，请修改后再发送。", draftFailed: "未能起草回复。",
    factor_vip: "VIP", factor_skill_match: "技能匹配", factor_load: "负载", factor_wait: "等待时长", weightShort: "权重", colon: "：", youNamed: "我（%s）",
    customerTyping: "客户正在输入…", sendFile: "发送文件", fileFailed: "文件未发送。", download: "下载",
    mergedInto: "已作为重复工单合并到另一个工单。", openSurvivor: "打开", mergedHere: "已合并到本工单",
    mergeHere: "合并到本工单", mergeConfirm: "确认将“%s”合并到本工单？它将作为重复工单关闭，标签和备注转到本工单。",
    mergeFailed: "工单未合并。", aiSummary: "摘要（AI）", pastConversations: "会话",
    messagesN: "%d 条消息",
    markPhoto: "图片", markVoice: "语音消息", markTranscribed: "已转写", markTranscribing: "正在转写",
    markUnrecognised: "无法识别", markCategory: "类别" },
};
const tr = (k) => t(S, k);
const app = document.getElementById("app");
document.documentElement.lang = lang;
document.title = "Switchboard — " + tr("title");

const prio = { urgent: 0, high: 1, normal: 2, low: 3 };
let me = null, self = null, queue = { mine: [], waiting: [] }, current = null, shownAs = "", groups = [];
let wanted = null; // the ticket the agent last chose (openTicket)
const drafts = new Map(); // ticket id → the reply being written, kept across refreshes
const noteDrafts = new Map(); // ticket id → the note being written
let actionError = null; // { ticket, title, detail }: shown under the open ticket's buttons

// risk: breached, at risk (under a fifth of the first-response time left), or fine.
function risk(tk) {
  if (tk.first_response_breached || tk.resolution_breached) return "breached";
  if (!tk.first_response_due || tk.first_response_at) return "";
  const left = new Date(tk.first_response_due) - Date.now(), total = new Date(tk.first_response_due) - new Date(tk.created_at);
  return left < total * 0.2 ? "risk" : "";
}

function sortQueue(list) {
  const r = { breached: 0, risk: 1, "": 2 };
  return [...list].sort((a, b) => (prio[a.priority] - prio[b.priority]) || (r[risk(a)] - r[risk(b)]) ||
    (new Date(a.first_response_due || a.created_at) - new Date(b.first_response_due || b.created_at)));
}

const claimable = (id) => queue.waiting.some((w) => w.id === id && w.claimable);

// author: how a message's author is shown (kind for the style, who for the line above).
function author(m, tk) {
  const a = m.author || "";
  if (a === "customer") return { kind: "customer", who: customerLabel(tk) };
  if (a === "bot") return { kind: "bot", who: tr("bot") };
  if (a.startsWith("agent")) {
    const id = a.slice("agent:".length);
    return { kind: "agent", who: id === me.subject ? (self && self.name ? tr("youNamed").replace("%s", self.name) : tr("you")) : tr("agent") + " " + (id || "") };
  }
  return { kind: "system", who: tr("system") };
}

// markerText is a voice-note or photo marker as the server writes it ("[photo: pelican
// 99% | category: birds]", "[voice message: transcribed]") in the page's language.
function markerText(raw) {
  return raw.replace(/^\[(photo|voice message)(: )?/, (_, kind, sep) => "[" + tr(kind === "photo" ? "markPhoto" : "markVoice") + (sep ? tr("colon") : ""))
    .replace(/\btranscribed\]$/, tr("markTranscribed") + "]").replace(/\btranscribing\]$/, tr("markTranscribing") + "]")
    .replace(/\bunrecognised\b/, tr("markUnrecognised")).replace(" | category: ", " | " + tr("markCategory") + tr("colon"));
}

// Voice-note and photo markers stand out in the transcript.
function renderText(text) {
  const out = [];
  const re = /\[(voice message[^\]]*|photo[^\]]*)\]/g;
  let at = 0, m;
  while ((m = re.exec(text))) {
    if (m.index > at) out.push(text.slice(at, m.index));
    out.push(el("span", { class: "media", "data-testid": m[1].startsWith("voice") ? "voice-marker" : "photo-marker" }, markerText(m[0])));
    at = m.index + m[0].length;
  }
  out.push(text.slice(at));
  return out;
}

async function loadQueue() {
  queue = await api("GET", "/v1/me/queue");
  renderQueue();
}

function queueItem(tk) {
  const rk = risk(tk), waiting = tk.status === "open";
  return el("li", { class: current && current.ticket.id === tk.id ? "active" : "", "data-testid": "queue-item", "data-ticket": tk.id,
    "data-claimable": waiting ? String(!!tk.claimable) : null, onclick: () => openTicket(tk.id).catch((x) => notice(tr("loadFailed"), x)) },
    el("div", {}, el("span", { class: "tag " + tk.priority, "data-testid": "priority" }, word(tk.priority)),
      rk ? el("span", { class: "tag " + rk }, tr(rk === "risk" ? "risk" : "breached")) : null,
      tk.vip_tier > 0 ? el("span", { class: "tag" }, "VIP " + tk.vip_tier) : null,
      waiting && tk.claimable ? el("span", { class: "tag claimable" }, tr("claimable")) : null),
    el("strong", {}, tk.subject || "—"),
    el("div", { class: "muted", "data-testid": "queue-customer" }, customerLabel(tk) + " · " + word(tk.status) + " · " + new Date(tk.created_at).toLocaleTimeString()));
}

function renderQueue() {
  const list = (items) => items.length ? el("ul", { class: "queue" }, sortQueue(items).map(queueItem)) : el("p", { class: "muted" }, tr("empty"));
  document.getElementById("queue").replaceChildren(
    el("h2", {}, tr("mine") + " (" + queue.mine.length + ")"), list(queue.mine),
    el("h2", {}, tr("waiting") + " (" + queue.waiting.length + ")"), list(queue.waiting));
}

async function loadStatus() {
  try { self = await api("GET", "/v1/me/status"); } catch (x) {
    if (x.status !== 404) throw x;
    self = null; // a supervisor without an agent record: no status or capacity of their own
    document.getElementById("load").textContent = "";
    return;
  }
  document.getElementById("status").value = self.status;
  const cap = document.getElementById("capacity");
  if (self.max_capacity) cap.max = String(self.max_capacity);
  if (document.activeElement !== cap) cap.value = self.capacity;
  document.getElementById("load").textContent = tr("load") + " " + self.load + "/" + self.capacity;
  document.querySelector('[data-testid="me"]').textContent = self.name || me.subject;
}

// openTicket shows ticket id; a refresh of the ticket already shown redraws it only when
// something changed, so that a reply being written keeps its place.
// A refresh of the shown ticket that answers after the agent has chosen another is
// dropped, so a slow answer never puts back the ticket they left.
async function openTicket(id, force) {
  if (!(current && current.ticket.id === id)) wanted = id;
  let d;
  try {
    d = await api("GET", "/v1/tickets/" + id);
  } catch (x) {
    if (wanted !== id) return;
    const same = current && current.ticket.id === id;
    if (!same || (x.status !== 403 && x.status !== 404)) throw x;
    if (!current.gone) { current = { ...current, gone: true }; renderTicket(); }
    return;
  }
  if (wanted !== id) return;
  const same = current && current.ticket.id === id;
  const key = JSON.stringify(d) + claimable(id);
  if (same && key === shownAs && !force) return;
  if (!same && actionError && actionError.ticket !== id) actionError = null;
  current = d;
  shownAs = key;
  renderQueue();
  renderTicket();
  await renderSide();
  if (!same) bringIntoView(document.getElementById("ticket"));
}

// bringIntoView scrolls to the ticket pane where it is not sticky (narrow screens).
function bringIntoView(pane) {
  const r = pane.getBoundingClientRect();
  if (r.top < 0 || r.top > window.innerHeight - 60) pane.scrollIntoView({ block: "start" });
}

// allowed mirrors the ticket core's rules, so that only buttons that can work are shown.
function allowed(tk) {
  const sup = me.role === "supervisor", mine = tk.assignee_id === me.subject;
  const active = tk.status === "assigned" || tk.status === "pending", waiting = tk.status === "open";
  const handles = (active && (mine || sup)) || (waiting && sup);
  return { claim: waiting && claimable(tk.id), reply: active && (mine || sup), transfer: handles, resolve: handles,
    close: tk.status === "resolved" && (mine || sup), reopen: (tk.status === "resolved" || tk.status === "closed") && (mine || sup) };
}

// deliveryLine flags an agent's reply that has not reached the customer: given up (what
// it means and what can be done, the channel's error on a line of its own) or still
// being sent.
function deliveryLine(dv) {
  const tries = dv.attempts ? tr("attempts").replace("%d", dv.attempts) : "";
  if (dv.state === "failed") {
    return el("div", { class: "delivery failed", "data-testid": "delivery-failed", title: dv.error || "" },
      el("strong", {}, "⚠ " + tr("undelivered") + tries), el("div", { "data-testid": "delivery-hint" }, tr("undeliveredHint")),
      dv.error ? el("div", { class: "delivery-error", "data-testid": "delivery-error" }, tr("reason") + tr("colon") + dv.error) : null);
  }
  if (dv.state === "pending") return el("div", { class: "delivery pending", "data-testid": "delivery-pending", title: dv.error || "" }, tr("deliveryPending") + tries);
  return null;
}

function messageBox(m, tk) {
  const { kind, who } = author(m, tk);
  const dv = kind === "agent" && m.delivery ? m.delivery : null;
  const box = el("div", { class: "m " + kind + (dv && dv.state === "failed" ? " undelivered" : ""), "data-testid": "message", "data-author": kind,
    "data-delivery": dv ? dv.state : null },
  el("span", { class: "who" }, who + " · " + new Date(m.created_at).toLocaleTimeString()),
  el("span", { class: "body", "data-testid": "message-body" }, ...renderText(m.text)), m.attachment ? attachmentView(tk, m.attachment) : null,
  dv ? deliveryLine(dv) : null);
  if (kind === "customer" && /\[[A-Z][A-Z_]*_\d+\]/.test(m.text)) {
    box.appendChild(el("div", {}, el("button", { class: "secondary", "data-testid": "reveal", onclick: async (e) => {
      const b = e.currentTarget;
      try {
        const r = await api("GET", "/v1/conversations/" + tk.conversation_id + "/messages/" + m.id + "/pii");
        b.replaceWith(el("span", { class: "revealed", "data-testid": "revealed" }, r.values.map((v) => v.placeholder + " = " + v.value).join(", ")));
      } catch (x) { b.replaceWith(el("span", { class: "error" }, explain(x))); }
    } }, tr("reveal"))));
  }
  return box;
}

// blobs keeps the attachments fetched (id → object URL): the API needs the token, so an
// <img src> cannot fetch them itself.
const blobs = new Map();

async function attachmentURL(tk, a) {
  if (!blobs.has(a.id)) {
    blobs.set(a.id, (async () => {
      const r = await fetch("/v1/conversations/" + tk.conversation_id + "/attachments/" + a.id, { headers: { Authorization: "Bearer " + session.get().token } });
      if (!r.ok) throw new APIError(r.status, await r.json().catch(() => ({})));
      return URL.createObjectURL(await r.blob());
    })());
  }
  return blobs.get(a.id);
}

// attachmentView shows a file an agent sent: an image inline, another file as a download.
function attachmentView(tk, a) {
  const size = a.size >= 1024 ? Math.round(a.size / 1024) + " KB" : a.size + " B";
  const box = el("div", { class: "attachment", "data-testid": "attachment", "data-kind": a.kind });
  attachmentURL(tk, a).then((url) => box.append(a.kind === "image"
    ? el("img", { src: url, alt: a.name, "data-testid": "attachment-image", style: "max-width: 240px; max-height: 180px; display: block;" })
    : el("a", { href: url, download: a.name, "data-testid": "attachment-link" }, tr("download") + " " + a.name + " (" + size + ")")))
    .catch((x) => box.append(el("span", { class: "error" }, explain(x))));
  return box;
}

// sendFile sends the file the agent picked to the customer.
async function sendFile(tk, file) {
  const form = new FormData();
  form.append("file", file, file.name);
  const r = await fetch("/v1/tickets/" + tk.id + "/attachments", { method: "POST", headers: { Authorization: "Bearer " + session.get().token }, body: form });
  if (!r.ok) throw new APIError(r.status, await r.json().catch(() => ({})));
}

// typing: the customer's typing pushes (ticket id → until when it shows), and when the
// agent last told the customer they are typing (ticket id → time).
const customerTypingUntil = new Map(), toldTyping = new Map();

function showTyping() {
  const line = document.querySelector('[data-testid="typing-line"]');
  if (!line || !current) return;
  const on = (customerTypingUntil.get(current.ticket.id) || 0) > Date.now();
  line.textContent = on ? tr("customerTyping") : "";
  line.dataset.typing = on ? "customer" : "";
}

function customerTyping(p) {
  customerTypingUntil.set(p.ticket_id, Date.now() + 5000);
  showTyping();
  setTimeout(showTyping, 5100);
}

// agentTyping tells the customer, at most every 2 s, that the agent is writing to them.
function agentTyping(tk) {
  const last = toldTyping.get(tk.id) || 0;
  if (Date.now() - last < 2000) return;
  toldTyping.set(tk.id, Date.now());
  api("POST", "/v1/tickets/" + tk.id + "/typing").catch(() => {}); // a hint, never an error to show
}

// act runs a ticket action (after a confirmation when ask is set) and refreshes; a
// failure is shown under the buttons.
function act(tk, name, fn, ask) {
  return async (e) => {
    const b = e.currentTarget;
    if (ask && !(await confirmDialog(tr(ask), tr(name)))) return;
    b.disabled = true;
    try {
      await fn();
      actionError = null;
    } catch (x) {
      const empty = { empty: "emptyReply", emptyNote: "emptyNote" }[x.message];
      actionError = { ticket: tk.id, title: tr(name + "Failed"), detail: empty ? tr(empty) : explain(x) };
    } finally { b.disabled = false; }
    try {
      await loadQueue();
      await Promise.all([openTicket(tk.id, true), loadStatus()]);
    } catch (x) { notice(tr("loadFailed"), x); }
  };
}

function actionButtons(tk, reply) {
  const can = allowed(tk), post = (op, body) => () => api("POST", "/v1/tickets/" + tk.id + "/" + op, body);
  const groupSel = can.transfer ? el("select", { "data-testid": "transfer-group" }, groups.map((g) => el("option", { value: g.id }, g.name || g.id))) : null;
  const send = async () => {
    if (!reply.value.trim()) throw new Error("empty");
    await api("POST", "/v1/tickets/" + tk.id + "/replies", { text: reply.value });
    drafts.delete(tk.id);
  };
  return el("div", { class: "actions" },
    can.claim ? el("button", { "data-testid": "claim", onclick: act(tk, "claim", post("claim")) }, tr("claim")) : null,
    can.reply ? el("button", { "data-testid": "send-reply", onclick: act(tk, "reply", send) }, tr("reply")) : null,
    can.reply ? fileButton(tk) : null,
    groupSel,
    can.transfer ? el("button", { class: "secondary", "data-testid": "transfer", onclick: act(tk, "transfer", () => post("transfer", { group: groupSel.value })()) }, tr("transfer")) : null,
    can.resolve ? el("button", { class: "secondary", "data-testid": "resolve", onclick: act(tk, "resolve", post("resolve"), "sure") }, tr("resolve")) : null,
    can.reopen ? el("button", { "data-testid": "reopen", onclick: act(tk, "reopen", post("reopen"), "sureReopen") }, tr("reopen")) : null,
    can.close ? el("button", { class: "secondary", "data-testid": "close", onclick: act(tk, "close", post("close"), "sureClose") }, tr("close")) : null);
}

// fileButton picks a file and sends it to the customer.
function fileButton(tk) {
  const input = el("input", { type: "file", "data-testid": "attach-file", accept: "image/*,.pdf,.txt", style: "display: none",
    onchange: (e) => { const f = e.target.files[0]; if (f) act(tk, "file", () => sendFile(tk, f))({ currentTarget: btn }); } });
  const btn = el("button", { class: "secondary", "data-testid": "attach", onclick: () => input.click() }, tr("sendFile"));
  return el("span", {}, input, btn);
}

function stateNote(tk) {
  if (current.gone) return el("p", { class: "finished", "data-testid": "gone" }, tr("gone"));
  if (tk.merged_into) {
    return el("p", { class: "finished", "data-testid": "merged-into" }, tr("mergedInto") + " ",
      el("button", { class: "secondary", onclick: () => openTicket(tk.merged_into).catch((x) => notice(tr("loadFailed"), x)) }, tr("openSurvivor")));
  }
  if (tk.status === "resolved" || tk.status === "closed") {
    return el("p", { class: "finished", "data-testid": "finished" }, tr(tk.status === "resolved" ? "isResolved" : "isClosed"));
  }
  if (tk.status === "open" && !claimable(tk.id) && me.role !== "supervisor") return el("p", { class: "muted", "data-testid": "not-claimable" }, tr("notClaimable"));
  return null;
}

function renderTicket() {
  const d = current, tk = d.ticket, pane = document.getElementById("ticket");
  const old = pane.querySelector('[data-testid="reply-text"]'), typing = old && document.activeElement === old;
  const sel = typing ? [old.selectionStart, old.selectionEnd] : null;
  const reply = !d.gone && allowed(tk).reply ? el("textarea", { placeholder: tr("replyPlaceholder"), "data-testid": "reply-text",
    oninput: (e) => { drafts.set(tk.id, e.target.value); agentTyping(tk); }, onkeydown: (e) => expandShortcut(e, tk) }) : null;
  if (reply) reply.value = drafts.get(tk.id) || "";
  const err = actionError && actionError.ticket === tk.id ? inlineError(actionError.title, actionError.detail, () => { actionError = null; }) : null;
  const notes = d.gone ? null : notesSection(d);
  pane.replaceChildren(...[
    el("h2", { "data-testid": "ticket-subject" }, tk.subject || "—"),
    tk.handoff ? handoffCard(tk.handoff) : null,
    el("div", { class: "muted", "data-testid": "ticket-status" }, [word(tk.status), word(tk.priority), customerLabel(tk), (tk.skills || []).join(", ")].filter(Boolean).join(" · ")),
    el("div", { class: "msgs", "data-testid": "transcript" }, d.messages.map((m) => messageBox(m, tk))),
    el("div", { class: "muted typing", "data-testid": "typing-line", "aria-live": "polite" }),
    (d.merged || []).length ? el("details", { class: "merged", "data-testid": "merged", open: true }, el("summary", {}, tr("mergedHere") + " (" + d.merged.length + ")"),
      d.merged.map((x) => el("div", { "data-testid": "merged-ticket", "data-ticket": x.ticket.id }, el("strong", {}, x.ticket.subject || "—"),
        (x.messages || []).map((m) => messageBox(m, x.ticket))))) : null,
    stateNote(tk), reply, d.gone ? null : actionButtons(tk, reply), err, notes].filter(Boolean));
  pane.dataset.ticket = tk.id;
  pane.dataset.status = tk.status;
  if (reply && typing) { reply.focus(); reply.setSelectionRange(sel[0], sel[1]); }
  showTyping();
}

// handoffCard is the bot's summary of why it handed the conversation over.
function handoffCard(h) {
  return el("div", { class: "handoff", "data-testid": "handoff", "data-reason": h.reason },
    el("strong", {}, tr("handoff") + tr("colon")), el("span", { "data-testid": "handoff-reason" }, tr("reason_" + h.reason)),
    h.frustrated ? el("span", { class: "tag breached", "data-testid": "handoff-mood" }, tr("frustrated")) : null,
    h.summary ? el("div", { "data-testid": "handoff-summary" }, el("span", { class: "muted" }, tr("aiSummary") + tr("colon")), h.summary) : null,
    el("div", {}, el("span", { class: "muted" }, tr("asked") + tr("colon")), h.asked),
    h.intent ? el("div", { class: "muted" }, tr("intent") + tr("colon") + h.intent) : null,
    h.bot_answer ? el("div", {}, el("span", { class: "muted" }, tr("botAnswer").replace("%d", Math.round(100 * h.confidence)) + tr("colon")), h.bot_answer,
      h.sources && h.sources.length ? el("span", { class: "muted" }, " — " + tr("sources") + tr("colon") + h.sources.join(", ")) : null) : null);
}

// notesSection shows the ticket's tags and internal notes (staff only; "@name" in a note
// tells that colleague), with what adds a note and saves the tags.
function notesSection(d) {
  const tk = d.ticket;
  const tags = el("input", { "data-testid": "tags-input", placeholder: tr("tagsPlaceholder"), "aria-label": tr("tags"), value: (tk.tags || []).join(", ") });
  const saveTags = act(tk, "tags", async () => {
    await api("PUT", "/v1/tickets/" + tk.id + "/tags", { tags: tags.value.split(/[,，\s]+/).filter(Boolean) });
  });
  const note = el("textarea", { "data-testid": "note-text", placeholder: tr("notePlaceholder"), oninput: (e) => noteDrafts.set(tk.id, e.target.value) });
  note.value = noteDrafts.get(tk.id) || "";
  const addNote = act(tk, "note", async () => {
    if (!note.value.trim()) throw new Error("emptyNote");
    await api("POST", "/v1/tickets/" + tk.id + "/notes", { text: note.value });
    noteDrafts.delete(tk.id);
  });
  const prioSel = allowed(tk).transfer ? el("select", { "data-testid": "priority-select", "aria-label": tr("setPriority") },
    ["urgent", "high", "normal", "low"].map((p) => el("option", { value: p, selected: p === tk.priority }, word(p)))) : null;
  const setPriority = act(tk, "priority", async () => {
    await api("PUT", "/v1/tickets/" + tk.id + "/priority", { priority: prioSel.value });
  });
  return el("div", { class: "notes", "data-testid": "notes" },
    prioSel ? el("div", { class: "tags" }, prioSel, el("button", { class: "secondary", "data-testid": "set-priority", onclick: setPriority }, tr("setPriority"))) : null,
    el("div", { class: "tags", "data-testid": "tags" }, el("strong", {}, tr("tags") + " "),
      (tk.tags || []).map((t) => el("span", { class: "tag", "data-testid": "tag" }, "#" + t)), tags,
      el("button", { class: "secondary", "data-testid": "save-tags", onclick: saveTags }, tr("saveTags"))),
    el("h3", {}, tr("notes")),
    (d.notes || []).map((n) => el("div", { class: "m note", "data-testid": "note", "data-author": n.author },
      el("span", { class: "who" }, n.author), " ", el("span", {}, n.text))),
    note, el("button", { "data-testid": "add-note", onclick: addNote }, tr("addNote")));
}

// mentioned shows that a colleague mentioned the agent in a note, with a way to open it.
function mentioned(p) {
  const box = el("div", { class: "mention", role: "status", "data-testid": "mention" }, p.event.author + " " + tr("mentionedYou") + " ",
    el("button", { class: "secondary", onclick: () => { box.remove(); openTicket(p.event.ticket_id, true).catch((x) => notice(tr("loadFailed"), x)); } }, tr("open")));
  document.getElementById("mentions").prepend(box);
}

// customerLang is the language to answer in: Chinese when the customer wrote Chinese.
function customerLang() {
  const said = current.messages.filter((m) => m.author === "customer").map((m) => m.text).join(" ");
  return /\p{Script=Han}/u.test(said) ? "zh" : "en";
}

// useCanned fills in canned response shortcut for the open ticket and puts it into the
// reply box, in place of the typed "/shortcut" when there is one (an editable draft).
async function useCanned(shortcut, typed) {
  const tk = current.ticket, box = document.querySelector('[data-testid="reply-text"]');
  if (!box) return;
  try {
    const r = await api("GET", "/v1/tickets/" + tk.id + "/canned/" + encodeURIComponent(shortcut) + "?lang=" + customerLang());
    const at = typed ? box.selectionStart - typed.length : box.selectionStart;
    box.setRangeText(r.text, at, box.selectionEnd, "end");
    drafts.set(tk.id, box.value);
    box.focus();
  } catch (x) {
    actionError = { ticket: tk.id, title: tr("cannedFailed"), detail: explain(x) };
    renderTicket();
  }
}

// expandShortcut: Tab after "/shortcut" in the reply box inserts that canned response.
function expandShortcut(e, tk) {
  if (e.key !== "Tab" || e.shiftKey) return;
  const box = e.target, m = box.value.slice(0, box.selectionStart).match(/(?:^|\s)(\/[\p{L}\p{N}_-]+)$/u);
  if (!m) return;
  e.preventDefault();
  useCanned(m[1].slice(1), m[1]);
}

// cannedCard lists the canned responses the agent may use, and saves a new one of
// their own.
async function cannedCard() {
  const card = el("div", { class: "card", "data-testid": "canned" }, el("h2", {}, tr("canned")), el("p", { class: "muted" }, tr("cannedHint")));
  const list = el("div", { "data-testid": "canned-list" });
  const shortcut = el("input", { "data-testid": "canned-new-shortcut", placeholder: "/thanks", "aria-label": tr("shortcut") });
  const body = el("textarea", { "data-testid": "canned-new-body", placeholder: tr("cannedBody"), "aria-label": tr("cannedBody") });
  const err = el("div");
  const save = async () => {
    try {
      await api("POST", "/v1/canned-responses", { shortcut: shortcut.value, body: body.value, lang: "" });
      shortcut.value = body.value = "";
      err.replaceChildren();
      await fill();
    } catch (x) { err.replaceChildren(inlineError(tr("cannedSaveFailed"), explain(x))); }
  };
  const fill = async () => {
    try {
      const r = await api("GET", "/v1/canned-responses");
      list.replaceChildren(...r.canned_responses.map((c) => el("div", { class: "m", "data-testid": "canned-item", "data-shortcut": c.shortcut },
        el("strong", {}, "/" + c.shortcut), " ", el("span", { class: "muted" }, [c.lang, c.owner ? tr("mineTag") : ""].filter(Boolean).join(" · ")),
        el("div", {}, c.body), el("button", { class: "secondary", onclick: () => useCanned(c.shortcut) }, tr("use")))));
    } catch (x) { list.replaceChildren(el("p", { class: "error" }, explain(x))); }
  };
  card.append(list, el("details", {}, el("summary", {}, tr("cannedNew")), shortcut, body,
    el("button", { "data-testid": "canned-save", onclick: save }, tr("save")), err));
  await fill();
  return card;
}

// findCard searches the tickets the agent may see: a list (mine, waiting in their
// groups, all open, resolved), filters (channel, priority, SLA state, tag) and words of
// the conversation or a customer's full name.
function findCard() {
  const q = el("input", { type: "search", "data-testid": "find-q", placeholder: tr("searchPlaceholder"), "aria-label": tr("search") });
  const sel = (id, label, opts) => el("select", { "data-testid": "find-" + id, "aria-label": label }, opts.map(([v, text]) => el("option", { value: v }, text)));
  const view = sel("view", tr("view"), [["open", tr("view_open")], ["mine", tr("view_mine")], ["waiting", tr("view_waiting")], ["resolved", tr("view_resolved")]]);
  const channel = sel("channel", tr("anyChannel"), [["", tr("anyChannel")], ...["web", "rest", "telegram", "slack", "wecom", "webhook"].map((c) => [c, c])]);
  const priority = sel("priority", tr("anyPriority"), [["", tr("anyPriority")], ...["urgent", "high", "normal", "low"].map((p) => [p, word(p)])]);
  const sla = sel("sla", tr("anySLA"), [["", tr("anySLA")], ...["breached", "at_risk", "ok"].map((v) => [v, tr("sla_" + v)])]);
  const tag = el("input", { "data-testid": "find-tag", placeholder: "#" + tr("tagFilter"), "aria-label": tr("tagFilter"), class: "num" });
  const out = el("div", { "data-testid": "find-results" });
  const run = async (e) => {
    if (e) e.preventDefault();
    out.dataset.state = "searching";
    const params = new URLSearchParams({ view: view.value, limit: "50" });
    for (const [k, v] of [["q", q.value.trim()], ["channel", channel.value], ["priority", priority.value], ["sla", sla.value], ["tag", tag.value.trim().replace(/^#/, "").toLowerCase()]]) {
      if (v) params.set(k, v);
    }
    try {
      const r = await api("GET", "/v1/tickets?" + params);
      out.replaceChildren(el("h3", {}, tr("results") + " (" + r.tickets.length + ")"),
        r.tickets.length ? el("ul", { class: "queue" }, r.tickets.map(queueItem)) : el("p", { class: "muted" }, tr("empty")));
    } catch (x) { out.replaceChildren(inlineError(tr("searchFailed"), explain(x))); }
    out.dataset.state = "done";
  };
  return el("section", { class: "card", "data-testid": "find" }, el("h2", {}, tr("find")),
    el("form", { class: "find", onsubmit: run }, q, el("div", { class: "tags" }, view, channel, priority, sla, tag,
      el("button", { type: "submit", "data-testid": "find-run" }, tr("search")))), out);
}

// fillProfile shows who the customer is: name, tier, masked contacts, their other
// identities and channels, past tickets and ratings.
async function fillProfile(card, customerID) {
  let p;
  try { p = await api("GET", "/v1/customers/" + customerID); } catch (x) { card.appendChild(el("p", { class: "error" }, explain(x))); return; }
  const c = p.customer;
  const stars = (n) => "★".repeat(n) + "☆".repeat(5 - n);
  card.append(...[
    el("div", {}, el("strong", { "data-testid": "profile-name" }, c.display_name || customerLabel({ customer_id: c.id })),
      c.vip_tier > 0 ? el("span", { class: "tag", "data-testid": "profile-tier" }, "VIP " + c.vip_tier) : null),
    el("div", { class: "muted" }, [c.email, c.phone, tr("since") + " " + new Date(c.created_at).toLocaleDateString()].filter(Boolean).join(" · ")),
    c.crm ? el("div", { "data-testid": "profile-crm" }, el("span", { class: "muted" }, tr("crm") + tr("colon")),
      [c.crm.account, c.crm.owner && tr("owner") + " " + c.crm.owner, c.crm.id && "#" + c.crm.id].filter(Boolean).join(" · "), " ",
      (c.crm.tags || []).map((x) => el("span", { class: "tag", "data-testid": "profile-crm-tag" }, x))) : null,
    p.identities.length > 1 ? el("div", { "data-testid": "profile-identities" }, el("span", { class: "muted" }, tr("identities") + tr("colon")),
      p.identities.slice(1).map((i) => i.display_name || customerLabel({ customer_id: i.id }) + " (" + i.pseudonymous_id.split(":")[0] + ")").join(", ")) : null,
    el("div", { "data-testid": "profile-channels" }, el("span", { class: "muted" }, tr("channels") + tr("colon")),
      p.channels.map((u) => u.channel + " (" + u.conversations + ")").join(", ")),
    el("h3", {}, tr("pastTickets") + " (" + p.tickets.length + ")"),
    el("ul", { class: "queue", "data-testid": "profile-tickets" }, p.tickets.map((tk) => el("li", { "data-testid": "profile-ticket", "data-ticket": tk.id,
      class: tk.id === current.ticket.id ? "active" : "", onclick: () => openTicket(tk.id).catch((x) => notice(tr("loadFailed"), x)) },
      el("strong", {}, tk.subject || "—"), el("div", { class: "muted" }, word(tk.status) + " · " + new Date(tk.created_at).toLocaleDateString()),
      mergeable(tk) ? el("button", { class: "secondary", "data-testid": "merge-here", onclick: (e) => { e.stopPropagation(); mergeHere(tk); } }, tr("mergeHere")) : null))),
    p.conversations.length ? el("details", { "data-testid": "profile-conversations" }, el("summary", {}, tr("pastConversations") + " (" + p.conversations.length + ")"),
      p.conversations.map((cv) => el("div", { class: "muted" }, cv.channel + " · " + new Date(cv.started_at).toLocaleString() + " · " + tr("messagesN").replace("%d", cv.messages)))) : null,
    el("h3", {}, tr("ratings")),
    p.csat_count ? el("div", { "data-testid": "profile-csat" }, el("div", { class: "muted" }, tr("ratingAvg").replace("%s", p.csat_average.toFixed(1)).replace("%d", p.csat_count)),
      p.csat.map((r) => el("div", {}, el("span", { class: "stars", title: r.rating + "/5" }, stars(r.rating)), " ", r.comment || "")))
      : el("p", { class: "muted", "data-testid": "profile-csat" }, tr("noRatings"))].filter(Boolean));
}

// mergeable: another of the customer's tickets, still being worked on, that may be merged
// into the open one (the server decides who may; this only hides what cannot work).
function mergeable(other) {
  const here = current.ticket;
  return other.id !== here.id && !other.merged_into && ["open", "assigned", "pending"].includes(other.status) &&
    ["open", "assigned", "pending"].includes(here.status) && !here.merged_into;
}

// mergeHere merges another of the customer's tickets into the open one, after confirming.
async function mergeHere(dup) {
  const here = current.ticket;
  if (!(await confirmDialog(tr("mergeConfirm").replace("%s", dup.subject || "—"), tr("mergeHere")))) return;
  try {
    await api("POST", "/v1/tickets/" + dup.id + "/merge", { into: here.id });
    actionError = null;
  } catch (x) { actionError = { ticket: here.id, title: tr("mergeFailed"), detail: explain(x) }; }
  await loadQueue().catch(() => {});
  await openTicket(here.id, true).catch((x) => notice(tr("loadFailed"), x));
}

// intoReply puts text into the reply box as an editable draft.
function intoReply(text) {
  const box = document.querySelector('[data-testid="reply-text"]');
  if (!box) return false;
  box.value = text;
  drafts.set(current.ticket.id, text);
  box.focus();
  return true;
}

// fillAssist lists reply drafts (the knowledge base's answer, replies that resolved
// similar tickets) and, with a language model, drafts one streamed into the reply box.
async function fillAssist(card, tk) {
  let r;
  try { r = await api("GET", "/v1/tickets/" + tk.id + "/assist"); } catch (x) { card.appendChild(el("p", { class: "error" }, explain(x))); return; }
  const canReply = allowed(tk).reply;
  if (!r.drafts.length) card.appendChild(el("p", { class: "muted" }, tr("assistNone")));
  for (const d of r.drafts) {
    const pct = Math.round(100 * d.score);
    card.appendChild(el("div", { class: "m", "data-testid": "assist-draft", "data-kind": d.kind },
      el("div", { class: "muted" }, d.kind === "kb" ? tr("assistKB").replace("%d", pct) : tr("assistPast").replace("%d", pct)),
      d.question ? el("div", { class: "muted" }, tr("assistAsked") + tr("colon") + d.question) : null,
      el("div", {}, d.text),
      d.sources && d.sources.length ? el("div", { class: "muted" }, tr("sources") + tr("colon") + d.sources.join(", ")) : null,
      canReply ? el("button", { class: "secondary", "data-testid": "assist-use", onclick: () => intoReply(d.text) }, tr("use")) : null));
  }
  if (r.can_compose && tk.handoff && !tk.handoff.summary) summarize(tk);
  if (!r.can_compose || !canReply) return;
  const state = el("div", { class: "muted", "data-testid": "draft-state", "aria-live": "polite" });
  const btn = el("button", { "data-testid": "draft-ai", onclick: async () => {
    btn.disabled = true;
    state.textContent = tr("drafting");
    try {
      await streamDraft(tk.id, (text) => intoReply(text));
      state.textContent = tr("drafted");
    } catch (x) { state.replaceChildren(inlineError(tr("draftFailed"), x instanceof APIError || x instanceof TypeError ? explain(x) : x.message)); }
    btn.disabled = false;
  } }, tr("draftAI"));
  card.append(btn, state);
}

// summarize has the language model brief the agent on an escalated ticket (once: the
// summary is stored with the ticket) and shows it in the handoff card.
const summarized = new Set(); // tickets whose summary was asked for (once a page)

async function summarize(tk) {
  if (summarized.has(tk.id)) return "";
  summarized.add(tk.id);
  try {
    const r = await api("POST", "/v1/tickets/" + tk.id + "/summary");
    if (current && current.ticket.id === tk.id) openTicket(tk.id, true).catch(() => {});
    return r.summary;
  } catch (x) { return ""; } // the extractive handoff stays; nothing to fix for the agent
}

// streamDraft reads the language model's draft as server-sent events, calling onText
// with the text so far; it resolves with the finished draft.
async function streamDraft(ticketID, onText) {
  const s = session.get();
  const resp = await fetch("/v1/tickets/" + ticketID + "/assist/draft", { method: "POST", headers: { Authorization: "Bearer " + s.token } });
  if (!resp.ok) {
    const body = await resp.json().catch(() => ({}));
    throw new APIError(resp.status, body);
  }
  const reader = resp.body.getReader(), dec = new TextDecoder();
  let buf = "", done = null;
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const name = (block.match(/^event:(.*)$/m) || [])[1]?.trim();
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).join("\n");
      const v = JSON.parse(data || "{}");
      if (name === "draft") onText(v.text);
      if (name === "done") { onText(v.text); done = v; }
      if (name === "error") throw new Error(v.error);
    }
  }
  if (!done) throw new Error(tr("draftFailed"));
  return done;
}

async function renderSide() {
  const side = document.getElementById("side");
  const a = current.assignments[current.assignments.length - 1];
  const why = el("div", { class: "card", "data-testid": "why" }, el("h2", {}, tr("why")));
  if (a) {
    const s = a.score;
    why.appendChild(el("p", { class: "muted" }, tr("reason_" + a.reason) + " → " + a.agent_id + " (" + a.group_id + ")"));
    why.appendChild(el("table", { class: "score" },
      ["vip", "skill_match", "load", "wait"].map((k) => el("tr", {}, el("td", {}, tr("factor_" + k)), el("td", {}, (s[k] || 0).toFixed(3)),
        el("td", { class: "muted" }, tr("weightShort") + " " + ((s.weights && s.weights[k === "skill_match" ? "skill" : k]) ?? "")))),
      el("tr", {}, el("td", {}, el("strong", {}, tr("total"))), el("td", {}, el("strong", { "data-testid": "score-total" }, (s.total || 0).toFixed(3))), el("td", {}))));
  } else {
    why.appendChild(el("p", { class: "muted" }, tr("empty")));
  }
  const sug = el("div", { class: "card", "data-testid": "suggestions" }, el("h2", {}, tr("suggest")));
  const assist = el("div", { class: "card", "data-testid": "assist" }, el("h2", {}, tr("assist")));
  const profile = el("div", { class: "card", "data-testid": "profile" }, el("h2", {}, tr("profile")));
  side.replaceChildren(profile, assist, why, sug);
  const tk = current.ticket;
  fillProfile(profile, tk.customer_id);
  fillAssist(assist, tk);
  cannedCard().then((card) => { if (sug.isConnected) side.appendChild(card); }); // unless the side was drawn anew meanwhile
  try {
    const r = await api("GET", "/v1/tickets/" + current.ticket.id + "/suggestions");
    if (!r.passages.length) sug.appendChild(el("p", { class: "muted" }, tr("noSuggest")));
    for (const p of r.passages) sug.appendChild(passage(p));
  } catch (x) { sug.appendChild(el("p", { class: "error" }, explain(x))); }
}

function passage(p) {
  const use = () => {
    const box = document.querySelector('[data-testid="reply-text"]');
    if (!box) return;
    box.value = p.snippet;
    drafts.set(current.ticket.id, p.snippet);
    box.focus();
  };
  return el("div", { class: "m", "data-testid": "passage" },
    el("strong", {}, p.title || p.source), el("div", {}, p.snippet), el("div", { class: "muted" }, p.source + " · " + p.score.toFixed(2)),
    el("button", { class: "secondary", onclick: use }, tr("use")));
}

function header() {
  const stateSel = el("select", { id: "status", "data-testid": "status", onchange: async (e) => {
    try { await api("PUT", "/v1/me/status", { status: e.target.value }); } catch (x) { notice(tr("statusFailed"), x); }
    await refresh();
  } }, ["online", "away", "offline"].map((s) => el("option", { value: s }, tr(s))));
  // own capacity: how many tickets the router may give this agent at once (up to the
  // maximum a supervisor set; the server refuses more with 403 and says why)
  const capInput = el("input", { id: "capacity", "data-testid": "capacity", type: "number", min: "0", max: "100", class: "num",
    onchange: async (e) => {
      const n = Number(e.target.value);
      if (e.target.value === "" || !Number.isInteger(n) || n < 0 || n > 100) { e.target.value = ""; await refresh(); return; }
      try { await api("PUT", "/v1/me/status", { status: stateSel.value, capacity: n }); } catch (x) {
        notice(tr("capacityFailed"), x);
        e.target.value = self ? self.capacity : "";
      }
      e.target.blur();
      await refresh();
    } });
  const liveTag = el("span", { class: "muted", "data-testid": "live" }, "…");
  const signOut = async () => {
    await api("POST", "/v1/me/signout").catch(() => {}); // sets the agent offline; the session ends anyway
    endSession("signedOut");
  };
  return { liveTag, node: el("header", { class: "top" }, el("h1", {}, "Switchboard · " + tr("title")), el("span", { "data-testid": "me" }, me.subject),
    el("label", {}, tr("status") + " ", stateSel), el("label", {}, tr("capacity") + " ", capInput), el("span", { id: "load", "data-testid": "load" }), liveTag,
    el("button", { class: "secondary", "data-testid": "signout", onclick: signOut }, tr("signOut"))) };
}

// refresh reads status, queue and the open ticket again (after a reconnect, a push, a change).
async function refresh() {
  try {
    await Promise.all([loadStatus(), loadQueue()]);
    if (current) await openTicket(current.ticket.id);
  } catch (x) { notice(tr("loadFailed"), x); }
}

// hashTicket is the ticket the URL names (#ticket=<id>), or "".
const hashTicket = () => new URLSearchParams(location.hash.slice(1)).get("ticket") || "";

// openFromHash opens the ticket the URL names, unless it is open already; one the agent
// may not see says so in a notice, as a click on it would.
async function openFromHash() {
  const id = hashTicket();
  if (id && !(current && current.ticket.id === id)) await openTicket(id).catch((x) => notice(tr("loadFailed"), x));
}

async function start() {
  me = session.get();
  if (!me || !["agent", "supervisor"].includes(me.role)) me = await signInForm(app, S, ["agent", "supervisor"]);
  const { liveTag, node } = header();
  app.replaceChildren(node, el("div", { id: "mentions", "aria-live": "polite" }),
    el("main", { class: "grid" },
      el("div", {}, findCard(), el("section", { class: "card", id: "queue", "data-testid": "queue" }),
        el("section", { class: "card", id: "my-quality", "data-testid": "my-quality" })),
      el("section", { class: "card", id: "ticket", "data-testid": "ticket" }, el("p", { class: "muted" }, tr("pick"))),
      el("aside", { id: "side" })));
  try { groups = (await api("GET", "/v1/skill-groups")).skill_groups; } catch (x) { groups = []; }
  await refresh();
  const myQuality = () => renderMyQuality(document.getElementById("my-quality")).catch(() => {});
  myQuality();
  setInterval(myQuality, 15000);
  await openFromHash();
  window.addEventListener("hashchange", openFromHash);
  live((p) => {
    if (p.type === "typing") { customerTyping(p); return; }
    if (p.type === "note.mention") mentioned(p);
    refresh();
  }, (up, again) => {
    liveTag.textContent = up ? "● " + tr("live") : "○ " + tr("reconnecting");
    liveTag.dataset.state = up ? "live" : "down";
    if (up && again) refresh(); // presence or tickets may have changed while the socket was down
  });
  // Pushes cover the agent's own tickets; tickets waiting in the groups and new
  // customer messages on the open ticket are polled gently as well.
  setInterval(() => {
    loadQueue().then(() => current && openTicket(current.ticket.id)).catch(() => {});
  }, 5000);
}

start();
