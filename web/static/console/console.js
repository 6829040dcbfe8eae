// The agent console: sign-in, own status and capacity, the live queue ordered by
// priority and SLA risk, the conversation (redacted; voice-note transcripts and photo
// labels marked), suggested knowledge-base passages, claim / reply / transfer / resolve,
// the routing score that put the ticket here, and audited reveals of redacted values.
import { api, el, lang, live, session, signInForm, t } from "../lib/api.js";

const S = {
  en: { title: "Agent console", signInTitle: "Sign in", username: "User name", password: "Password", signIn: "Sign in",
    wrongRole: "This page is for agents.", signOut: "Sign out", status: "Status", online: "Online", away: "Away", offline: "Offline",
    load: "Load", capacity: "Capacity", mine: "My tickets", waiting: "Waiting in my groups", empty: "Nothing here.", pick: "Pick a ticket from the queue.",
    claim: "Claim", reply: "Send reply", transfer: "Transfer to group", resolve: "Resolve", why: "Why it was routed here",
    suggest: "Suggested answers", use: "Use", reveal: "Reveal", noSuggest: "No passage matches.", live: "live", reconnecting: "reconnecting",
    risk: "SLA at risk", breached: "SLA breached", customer: "Customer", bot: "Bot", agent: "Agent", system: "System",
    replyPlaceholder: "Write to the customer…", total: "total", weights: "weights", sure: "Resolve this ticket?" },
  zh: { title: "坐席工作台", signInTitle: "登录", username: "用户名", password: "密码", signIn: "登录", wrongRole: "此页面仅供坐席使用。",
    signOut: "退出", status: "状态", online: "在线", away: "离开", offline: "离线", load: "负载", capacity: "接待上限", mine: "我的工单", waiting: "我所在组的排队工单",
    empty: "暂无。", pick: "请从左侧队列选择工单。", claim: "领取", reply: "发送回复", transfer: "转给技能组", resolve: "解决",
    why: "分配原因", suggest: "推荐答案", use: "使用", reveal: "查看原文", noSuggest: "没有匹配的知识。", live: "实时",
    reconnecting: "重新连接中", risk: "SLA 临近", breached: "SLA 超时", customer: "客户", bot: "机器人", agent: "坐席", system: "系统",
    replyPlaceholder: "回复客户…", total: "总分", weights: "权重", sure: "确认解决此工单？" },
};
const tr = (k) => t(S, k);
const app = document.getElementById("app");
document.documentElement.lang = lang;
document.title = "Switchboard — " + tr("title");

const prio = { urgent: 0, high: 1, normal: 2, low: 3 };
let me = null, queue = { mine: [], waiting: [] }, current = null, groups = [];

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

function authorKind(a) {
  if (a === "customer" || a === "bot" || a === "system") return a;
  return a.startsWith("agent") ? "agent" : "system";
}

// Voice-note and photo markers stand out in the transcript.
function renderText(text) {
  const out = [];
  const re = /\[(voice message[^\]]*|photo[^\]]*)\]/g;
  let at = 0, m;
  while ((m = re.exec(text))) {
    if (m.index > at) out.push(text.slice(at, m.index));
    out.push(el("span", { class: "media", "data-testid": m[1].startsWith("voice") ? "voice-marker" : "photo-marker" }, m[0]));
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
  const rk = risk(tk);
  return el("li", { class: current && current.ticket.id === tk.id ? "active" : "", "data-testid": "queue-item", "data-ticket": tk.id,
    onclick: () => openTicket(tk.id) },
    el("div", {}, el("span", { class: "tag " + tk.priority }, tk.priority), rk ? el("span", { class: "tag " + rk }, tr(rk === "risk" ? "risk" : "breached")) : null,
      tk.vip_tier > 0 ? el("span", { class: "tag" }, "VIP " + tk.vip_tier) : null),
    el("strong", {}, tk.subject || "—"),
    el("div", { class: "muted" }, (tk.customer_name || tk.customer_id) + " · " + tk.status + " · " + new Date(tk.created_at).toLocaleTimeString()));
}

function renderQueue() {
  const list = (items) => items.length ? el("ul", { class: "queue" }, sortQueue(items).map(queueItem)) : el("p", { class: "muted" }, tr("empty"));
  document.getElementById("queue").replaceChildren(
    el("h2", {}, tr("mine") + " (" + queue.mine.length + ")"), list(queue.mine),
    el("h2", {}, tr("waiting") + " (" + queue.waiting.length + ")"), list(queue.waiting));
}

async function loadStatus() {
  const a = await api("GET", "/v1/me/status");
  document.getElementById("status").value = a.status;
  const cap = document.getElementById("capacity");
  if (document.activeElement !== cap) cap.value = a.capacity;
  document.getElementById("load").textContent = tr("load") + " " + a.load + "/" + a.capacity;
}

async function openTicket(id) {
  current = await api("GET", "/v1/tickets/" + id);
  renderQueue();
  renderTicket();
  renderSide();
}

function renderTicket() {
  const d = current, tk = d.ticket;
  const pane = document.getElementById("ticket");
  const reply = el("textarea", { placeholder: tr("replyPlaceholder"), "data-testid": "reply-text" });
  const groupSel = el("select", { "data-testid": "transfer-group" }, groups.map((g) => el("option", { value: g.id }, g.name || g.id)));
  const act = (fn) => async (e) => {
    const b = e.currentTarget;
    b.disabled = true;
    try { await fn(); await Promise.all([openTicket(tk.id), loadQueue(), loadStatus()]); } catch (x) { alert(x.message); } finally { b.disabled = false; }
  };
  const mine = tk.assignee_id === me.subject;
  pane.replaceChildren(
    el("h2", { "data-testid": "ticket-subject" }, tk.subject || "—"),
    el("div", { class: "muted", "data-testid": "ticket-status" }, [tk.status, tk.priority, tk.channel, tk.customer_name, (tk.skills || []).join(", ")].filter(Boolean).join(" · ")),
    el("div", { class: "msgs", "data-testid": "transcript" }, d.messages.map((m) => {
      const kind = authorKind(m.author);
      const hasPII = kind === "customer" && /\[[A-Z][A-Z_]*_\d+\]/.test(m.text);
      const box = el("div", { class: "m " + kind, "data-testid": "message", "data-author": kind },
        el("span", { class: "who" }, tr(kind) + " · " + new Date(m.created_at).toLocaleTimeString()), ...renderText(m.text));
      if (hasPII) {
        box.appendChild(el("div", {}, el("button", { class: "secondary", "data-testid": "reveal", onclick: async (e) => {
          try {
            const r = await api("GET", "/v1/conversations/" + tk.conversation_id + "/messages/" + m.id + "/pii");
            e.target.replaceWith(el("span", { class: "revealed", "data-testid": "revealed" }, r.values.map((v) => v.placeholder + " = " + v.value).join(", ")));
          } catch (x) { e.target.replaceWith(el("span", { class: "error" }, x.message)); }
        } }, tr("reveal"))));
      }
      return box;
    })),
    reply,
    el("div", { class: "actions" },
      !mine && tk.status !== "resolved" && tk.status !== "closed" ? el("button", { "data-testid": "claim", onclick: act(() => api("POST", "/v1/tickets/" + tk.id + "/claim")) }, tr("claim")) : null,
      el("button", { "data-testid": "send-reply", onclick: act(async () => {
        if (!reply.value.trim()) return;
        await api("POST", "/v1/tickets/" + tk.id + "/replies", { text: reply.value });
      }) }, tr("reply")),
      groupSel,
      el("button", { class: "secondary", "data-testid": "transfer", onclick: act(() => api("POST", "/v1/tickets/" + tk.id + "/transfer", { group: groupSel.value })) }, tr("transfer")),
      el("button", { class: "secondary", "data-testid": "resolve", onclick: act(() => api("POST", "/v1/tickets/" + tk.id + "/resolve")) }, tr("resolve"))));
  pane.dataset.ticket = tk.id;
}

async function renderSide() {
  const side = document.getElementById("side");
  const a = current.assignments[current.assignments.length - 1];
  const why = el("div", { class: "card", "data-testid": "why" }, el("h2", {}, tr("why")));
  if (a) {
    const s = a.score;
    why.appendChild(el("p", { class: "muted" }, a.reason + " → " + a.agent_id + " (" + a.group_id + ")"));
    why.appendChild(el("table", { class: "score" },
      ["vip", "skill_match", "load", "wait"].map((k) => el("tr", {}, el("td", {}, k), el("td", {}, (s[k] || 0).toFixed(3)),
        el("td", { class: "muted" }, "w " + ((s.weights && s.weights[k === "skill_match" ? "skill" : k]) ?? "")))),
      el("tr", {}, el("td", {}, el("strong", {}, tr("total"))), el("td", {}, el("strong", { "data-testid": "score-total" }, (s.total || 0).toFixed(3))), el("td", {}))));
  } else {
    why.appendChild(el("p", { class: "muted" }, tr("empty")));
  }
  const sug = el("div", { class: "card", "data-testid": "suggestions" }, el("h2", {}, tr("suggest")));
  side.replaceChildren(why, sug);
  try {
    const r = await api("GET", "/v1/tickets/" + current.ticket.id + "/suggestions");
    if (!r.passages.length) sug.appendChild(el("p", { class: "muted" }, tr("noSuggest")));
    for (const p of r.passages) {
      sug.appendChild(el("div", { class: "m", "data-testid": "passage" },
        el("strong", {}, p.title || p.source), el("div", {}, p.snippet), el("div", { class: "muted" }, p.source + " · " + p.score.toFixed(2)),
        el("button", { class: "secondary", onclick: () => { document.querySelector('[data-testid="reply-text"]').value = p.snippet; } }, tr("use"))));
    }
  } catch (x) { sug.appendChild(el("p", { class: "error" }, x.message)); }
}

async function start() {
  me = session.get();
  if (!me || !["agent", "supervisor"].includes(me.role)) me = await signInForm(app, S, ["agent", "supervisor"]);
  const stateSel = el("select", { id: "status", "data-testid": "status", onchange: async (e) => {
    await api("PUT", "/v1/me/status", { status: e.target.value });
    await Promise.all([loadStatus(), loadQueue()]);
  } }, ["online", "away", "offline"].map((s) => el("option", { value: s }, tr(s))));
  // own capacity: how many tickets the router may give this agent at once
  const capInput = el("input", { id: "capacity", "data-testid": "capacity", type: "number", min: "0", max: "50", class: "num",
    onchange: async (e) => {
      const n = Number(e.target.value);
      if (!Number.isInteger(n) || n < 0 || n > 50) { e.target.value = ""; await loadStatus(); return; }
      await api("PUT", "/v1/me/status", { status: stateSel.value, capacity: n });
      e.target.blur();
      await Promise.all([loadStatus(), loadQueue()]);
    } });
  const liveTag = el("span", { class: "muted", "data-testid": "live" }, "…");
  app.replaceChildren(
    el("header", { class: "top" }, el("h1", {}, "Switchboard · " + tr("title")), el("span", { "data-testid": "me" }, me.subject),
      el("label", {}, tr("status") + " ", stateSel), el("label", {}, tr("capacity") + " ", capInput), el("span", { id: "load", "data-testid": "load" }), liveTag,
      el("button", { class: "secondary", onclick: () => { session.clear(); location.reload(); } }, tr("signOut"))),
    el("main", { class: "grid" },
      el("section", { class: "card", id: "queue", "data-testid": "queue" }),
      el("section", { class: "card", id: "ticket", "data-testid": "ticket" }, el("p", { class: "muted" }, tr("pick"))),
      el("aside", { id: "side" })));
  try { groups = (await api("GET", "/v1/skill-groups")).skill_groups; } catch (x) { groups = []; }
  await Promise.all([loadStatus(), loadQueue()]);
  live(async (push) => {
    await Promise.all([loadQueue(), loadStatus()]);
    if (current && push.event && push.event.ticket_id === current.ticket.id) await openTicket(current.ticket.id);
  }, (up) => { liveTag.textContent = up ? "● " + tr("live") : "○ " + tr("reconnecting"); liveTag.dataset.state = up ? "live" : "down"; });
  // Pushes cover the agent's own tickets; tickets waiting in the groups and new
  // customer messages on the open ticket are polled gently as well.
  setInterval(() => {
    loadQueue().catch(() => {});
    if (current) openTicket(current.ticket.id).catch(() => {});
  }, 5000);
}

start();
