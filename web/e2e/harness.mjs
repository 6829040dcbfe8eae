// Tools of the browser test (flow.mjs) for what a page alone cannot show: a proxied
// console socket, the pages' own confirmation dialog, readable text, a page's API reads
// held at will, and requests to the Go test that drives the script.
import { createInterface } from "node:readline";

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
  const api = (r) => r.resourceType() === "fetch" && new URL(r.url()).pathname.startsWith("/v1/");
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
      await until(() => [...open].every(isHeld), "the page's reads under way did not finish", 20000);
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
