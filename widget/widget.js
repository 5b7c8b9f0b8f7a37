/*
 * Parley chat widget: one <script> tag adds a launcher and a chat panel.
 *
 *   <script src="https://chat.example/widget.js" data-title="Chat with us" defer></script>
 *
 * data-server  where Parley runs (default: where this script came from)
 * data-title   the panel's heading (default "Chat with support")
 * data-side    "right" (default) or "left"
 *
 * Rendered in an open Shadow DOM so the host page's CSS cannot reach it.
 * Every string from the network is rendered as text, never as HTML.
 */
(() => {
  "use strict";

  const BUILD = "parley-widget/0.1.0";
  // Typing signals (docs/protocol.md §6.9): refreshed this often while typing, "stopped" after
  // this long without a keystroke.
  const TYPING_REFRESH_MS = 2000;
  const TYPING_IDLE_MS = 4000;
  const MAX_CHARS = 4000;
  // A heartbeat (and a ping to check the line) this often; idle after this long untouched.
  const HEARTBEAT_MS = 20000;
  const IDLE_MS = 60000;
  const script = document.currentScript;
  const data = (script && script.dataset) || {};
  const server = data.server || (script && script.src ? new URL(script.src).origin : location.origin);
  const settings = {
    server,
    socket: server.replace(/^http/, "ws") + "/ws/visitor",
    title: data.title || "Chat with support",
    side: data.side === "left" ? "left" : "right",
  };
  const storageKey = "parley:" + server;

  const STYLES = `
/* The page's rules can match the host element; only !important declarations from inside the
   shadow root outrank them (even the page's own !important ones), so the host is set here in full. */
:host { all: initial !important; position: fixed !important;
  bottom: 16px !important; z-index: 2147483000 !important; direction: ltr !important;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif !important; color: #1f2328 !important; }
:host([data-side="right"]) { right: 16px !important; } :host([data-side="left"]) { left: 16px !important; }
* { box-sizing: border-box; }
button, input, textarea { font: inherit; }
:focus-visible { outline: 3px solid #0b63ce; outline-offset: 2px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.launcher { display: flex; gap: 8px; align-items: center; border: 0; border-radius: 999px; padding: 12px 18px;
  background: #0b63ce; color: #fff; font-weight: 600; cursor: pointer; box-shadow: 0 4px 14px rgb(0 0 0 / .25); }
.launcher .badge { background: #fff; color: #0b63ce; border-radius: 999px; padding: 0 7px; font-size: 13px; }
.panel { position: absolute; bottom: 0; width: min(380px, calc(100vw - 32px)); height: min(600px, calc(100vh - 32px));
  display: flex; flex-direction: column; background: #fff; border-radius: 12px; overflow: hidden;
  box-shadow: 0 10px 40px rgb(0 0 0 / .3); }
:host([data-side="right"]) .panel { right: 0; } :host([data-side="left"]) .panel { left: 0; }
.panel[hidden], [hidden] { display: none !important; }
.panel:focus { outline: none; }
header { display: flex; align-items: center; gap: 8px; padding: 12px 14px; background: #0b63ce; color: #fff; }
header h2 { flex: 1; margin: 0; font-size: 16px; }
.status { font-size: 12px; opacity: .9; }
.close { border: 0; background: transparent; color: #fff; font-size: 22px; line-height: 1; cursor: pointer; padding: 2px 8px; border-radius: 6px; }
.body { flex: 1; overflow-y: auto; padding: 12px 14px; display: flex; flex-direction: column; gap: 10px; }
.gate h3 { margin: 4px 0 0; font-size: 16px; } .meta { margin: 0; color: #57606a; font-size: 13px; }
.policy-text { white-space: pre-wrap; overflow-wrap: anywhere; border: 1px solid #d0d7de; border-radius: 8px; padding: 10px;
  max-height: 260px; overflow-y: auto; background: #f6f8fa; font-size: 13px; margin: 8px 0; }
.agree { display: flex; gap: 8px; align-items: flex-start; margin: 8px 0; }
.agree input { width: 18px; height: 18px; margin-top: 2px; flex: none; }
.primary { border: 0; border-radius: 8px; padding: 10px 16px; background: #0b63ce; color: #fff; font-weight: 600; cursor: pointer; }
.primary:disabled { background: #8c959f; cursor: not-allowed; }
.log { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.msg { max-width: 85%; padding: 8px 12px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg.visitor { align-self: flex-end; background: #0b63ce; color: #fff; border-bottom-right-radius: 4px; }
.msg.agent { align-self: flex-start; background: #eaeef2; border-bottom-left-radius: 4px; }
.msg .who, .msg .state { display: block; font-size: 12px; opacity: .85; }
.msg.failed { background: #ffebe9; color: #82071e; }
.name { display: inline-block; max-width: 20em; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; vertical-align: bottom; }
.ctl { font-family: ui-monospace, monospace; font-size: .85em; }
.retry { margin-left: 4px; border: 1px solid #82071e; border-radius: 6px; padding: 1px 8px; background: #fff;
  color: #82071e; font-size: 12px; font-weight: 600; cursor: pointer; }
.system { align-self: center; text-align: center; color: #57606a; font-size: 13px; }
.system a { color: #0b63ce; }
.msg.visitor a { color: #fff; } .msg.agent a { color: #0550ae; }
.notice { border: 1px solid #d4a72c; background: #fff8c5; border-radius: 8px; padding: 10px 12px; }
.notice h3 { margin: 0 0 6px; font-size: 15px; }
.notice blockquote, .warning blockquote { margin: 8px 0; padding: 6px 10px; border-left: 3px solid #d4a72c; background: #fff; white-space: pre-wrap; }
.notice-text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0 0 8px; }
.barred { border-color: #cf222e; background: #ffebe9; }
.barred blockquote { border-left-color: #cf222e; }
.barred b { display: block; }
.warning { border: 1px solid #d4a72c; border-left-width: 4px; background: #fff8c5; border-radius: 8px; padding: 8px 12px; font-size: 14px; }
.warning h3 { margin: 0 0 4px; font-size: 14px; color: #7d4e00; }
.error { color: #82071e; font-size: 13px; }
form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #d0d7de; }
textarea { flex: 1; resize: none; height: 44px; border: 1px solid #8c959f; border-radius: 8px; padding: 8px; }
textarea:disabled { background: #f6f8fa; }
.banner { margin: 0; padding: 8px 14px; background: #ffebe9; color: #82071e; border-bottom: 1px solid #cf222e; font-size: 13px; font-weight: 600; }
.away { border: 1px solid #8c959f; border-radius: 8px; padding: 10px 12px; background: #f6f8fa; display: flex; flex-direction: column; gap: 6px; }
.away h3 { margin: 0; font-size: 15px; } .away p { margin: 0; font-size: 13px; }
.away input { border: 1px solid #8c959f; border-radius: 8px; padding: 8px; font-size: 16px; }
.away-note { margin: 0; padding: 8px 10px; border-radius: 8px; background: #f6f8fa; color: #1f2328; font-size: 13px; }
.rules:focus { outline: none; }
.rules h4 { margin: 8px 0 4px; font-size: 14px; }
.rules ol { margin: 0; padding-left: 1.6em; font-size: 14px; }
.full-policy summary { cursor: pointer; color: #0b63ce; font-weight: 600; padding: 4px 0; width: fit-content; }
.draft h4 { margin: 10px 0 4px; font-size: 14px; }
.draft p { margin: 0 0 6px; font-size: 13px; }
.draft textarea { width: 100%; height: auto; min-height: 64px; background: #fff; }
/* Faded, the time under a visitor's own message fell below 4.5:1 on the blue. */
.msg.visitor .state { opacity: 1; }
/* A phone: the panel takes the whole screen; inputs at 16 px, or iOS zooms in on focus; every
   target at least 24 px (WCAG 2.5.8). */
@media (max-width: 480px) {
  .panel { position: fixed; inset: 0; width: 100%; height: 100%; border-radius: 0; }
  input, textarea { font-size: 16px; }
  .agree input { width: 24px; height: 24px; margin-top: 0; }
  button, summary, .system a { min-height: 24px; min-width: 24px; }
  .system a { display: inline-block; line-height: 24px; }
}
.typing { min-height: 1.4em; margin: 0; padding: 0 14px 4px; color: #57606a; font-size: 13px; font-style: italic; }
.msg .seen { display: block; font-size: 12px; opacity: .85; }
.receipt-links { display: block; margin-top: 4px; font-size: 13px; }
.receipt-links a { display: inline-block; color: #0550ae; margin-right: 10px; }
@media (max-width: 480px) { .receipt-links a { min-height: 24px; line-height: 24px; } }
`;

  // Build DOM from data only: strings always become text nodes.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") el.className = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else if (value === true) el.setAttribute(key, "");
      else if (value !== false && value != null) el.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child != null) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  // Characters that hide or reorder text (bidi overrides and isolates, zero-width and control
  // characters), the set the evidence document shows as [U+XXXX] (parley/evidence/markup.py).
  const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b\u200c\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]/g;

  const control = (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}]`;

  // Text someone else wrote: its invisible characters shown as [U+XXXX], inside a <bdi> so its
  // direction cannot reorder what follows it.
  function said(text, attrs) {
    const parts = [];
    let from = 0;
    for (const m of text.matchAll(INVISIBLE)) {
      parts.push(text.slice(from, m.index), h("span", { class: "ctl" }, control(m[0])));
      from = m.index + 1;
    }
    parts.push(text.slice(from));
    return h("bdi", attrs, parts);
  }

  const LINK = /\bhttps?:\/\/[^\s<>"'\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]+/gi;

  // Someone's text with its http and https addresses as links that open in a new tab,
  // giving the page opened neither this window nor where it came from.
  function linked(text, attrs) {
    const parts = [];
    let from = 0;
    for (const m of text.matchAll(LINK)) {
      const shown = m[0].replace(/[.,;:!?)\]]+$/, "");
      let url = null;
      try { url = new URL(shown); } catch { continue; }
      if (url.protocol !== "http:" && url.protocol !== "https:") continue;
      parts.push(said(text.slice(from, m.index)),
        h("a", { href: url.href, target: "_blank", rel: "noopener noreferrer nofollow" }, said(shown)));
      from = m.index + shown.length;
    }
    parts.push(said(text.slice(from)));
    return h("bdi", attrs, parts);
  }

  // A staff name: on one line, cut with an ellipsis when long, whole in its tooltip.
  const named = (name) => said(name, { class: "name", title: name.replace(INVISIBLE, control) });

  // A moment in the visitor's own zone, named, e.g. "Thursday 3 December 2026 at 15:00 CET".
  const localDate = (at) => new Intl.DateTimeFormat([], { weekday: "long", year: "numeric", month: "long",
    day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" }).format(new Date(at));
  const time = (at) => new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2));

  async function sha256(text) {
    if (!(window.crypto && crypto.subtle)) return null; // not a secure context: trust the offer
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // What the acceptance record keeps about the visitor's browser.
  function clientFacts() {
    let zone = null;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || null; } catch { zone = null; }
    // Where this script came from, and the integrity it was checked against: which build ran.
    const integrity = (script && script.integrity) || null;
    return { locale: navigator.language || null, time_zone: zone,
      page_url: location.href.slice(0, 512), widget_build: BUILD,
      script_url: script && script.src ? script.src.slice(0, 2048) : null,
      integrity: integrity && integrity.length <= 200 ? integrity : null };
  }

  const openKey = storageKey + ":open";

  // sessionStorage: a reload finds the panel as it was; a new tab starts with it closed.
  function wasOpen() {
    try { return sessionStorage.getItem(openKey) === "1"; } catch { return false; }
  }

  function keepOpen(show) {
    try { sessionStorage.setItem(openKey, show ? "1" : "0"); } catch { /* storage refused: not kept */ }
  }

  function load() {
    try { return JSON.parse(localStorage.getItem(storageKey)) || {}; } catch { return {}; }
  }

  // The visitor's signed receipts (docs/protocol.md §3.5), kept per conversation.
  const receiptsKey = storageKey + ":receipts";

  function loadReceipts() {
    try { return JSON.parse(localStorage.getItem(receiptsKey)) || {}; } catch { return {}; }
  }

  const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const KIND_TITLES = { acceptance: "your acceptance of the conduct policy",
    warning: "a warning you were given", closure: "the closure of your conversation" };

  // A page that reads without Parley: the signed fields, what they refer to, the accepted text,
  // and how anyone can check the signature. The JSON file is what is checked; this page explains it.
  function receiptPage(signed, event, acceptance) {
    const r = signed.receipt;
    const rows = Object.keys(r).sort().map((k) => `<tr><th scope="row">${escape(k)}</th><td>${escape(r[k])}</td></tr>`);
    const clause = event && event.data.clause
      ? `<h2>The clause cited</h2><p>Rule ${escape(event.data.clause.id)}, “${escape(event.data.clause.title)}”:</p>` +
        `<blockquote>${escape(event.data.clause.text)}</blockquote>` +
        (event.data.notice ? `<h2>What you were told</h2><pre>${escape(event.data.notice)}</pre>` : "")
      : "";
    const policy = acceptance && acceptance.data.sha256 === (r.text_sha256 || acceptance.data.sha256)
      ? `<h2>The policy you accepted: ${escape(acceptance.data.title)}, version ${escape(acceptance.data.version)}</h2>` +
        `<p>Its SHA-256 is ${escape(acceptance.data.sha256)}. The full text, exactly as you were shown it:</p>` +
        `<pre>${escape(acceptance.data.text)}</pre>`
      : "";
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Receipt of ${escape(KIND_TITLES[r.kind] || r.kind)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;color:#1f2328}
pre,blockquote{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;border:1px solid #d0d7de;padding:.75em}
table{border-collapse:collapse}th,td{text-align:left;vertical-align:top;padding:.2em .6em;border-bottom:1px solid #d0d7de;overflow-wrap:anywhere}
code{background:#f6f8fa}</style></head><body>
<h1>Receipt of ${escape(KIND_TITLES[r.kind] || r.kind)}</h1>
<p>The chat service signed this receipt with its Ed25519 key (key id ${escape(r.key_id)}) when it recorded
event ${escape(r.event_seq)} of conversation ${escape(r.conversation_id)}. The event's hash,
${escape(r.event_hash)}, covers that event and every event before it, so any later change to the
conversation's record contradicts this receipt. Keep the JSON file that came with it: it holds the signature.</p>
<h2>What was signed</h2><table>${rows.join("")}<tr><th scope="row">signature</th><td>${escape(signed.signature)}</td></tr></table>
${clause}${policy}
<h2>How to check it</h2>
<p>Get the operator's published public key (for example from <code>/api/keys</code> of the chat server), then either run
<code>parley evidence verify-receipt receipt.json --public-key KEY</code> (add <code>--bundle evidence.json</code> to
check an evidence bundle holds this exact event), or check it with any Ed25519 tool, for example OpenSSL 3:</p>
<pre>jq -cjS .receipt receipt.json &gt; signed.json
jq -r .signature receipt.json | base64 -d &gt; signature.bin
(printf '\\060\\052\\060\\005\\006\\003\\053\\145\\160\\003\\041\\000'; echo KEY | base64 -d) &gt; key.der
openssl pkeyutl -verify -pubin -inkey key.der -keyform DER -rawin -in signed.json -sigfile signature.bin</pre>
<p>The signed bytes are the receipt's fields as canonical JSON (RFC 8785: sorted keys, no spaces, UTF-8).
The key inside the receipt is for information only: check it against the key the operator publishes.</p>
<h2>The receipt file</h2><pre>${escape(JSON.stringify(signed, null, 2))}</pre>
</body></html>
`;
  }

  class Widget {
    constructor() {
      const saved = load();
      this.token = saved.token || null;
      this.outbox = new Map(saved.outbox || []); // client_id -> text, until acked
      this.conversation = null;
      this.lastSeq = 0;
      this.policy = null;
      this.ended = null; // the closed/resolved event of the current conversation
      this.barred = null; // the barred frame, while this visitor may not start a conversation
      this.draft = null; // what the visitor was typing when the conversation ended
      this.unread = 0;
      this.retries = 0;
      this.held = null; // while set, a timer: the server asked us to wait before sending again
      this.storeRetries = 0; // unavailable answers in a row, for the backoff
      this.ws = null;
      this.team = null; // "available", "away" or "offline", once the server has said
      this.agentJoined = false; // an agent joined the conversation shown
      this.contactId = null; // the client_id of the e-mail left in away mode, until acknowledged
      this.awaitingPong = false;
      this.lastInput = Date.now();
      this.receipts = loadReceipts(); // conversation id -> event seq -> signed receipt
      this.receiptEvents = new Map(); // event seq -> the event a receipt is of (current conversation)
      this.render();
      this.renderPresence();
      this.watchActivity();
      if (wasOpen()) this.open(true, false);
      this.connect();
    }

    save() {
      localStorage.setItem(storageKey, JSON.stringify({ token: this.token, outbox: [...this.outbox] }));
    }

    // ---- view -------------------------------------------------------------

    render() {
      const host = h("div", { id: "parley-widget", "data-side": settings.side });
      const root = host.attachShadow({ mode: "open" });
      if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLES);
        root.adoptedStyleSheets = [sheet];
      } else {
        root.append(h("style", {}, STYLES));
      }
      const v = (this.view = {});
      v.badge = h("span", { class: "badge", hidden: true });
      v.launcher = h("button", { class: "launcher", id: "launcher", "aria-expanded": "false",
        "aria-controls": "panel", onclick: () => this.open(true) }, settings.title, v.badge);
      v.status = h("span", { class: "status", id: "status", role: "status" }, "Connecting…");
      v.policyTitle = h("h3", { id: "policy-title" });
      v.policyMeta = h("p", { class: "meta", id: "policy-meta" });
      v.policyText = h("div", { class: "policy-text", id: "policy-text", tabindex: "0",
        role: "region", "aria-label": "Conduct policy text" });
      v.rulesList = h("ol", { id: "policy-rules" });
      v.rules = h("div", { class: "rules", id: "rules", tabindex: "-1", role: "region", "aria-labelledby": "rules-title" },
        h("h4", { id: "rules-title" }, "The key rules"), v.rulesList);
      v.fullPolicy = h("details", { class: "full-policy", id: "full-policy",
        ontoggle: () => { if (v.fullPolicy.open) this.readFull = true; } },
        h("summary", { id: "full-policy-toggle" }, "Read the full policy"), v.policyText);
      v.agree = h("input", { type: "checkbox", id: "agree", onchange: () => this.updateStart() });
      v.agreeLabel = h("span", {});
      v.start = h("button", { class: "primary", id: "start", type: "button", disabled: true,
        onclick: () => this.accept() }, "Start chat");
      v.gateError = h("p", { class: "error", role: "alert" });
      v.gate = h("div", { class: "gate", id: "gate", hidden: true },
        h("p", {}, "Before we chat, please read and accept our conduct policy."),
        v.policyTitle, v.policyMeta, v.rules, v.fullPolicy,
        h("label", { class: "agree" }, v.agree, v.agreeLabel), v.start, v.gateError);
      v.notice = h("div", { class: "notice", id: "notice", role: "alert", hidden: true, tabindex: "-1" });
      v.barred = h("div", { class: "notice barred", id: "barred", role: "alert", hidden: true, tabindex: "-1" });
      v.unavailable = h("div", { class: "notice", id: "unavailable", role: "alert", hidden: true, tabindex: "-1" },
        h("h3", {}, "Chat is not available on this site"),
        h("p", {}, "This website is not set up to use this chat service. Please contact the website another way."));
      v.log = h("ol", { class: "log", id: "log" });
      // The live region wraps the list: role="log" on the <ol> itself would orphan its <li>s.
      v.transcript = h("div", { id: "transcript", role: "log", "aria-live": "polite", "aria-label": "Messages" }, v.log);
      v.input = h("textarea", { id: "message", maxlength: MAX_CHARS, disabled: true,
        placeholder: "Type your message…", onkeydown: (e) => this.onKey(e) });
      v.send = h("button", { class: "primary", id: "send", type: "submit", disabled: true }, "Send");
      // Polite and always present: it is announced when someone starts typing, not on each refresh.
      v.typing = h("p", { class: "typing", id: "typing", role: "status", "aria-live": "polite" });
      v.input.addEventListener("input", () => this.onTyping());
      v.form = h("form", { onsubmit: (e) => { e.preventDefault(); this.sendMessage(); } },
        h("label", { class: "sr-only", for: "message" }, "Message"), v.input, v.send);
      v.body = h("div", { class: "body" }, v.gate, v.transcript, v.notice, v.barred, v.unavailable);
      v.panel = h("section", { class: "panel", id: "panel", role: "dialog", "aria-label": settings.title,
        hidden: true, tabindex: "-1", onkeydown: (e) => { if (e.key === "Escape") this.open(false); } },
        h("header", {}, h("h2", {}, settings.title), v.status,
          h("button", { class: "close", id: "close", type: "button", "aria-label": "Close chat",
            onclick: () => this.open(false) }, "×")),
        v.body, v.typing, v.form);
      root.append(v.launcher, v.panel);
      this.root = root;
      document.body.append(host);
    }

    // ``focus`` false: reopened by a reload, which must not take the page's focus.
    open(show, focus = true) {
      const v = this.view;
      v.panel.hidden = !show;
      v.launcher.hidden = show;
      v.launcher.setAttribute("aria-expanded", String(show));
      keepOpen(show);
      if (!focus) return;
      if (show) {
        this.unread = 0;
        v.badge.hidden = true;
        this.focusIn();
        this.markRead();
      } else {
        v.launcher.focus();
      }
    }

    // Focus what the visitor can act on or must read; the panel itself until the server has said.
    focusIn() {
      const v = this.view;
      const target = !v.input.disabled ? v.input : !v.gate.hidden ? v.rules : !v.unavailable.hidden ? v.unavailable : !v.notice.hidden ? v.notice
        : !v.barred.hidden ? v.barred : v.panel;
      this.awaiting = target === v.panel;
      target.focus();
    }

    setStatus(text) { this.view.status.textContent = text; }

    setChatEnabled(enabled) {
      this.view.input.disabled = !enabled;
      this.view.send.disabled = !enabled;
    }

    scrollDown() { this.view.body.scrollTop = this.view.body.scrollHeight; }

    showGate(policy) {
      const v = this.view;
      v.policyTitle.textContent = policy.title;
      v.policyMeta.textContent = `Version ${policy.version} · effective ${policy.effective.slice(0, 10)}`;
      v.policyText.textContent = policy.text;
      v.rulesList.replaceChildren(...policy.clauses.map((c) => h("li", {}, said(c.title))));
      v.fullPolicy.open = false;
      this.readFull = false;
      v.agreeLabel.textContent = `I have read and accept the Conduct Policy v${policy.version}`;
      v.agree.checked = false;
      v.gateError.textContent = "";
      v.gate.hidden = false;
      v.transcript.hidden = true;
      v.notice.hidden = true;
      v.barred.hidden = true;
      v.form.hidden = true;
      this.updateStart();
    }

    showChat() {
      const v = this.view;
      v.notice.hidden = v.barred.hidden = true;
      v.gate.hidden = true;
      v.transcript.hidden = false;
      v.form.hidden = false;
      this.setChatEnabled(true);
    }

    updateStart() { this.view.start.disabled = !(this.view.agree.checked && this.policy); }

    // ---- connection -------------------------------------------------------

    connect() {
      const ws = (this.ws = new WebSocket(settings.socket));
      let opened = false;
      ws.onopen = () => {
        opened = true;
        this.retries = 0;
        this.setStatus("Online");
        this.startHeartbeat(ws);
        const hello = { type: "hello", token: this.token, client: clientFacts(), presence: true };
        if (this.conversation) hello.resume = { conversation_id: this.conversation.id, last_seq: this.lastSeq };
        ws.send(JSON.stringify(hello));
      };
      ws.onmessage = (e) => this.onFrame(JSON.parse(e.data));
      ws.onclose = async () => {
        if (this.ws !== ws) return;
        if (!opened && await this.refused()) { this.showUnavailable(); return; }
        this.setStatus("Reconnecting…");
        this.showOffline(true);
        const delay = Math.min(10000, 500 * 2 ** this.retries++) * (0.5 + Math.random() / 2);
        setTimeout(() => this.connect(), delay);
      };
    }

    // A socket that never opened may have been refused for this page's origin; the browser
    // hides the 403, so ask the server. Unreachable, or any other answer: not refused.
    async refused() {
      try {
        const answer = await fetch(`${settings.server}/api/widget/status`, { credentials: "omit", cache: "no-store" });
        return answer.ok && (await answer.json()).allowed === false;
      } catch {
        return false;
      }
    }

    // Refused for good: say so, and stop retrying.
    showUnavailable() {
      const v = this.view;
      this.setStatus("Not available");
      v.gate.hidden = v.transcript.hidden = v.notice.hidden = v.barred.hidden = v.form.hidden = true;
      v.unavailable.hidden = false;
      if (this.awaiting && this.root.activeElement === v.panel) { this.awaiting = false; v.unavailable.focus(); }
    }

    send(frame) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
    }

    onFrame(frame) {
      const handler = this.handlers[frame.type];
      if (handler) handler.call(this, frame);
      if (this.awaiting) { // opened before the server had said what to show: focus it once it has
        this.awaiting = false;
        if (this.root.activeElement === this.view.panel) this.focusIn();
      }
    }

    // ---- presence ---------------------------------------------------------

    // The offline banner, the away-mode e-mail form and, at the gate, a note that nobody is there.
    renderPresence() {
      const v = this.view;
      v.banner = h("p", { class: "banner", id: "offline-banner", role: "alert", hidden: true },
        "You are offline. We will reconnect and send your messages as soon as we can.");
      v.awayEmail = h("input", { type: "email", id: "away-email", autocomplete: "email", maxlength: 254,
        onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); this.leaveContact(); } } });
      v.awayError = h("p", { class: "error", id: "away-error", role: "alert" });
      v.awayDone = h("p", { id: "away-done", role: "status" });
      v.awayTitle = h("h3", { id: "away-title" });
      v.away = h("section", { class: "away", id: "away", "aria-labelledby": "away-title", hidden: true },
        v.awayTitle,
        h("p", {}, "Leave your e-mail address and we will answer you there. It is kept with this conversation."),
        h("label", { for: "away-email" }, "Your e-mail address"), v.awayEmail,
        h("button", { class: "primary", id: "away-send", type: "button", onclick: () => this.leaveContact() },
          "Leave my e-mail"), v.awayError, v.awayDone);
      v.awayNote = h("p", { class: "away-note", id: "away-note", hidden: true });
      v.panel.insertBefore(v.banner, v.body);
      v.body.append(v.away);
      v.gate.prepend(v.awayNote);
    }

    // Input or a visible page counts as activity; an untouched or hidden page is idle.
    watchActivity() {
      const seen = () => { this.lastInput = Date.now(); };
      for (const type of ["keydown", "pointerdown", "scroll"]) document.addEventListener(type, seen, { passive: true });
      document.addEventListener("visibilitychange", () => { if (!document.hidden) seen(); this.heartbeat(); });
      window.addEventListener("offline", () => this.showOffline(true));
      // Back online: a heartbeat's pong shows the line works (or the next beat reconnects).
      window.addEventListener("online", () => { this.awaitingPong = true; this.heartbeat(); });
    }

    idle() { return document.hidden || Date.now() - this.lastInput > IDLE_MS; }

    // Every HEARTBEAT_MS: say whether the visitor is idle. The server answers a heartbeat with a
    // pong; one unanswered by the next beat means the line is dead even if the socket has not
    // noticed: show it, and reconnect.
    startHeartbeat(ws) {
      clearInterval(this.beat);
      this.awaitingPong = false;
      this.beat = setInterval(() => {
        if (this.ws !== ws) { clearInterval(this.beat); return; }
        if (this.awaitingPong) { this.showOffline(true); ws.close(); return; }
        this.awaitingPong = true;
        this.heartbeat();
      }, HEARTBEAT_MS);
    }

    heartbeat() { this.send({ type: "heartbeat", idle: this.idle() }); }

    showOffline(offline) { this.view.banner.hidden = !offline; }

    // The status line and away mode follow the team's state and this conversation's.
    showTeam() {
      const v = this.view;
      const team = this.team;
      if (!team || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      const open = !!this.conversation && this.conversation.state === "open" && !this.ended;
      if (open && this.agentJoined) this.setStatus("Online");
      else if (team === "available") this.setStatus(open ? "Waiting for an agent" : "Online");
      else this.setStatus(team === "away" ? "Away" : "Nobody online");
      const away = team !== "available" && !this.agentJoined && !this.barred;
      const title = team === "away" ? "Our team is away right now" : "Nobody from our team is online right now";
      v.awayTitle.textContent = title;
      v.away.hidden = !(away && open);
      v.awayNote.textContent = `${title}. After you accept the policy you can leave your e-mail address, and we will answer you there.`;
      v.awayNote.hidden = !away;
    }

    leaveContact() {
      const v = this.view;
      const email = v.awayEmail.value.trim();
      v.awayError.textContent = "";
      if (!email) { v.awayError.textContent = "Please enter your e-mail address."; return; }
      this.contactId = newId();
      this.send({ type: "contact", client_id: this.contactId, email });
    }

    // ---- actions ----------------------------------------------------------

    async accept() {
      const policy = this.policy;
      const v = this.view;
      v.start.disabled = true;
      // The digest of exactly what is displayed: a changed text cannot be accepted by mistake.
      const digest = (await sha256(v.policyText.textContent)) || policy.sha256;
      if (digest !== policy.sha256) {
        v.gateError.textContent = "The policy text could not be verified. Please reload the page.";
        return;
      }
      // What the visitor did, in words: the full text is one click away, so say whether it was opened.
      const shown = this.readFull ? "having opened the full text" : "shown the key rules, the full text one click away";
      this.send({ type: "accept", policy_id: policy.policy_id, version: policy.version, sha256: digest,
        affirmation: `Ticked “${v.agreeLabel.textContent}” and pressed “${v.start.textContent}”, ${shown}` });
    }

    onKey(e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); this.sendMessage(); }
    }

    sendMessage() {
      const text = this.view.input.value.trim();
      if (!text || !this.conversation) return;
      const clientId = newId();
      this.outbox.set(clientId, text);
      this.save();
      this.view.log.append(this.bubble({ role: "visitor" }, text, clientId, "Sending…"));
      this.scrollDown();
      this.view.input.value = "";
      this.stopTyping();
      if (!this.held) this.send({ type: "message", client_id: clientId, text });
    }

    resendOutbox() {
      if (this.held) return; // the timer resends it
      for (const [clientId, text] of this.outbox) this.send({ type: "message", client_id: clientId, text });
    }

    // Send nothing for a while, then the whole outbox in the order it was typed, same client ids.
    holdOutbox(seconds) {
      if (this.held) return;
      this.held = setTimeout(() => { this.held = null; this.resendOutbox(); }, seconds * 1000);
    }

    // Refused for good: out of the outbox, kept on screen as not sent, with a button to send it again.
    notSent(clientId, reason) {
      const text = this.outbox.get(clientId);
      this.outbox.delete(clientId);
      this.save();
      const node = this.view.log.querySelector(`li[data-client-id="${CSS.escape(clientId)}"]`);
      if (!node) return;
      node.classList.add("failed");
      node.querySelector(".state").replaceWith(h("span", { class: "state", role: "alert" }, `Not sent: ${reason} `,
        h("button", { class: "retry", type: "button", onclick: () => this.retry(clientId, text) }, "Retry")));
    }

    retry(clientId, text) {
      this.outbox.set(clientId, text);
      this.save();
      const node = this.view.log.querySelector(`li[data-client-id="${CSS.escape(clientId)}"]`);
      node.classList.remove("failed");
      node.querySelector(".state").replaceWith(h("span", { class: "state" }, "Sending…"));
      this.view.input.focus();
      if (!this.held) this.send({ type: "message", client_id: clientId, text });
    }

    // ---- transcript -------------------------------------------------------

    bubble(author, text, clientId, state) {
      const own = author.role === "visitor";
      return h("li", { class: `msg ${own ? "visitor" : "agent"}`, "data-client-id": clientId },
        own ? null : h("span", { class: "who" }, named(author.name || "Support")),
        linked(text, { class: "text" }),
        h("span", { class: "state" }, state));
    }

    system(...parts) { this.view.log.append(h("li", { class: "system" }, ...parts)); }

    receipt(acceptance) {
      const d = acceptance.data;
      const text = `Receipt of acceptance\nPolicy: ${d.title}, version ${d.version}\nSHA-256: ${d.sha256}\n` +
        `Accepted at: ${acceptance.at} (UTC)\nConversation: ${acceptance.conversation_id}\n\n${d.text}`;
      const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
      return h("a", { href: url, id: "receipt", download: `${d.policy_id}-v${d.version}-receipt.txt` },
        "Download the policy you accepted");
    }

    // The server's notice (from the policy's reviewed template), with the clause it quotes set
    // off as a blockquote instead of repeated; text nodes only.
    noticeText(d, id, quoteId) {
      const text = d.notice || `Our team cited clause ${d.clause.id}, “${d.clause.title}”, ` +
        `of the conduct policy you accepted (version ${d.version}):\n\n${d.clause.text}`;
      const at = text.indexOf(d.clause.text);
      const quote = h("blockquote", { id: quoteId }, said(d.clause.text));
      const node = h("div", { class: "notice-text", id }, at < 0 ? [said(text), quote]
        : [said(text.slice(0, at).trimEnd()), quote, said(text.slice(at + d.clause.text.length).trimStart())]);
      return d.note ? [node, h("p", {}, "Note from our team: ", said(d.note))] : [node];
    }

    showEnded(event) {
      const v = this.view;
      const d = event.data;
      v.notice.replaceChildren();
      if (event.type === "closed") {
        v.notice.append(h("h3", {}, "This conversation has ended"), ...this.noticeText(d, "notice-text", "notice-clause"));
      } else if (event.type === "abandoned") {
        v.notice.append(h("h3", {}, "This conversation has ended"),
          h("p", {}, "It was closed after you had left the chat for a while."));
      } else {
        v.notice.append(h("h3", {}, "This conversation is resolved"), h("p", {}, "Thank you for chatting with us."));
      }
      if (event.type === "closed") v.notice.append(this.receiptSlot(event));
      const draft = this.draftBox();
      if (draft) v.notice.append(draft);
      if (!this.barred) v.notice.append(h("button", { class: "primary", id: "new-conversation", type: "button",
        onclick: () => this.policy && this.showGate(this.policy) }, "Start a new conversation"));
      v.notice.hidden = false;
      this.setChatEnabled(false);
      this.showTeam();
    }

    // Instead of the gate: why this visitor cannot start a conversation, and until when.
    showBarred(f) {
      const v = this.view;
      const c = f.clause || {};
      const until = f.until ? `until ${localDate(f.until)}` : "permanently";
      // The server's message names the time in UTC for every client; here it reads in the visitor's zone.
      const message = f.until ? f.message.replace(`until ${f.until} (UTC)`, until) : f.message;
      this.barred = f;
      v.barred.replaceChildren(h("h3", {}, "You can't start a new conversation"),
        h("p", { class: "notice-text", id: "barred-text" }, said(message)),
        h("blockquote", { id: "barred-clause" }, h("b", {}, `Rule ${c.id}, “${c.title}”`), said(c.text)),
        h("p", { id: "barred-until" }, "This applies ",
          f.until ? ["until ", h("time", { datetime: f.until }, localDate(f.until))] : "permanently", "."));
      v.gate.hidden = true;
      v.barred.hidden = v.form.hidden = false;
      this.setChatEnabled(false);
      if (this.ended) this.showEnded(this.ended); // without "Start a new conversation"
      v.body.scrollTop = v.barred.offsetTop - v.body.offsetTop - 12; // its heading in view
    }

    bump() { // count unread news while the panel is closed
      if (!this.view.panel.hidden) return;
      this.view.badge.textContent = String(++this.unread);
      this.view.badge.hidden = false;
    }

    onEvent(event) {
      if (!this.conversation || event.conversation_id !== this.conversation.id || event.seq <= this.lastSeq) return;
      this.lastSeq = event.seq;
      const d = event.data;
      if (event.type === "acceptance") {
        this.system(`You accepted ${d.title} v${d.version} at ${time(event.at)}. `, this.receipt(event),
          this.receiptSlot(event));
      } else if (event.type === "message") {
        const pending = event.client_id && this.view.log.querySelector(`li[data-client-id="${CSS.escape(event.client_id)}"]`);
        // A text erased since it was sent (its commitment stays in the record) shows as erased.
        const text = event.erased?.text ? "(erased)" : d.text;
        const node = this.bubble(event.author, text, event.client_id, time(event.at));
        node.dataset.seq = event.seq;
        if (pending && event.author.role === "visitor") pending.replaceWith(node);
        else this.view.log.append(node);
        if (event.author.role === "visitor") { this.outbox.delete(event.client_id); this.save(); }
        if (event.author.role === "agent") { this.bump(); this.showTyping(null); }
        this.showSeen();
      } else if (event.type === "warning") {
        this.view.log.append(h("li", { class: "warning", "data-seq": event.seq },
          h("h3", {}, "A warning from our team"), ...this.noticeText(d, null, null), this.receiptSlot(event)));
        this.bump();
      } else if (event.type === "agent_joined") {
        this.system(named(event.author.name || "An agent"), " joined the conversation.");
        this.agentJoined = true;
        this.showTeam();
      } else if (event.type === "contact_left") {
        this.system("You left your e-mail address ", said(d.email), ". We will answer you there.");
        if (event.client_id === this.contactId) this.contactId = null;
        this.view.awayDone.textContent = `Thank you. We will write to you at ${d.email}.`;
        this.view.awayEmail.value = "";
      } else if (event.type === "closed" || event.type === "resolved" || event.type === "abandoned") {
        this.ended = event;
        this.keepDraft();
        this.showEnded(event);
        this.showTyping(null);
        // Events come in order: a message still unacknowledged now was not stored and never
        // will be here; held for a retry, it must not go out later into the next conversation.
        for (const clientId of [...this.outbox.keys()]) this.notSent(clientId, "the conversation has ended.");
      }
      this.scrollDown();
      if (event.type === "closed" || event.type === "resolved") this.focusNotice();
      if (event.author.role === "agent") this.markRead();
    }

    // ---- receipts (docs/protocol.md §3.5) ------------------------------------

    // Keep a signed receipt (the first one of each event: later copies only say the same again),
    // and offer it wherever its event is shown.
    keepReceipt(signed) {
      const r = signed && signed.receipt;
      if (!r) return;
      const kept = (this.receipts[r.conversation_id] = this.receipts[r.conversation_id] || {});
      if (!kept[r.event_seq]) {
        kept[r.event_seq] = signed;
        try { localStorage.setItem(receiptsKey, JSON.stringify(this.receipts)); } catch { /* storage refused: this page keeps it */ }
      }
      for (const slot of this.root.querySelectorAll(`.receipt-links[data-receipt-seq="${r.event_seq}"]`)) this.fillSlot(slot);
    }

    // Where the download links of ``event``'s receipt go: filled now if it is kept, else when it comes.
    receiptSlot(event) {
      this.receiptEvents.set(event.seq, event);
      const slot = h("span", { class: "receipt-links", "data-receipt-seq": event.seq });
      this.fillSlot(slot);
      return slot;
    }

    fillSlot(slot) {
      const seq = Number(slot.dataset.receiptSeq);
      const signed = this.conversation && (this.receipts[this.conversation.id] || {})[seq];
      if (!signed || slot.firstChild) return;
      const name = `receipt-${signed.receipt.conversation_id}-${seq}`;
      const blob = (text, type) => URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
      const page = receiptPage(signed, this.receiptEvents.get(seq), this.receiptEvents.get(1));
      slot.append(
        h("a", { class: "receipt-json", href: blob(JSON.stringify(signed, null, 2) + "\n", "application/json"),
          download: `${name}.json` }, "Download receipt (signed JSON)"),
        h("a", { class: "receipt-page", href: blob(page, "text/html"), download: `${name}.html` },
          "Download receipt (readable page)"));
    }

    // After a replay: any receipt the widget has not kept (say the acceptance's, if it missed
    // the accepted frame), asked for again.
    askMissingReceipts() {
      if (!this.conversation) return;
      const kept = this.receipts[this.conversation.id] || {};
      if ([...this.receiptEvents.keys()].some((seq) => !kept[seq])) {
        this.send({ type: "receipts", conversation_id: this.conversation.id });
      }
    }

    // ---- typing and read state (ephemeral: docs/protocol.md §6.9) ----------

    canSignal() {
      return this.conversation && this.conversation.state === "open" && !this.ended;
    }

    // Say "typing" at once, again every TYPING_REFRESH_MS while typing, "stopped" when idle or empty.
    onTyping() {
      if (!this.canSignal()) return;
      clearTimeout(this.typingIdle);
      if (!this.view.input.value.trim()) { this.stopTyping(); return; }
      const now = Date.now();
      if (now - (this.typingSentAt || 0) >= TYPING_REFRESH_MS) {
        this.typingSentAt = now;
        this.send({ type: "typing", state: true });
      }
      this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
    }

    stopTyping() {
      clearTimeout(this.typingIdle);
      if (!this.typingSentAt) return;
      this.typingSentAt = 0;
      if (this.canSignal()) this.send({ type: "typing", state: false });
    }

    // The agent's typing indicator: on until "stopped", their message, or expires_in seconds of quiet.
    showTyping(frame) {
      clearTimeout(this.typingShown);
      const on = !!(frame && frame.state);
      const text = on ? `${frame.name || "Support"} is typing…` : "";
      if (this.view.typing.textContent !== text) this.view.typing.textContent = text;
      if (on) this.typingShown = setTimeout(() => this.showTyping(null), (frame.expires_in || 6) * 1000);
    }

    // Tell the agent what the visitor has seen: the last event, while the panel is open and visible.
    markRead() {
      if (!this.conversation || !this.lastSeq || this.view.panel.hidden || document.hidden) return;
      if (this.readSent === this.lastSeq) return;
      this.readSent = this.lastSeq;
      this.send({ type: "read", conversation_id: this.conversation.id, seq: this.lastSeq });
    }

    // "Seen" under the visitor's last message the agent has read.
    showSeen() {
      const seen = this.seenSeq || 0;
      const mine = [...this.view.log.querySelectorAll("li.msg.visitor[data-seq]")]
        .filter((node) => Number(node.dataset.seq) <= seen);
      const last = mine[mine.length - 1];
      if (last && last.querySelector(".seen")) return;
      for (const old of this.view.log.querySelectorAll(".seen")) old.remove();
      if (last) last.append(h("span", { class: "seen", id: "seen" }, "Seen"));
    }

    // What the visitor was typing when the conversation ended: out of the box that is about to be
    // disabled, into the notice, where it can still be selected and copied.
    keepDraft() {
      const draft = this.view.input.value;
      this.view.input.value = "";
      this.draft = draft.trim() ? draft : null;
    }

    draftBox() {
      if (!this.draft) return null;
      return h("div", { class: "draft", id: "draft" }, h("h4", { id: "draft-title" }, "Your unsent message"),
        h("p", {}, "It was not sent. You can still select and copy it."),
        h("textarea", { id: "draft-text", readonly: true, rows: 3, "aria-labelledby": "draft-title" }, this.draft));
    }

    // The panel open: focus moves to the notice and its heading is scrolled into view. Focus was in
    // the widget, or dropped to the page's body when the input was disabled; elsewhere, it stays.
    focusNotice() {
      const v = this.view;
      const active = document.activeElement;
      if (v.panel.hidden || v.notice.hidden || (!this.root.activeElement && active && active !== document.body)) return;
      v.notice.focus({ preventScroll: true });
      v.notice.querySelector("h3").scrollIntoView({ block: "start" });
    }
  }

  Widget.prototype.handlers = {
    team(f) { this.team = f.state; this.showTeam(); },
    pong() { this.awaitingPong = false; this.showOffline(false); },
    welcome(f) {
      if (f.token) { this.token = f.token; this.save(); }
      const conversation = f.conversation;
      if (!conversation || !this.conversation || conversation.id !== this.conversation.id) {
        this.view.log.replaceChildren();
        this.lastSeq = 0;
        this.ended = null;
        this.agentJoined = false;
        this.view.notice.hidden = true;
        this.seenSeq = 0;
        this.receiptEvents.clear();
      }
      this.readSent = 0; // a new connection is told again
      this.conversation = conversation;
      this.barred = null; // this connection will say again, with a barred frame or a policy offer
      if (conversation && conversation.state === "open") this.showChat();
      this.showOffline(false);
      this.showTeam();
    },
    barred(f) { this.showBarred(f); },
    policy(f) {
      this.policy = f;
      if (this.barred) return; // still barred: no gate, whatever version comes into force
      this.view.barred.hidden = true;
      if (!this.conversation || this.conversation.state !== "open" || this.ended) {
        if (this.ended) this.showEnded(this.ended);
        else this.showGate(f);
      }
    },
    accepted(f) {
      this.receiptEvents.clear();
      if (f.receipt) this.keepReceipt(f.receipt);
      this.conversation = f.conversation;
      this.lastSeq = 0;
      this.ended = null;
      this.draft = null;
      this.seenSeq = this.readSent = 0;
      this.view.log.replaceChildren();
      this.agentJoined = false;
      this.showChat();
      this.showTeam();
      if (!this.view.panel.hidden) this.view.input.focus();
    },
    event(f) { this.onEvent(f.event); },
    typing(f) {
      if (this.conversation && f.conversation_id === this.conversation.id && f.role === "agent") this.showTyping(f);
    },
    read(f) {
      if (!this.conversation || f.conversation_id !== this.conversation.id || f.role !== "agent") return;
      this.seenSeq = Math.max(this.seenSeq || 0, f.seq);
      this.showSeen();
    },
    caught_up() { this.resendOutbox(); this.askMissingReceipts(); },
    receipt(f) { this.keepReceipt(f.receipt); },
    receipts(f) { for (const r of f.receipts) this.keepReceipt(r); },
    ack(f) {
      this.storeRetries = 0;
      this.outbox.delete(f.client_id);
      this.save();
      const node = this.view.log.querySelector(`li[data-client-id="${CSS.escape(f.client_id)}"] .state`);
      if (node && node.textContent === "Sending…") node.textContent = time(f.at);
    },
    error(f) {
      if (f.client_id && f.client_id === this.contactId) { // the away-mode e-mail was refused
        this.contactId = null;
        this.view.awayError.textContent = f.message;
        this.view.awayEmail.focus();
      } else if (f.code === "invalid_token") {
        this.token = null;
        this.save();
        this.send({ type: "hello", client: clientFacts() });
      } else if (f.code === "barred") {
        this.showBarred(f); // barred meanwhile, e.g. by address
      } else if (f.code === "policy_mismatch") {
        this.view.gateError.textContent = "The policy has just changed. Please read the new version.";
      } else if (f.client_id && this.outbox.has(f.client_id)) {
        // Retryable (docs/protocol.md §8): nothing was stored, so the same client_id goes again.
        if (f.code === "rate_limited") this.holdOutbox(f.retry_after);
        else if (f.code === "unavailable") this.holdOutbox(Math.min(10, 0.5 * 2 ** this.storeRetries++));
        else this.notSent(f.client_id, f.message);
      } else if (f.request === "accept" && !this.view.gate.hidden) {
        this.view.gateError.textContent = f.message; // e.g. too many new conversations
        this.updateStart();
      }
    },
  };

  function start() {
    window.parley = new Widget();
    document.addEventListener("visibilitychange", () => window.parley.markRead());
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
