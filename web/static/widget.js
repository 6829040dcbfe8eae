// Switchboard chat widget. A website embeds it with one script tag:
//
//   <script src="https://switchboard.example.com/ui/widget.js" data-lang="zh" async></script>
//
// Optional attributes: data-token (a customer JWT the site signed for its signed-in
// customer; without one the widget asks POST /v1/chat/session for an anonymous one),
// data-lang ("en" or "zh"; default: the browser's language), data-open ("true": start
// opened), data-title. The widget lives in a shadow root, so the site's CSS does not
// reach it. It talks to the server the script came from: web chat over WebSocket (live,
// resumed from the last sequence number after a reconnect), photos and voice notes over
// REST. The server keeps only the redacted text of what a customer writes ("my phone is
// [PHONE_1]"); the customer's own bubbles show what they typed, which the widget holds in
// memory for this page (never in storage). Staff appear by their display name. While the
// customer types, the agent holding their ticket is told (a "typing" frame, at most one
// every two seconds); while an agent types, the widget says so for a few seconds. Files
// and images an agent sends arrive as messages with an attachment: images show inline,
// other files as a download, both fetched with the customer's token.
(function () {
  "use strict";
  const script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  const base = new URL(script.src, location.href).origin;
  const wsBase = base.replace(/^http/, "ws");
  const attr = (n) => script.getAttribute("data-" + n);
  const lang = (attr("lang") || navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
  const T = {
    en: { title: "Customer service", placeholder: "Type your message…", send: "Send", human: "Talk to a human",
      humanText: "I want to talk to a human", photo: "Photo", voice: "Voice", stop: "Stop", sources: "Sources",
      connecting: "Connecting…", online: "Online", offline: "Reconnecting…", you: "You", bot: "Bot", agent: "Agent",
      recording: "Recording… press Stop to send", noMic: "No microphone available", failed: "Could not send: ",
      transcribing: "Transcribing your voice message…", open: "Chat with us", close: "Close",
      newSession: "Your chat session ended; a new one has started.", expired: "Your chat session ended. Reload the page to continue.",
      rate: "Rate %d of 5", typing: "%s is typing…", agentTyping: "The agent is typing…",
      download: "Download", fileFailed: "Could not load the file: " },
    zh: { title: "在线客服", placeholder: "请输入您的问题…", send: "发送", human: "转人工",
      humanText: "我要转人工", photo: "图片", voice: "语音", stop: "停止", sources: "参考来源",
      connecting: "连接中…", online: "在线", offline: "正在重新连接…", you: "我", bot: "机器人", agent: "客服",
      recording: "正在录音…按“停止”发送", noMic: "没有可用的麦克风", failed: "发送失败：",
      transcribing: "正在识别您的语音…", open: "联系客服", close: "关闭",
      newSession: "会话已结束，已为您开始新的会话。", expired: "会话已结束，请刷新页面后继续。",
      rate: "评 %d 分（满分 5 分）", typing: "%s 正在输入…", agentTyping: "客服正在输入…",
      download: "下载", fileFailed: "文件加载失败：" },
  }[lang];

  const store = {
    get: (k) => { try { return localStorage.getItem("switchboard." + k); } catch (e) { return null; } },
    set: (k, v) => { try { localStorage.setItem("switchboard." + k, v); } catch (e) { /* private mode */ } },
  };

  const host = document.createElement("div");
  host.id = "switchboard-chat";
  document.body.appendChild(host);
  const root = host.attachShadow({ mode: "open" });
  root.innerHTML = `
<style>
  :host { all: initial; }
  * { box-sizing: border-box; font-family: system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif; }
  .bubble { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; border: 0; border-radius: 24px;
    padding: 12px 18px; background: #2456d6; color: #fff; font-size: 15px; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); }
  .panel { position: fixed; right: 20px; bottom: 20px; z-index: 2147483001; width: 380px; height: 560px; max-height: calc(100vh - 40px);
    display: none; flex-direction: column; background: #fff; border-radius: 12px; box-shadow: 0 8px 30px rgba(0,0,0,.3); overflow: hidden; }
  .panel.open { display: flex; }
  @media (max-width: 480px) { .panel { right: 0; bottom: 0; width: 100vw; height: 100vh; max-height: 100vh; border-radius: 0; } }
  header { background: #2456d6; color: #fff; padding: 10px 14px; display: flex; align-items: center; gap: 8px; }
  header h2 { font-size: 16px; margin: 0; flex: 1; }
  header .state { font-size: 12px; opacity: .85; }
  header button { background: transparent; color: #fff; border: 0; font-size: 20px; cursor: pointer; }
  .log { flex: 1; overflow-y: auto; padding: 12px; background: #f4f6fb; }
  .msg { max-width: 85%; margin: 6px 0; padding: 8px 11px; border-radius: 10px; font-size: 14px; line-height: 1.4; white-space: pre-wrap; word-wrap: break-word; }
  .msg.customer { margin-left: auto; background: #2456d6; color: #fff; }
  .msg.bot { background: #fff; border: 1px solid #dde3f0; }
  .msg.bot.draft { opacity: .75; }
  .msg.agent { background: #e8f6ec; border: 1px solid #bfe5c9; }
  .msg.system, .note { color: #666; font-size: 12px; text-align: center; background: none; margin: 6px auto; }
  .msg img.attachment { display: block; max-width: 100%; max-height: 220px; margin-top: 4px; border-radius: 6px; background: #fff; }
  .msg a.attachment { display: inline-flex; align-items: center; gap: 6px; margin-top: 4px; color: #1d4fb8; font-weight: 600; text-decoration: none; word-break: break-all; }
  .msg a.attachment .ext { flex: none; border: 1px solid #9fb3e0; border-radius: 4px; padding: 1px 4px; font-size: 10px; font-weight: 700; color: #2456d6; background: #fff; }
  .msg a.attachment:hover, .msg a.attachment:focus-visible { text-decoration: underline; }
  .msg .size { color: #667; font-size: 12px; margin-left: 6px; }
  .typing { min-height: 18px; padding: 0 14px 2px; font-size: 12px; color: #667; font-style: italic; background: #f4f6fb; }
  .stars { margin-top: 4px; }
  .stars button { background: none; border: none; font-size: 22px; color: #c7cbd6; cursor: pointer; padding: 0 2px; }
  .stars button.on, .stars button:focus-visible { color: #f5a623; }
  .who { display: block; font-size: 11px; opacity: .7; margin-bottom: 2px; }
  .cites { margin-top: 6px; font-size: 12px; border-top: 1px solid #e5e9f2; padding-top: 4px; }
  .cites li { margin-left: 16px; }
  .tools { display: flex; gap: 6px; padding: 6px 10px 0; }
  .tools button { flex: 1; border: 1px solid #c9d3ea; background: #fff; border-radius: 6px; padding: 6px; font-size: 13px; cursor: pointer; }
  .tools button.rec { background: #d62445; color: #fff; }
  form { display: flex; gap: 6px; padding: 8px 10px 10px; }
  textarea { flex: 1; resize: none; height: 40px; border: 1px solid #c9d3ea; border-radius: 6px; padding: 8px; font-size: 14px; }
  form button { border: 0; background: #2456d6; color: #fff; border-radius: 6px; padding: 0 14px; font-size: 14px; cursor: pointer; }
</style>
<button class="bubble" part="bubble" data-testid="open">${T.open}</button>
<section class="panel" role="dialog" aria-label="${T.title}">
  <header><h2>${attr("title") || T.title}</h2><span class="state" data-testid="state">${T.connecting}</span>
    <button class="close" aria-label="${T.close}" data-testid="close">×</button></header>
  <div class="log" data-testid="log" aria-live="polite"></div>
  <div class="typing" data-testid="typing" aria-live="polite"></div>
  <div class="tools">
    <button type="button" class="human" data-testid="human">${T.human}</button>
    <button type="button" class="photo" data-testid="photo">${T.photo}</button>
    <button type="button" class="voice" data-testid="voice">${T.voice}</button>
    <input type="file" accept="image/*" hidden data-testid="photo-input">
  </div>
  <form><textarea placeholder="${T.placeholder}" data-testid="input"></textarea><button data-testid="send">${T.send}</button></form>
</section>`;
  const $ = (sel) => root.querySelector(sel);
  const panel = $(".panel"), log = $(".log"), input = $("textarea"), state = $(".state"), typingLine = $(".typing");

  let token = attr("token") || store.get("token");
  let conv = store.get("conversation") || "";
  // A page load replays the conversation from the start; a reconnect asks for what came
  // after the last message shown.
  let last = 0;
  let ws = null, wsConv = "", retry = 0, opened = false;
  const shown = new Set();
  const pendingCites = [];
  // What the customer typed and sent, until the stored message it became arrives.
  const typed = [];

  // storedAs reports whether stored is text as the server stored it: the same words with
  // placeholders such as [PHONE_1] where it took personal data out.
  function storedAs(stored, text) {
    const esc = (x) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const parts = stored.trim().split(/\[[A-Z][A-Z_]*_\d+\]/).map(esc);
    return new RegExp("^" + parts.join("[\\s\\S]+?") + "$").test(text.trim());
  }

  // ownText is what the customer typed for a message of theirs the server stored as stored.
  function ownText(stored) {
    const i = typed.findIndex((x) => storedAs(stored, x));
    if (i < 0) return stored;
    const text = typed[i].trim();
    typed.splice(i, 1);
    return text;
  }

  function setConv(id) {
    if (id && id !== conv) { conv = id; store.set("conversation", id); }
  }

  function bubble(kind, text, who) {
    const div = document.createElement("div");
    div.className = "msg " + kind;
    if (who) {
      const w = document.createElement("span");
      w.className = "who";
      w.textContent = who;
      div.appendChild(w);
    }
    div.appendChild(document.createTextNode(text));
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function note(text) {
    const p = document.createElement("div");
    p.className = "note";
    p.textContent = text;
    log.appendChild(p);
    log.scrollTop = log.scrollHeight;
    return p;
  }

  function addCitations(div, cites) {
    if (!cites || !cites.length) return;
    const box = document.createElement("div");
    box.className = "cites";
    box.setAttribute("data-testid", "citations");
    box.appendChild(document.createTextNode(T.sources + ":"));
    const ul = document.createElement("ul");
    for (const c of cites.slice(0, 3)) {
      const li = document.createElement("li");
      li.textContent = c.title || c.source;
      ul.appendChild(li);
    }
    box.appendChild(ul);
    div.appendChild(box);
  }

  // Messages arrive as "message" frames in sequence order; the decision for the
  // customer's own message (with citations) as a "reply" frame or an HTTP response.
  function showMessage(m) {
    if (shown.has(m.seq)) return;
    shown.add(m.seq);
    if (m.seq > last) last = m.seq;
    setConv(m.conversation_id);
    wsConv = conv;
    const author = m.author || "";
    let kind = "system", who = "";
    let text = m.text;
    if (author === "customer") { kind = "customer"; who = T.you; text = ownText(m.text); }
    else if (author === "bot") { kind = "bot"; who = T.bot; }
    else if (author.startsWith("agent")) { kind = "agent"; who = m.author_name || T.agent; }
    if (kind === "bot") dropDrafts();
    if (kind === "customer") for (const r of log.querySelectorAll(".stars")) r.remove(); // answered, or passed over
    if (kind === "agent") showTyping(null);
    const div = m.attachment ? attachmentBubble(kind, m.attachment, who, m.conversation_id || conv) : bubble(kind, text, who);
    div.setAttribute("data-author", kind);
    if (author === "system:csat") addStars(div);
    if (kind === "bot") {
      const i = pendingCites.findIndex((p) => p.reply === m.text);
      if (i >= 0) { addCitations(div, pendingCites[i].citations); pendingCites.splice(i, 1); }
      else div.dataset.text = m.text;
    }
  }

  // attachmentBubble shows a file an agent sent: an image inline, anything else as a link
  // that downloads it. The content is fetched with the customer's token (an <img> or a
  // plain link could not send it) and shown from memory.
  function attachmentBubble(kind, a, who, inConv) {
    const div = bubble(kind, "", who);
    div.setAttribute("data-testid", "attachment");
    div.dataset.kind = a.kind;
    const url = base + "/v1/conversations/" + encodeURIComponent(inConv) + "/attachments/" + encodeURIComponent(a.id);
    const fetchBlob = async () => {
      const r = await fetch(url, { headers: { Authorization: "Bearer " + token } });
      if (!r.ok) throw new Error((await r.json().catch(() => ({}))).error || r.statusText);
      return URL.createObjectURL(await r.blob());
    };
    if (a.kind === "image") {
      const img = document.createElement("img");
      img.className = "attachment";
      img.alt = a.name;
      img.setAttribute("data-testid", "attachment-image");
      div.appendChild(img);
      fetchBlob().then((src) => { img.onload = () => { log.scrollTop = log.scrollHeight; }; img.src = src; })
        .catch((e) => { img.remove(); div.appendChild(document.createTextNode(T.fileFailed + e.message)); });
      return div;
    }
    const link = document.createElement("a");
    link.className = "attachment";
    link.href = "#";
    const ext = document.createElement("span");
    ext.className = "ext";
    ext.textContent = (a.name.match(/\.([a-z0-9]{1,5})$/i) || [, "FILE"])[1].toUpperCase();
    link.appendChild(ext);
    link.appendChild(document.createTextNode(a.name));
    link.title = T.download + " " + a.name;
    link.setAttribute("data-testid", "attachment-link");
    link.onclick = async (e) => {
      e.preventDefault();
      try {
        const href = await fetchBlob();
        const save = document.createElement("a");
        save.href = href; save.download = a.name;
        root.appendChild(save); save.click(); save.remove();
        setTimeout(() => URL.revokeObjectURL(href), 60000);
      } catch (err) { note(T.fileFailed + err.message); }
    };
    const size = document.createElement("span");
    size.className = "size";
    size.textContent = fileSize(a.size);
    div.appendChild(link);
    div.appendChild(size);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function fileSize(n) {
    if (n < 1000) return n + " B";
    if (n < 1000 * 1000) return Math.round(n / 1000) + " KB";
    return (n / 1000 / 1000).toFixed(1) + " MB";
  }

  // showTyping says that an agent (a "typing" frame) is writing, for a few seconds or
  // until their message arrives; showTyping(null) clears it.
  let typingTimer = 0;
  function showTyping(f) {
    clearTimeout(typingTimer);
    if (!f) { typingLine.textContent = ""; return; }
    typingLine.textContent = f.author_name ? T.typing.replace("%s", f.author_name) : T.agentTyping;
    typingTimer = setTimeout(() => { typingLine.textContent = ""; }, 5000);
  }

  // sayTyping tells the agent that the customer types: one frame at most every two seconds,
  // and only in a conversation (before one, nobody holds it).
  let typedAt = 0;
  function sayTyping() {
    if (!conv || !ws || ws.readyState !== WebSocket.OPEN || Date.now() - typedAt < 2000) return;
    typedAt = Date.now();
    ws.send(JSON.stringify({ type: "typing" }));
  }

  // addStars offers the rating the system message asks for: a star sends its number, the
  // way a customer on another channel would type it; the stars go once one is chosen.
  function addStars(div) {
    const row = document.createElement("div");
    row.className = "stars";
    row.setAttribute("data-testid", "csat-stars");
    for (let n = 1; n <= 5; n++) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "★";
      b.title = String(n);
      b.setAttribute("aria-label", T.rate.replace("%d", n));
      b.setAttribute("data-testid", "csat-" + n);
      b.addEventListener("mouseenter", () => row.querySelectorAll("button").forEach((x, i) => x.classList.toggle("on", i < n)));
      b.addEventListener("click", () => { row.remove(); sendText(String(n)); });
      row.appendChild(b);
    }
    row.addEventListener("mouseleave", () => row.querySelectorAll("button").forEach((x) => x.classList.remove("on")));
    div.appendChild(row);
  }

  // While a language model writes the bot's answer it arrives as "draft" frames (the
  // answer so far, for the customer's message message_id); the reply and the bot's
  // message replace it.
  const drafts = new Map();
  function showDraft(f) {
    let div = drafts.get(f.message_id);
    if (!div) {
      div = bubble("bot draft", "", T.bot);
      div.setAttribute("data-testid", "draft");
      drafts.set(f.message_id, div);
    }
    div.lastChild.textContent = f.text;
    log.scrollTop = log.scrollHeight;
  }

  function dropDrafts() {
    for (const div of drafts.values()) div.remove();
    drafts.clear();
  }

  function takeReply(rep) {
    dropDrafts();
    if (!rep) return;
    setConv(rep.conversation_id);
    if (rep.status === "transcribing") { note(T.transcribing); return; }
    if (!rep.citations || !rep.citations.length) return;
    // the bot's message may already be on screen
    for (const div of log.querySelectorAll('.msg.bot')) {
      if (div.dataset.text === rep.reply && !div.querySelector(".cites")) { addCitations(div, rep.citations); return; }
    }
    pendingCites.push(rep);
  }

  async function ensureToken() {
    if (token) return token;
    const r = await fetch(base + "/v1/chat/session", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    if (!r.ok) throw new Error((await r.json().catch(() => ({}))).error || r.statusText);
    token = (await r.json()).token;
    store.set("token", token);
    return token;
  }

  async function connect() {
    try { await ensureToken(); } catch (e) { state.textContent = T.offline; setTimeout(connect, 3000); return; }
    const q = new URLSearchParams({ access_token: token, after: String(last) });
    if (conv) q.set("conversation_id", conv);
    wsConv = conv;
    ws = new WebSocket(wsBase + "/v1/chat/ws?" + q);
    ws.onopen = () => { retry = 0; state.textContent = T.online; state.dataset.state = "online"; };
    ws.onmessage = (ev) => {
      let f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f.type === "message") showMessage(f);
      else if (f.type === "draft") showDraft(f);
      else if (f.type === "typing") showTyping(f);
      else if (f.type === "reply") takeReply(f.reply);
      else if (f.type === "error") note(T.failed + f.error);
    };
    ws.onclose = (ev) => {
      state.textContent = T.offline;
      state.dataset.state = "offline";
      // 4401: the token expired or was revoked. An anonymous visitor starts a new
      // session (the old conversation belongs to the old token); a site's token cannot
      // be renewed here.
      if (ev.code === 4401 || (ev.code === 1008 && /token|auth/i.test(ev.reason))) {
        if (attr("token")) { note(T.expired); return; }
        token = null; store.set("token", "");
        if (ev.code === 4401) { conv = ""; wsConv = ""; last = 0; store.set("conversation", ""); note(T.newSession).dataset.testid = "new-session"; }
      }
      setTimeout(connect, Math.min(500 * 2 ** retry++, 10000));
    };
  }

  // The customer's region, from the browser's language ("en-GB" → GB, "zh" → CN): the
  // server reads a phone number typed without a country code in its notation first.
  const region = (() => {
    try { return new Intl.Locale(navigator.language).maximize().region || ""; } catch { return ""; }
  })();

  function sendText(text) {
    text = text.trim();
    if (!text) return;
    const frame = { type: "message", text, message_id: crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random() };
    if (region) frame.region = region;
    typed.push(text);
    if (conv) frame.conversation_id = conv;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
    else postMedia({ text });
  }

  // Media go over REST (multipart); the answer also arrives on the socket.
  async function postMedia(fields, file, fileField, fileName) {
    try {
      await ensureToken();
      const fd = new FormData();
      for (const [k, v] of Object.entries(fields)) fd.append(k, v);
      if (region) fd.append("region", region);
      if (conv) fd.append("conversation_id", conv);
      if (file) fd.append(fileField, file, fileName);
      const r = await fetch(base + "/v1/messages", { method: "POST", headers: { Authorization: "Bearer " + token }, body: fd });
      const body = await r.json().catch(() => ({}));
      if (!r.ok) { note(T.failed + (body.error || r.statusText)); return; }
      takeReply(body);
      // A socket opened before the conversation existed does not follow it yet: reopen.
      if (ws && wsConv !== conv) ws.close();
    } catch (e) { note(T.failed + e.message); }
  }

  // Voice: MediaRecorder captures the microphone; the recording is decoded in the
  // browser and sent as 16 kHz mono WAV, which every engine takes.
  let recorder = null;
  async function toggleVoice(btn) {
    if (recorder) { recorder.stop(); return; }
    let stream;
    try { stream = await navigator.mediaDevices.getUserMedia({ audio: true }); } catch (e) { note(T.noMic); return; }
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    recorder.onstop = async () => {
      stream.getTracks().forEach((t) => t.stop());
      recorder = null;
      btn.classList.remove("rec");
      btn.textContent = T.voice;
      const blob = new Blob(chunks, { type: chunks[0] ? chunks[0].type : "audio/webm" });
      try {
        const wav = await toWav16k(await blob.arrayBuffer());
        await postMedia({}, new Blob([wav], { type: "audio/wav" }), "audio", "voice.wav");
      } catch (e) { note(T.failed + e.message); }
    };
    recorder.start();
    btn.classList.add("rec");
    btn.textContent = T.stop;
    note(T.recording);
  }

  async function toWav16k(buf) {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    const decoded = await ctx.decodeAudioData(buf);
    ctx.close();
    const rate = 16000;
    const off = new OfflineAudioContext(1, Math.max(1, Math.ceil(decoded.duration * rate)), rate);
    const src = off.createBufferSource();
    src.buffer = decoded;
    src.connect(off.destination);
    src.start();
    const pcm = (await off.startRendering()).getChannelData(0);
    const out = new DataView(new ArrayBuffer(44 + 2 * pcm.length));
    const str = (o, s) => { for (let i = 0; i < s.length; i++) out.setUint8(o + i, s.charCodeAt(i)); };
    str(0, "RIFF"); out.setUint32(4, 36 + 2 * pcm.length, true); str(8, "WAVE");
    str(12, "fmt "); out.setUint32(16, 16, true); out.setUint16(20, 1, true); out.setUint16(22, 1, true);
    out.setUint32(24, rate, true); out.setUint32(28, 2 * rate, true); out.setUint16(32, 2, true); out.setUint16(34, 16, true);
    str(36, "data"); out.setUint32(40, 2 * pcm.length, true);
    for (let i = 0; i < pcm.length; i++) out.setInt16(44 + 2 * i, Math.max(-1, Math.min(1, pcm[i])) * 0x7fff, true);
    return out.buffer;
  }

  function open() {
    panel.classList.add("open");
    $(".bubble").style.display = "none";
    if (!opened) { opened = true; connect(); }
    input.focus();
  }
  $(".bubble").onclick = open;
  $(".close").onclick = () => { panel.classList.remove("open"); $(".bubble").style.display = ""; };
  $("form").onsubmit = (e) => { e.preventDefault(); sendText(input.value); input.value = ""; };
  input.onkeydown = (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("form").requestSubmit(); } };
  input.oninput = () => { if (input.value.trim()) sayTyping(); };
  $(".human").onclick = () => sendText(T.humanText);
  $(".photo").onclick = () => $('input[type="file"]').click();
  $('input[type="file"]').onchange = (e) => {
    const f = e.target.files[0];
    if (f) postMedia({}, f, "image", f.name);
    e.target.value = "";
  };
  $(".voice").onclick = (e) => toggleVoice(e.currentTarget);
  if (attr("open") === "true") open();
  window.SwitchboardChat = { open, send: sendText };
})();
