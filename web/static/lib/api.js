// Shared by the console pages: the signed-in session, API calls, the live socket, and
// the English/Chinese strings.
export const lang = (new URLSearchParams(location.search).get("lang") || navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";

export function t(strings, key) {
  return (strings[lang] && strings[lang][key]) || strings.en[key] || key;
}

const KEY = "switchboard.console";

export const session = {
  get() { try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { return null; } },
  set(s) { sessionStorage.setItem(KEY, JSON.stringify(s)); },
  clear() { sessionStorage.removeItem(KEY); },
};

export class APIError extends Error {
  constructor(status, body) { super(body.error || ("HTTP " + status)); this.status = status; this.code = body.code; }
}

export async function api(method, path, body) {
  const s = session.get();
  const headers = {};
  if (s) headers.Authorization = "Bearer " + s.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (r.status === 401 && s) { session.clear(); location.reload(); }
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

// live opens /v1/me/ws and calls onPush for every push; it reconnects by itself.
export function live(onPush, onState) {
  let retry = 0;
  const connect = () => {
    const s = session.get();
    if (!s) return;
    const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/v1/me/ws?access_token=" + encodeURIComponent(s.token));
    ws.onopen = () => { retry = 0; onState && onState(true); };
    ws.onmessage = (ev) => { try { onPush(JSON.parse(ev.data)); } catch (e) { /* not JSON */ } };
    ws.onclose = () => { onState && onState(false); setTimeout(connect, Math.min(500 * 2 ** retry++, 10000)); };
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

// signInForm renders the sign-in card into root and resolves once signed in.
export function signInForm(root, strings, roles) {
  return new Promise((resolve) => {
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
      } catch (x) { err.textContent = x.message; }
    } },
    el("h1", {}, t(strings, "signInTitle")),
    el("label", {}, t(strings, "username"), user),
    el("label", {}, t(strings, "password"), pass),
    err,
    el("button", { type: "submit", "data-testid": "signin" }, t(strings, "signIn")));
    root.replaceChildren(form);
    user.focus();
  });
}
