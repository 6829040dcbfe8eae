// The system on the other side of Switchboard's generic webhook channel, as the browser
// test (flow.mjs) plays it: it posts a customer's messages signed with the shared secret,
// and takes Switchboard's replies at its callback, checking their signature. Its callback
// can go down (the port closed) and come back, so that a reply fails and is sent again.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { until } from "./harness.mjs";

// sign is the value of X-Switchboard-Signature for body at ts (unix seconds).
const sign = (secret, ts, body) => "sha256=" + createHmac("sha256", secret).update(ts + "." + body).digest("hex");

function signedBy(secret, req, body) {
  const want = Buffer.from(sign(secret, req.headers["x-switchboard-timestamp"] || "", body));
  const got = Buffer.from(String(req.headers["x-switchboard-signature"] || ""));
  return want.length === got.length && timingSafeEqual(want, got);
}

// webhookPeer is the system at callback ("host:port"), sharing secret with Switchboard.
// replies holds what reached the callback: { customer_id, text }; refused counts replies
// whose signature did not match (answered 401).
export function webhookPeer(callback, secret) {
  const [host, port] = [callback.slice(0, callback.lastIndexOf(":")), Number(callback.slice(callback.lastIndexOf(":") + 1))];
  const peer = { replies: [], refused: 0, server: null };

  const take = (req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      if (!signedBy(secret, req, body)) {
        peer.refused++;
        res.writeHead(401).end();
        return;
      }
      try { peer.replies.push(JSON.parse(body)); } catch (e) { peer.refused++; }
      res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    });
  };

  // up opens the callback; down closes it and every connection to it, so that the
  // next send finds the port closed.
  peer.up = () => new Promise((resolve, reject) => {
    peer.server = createServer(take);
    peer.server.once("error", reject);
    peer.server.listen(port, host, resolve);
  });
  peer.down = () => new Promise((resolve) => {
    const s = peer.server;
    if (!s) return resolve();
    peer.server = null;
    s.close(() => resolve());
    s.closeAllConnections();
  });

  // post sends one customer message to Switchboard's webhook, signed; it returns the
  // answer's body (202: { conversation_id, duplicate }).
  peer.post = async (base, message) => {
    const body = JSON.stringify(message), ts = Math.floor(Date.now() / 1000);
    const r = await fetch(base + "/v1/channels/webhook", { method: "POST", body,
      headers: { "Content-Type": "application/json", "X-Switchboard-Timestamp": String(ts), "X-Switchboard-Signature": sign(secret, ts, body) } });
    const data = await r.json().catch(() => ({}));
    if (r.status !== 202) throw new Error("webhook: " + r.status + " " + JSON.stringify(data));
    return data;
  };

  // received waits for a reply to customer whose text includes text, and returns it.
  peer.received = async (customer, text, timeout) => {
    const match = () => peer.replies.find((r) => r.customer_id === customer && r.text.includes(text));
    await until(match, "no reply to " + customer + " with " + JSON.stringify(text) + " reached the callback; it got " +
      JSON.stringify(peer.replies) + (peer.refused ? " and refused " + peer.refused + " unsigned" : ""), timeout);
    return match();
  };
  return peer;
}
