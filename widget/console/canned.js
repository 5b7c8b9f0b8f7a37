// Canned replies in the reply box: typing "/" and a shortcut offers the replies whose shortcut
// starts with it; arrows choose, Enter or Tab inserts, Escape closes (docs/widget.md).

// "/" and a partial shortcut, at the start of the box or after a space, just before the caret.
const TOKEN = /(^|\s)\/([a-z0-9_-]*)$/;

export class CannedPicker {
  constructor(box, list, status) {
    this.box = box;
    this.list = list;
    this.status = status;
    this.replies = [];
    this.matches = [];
    this.active = 0;
    this.token = null; // {start, end} of the "/shortcut" being typed
    box.setAttribute('aria-autocomplete', 'list');
    box.setAttribute('aria-controls', list.id);
    box.addEventListener('input', () => this.offer());
    box.addEventListener('blur', () => this.close());
    // Capturing, so Enter inserts a reply here before the composer sends the box.
    box.addEventListener('keydown', (ev) => this.onKey(ev), { capture: true });
    list.addEventListener('mousedown', (ev) => ev.preventDefault()); // keep focus in the box
    list.addEventListener('click', (ev) => {
      const option = ev.target.closest('[role="option"]');
      if (option) this.insert(Number(option.dataset.index));
    });
  }

  setReplies(items) {
    this.replies = items;
    if (this.token) this.offer();
  }

  offer() {
    const before = this.box.value.slice(0, this.box.selectionStart);
    const m = TOKEN.exec(before);
    this.matches = m ? this.replies.filter((r) => r.shortcut.startsWith(m[2])) : [];
    if (!this.matches.length) { this.close(); return; }
    this.token = { start: before.length - m[2].length - 1, end: before.length };
    this.active = 0;
    this.render();
    const n = this.matches.length;
    this.status.textContent = `${n} canned repl${n === 1 ? 'y' : 'ies'}: up and down to choose, Enter to insert, Escape to close.`;
  }

  render() {
    this.list.replaceChildren(...this.matches.map((r, i) => {
      const li = document.createElement('li');
      li.id = `canned-option-${i}`;
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', String(i === this.active));
      li.dataset.index = String(i);
      li.dataset.shortcut = r.shortcut;
      const key = Object.assign(document.createElement('span'), { className: 'canned-shortcut', textContent: `/${r.shortcut}` });
      const text = Object.assign(document.createElement('span'), { className: 'canned-text', textContent: r.text });
      li.append(key, ' ', text);
      return li;
    }));
    this.list.hidden = false;
    this.box.setAttribute('aria-activedescendant', `canned-option-${this.active}`);
    this.list.children[this.active]?.scrollIntoView({ block: 'nearest' });
  }

  close() {
    this.token = null;
    this.matches = [];
    this.list.hidden = true;
    this.list.replaceChildren();
    this.box.removeAttribute('aria-activedescendant');
  }

  onKey(ev) {
    if (!this.token || ev.isComposing) return;
    const n = this.matches.length;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      this.active = (this.active + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
      this.render();
    } else if (ev.key === 'Enter' || ev.key === 'Tab') {
      this.insert(this.active);
    } else if (ev.key === 'Escape') {
      this.close();
      this.status.textContent = '';
    } else {
      return;
    }
    ev.preventDefault();
    ev.stopImmediatePropagation();
  }

  // Replace the "/shortcut" with the reply's text, and leave the caret after it.
  insert(index) {
    const reply = this.matches[index];
    const { start, end } = this.token ?? {};
    if (!reply || start === undefined) return;
    const value = this.box.value;
    this.box.value = value.slice(0, start) + reply.text + value.slice(end);
    const caret = start + reply.text.length;
    this.box.setSelectionRange(caret, caret);
    this.close();
    this.status.textContent = `Inserted /${reply.shortcut}.`;
    this.box.dispatchEvent(new Event('input', { bubbles: true }));
  }
}
