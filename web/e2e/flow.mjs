// The browser test of Switchboard's pages, driven by go test (cmd/switchboard,
// TestWebPagesInBrowser), which starts the server and passes:
//
//   SB_BASE        the server's base URL
//   SB_AGENT       agent sign-in "user:password";   SB_SUPERVISOR the same for a supervisor
//   SB_SECOND_AGENT a second agent's sign-in, whose tokens the test has revoked
//   SB_SUPERVISOR_TOKEN a supervisor's bearer token for the test's own API calls
//   SB_ARTIFACTS   the folder for the screenshots of every step
//   SB_VOICE_WAV   a WAV file Chromium plays as the microphone (optional)
//   SB_PHOTO       a photo to upload from the widget (optional)
//   SB_WEBHOOK_CALLBACK the "host:port" of the generic webhook channel's callback, which
//                  the script opens and closes; SB_WEBHOOK_SECRET its shared secret
//   SB_CHROMIUM    the browser (default /usr/bin/chromium); SB_HEADED=1 shows its window
//
// Every screenshot comes in English and in Chinese: NN-step.png and NN-step.zh.png, the
// page the flow drives and a twin of it in the other language, in the same state (see
// twinShots in harness.mjs); the Chinese one is checked for English words of the pages.
//
// It prints one line per step and exits non-zero on the first failure, leaving a
// screenshot named failure-*.png. A line "@revoke SUBJECT" asks the driver to revoke every
// token of SUBJECT (switchboard token revoke), "@outbox-retry CHANNEL" to re-queue the
// channel's failed replies (switchboard outbox retry); it answers on standard input with
// "ok: " and what the command printed.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { confirm, driver, endDriver, proxy, readable, readGate, stepper, twinShots, until } from "./harness.mjs";
import { webhookPeer } from "./webhook.mjs";

const env = (k, d) => process.env[k] || d;
const base = env("SB_BASE");
const out = env("SB_ARTIFACTS", "artifacts");
const [agentUser, agentPass] = env("SB_AGENT").split(":");
const [supUser, supPass] = env("SB_SUPERVISOR").split(":");
const [bobUser, bobPass] = env("SB_SECOND_AGENT").split(":");
const supToken = env("SB_SUPERVISOR_TOKEN");
mkdirSync(out, { recursive: true });

const args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"];
if (process.env.SB_VOICE_WAV) args.push("--use-file-for-fake-audio-capture=" + process.env.SB_VOICE_WAV);
const browser = await chromium.launch({ executablePath: env("SB_CHROMIUM", "/usr/bin/chromium"), headless: !process.env.SB_HEADED, args });

const pages = [];
const nativeDialogs = [];
const timeout = 20000;
// watchPage: page errors are printed; the pages never use alert(), confirm() or prompt()
// (errors show inline, questions in a <dialog>), so any native dialog fails the run at
// the end.
function watchPage(page) {
  page.on("pageerror", (e) => console.error("page error: " + e.message));
  page.on("dialog", (d) => { nativeDialogs.push(d.type() + ": " + d.message()); d.dismiss().catch(() => {}); });
}
// shot(page, name) saves NN-name.png and NN-name.zh.png: the page, and its twin in the
// other language (harness.mjs).
const twins = twinShots({ browser, base, out, timeout, onPage: watchPage,
  credentials: { [agentUser]: agentPass, [supUser]: supPass, [bobUser]: bobPass } });
const shot = twins.shot;
const step = stepper({ browser, out, pages: () => [...pages, ...twins.pages()] });

// Contexts: each is a separate browser profile (cookies, storage).
async function newPage(viewport) {
  const ctx = await browser.newContext({ viewport, locale: "en-US" });
  const page = await ctx.newPage();
  page.setDefaultTimeout(timeout);
  watchPage(page);
  twins.watch(page); // its refused requests, which its twin may be answered with
  pages.push(page);
  return page;
}

// The widget lives in a shadow root; Playwright's CSS locators pierce it.
const w = (page, id) => page.locator(`#switchboard-chat [data-testid="${id}"]`);
const lastOf = (page, author) => page.locator(`#switchboard-chat .msg[data-author="${author}"]`).last();

// sup calls the API as the supervisor (the test's own set-up, not a page's).
async function sup(method, path, body) {
  const r = await fetch(base + path, { method, headers: { Authorization: "Bearer " + supToken, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(method + " " + path + ": " + r.status + " " + JSON.stringify(data));
  return data;
}

async function signIn(page, path, user, pass) {
  await page.goto(base + path);
  await page.getByTestId("username").fill(user);
  await page.getByTestId("password").fill(pass);
  await page.getByTestId("signin").click();
}

const customer = await newPage({ width: 1280, height: 800 });
const agent = await newPage({ width: 1400, height: 900 });
const supervisor = await newPage({ width: 1400, height: 900 });
const agentSocket = await proxy(agent);
const agentReads = readGate(agent);

await step("customer asks the knowledge base", async () => {
  await customer.goto(base + "/ui/chat.html");
  await w(customer, "open").click();
  await w(customer, "state").filter({ hasText: "Online" }).waitFor();
  await w(customer, "input").fill("How do I reset my password?");
  await w(customer, "send").click();
  await lastOf(customer, "bot").filter({ hasText: "Forgot password" }).waitFor();
  await w(customer, "citations").first().waitFor();
  // the twin resumes the conversation, without the citations (they come with the live answer)
  await shot(customer, "customer-kb-answer");
});

await step("a wrong password is refused", async () => {
  await signIn(agent, "/ui/console/", agentUser, "not the password");
  await agent.getByTestId("signin-error").filter({ hasText: "wrong user name or password" }).waitFor();
  await shot(agent, "agent-wrong-password");
});

await step("agent signs in and goes online", async () => {
  await signIn(agent, "/ui/console/", agentUser, agentPass);
  await agent.getByTestId("live").filter({ hasText: "live" }).waitFor();
  await agent.getByTestId("me").filter({ hasText: "Alice" }).waitFor();
  await agent.getByTestId("status").selectOption("online");
  await agent.getByTestId("load").filter({ hasText: "0/" }).waitFor();
  // the agent sets their own capacity
  await agent.getByTestId("capacity").fill("4");
  await agent.getByTestId("capacity").press("Enter");
  await agent.getByTestId("load").filter({ hasText: "0/4" }).waitFor();
  await shot(agent, "agent-online-empty-queue");
});

await step("a capacity above the supervisor's maximum is refused inline, with the server's reason", async () => {
  await agent.getByTestId("capacity").fill("9");
  await agent.getByTestId("capacity").press("Enter");
  const n = agent.getByTestId("notice").filter({ hasText: "Your capacity was not changed." });
  await n.filter({ hasText: "capacity 9 is above 5" }).waitFor();
  if (/forbidden$/.test((await n.getByTestId("notice-detail").innerText()).trim())) throw new Error("the notice shows the raw error class");
  await agent.getByTestId("load").filter({ hasText: "0/4" }).waitFor();
  // the twin makes the same change, answered with the server's recorded refusal (the
  // request never reaches the server)
  await shot(agent, "agent-capacity-refused-inline", { twin: async (z) => {
    await z.getByTestId("capacity").fill("9");
    await z.getByTestId("capacity").press("Enter");
    await z.getByTestId("notice").waitFor();
  } });
  await n.getByTestId("notice-close").click();
  await n.waitFor({ state: "detached" });
});

await step("supervisor signs in; the queue columns say what they count", async () => {
  await signIn(supervisor, "/ui/supervisor/", supUser, supPass);
  await supervisor.getByTestId("agents-table").filter({ hasText: "online" }).waitFor();
  const head = await supervisor.locator('[data-testid="queues-table"] th').allInnerTexts();
  const want = ["Group", "Waiting", "Oldest wait", "Assigned", "Load / capacity", "SLA at risk"];
  if (JSON.stringify(head) !== JSON.stringify(want)) throw new Error("queue columns " + JSON.stringify(head) + ", want " + JSON.stringify(want));
  await shot(supervisor, "supervisor-before");
});

let ticketId = "";
await step("customer asks for a human", async () => {
  await w(customer, "human").click();
  await lastOf(customer, "bot").filter({ hasText: "human agent" }).waitFor();
  await shot(customer, "customer-handover");
});

await step("the agent receives the ticket live; the customer has a name, not an id", async () => {
  const item = agent.getByTestId("queue-item").first();
  await item.waitFor();
  ticketId = await item.getAttribute("data-ticket");
  await item.getByTestId("queue-customer").filter({ hasText: /^Visitor · [0-9a-z]{4} · assigned · / }).waitFor();
  await item.click();
  await agent.getByTestId("transcript").filter({ hasText: "I want to talk to a human" }).waitFor();
  await agent.getByTestId("score-total").waitFor();
  await agent.getByTestId("handoff-reason").filter({ hasText: "The customer asked for a human" }).waitFor();
  // the suggested passage is the FAQ's answer to what the customer asked before
  await agent.getByTestId("passage").filter({ hasText: "Forgot password" }).first().waitFor();
  await agent.locator('[data-testid="message"][data-author="customer"] .who').first().filter({ hasText: /^Visitor · / }).waitFor();
  await readable(agent, "queue");
  await readable(agent, "ticket");
  // routed to her: nothing to claim
  if (await agent.getByTestId("claim").count()) throw new Error("a claim button on a ticket the agent already holds");
  await shot(agent, "agent-ticket-with-routing-and-suggestions");
});

const queueCell = (page, testid, text) => page.locator('[data-testid="queue-row"]').filter({ has: page.locator(`[data-testid="${testid}"]`, { hasText: text }) });

await step("supervisor sees the queue: one assigned, none waiting", async () => {
  await queueCell(supervisor, "assigned", /^1$/).filter({ has: supervisor.locator('[data-testid="waiting"]', { hasText: /^0$/ }) })
    .filter({ has: supervisor.locator('[data-testid="oldest-wait"]', { hasText: "—" }) }).first().waitFor();
  await shot(supervisor, "supervisor-queue-one-assigned");
});

await step("agent replies", async () => {
  await agent.getByTestId("passage").first().getByRole("button").click();
  const used = await agent.getByTestId("reply-text").inputValue();
  if (!used.includes("Forgot password")) throw new Error("'Use' put " + JSON.stringify(used) + " into the reply box");
  await agent.getByTestId("reply-text").fill("Hello, this is Alice. I have reset your password link; check your mail.");
  await agent.getByTestId("send-reply").click();
  await agent.getByTestId("transcript").filter({ hasText: "this is Alice" }).waitFor();
  await agent.locator('[data-testid="message"][data-author="agent"] .who').filter({ hasText: /^You \(Alice\)/ }).first().waitFor();
  await shot(agent, "agent-replied");
});

await step("agent inserts a canned response by its shortcut, and saves one of her own", async () => {
  await sup("POST", "/v1/canned-responses", { shortcut: "hello", lang: "en", shared: true,
    body: "Hello {{customer.name}}, I am {{agent.name}} and I look after ticket {{ticket.id}}." });
  await sup("POST", "/v1/canned-responses", { shortcut: "hello", lang: "zh", shared: true,
    body: "{{customer.name}}您好，我是{{agent.name}}，负责工单 {{ticket.id}}。" });
  const box = agent.getByTestId("reply-text");
  await box.fill("Sure. /hello");
  await box.press("Tab");
  const want = "Sure. Hello, I am Alice and I look after ticket " + ticketId + ".";
  await agent.waitForFunction((v) => document.querySelector('[data-testid="reply-text"]').value === v, want)
    .catch(async () => { throw new Error("reply box " + JSON.stringify(await box.inputValue()) + ", want " + JSON.stringify(want)); });
  await readable(agent, "ticket");
  await shot(agent, "agent-canned-response-inserted");
  await agent.getByTestId("canned").locator("summary").click();
  await agent.getByTestId("canned-new-shortcut").fill("/thanks");
  await agent.getByTestId("canned-new-body").fill("Thanks for waiting, {{customer.name}}!");
  await agent.getByTestId("canned-save").click();
  await agent.locator('[data-testid="canned-item"][data-shortcut="thanks"]').filter({ hasText: "mine" }).waitFor();
  await agent.locator('[data-testid="canned-item"][data-shortcut="hello"]').first().waitFor();
  await shot(agent, "agent-saved-own-canned-response");
  await box.fill("");
});

await step("agent tags the ticket and mentions a colleague in an internal note; he is told and opens it", async () => {
  const bobPage = await newPage({ width: 1280, height: 800 });
  await signIn(bobPage, "/ui/console/", bobUser, bobPass);
  await bobPage.getByTestId("live").filter({ hasText: "live" }).waitFor();
  await twins.prepare(bobPage); // his twin is told of the mention too
  await agent.getByTestId("priority-select").selectOption("high");
  await agent.getByTestId("set-priority").click();
  await agent.getByTestId("ticket-status").filter({ hasText: " · high · " }).waitFor();
  await agent.getByTestId("tags-input").fill("password, VIP");
  await agent.getByTestId("save-tags").click();
  await agent.getByTestId("tag").filter({ hasText: "#vip" }).waitFor();
  await agent.getByTestId("note-text").fill("@bob the customer asked twice about the reset link");
  await agent.getByTestId("add-note").click();
  await agent.getByTestId("note").filter({ hasText: "asked twice" }).waitFor();
  await readable(agent, "ticket");
  await shot(agent, "agent-note-and-tags");
  await bobPage.getByTestId("mention").filter({ hasText: "alice mentioned you in a note" }).waitFor();
  await shot(bobPage, "colleague-told-of-mention", { live: true });
  await bobPage.getByTestId("mention").getByRole("button").click();
  await bobPage.getByTestId("note").filter({ hasText: "asked twice" }).waitFor();
  await shot(bobPage, "colleague-opens-mentioned-ticket");
  await bobPage.context().close();
  // the customer never sees a note
  if (await customer.locator("#switchboard-chat").filter({ hasText: "asked twice" }).count()) throw new Error("the customer's widget shows the internal note");
});

await step("a draft survives the console's refreshes", async () => {
  await agent.getByTestId("reply-text").fill("A draft that is not sent yet");
  // the console polls every 5 s; the draft must stay
  await agent.waitForResponse((r) => r.url().endsWith("/v1/me/queue"), { timeout: 15000 });
  await agent.waitForTimeout(500);
  if ((await agent.getByTestId("reply-text").inputValue()) !== "A draft that is not sent yet") throw new Error("the draft was lost in a refresh");
  await agent.getByTestId("reply-text").fill("");
});

await step("customer sees the agent's reply live, by the agent's name", async () => {
  await lastOf(customer, "agent").filter({ hasText: "this is Alice" }).waitFor();
  await lastOf(customer, "agent").locator(".who").filter({ hasText: /^Alice$/ }).waitFor();
  await shot(customer, "customer-sees-agent-reply");
});

await step("customer reconnects without losing messages", async () => {
  // The agent writes while the customer's page is gone; a new page load resumes the
  // conversation from the server.
  await customer.goto("about:blank");
  await agent.getByTestId("reply-text").fill("One more thing: the link expires in an hour.");
  await agent.getByTestId("send-reply").click();
  await agent.getByTestId("transcript").filter({ hasText: "expires in an hour" }).waitFor();
  await customer.goto(base + "/ui/chat.html?open=true");
  await lastOf(customer, "agent").filter({ hasText: "expires in an hour" }).waitFor();
  await customer.locator("#switchboard-chat .msg").filter({ hasText: "this is Alice" }).waitFor();
  await customer.locator("#switchboard-chat .msg").filter({ hasText: "How do I reset my password?" }).waitFor();
  await shot(customer, "customer-after-reconnect");
});

if (process.env.SB_PHOTO) {
  await step("customer sends a photo; the agent sees its labels", async () => {
    await w(customer, "photo-input").setInputFiles(process.env.SB_PHOTO);
    await lastOf(customer, "customer").filter({ hasText: "[photo" }).waitFor();
    await agent.getByTestId("photo-marker").first().waitFor({ timeout: 30000 });
    await shot(agent, "agent-sees-photo-labels");
  });
}

if (process.env.SB_VOICE_WAV) {
  await step("customer records a voice note; the agent sees the transcript", async () => {
    await w(customer, "voice").click();
    await customer.waitForTimeout(4000);
    await w(customer, "voice").click();
    await lastOf(customer, "customer").filter({ hasText: "[voice message" }).waitFor({ timeout: 30000 });
    await shot(customer, "customer-voice-note");
    await agent.getByTestId("voice-marker").first().waitFor({ timeout: 30000 });
    // the note's own message body holds words of what was said ("how do i reset my
    // password"); the body alone, so that the time above it ("…PM") does not run into them
    await agent.getByTestId("message-body").filter({ has: agent.getByTestId("voice-marker") })
      .filter({ hasText: /\b(how|reset|password)\b/i }).first().waitFor();
    await shot(agent, "agent-sees-voice-transcript");
  });
}

await step("the customer sees what they typed; the agent sees it redacted and reveals it (audited)", async () => {
  await w(customer, "input").fill("my phone is 13912345678");
  await w(customer, "send").click();
  const reveal = agent.getByTestId("reveal").last();
  await reveal.waitFor({ timeout: 30000 });
  await agent.getByTestId("message-body").filter({ hasText: "my phone is [PHONE_1]" }).last().waitFor();
  // the customer's own bubble: their number, not the server's [PHONE_1]
  await lastOf(customer, "customer").filter({ hasText: "my phone is 13912345678" }).waitFor();
  if (await customer.locator("#switchboard-chat .msg", { hasText: "[PHONE_1]" }).count()) throw new Error("the customer is shown their own number as [PHONE_1]");
  // the twin shows the number as the server keeps it ([PHONE_1]): what the customer
  // typed stays in the memory of the page they typed it in
  await shot(customer, "customer-sees-own-words");
  await reveal.click();
  await agent.getByTestId("revealed").filter({ hasText: "13912345678" }).waitFor();
  // a reveal is audited: the twin does not reveal, and shows the Reveal button
  await shot(agent, "agent-revealed-pii");
});

await step("agent transfers the ticket to billing; routing explains the new assignment", async () => {
  await agent.getByTestId("transfer-group").selectOption("billing");
  await agent.getByTestId("transfer").click();
  await agent.locator("#side").filter({ hasText: "transfer → alice (billing)" }).waitFor();
  await agent.getByTestId("ticket-status").filter({ hasText: "assigned" }).waitFor();
  await shot(agent, "agent-transferred-to-billing");
});

const pane = agent.getByTestId("ticket");
await step("agent resolves after confirming; a resolved ticket offers only reopen and close", async () => {
  await agent.getByTestId("resolve").click();
  await agent.getByTestId("confirm-dialog").filter({ hasText: "Resolve this ticket?" }).waitFor();
  await shot(agent, "agent-confirms-resolve");
  await confirm(agent, "Resolve this ticket?", false); // cancelled: nothing happens
  await agent.getByTestId("ticket-status").filter({ hasText: /^assigned/ }).waitFor();
  await agent.getByTestId("resolve").click();
  await confirm(agent, "Resolve this ticket?", true);
  await agent.getByTestId("ticket-status").filter({ hasText: /^resolved/ }).waitFor();
  for (const id of ["send-reply", "transfer", "resolve", "reply-text", "claim"]) {
    if (await pane.getByTestId(id).count()) throw new Error("a resolved ticket still shows " + id);
  }
  await pane.getByTestId("reopen").waitFor();
  await pane.getByTestId("close").waitFor();
  await shot(agent, "agent-resolved");
  await queueCell(supervisor, "assigned", /^[1-9]/).first().waitFor({ state: "detached", timeout: 20000 });
  await shot(supervisor, "supervisor-queue-drained");
});

await step("the customer is asked to rate the help and gives five stars", async () => {
  const ask = lastOf(customer, "system").filter({ hasText: "How did we do?" });
  await ask.locator('[data-testid="csat-5"]').waitFor();
  await ask.locator('[data-testid="csat-4"]').hover();
  await shot(customer, "customer-asked-to-rate");
  await ask.locator('[data-testid="csat-5"]').click();
  await lastOf(customer, "bot").filter({ hasText: "Thank you for your rating!" }).waitFor();
  if (await customer.locator('#switchboard-chat [data-testid="csat-stars"]').count()) throw new Error("the stars are still offered after the rating");
  await shot(customer, "customer-rated");
});

await step("the supervisor's report counts today's conversations, escalation and rating", async () => {
  await supervisor.getByTestId("report-period").selectOption("1");
  await supervisor.locator('[data-testid="reports"][data-period="1"]').waitFor();
  await supervisor.getByTestId("report-csat").filter({ hasText: "5.0 · 1" }).waitFor();
  await supervisor.locator('[data-testid="report-agent"][data-agent="alice"]').waitFor();
  await supervisor.getByTestId("report-frt").filter({ hasText: /\d/ }).waitFor();
  await readable(supervisor, "reports");
  await supervisor.getByTestId("reports").scrollIntoViewIfNeeded();
  await shot(supervisor, "supervisor-report");
  // every chart drew on a canvas of some size, inside the screen's width; with the
  // period's data in it, none is left empty
  const charts = ["chart-by-day", "chart-by-day-times", "chart-by-hour", "chart-by-channel", "chart-csat", "chart-agents-frt",
    "chart-agents-resolution", "chart-agents-sla", "chart-groups-frt", "chart-groups-resolution", "chart-groups-sla"];
  const drawn = async (page) => {
    const bad = await page.evaluate((ids) => ids.map((id) => {
      const canvas = document.querySelector(`[data-testid="${id}"] canvas`);
      if (!canvas) return id + ": no chart";
      const box = canvas.getBoundingClientRect();
      if (box.width < 150 || box.height < 60) return id + ": " + box.width + "×" + box.height + " px";
      if (box.right > document.documentElement.clientWidth + 1) return id + ": reaches " + box.right + " px";
      const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let ink = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i]) ink++;
      return ink < 500 ? id + ": blank" : "";
    }).filter(Boolean), charts);
    if (bad.length) throw new Error("charts not drawn: " + bad.join("; "));
  };
  await drawn(supervisor);
  // the week: a bar a day
  await supervisor.getByTestId("report-period").selectOption("7");
  await supervisor.locator('[data-testid="reports"][data-period="7"]').waitFor();
  await drawn(supervisor);
  await shot(supervisor, "supervisor-report-charts");
  // on a phone, in Chinese, over the last 7 days
  const phone = await newPage({ width: 390, height: 844 });
  await signIn(phone, "/ui/supervisor/?lang=zh", supUser, supPass);
  await phone.locator('[data-testid="reports"][data-period="7"]').waitFor();
  await phone.getByTestId("chart-by-day").filter({ hasText: "每日会话数" }).waitFor();
  await phone.getByTestId("chart-groups-sla").filter({ hasText: "SLA 达标率" }).waitFor();
  await readable(phone, "reports");
  await drawn(phone);
  await phone.getByTestId("reports").scrollIntoViewIfNeeded();
  await shot(phone, "supervisor-report-charts-phone");
  await phone.context().close();
  // without the chart library the figures and tables still show, the hours as plain bars
  const bare = await newPage({ width: 1400, height: 900 });
  await bare.route(/\/vendor\/chartjs\//, (route) => route.abort());
  await signIn(bare, "/ui/supervisor/", supUser, supPass);
  await bare.locator('[data-testid="reports"][data-period="7"]').waitFor();
  await bare.locator('[data-testid="report-hours"] .bars').waitFor();
  await bare.locator('[data-testid="report-agent"][data-agent="alice"]').waitFor();
  if (await bare.locator('[data-testid="reports"] canvas, [data-testid^="chart-"]').count()) throw new Error("charts shown without their library");
  await bare.context().close();
});

await step("quality inspection: the supervisor sees the resolved conversation scored, each agent's trend, and a review with the reasons marked", async () => {
  const card = supervisor.getByTestId("quality");
  await card.getByTestId("qa-flagged-only").check(); // the flagged ones alone: this one lost only 10 points
  await card.getByTestId("qa-empty").waitFor();
  await card.getByTestId("qa-flagged-only").uncheck();
  const row = card.locator('[data-testid="qa-conversation"]').first();
  await row.waitFor();
  await card.locator('[data-testid="qa-agent"][data-agent="alice"]').getByTestId("qa-trend").waitFor();
  await row.getByTestId("qa-open").click();
  const review = card.getByTestId("qa-review");
  await review.getByTestId("qa-parts").waitFor();
  await review.locator('[data-testid="qa-message"]').first().waitFor();
  // each reason about a message marks that message in the transcript
  const unmarked = await review.evaluate((box) => [...box.querySelectorAll('[data-testid="qa-reasons"] li')].length &&
    ![...box.querySelectorAll('[data-testid="qa-message"]')].some((m) => m.dataset.flagged === "true"));
  const reasons = await review.locator('[data-testid="qa-reasons"] li').allTextContents();
  if (unmarked && reasons.some((r) => /closing|reply|wording|promise|data/i.test(r))) throw new Error("reasons " + JSON.stringify(reasons) + " but no message marked");
  await review.scrollIntoViewIfNeeded();
  await shot(supervisor, "supervisor-quality-review");
});

await step("the agent sees her own quality scores under her queue", async () => {
  const mine = agent.getByTestId("my-quality");
  await mine.locator('[data-testid="qa-conversation"]').first().waitFor({ timeout: 25000 }); // drawn every 15 s
  await mine.getByTestId("qa-mine").filter({ hasText: /\d/ }).waitFor();
  await mine.getByTestId("qa-open").first().click();
  await mine.getByTestId("qa-review").getByTestId("qa-parts").waitFor();
  await mine.scrollIntoViewIfNeeded();
  await shot(agent, "agent-my-quality");
  await mine.getByTestId("qa-close").click();
});

await step("agent closes, then reopens the ticket, each after confirming", async () => {
  await pane.getByTestId("close").click();
  await confirm(agent, "Close this ticket?", true);
  await agent.getByTestId("ticket-status").filter({ hasText: /^closed/ }).waitFor();
  if (await pane.getByTestId("close").count()) throw new Error("a closed ticket offers close");
  await shot(agent, "agent-closed");
  await pane.getByTestId("reopen").click();
  await confirm(agent, "Reopen this ticket?", true);
  // routed again: back with the agent, who has room
  await agent.getByTestId("ticket-status").filter({ hasText: /^assigned/ }).waitFor();
  await pane.getByTestId("send-reply").waitFor();
  await shot(agent, "agent-reopened");
});

// A customer of a shop whose system talks to Switchboard through the generic webhook
// channel (a push channel: replies are POSTed to the shop's callback, through the outbox).
const shop = webhookPeer(env("SB_WEBHOOK_CALLBACK"), env("SB_WEBHOOK_SECRET"));
const shopCustomer = "shop-customer-7";
let shopTicket = "";
const shopReply = () => agent.locator('[data-testid="message"][data-author="agent"]').filter({ hasText: "Sorry for the wait, Wendy" });
await step("a shop's customer asks for a human through the webhook channel; the bot's answer reaches the shop, signed", async () => {
  await shop.up();
  await shop.post(base, { message_id: "wendy-1", customer_id: shopCustomer, display_name: "Wendy", text: "I want to talk to a human" });
  await shop.received(shopCustomer, "human agent", timeout);
  const item = agent.getByTestId("queue-item").filter({ has: agent.getByTestId("queue-customer").filter({ hasText: /^Wendy · assigned · / }) });
  await item.waitFor();
  shopTicket = await item.getAttribute("data-ticket");
  await item.click();
  await agent.locator(`[data-testid="ticket"][data-ticket="${shopTicket}"]`).getByTestId("transcript").filter({ hasText: "I want to talk to a human" }).waitFor();
});

await step("the shop's system is down: the agent's reply is flagged as not delivered, with the reason", async () => {
  await shop.down();
  await agent.getByTestId("reply-text").fill("Sorry for the wait, Wendy. Call us on 13800138000 if the parcel is not there by Friday.");
  await agent.getByTestId("send-reply").click();
  // the test's server gives a reply up after queue.retry_for = 3 s; the console's next refresh shows it
  const flag = shopReply().getByTestId("delivery-failed");
  await flag.locator("strong").filter({ hasText: /^⚠ Not delivered to the customer \(\d+ attempts?\)$/ }).waitFor({ timeout: 30000 });
  await flag.getByTestId("delivery-hint").filter({ hasText: "switchboard outbox retry" }).waitFor();
  await flag.getByTestId("delivery-error").filter({ hasText: /^Reason: .*connection refused/ }).waitFor();
  if (!/connection refused/.test(await flag.getAttribute("title"))) throw new Error("the flag's tooltip does not say why");
  await shopReply().and(agent.locator('[data-delivery="failed"].undelivered')).waitFor();
  await readable(agent, "transcript");
  await shot(agent, "agent-reply-not-delivered");
});

await step("the shop's system is back: switchboard outbox retry delivers the reply as written, and the flag clears", async () => {
  await shop.up();
  const said = await driver("outbox-retry webhook");
  if (said !== "re-queued 1 failed reply") throw new Error("outbox retry said " + JSON.stringify(said));
  // the agent's words as written (the transcript keeps them redacted), signed
  await shop.received(shopCustomer, "Call us on 13800138000", timeout);
  await shopReply().and(agent.locator('[data-delivery="sent"]')).waitFor();
  if (await shopReply().getByTestId("delivery-failed").count()) throw new Error("the flag stayed after the reply was delivered");
  await shot(agent, "agent-reply-delivered-after-retry");
  await sup("POST", "/v1/tickets/" + shopTicket + "/resolve"); // the agent's load is as it was
  await agent.getByTestId("load").filter({ hasText: "1/4" }).waitFor();
});

const found = (page, id) => page.getByTestId("find-results").locator(`[data-testid="queue-item"][data-ticket="${id}"]`);
async function findTickets(page, { view = "open", q = "", channel = "", priority = "" }) {
  await page.getByTestId("find-view").selectOption(view);
  await page.getByTestId("find-channel").selectOption(channel);
  await page.getByTestId("find-priority").selectOption(priority);
  await page.getByTestId("find-q").fill(q);
  await page.getByTestId("find-run").click();
  await page.locator('[data-testid="find-results"][data-state="done"]').waitFor();
}

await step("agent finds tickets: a list with filters, and search by words or by the customer's full name", async () => {
  await findTickets(agent, { view: "resolved", channel: "webhook" });
  await found(agent, shopTicket).waitFor();
  await findTickets(agent, { view: "resolved", q: "wendy" }); // her whole name, any case
  await found(agent, shopTicket).filter({ hasText: "Wendy" }).waitFor();
  await findTickets(agent, { view: "open", q: "urgent", priority: "urgent" });
  await agent.getByTestId("find-results").filter({ hasText: "Found (0)" }).waitFor();
  await findTickets(agent, { view: "open", q: "password" }); // words of the conversation
  await found(agent, ticketId).waitFor();
  if (await found(agent, shopTicket).count()) throw new Error("a resolved ticket among the open ones");
  await readable(agent, "find");
  await shot(agent, "agent-finds-tickets");
});

await step("the customer's profile: who they are, their channels, past tickets and ratings", async () => {
  await found(agent, ticketId).click();
  const prof = agent.getByTestId("profile");
  await prof.getByTestId("profile-channels").filter({ hasText: "rest (1)" }).waitFor();
  // what the company's CRM knows of them (looked up through the connector after their first message)
  await prof.getByTestId("profile-crm").filter({ hasText: "Acme" }).filter({ hasText: "Dana" }).waitFor();
  await prof.getByTestId("profile-crm-tag").filter({ hasText: "enterprise" }).waitFor();
  await prof.locator(`[data-testid="profile-ticket"][data-ticket="${ticketId}"]`).waitFor();
  await prof.getByTestId("profile-csat").filter({ hasText: "5.0 of 5 from 1" }).filter({ hasText: "★★★★★" }).waitFor();
  await readable(agent, "profile");
  await shot(agent, "agent-customer-profile");
});

let parcelTicket = "", asker = null;
await step("suggested replies: a customer asks what an earlier one asked; the agent is offered the reply that resolved it, and the AI's draft streams into the reply box", async () => {
  asker = await newPage({ width: 1280, height: 800 });
  await asker.goto(base + "/ui/chat.html");
  await w(asker, "open").click();
  await w(asker, "state").filter({ hasText: "Online" }).waitFor();
  await w(asker, "input").fill("Where is my parcel? I want to talk to a human");
  await w(asker, "send").click();
  await lastOf(asker, "bot").filter({ hasText: "human agent" }).waitFor();
  await findTickets(agent, { view: "mine", q: "parcel" });
  const item = agent.getByTestId("find-results").getByTestId("queue-item").first();
  await item.waitFor();
  parcelTicket = await item.getAttribute("data-ticket");
  await item.click();
  const past = agent.locator('[data-testid="assist-draft"][data-kind="past"]').filter({ hasText: "Sorry for the wait, Wendy" });
  await past.filter({ hasText: "I want to talk to a human" }).waitFor(); // what that customer asked
  await past.getByTestId("assist-use").click();
  if (!(await agent.getByTestId("reply-text").inputValue()).startsWith("Sorry for the wait, Wendy")) throw new Error("'Use' did not fill the reply box");
  await agent.getByTestId("draft-ai").click();
  await agent.getByTestId("draft-state").filter({ hasText: "Draft ready" }).waitFor();
  const draft = await agent.getByTestId("reply-text").inputValue();
  if (!draft.startsWith("Thank you for waiting. Sorry for the wait, Wendy")) throw new Error("the AI draft in the reply box: " + JSON.stringify(draft));
  await readable(agent, "assist");
  // the language model's briefing, written when the ticket was first opened
  await agent.getByTestId("handoff-summary").filter({ hasText: 'The customer wrote "Where is my parcel? I want to talk to a human"; the bot handed over because the customer asked for a human.' }).waitFor();
  // the twin shows the draft in the reply box (copied), not the streamed draft's state line
  await shot(agent, "agent-reply-assist-ai-draft");
  // the same in Chinese
  const zh = await newPage({ width: 1400, height: 900 });
  await signIn(zh, "/ui/console/?lang=zh", agentUser, agentPass);
  await findTickets(zh, { view: "mine", q: "parcel" });
  await found(zh, parcelTicket).click();
  await zh.locator('[data-testid="assist-draft"][data-kind="past"]').filter({ hasText: "相似工单的解决回复" }).waitFor();
  await zh.getByTestId("profile").filter({ hasText: "客户资料" }).waitFor();
  await zh.getByTestId("find").filter({ hasText: "查找工单" }).waitFor();
  await zh.getByTestId("draft-ai").filter({ hasText: "AI 起草" }).waitFor();
  await shot(zh, "agent-reply-assist-offered");
  await zh.context().close();
  await agent.getByTestId("reply-text").fill("");
});

// a picture an agent might send: the test's photo, or a 2×2 PNG without one
const picture = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==", "base64");

await step("typing shows both ways, and the agent sends the customer a picture", async () => {
  await w(asker, "input").pressSequentially("is it lost", { delay: 40 });
  await agent.locator('[data-testid="typing-line"][data-typing="customer"]').filter({ hasText: "The customer is typing" }).waitFor();
  await shot(agent, "agent-sees-customer-typing");
  await agent.getByTestId("reply-text").pressSequentially("Let me look", { delay: 40 });
  await w(asker, "typing").filter({ hasText: "Alice is typing" }).waitFor();
  await shot(asker, "customer-sees-agent-typing");
  await agent.getByTestId("attach-file").setInputFiles(process.env.SB_PHOTO || { name: "parcel-label.png", mimeType: "image/png", buffer: picture });
  await agent.locator('[data-testid="message"][data-author="agent"] [data-testid="attachment-image"]').waitFor();
  await asker.locator('#switchboard-chat [data-testid="attachment"] img').waitFor();
  await shot(asker, "customer-sees-agent-picture");
  await shot(agent, "agent-sent-picture");
  await asker.context().close();
  await agent.getByTestId("reply-text").fill("");
  await sup("POST", "/v1/tickets/" + parcelTicket + "/resolve"); // the agent's load is as it was
  await agent.getByTestId("load").filter({ hasText: "1/4" }).waitFor();
});

await step("one customer, two tickets: the agent merges the duplicate into the first, after confirming", async () => {
  const pid = "merge-demo-" + Date.now();
  const open = async (subject) => (await sup("POST", "/v1/tickets", { customer: { pseudonymous_id: pid, display_name: "Li Na" }, channel: "web",
    subject, message: subject })).ticket;
  const first = await open("My refund has not arrived");
  const dup = await open("Refund still missing!");
  await agent.getByTestId("load").filter({ hasText: "3/4" }).waitFor();
  await agent.locator(`#queue [data-testid="queue-item"][data-ticket="${first.id}"]`).click();
  await agent.locator(`[data-testid="profile-ticket"][data-ticket="${dup.id}"]`).getByTestId("merge-here").click();
  await confirm(agent, "into this ticket?", true);
  await agent.locator(`[data-testid="merged-ticket"][data-ticket="${dup.id}"]`).filter({ hasText: "Refund still missing!" }).waitFor();
  await agent.getByTestId("load").filter({ hasText: "2/4" }).waitFor(); // the duplicate's slot is free
  await readable(agent, "ticket");
  await shot(agent, "agent-merged-duplicate");
  await sup("POST", "/v1/tickets/" + first.id + "/resolve");
  await agent.getByTestId("load").filter({ hasText: "1/4" }).waitFor();
});

await step("the supervisor watches the open conversations and takes one over, once an agent", async () => {
  const tk = (await sup("POST", "/v1/tickets", { customer: { pseudonymous_id: "takeover-" + Date.now(), display_name: "Zhou Jie" }, channel: "web",
    subject: "I need to speak to a manager", message: "I need to speak to a manager" })).ticket;
  await agent.getByTestId("load").filter({ hasText: "2/4" }).waitFor();
  const row = supervisor.locator(`[data-testid="conversation-row"][data-ticket="${tk.id}"]`);
  await row.getByTestId("held-by").filter({ hasText: "alice" }).waitFor();
  await readable(supervisor, "conversations");
  // a supervisor without an agent record is told what it takes
  await row.getByTestId("take-over").click();
  await confirm(supervisor, "Take this conversation over from alice?", true);
  await supervisor.getByTestId("takeover-note").filter({ hasText: "needs an agent record" }).waitFor();
  await shot(supervisor, "supervisor-takeover-needs-agent");
  await sup("PUT", "/v1/agents/sam", { name: "Sam", groups: ["support"], capacity: 2 });
  await sup("PUT", "/v1/agents/sam/status", { status: "online" });
  await row.getByTestId("take-over").click();
  await confirm(supervisor, "Take this conversation over from alice?", true);
  await supervisor.getByTestId("taken-over").waitFor();
  await row.getByTestId("held-by").filter({ hasText: "sam" }).waitFor();
  await agent.getByTestId("load").filter({ hasText: "1/4" }).waitFor(); // off alice's desk
  await shot(supervisor, "supervisor-took-over");
  await sup("POST", "/v1/tickets/" + tk.id + "/resolve");
  await sup("PUT", "/v1/agents/sam/status", { status: "offline" }); // the later steps route to alice alone
});

if (process.env.SB_PHOTO) {
  await step("supervisor sees the model versions and rolls the classifier back", async () => {
    await supervisor.reload();
    const row = (v) => supervisor.locator(`[data-testid="model-row"][data-model="imagenet"][data-version="${v}"]`);
    await row("2").getByTestId("model-role").filter({ hasText: "active" }).waitFor();
    const served = Number(await row("2").getByTestId("model-requests").textContent());
    if (!(served >= 1)) throw new Error("version 2 classified the photo but shows " + served + " requests");
    await shot(supervisor, "supervisor-models");
    await supervisor.getByTestId("rollback").click();
    await confirm(supervisor, "Roll imagenet back", true);
    await row("1").getByTestId("model-role").filter({ hasText: "active" }).waitFor();
    await row("2").getByTestId("model-role").filter({ hasText: "active" }).waitFor({ state: "detached" });
    await shot(supervisor, "supervisor-model-rolled-back");
  });
}

// A busy afternoon: fourteen tickets from visitors without a name; the agent (capacity
// 4, one ticket held) is routed three, the rest wait.
const prios = ["urgent", "high", "normal", "low"];
await step("tickets wait: the supervisor sees how many and for how long", async () => {
  for (let i = 0; i < 14; i++) {
    await sup("POST", "/v1/tickets", { customer: { pseudonymous_id: "shop-visitor-" + i + "-" + Date.now() }, channel: "web",
      subject: "Order " + (1001 + i) + " has not arrived", message: "Where is my order " + (1001 + i) + "?", priority: prios[i % 4] });
  }
  await agent.getByTestId("load").filter({ hasText: "4/4" }).waitFor();
  const row = queueCell(supervisor, "waiting", /^[1-9]\d*$/).filter({ has: supervisor.locator('[data-testid="oldest-wait"]', { hasText: /^[1-9]\d* (s|min)$/ }) });
  await row.first().waitFor();
  await queueCell(supervisor, "group-load", /^4\/4$/).first().waitFor();
  await shot(supervisor, "supervisor-tickets-waiting");
});

await step("agent claims a waiting ticket beyond capacity; only claimable tickets offer claim", async () => {
  const waiting = agent.locator('[data-testid="queue-item"][data-claimable="true"]');
  await waiting.first().waitFor();
  await waiting.first().click();
  await pane.getByTestId("claim").click();
  await agent.getByTestId("load").filter({ hasText: "5/4" }).waitFor();
  await agent.getByTestId("ticket-status").filter({ hasText: /^assigned/ }).waitFor();
  await shot(agent, "agent-claimed-beyond-capacity");
});

await step("a claim that fails shows why beside the button, not in an alert", async () => {
  const item = agent.locator('[data-testid="queue-item"][data-claimable="true"]').first();
  const id = await item.getAttribute("data-ticket");
  await item.click();
  const claim = agent.locator(`[data-testid="ticket"][data-ticket="${id}"]`).getByTestId("claim");
  await claim.waitFor();
  // The console's reads wait, so it still offers the claim after the supervisor resolved
  // the ticket, through its next refresh too (which would otherwise take the button
  // away); the claim itself reaches the server, which refuses it.
  await agentReads.pause();
  try {
    await sup("POST", "/v1/tickets/" + id + "/resolve");
    await agentReads.nextHeld(15000);
    const refused = agent.waitForResponse((r) => r.url().endsWith("/v1/tickets/" + id + "/claim"));
    await claim.click();
    const status = (await refused).status();
    if (status < 400 || status >= 500) throw new Error("the server answered the claim of a resolved ticket with " + status);
  } finally {
    await agentReads.resume();
  }
  await pane.getByTestId("action-error").filter({ hasText: "Could not claim this ticket." }).waitFor();
  await pane.getByTestId("gone").waitFor();
  await readable(agent, "ticket");
  // the refusal cannot be had again (the ticket is resolved and offers no claim): the
  // twin shows what the console shows for that ticket now
  await shot(agent, "agent-claim-failed-inline", { asNow: true });
});

await step("at capacity plus the claim overflow nothing is claimable, and no claim button shows", async () => {
  await agent.locator('[data-testid="queue-item"][data-claimable="true"]').first().click();
  await pane.getByTestId("claim").click();
  await agent.getByTestId("load").filter({ hasText: "6/4" }).waitFor();
  await agent.locator('[data-testid="queue-item"][data-claimable="true"]').first().waitFor({ state: "detached" });
  await agent.locator('[data-testid="queue-item"][data-claimable="false"]').first().click();
  await pane.getByTestId("not-claimable").waitFor();
  if (await pane.getByTestId("claim").count()) throw new Error("a claim button on a ticket the agent cannot claim");
  await shot(agent, "agent-nothing-claimable");
});

await step("the open ticket stays on screen after clicking a ticket low in a long queue", async () => {
  const last = agent.getByTestId("queue-item").last();
  const subject = await last.locator("strong").innerText();
  await last.click();
  await agent.getByTestId("ticket-subject").filter({ hasText: subject }).waitFor();
  const scrolled = await agent.evaluate(() => window.scrollY);
  if (scrolled < 50) throw new Error("the queue is too short to test this: scrolled " + scrolled + " px");
  const box = await agent.getByTestId("ticket-subject").boundingBox();
  const view = agent.viewportSize();
  if (!box || box.y < 0 || box.y + box.height > view.height) throw new Error("the open ticket is off screen: " + JSON.stringify(box));
  await readable(agent, "queue");
  await shot(agent, "agent-long-queue-ticket-in-view");
});

let phoneAgent;
await step("phone width, in Chinese: widget, console and supervisor", async () => {
  const phone = await newPage({ width: 390, height: 844 });
  await phone.goto(base + "/ui/chat.html?lang=zh");
  await w(phone, "open").click();
  await w(phone, "state").filter({ hasText: "在线" }).waitFor();
  const box = await phone.locator("#switchboard-chat .panel").boundingBox();
  if (!box || box.width < 380) throw new Error("the widget does not fill a phone's width: " + JSON.stringify(box));
  await w(phone, "input").fill("退款多久到账？");
  await w(phone, "send").click();
  await lastOf(phone, "bot").filter({ hasText: "5个工作日" }).waitFor();
  await shot(phone, "phone-widget");
  phoneAgent = await newPage({ width: 390, height: 844 });
  await signIn(phoneAgent, "/ui/console/?lang=zh", agentUser, agentPass);
  await phoneAgent.getByTestId("queue-item").first().waitFor();
  const width = await phoneAgent.evaluate(() => document.documentElement.scrollWidth);
  if (width > 400) throw new Error("the console scrolls sideways on a phone: " + width + " px");
  // states, priorities and names in Chinese
  const prioWords = new Set(await phoneAgent.getByTestId("priority").allInnerTexts());
  for (const p of prioWords) if (!["紧急", "高", "普通", "低"].includes(p)) throw new Error("priority shown as " + JSON.stringify(p));
  const lines = await phoneAgent.getByTestId("queue-customer").allInnerTexts();
  if (!lines.some((l) => l.startsWith("访客 · ") && l.includes(" · 已分配 · "))) throw new Error("queue lines " + JSON.stringify(lines));
  if (lines.some((l) => /\b(assigned|open|pending)\b/.test(l))) throw new Error("English status words in the Chinese queue: " + JSON.stringify(lines));
  await phoneAgent.getByTestId("queue-item").last().click();
  await phoneAgent.getByTestId("ticket-subject").waitFor();
  const b = await phoneAgent.getByTestId("ticket-subject").boundingBox();
  if (!b || b.y < 0 || b.y > 844) throw new Error("on a phone the opened ticket is off screen: " + JSON.stringify(b));
  await phoneAgent.getByTestId("notes").filter({ hasText: "内部备注" }).waitFor();
  await phoneAgent.getByTestId("canned").filter({ hasText: "快捷回复" }).waitFor();
  await shot(phoneAgent, "phone-console");
  const phoneSup = await newPage({ width: 390, height: 844 });
  await signIn(phoneSup, "/ui/supervisor/?lang=zh", supUser, supPass);
  await phoneSup.getByTestId("queues-table").filter({ hasText: "最长等待" }).waitFor();
  await phoneSup.locator('[data-testid="agent-status"][data-status="online"]').filter({ hasText: "在线" }).first().waitFor();
  await shot(phoneSup, "phone-supervisor");
});

await step("after the socket drops (server shutdown, 1001) the console reconnects and reads its status again", async () => {
  await agent.getByTestId("status").filter({ has: agent.locator('option:checked[value="online"]') }).waitFor();
  await sup("PUT", "/v1/agents/alice/status", { status: "away" }); // changed elsewhere meanwhile
  const before = agentSocket.sockets.length;
  const { ws, server } = agentSocket.sockets.at(-1);
  await ws.close({ code: 1001, reason: "server shutting down" });
  await server.close().catch(() => {});
  await until(() => agentSocket.sockets.length > before, "the console did not open a new socket", timeout);
  await agent.locator('[data-testid="live"][data-state="live"]').waitFor();
  await agent.getByTestId("status").filter({ has: agent.locator('option:checked[value="away"]') }).waitFor();
  await shot(agent, "agent-reconnected-status-reread");
  await agent.getByTestId("status").selectOption("online");
  await agent.getByTestId("status").filter({ has: agent.locator('option:checked[value="online"]') }).waitFor();
});

await step("revoked sessions' sockets close with 4401: the console asks to sign in again, the widget starts anew", async () => {
  const bob = await newPage({ width: 1280, height: 800 });
  const bobSocket = await proxy(bob);
  await signIn(bob, "/ui/console/", bobUser, bobPass);
  await bob.getByTestId("live").filter({ hasText: "live" }).waitFor();
  // hold the console's HTTP calls, so that only the socket can tell it the session ended
  await bob.route("**/v1/**", () => {});
  const token = await customer.evaluate(() => localStorage.getItem("switchboard.token"));
  const visitor = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).sub;
  await driver("revoke " + bobUser);
  await driver("revoke " + visitor);
  await bob.getByTestId("signin-notice").filter({ hasText: "Your session was ended by an administrator" }).waitFor({ timeout: 60000 });
  if (!bobSocket.serverCloses.includes(4401)) throw new Error("the server closed the socket with " + JSON.stringify(bobSocket.serverCloses) + ", want 4401");
  await bob.getByTestId("username").waitFor();
  await shot(bob, "revoked-session-signs-in-again");
  await w(customer, "new-session").waitFor({ timeout: 60000 });
  await w(customer, "state").filter({ hasText: "Online" }).waitFor();
  await w(customer, "input").fill("How long does a refund take?");
  await w(customer, "send").click();
  await lastOf(customer, "bot").filter({ hasText: "5 working days" }).waitFor();
  await shot(customer, "customer-new-session-after-revocation");
});

await step("sign out sets the agent offline before the session ends", async () => {
  await twins.close(agentUser); // her twins end first: only her phone console stays connected
  await agent.getByTestId("signout").click();
  await agent.getByTestId("signin-notice").filter({ hasText: "You have signed out." }).waitFor();
  // alice's phone console is still connected, so only the sign-out can have done this
  await supervisor.locator('[data-testid="agent-row"][data-agent="alice"] [data-testid="agent-status"][data-status="offline"]').waitFor();
  await shot(supervisor, "supervisor-agent-signed-out");
});

await twins.close();
await step("after hours: with every agent away and the team's calendar closed (a holiday), the customer is told when it opens again", async () => {
  const day = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);
  const calendar = { timezone: "UTC", hours: [{ days: [0, 1, 2, 3, 4, 5, 6], start: "09:00", end: "18:00" }],
    holidays: [0, 1, 2].map((n) => ({ date: day(n), name: "Team day" })) };
  await sup("PUT", "/v1/skill-groups/support", { name: "Support", skills: [], calendar });
  await sup("PUT", "/v1/skill-groups/billing", { name: "Billing", skills: ["billing"], calendar });
  const late = await newPage({ width: 1280, height: 800 });
  await late.goto(base + "/ui/chat.html");
  await w(late, "open").click();
  await w(late, "state").filter({ hasText: "Online" }).waitFor();
  await w(late, "human").click();
  // back on the first day after the holidays, at opening time (in the group's zone)
  const back = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][new Date(day(3) + "T00:00:00Z").getUTCDay()] + " 09:00 (UTC)";
  await late.locator("#switchboard-chat .msg").filter({ hasText: "Our team is away right now and back " + back }).waitFor();
  await shot(late, "customer-told-after-hours");
  await late.context().close();
});

await browser.close();
await shop.down();
endDriver();
if (nativeDialogs.length) {
  console.error("FAILED: the pages opened native dialogs: " + JSON.stringify(nativeDialogs));
  process.exit(1);
}
console.log("ok: " + twins.count() + " screenshots in each language in " + out);
