// Shared by the console pages: the signed-in session, API calls, the live socket, the
// English/Chinese strings, and the in-page notices and confirmations (no alert() or
// confirm(): errors appear inline, confirmations in a <dialog>).
export const lang = (new URLSearchParams(location.search).get("lang") || navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";

export function t(strings, key) {
  return (strings[lang] && strings[lang][key]) || strings.en[key] || key;
}

// L holds the words every page shares: ticket states, priorities, presence, durations,
// and the lines of notices and dialogs.
export const L = {
  en: { open: "waiting", assigned: "assigned", pending: "awaiting customer", resolved: "resolved", closed: "closed",
    low: "low", normal: "normal", high: "high", urgent: "urgent", online: "online", away: "away", offline: "offline",
    sec: "s", min: "min", hour: "h", dismiss: "Dismiss", ok: "OK", cancel: "Cancel", visitor: "Visitor",
    serverError: "Something went wrong on the server. Please try again; if it keeps happening, give your administrator this reference:",
    noNetwork: "The server cannot be reached. Check your connection and try again.",
    failed: "That did not work", sessionEnded: "Your session has ended. Please sign in again.",
    sessionExpired: "Your session has expired. Please sign in again.",
    sessionRevoked: "Your session was ended by an administrator. Please sign in again.",
    sessionChanged: "Your sign-in was changed. Please sign in again.", signedOut: "You have signed out." },
  zh: { open: "排队中", assigned: "已分配", pending: "等待客户回复", resolved: "已解决", closed: "已关闭",
    low: "低", normal: "普通", high: "高", urgent: "紧急", online: "在线", away: "离开", offline: "离线",
    sec: "秒", min: "分钟", hour: "小时", dismiss: "关闭提示", ok: "确定", cancel: "取消", visitor: "访客",
    serverError: "服务器出错了，请重试；如果问题持续，请把以下编号告诉管理员：",
    noNetwork: "无法连接服务器，请检查网络后重试。",
    failed: "操作未成功", sessionEnded: "您的登录已失效，请重新登录。", sessionExpired: "您的登录已过期，请重新登录。",
    sessionRevoked: "管理员已结束您的登录，请重新登录。", sessionChanged: "您的登录信息已变更，请重新登录。", signedOut: "您已退出登录。" },
};
const l = (k) => t(L, k);

// word translates a ticket status, a priority or a presence ("assigned", "urgent", "away").
export const word = (w) => (w && L.en[w] ? l(w) : w || "");

// duration is a number of seconds as people say it: "45 s", "3 min", "1.5 h".
export function duration(s) {
  s = Math.max(0, Number(s) || 0);
  if (s >= 3600) return (s / 3600).toFixed(1).replace(/\.0$/, "") + " " + l("hour");
  if (s >= 60) return Math.round(s / 60) + " " + l("min");
  return Math.round(s) + " " + l("sec");
}

// customerLabel names a ticket's customer: the display name, else "Visitor · 3f2a" from
// the customer id, never the raw id.
export function customerLabel(tk) {
  if (tk.customer_name) return tk.customer_name;
  const tail = String(tk.customer_id || "").replace(/[^0-9a-z]/gi, "").slice(0, 4);
  return l("visitor") + (tail ? " · " + tail : "");
}

const KEY = "switchboard.console";
const FLASH = "switchboard.console.notice";

export const session = {
  get() { try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { return null; } },
  set(s) { sessionStorage.setItem(KEY, JSON.stringify(s)); },
  clear() { sessionStorage.removeItem(KEY); },
};

export class APIError extends Error {
  constructor(status, body) {
    super(body.error || ("HTTP " + status));
    this.status = status; this.code = body.code; this.requestId = body.request_id;
  }
}

// endSession clears the session and shows the sign-in form with a notice (a line of L).
export function endSession(notice) {
  session.clear();
  try { sessionStorage.setItem(FLASH, notice); } catch (e) { /* storage full or off */ }
  location.reload();
}

// sessionNotice says why a token stopped working, from the server's reason.
function sessionNotice(reason) {
  if (/expired/i.test(reason)) return "sessionExpired";
  if (/revoked/i.test(reason)) return "sessionRevoked";
  if (/sign-in changed|removed/i.test(reason)) return "sessionChanged";
  return "sessionEnded";
}

export async function api(method, path, body) {
  const s = session.get();
  const headers = {};
  if (s) headers.Authorization = "Bearer " + s.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (r.status === 401 && s) endSession(sessionNotice(data.error || ""));
  if (!r.ok) throw new APIError(r.status, data);
  return data;
}

export async function signIn(username, password) {
  const r = await fetch("/v1/auth/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username, password }) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new APIError(r.status, data);
  session.set(data);
  return data;
}

// live opens /v1/me/ws and calls onPush for every push. It reconnects by itself (after a
// server shutdown's 1001 too) and tells onState(up, again) when the socket opens or
// drops; again is true for a reconnect, after which the page must read its state anew.
// A close with 4401 (token expired or revoked) ends the session.
export function live(onPush, onState) {
  let retry = 0, opened = false;
  const connect = () => {
    const s = session.get();
    if (!s) return;
    const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/v1/me/ws?access_token=" + encodeURIComponent(s.token));
    ws.onopen = () => { retry = 0; onState && onState(true, opened); opened = true; };
    ws.onmessage = (ev) => { try { onPush(JSON.parse(ev.data)); } catch (e) { /* not JSON */ } };
    ws.onclose = (ev) => {
      onState && onState(false, opened);
      if (ev.code === 4401) { endSession(sessionNotice(ev.reason || "")); return; }
      setTimeout(connect, Math.min(500 * 2 ** retry++, 10000));
    };
  };
  connect();
}

export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return e;
}

// explain turns an error into what a person can act on: the server's own message for a
// 4xx (without the trailing error class), a generic line and the request id for a 5xx.
export function explain(x) {
  if (!(x instanceof APIError)) return l("noNetwork");
  if (x.status >= 500 || !x.status) return l("serverError") + " " + (x.requestId || "—");
  return x.message.replace(/^(bad request|missing or invalid bearer token|your role may not do this): /i, "")
    .replace(/: (forbidden|conflict|not found|invalid input|invalid|bad request|your role may not do this)$/i, "")
    .replace(/\b(ticket|conversation|customer) [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, "this $1");
}

// notice shows a dismissable error banner at the top of the page: title, then the detail
// of x (explain). It returns the banner.
export function notice(title, x) {
  let box = document.getElementById("notices");
  if (!box) {
    box = el("div", { id: "notices", class: "notices", role: "alert", "aria-live": "assertive" });
    document.body.prepend(box);
  }
  const b = el("div", { class: "notice", "data-testid": "notice" },
    el("strong", {}, title || l("failed")), " ", el("span", { "data-testid": "notice-detail" }, explain(x)),
    el("button", { class: "dismiss", "aria-label": l("dismiss"), title: l("dismiss"), "data-testid": "notice-close",
      onclick: () => b.remove() }, "×"));
  box.appendChild(b);
  while (box.children.length > 3) box.firstChild.remove();
  return b;
}

// inlineError is an error line for a place in the page (next to the buttons that failed).
export function inlineError(title, detail, onDismiss) {
  const box = el("div", { class: "inline-error", role: "alert", "data-testid": "action-error" },
    el("strong", {}, title), " ", el("span", {}, detail),
    el("button", { class: "dismiss", "aria-label": l("dismiss"), title: l("dismiss"), onclick: () => { box.remove(); onDismiss && onDismiss(); } }, "×"));
  return box;
}

// confirmDialog asks a yes/no question in a modal <dialog> and resolves to the answer.
export function confirmDialog(question, okLabel) {
  return new Promise((resolve) => {
    const d = el("dialog", { class: "confirm", "data-testid": "confirm-dialog" });
    const done = (yes) => { d.close(); d.remove(); resolve(yes); };
    d.append(el("p", { "data-testid": "confirm-text" }, question),
      el("div", { class: "actions" },
        el("button", { "data-testid": "confirm-ok", onclick: () => done(true) }, okLabel || l("ok")),
        el("button", { class: "secondary", "data-testid": "confirm-cancel", onclick: () => done(false) }, l("cancel"))));
    d.addEventListener("cancel", (e) => { e.preventDefault(); done(false); }); // Escape
    document.body.appendChild(d);
    d.showModal();
  });
}

// signInForm renders the sign-in card into root and resolves once signed in. A notice
// left by endSession (why the last session ended) is shown above the form.
export function signInForm(root, strings, roles) {
  return new Promise((resolve) => {
    let why = "";
    try { why = sessionStorage.getItem(FLASH) || ""; sessionStorage.removeItem(FLASH); } catch (e) { /* storage off */ }
    const err = el("p", { class: "error", "data-testid": "signin-error" });
    const user = el("input", { name: "username", autocomplete: "username", "data-testid": "username" });
    const pass = el("input", { name: "password", type: "password", autocomplete: "current-password", "data-testid": "password" });
    const form = el("form", { class: "signin", onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = "";
      try {
        const s = await signIn(user.value.trim(), pass.value);
        if (roles && !roles.includes(s.role)) { session.clear(); err.textContent = t(strings, "wrongRole"); return; }
        resolve(s);
      } catch (x) { err.textContent = explain(x); }
    } },
    el("h1", {}, t(strings, "signInTitle")),
    why && L.en[why] ? el("p", { class: "signin-notice", "data-testid": "signin-notice" }, l(why)) : null,
    el("label", {}, t(strings, "username"), user),
    el("label", {}, t(strings, "password"), pass),
    err,
    el("button", { type: "submit", "data-testid": "signin" }, t(strings, "signIn")));
    root.replaceChildren(form);
    user.focus();
  });
}
