// Telling an agent that a visitor wrote where they are not looking: a short sound (Web Audio, no
// file), a desktop notification (only once the agent allowed it, from a click), and the unread
// count in the tab's title, e.g. "(3) Parley · Agent console".

export class Notifier {
  // button: "Enable notifications"; open(conversationId): show that conversation.
  constructor(button, open) {
    this.button = button;
    this.open = open;
    this.title = document.title;
    this.unread = new Map(); // conversation id -> messages not seen yet
    this.audio = null;
    // Browsers let a page play sound only after a user gesture: the first one unlocks it.
    const unlock = () => { this.unlockAudio(); };
    document.addEventListener('pointerdown', unlock, { once: true });
    document.addEventListener('keydown', unlock, { once: true });
    button.addEventListener('click', () => this.enable());
    this.renderButton();
  }

  unlockAudio() {
    const Context = window.AudioContext ?? window.webkitAudioContext;
    if (!Context) return;
    this.audio ??= new Context();
    if (this.audio.state === 'suspended') this.audio.resume();
  }

  // A soft two-tone chime, a quarter of a second long.
  chime() {
    const ctx = this.audio;
    if (!ctx || ctx.state !== 'running') return;
    const now = ctx.currentTime;
    const gain = ctx.createGain();
    gain.connect(ctx.destination);
    gain.gain.setValueAtTime(0.0001, now);
    gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.25);
    for (const [freq, at] of [[880, 0], [1320, 0.09]]) {
      const tone = ctx.createOscillator();
      tone.frequency.value = freq;
      tone.connect(gain);
      tone.start(now + at);
      tone.stop(now + 0.25);
    }
  }

  async enable() {
    this.unlockAudio();
    if (!('Notification' in window)) return;
    if (Notification.permission === 'default') await Notification.requestPermission();
    this.renderButton();
  }

  renderButton() {
    const supported = 'Notification' in window;
    const permission = supported ? Notification.permission : 'denied';
    this.button.hidden = !supported;
    this.button.disabled = permission !== 'default';
    this.button.textContent = permission === 'granted' ? 'Notifications on'
      : permission === 'denied' ? 'Notifications blocked' : 'Enable notifications';
    this.button.title = permission === 'denied' ? 'Allow notifications for this site in the browser settings.' : '';
  }

  // A visitor wrote in a conversation the agent is not looking at (or the tab is hidden).
  visitorWrote(conversationId, who, text) {
    this.unread.set(conversationId, (this.unread.get(conversationId) ?? 0) + 1);
    this.renderTitle();
    this.chime();
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    const note = new Notification(`${who} wrote`, { body: text.slice(0, 160), tag: conversationId });
    note.addEventListener('click', () => { window.focus(); this.open(conversationId); note.close(); });
  }

  count(conversationId) { return this.unread.get(conversationId) ?? 0; }

  read(conversationId) {
    if (!this.unread.delete(conversationId)) return;
    this.renderTitle();
  }

  // Signed out: nothing is unread for nobody.
  forget() {
    this.unread.clear();
    this.renderTitle();
  }

  renderTitle() {
    let total = 0;
    for (const n of this.unread.values()) total += n;
    document.title = total ? `(${total}) ${this.title}` : this.title;
  }
}
