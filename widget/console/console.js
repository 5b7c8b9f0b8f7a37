// Parley agent console. Vanilla JS, no build step. Served under a strict CSP,
// so: no inline code or styles, and every network string goes through
// textContent / createTextNode — never through an HTML parser.

import { initPresence, onStaffPresence, onVisitorPresence, resetPresence, visitorBadge, visitorState } from './presence.js';
import { CannedPicker } from './canned.js';
import { cannedAdminRole, initCannedAdmin, onCannedReplies, resetCannedAdmin } from './canned_admin.js';
import { Notifier } from './notify.js';
import { Signals } from './signals.js';
import { heldBadge, showHeld } from './holds.js';

const TOKEN_KEY = 'parley.agentToken';
const WS_URL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/agent`;
const $ = (id) => document.getElementById(id);

const state = {
  ws: null, token: null, agent: null,
  signedIn: false,   // a welcome was seen on some connection with this token
  attempt: 0, retryTimer: null,
  list: new Map(),      // conversation id -> summary (open ones only)
  relisting: false,     // a list request is on its way (after a delta for an unknown id)
  threads: new Map(),   // conversation id -> {conv, policy, events: [], lastSeq}
  current: null,        // id of the conversation shown in the transcript
  pending: new Map(),   // reply client_id -> {conversationId, text, status, error}
  flags: new Map(),     // conversation id -> when the server last flagged the visitor as flooding
  view: 'conversations', // or 'ended', or 'bans' or 'canned' (admins only)
  endedQuery: null,     // the search of ended conversations shown, and the cursor of its next page
  endedCursor: null,
  lifting: null,        // the bar the lift dialog is about
  filter: 'all',        // which open conversations the list shows: all, queue, mine, others
  staff: [],            // whom a conversation may be transferred to (the staff frame)
};

// Typing and read state, canned replies, notifications (signals.js, canned.js, notify.js).
const signals = new Signals(send, (id) => { if (id === state.current) renderSignals(); });
const canned = new CannedPicker($('reply'), $('canned-list'), $('canned-status'));
const notifier = new Notifier($('notifications'), (id) => openConversation(id));

function renderSignals() { signals.render(state.current, $('typing'), $('transcript')); }

// ---------- small DOM helpers (text only) ----------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return node;
}

// Characters that hide or reorder text (bidi overrides and isolates, zero-width and control
// characters), the set the evidence document shows as [U+XXXX] (parley/evidence/markup.py).
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b\u200c\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]/g;

const control = (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}]`;

// Text someone else wrote: its invisible characters shown as [U+XXXX], inside a <bdi> so its
// direction cannot reorder what follows it.
// The primary language subtags written right to left (parley/domain/language.py's list).
const RIGHT_TO_LEFT = new Set(['ar', 'dv', 'fa', 'he', 'ku', 'ps', 'sd', 'ug', 'ur', 'yi']);

function said(text, attrs = {}) {
  const parts = [];
  let from = 0;
  for (const m of text.matchAll(INVISIBLE)) {
    parts.push(text.slice(from, m.index), el('span', { class: 'ctl' }, control(m[0])));
    from = m.index + 1;
  }
  parts.push(text.slice(from));
  return el('bdi', attrs, ...parts);
}

const LINK = /\bhttps?:\/\/[^\s<>"'\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]+/gi;

// Someone's text with its http and https addresses as links that open in a new tab,
// giving the page opened neither this window nor where it came from.
function linked(text, attrs = {}) {
  const parts = [];
  let from = 0;
  for (const m of text.matchAll(LINK)) {
    const shown = m[0].replace(/[.,;:!?)\]]+$/, '');
    let url = null;
    try { url = new URL(shown); } catch { continue; }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    parts.push(said(text.slice(from, m.index)),
      el('a', { href: url.href, target: '_blank', rel: 'noopener noreferrer nofollow' }, said(shown)));
    from = m.index + shown.length;
  }
  parts.push(said(text.slice(from)));
  return el('bdi', attrs, ...parts);
}

// A staff name: on one line, cut with an ellipsis when long, whole in its tooltip.
const named = (name) => said(name, { class: 'name', title: name.replace(INVISIBLE, control) });

const visitorLabel = (id) => `Visitor ${String(id ?? '').slice(-6)}`;
const shortHash = (h) => (h && h.length > 16 ? `${h.slice(0, 8)}…${h.slice(-8)}` : String(h ?? ''));
const localTime = (iso) => new Date(iso).toLocaleString();
const utcTime = (iso) => `${String(iso).slice(0, 16).replace('T', ' ')} UTC`;
function clock(iso) {
  const d = new Date(iso);
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}
function waited(iso) {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `waiting ${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `waiting ${m} min` : `waiting ${Math.floor(m / 60)} h ${m % 60} min`;
}
function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID(); // only in secure contexts
  const b = crypto.getRandomValues(new Uint8Array(16));
  return 'r-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// ---------- connection ----------

function send(frame) {
  if (state.ws?.readyState !== WebSocket.OPEN) return false;
  state.ws.send(JSON.stringify(frame));
  return true;
}

function setStatus(kind, text) { $('status').dataset.state = kind; $('status').textContent = text; }

function connect() {
  clearTimeout(state.retryTimer);
  setStatus('connecting', state.attempt ? 'Reconnecting…' : 'Connecting…');
  const ws = new WebSocket(WS_URL);
  state.ws = ws;
  state.relisting = false;
  resetPresence(); // the new connection's first visitor_presence lists everyone there
  // Deltas: the server sends only what changed in each conversation (docs/protocol.md §6.3).
  // Presence: the team's and the visitors' (docs/protocol.md §6.8).
  ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'hello', token: state.token, list_updates: 'delta', presence: true })));
  ws.addEventListener('message', (e) => {
    let frame;
    try { frame = JSON.parse(e.data); } catch { return; }
    if (ws === state.ws && Object.hasOwn(handlers, frame?.type)) handlers[frame.type](frame);
  });
  ws.addEventListener('close', (e) => onClose(ws, e));
}

function onClose(ws, e) {
  if (ws !== state.ws) return; // an old socket we replaced or dropped on purpose
  state.ws = null;
  if (e.code === 1008) { // token refused: never retry
    return showSignIn(state.authCode === 'forbidden' ? "This token's role cannot use the console." : 'This token was not accepted.');
  }
  // Exponential backoff 0.5 s -> 10 s, with jitter so many consoles don't stampede.
  const base = Math.min(10000, 500 * 2 ** state.attempt++);
  const delay = base / 2 + Math.random() * base / 2;
  setStatus('reconnecting', 'Reconnecting…');
  if (!state.signedIn) $('signin-error').textContent = 'Cannot reach the server. Retrying…';
  state.retryTimer = setTimeout(connect, delay);
}

function signIn(token) {
  state.token = token;
  state.authCode = null;
  state.attempt = 0;
  $('sign-in').disabled = true;
  $('signin-error').textContent = '';
  connect();
}

function showSignIn(message = '') {
  clearTimeout(state.retryTimer);
  const ws = state.ws;
  state.ws = null; // so its close event is ignored
  ws?.close(1000, 'sign out');
  sessionStorage.removeItem(TOKEN_KEY);
  Object.assign(state, { token: null, agent: null, signedIn: false, current: null, attempt: 0 });
  state.list.clear(); state.threads.clear(); state.pending.clear();
  notifier.forget();
  resetThreadView();
  $('app-view').hidden = true;
  $('bans-view').hidden = true;
  $('ended-view').hidden = true;
  $('ended-rows').replaceChildren();
  $('ended').hidden = true;
  $('ended-more').hidden = true;
  $('ended-status').textContent = '';
  state.endedQuery = null;
  if ($('transcript-dialog').open) $('transcript-dialog').close();
  $('views').hidden = true;
  state.view = 'conversations';
  state.flags.clear();
  resetPresence();
  $('bans-rows').replaceChildren();
  if ($('lift-dialog').open) $('lift-dialog').close();
  $('canned-view').hidden = true;
  resetCannedAdmin();
  $('who').hidden = true;
  $('signin-view').hidden = false;
  $('sign-in').disabled = false;
  $('signin-error').textContent = message;
  setStatus('idle', 'Not connected');
  $('token').value = '';
  $('token').focus();
}

// ---------- inbound frames ----------

const handlers = {
  welcome(f) {
    state.agent = f.agent;
    state.signedIn = true;
    state.attempt = 0;
    sessionStorage.setItem(TOKEN_KEY, state.token);
    setStatus('connected', 'Connected');
    $('agent-name').replaceChildren(named(f.agent.name));
    $('agent-role').textContent = f.agent.role;
    $('who').hidden = false;
    $('signin-view').hidden = true;
    $('sign-in').disabled = false;
    // Admins also get the Bans view.
    $('views').hidden = false;
    $('bans-tab').hidden = f.agent.role !== 'admin';
    cannedAdminRole(f.agent.role);
    showView(f.agent.role === 'admin' || !ADMIN_VIEWS.has(state.view) ? state.view : 'conversations', false);
    // After a reconnect: resume the open transcript where we left it, then retry unacked replies
    // with their original client_id (the server deduplicates them).
    if (state.current) joinThread(state.current);
    if ($('close-dialog').open) updateConfirm(); // a close lost with the old socket can be confirmed again
    if ($('warn-dialog').open) updateWarnConfirm();
    for (const [clientId, p] of state.pending) if (p.status !== 'error') sendReply(clientId);
  },
  conversations(f) {
    state.relisting = false;
    state.list = new Map(f.items.filter((c) => c.state === 'open').map((c) => [c.id, c]));
    renderList();
  },
  conversation_updates({ items, flooding }) {
    // Changes since the last update, merged by the server, as deltas: a whole summary (it has
    // visitor_id), {id, state} for one that ended, or the id and the fields that changed.
    for (const item of items) {
      const known = state.list.get(item.id);
      if (visitorWrote(known, item)) {
        const merged = { ...known, ...item };
        if (item.id !== state.current || document.hidden) notifier.visitorWrote(item.id, visitorLabel(merged.visitor_id), merged.last_message ?? '');
      }
      if (item.state && item.state !== 'open') { state.list.delete(item.id); notifier.read(item.id); }
      else if ('visitor_id' in item) state.list.set(item.id, item);
      else if (known) state.list.set(item.id, { ...known, ...item });
      else relist(); // we missed what it applies to: the list again replaces ours
      const thread = state.threads.get(item.id);
      if (thread) thread.conv = thread.conv ? { ...thread.conv, ...item } : ('visitor_id' in item ? item : null);
      if (item.id === state.current) renderThreadHead();
    }
    for (const id of flooding) if (state.list.has(id)) state.flags.set(id, Date.now());
    renderList();
  },
  staff_presence(f) { onStaffPresence(f); },
  visitor_presence(f) {
    onVisitorPresence(f);
    renderList();
    renderThreadHead();
  },
  joined({ conversation: c, policy, history, visitor }) {
    const thread = ensureThread(c.id);
    thread.observing = false;
    thread.conv = c;
    thread.policy = policy;
    thread.history = history ?? [];
    thread.visitor = visitor ?? null;
    if (c.id === state.current) { renderThreadHead(); renderContext(); renderHistory(); }
  },
  transcript(f) { showTranscript(f); },
  event({ event: e }) {
    const thread = ensureThread(e.conversation_id);
    if (e.seq <= thread.lastSeq) return; // already have it (replay after re-join)
    thread.lastSeq = e.seq;
    thread.events.push(e);
    if (e.type === 'resolved' || e.type === 'closed' || e.type === 'abandoned') thread.ended = true;
    if (e.type === 'erased') eraseShown(thread, e);
    if (thread.ended || (e.type === 'message' && e.author.role === 'visitor')) signals.visitorStopped(e.conversation_id);
    if (e.client_id && state.pending.has(e.client_id) && e.author.id === state.agent?.id) {
      state.pending.delete(e.client_id);
      document.querySelector(`[data-client-id="${CSS.escape(e.client_id)}"]`)?.remove();
    }
    if (e.conversation_id !== state.current) return;
    insertEvent(e);
    renderThreadHead();
    signals.read(e.conversation_id, thread);
    renderSignals();
    // Ending disables the reply box and buttons; keep keyboard focus somewhere sensible.
    const active = document.activeElement;
    if (thread.ended && (!active || active === document.body || active.disabled)) $('transcript').focus();
  },
  ack(f) {
    const p = state.pending.get(f.client_id);
    if (p) { p.status = 'sent'; updatePending(f.client_id); }
  },
  caught_up(f) {
    if (f.conversation_id !== state.current) return;
    $('transcript').removeAttribute('aria-busy');
    signals.read(f.conversation_id, ensureThread(f.conversation_id));
  },
  observing(f) {
    handlers.joined(f);
    ensureThread(f.conversation.id).observing = true;
    if (f.conversation.id === state.current) renderThreadHead();
  },
  staff(f) { state.staff = f.items; renderTransferOptions(); },
  typing(f) { if (f.role === 'visitor') signals.heardTyping(f); },
  read(f) { if (f.role === 'visitor') signals.heardRead(f); },
  canned(f) { canned.setReplies(f.items); onCannedReplies(f.items); },
  done(f) {
    assignmentDone(f);
    if (f.request === 'close') $('close-dialog').close();
    if (f.request === 'warn') $('warn-dialog').close();
    if (f.request === 'close' || f.request === 'warn') clearSelection(f.conversation_id);
  },
  error(f) {
    if (f.code === 'unauthorized' || f.code === 'forbidden') { state.authCode = f.code; return; }
    if (f.request === 'typing' || f.request === 'read') return; // best effort, e.g. it just ended
    const p = f.client_id && state.pending.get(f.client_id);
    if (p) { p.status = 'error'; p.error = f.message; updatePending(f.client_id); return; }
    if (f.request === 'close' && $('close-dialog').open) {
      $('close-error').textContent = f.message;
      $('confirm-close').disabled = !selectedClause();
      return;
    }
    if (f.request === 'warn' && $('warn-dialog').open) {
      $('warn-error').textContent = f.message;
      $('confirm-warn').disabled = !selectedClause('warn-clause');
      return;
    }
    if (f.request === 'transfer' && $('transfer-dialog').open) {
      $('transfer-error').textContent = f.message;
      $('confirm-transfer').disabled = !$('transfer-to').value;
      return;
    }
    if (f.request === 'join' && f.code === 'not_assignee') observeInstead(f.conversation_id);
    showNotice(f.message);
  },
};

function ensureThread(id) {
  if (!state.threads.has(id)) {
    state.threads.set(id, {
      conv: null, policy: null, history: null, events: [], lastSeq: 0, ended: false, selected: new Set(),
    });
  }
  return state.threads.get(id);
}

// ---------- conversation list ----------

function relist() {
  if (!state.relisting && send({ type: 'list' })) state.relisting = true;
}

function sortKey(a, b) {
  if (a.waiting_since && b.waiting_since) return Date.parse(a.waiting_since) - Date.parse(b.waiting_since);
  if (a.waiting_since || b.waiting_since) return a.waiting_since ? -1 : 1;
  return Date.parse(b.updated_at) - Date.parse(a.updated_at);
}

function renderRow(c) {
  const wait = c.waiting_since
    ? el('span', { class: 'wait is-waiting', 'data-since': c.waiting_since }, waited(c.waiting_since))
    : el('span', { class: 'wait' }, 'answered');
  const who = c.last_author === 'agent' ? 'Agent: ' : c.last_author === 'visitor' ? 'Visitor: ' : '';
  const preview = c.last_message == null
    ? el('span', { class: 'preview muted' }, 'No messages yet')
    : el('span', { class: 'preview' }, el('span', { class: 'preview-who' }, who), said(c.last_message));
  const flag = flooding(c.id)
    ? el('span', { class: 'flag', 'data-flag': 'flooding', title: 'The visitor is sending messages faster than allowed' }, 'Flooding')
    : null;
  const button = el('button', {
    type: 'button', class: 'conv', 'data-conversation-id': c.id,
    'aria-current': c.id === state.current ? 'true' : null,
  }, el('span', { class: 'conv-top' },
    el('span', { class: 'conv-name' }, visitorLabel(c.visitor_id), flag ? ' ' : null, flag, ' ', visitorBadge(c.id),
      c.held ? ' ' : null, heldBadge(c)), wait), preview,
  assigneeBadge(c));
  const unread = notifier.count(c.id);
  if (unread) button.querySelector('.conv-name').append(' ', el('span', { class: 'unread', 'data-unread': unread }, `${unread} new`));
  button.addEventListener('click', () => openConversation(c.id));
  return el('li', { 'data-assignment': assignmentOf(c) }, button, observeButton(c));
}

function renderList() {
  const ul = $('conversations');
  const focusedId = document.activeElement?.dataset?.conversationId; // rebuilding must not lose keyboard focus
  const items = [...state.list.values()].filter(shown).sort(sortKey);
  ul.replaceChildren(...items.map(renderRow));
  renderFilterCounts();
  $('conversations-empty').hidden = items.length > 0;
  if (focusedId) ul.querySelector(`[data-conversation-id="${CSS.escape(focusedId)}"]`)?.focus();
}

// The server flags a flooding visitor at most every 10 s while it goes on; the badge stays a while.
const FLAG_SHOWN_MS = 120000;
const flooding = (id) => Date.now() - (state.flags.get(id) ?? -Infinity) < FLAG_SHOWN_MS;

function tickWaits() {
  for (const node of document.querySelectorAll('[data-since]')) node.textContent = waited(node.dataset.since);
  let expired = false;
  for (const id of state.flags.keys()) if (!flooding(id)) { state.flags.delete(id); expired = true; }
  if (expired) renderList();
}

// A visitor's new message, from a list delta: what it changes of the last message, whoever wrote
// before (an agent joining or warning changes neither).
function visitorWrote(known, item) {
  if (!known || !('last_message' in item || 'last_author' in item || 'waiting_since' in item)) return false;
  const merged = { ...known, ...item };
  return merged.last_author === 'visitor' && merged.last_seq > known.last_seq;
}

// ---------- transcript ----------

function openConversation(id) {
  if (id === state.current) return;
  if (state.current) send({ type: 'leave', conversation_id: state.current });
  signals.stop();
  state.current = id;
  notifier.read(id);
  hideNotice();
  renderList();
  renderTranscript();
  joinThread(id);
  $('reply').focus();
}

function joinThread(id) {
  const thread = ensureThread(id);
  const frame = { type: watchKind(id), conversation_id: id };
  if (thread.lastSeq > 0) frame.last_seq = thread.lastSeq; // resume without a gap or a repeat
  // Busy until caught_up, so screen readers announce new messages, not the replayed history.
  if (id === state.current) $('transcript').setAttribute('aria-busy', 'true');
  send(frame);
}

function renderTranscript() {
  const log = $('transcript');
  const thread = ensureThread(state.current);
  log.replaceChildren();
  for (const e of thread.events) insertEvent(e, false);
  for (const [clientId, p] of state.pending) if (p.conversationId === state.current) log.append(renderPending(clientId, p));
  renderThreadHead();
  renderContext();
  renderHistory();
  renderSelection();
  renderSignals();
  log.scrollTop = log.scrollHeight;
}

function resetThreadView() {
  $('transcript').replaceChildren(el('p', { class: 'empty' }, 'Select a conversation to read its transcript and reply.'));
  hideNotice();
  renderThreadHead();
  renderContext();
  renderHistory();
  renderSelection();
}

function renderThreadHead() {
  const thread = state.current ? ensureThread(state.current) : {};
  const c = thread.conv ?? state.list.get(state.current);
  const ended = thread.ended || (c && c.state !== 'open');
  $('thread-title').textContent = c ? visitorLabel(c.visitor_id) : state.current ? 'Loading…' : 'No conversation selected';
  const label = c?.state !== 'open' ? c?.state : ended ? 'ended' : 'open';
  const here = c && !ended ? ` · visitor ${visitorState(c.id)}` : '';
  $('thread-sub').textContent = c ? `${c.id} · ${label}${here}` : '';
  for (const id of ['reply', 'send', 'resolve']) $(id).disabled = !!ended || !c;
  $('end-conversation').disabled = !!ended || !thread.policy;
  $('warn').disabled = !!ended || !thread.policy;
  $('reply').placeholder = ended ? 'This conversation has ended.' : 'Write a reply… (Enter to send, Shift+Enter for a new line; / for canned replies)';
  if (ended && $('close-dialog').open) $('close-dialog').close();
  if (ended && $('warn-dialog').open) $('warn-dialog').close();
  for (const box of $('transcript').querySelectorAll('input[data-select-seq]')) box.disabled = !!ended;
  if (ended && thread.selected?.size) clearSelection(state.current);
  renderAssignment(thread, c, ended);
  showHeld(c);
}

// ---------- the visitor's earlier conversations ----------

function renderHistory() {
  const thread = state.current ? ensureThread(state.current) : null;
  $('history').hidden = !thread;
  if (!thread) return;
  const items = thread.history ?? [];
  $('history-title').textContent = items.length ? `Earlier conversations (${items.length})` : 'Earlier conversations';
  $('history-empty').textContent = thread.history ? 'No earlier conversations' : 'Loading…';
  $('history-empty').hidden = items.length > 0;
  $('history-list').replaceChildren(...items.map(historyItem));
}

function historyItem(h) {
  const outcome = h.closure ? `closed under rule ${h.closure.clause_id} “${h.closure.clause_title}”`
    : h.state === 'resolved' ? 'resolved' : h.state === 'open' ? 'open' : String(h.state);
  const kind = h.closure ? 'closed' : h.state === 'resolved' ? 'resolved' : 'open';
  const warnings = h.warnings ?? [];
  return el('li', { class: `history-item is-${kind}`, 'data-history-id': h.conversation_id },
    el('p', { class: 'history-line' },
      el('time', { datetime: h.started_at, title: `${localTime(h.started_at)} (${utcTime(h.started_at)})` },
        new Date(h.started_at).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })),
      ' · ', el('span', { class: 'outcome' }, outcome)),
    warnings.length ? el('ul', { class: 'history-warnings' }, ...warnings.map((w) =>
      el('li', {}, `Warned under rule ${w.clause_id} “${w.clause_title}”`))) : null,
    el('p', { class: 'muted small' }, `${h.conversation_id} · ${h.policy?.policy_id ?? ''} v${h.policy?.version ?? '?'}`,
      openButton(h.conversation_id, 'history-open')));
}

// ---------- the visitor's client, and their local time ----------

function localTimeIn(zone) {
  try {
    return new Intl.DateTimeFormat([], { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit', timeZoneName: 'shortOffset' }).format(new Date());
  } catch {
    return null; // not a zone this browser knows
  }
}

function browserText(b) {
  if (!b?.name) return null;
  const os = b.os ? ` on ${b.os}` : '';
  const device = b.device ? ` (${b.device})` : '';
  return `${b.name}${b.version ? ` ${b.version}` : ''}${os}${device}`;
}

function pageLink(url) {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return linked(url);
  } catch { /* shown as text below */ }
  return said(url);
}

function contextRows(v) {
  const unknown = () => el('span', { class: 'muted' }, 'unknown');
  const row = (name, key, value) => [el('dt', {}, name), el('dd', { 'data-context': key }, value ?? unknown())];
  const zone = v.time_zone;
  const clockNode = zone ? el('span', { 'data-time-zone': zone }, localTimeIn(zone) ?? 'unknown') : null;
  return [
    ...row('Page', 'page', v.page_url ? pageLink(v.page_url) : null),
    ...row('Browser', 'browser', browserText(v.browser) ? el('span', { title: v.user_agent ?? '' }, browserText(v.browser)) : v.user_agent ? said(v.user_agent) : null),
    ...row('Locale', 'locale', v.locale ? said(v.locale) : null),
    ...row('Time zone', 'time-zone', zone ? said(zone) : null),
    ...row('Local time', 'local-time', clockNode),
    ...row('Address', 'address', v.ip ? el('code', {}, v.ip) : null),
  ];
}

function renderContext() {
  const visitor = state.current ? ensureThread(state.current).visitor : null;
  $('visitor-context').hidden = !visitor;
  $('context-list').replaceChildren(...(visitor ? contextRows(visitor) : []));
}

function tickLocalTimes() {
  for (const node of document.querySelectorAll('[data-time-zone]')) node.textContent = localTimeIn(node.dataset.timeZone) ?? 'unknown';
}

// ---------- any conversation, read-only ----------

function openButton(conversationId, cls) {
  const button = el('button', { type: 'button', class: `btn btn-small ${cls}`, 'data-open-transcript': conversationId,
    'aria-label': `Open conversation ${conversationId}, read-only` }, 'Open');
  button.addEventListener('click', () => {
    if (!send({ type: 'read_transcript', conversation_id: conversationId })) showNotice('Not connected.');
  });
  return button;
}

function readOnlyEvent(e) {
  const node = (renderers[e.type] ?? renderUnknown)(e, true);
  node.removeAttribute('id');
  node.dataset.seq = String(e.seq);
  node.dataset.type = e.type;
  return node;
}

function showTranscript({ conversation: c, visitor, events }) {
  const ended = c.ended_at ? ` · ended ${localTime(c.ended_at)}` : '';
  $('transcript-dialog-title').textContent = `${visitorLabel(c.visitor_id)} · ${c.state}`;
  $('transcript-dialog-desc').textContent = `${c.id} · started ${localTime(c.started_at)}${ended}. Read-only: nothing can be done from here.`;
  $('transcript-dialog').dataset.conversationId = c.id;
  showHeld(c, 'transcript-held');
  $('transcript-context').replaceChildren(...contextRows(visitor));
  $('transcript-view').replaceChildren(...events.map(readOnlyEvent));
  if (!$('transcript-dialog').open) $('transcript-dialog').showModal();
  $('transcript-view').focus();
}

// Insert in seq order (before any later event and before pending bubbles).
function insertEvent(e, follow = true) {
  const log = $('transcript');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const node = (renderers[e.type] ?? renderUnknown)(e);
  node.dataset.seq = String(e.seq);
  node.dataset.type = e.type;
  const after = [...log.children].find((n) => n.classList.contains('pending') || Number(n.dataset.seq) > e.seq);
  log.insertBefore(node, after ?? null);
  if (follow && atBottom) log.scrollTop = log.scrollHeight;
}

const timeEl = (iso) => el('time', { datetime: iso, title: localTime(iso) }, clock(iso));

function systemLine(e, ...text) {
  return el('p', { class: 'system' }, ...text, ' · ', timeEl(e.at));
}

const renderers = {
  acceptance(e) {
    const d = e.data;
    return el('section', { id: 'acceptance', class: 'acceptance', 'aria-label': 'Policy accepted by the visitor' },
      el('p', { class: 'acceptance-line' },
        `Accepted ${d.title} v${d.version} on ${localTime(e.at)} (UTC ${e.at})`),
      el('p', { class: 'muted small' }, 'SHA-256 ', el('code', { title: d.sha256 }, shortHash(d.sha256)),
        ` · ${d.policy_id}`),
      el('details', {}, el('summary', {}, 'Show the exact text accepted'),
        el('pre', { class: 'policy-text', tabindex: '0' }, d.text)));
  },
  message(e, readOnly = false) {
    const role = e.author.role === 'agent' ? 'agent' : 'visitor';
    const name = role === 'agent' ? (e.author.name ?? 'Agent') : 'Visitor';
    const mine = role === 'agent' && e.author.id === state.agent?.id;
    const thread = readOnly ? null : ensureThread(e.conversation_id);
    // A visitor's message can be selected as evidence, to be quoted by a warning or a closure
    // (not once its text is erased: there is nothing left to quote).
    const pick = role === 'visitor' && thread && !e.erased?.text ? el('label', { class: 'evidence-pick' },
      el('input', { type: 'checkbox', 'data-select-seq': e.seq, checked: thread.selected.has(e.seq), disabled: thread.ended }),
      'Select as evidence') : null;
    return el('article', { class: `bubble from-${role}`, 'data-author-role': role },
      el('p', { class: 'bubble-meta' }, el('span', { class: 'author' }, named(name)), ' · ', timeEl(e.at),
        mine ? el('span', { class: 'delivery' }, ' · Sent') : null),
      erasedField(e, 'text') ?? el('p', { class: 'bubble-text' }, linked(e.data.text)), pick);
  },
  agent_joined(e) {
    return systemLine(e, named(e.author.name ?? 'An agent'), ' joined');
  },
  assigned(e) {
    const to = e.data.agent, by = named(e.data.by?.name ?? 'An agent');
    if (!to) return systemLine(e, by, ' put the conversation back in the queue');
    if (e.data.reason === 'claimed') return systemLine(e, by, ' claimed the conversation');
    if (e.data.reason === 'auto') return systemLine(e, 'Parley assigned the conversation to ', named(to.name ?? 'an agent'), ' (least busy available)');
    return systemLine(e, by, ' transferred the conversation to ', named(to.name ?? 'an agent'));
  },
  resolved(e) {
    const note = e.data?.note ? [' — “', said(e.data.note), '”'] : [];
    return systemLine(e, named(e.author.name ?? 'An agent'), ' resolved the conversation', ...note);
  },
  abandoned(e) {
    return systemLine(e, 'The visitor had gone since ', timeEl(e.data.gone_since), '; Parley ended the conversation as abandoned');
  },
  erased(e) {
    const seqs = e.data.fields.map((f) => `#${f.seq}`).join(', ');
    return systemLine(e, 'Personal data was erased from events ', seqs, ' (', said(e.data.basis), ')');
  },
  contact_left(e) {
    return el('p', { class: 'system contact-left' }, 'The visitor left an e-mail address to be answered at: ',
      erasedField(e, 'email') ?? said(e.data.email, { class: 'contact-email' }), ' · ', timeEl(e.at));
  },
  closed(e) {
    const block = citation(e, 'closed-block', 'Conversation ended for a policy breach',
      [named(e.author.name ?? 'An agent'), ` ended the conversation citing clause ${e.data.clause.id} — `, clauseTitle(e.data)]);
    if (e.data.bar) block.querySelector('.citation-title').after(barPlaced(e.data.bar));
    return block;
  },
  warning(e) {
    return citation(e, 'warning-block', 'Warning to the visitor',
      [named(e.author.name ?? 'An agent'), ` warned the visitor citing clause ${e.data.clause.id} — `, clauseTitle(e.data)]);
  },
};

// A warning or a closure: the clause, the note, the quoted messages and what the visitor was shown.
function citation(e, cls, label, title) {
  const d = e.data;
  const quoted = d.messages ?? [];
  return el('section', { class: cls, 'aria-label': label },
    el('p', { class: 'citation-title' }, ...title),
    ...citedClause(d),
    d.note ? el('p', {}, el('strong', {}, 'Note: '), said(d.note)) : null,
    quoted.length ? el('div', { class: 'quoted' }, el('p', { class: 'quoted-label' }, `Messages quoted (${quoted.length}):`),
      quotedList(quoted)) : null,
    d.notice ? el('details', {}, el('summary', {}, 'What the visitor was shown'),
      el('p', { class: 'notice-text', ...writtenIn(d.language) }, said(d.notice))) : null,
    el('p', { class: 'muted small' }, `${d.policy_id} v${d.version} · `, timeEl(e.at)));
}

const clauseTitle = (d) => el('span', writtenIn(d.language), d.clause.title);

// The clause as the visitor read it and, if that was a translation, as the governing text has it.
function citedClause(d) {
  if (!d.governing) return [el('blockquote', { class: 'clause-quote', ...writtenIn(d.language) }, said(d.clause.text))];
  const g = d.governing;
  return [
    el('p', { class: 'clause-version-label' }, `Visitor read (${languageName(d.language)}):`),
    el('blockquote', { class: 'clause-quote', ...writtenIn(d.language) }, said(d.clause.text)),
    el('p', { class: 'clause-version-label' }, `Governs (${languageName(g.language)}): ${g.clause.id} `,
      el('span', writtenIn(g.language), g.clause.title)),
    el('blockquote', { class: 'clause-quote governing-quote', ...writtenIn(g.language) }, said(g.clause.text)),
  ];
}

// The bar placed with a closure: whom it keeps out, and until when.
function barPlaced(bar) {
  const who = bar.network ? `the visitor and the network ${bar.network}` : 'the visitor';
  return el('p', { class: 'bar-placed' }, el('strong', {}, 'Bar placed: '),
    `${who}, ${bar.until ? 'until ' : ''}${untilText(bar.until)}.`);
}

function quotedList(messages) {
  return el('ol', { class: 'quoted-list' }, ...messages.map((m) =>
    el('li', { 'data-quoted-seq': m.seq }, el('span', { class: 'quoted-seq' }, `#${m.seq} `), el('q', {}, said(m.text)))));
}

// A personal field erased since (transcript format 2: its value is null, its commitment kept).
function erasedField(e, name) {
  const record = e.erased?.[name];
  return record ? el('em', { class: 'erased', title: `Erased ${record.at} (${record.basis})` }, '(erased)') : null;
}

// An erasure record arrived: the events it names lose their values here too, in the thread
// kept for re-rendering and on screen, as if they had been loaded after the erasure.
function eraseShown(thread, record) {
  const when = { at: record.at, basis: record.data.basis };
  for (const { seq, fields } of record.data.fields) {
    const target = thread.events.find((ev) => ev.seq === seq);
    if (!target) continue;
    for (const name of fields) {
      target.erased = { ...target.erased, [name]: when };
      if (target.data && name in target.data) target.data = { ...target.data, [name]: null };
    }
    thread.selected.delete(seq);
    const shown = record.conversation_id === state.current && $('transcript').querySelector(`[data-seq="${seq}"]`);
    if (!shown) continue;
    const node = (renderers[target.type] ?? renderUnknown)(target);
    Object.assign(node.dataset, { seq: shown.dataset.seq, type: shown.dataset.type });
    shown.replaceWith(node);
  }
}

function renderUnknown(e) { return systemLine(e, `Event: ${e.type}`); }

// ---------- replies ----------

function renderPending(clientId, p) {
  const status = p.status === 'error' ? `Not sent: ${p.error}` : p.status === 'sent' ? 'Sent' : 'Sending…';
  const failed = p.status === 'error';
  const retry = failed ? el('button', { type: 'button', class: 'link' }, 'Retry') : null;
  retry?.addEventListener('click', () => { p.status = 'sending'; updatePending(clientId); sendReply(clientId); });
  const edit = failed ? el('button', { type: 'button', class: 'link' }, 'Edit') : null;
  edit?.addEventListener('click', () => { // back into the reply box, e.g. to shorten it
    state.pending.delete(clientId);
    document.querySelector(`[data-client-id="${CSS.escape(clientId)}"]`)?.remove();
    $('reply').value = p.text;
    $('reply').focus();
  });
  // The delivery status goes under the text, so an error stays visible even on a long message.
  return el('article', { class: `bubble from-agent pending${failed ? ' failed' : ''}`, 'data-client-id': clientId },
    el('p', { class: 'bubble-meta' }, el('span', { class: 'author' }, named(state.agent?.name ?? 'You'))),
    el('p', { class: 'bubble-text' }, said(p.text)),
    el('p', { class: 'bubble-meta' }, el('span', { class: 'delivery', role: failed ? 'alert' : null }, status),
      failed ? ' ' : null, retry, failed ? ' · ' : null, edit));
}

function updatePending(clientId) {
  const old = document.querySelector(`[data-client-id="${CSS.escape(clientId)}"]`);
  const p = state.pending.get(clientId);
  if (old && p) old.replaceWith(renderPending(clientId, p));
}

function sendReply(clientId) {
  const p = state.pending.get(clientId);
  send({ type: 'reply', conversation_id: p.conversationId, client_id: clientId, text: p.text });
}

function submitReply() {
  const box = $('reply');
  const text = box.value;
  if (!text.trim() || !state.current || box.disabled) return;
  const clientId = newClientId();
  const p = { conversationId: state.current, text, status: 'sending', error: null };
  state.pending.set(clientId, p);
  $('transcript').append(renderPending(clientId, p));
  $('transcript').scrollTop = $('transcript').scrollHeight;
  box.value = '';
  signals.stop();
  sendReply(clientId); // if offline, it goes out after the reconnect's welcome
}

// ---------- evidence selection ----------

const MAX_EVIDENCE = 20; // the most messages one warning or closure may quote

function selectedMessages(thread) {
  return [...thread.selected].sort((a, b) => a - b).map((seq) => ({
    seq, text: thread.events.find((e) => e.seq === seq && e.type === 'message')?.data.text ?? '',
  }));
}

function onSelect(ev) {
  const box = ev.target.closest('input[data-select-seq]');
  if (!box || !state.current) return;
  const thread = ensureThread(state.current);
  const seq = Number(box.dataset.selectSeq);
  if (box.checked && thread.selected.size >= MAX_EVIDENCE) {
    box.checked = false;
    showNotice(`Select at most ${MAX_EVIDENCE} messages as evidence.`);
    return;
  }
  if (box.checked) thread.selected.add(seq); else thread.selected.delete(seq);
  renderSelection();
}

function clearSelection(id) {
  const thread = state.threads.get(id);
  if (!thread) return;
  thread.selected.clear();
  if (id !== state.current) return;
  for (const box of $('transcript').querySelectorAll('input[data-select-seq]')) box.checked = false;
  renderSelection();
}

function renderSelection() {
  const n = state.current ? ensureThread(state.current).selected.size : 0;
  $('selection').hidden = n === 0;
  $('selection-count').textContent = `${n} message${n === 1 ? '' : 's'} selected as evidence`;
}

// "Messages cited: N" and their texts, so the agent sees what the visitor will be shown.
function renderCited(id) {
  const quoted = selectedMessages(ensureThread(state.current));
  $(id).replaceChildren(el('p', { class: 'cited-count' }, `Messages cited: ${quoted.length}`),
    quoted.length ? quotedList(quoted)
      : el('p', { class: 'muted small' }, 'To quote messages, tick “Select as evidence” on them in the transcript.'));
}

// ---------- warn and end conversation ----------

const selectedClause = (name = 'clause') => document.querySelector(`input[name="${name}"]:checked`)?.value ?? null;

// The clauses an agent cites by id. For a visitor who accepted a translation, each names its
// governing title and the visitor's, and shows the text they read beside the one that governs.
function clauseOptions(policy, name) {
  const governing = policy.governing ? new Map(policy.governing.clauses.map((g) => [g.id, g])) : null;
  return policy.clauses.map((cl, i) => {
    const head = `${name}-${i}-head`, body = `${name}-${i}-text`;
    const radio = el('input', { type: 'radio', name, value: cl.id, 'aria-labelledby': head, 'aria-describedby': body });
    if (!governing) {
      return el('label', { class: 'clause' }, radio,
        el('span', { class: 'clause-body' },
          el('span', { id: head, class: 'clause-head' }, `${cl.id} ${cl.title}`),
          el('span', { id: body, class: 'clause-text', ...writtenIn(policy.language) }, cl.text)));
    }
    const g = governing.get(cl.id);
    return el('label', { class: 'clause' }, radio,
      el('span', { class: 'clause-body' },
        el('span', { id: head, class: 'clause-head' }, `${cl.id} ${g.title}`,
          el('span', { class: 'clause-visitor-title' }, ` · ${languageName(policy.language)}: `,
            el('span', writtenIn(policy.language), cl.title))),
        el('span', { id: body, class: 'clause-text clause-texts' },
          textIn('Visitor read', policy.language, cl.text),
          textIn('Governs', policy.governing.language, g.text))));
  });
}

// lang and dir for text in a policy's language (nothing for a citation that names none: English).
function writtenIn(language) {
  if (!language) return {};
  return { lang: language, dir: RIGHT_TO_LEFT.has(language.split('-')[0].toLowerCase()) ? 'rtl' : 'ltr' };
}

// A language by its own name ("Deutsch", "العربية"), or its tag if the browser cannot name it.
function languageName(language) {
  try {
    return new Intl.DisplayNames([language], { type: 'language' }).of(language) ?? language;
  } catch {
    return language;
  }
}

// "Visitor read (Deutsch): …" or "Governs (English): …", the words marked with their language.
function textIn(label, language, text) {
  return el('span', { class: 'clause-version' },
    el('span', { class: 'clause-version-label' }, `${label} (${languageName(language)}): `),
    el('span', { class: 'clause-words', ...writtenIn(language) }, text));
}

function openCloseDialog() {
  const thread = ensureThread(state.current);
  const policy = thread.policy;
  if (!policy) return;
  $('clause-legend').textContent = `Clause of ${policy.title} v${policy.version} (accepted by this visitor)`;
  $('clause-options').replaceChildren(...clauseOptions(policy, 'clause'));
  $('close-note').value = '';
  $('close-error').textContent = '';
  $('bar-duration').value = '';
  $('bar-ip').checked = false;
  $('bar-network').value = '';
  updateBar();
  renderCited('close-cited');
  updateConfirm();
  $('close-dialog').showModal();
  // On the first clause, not the first thing focusable: by keyboard, clause, note, confirm.
  $('clause-options').querySelector('input[name="clause"]')?.focus();
}

function openWarnDialog() {
  const thread = ensureThread(state.current);
  const policy = thread.policy;
  if (!policy) return;
  $('warn-clause-legend').textContent = `Clause of ${policy.title} v${policy.version} (accepted by this visitor)`;
  $('warn-clause-options').replaceChildren(...clauseOptions(policy, 'warn-clause'));
  $('warn-note').value = '';
  $('warn-error').textContent = '';
  renderCited('warn-cited');
  updateWarnConfirm();
  $('warn-dialog').showModal();
}

function updateWarnConfirm() {
  const clause = selectedClause('warn-clause');
  $('confirm-warn').disabled = !clause;
  $('confirm-warn').textContent = clause ? `Warn citing clause ${clause}` : 'Warn citing a clause';
}

// The warn or close frame: clause, optional note, and the selected messages as evidence.
function citingFrame(type, clause, noteId) {
  const frame = { type, conversation_id: state.current, clause_id: clause };
  const note = $(noteId).value.trim();
  if (note) frame.note = note;
  const seqs = selectedMessages(ensureThread(state.current)).map((m) => m.seq);
  if (seqs.length) frame.message_seqs = seqs;
  return frame;
}

function confirmWarn(ev) {
  ev.preventDefault();
  const clause = selectedClause('warn-clause');
  if (!clause || !state.current) return;
  $('warn-error').textContent = '';
  if (!send(citingFrame('warn', clause, 'warn-note'))) {
    $('warn-error').textContent = 'Not connected. Try again when the console reconnects.';
    return;
  }
  $('confirm-warn').disabled = true;
}

function updateConfirm() {
  const clause = selectedClause();
  const barring = $('bar-duration').value ? ' and bar the visitor' : '';
  $('confirm-close').disabled = !clause;
  $('confirm-close').textContent = clause ? `End conversation citing clause ${clause}${barring}` : 'End conversation citing a clause';
}

// The address and network only mean something with a duration.
function updateBar() {
  const off = !$('bar-duration').value;
  $('bar-ip').disabled = off;
  $('bar-network').disabled = off;
  updateConfirm();
}

// {hours, ip, network} for the close frame, or null for "Don't bar".
function barRequest() {
  const duration = $('bar-duration').value;
  if (!duration) return null;
  return {
    hours: duration === 'permanent' ? null : Number(duration),
    ip: $('bar-ip').checked,
    network: $('bar-network').value.trim() || null,
  };
}

function confirmClose(ev) {
  ev.preventDefault();
  const clause = selectedClause();
  if (!clause || !state.current) return;
  $('close-error').textContent = '';
  const frame = citingFrame('close', clause, 'close-note');
  const bar = barRequest();
  if (bar) frame.bar = bar;
  if (!send(frame)) { $('close-error').textContent = 'Not connected. Try again when the console reconnects.'; return; }
  $('confirm-close').disabled = true;
}

// ---------- bans (admins only) ----------

const ADMIN_VIEWS = new Set(['bans', 'canned']);

function showView(view, load = true) {
  state.view = view;
  $('app-view').hidden = view !== 'conversations';
  $('bans-view').hidden = view !== 'bans';
  $('ended-view').hidden = view !== 'ended';
  $('canned-view').hidden = view !== 'canned';
  $('canned-tab').setAttribute('aria-pressed', String(view === 'canned'));
  $('conversations-tab').setAttribute('aria-pressed', String(view === 'conversations'));
  $('bans-tab').setAttribute('aria-pressed', String(view === 'bans'));
  $('ended-tab').setAttribute('aria-pressed', String(view === 'ended'));
  if (view === 'bans' && load) loadBans();
  if (view === 'ended' && load && !state.endedQuery) searchEnded();
}

// The admin HTTP API, with the token this tab signed in with; a body is POSTed unless a
// method is given.
async function adminApi(path, body, method = body === undefined ? 'GET' : 'POST') {
  const token = sessionStorage.getItem(TOKEN_KEY) ?? state.token;
  const init = { method, headers: { Authorization: `Bearer ${token}` } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const answer = await res.json().catch(() => null);
  if (!res.ok) throw new Error(answer?.error?.message ?? `The server answered ${res.status}.`);
  return answer;
}

async function loadBans(message = '') {
  $('bans-status').textContent = 'Loading…';
  try {
    const { items } = await adminApi('/api/admin/bans');
    renderBans(items);
    const n = items.length;
    $('bans-status').textContent = `${message ? `${message} ` : ''}${n} bar${n === 1 ? '' : 's'} in force · updated ${clock(new Date().toISOString())}`;
  } catch (err) {
    $('bans-status').textContent = `Could not load the bars: ${err.message}`;
  }
}

function untilText(until) {
  return until ? `${localTime(until)} (${utcTime(until)})` : 'permanently';
}

function renderBans(items) {
  $('bans-rows').replaceChildren(...items.map((b) => {
    const lift = el('button', { type: 'button', class: 'btn btn-small', 'data-lift': b.id,
      'aria-label': `Lift the bar on ${visitorLabel(b.visitor_id)}` }, 'Lift…');
    lift.addEventListener('click', () => openLiftDialog(b));
    return el('tr', { 'data-ban-id': b.id },
      el('td', {}, el('span', { title: b.visitor_id }, visitorLabel(b.visitor_id))),
      el('td', {}, b.network ? el('code', {}, b.network) : el('span', { class: 'muted' }, 'visitor only')),
      el('td', { title: b.clause?.text ?? '' }, `${b.clause?.id} ${b.clause?.title}`),
      el('td', {}, b.until ? el('time', { datetime: b.until }, untilText(b.until)) : 'permanently'),
      el('td', {}, el('code', {}, b.conversation_id)),
      el('td', { class: 'bans-actions' }, lift));
  }));
  $('bans').hidden = items.length === 0;
  $('bans-empty').hidden = items.length > 0;
}

function openLiftDialog(ban) {
  state.lifting = ban;
  const who = visitorLabel(ban.visitor_id) + (ban.network ? ` and ${ban.network}` : '');
  $('lift-dialog-desc').textContent = `${who}: barred under rule ${ban.clause?.id} “${ban.clause?.title}” ` +
    `${ban.until ? `until ${untilText(ban.until)}` : 'permanently'}. Once lifted, they can start a conversation again.`;
  $('lift-reason').value = '';
  $('lift-error').textContent = '';
  $('confirm-lift').disabled = true;
  $('lift-dialog').showModal();
  $('lift-reason').focus();
}

async function confirmLift(ev) {
  ev.preventDefault();
  const ban = state.lifting;
  const reason = $('lift-reason').value.trim();
  if (!ban || !reason) return;
  $('confirm-lift').disabled = true;
  $('lift-error').textContent = '';
  try {
    await adminApi(`/api/admin/bans/${encodeURIComponent(ban.id)}/lift`, { reason });
  } catch (err) {
    $('lift-error').textContent = err.message;
    $('confirm-lift').disabled = false;
    return;
  }
  state.lifting = null;
  $('lift-dialog').close();
  $('refresh-bans').focus();
  await loadBans(`Lifted the bar on ${visitorLabel(ban.visitor_id)}.`);
}

// ---------- queue and assignment (docs/protocol.md §11) ----------

// Whose a conversation is, from this agent's point of view.
function assignmentOf(c) {
  if (!c?.assignee) return 'queue';
  return c.assignee.id === state.agent?.id ? 'mine' : 'others';
}

const shown = (c) => state.filter === 'all' || assignmentOf(c) === state.filter;

function renderFilterCounts() {
  const counts = { queue: 0, mine: 0, others: 0 };
  for (const c of state.list.values()) counts[assignmentOf(c)] += 1;
  for (const node of document.querySelectorAll('[data-filter-count]')) node.textContent = String(counts[node.dataset.filterCount]);
  $('conversation-count').textContent = String(state.list.size); // every open one, whatever the view
  const empty = state.list.size > 0 && !$('conversations').children.length;
  $('conversations-empty').textContent = empty ? `No conversations here: ${state.list.size} in other views` : 'No open conversations';
  if (empty) $('conversations-empty').hidden = false;
}

function setFilter(filter) {
  state.filter = filter;
  for (const b of document.querySelectorAll('[data-filter]')) b.setAttribute('aria-pressed', String(b.dataset.filter === filter));
  renderList();
}

function assigneeBadge(c) {
  const kind = assignmentOf(c);
  const text = kind === 'queue' ? ['In the queue'] : kind === 'mine' ? ['Yours'] : ['With ', named(c.assignee.name ?? 'an agent')];
  return el('span', { class: `assignee is-${kind}`, 'data-assignee': kind }, ...text);
}

// A queued conversation can be looked at without claiming it.
function observeButton(c) {
  if (assignmentOf(c) !== 'queue') return null;
  const b = el('button', { type: 'button', class: 'btn btn-small btn-quiet observe', 'data-observe': c.id,
    'aria-label': `Observe ${visitorLabel(c.visitor_id)} without claiming it` }, 'Observe');
  b.addEventListener('click', () => observeConversation(c.id));
  return b;
}

// Join what is ours or in the queue (joining claims it); observe what another agent holds.
function watchKind(id) {
  const thread = ensureThread(id);
  const c = state.list.get(id) ?? thread.conv;
  if (thread.observing) return 'observe';
  return c && c.state === 'open' && assignmentOf(c) === 'others' ? 'observe' : 'join';
}

function observeConversation(id) {
  ensureThread(id).observing = true;
  if (id === state.current) { joinThread(id); renderThreadHead(); return; }
  openConversation(id);
}

// Someone claimed it between our list and our join: watch it read-only instead.
function observeInstead(id) {
  if (id !== state.current) return;
  ensureThread(id).observing = true;
  joinThread(id);
}

function readOnly(thread, c) {
  if (!c || c.state !== 'open') return false;
  return !!thread.observing || (assignmentOf(c) !== 'mine' && state.agent?.role !== 'admin');
}

function renderAssignment(thread, c, ended) {
  const open = !!c && !ended;
  const kind = assignmentOf(c);
  const admin = state.agent?.role === 'admin';
  if (open && thread.observing && kind === 'mine') { // transferred to us while we watched: join
    thread.observing = false;
    joinThread(state.current);
  }
  const looking = open && readOnly(thread, c);
  $('claim').hidden = !(open && kind === 'queue');
  $('transfer').hidden = !(open && (kind === 'mine' || admin));
  $('release').hidden = !(open && c.assignee && (kind === 'mine' || admin));
  $('observing').hidden = !looking;
  if (looking) {
    const who = kind === 'queue' ? ['This conversation is in the queue. Claim it to reply.']
      : kind === 'mine' ? ['It is assigned to you: open it again from the list to reply.']
      : [named(c.assignee.name ?? 'Another agent'), ' is handling this conversation.'];
    $('observing').replaceChildren(el('strong', {}, 'Observing, read-only. '), ...who);
    for (const id of ['reply', 'send', 'resolve', 'warn', 'end-conversation']) $(id).disabled = true;
    for (const box of $('transcript').querySelectorAll('input[data-select-seq]')) box.disabled = true;
    $('reply').placeholder = 'You are observing this conversation: you cannot reply.';
  }
}

function claimCurrent() {
  if (state.current && !send({ type: 'claim', conversation_id: state.current })) showNotice('Not connected.');
}

function releaseCurrent() {
  if (state.current && !send({ type: 'release', conversation_id: state.current })) showNotice('Not connected.');
}

function assignmentDone(f) {
  if (f.request === 'claim') {
    const thread = ensureThread(f.conversation_id);
    thread.observing = false;
    if (f.conversation_id === state.current) { joinThread(f.conversation_id); $('reply').focus(); }
  }
  if (f.request === 'transfer' && $('transfer-dialog').open) { $('transfer-dialog').close(); $('transfer').focus(); }
}

function renderTransferOptions() {
  const c = state.current ? ensureThread(state.current).conv ?? state.list.get(state.current) : null;
  const choices = state.staff.filter((s) => s.id !== c?.assignee?.id);
  $('transfer-to').replaceChildren(el('option', { value: '' }, choices.length ? 'Choose an agent' : 'No other agent can take it'),
    ...choices.map((s) => el('option', { value: s.id }, `${s.name}${s.id === state.agent?.id ? ' (you)' : ''}${s.role === 'admin' ? ' · admin' : ''}`)));
  $('confirm-transfer').disabled = true;
}

function openTransferDialog() {
  if (!state.current) return;
  $('transfer-error').textContent = '';
  renderTransferOptions();
  send({ type: 'staff' }); // the list may have changed since: refreshed when it comes
  $('transfer-dialog').showModal();
  $('transfer-to').focus();
}

function confirmTransfer(ev) {
  ev.preventDefault();
  const to = $('transfer-to').value;
  if (!to || !state.current) return;
  $('transfer-error').textContent = '';
  if (!send({ type: 'transfer', conversation_id: state.current, to })) {
    $('transfer-error').textContent = 'Not connected. Try again when the console reconnects.';
    return;
  }
  $('confirm-transfer').disabled = true;
}

function initAssignment() {
  for (const b of document.querySelectorAll('[data-filter]')) b.addEventListener('click', () => setFilter(b.dataset.filter));
  $('claim').addEventListener('click', claimCurrent);
  $('release').addEventListener('click', releaseCurrent);
  $('transfer').addEventListener('click', openTransferDialog);
  $('transfer-to').addEventListener('change', () => { $('confirm-transfer').disabled = !$('transfer-to').value; });
  $('transfer-form').addEventListener('submit', confirmTransfer);
  $('cancel-transfer').addEventListener('click', () => $('transfer-dialog').close());
}

// ---------- ended conversations ----------

// The day inputs are the agent's own days: from the start of the first to the end of the last.
function endedQuery() {
  const q = new URLSearchParams();
  const visitorId = $('ended-visitor').value.trim();
  const conversationId = $('ended-conversation').value.trim();
  if (visitorId) q.set('visitor_id', visitorId);
  if (conversationId) q.set('conversation_id', conversationId);
  const from = $('ended-from').value;
  const to = $('ended-to').value;
  if (from) q.set('since', new Date(`${from}T00:00:00`).toISOString());
  if (to) {
    const next = new Date(`${to}T00:00:00`);
    next.setDate(next.getDate() + 1);
    q.set('until', next.toISOString());
  }
  return q;
}

function searchEnded(ev) {
  ev?.preventDefault();
  state.endedQuery = endedQuery();
  state.endedCursor = null;
  loadEnded(false);
}

async function loadEnded(more) {
  const q = new URLSearchParams(state.endedQuery);
  if (more) q.set('cursor', state.endedCursor);
  $('ended-status').textContent = 'Searching…';
  let page;
  try {
    page = await adminApi(`/api/conversations/ended?${q}`);
  } catch (err) {
    $('ended-status').textContent = `Could not search: ${err.message}`;
    return;
  }
  const rows = page.items.map(endedRow);
  if (more) $('ended-rows').append(...rows); else $('ended-rows').replaceChildren(...rows);
  state.endedCursor = page.next_cursor;
  $('ended-more').hidden = !page.next_cursor;
  const n = $('ended-rows').children.length;
  $('ended').hidden = n === 0;
  $('ended-status').textContent = n ? `${n} ended conversation${n === 1 ? '' : 's'}${page.next_cursor ? ', more to show' : ''}`
    : 'No ended conversation matches';
}

function endedRow(c) {
  const outcome = c.state === 'closed' ? `closed under rule ${c.closed_clause}` : String(c.state);
  return el('tr', { 'data-ended-id': c.id },
    el('td', {}, el('time', { datetime: c.ended_at, title: utcTime(c.ended_at) }, localTime(c.ended_at))),
    el('td', {}, el('span', { title: c.visitor_id }, visitorLabel(c.visitor_id)), ' ', el('code', { class: 'muted' }, c.visitor_id)),
    el('td', { class: `outcome is-${c.state}` }, outcome),
    el('td', {}, el('code', {}, c.id)),
    el('td', { class: 'bans-actions' }, openButton(c.id, 'ended-open')));
}

// ---------- notices ----------

function showNotice(text) { $('notice').textContent = text; $('notice').hidden = false; }
function hideNotice() { $('notice').hidden = true; $('notice').textContent = ''; }

// ---------- wiring ----------

function init() {
  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = $('token').value.trim();
    if (!token) { $('signin-error').textContent = 'Enter your agent token.'; return; }
    signIn(token);
  });
  $('sign-out').addEventListener('click', () => showSignIn(''));
  $('composer').addEventListener('submit', (ev) => { ev.preventDefault(); submitReply(); $('reply').focus(); });
  $('reply').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); submitReply(); }
  });
  $('resolve').addEventListener('click', () => {
    if (state.current && !send({ type: 'resolve', conversation_id: state.current })) showNotice('Not connected.');
  });
  $('end-conversation').addEventListener('click', openCloseDialog);
  $('clause-options').addEventListener('change', updateConfirm);
  $('bar-duration').addEventListener('change', updateBar);
  $('bar-network').addEventListener('input', () => { $('close-error').textContent = ''; });
  $('close-form').addEventListener('submit', confirmClose);
  $('close-note').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); $('close-form').requestSubmit(); }
  });
  $('cancel-close').addEventListener('click', () => $('close-dialog').close());
  $('warn').addEventListener('click', openWarnDialog);
  $('warn-clause-options').addEventListener('change', updateWarnConfirm);
  $('warn-form').addEventListener('submit', confirmWarn);
  $('cancel-warn').addEventListener('click', () => $('warn-dialog').close());
  $('transcript').addEventListener('change', onSelect);
  $('conversations-tab').addEventListener('click', () => showView('conversations'));
  $('bans-tab').addEventListener('click', () => showView('bans'));
  $('ended-tab').addEventListener('click', () => showView('ended'));
  $('canned-tab').addEventListener('click', () => showView('canned'));
  initCannedAdmin({ api: adminApi });
  $('ended-form').addEventListener('submit', searchEnded);
  $('ended-more').addEventListener('click', () => loadEnded(true));
  $('close-transcript').addEventListener('click', () => $('transcript-dialog').close());
  $('refresh-bans').addEventListener('click', () => loadBans());
  $('lift-form').addEventListener('submit', confirmLift);
  $('lift-reason').addEventListener('input', () => { $('confirm-lift').disabled = !$('lift-reason').value.trim(); });
  $('cancel-lift').addEventListener('click', () => $('lift-dialog').close());
  $('clear-selection').addEventListener('click', () => clearSelection(state.current));
  // Arrow keys move between conversation rows, as in a listbox.
  $('conversations').addEventListener('keydown', (ev) => {
    if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return;
    const rows = [...$('conversations').querySelectorAll('button.conv')];
    const i = rows.indexOf(document.activeElement);
    const next = rows[i + (ev.key === 'ArrowDown' ? 1 : -1)];
    if (next) { ev.preventDefault(); next.focus(); }
  });
  setInterval(tickWaits, 1000);
  initAssignment();
  setInterval(tickLocalTimes, 1000);
  initPresence({ send, named, me: () => state.agent });
  $('reply').addEventListener('input', () => signals.input(state.current, $('reply').value));
  document.addEventListener('visibilitychange', () => {
    if (document.hidden || !state.current) return;
    notifier.read(state.current);
    renderList();
    signals.read(state.current, ensureThread(state.current));
  });

  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    $('signin-view').hidden = true; // a reload stays in the console; the form returns if refused
    $('app-view').hidden = false;
    signIn(saved);
  } else {
    $('token').focus();
  }
}

init();
