// Quality inspection (智能质检) as the supervisor view and the agent's console show it:
// the inspected conversations with their scores and reasons, an agent's trend day by
// day with the breakdown of reasons, and one conversation's review — its score's parts
// and its messages, the reasons highlighted where they are (a rule's cue marked in the
// reply, a whole reply or customer message marked when the reason is about it).
import { api, duration, el, explain, inlineError, t } from "./api.js";

const Q = {
  en: { quality: "Quality inspection", myQuality: "My quality", flaggedOnly: "Flagged only", agent: "Agent", conversations: "Conversations",
    score: "Score", flagged: "Flagged", reasons: "Reasons", trend: "Trend (mean score a day)", resolved: "Resolved", group: "Group",
    review: "Review", close: "Close", replyScore: "Replies' mean score", firstResponse: "First reply", target: "target",
    slowReplies: "Slow replies", closing: "Closing", yes: "yes", no: "no", sentiment: "Customer's mood (0 calm – 1 angry)",
    noConversations: "No inspected conversations in the last 7 days.", noFlagged: "No flagged conversations in the last 7 days.", reviewFailed: "The review could not be opened.", transcript: "Conversation", customer: "Customer", bot: "Bot", system: "System",
    meanScore: "Mean score", lastDays: "last 7 days", none: "—",
    r_missing_greeting: "No greeting", r_missing_closing: "No closing", r_empathy: "Empathy", r_promise: "Risky promise",
    r_rude: "Rude wording", r_forbidden: "Forbidden wording", r_pii: "Personal data typed out", r_too_short: "Too short", r_too_long: "Too long",
    r_first_response_late: "First reply late", r_slow_reply: "Slow reply", r_sentiment_worse: "Customer left angrier", r_low_score: "Low score" },
  zh: { quality: "智能质检", myQuality: "我的质检", flaggedOnly: "仅看标记", agent: "坐席", conversations: "会话数",
    score: "得分", flagged: "已标记", reasons: "原因", trend: "趋势（每日平均分）", resolved: "解决时间", group: "技能组",
    review: "查看", close: "收起", replyScore: "回复平均分", firstResponse: "首次响应", target: "目标",
    slowReplies: "回复超时次数", closing: "结束语", yes: "有", no: "无", sentiment: "客户情绪（0 平静 – 1 愤怒）",
    noConversations: "最近 7 天没有已质检的会话。", noFlagged: "最近 7 天没有被标记的会话。", reviewFailed: "无法打开质检详情。", transcript: "会话记录", customer: "客户", bot: "机器人", system: "系统",
    meanScore: "平均分", lastDays: "最近 7 天", none: "—",
    r_missing_greeting: "未问候", r_missing_closing: "无结束语", r_empathy: "共情", r_promise: "不当承诺",
    r_rude: "不礼貌用语", r_forbidden: "违禁用语", r_pii: "泄露客户信息", r_too_short: "过短", r_too_long: "过长",
    r_first_response_late: "首次响应超时", r_slow_reply: "回复超时", r_sentiment_worse: "客户情绪变差", r_low_score: "低分" },
};
const q = (k) => t(Q, k);
export const reasonLabel = (check) => q("r_" + check);

const scoreTag = (n) => el("span", { class: "tag qa-score " + (n < 70 ? "breached" : n < 85 ? "risk" : "claimable"), "data-testid": "qa-score" }, String(n));
const reasonTags = (reasons) => {
  const seen = new Set();
  return reasons.filter((r) => !seen.has(r.check) && seen.add(r.check)).map((r) =>
    el("span", { class: "tag", "data-testid": "qa-reason", "data-check": r.check }, reasonLabel(r.check)));
};

// trendBars draws an agent's days as small bars, their height the mean score.
function trendBars(days) {
  return el("div", { class: "bars qa-trend", "data-testid": "qa-trend" }, days.map((d) =>
    el("div", { class: "bar", title: d.day + " · " + d.mean_score + " · " + d.conversations },
      el("span", { style: "height:" + Math.round(30 * d.mean_score / 100) + "px" }), el("small", {}, d.day.slice(8)))));
}

// breakdown lists a trend's reasons, the most frequent first.
const breakdown = (reasons) => Object.entries(reasons || {}).sort((a, b) => b[1] - a[1]).map(([check, n]) =>
  el("span", { class: "tag", "data-testid": "qa-breakdown", "data-check": check }, reasonLabel(check) + " × " + n));

function period() {
  const to = new Date(), from = new Date(to);
  from.setDate(from.getDate() - 7);
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  return "from=" + encodeURIComponent(from.toISOString()) + "&to=" + encodeURIComponent(to.toISOString()) + "&tz=" + encodeURIComponent(tz);
}

function conversationsTable(list, box, showAgent, empty = "noConversations") {
  if (!list.length) return el("p", { class: "muted", "data-testid": "qa-empty" }, q(empty));
  // the agent's own card is narrow: their conversations without agent and group
  const head = [q("resolved"), showAgent && q("agent"), showAgent && q("group"), q("score"), q("reasons"), ""].filter((h) => h !== false);
  return el("table", { "data-testid": "qa-conversations" }, el("tr", {}, head.map((h) => el("th", {}, h))),
    list.map((c) => el("tr", { "data-testid": "qa-conversation", "data-ticket": c.ticket_id, "data-flagged": String(c.flagged) },
      el("td", {}, new Date(c.resolved_at).toLocaleString()), showAgent && el("td", {}, c.agent_id), showAgent && el("td", {}, c.group_id || q("none")),
      el("td", {}, scoreTag(c.score)), el("td", {}, reasonTags(c.reasons)),
      el("td", {}, el("button", { class: "secondary", "data-testid": "qa-open", onclick: () => openReview(box, c.ticket_id) }, q("review"))))));
}

// openReview shows one conversation's review under the list: the score's parts, then the
// messages with the reasons marked.
export async function openReview(box, ticketID) {
  let r;
  try { r = await api("GET", "/v1/quality/conversations/" + encodeURIComponent(ticketID)); } catch (x) {
    box.querySelector('[data-testid="qa-review"]')?.remove();
    box.appendChild(el("div", { class: "qa-review", "data-testid": "qa-review" }, inlineError(q("reviewFailed"), explain(x))));
    return;
  }
  const c = r.quality;
  const byMessage = new Map();
  for (const reason of c.reasons) if (reason.message_id) byMessage.set(reason.message_id, [...(byMessage.get(reason.message_id) || []), reason]);
  // every finding of a reply marks it too (a missing greeting, say), once per check
  for (const reply of r.replies) {
    for (const f of reply.findings) {
      const marks = byMessage.get(reply.message_id) || [];
      if (f.check !== "empathy" && !marks.some((x) => x.check === f.check)) byMessage.set(reply.message_id, [...marks, f]);
    }
  }
  const parts = [
    [q("replyScore"), String(c.reply_score) + " (" + c.replies + ")"],
    [q("firstResponse"), c.first_response_seconds === undefined ? q("none")
      : duration(c.first_response_seconds) + (c.first_response_target_seconds !== undefined ? " · " + q("target") + " " + duration(c.first_response_target_seconds) : "")],
    [q("slowReplies"), String(c.slow_replies) + (c.reply_target_seconds !== undefined ? " · " + q("target") + " " + duration(c.reply_target_seconds) : "")],
    [q("closing"), c.closing ? q("yes") : q("no")],
    [q("sentiment"), c.sentiment_start === undefined ? q("none") : c.sentiment_start.toFixed(2) + " → " + c.sentiment_end.toFixed(2)],
  ];
  const who = (a) => (a.startsWith("agent:") ? a.slice(6) : a === "customer" ? q("customer") : a === "bot" ? q("bot")
    : a.startsWith("system") ? q("system") : a);
  const panel = el("div", { class: "qa-review", "data-testid": "qa-review", "data-ticket": ticketID },
    el("h3", {}, q("score"), " ", scoreTag(c.score), " ",
      el("button", { class: "secondary", "data-testid": "qa-close", onclick: () => panel.remove() }, q("close"))),
    el("table", { "data-testid": "qa-parts" }, parts.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))),
    el("ul", { "data-testid": "qa-reasons" }, c.reasons.map((x) => el("li", { "data-check": x.check },
      el("strong", {}, reasonLabel(x.check)), x.cue ? " «" + x.cue + "»" : "", x.kind ? " (" + x.kind + ")" : "", x.detail ? " — " + x.detail : ""))),
    el("h3", {}, q("transcript")),
    el("div", { class: "qa-transcript" }, r.messages.map((m) => {
      const marks = byMessage.get(m.id) || [];
      return el("div", { class: "qa-msg" + (marks.length ? " flagged" : ""), "data-testid": "qa-message", "data-flagged": String(marks.length > 0), "data-message": m.id },
        el("div", { class: "muted" }, who(m.author), marks.length ? " · " : "", marks.map((x) => el("span", { class: "tag breached" }, reasonLabel(x.check)))),
        highlight(m.text, marks.map((x) => x.cue).filter(Boolean)));
    })));
  box.querySelector('[data-testid="qa-review"]')?.remove();
  box.appendChild(panel);
  panel.scrollIntoView({ block: "nearest" });
}

// highlight marks every place a cue occurs in text (case-insensitively).
function highlight(text, cues) {
  const out = el("div", {});
  if (!cues.length) { out.textContent = text; return out; }
  const lower = text.toLowerCase();
  let i = 0;
  while (i < text.length) {
    let at = -1, len = 0;
    for (const cue of cues) {
      const j = lower.indexOf(cue.toLowerCase(), i);
      if (j >= 0 && (at < 0 || j < at)) { at = j; len = cue.length; }
    }
    if (at < 0) { out.append(text.slice(i)); break; }
    out.append(text.slice(i, at), el("mark", { "data-testid": "qa-highlight" }, text.slice(at, at + len)));
    i = at + len;
  }
  return out;
}

// renderSupervisorQuality fills the supervisor view's card: the agents' trends and
// breakdowns, then the inspected conversations (all, or the flagged ones alone).
export async function renderSupervisorQuality(box, state) {
  const p = period();
  const [{ agents }, { conversations }] = await Promise.all([api("GET", "/v1/quality/agents?" + p),
    api("GET", "/v1/quality/conversations?" + p + (state.flaggedOnly ? "&flagged=true" : ""))]);
  const toggle = el("label", {}, el("input", { type: "checkbox", "data-testid": "qa-flagged-only", checked: state.flaggedOnly,
    onchange: (e) => { state.flaggedOnly = e.target.checked; renderSupervisorQuality(box, state); } }), " " + q("flaggedOnly"));
  const open = box.querySelector('[data-testid="qa-review"]');
  box.replaceChildren(el("h2", {}, q("quality"), " · ", el("span", { class: "muted" }, q("lastDays")), " ", toggle),
    agents.length ? el("table", { "data-testid": "qa-agents" },
      el("tr", {}, [q("agent"), q("conversations"), q("meanScore"), q("flagged"), q("reasons"), q("trend")].map((h) => el("th", {}, h))),
      agents.map((a) => el("tr", { "data-testid": "qa-agent", "data-agent": a.agent_id },
        el("td", {}, a.agent_id), el("td", {}, a.conversations), el("td", {}, scoreTag(Math.round(a.mean_score))), el("td", {}, a.flagged),
        el("td", {}, breakdown(a.reasons)), el("td", {}, trendBars(a.days))))) : null,
    conversationsTable(conversations, box, true, state.flaggedOnly ? "noFlagged" : "noConversations"), open || "");
  box.dataset.drawn = String(Date.now()); // the browser test waits for a draw
}

// renderMyQuality fills the agent's own quality card: their trend and latest conversations.
export async function renderMyQuality(box) {
  const mine = await api("GET", "/v1/me/quality?" + period());
  const tr = mine.trend;
  const open = box.querySelector('[data-testid="qa-review"]');
  box.replaceChildren(el("h2", {}, q("myQuality"), " · ", el("span", { class: "muted" }, q("lastDays"))),
    el("p", { "data-testid": "qa-mine" }, q("meanScore") + " ", tr.conversations ? scoreTag(Math.round(tr.mean_score)) : q("none"),
      " · " + q("conversations") + " " + tr.conversations + " · " + q("flagged") + " " + tr.flagged),
    el("div", {}, breakdown(tr.reasons)), tr.days.length ? trendBars(tr.days) : null,
    conversationsTable(mine.conversations, box, false), open || "");
  box.dataset.drawn = String(Date.now());
}
