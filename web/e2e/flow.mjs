// The browser test of Switchboard's pages, driven by go test (cmd/switchboard,
// TestWebPagesInBrowser), which starts the server and passes:
//
//   SB_BASE        the server's base URL
//   SB_AGENT       agent sign-in "user:password";   SB_SUPERVISOR the same for a supervisor
//   SB_ARTIFACTS   the folder for the screenshots of every step
//   SB_VOICE_WAV   a WAV file Chromium plays as the microphone (optional)
//   SB_PHOTO       a photo to upload from the widget (optional)
//   SB_CHROMIUM    the browser (default /usr/bin/chromium); SB_HEADED=1 shows its window
//
// It prints one line per step and exits non-zero on the first failure, leaving a
// screenshot named failure-*.png.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const env = (k, d) => process.env[k] || d;
const base = env("SB_BASE");
const out = env("SB_ARTIFACTS", "artifacts");
const [agentUser, agentPass] = env("SB_AGENT").split(":");
const [supUser, supPass] = env("SB_SUPERVISOR").split(":");
mkdirSync(out, { recursive: true });

const args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"];
if (process.env.SB_VOICE_WAV) args.push("--use-file-for-fake-audio-capture=" + process.env.SB_VOICE_WAV);
const browser = await chromium.launch({ executablePath: env("SB_CHROMIUM", "/usr/bin/chromium"), headless: !process.env.SB_HEADED, args });

let n = 0;
const pages = [];
async function shot(page, name) {
  const file = join(out, String(++n).padStart(2, "0") + "-" + name + ".png");
  await page.screenshot({ path: file, fullPage: true });
  console.log("step " + n + ": " + name + " → " + file);
}
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    for (const [i, p] of pages.entries()) await p.screenshot({ path: join(out, "failure-" + i + ".png"), fullPage: true }).catch(() => {});
    console.error("FAILED at " + name + ": " + e.message);
    await browser.close();
    process.exit(1);
  }
}
const timeout = 20000;

// Contexts: each is a separate browser profile (cookies, storage).
async function newPage(viewport) {
  const ctx = await browser.newContext({ viewport, locale: "en-US" });
  const page = await ctx.newPage();
  page.setDefaultTimeout(timeout);
  page.on("pageerror", (e) => console.error("page error: " + e.message));
  pages.push(page);
  return page;
}

// The widget lives in a shadow root; Playwright's CSS locators pierce it.
const w = (page, id) => page.locator(`#switchboard-chat [data-testid="${id}"]`);
const lastOf = (page, author) => page.locator(`#switchboard-chat .msg[data-author="${author}"]`).last();

async function signIn(page, path, user, pass) {
  await page.goto(base + path);
  await page.getByTestId("username").fill(user);
  await page.getByTestId("password").fill(pass);
  await page.getByTestId("signin").click();
}

const customer = await newPage({ width: 1280, height: 800 });
const agent = await newPage({ width: 1400, height: 900 });
const supervisor = await newPage({ width: 1400, height: 900 });

await step("customer asks the knowledge base", async () => {
  await customer.goto(base + "/ui/chat.html");
  await w(customer, "open").click();
  await w(customer, "state").filter({ hasText: "Online" }).waitFor();
  await w(customer, "input").fill("How do I reset my password?");
  await w(customer, "send").click();
  await lastOf(customer, "bot").filter({ hasText: "Forgot password" }).waitFor();
  await w(customer, "citations").first().waitFor();
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
  await agent.getByTestId("status").selectOption("online");
  await agent.getByTestId("load").filter({ hasText: "0/" }).waitFor();
  // the agent sets their own capacity
  await agent.getByTestId("capacity").fill("4");
  await agent.getByTestId("capacity").press("Enter");
  await agent.getByTestId("load").filter({ hasText: "0/4" }).waitFor();
  await shot(agent, "agent-online-empty-queue");
});

await step("supervisor signs in", async () => {
  await signIn(supervisor, "/ui/supervisor/", supUser, supPass);
  await supervisor.getByTestId("agents-table").filter({ hasText: "online" }).waitFor();
  await shot(supervisor, "supervisor-before");
});

let ticketId = "";
await step("customer asks for a human", async () => {
  await w(customer, "human").click();
  await lastOf(customer, "bot").filter({ hasText: "human agent" }).waitFor();
  await shot(customer, "customer-handover");
});

await step("the agent receives the ticket live", async () => {
  const item = agent.getByTestId("queue-item").first();
  await item.waitFor();
  ticketId = await item.getAttribute("data-ticket");
  await item.click();
  await agent.getByTestId("transcript").filter({ hasText: "I want to talk to a human" }).waitFor();
  await agent.getByTestId("score-total").waitFor();
  // the suggested passage is the FAQ's answer to what the customer asked before
  await agent.getByTestId("passage").filter({ hasText: "Forgot password" }).first().waitFor();
  await shot(agent, "agent-ticket-with-routing-and-suggestions");
});

await step("supervisor sees the queue", async () => {
  await supervisor.locator('[data-testid="queue-row"] [data-testid="backlog"]').filter({ hasText: /^1$/ }).waitFor();
  await shot(supervisor, "supervisor-queue-one-open");
});

await step("agent claims and replies", async () => {
  const claim = agent.getByTestId("claim");
  if (await claim.count()) await claim.click();
  await agent.getByTestId("passage").first().getByRole("button").click();
  const used = await agent.getByTestId("reply-text").inputValue();
  if (!used.includes("Forgot password")) throw new Error("'Use' put " + JSON.stringify(used) + " into the reply box");
  await agent.getByTestId("reply-text").fill("Hello, this is Alice. I have reset your password link; check your mail.");
  await agent.getByTestId("send-reply").click();
  await agent.getByTestId("transcript").filter({ hasText: "this is Alice" }).waitFor();
  await shot(agent, "agent-replied");
});

await step("customer sees the agent's reply live", async () => {
  await lastOf(customer, "agent").filter({ hasText: "this is Alice" }).waitFor();
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
    // the note's own message holds words of what was said ("how do i reset my password")
    await agent.getByTestId("message").filter({ has: agent.getByTestId("voice-marker") })
      .filter({ hasText: /\b(how|reset|password)\b/i }).first().waitFor();
    await shot(agent, "agent-sees-voice-transcript");
  });
}

await step("agent reveals a redacted value (audited)", async () => {
  await w(customer, "input").fill("my phone is 13912345678");
  await w(customer, "send").click();
  await lastOf(customer, "customer").filter({ hasText: "[PHONE_1]" }).waitFor();
  const reveal = agent.getByTestId("reveal").last();
  await reveal.waitFor({ timeout: 30000 });
  await reveal.click();
  await agent.getByTestId("revealed").filter({ hasText: "13912345678" }).waitFor();
  await shot(agent, "agent-revealed-pii");
});

await step("agent transfers the ticket to billing; routing explains the new assignment", async () => {
  await agent.getByTestId("transfer-group").selectOption("billing");
  await agent.getByTestId("transfer").click();
  await agent.locator("#side").filter({ hasText: "transfer → alice (billing)" }).waitFor();
  await agent.getByTestId("ticket-status").filter({ hasText: "assigned" }).waitFor();
  await shot(agent, "agent-transferred-to-billing");
});

await step("agent resolves; the supervisor sees the queue drain", async () => {
  await agent.getByTestId("resolve").click();
  await agent.getByTestId("ticket-status").filter({ hasText: "resolved" }).waitFor();
  await shot(agent, "agent-resolved");
  await supervisor.locator('[data-testid="queue-row"] [data-testid="backlog"]').filter({ hasText: /^1$/ }).waitFor({ state: "detached", timeout: 20000 });
  await shot(supervisor, "supervisor-queue-drained");
});

if (process.env.SB_PHOTO) {
  await step("supervisor sees the model versions and rolls the classifier back", async () => {
    supervisor.on("dialog", (d) => d.accept());
    await supervisor.reload();
    const row = (v) => supervisor.locator(`[data-testid="model-row"][data-model="imagenet"][data-version="${v}"]`);
    await row("2").getByTestId("model-role").filter({ hasText: "active" }).waitFor();
    const served = Number(await row("2").getByTestId("model-requests").textContent());
    if (!(served >= 1)) throw new Error("version 2 classified the photo but shows " + served + " requests");
    await shot(supervisor, "supervisor-models");
    await supervisor.getByTestId("rollback").click();
    await row("1").getByTestId("model-role").filter({ hasText: "active" }).waitFor();
    await row("2").getByTestId("model-role").filter({ hasText: "active" }).waitFor({ state: "detached" });
    await shot(supervisor, "supervisor-model-rolled-back");
  });
}

await step("phone width: widget, console and supervisor", async () => {
  const phone = await newPage({ width: 390, height: 844 });
  await phone.goto(base + "/ui/chat.html?lang=zh");
  await w(phone, "open").click();
  await w(phone, "state").filter({ hasText: "在线" }).waitFor();
  const box = await phone.locator("#switchboard-chat .panel").boundingBox();
  if (!box || box.width < 380) throw new Error("the widget does not fill a phone's width: " + JSON.stringify(box));
  await w(phone, "input").fill("退款多久到账？");
  await w(phone, "send").click();
  await lastOf(phone, "bot").filter({ hasText: "5个工作日" }).waitFor();
  await shot(phone, "phone-widget-zh");
  const phoneAgent = await newPage({ width: 390, height: 844 });
  await signIn(phoneAgent, "/ui/console/?lang=zh", agentUser, agentPass);
  await phoneAgent.getByTestId("queue").waitFor();
  const width = await phoneAgent.evaluate(() => document.documentElement.scrollWidth);
  if (width > 400) throw new Error("the console scrolls sideways on a phone: " + width + " px");
  await shot(phoneAgent, "phone-console-zh");
  const phoneSup = await newPage({ width: 390, height: 844 });
  await signIn(phoneSup, "/ui/supervisor/", supUser, supPass);
  await phoneSup.getByTestId("queues-table").waitFor();
  await shot(phoneSup, "phone-supervisor");
});

await browser.close();
console.log("ok: " + n + " screenshots in " + out);
