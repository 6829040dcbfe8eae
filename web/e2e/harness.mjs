// Tools of the browser test (flow.mjs) for what a page alone cannot show: a proxied
// console socket, the pages' own confirmation dialog, readable text, a page's API reads
// held at will, and requests to the Go test that drives the script.
import { createInterface } from "node:readline";
import { join } from "node:path";

// stepper gives a script its step(name, fn): fn runs, and when it throws every open page
// (pages() lists them) is saved as failure-N.png in out, the failure is printed as
// "FAILED at name: …" (the Go test puts that line first) and the script ends.
export function stepper({ browser, out, pages }) {
  return async function step(name, fn) {
    try {
      await fn();
    } catch (e) {
      for (const [i, p] of pages().entries()) await p.screenshot({ path: join(out, "failure-" + i + ".png"), fullPage: true }).catch(() => {});
      console.error("FAILED at " + name + ": " + e.message);
      await browser.close();
      process.exit(1);
    }
  };
}

// proxy routes a page's console socket (/v1/me/ws) through Playwright to the server, so
// that the test sees the server's close codes and can drop the socket as a server that
// shuts down does (1001).
export async function proxy(page) {
  const p = { sockets: [], serverCloses: [] };
  await page.routeWebSocket(/\/v1\/me\/ws/, (ws) => {
    const server = ws.connectToServer();
    server.onClose((code, reason) => { p.serverCloses.push(code); ws.close({ code, reason }).catch(() => {}); });
    ws.onClose((code, reason) => { server.close({ code, reason }).catch(() => {}); });
    p.sockets.push({ ws, server });
  });
  return p;
}

// confirm answers the page's <dialog> question (after checking its text).
export async function confirm(page, text, yes) {
  const d = page.getByTestId("confirm-dialog");
  await d.filter({ hasText: text }).waitFor();
  await d.getByTestId(yes ? "confirm-ok" : "confirm-cancel").click();
  await d.waitFor({ state: "detached" });
}

const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
// readable checks that a part of a page shows no raw id and no "null" or "undefined".
export async function readable(page, testid) {
  const text = await page.getByTestId(testid).innerText();
  if (uuid.test(text)) throw new Error(testid + " shows a raw id: " + JSON.stringify(text.match(uuid)[0]));
  const junk = /\b(null|undefined|NaN)\b/.exec(text);
  if (junk) throw new Error(testid + " shows " + JSON.stringify(junk[0]) + ": " + JSON.stringify(text));
}

// readGate can hold a page's API reads (GET /v1/…): while they wait, nothing the server
// says can redraw the page; writes pass. Make it with the page, so that it sees every
// request the page makes.
export function readGate(page) {
  const open = new Set(), held = [];
  // (a write need not finish: only reads are held; Chromium reports no end for some
  // multipart uploads)
  const api = (r) => r.resourceType() === "fetch" && r.method() === "GET" && new URL(r.url()).pathname.startsWith("/v1/");
  page.on("request", (r) => { if (api(r)) open.add(r); });
  page.on("requestfinished", (r) => open.delete(r));
  page.on("requestfailed", (r) => open.delete(r));
  const hold = (route) => (route.request().method() === "GET" ? held.push(route) : route.fallback());
  const isHeld = (r) => held.some((h) => h.request() === r);
  return {
    // pause holds the page's reads from now on; it returns once none is under way
    // unheld (a read the page started before has been answered).
    async pause() {
      await page.route("**/v1/**", hold);
      await until(() => [...open].every(isHeld), "the page's reads under way did not finish", 20000).catch((e) => {
        throw new Error(e.message + ": " + [...open].filter((r) => !isHeld(r)).map((r) => r.method() + " " + new URL(r.url()).pathname).join(", "));
      });
    },
    // nextHeld waits for the page to start another read (which is held).
    async nextHeld(timeout) {
      const n = held.length;
      await until(() => held.length > n, "the page started no read", timeout);
    },
    // resume lets the held reads and every later one go on.
    async resume() {
      await page.unroute("**/v1/**", hold);
      for (const r of held.splice(0)) await r.continue().catch(() => {});
    },
  };
}

// until waits for cond() to hold (checked every 100 ms, for up to timeout ms).
export async function until(cond, what, timeout) {
  for (const end = Date.now() + timeout; !cond(); await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > end) throw new Error(what);
  }
}

let stdin = null, stdinLines = null;
// driver asks the Go test to do something outside the browser ("revoke SUBJECT",
// "outbox-retry CHANNEL") and returns what the command printed, on one line.
export async function driver(request) {
  if (!stdinLines) {
    stdin = createInterface({ input: process.stdin });
    stdinLines = stdin[Symbol.asyncIterator]();
  }
  console.log("@" + request);
  const { value, done } = await stdinLines.next();
  if (done || !value.startsWith("ok: ")) throw new Error(request + ": the driver answered " + JSON.stringify(value));
  return value.slice("ok: ".length);
}

// endDriver lets Node.js exit: an open standard input keeps it running.
export function endDriver() {
  if (stdin) { stdin.close(); process.stdin.destroy(); }
}

// ---------------------------------------------------------------------------------------
// Twins: every screenshot in English and in Chinese.
//
// twinShots(…).shot(page, name) saves the page the flow drives as NN-name.png (English)
// or NN-name.zh.png (Chinese), and a twin of it in the other language, in the same state,
// beside it: so 07-agent-ticket….png and 07-agent-ticket….zh.png sort together.
//
//   - the customer widget (/ui/chat.html): a second tab in the customer's own browser
//     context, opened for the shot and closed after it. The widget keeps its visitor
//     token and conversation in localStorage, so the tab resumes the same conversation
//     (the twin waits until its last message is the page's last message). What the
//     customer typed is kept in the page's memory only, so the twin shows the stored,
//     redacted text ("my phone is [PHONE_1]").
//   - the agent console and the supervisor page: a tab of its own browser context
//     (locale zh-CN or en-US) signed in once as the page's user (read from the page's
//     session) with ?lang=zh or ?lang=en, shared by the pages of that user and closed
//     with the last of them. The console's twin stays open between shots, receiving what
//     the page receives, and opens the page's ticket by #ticket=<id> (console.js opens
//     the ticket the URL names); it is loaded afresh when it does not catch up at once.
//     The supervisor page's twin is loaded afresh for every shot, with the page's report
//     period. The twin then waits until what the server says (ticket, messages, notes,
//     tags, queue, load, canned responses; agents, queues, models) is what the page
//     shows, and copies what lives only in the page: the reply and note being written,
//     the ticket search and its form, the "new canned response" form open or closed, an
//     open confirmation <dialog> (opened by the same button, cancelled after the shot), a
//     hovered rating star.
//   - a page at its sign-in form: a fresh tab at the sign-in form, with the same notice
//     (why the session ended, set as the page would) or the same refused sign-in (the
//     server's recorded answer replayed to the tab).
//
// A twin never changes anything: its tab lets only GET requests reach the server (and
// its own sign-in); any other request is answered with the refusal the flow's page got
// for the same request (recorded, so that a twin can show the same inline error), or
// aborted and reported. Transient UI that a twin cannot reach without acting (a notice
// after a refused action, a streamed draft's progress line, a revealed value, the
// citations that come with the bot's live answer) is left out, or reached by a step's
// own twin(page) hook under the same rules; a step names what its twin leaves out.
//
// The Chinese page of each pair is checked for English words of the interface (a list
// per page; what customers, agents and the server wrote is not checked).

// English words of each page that must not show on its Chinese page (whole words, case
// matters). None of them occurs in what the flow's customers and agents write.
const englishWords = {
  console: ["Agent console", "Sign in", "User name", "Password", "Sign out", "Status", "Capacity", "Load", "My tickets",
    "Waiting in my groups", "Find tickets", "Search", "All open", "Any channel", "Any priority", "Any SLA state", "Nothing here",
    "Pick a ticket", "Send reply", "Transfer to group", "Resolve", "Reopen", "Close", "Claim", "Reveal", "Why it was routed here",
    "Suggested answers", "Suggested replies", "Canned responses", "New canned response", "Internal notes", "Add note", "Save tags",
    "Set priority", "Tags", "Customer", "Customer since", "Channels", "Tickets", "Ratings", "Handed over by the bot", "Asked",
    "Draft with AI", "Draft ready", "Not delivered to the customer", "They asked", "From the knowledge base", "Resolved a similar ticket",
    "This ticket is", "Waiting for an agent", "Could not", "live", "reconnecting", "total", "claimable", "Visitor", "You", "Agent",
    "Bot", "System", "assigned", "waiting", "resolved", "closed", "urgent", "high", "normal", "low", "online", "away", "offline",
    "Write to the customer", "full name", "mentioned you", "skill_match"],
  supervisor: ["Supervisor", "Sign in", "User name", "Password", "Sign out", "Queues", "Group", "Waiting", "Oldest wait", "Assigned",
    "Load / capacity", "SLA at risk", "Agents", "Agent", "Status", "Load", "Groups", "Routing weights", "Save", "SLA policies", "Priority",
    "First response", "Resolution", "Models", "Model", "Version", "Role", "Requests", "Errors", "Mean latency", "Roll back", "Reports",
    "Today", "Last 7 days", "Last 30 days", "Conversations", "Resolved by the bot", "Tickets", "Resolved", "Download CSV", "By agent",
    "By group", "By channel", "Day by day", "Channel", "Escalated", "Ratings", "Updated", "Unassigned", "No group", "Admin", "live",
    "reconnecting", "online", "away", "offline", "active", "canary", "shadow", "urgent", "high", "normal", "low", "median", "skill",
    "wait"],
  widget: ["Customer service", "Type your message", "Send", "Talk to a human", "Photo", "Voice", "Stop", "Sources", "Connecting",
    "Online", "Reconnecting", "Chat with us", "You", "Bot", "Agent", "Recording", "Transcribing", "Could not send", "Your chat session"],
};

// Where a page shows what people wrote: text inside these (deep) or directly in these
// (direct) is not checked.
const dataText = {
  console: {
    deep: ['[data-testid="message-body"]', '[data-testid="ticket-subject"]', ".queue strong", '[data-testid="note"] > span:not(.who)',
      '[data-testid="passage"] > :not(button)', '[data-testid="assist-draft"] > div:not(.muted)', '[data-testid="canned-item"] > :not(button)',
      '[data-testid="revealed"]', '[data-testid="profile-name"]', '[data-testid="profile-csat"] > div:not(.muted)', '[data-testid="me"]',
      '[data-testid="delivery-error"]', '[data-testid="notice-detail"]', ".inline-error > span", ".error", '[data-testid="transfer-group"]'],
    direct: ['[data-testid="handoff"] > div', '[data-testid="assist-draft"] > .muted'],
  },
  supervisor: { deep: [".error"], direct: [] },
  widget: { deep: [".cites li"], direct: [".msg"] },
};

const kindOf = (url) => {
  const p = new URL(url).pathname;
  if (p.endsWith("/chat.html")) return "widget";
  if (p.includes("/console/")) return "console";
  if (p.includes("/supervisor/")) return "supervisor";
  return "";
};
const langOf = (url) => ((new URL(url).searchParams.get("lang") || "").startsWith("zh") ? "zh" : "en");

// uiText returns the text a page shows (and its placeholders), leaving out what people
// wrote (dataText).
async function uiText(page, kind) {
  return page.evaluate(({ kind, deep, direct }) => {
    const roots = kind === "widget" ? [document.querySelector("#switchboard-chat")?.shadowRoot].filter(Boolean) : [document.body];
    const out = [];
    for (const root of roots) {
      const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        const p = n.parentElement;
        if (!p || p.closest("style, script") || (deep.length && p.closest(deep.join(","))) || (direct.length && p.matches(direct.join(",")))) continue;
        if (p.tagName !== "OPTION" && !p.checkVisibility()) continue; // a closed <select>'s options are words of the page too
        out.push(n.textContent);
      }
      for (const e of root.querySelectorAll("[placeholder]")) out.push(e.getAttribute("placeholder"));
    }
    return out.join("\n");
  }, { kind, ...dataText[kind] });
}

async function noEnglish(page, kind, file) {
  const text = await uiText(page, kind);
  const found = englishWords[kind].filter((w) => new RegExp("(^|[^A-Za-z])" + w.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&") + "($|[^A-Za-z])").test(text));
  if (found.length) throw new Error(file + " (Chinese) shows English words: " + JSON.stringify(found));
}

export function twinShots({ browser, base, out, timeout, credentials, onPage }) {
  let n = 0;
  const refusals = new Map(); // "METHOD /path" → the refusal a flow's page got: { status, contentType, body }
  const twins = new Map(); // "kind user lang" → { page, context, mains: Set of the flow's pages it serves }
  const open = new Set(); // every twin tab, for failure screenshots and the final clean-up
  const warn = (s) => console.log("        twin: " + s);

  // watch records the refusals a flow's page gets from the server (a non-GET request
  // answered 4xx), which a twin may be answered with instead of asking the server.
  function watch(page) {
    page.on("response", async (r) => {
      const q = r.request();
      if (q.method() === "GET" || r.status() < 400 || r.status() >= 500 || !new URL(r.url()).pathname.startsWith("/v1/")) return;
      try {
        refusals.set(q.method() + " " + new URL(r.url()).pathname, { status: r.status(), contentType: r.headers()["content-type"] || "application/json", body: await r.text() });
      } catch (e) { /* the page went away */ }
    });
  }

  // guard lets a twin's GET requests (and its sign-in while signing in) reach the server;
  // others get the recorded refusal of the same request, or are aborted.
  async function guard(page, state) {
    await page.route((url) => new URL(url).pathname.startsWith("/v1/"), (route) => {
      const q = route.request(), key = q.method() + " " + new URL(q.url()).pathname;
      if (q.method() === "GET" || (state.signingIn && key === "POST /v1/auth/login")) return route.fallback();
      const r = refusals.get(key);
      if (r) return route.fulfill({ status: r.status, contentType: r.contentType, body: r.body });
      warn("blocked " + key);
      return route.abort();
    });
  }

  async function newTab(context, state) {
    const page = await context.newPage();
    page.setDefaultTimeout(timeout);
    onPage(page);
    await guard(page, state);
    open.add(page);
    page.on("close", () => open.delete(page));
    return page;
  }

  const newContext = (lang, viewport) => browser.newContext({ viewport, locale: lang === "zh" ? "zh-CN" : "en-US" });

  // settle waits for cond() (async) to hold: false if it does not within ms.
  async function settle(cond, ms) {
    for (const end = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 150))) {
      if (await cond()) return true;
      if (Date.now() > end) return false;
    }
  }

  // ---- the customer widget ----
  const widgetState = (page) => page.evaluate(() => {
    const root = document.querySelector("#switchboard-chat")?.shadowRoot;
    if (!root) return null;
    const text = (m) => [...m.childNodes].filter((c) => c.nodeType === 3).map((c) => c.textContent).join("");
    const msgs = [...root.querySelectorAll(".msg[data-author]")];
    const last = msgs.at(-1);
    return { open: root.querySelector(".panel").classList.contains("open"), hover: root.querySelectorAll(".stars button.on").length,
      last: last ? last.dataset.author + ": " + (last.dataset.author === "customer" ? "" : text(last)) : "" };
  });

  async function widgetTwin(main, lang) {
    const st = await widgetState(main);
    const z = await newTab(main.context(), {});
    await z.goto(base + "/ui/chat.html?lang=" + lang + (st && st.open ? "&open=true" : ""));
    if (st && st.open) {
      await z.locator('#switchboard-chat [data-testid="state"][data-state="online"]').waitFor();
      if (!(await settle(async () => (await widgetState(z)).last === st.last, 5000))) {
        warn("the widget's last message is " + JSON.stringify((await widgetState(z)).last) + ", the page's " + JSON.stringify(st.last));
      }
      if (st.hover) await z.locator(`#switchboard-chat [data-testid="csat-${st.hover}"]`).last().hover();
    }
    return { page: z, done: () => z.close() };
  }

  // ---- a page at its sign-in form ----
  async function signInTwin(main, kind, lang) {
    const st = await main.evaluate(() => ({ notice: document.querySelector('[data-testid="signin-notice"]')?.textContent || "",
      error: document.querySelector('[data-testid="signin-error"]')?.textContent || "", user: document.querySelector('[data-testid="username"]')?.value || "" }));
    const from = langOf(main.url());
    const context = await newContext(lang, main.viewportSize());
    const z = await newTab(context, {});
    await z.goto(base + new URL(main.url()).pathname + "?lang=" + lang);
    await z.getByTestId("username").waitFor();
    if (st.notice) { // why the session ended, as endSession leaves it for the form
      const key = await z.evaluate(async ([text, from]) => {
        const { L } = await import("/ui/lib/api.js");
        return Object.keys(L[from]).find((k) => L[from][k] === text) || "";
      }, [st.notice, from]);
      if (!key) throw new Error("no notice of api.js reads " + JSON.stringify(st.notice));
      await z.evaluate((key) => sessionStorage.setItem("switchboard.console.notice", key), key);
      await z.reload();
      await z.getByTestId("signin-notice").waitFor();
    }
    if (st.error) { // the refused sign-in, answered with the server's recorded answer
      await z.getByTestId("username").fill(st.user);
      await z.getByTestId("password").fill("not the password");
      await z.getByTestId("signin").click();
      await z.getByTestId("signin-error").filter({ hasText: /./ }).waitFor();
    }
    return { page: z, done: () => context.close() };
  }

  // ---- the console and the supervisor page, signed in ----
  async function signedInTwin(main, kind, lang) {
    const user = await main.evaluate(() => JSON.parse(sessionStorage.getItem("switchboard.console") || "null")?.subject);
    const key = kind + " " + user + " " + lang;
    let t = twins.get(key);
    if (t && !(await t.page.evaluate(() => !!sessionStorage.getItem("switchboard.console")).catch(() => false))) {
      await t.context.close(); // its session ended (revoked): sign in anew
      twins.delete(key);
      t = null;
    }
    if (!t) {
      if (!credentials[user]) throw new Error("no password for " + user + ", whose page needs a twin");
      const context = await newContext(lang, main.viewportSize()), state = { signingIn: true };
      const page = await newTab(context, state);
      await page.goto(base + new URL(main.url()).pathname + "?lang=" + lang);
      await page.getByTestId("username").fill(user);
      await page.getByTestId("password").fill(credentials[user]);
      await page.getByTestId("signin").click();
      await page.getByTestId("signout").waitFor();
      state.signingIn = false;
      t = { page, context, mains: new Set() };
      twins.set(key, t);
    }
    if (!t.mains.has(main)) {
      t.mains.add(main);
      // a twin goes with the last page it serves
      main.on("close", () => { t.mains.delete(main); if (!t.mains.size) { twins.delete(key); t.context.close().catch(() => {}); } });
    }
    return t;
  }

  const consoleState = (page) => page.evaluate(() => {
    const q = (s) => document.querySelector(s), all = (s) => [...document.querySelectorAll(s)];
    const pane = q('[data-testid="ticket"]'), val = (id) => q(`[data-testid="${id}"]`)?.value ?? null;
    const ok = q('[data-testid="confirm-dialog"] [data-testid="confirm-ok"]');
    return {
      server: JSON.stringify({ status: val("status"), load: (q('[data-testid="load"]')?.textContent.match(/\d+\/\d+/) || [""])[0],
        queue: all('#queue [data-testid="queue-item"]').map((e) => e.dataset.ticket).sort(), ticket: pane?.dataset.ticket || "",
        ticketStatus: pane?.dataset.status || "", gone: !!q('[data-testid="gone"]'),
        messages: all('[data-testid="ticket"] [data-testid="message"]').map((e) => e.dataset.author + ":" + (e.dataset.delivery || "")),
        notes: all('[data-testid="note"]').length, tags: all('[data-testid="tag"]').map((e) => e.textContent),
        canned: all('[data-testid="canned-item"]').map((e) => e.dataset.shortcut), mentions: all('[data-testid="mention"]').length,
        notices: all('[data-testid="notice"]').length, actionError: !!q('[data-testid="action-error"]') }),
      ticket: pane?.dataset.ticket || "", reply: val("reply-text"), note: val("note-text"),
      find: q('[data-testid="find-results"]')?.dataset.state === "done" ? Object.fromEntries(["view", "channel", "priority", "sla", "q", "tag"].map((k) => [k, val("find-" + k)])) : null,
      cannedOpen: !!q('[data-testid="canned"] details[open]'),
      // the button that opened the confirmation: the one of the ticket labelled as its OK
      dialogBy: ok ? all('[data-testid="ticket"] button[data-testid]').find((b) => b.textContent === ok.textContent)?.dataset.testid || "?" : "",
    };
  });

  // consoleTwin: the console's twin stays open between shots, following its user's
  // tickets as the page does (pushes, polls) and opening the page's ticket by the URL's
  // #ticket=; when it does not show what the page shows within a moment (or a step's
  // hook changed it), it is loaded afresh.
  async function consoleTwin(main, lang, opts) {
    const t = await signedInTwin(main, "console", lang), z = t.page;
    const st = await consoleState(main);
    const size = main.viewportSize();
    if (JSON.stringify(z.viewportSize()) !== JSON.stringify(size)) await z.setViewportSize(size);
    // a step's hook makes the page's notice in the twin: until then, notices are not compared
    const seen = async (page) => { const v = JSON.parse((await consoleState(page)).server); if (opts.twin) delete v.notices; return JSON.stringify(v); };
    const same = async () => (await seen(z)) === (await seen(main));
    const ready = async () => {
      await z.locator('[data-testid="live"][data-state="live"]').waitFor();
      await z.locator("#queue h2").first().waitFor();
      if (!st.ticket) return;
      await z.locator(`[data-testid="ticket"][data-ticket="${st.ticket}"], [data-testid="notice"]`).first().waitFor();
      if (!(await z.locator(`[data-testid="ticket"][data-ticket="${st.ticket}"]`).count())) return;
      for (const card of ["profile", "assist", "suggestions"]) await z.locator(`#side [data-testid="${card}"] > :nth-child(2)`).waitFor();
      await z.getByTestId("canned").waitFor();
    };
    const load = async () => {
      await z.goto("about:blank");
      await z.goto(base + "/ui/console/?lang=" + lang + (st.ticket ? "#ticket=" + st.ticket : ""));
      await ready();
    };
    if (opts.live) await ready();
    else if (t.dirty || !z.url().includes("/ui/console/")) await load();
    else {
      if (st.ticket && (await z.locator('[data-testid="ticket"]').getAttribute("data-ticket")) !== st.ticket) {
        await z.evaluate((id) => { location.hash = "ticket=" + id; }, st.ticket);
      }
      await ready();
      // what no push redraws (the agent's status, the canned responses, notices,
      // mentions, an inline error) is loaded afresh at once; the rest may be a moment late
      const [a, b] = [JSON.parse(await seen(z)), JSON.parse(await seen(main))];
      const stale = ["status", "canned", "mentions", "notices", "actionError"].some((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
      if (opts.asNow || stale || !(await settle(same, 1500))) await load();
    }
    t.dirty = !!opts.twin; // a step's hook may leave what the page does not show
    if (!opts.asNow && !(await settle(same, 6000))) {
      warn("differs from the page: " + (await seen(z)) + " against " + (await seen(main)));
    }
    await ready(); // a push may have drawn the ticket anew meanwhile
    if (st.find) {
      for (const k of ["view", "channel", "priority", "sla"]) await z.getByTestId("find-" + k).selectOption(st.find[k]);
      for (const k of ["q", "tag"]) await z.getByTestId("find-" + k).fill(st.find[k]);
      await z.getByTestId("find-run").click(); // a search: GET /v1/tickets
      await z.locator('[data-testid="find-results"][data-state="done"]').waitFor();
    }
    for (const [id, text] of [["reply-text", st.reply], ["note-text", st.note]]) {
      const box = z.getByTestId(id);
      if (text !== null && (await box.count()) && (await box.inputValue()) !== text) await box.fill(text);
    }
    if (await z.getByTestId("canned").count()) await z.locator('[data-testid="canned"] details').evaluate((d, open) => { d.open = open; }, st.cannedOpen);
    let cancel = null;
    if (st.dialogBy) { // opened by the same button; cancelled after the shot, so nothing is done
      await z.locator(`[data-testid="ticket"] [data-testid="${st.dialogBy}"]`).click();
      await z.getByTestId("confirm-dialog").waitFor();
      cancel = async () => {
        await z.getByTestId("confirm-cancel").click();
        await z.getByTestId("confirm-dialog").waitFor({ state: "detached" });
      };
    }
    return { page: z, done: async () => { if (cancel) await cancel(); } };
  }

  const supervisorState = (page) => page.evaluate(() => {
    const all = (s) => [...document.querySelectorAll(s)], cell = (r, id) => r.querySelector(`[data-testid="${id}"]`)?.textContent;
    return { period: document.querySelector('[data-testid="reports"]')?.dataset.period || "",
      server: JSON.stringify({
        agents: all('[data-testid="agent-row"]').map((r) => [r.dataset.agent, r.querySelector('[data-testid="agent-status"]').dataset.status, r.children[2].textContent].join(":")),
        queues: all('[data-testid="queue-row"]').map((r) => [r.dataset.group, cell(r, "waiting"), cell(r, "assigned"), cell(r, "group-load")].join(":")),
        // the roles' words differ by language: whether a version has one
        models: all('[data-testid="model-row"]').map((r) => r.dataset.model + "/" + r.dataset.version + ":" + (cell(r, "model-role") ? "role" : "")),
      }) };
  });

  async function supervisorTwin(main, lang) {
    const t = await signedInTwin(main, "supervisor", lang), z = t.page;
    const st = await supervisorState(main);
    await z.setViewportSize(main.viewportSize());
    await z.goto("about:blank");
    await z.goto(base + "/ui/supervisor/?lang=" + lang);
    await z.locator('[data-testid="reports"][data-period]').waitFor();
    if (st.period && (await supervisorState(z)).period !== st.period) {
      await z.getByTestId("report-period").selectOption(st.period); // a view of the report: GET /v1/reports
      await z.locator(`[data-testid="reports"][data-period="${st.period}"]`).waitFor();
    }
    for (const id of ["queues-table", "agents-table"]) await z.getByTestId(id).waitFor();
    await z.locator("#models h2").waitFor();
    if (!(await settle(async () => (await supervisorState(z)).server === (await supervisorState(main)).server, 6000))) {
      warn("differs from the page: " + (await supervisorState(z)).server + " against " + (await supervisorState(main)).server);
    }
    return { page: z, done: async () => {} };
  }

  return {
    watch,
    // count: how many steps have been shot.
    count: () => n,
    // pages: the twins' tabs now open (for failure screenshots).
    pages: () => [...open],
    // prepare makes page's twin now (before a step), so that it receives what is pushed
    // to its user meanwhile; shot(page, name, { live: true }) then takes it as it is.
    async prepare(page) {
      const kind = kindOf(page.url());
      if (kind !== "console") throw new Error("prepare is for the console");
      await (await consoleTwin(page, langOf(page.url()) === "zh" ? "en" : "zh", {})).done();
    },
    // close closes the twins of user (every twin without one).
    async close(user) {
      for (const [key, t] of twins) {
        if (user && key.split(" ")[1] !== user) continue;
        twins.delete(key);
        await t.context.close().catch(() => {});
      }
      if (!user) for (const p of open) await p.context().close().catch(() => {});
    },
    // shot saves page and its twin in the other language. opts.live: take the console's
    // twin as it is (made by prepare) instead of loading it afresh; opts.asNow: the page
    // shows what it saw before (its reads were held), the console's twin what is so now,
    // so they are not compared; opts.twin(page): a step's own preparation of the twin,
    // under the same rules (nothing reaches the server but reads).
    async shot(page, name, opts = {}) {
      const num = String(++n).padStart(2, "0"), lang = langOf(page.url()), other = lang === "zh" ? "en" : "zh", kind = kindOf(page.url());
      const file = (l) => join(out, num + "-" + name + (l === "zh" ? ".zh" : "") + ".png");
      if (!kind) throw new Error("no twin for a page at " + page.url());
      const began = Date.now();
      // the twin is made while the page's screenshot is taken: neither changes the other
      const made = (async () => {
        const signedOut = kind !== "widget" && (await page.getByTestId("username").count()) > 0;
        const twin = kind === "widget" ? await widgetTwin(page, other) : signedOut ? await signInTwin(page, kind, other)
          : kind === "console" ? await consoleTwin(page, other, opts) : await supervisorTwin(page, other);
        try {
          if (opts.twin) await opts.twin(twin.page);
        } catch (e) { await twin.done().catch(() => {}); throw e; }
        return twin;
      })();
      const [shown, twin] = await Promise.allSettled([page.screenshot({ path: file(lang), fullPage: true }), made]);
      if (shown.status === "rejected" || twin.status === "rejected") {
        if (twin.status === "fulfilled") await twin.value.done().catch(() => {});
        throw shown.reason || twin.reason;
      }
      console.log("step " + n + ": " + name + " → " + file(lang));
      const z = twin.value.page;
      try {
        await z.screenshot({ path: file(other), fullPage: true });
        console.log("        twin: " + file(other) + " (" + (Date.now() - began) + " ms)");
        await noEnglish(lang === "zh" ? page : z, kind, file("zh"));
      } finally {
        await twin.value.done();
      }
    },
  };
}
