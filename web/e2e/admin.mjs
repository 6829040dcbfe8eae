// The browser test of the admin page (/ui/admin/), driven by go test (cmd/switchboard,
// TestAdminPagesInBrowser), which starts the server and passes:
//
//   SB_BASE        the server's base URL
//   SB_ADMIN       an administrator's sign-in "user:password"; SB_SUPERVISOR a supervisor's
//   SB_ARTIFACTS   the folder for the screenshots of every step
//   SB_CHROMIUM    the browser (default /usr/bin/chromium); SB_HEADED=1 shows its window
//
// An administrator drives every area of the page in English: agents, groups and skills,
// business hours, sign-ins and roles, routing weights, SLA policies, shared canned
// responses, the knowledge base (upload with progress, documents, delete, try a
// question) and the models (promote, canary, roll back); after each step a second
// administrator's browser, in Chinese, shows the same area, so that every step has a
// screenshot in both languages (NN-name-en.png, NN-name-zh.png). Then a supervisor sees
// what they may do and a note where they may not, and the page fits a phone. It prints
// one line per step and exits non-zero on the first failure, leaving failure-*.png.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { confirm, readable, stepper } from "./harness.mjs";

const env = (k, d) => process.env[k] || d;
const base = env("SB_BASE");
const out = env("SB_ARTIFACTS", "artifacts/admin");
const [adminUser, adminPass] = env("SB_ADMIN").split(":");
const [supUser, supPass] = env("SB_SUPERVISOR").split(":");
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({ executablePath: env("SB_CHROMIUM", "/usr/bin/chromium"), headless: !process.env.SB_HEADED,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });

let n = 0;
const pages = [];
const nativeDialogs = [];
const pageErrors = [];
const step = stepper({ browser, out, pages: () => pages });
const timeout = 20000;

async function newPage(viewport, locale) {
  const ctx = await browser.newContext({ viewport, locale });
  const page = await ctx.newPage();
  page.setDefaultTimeout(timeout);
  page.on("pageerror", (e) => { pageErrors.push(e.message); console.error("page error: " + e.message); });
  page.on("dialog", (d) => { nativeDialogs.push(d.type() + ": " + d.message()); d.dismiss().catch(() => {}); });
  pages.push(page);
  return page;
}

async function signIn(page, path, user, pass) {
  await page.goto(base + path);
  await page.getByTestId("username").fill(user);
  await page.getByTestId("password").fill(pass);
  await page.getByTestId("signin").click();
}

const en = await newPage({ width: 1360, height: 900 }, "en-US");
const zh = await newPage({ width: 1360, height: 900 }, "zh-CN"); // the page follows the browser's language

// tab opens a tab of the page and waits until it is drawn.
async function tab(page, id) {
  await page.getByTestId("tab-" + id).click();
  await page.locator(`[data-testid="panel-${id}"][data-ready="1"]`).waitFor();
  if (await page.getByTestId("card-error").count()) throw new Error(id + ": " + (await page.getByTestId("card-error").innerText()));
}

// shot takes a screenshot of a step in one language (l): NN-name-l.png, NN counting the
// steps (again: the same step as the screenshot before, in the other language).
async function shot(page, name, l, again) {
  if (!again) n++;
  const file = join(out, String(n).padStart(2, "0") + "-" + name + "-" + l + ".png");
  await page.screenshot({ path: file, fullPage: true });
  console.log("step " + n + ": " + name + " → " + file);
}

// pair takes the English screenshot of a step, then shows the same tab in Chinese (where
// zhText must appear) and takes that one.
async function pair(name, id, zhText) {
  n++;
  const file = (l) => join(out, String(n).padStart(2, "0") + "-" + name + "-" + l + ".png");
  await readable(en, "panel-" + id);
  await en.screenshot({ path: file("en"), fullPage: true });
  await tab(zh, id);
  await zh.getByTestId("panel-" + id).filter({ hasText: zhText }).waitFor();
  await readable(zh, "panel-" + id);
  await zh.screenshot({ path: file("zh"), fullPage: true });
  console.log("step " + n + ": " + name + " → " + file("en") + ", " + file("zh"));
}

const panel = (page, id) => page.getByTestId("panel-" + id);
const row = (page, testid, attr, value) => page.locator(`[data-testid="${testid}"][${attr}="${value}"]`);
const saved = (scope) => scope.getByTestId("saved").first().waitFor();
const inlineError = (scope, text) => scope.getByTestId("action-error").filter({ hasText: text }).first().waitFor();

await step("the administrator signs in and sees the agents", async () => {
  await signIn(en, "/ui/admin/", adminUser, adminPass);
  await en.locator('[data-testid="panel-agents"][data-ready="1"]').waitFor();
  await row(en, "agent-row", "data-agent", "alice").filter({ hasText: "Alice" }).waitFor();
  await row(en, "agent-row", "data-agent", "bob").getByTestId("agent-signin").filter({ hasText: "agent" }).waitFor();
  await signIn(zh, "/ui/admin/", adminUser, adminPass);
  await zh.locator('[data-testid="panel-agents"][data-ready="1"]').waitFor();
  await pair("agents", "agents", "坐席");
});

await step("an agent is added and another one's capacity raised; a bad id is refused inline", async () => {
  const p = panel(en, "agents");
  await en.getByTestId("agent-add").click();
  let form = p.getByTestId("agent-form");
  await form.getByTestId("agent-id").fill("Carol Smith");
  await form.getByTestId("agent-save").click();
  await inlineError(form, "lower-case letters");
  await shot(en, "agent-bad-id-refused", "en");
  await zh.getByTestId("agent-add").click();
  await panel(zh, "agents").getByTestId("agent-id").fill("Carol Smith");
  await panel(zh, "agents").getByTestId("agent-save").click();
  await inlineError(panel(zh, "agents"), "未保存");
  await shot(zh, "agent-bad-id-refused", "zh", true);
  await form.getByTestId("agent-id").fill("carol");
  await form.getByTestId("agent-name").fill("Carol");
  await form.getByTestId("agent-group-support").check();
  await form.getByTestId("agent-skills").fill("refunds, 中文");
  await form.getByTestId("agent-capacity-input").fill("3");
  await form.getByTestId("agent-save").click();
  await row(en, "agent-row", "data-agent", "carol").filter({ hasText: "refunds, 中文" }).waitFor();
  await row(en, "agent-row", "data-agent", "carol").getByTestId("agent-signin").filter({ hasText: "no sign-in" }).waitFor();
  await row(en, "agent-row", "data-agent", "alice").getByTestId("agent-edit").click();
  form = p.getByTestId("agent-form");
  await form.getByTestId("agent-capacity-input").fill("4");
  await form.getByTestId("agent-max-capacity").fill("6");
  await form.getByTestId("agent-save").click();
  await row(en, "agent-row", "data-agent", "alice").getByTestId("agent-capacity").filter({ hasText: "4 (≤ 6)" }).waitFor();
  await pair("agent-added-and-edited", "agents", "Carol");
});

await step("a group is added and the support group's skills changed", async () => {
  await tab(en, "groups");
  const p = panel(en, "groups");
  await en.getByTestId("group-add").click();
  const form = p.getByTestId("group-form");
  await form.getByTestId("group-id").fill("vip");
  await form.getByTestId("group-name").fill("VIP desk");
  await form.getByTestId("group-skills-input").fill("vip, billing");
  await form.getByTestId("group-save").click();
  await row(en, "group-row", "data-group", "vip").getByTestId("group-skills").filter({ hasText: "vip" }).waitFor();
  await row(en, "group-row", "data-group", "support").getByTestId("group-edit").click();
  await p.getByTestId("group-form").getByTestId("group-skills-input").fill("general, returns");
  await p.getByTestId("group-form").getByTestId("group-save").click();
  await row(en, "group-row", "data-group", "support").getByTestId("group-skills").filter({ hasText: "returns" }).waitFor();
  await pair("groups", "groups", "技能组");
});

await step("business hours: the billing group works weekdays and Saturday mornings, closed on a holiday", async () => {
  await row(en, "group-row", "data-group", "billing").getByTestId("group-hours-edit").click();
  await en.locator('[data-testid="panel-hours"][data-ready="1"]').waitFor();
  const p = panel(en, "hours");
  await p.getByTestId("hours-none").waitFor();
  await p.getByTestId("hours-set").click();
  await p.getByTestId("hours-timezone").fill("Asia/Shanghai");
  await p.getByTestId("hours-add").click();
  const second = p.getByTestId("hours-row").nth(1);
  for (const d of ["1", "2", "3", "4", "5"]) await second.locator(`label:has([data-testid="day-${d}"])`).click(); // weekdays off
  await second.locator('label:has([data-testid="day-6"])').click(); // Saturday on
  await second.getByTestId("hours-start").fill("10:00");
  await second.getByTestId("hours-end").fill("25:00");
  await p.getByTestId("holiday-add").click();
  await p.getByTestId("holiday-date").fill("2026-10-01");
  await p.getByTestId("holiday-name").fill("National Day");
  await p.getByTestId("hours-save").click();
  await inlineError(p, "25:00");
  await shot(en, "hours-refused", "en");
  await tab(zh, "hours");
  await zh.getByTestId("hours-group").selectOption("billing");
  await zh.getByTestId("hours-set").click();
  await zh.getByTestId("hours-end").first().fill("25:00");
  await zh.getByTestId("hours-save").click();
  await inlineError(panel(zh, "hours"), "未保存");
  await shot(zh, "hours-refused", "zh", true);
  await second.getByTestId("hours-end").fill("14:00");
  await p.getByTestId("hours-save").click();
  await saved(p);
  await pair("business-hours", "hours", "营业时段");
  // the groups tab sums them up, and editing the group's name keeps them (PUT replaces the group)
  await tab(en, "groups");
  await row(en, "group-row", "data-group", "billing").getByTestId("group-edit").click();
  await panel(en, "groups").getByTestId("group-form").getByTestId("group-name").fill("Billing & refunds");
  await panel(en, "groups").getByTestId("group-form").getByTestId("group-save").click();
  await row(en, "group-row", "data-group", "billing").filter({ hasText: "Billing & refunds" }).getByTestId("group-hours")
    .filter({ hasText: "Asia/Shanghai · Mon–Fri 09:00–18:00 · Sat 10:00–14:00 · 1 holiday" }).waitFor();
  await pair("groups-with-hours", "groups", "Asia/Shanghai");
});

await step("sign-ins: a new agent's sign-in, a role change, a disabled account, a new password", async () => {
  await tab(en, "staff");
  const p = panel(en, "staff");
  const own = row(en, "staff-row", "data-subject", adminUser);
  if (!(await own.getByTestId("staff-role").isDisabled()) || !(await own.getByTestId("staff-disable").isDisabled())) {
    throw new Error("the administrator's own role and disable controls are not disabled");
  }
  await en.getByTestId("staff-add").click();
  const form = p.getByTestId("staff-form");
  await form.getByTestId("staff-subject").fill("carol");
  await form.getByTestId("staff-new-role").selectOption("agent");
  await form.getByTestId("staff-new-password").fill("short");
  await form.getByTestId("staff-create").click();
  await inlineError(form, "10 to 72 bytes");
  await form.getByTestId("staff-new-password").fill("carol-password-1");
  await form.getByTestId("staff-create").click();
  const carol = row(en, "staff-row", "data-subject", "carol");
  await carol.getByTestId("staff-state").filter({ hasText: "enabled" }).waitFor();
  // bob becomes a supervisor
  const bob = row(en, "staff-row", "data-subject", "bob");
  await bob.getByTestId("staff-role").selectOption("supervisor");
  await bob.getByTestId("staff-save-role").click();
  await confirm(en, "Make bob supervisor?", true);
  await en.locator('[data-testid="staff-row"][data-subject="bob"][data-role="supervisor"]').waitFor();
  // carol is disabled: her sign-in to the console is refused
  await carol.getByTestId("staff-disable").click();
  await confirm(en, "Disable carol?", true);
  await carol.getByTestId("staff-state").filter({ hasText: "disabled" }).waitFor();
  await pair("signins-disabled", "staff", "已停用");
  const c = await newPage({ width: 1000, height: 700 }, "en-US");
  await signIn(c, "/ui/console/", "carol", "carol-password-1");
  await c.getByTestId("signin-error").filter({ hasText: "this sign-in is disabled" }).waitFor();
  await shot(c, "disabled-signin-refused", "en");
  const cZh = await newPage({ width: 1000, height: 700 }, "zh-CN");
  await signIn(cZh, "/ui/console/", "carol", "carol-password-1");
  await cZh.getByTestId("signin-error").filter({ hasText: "this sign-in is disabled" }).waitFor();
  await shot(cZh, "disabled-signin-refused", "zh", true);
  await cZh.context().close();
  // enabled again, with a new password: the old one is refused, the new one works
  await carol.getByTestId("staff-enable").click();
  await carol.getByTestId("staff-state").filter({ hasText: "enabled" }).waitFor();
  await carol.getByTestId("staff-password").fill("carol-password-2");
  await carol.getByTestId("staff-set-password").click();
  await saved(carol);
  await signIn(c, "/ui/console/", "carol", "carol-password-1");
  await c.getByTestId("signin-error").filter({ hasText: "wrong user name or password" }).waitFor();
  await signIn(c, "/ui/console/", "carol", "carol-password-2");
  await c.getByTestId("me").filter({ hasText: "carol" }).waitFor();
  await c.context().close();
  // the agents tab shows her sign-in now
  await tab(en, "agents");
  await row(en, "agent-row", "data-agent", "carol").getByTestId("agent-signin").filter({ hasText: "agent" }).waitFor();
  await tab(en, "staff");
  await pair("signins-and-roles", "staff", "登录账号与角色");
});

await step("routing weights: saved, and all zero refused", async () => {
  await tab(en, "routing");
  const p = panel(en, "routing");
  for (const k of ["vip", "skill", "load", "wait"]) await p.getByTestId("weight-" + k).fill("0");
  await p.getByTestId("save-weights").click();
  await inlineError(p, "positive sum");
  await p.getByTestId("weight-skill").fill("0.5");
  await p.getByTestId("weight-load").fill("0.3");
  await p.getByTestId("weight-vip").fill("0.1");
  await p.getByTestId("weight-wait").fill("0.1");
  await p.getByTestId("save-weights").click();
  await saved(p);
  await pair("routing-weights", "routing", "技能匹配");
});

await step("quality rules: a typo is refused with the line it is on; the billing group's own greetings are saved", async () => {
  await tab(en, "quality");
  const p = panel(en, "quality");
  await p.getByTestId("rules-source").filter({ hasText: "built-in" }).waitFor();
  await p.getByTestId("rules-yaml").fill("groups:\n  billing:\n    greting: {en: [dear]}\n");
  await p.getByTestId("save-rules").click();
  await inlineError(p, "greting");
  await p.getByTestId("rules-yaml").fill("groups:\n  billing:\n    greeting: {en: [dear, hello], zh: [尊敬的, 您好]}\n    weights: {missing_greeting: 20}\n");
  await p.getByTestId("save-rules").click();
  await saved(p);
  await p.getByTestId("rules-source").filter({ hasText: "version 1" }).waitFor();
  await p.getByTestId("rules-built-in").locator("summary").click();
  await p.getByTestId("rules-built-in").filter({ hasText: "missing_closing" }).waitFor();
  await pair("quality-rules", "quality", "质检规则");
});

await step("SLA policies: an urgent ticket's first response within 20 minutes; a resolution before it is refused", async () => {
  await tab(en, "sla");
  const urgent = row(en, "sla-row", "data-priority", "urgent");
  await urgent.getByTestId("sla-first").fill("20");
  await urgent.getByTestId("sla-resolution").fill("10");
  await urgent.getByTestId("sla-save").click();
  await inlineError(urgent, "resolution_minutes must be");
  await urgent.getByTestId("sla-resolution").fill("240");
  await urgent.getByTestId("sla-save").click();
  await saved(urgent);
  await urgent.filter({ hasText: "20 min" }).filter({ hasText: "4 h" }).waitFor();
  await pair("sla-policies", "sla", "首次响应");
});

await step("canned responses: a shared one is added with a variable, edited and another deleted", async () => {
  await tab(en, "canned");
  const p = panel(en, "canned");
  for (const [shortcut, lang, body] of [["refund", "en", "Hello "], ["bye", "", "Goodbye!"]]) {
    await en.getByTestId("canned-add").click();
    const form = p.getByTestId("canned-form");
    await form.getByTestId("canned-shortcut").fill(shortcut);
    await form.getByTestId("canned-lang").selectOption(lang);
    await form.getByTestId("canned-body").fill(body);
    if (shortcut === "refund") {
      await form.getByTestId("canned-var").filter({ hasText: "customer.name" }).click();
      await form.getByTestId("canned-body").press("End");
      await form.getByTestId("canned-body").pressSequentially(", your refund is on its way.");
    }
    await form.getByTestId("canned-save").click();
    await row(en, "canned-row", "data-shortcut", shortcut).waitFor();
  }
  await row(en, "canned-row", "data-shortcut", "refund").filter({ hasText: "Hello {{customer.name}}, your refund is on its way." }).waitFor();
  await row(en, "canned-row", "data-shortcut", "refund").getByTestId("canned-edit").click();
  await p.getByTestId("canned-form").getByTestId("canned-title").fill("Refund on its way");
  await p.getByTestId("canned-form").getByTestId("canned-save").click();
  await row(en, "canned-row", "data-shortcut", "refund").filter({ hasText: "Refund on its way" }).waitFor();
  await row(en, "canned-row", "data-shortcut", "bye").getByTestId("canned-delete").click();
  await confirm(en, "Delete the shared response /bye?", true);
  await row(en, "canned-row", "data-shortcut", "bye").waitFor({ state: "detached" });
  await pair("canned-responses", "canned", "快捷回复");
});

await step("knowledge base: an upload shows its progress and the documents list it", async () => {
  await tab(en, "kb");
  const p = panel(en, "kb");
  await p.getByTestId("kb-generation").filter({ hasText: "1" }).waitFor();
  await row(en, "kb-doc", "data-name", "faq.csv").waitFor();
  let rows = "question,answer\nDo you ship abroad?,We ship to 30 countries; delivery takes 5 to 10 days.\n";
  for (let i = 0; i < 2000; i++) rows += `What does item ${i} cost?,Item ${i} costs ${i} yuan.\n`; // enough to watch it go
  const file = { name: "shipping.csv", mimeType: "text/csv", buffer: Buffer.from(rows) };
  await p.getByTestId("kb-files").setInputFiles(file);
  await p.getByTestId("kb-chosen").filter({ hasText: "shipping.csv" }).waitFor();
  await p.getByTestId("kb-upload").click();
  await p.getByTestId("kb-progress-text").filter({ hasText: /Uploading|Ingesting|Done/ }).waitFor();
  await shot(en, "kb-upload-progress", "en");
  await p.locator('[data-testid="kb-progress"][data-state="done"]').waitFor();
  await p.getByTestId("kb-progress-text").filter({ hasText: "Done: 4002 added" }).waitFor();
  await row(en, "kb-doc", "data-name", "shipping.csv").getByTestId("kb-doc-chunks").filter({ hasText: "4002" }).waitFor();
  await p.getByTestId("kb-generation").filter({ hasText: "2" }).waitFor();
  // the same file again, in Chinese: nothing changes, no new generation
  await tab(zh, "kb");
  const q = panel(zh, "kb");
  await q.getByTestId("kb-files").setInputFiles(file);
  await q.getByTestId("kb-upload").click();
  await q.getByTestId("kb-progress-text").filter({ hasText: "完成：没有变化" }).waitFor();
  await q.getByTestId("kb-generation").filter({ hasText: "2" }).waitFor();
  await shot(zh, "kb-upload-progress", "zh", true);
  await pair("kb-uploaded", "kb", "知识库");
});

await step("knowledge base: try a question, one it cannot answer, and one with a phone number", async () => {
  const p = panel(en, "kb");
  await p.getByTestId("kb-question").fill("Do you ship abroad?");
  await p.getByTestId("kb-ask").click();
  await p.getByTestId("kb-answer").filter({ hasText: "We ship to 30 countries" }).waitFor();
  await p.getByTestId("kb-verdict").filter({ hasText: "The bot would answer" }).waitFor();
  await p.getByTestId("kb-citations").filter({ hasText: "shipping.csv" }).waitFor();
  await shot(en, "kb-try-a-question", "en");
  // in Chinese, a Chinese question
  await tab(zh, "kb");
  await panel(zh, "kb").getByTestId("kb-question").fill("退款多久到账？");
  await panel(zh, "kb").getByTestId("kb-ask").click();
  await panel(zh, "kb").getByTestId("kb-answer").filter({ hasText: "5个工作日" }).waitFor();
  await panel(zh, "kb").getByTestId("kb-verdict").filter({ hasText: "机器人会这样回答" }).waitFor();
  await shot(zh, "kb-try-a-question", "zh", true);
  await p.getByTestId("kb-question").fill("Can I bring my parrot to the opera? Call me on 13812345678");
  await p.getByTestId("kb-ask").click();
  await p.locator('[data-testid="kb-answer"][data-escalates="true"]').waitFor();
  await p.getByTestId("kb-redacted").filter({ hasText: "[PHONE" }).waitFor();
  if ((await p.getByTestId("kb-redacted").innerText()).includes("13812345678")) throw new Error("the asked question shows the phone number");
  await readable(en, "panel-kb");
  await shot(en, "kb-hands-over-redacted", "en");
  await panel(zh, "kb").getByTestId("kb-question").fill("我能带鹦鹉去听歌剧吗？电话 13812345678");
  await panel(zh, "kb").getByTestId("kb-ask").click();
  await panel(zh, "kb").locator('[data-testid="kb-answer"][data-escalates="true"]').getByTestId("kb-verdict").filter({ hasText: "转给人工" }).waitFor();
  await shot(zh, "kb-hands-over-redacted", "zh", true);
});

await step("knowledge base: the uploaded document is deleted, and the bot no longer answers from it", async () => {
  const p = panel(en, "kb");
  await row(en, "kb-doc", "data-name", "shipping.csv").getByTestId("kb-delete").click();
  await confirm(en, "Delete shipping.csv from the knowledge base?", true);
  await p.getByTestId("kb-deleted").filter({ hasText: "Deleted shipping.csv (4002 passages). Generation 3." }).waitFor();
  await row(en, "kb-doc", "data-name", "shipping.csv").waitFor({ state: "detached" });
  await p.getByTestId("kb-generation").filter({ hasText: "3" }).waitFor();
  await p.getByTestId("kb-question").fill("Do you ship abroad?");
  await p.getByTestId("kb-ask").click();
  await p.locator('[data-testid="kb-answer"][data-escalates="true"]').waitFor();
  await pair("kb-deleted", "kb", "文档数");
});

await step("models: promote the older version, canary the newer one, end the canary", async () => {
  await tab(en, "models");
  const p = panel(en, "models");
  const version = (v) => p.locator(`[data-testid="model-version"][data-model="imagenet"][data-version="${v}"]`);
  await version("2").getByTestId("model-roles").filter({ hasText: "active" }).waitFor();
  await version("1").getByTestId("model-promote").click();
  await confirm(en, "Make version 1 of imagenet the active one?", true);
  await version("1").getByTestId("model-roles").filter({ hasText: "active" }).waitFor();
  await version("2").getByTestId("canary-percent").fill("25");
  await version("2").getByTestId("model-canary").click();
  await version("2").getByTestId("model-roles").filter({ hasText: "canary 25%" }).waitFor();
  await pair("models-canary", "models", "灰度");
  await p.getByTestId("model-stop-canary").click();
  await version("2").getByTestId("model-roles").filter({ hasText: "canary" }).waitFor({ state: "detached" });
});

await step("a supervisor reaches the admin page from the supervisor view; sign-ins and model changes but the rollback are not theirs", async () => {
  const sup = await newPage({ width: 1360, height: 900 }, "en-US");
  const supZh = await newPage({ width: 1360, height: 900 }, "en-US");
  await signIn(sup, "/ui/supervisor/", supUser, supPass);
  await sup.getByTestId("to-admin").click();
  await sup.locator('[data-testid="panel-agents"][data-ready="1"]').waitFor();
  await signIn(supZh, "/ui/admin/?lang=zh", supUser, supPass); // ?lang= wins over the browser's language
  await supZh.locator('[data-testid="panel-agents"][data-ready="1"]').waitFor();
  // sign-ins: a note, no table
  await tab(sup, "staff");
  await sup.getByTestId("staff-note").filter({ hasText: "Only administrators keep sign-ins" }).waitFor();
  if (await sup.getByTestId("staff-table").count()) throw new Error("a supervisor sees the sign-ins");
  await shot(sup, "supervisor-signins-note", "en");
  await tab(supZh, "staff");
  await supZh.getByTestId("staff-note").filter({ hasText: "只有管理员" }).waitFor();
  await shot(supZh, "supervisor-signins-note", "zh", true);
  // models: a note, no promote or canary, and the rollback
  await tab(sup, "models");
  await sup.getByTestId("models-note").filter({ hasText: "you may roll a model back" }).waitFor();
  if (await sup.getByTestId("model-promote").count() || await sup.getByTestId("model-canary").count()) throw new Error("a supervisor is offered promote or canary");
  await sup.getByTestId("model-rollback").click();
  await confirm(sup, "Roll imagenet back from version 1 to the one that served before it?", true);
  await sup.getByTestId("model-changed").filter({ hasText: "imagenet now answers with version 2." }).waitFor();
  const v2 = (page) => page.locator('[data-testid="model-version"][data-model="imagenet"][data-version="2"]').getByTestId("model-roles");
  await v2(sup).filter({ hasText: "active" }).waitFor();
  await shot(sup, "supervisor-rolled-back", "en");
  await tab(supZh, "models");
  await supZh.getByTestId("models-note").filter({ hasText: "您可以回滚模型" }).waitFor();
  await v2(supZh).filter({ hasText: "当前" }).waitFor();
  await shot(supZh, "supervisor-rolled-back", "zh", true);
  // the knowledge base is theirs
  await tab(sup, "kb");
  await sup.getByTestId("kb-question").fill("How do I reset my password?");
  await sup.getByTestId("kb-ask").click();
  await sup.getByTestId("kb-answer").filter({ hasText: "Forgot password" }).waitFor();
  await shot(sup, "supervisor-kb", "en");
  await tab(supZh, "kb");
  await supZh.getByTestId("kb-question").fill("退款多久到账？");
  await supZh.getByTestId("kb-ask").click();
  await supZh.getByTestId("kb-answer").filter({ hasText: "5个工作日" }).waitFor();
  await shot(supZh, "supervisor-kb", "zh", true);
  await sup.context().close();
  await supZh.context().close();
});

await step("on a phone: the tabs wrap, tables stack and nothing is wider than the screen", async () => {
  const phones = { en: await newPage({ width: 390, height: 844 }, "en-US"), zh: await newPage({ width: 390, height: 844 }, "zh-CN") };
  for (const phone of Object.values(phones)) {
    await signIn(phone, "/ui/admin/#hours", adminUser, adminPass);
    await phone.locator('[data-testid="panel-hours"][data-ready="1"]').waitFor();
  }
  for (const id of ["hours", "agents", "staff", "kb", "models"]) {
    for (const [l, phone] of Object.entries(phones)) {
      if (id === "hours") {
        await phone.getByTestId("hours-group").selectOption("billing");
        await phone.locator('[data-testid="panel-hours"][data-ready="1"]').getByTestId("hours-row").first().waitFor();
      } else {
        await tab(phone, id);
      }
      const width = await phone.evaluate(() => document.documentElement.scrollWidth);
      if (width > 392) throw new Error(id + " is " + width + " px wide on a 390 px phone (" + l + ")");
      await shot(phone, "phone-" + id, l, l === "zh");
    }
  }
});

await browser.close();
if (nativeDialogs.length || pageErrors.length) {
  console.error("FAILED: native dialogs " + JSON.stringify(nativeDialogs) + ", page errors " + JSON.stringify(pageErrors));
  process.exit(1);
}
console.log("admin page: all steps passed");
