// The browser test of the chat widget's side of the agents' workspace, driven by go test
// (cmd/switchboard, TestWidgetInBrowser), which starts the server and passes:
//
//   SB_BASE        the server's base URL
//   SB_AGENT_TOKEN a bearer token of the agent (display name "Alice") who takes the chats
//   SB_IMAGE       a PNG the agent sends
//   SB_ARTIFACTS   the folder for the screenshots of every step
//   SB_CHROMIUM    the browser (default /usr/bin/chromium); SB_HEADED=1 shows its window
//
// In English and then in Chinese (on a phone's width), a customer opens the widget and
// asks for a human; the agent's side is played through the API and the agent's socket
// (the console is tested by flow.mjs): the customer types and the agent is told, once for
// a burst of keys; the agent types and the widget says so by the agent's name, then
// stops saying it; the agent sends an image, shown inline, and a PDF, which the customer
// downloads as sent. It prints one line per step and exits non-zero on the first failure,
// leaving failure-*.png.
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readable, stepper } from "./harness.mjs";

const env = (k, d) => process.env[k] || d;
const base = env("SB_BASE");
const agentToken = env("SB_AGENT_TOKEN");
const out = env("SB_ARTIFACTS", "artifacts/widget");
const image = readFileSync(env("SB_IMAGE"));
const pdf = Buffer.from("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({ executablePath: env("SB_CHROMIUM", "/usr/bin/chromium"), headless: !process.env.SB_HEADED,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
const pages = [];
let n = 0;
async function shot(page, name) {
  const file = join(out, String(++n).padStart(2, "0") + "-" + name + ".png");
  await page.screenshot({ path: file, fullPage: true });
  console.log("step " + n + ": " + name + " → " + file);
}
const step = stepper({ browser, out, pages: () => pages });
const timeout = 20000;

// api calls the server as the agent.
async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + agentToken };
  if (body && !(body instanceof FormData)) { headers["Content-Type"] = "application/json"; body = JSON.stringify(body); }
  const r = await fetch(base + path, { method, headers, body });
  const text = await r.text();
  const json = text ? JSON.parse(text) : {};
  if (!r.ok) throw new Error(method + " " + path + ": " + r.status + " " + text);
  return json;
}

// The agent's socket, opened from a page of the server (its origin), keeps her present
// and collects her pushes.
const agentPage = await (await browser.newContext()).newPage();
pages.push(agentPage);
await step("agent socket", async () => {
  await agentPage.goto(base + "/healthz");
  await agentPage.evaluate(({ base, token }) => new Promise((ok, fail) => {
    window.pushes = [];
    const ws = new WebSocket(base.replace(/^http/, "ws") + "/v1/me/ws?access_token=" + token);
    ws.onmessage = (e) => window.pushes.push(JSON.parse(e.data));
    ws.onopen = ok;
    ws.onerror = () => fail(new Error("the agent's socket did not open"));
  }), { base, token: agentToken });
});
const pushes = () => agentPage.evaluate(() => window.pushes);

const words = {
  en: { typing: "Alice is typing…" },
  zh: { typing: "Alice 正在输入…" },
};
for (const lang of ["en", "zh"]) {
  const phone = lang === "zh";
  const ctx = await browser.newContext({ locale: phone ? "zh-CN" : "en-US", acceptDownloads: true,
    viewport: phone ? { width: 390, height: 780 } : { width: 1100, height: 760 } });
  const page = await ctx.newPage();
  pages.push(page);
  let ticket = "";
  await step(lang + ": the customer asks for a human", async () => {
    await page.goto(base + "/ui/chat.html?open=true&lang=" + lang);
    await page.locator('[data-testid="state"][data-state="online"]').waitFor({ timeout });
    await page.getByTestId("human").click();
    for (const end = Date.now() + timeout; !ticket; await new Promise((r) => setTimeout(r, 200))) {
      if (Date.now() > end) throw new Error("no ticket reached the agent");
      const conv = await page.evaluate(() => localStorage.getItem("switchboard.conversation"));
      if (!conv) continue;
      const q = await api("GET", "/v1/me/queue");
      const mine = q.mine.find((tk) => tk.conversation_id === conv);
      if (mine) ticket = mine.id;
    }
    await page.locator('.msg[data-author="bot"]').last().waitFor({ timeout });
    await shot(page, lang + "-escalated");
  });
  await step(lang + ": the customer types and the agent is told once for the burst", async () => {
    const before = (await pushes()).length;
    await page.getByTestId("input").pressSequentially(lang === "zh" ? "包裹在哪里" : "Where is my parcel", { delay: 40 });
    let typed = [];
    for (const end = Date.now() + 5000; typed.length === 0; await new Promise((r) => setTimeout(r, 100))) {
      if (Date.now() > end) throw new Error("the agent was not told that the customer types");
      typed = (await pushes()).slice(before).filter((p) => p.type === "typing");
    }
    const p = typed[0];
    if (p.ticket_id !== ticket || p.who !== "customer") throw new Error("typing push " + JSON.stringify(p));
    await new Promise((r) => setTimeout(r, 600));
    const all = (await pushes()).slice(before).filter((p) => p.type === "typing");
    if (all.length !== 1) throw new Error(all.length + " typing pushes for one burst of keys, want 1");
    await shot(page, lang + "-customer-typing");
  });
  await step(lang + ": the agent types and the widget says so", async () => {
    const r = await api("POST", "/v1/tickets/" + ticket + "/typing");
    if (!r.sent) throw new Error("the agent's typing was not passed on");
    const line = page.getByTestId("typing");
    await page.waitForFunction((want) => {
      const el = document.querySelector("#switchboard-chat").shadowRoot.querySelector('[data-testid="typing"]');
      return el && el.textContent === want;
    }, words[lang].typing, { timeout });
    await shot(page, lang + "-agent-typing");
    await page.waitForFunction(() => {
      const el = document.querySelector("#switchboard-chat").shadowRoot.querySelector('[data-testid="typing"]');
      return el && el.textContent === "";
    }, null, { timeout: 10000 });
    if ((await line.textContent()) !== "") throw new Error("the typing line stays");
  });
  await step(lang + ": the agent sends an image and a PDF", async () => {
    for (const [name, type, data] of [["shop-photo.png", "image/png", image], ["invoice-2024.pdf", "application/octet-stream", pdf]]) {
      const form = new FormData();
      form.append("file", new Blob([data], { type }), name);
      const sent = await api("POST", "/v1/tickets/" + ticket + "/attachments", form);
      if (!sent.message.attachment || sent.message.attachment.name !== name) throw new Error("sent " + JSON.stringify(sent.message));
    }
    const img = page.getByTestId("attachment-image").last();
    await img.waitFor({ timeout });
    await page.waitForFunction(() => {
      const el = [...document.querySelector("#switchboard-chat").shadowRoot.querySelectorAll('[data-testid="attachment-image"]')].pop();
      return el && el.complete && el.naturalWidth > 0;
    }, null, { timeout });
    const link = page.getByTestId("attachment-link").last();
    await link.waitFor({ timeout });
    if (!(await link.textContent()).includes("invoice-2024.pdf")) throw new Error("file link " + (await link.textContent()));
    const who = await page.locator('[data-testid="attachment"] .who').last().textContent();
    if (who !== "Alice") throw new Error("the attachment is shown from " + JSON.stringify(who));
    await readable(page, "log");
    await shot(page, lang + "-attachments");
  });
  await step(lang + ": the customer downloads the PDF", async () => {
    const [download] = await Promise.all([page.waitForEvent("download", { timeout }), page.getByTestId("attachment-link").last().click()]);
    if (download.suggestedFilename() !== "invoice-2024.pdf") throw new Error("downloaded as " + download.suggestedFilename());
    const file = join(out, lang + "-invoice.pdf");
    await download.saveAs(file);
    if (!readFileSync(file).equals(pdf)) throw new Error("the downloaded file differs from what was sent");
    await shot(page, lang + "-downloaded");
  });
  await ctx.close();
  pages.pop();
}
await browser.close();
console.log("widget flow passed");
