// Typing indicators and read state in the console: ephemeral, never stored (docs/protocol.md §6.9).

// While the agent types, "typing" goes out at once and again this often; "stopped" after this
// long without a keystroke, or when the box is emptied or the reply sent.
const TYPING_REFRESH_MS = 2000;
const TYPING_IDLE_MS = 4000;

export class Signals {
  // send(frame) -> bool; changed(conversationId) re-renders what depends on a conversation's signals.
  constructor(send, changed) {
    this.send = send;
    this.changed = changed;
    this.sentAt = 0;
    this.sentFor = null;  // the conversation our last "typing: true" was about
    this.idle = null;
    this.typing = new Map();  // conversation id -> expiry timer, while its visitor types
    this.seen = new Map();    // conversation id -> the highest seq the visitor has read
  }

  // ---- what the agent does ----

  input(conversationId, text) {
    clearTimeout(this.idle);
    if (!text.trim() || conversationId !== this.sentFor) this.stop();
    if (!text.trim() || !conversationId) return;
    const now = Date.now();
    if (now - this.sentAt >= TYPING_REFRESH_MS && this.send({ type: 'typing', conversation_id: conversationId, state: true })) {
      this.sentAt = now;
      this.sentFor = conversationId;
    }
    this.idle = setTimeout(() => this.stop(), TYPING_IDLE_MS);
  }

  stop() {
    clearTimeout(this.idle);
    if (this.sentFor) this.send({ type: 'typing', conversation_id: this.sentFor, state: false });
    this.sentAt = 0;
    this.sentFor = null;
  }

  // Read up to the thread's last event, once per seq, while the agent can see it.
  read(conversationId, thread) {
    if (document.visibilityState !== 'visible' || !thread.lastSeq || thread.ended) return;
    if ((thread.readSent ?? 0) >= thread.lastSeq) return;
    if (this.send({ type: 'read', conversation_id: conversationId, seq: thread.lastSeq })) thread.readSent = thread.lastSeq;
  }

  // ---- what the visitor does ----

  heardTyping(f) {
    clearTimeout(this.typing.get(f.conversation_id));
    this.typing.delete(f.conversation_id);
    if (f.state) this.typing.set(f.conversation_id, setTimeout(() => this.visitorStopped(f.conversation_id), (f.expires_in ?? 6) * 1000));
    this.changed(f.conversation_id);
  }

  visitorStopped(conversationId) {
    if (!this.typing.has(conversationId)) return;
    clearTimeout(this.typing.get(conversationId));
    this.typing.delete(conversationId);
    this.changed(conversationId);
  }

  heardRead(f) {
    if (f.seq <= (this.seen.get(f.conversation_id) ?? 0)) return;
    this.seen.set(f.conversation_id, f.seq);
    this.changed(f.conversation_id);
  }

  // ---- the view of the conversation shown ----

  render(conversationId, indicator, transcript) {
    const text = conversationId && this.typing.has(conversationId) ? 'Visitor is typing…' : '';
    if (indicator.textContent !== text) indicator.textContent = text; // polite: announced once
    const seen = this.seen.get(conversationId) ?? 0;
    const replies = [...transcript.querySelectorAll('article[data-author-role="agent"][data-seq]')]
      .filter((node) => Number(node.dataset.seq) <= seen);
    const last = replies[replies.length - 1];
    if (last?.querySelector('.seen')) return;
    for (const old of transcript.querySelectorAll('.seen')) old.remove();
    last?.querySelector('.bubble-meta')?.append(Object.assign(document.createElement('span'),
      { className: 'seen', id: 'seen', textContent: ' · Seen' }));
  }
}
