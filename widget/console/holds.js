// Legal holds in the agent console: a "Legal hold" badge on a held conversation, in its list
// row and its thread header. The server marks a summary "held": true while a hold covers the
// conversation or its visitor, and keeps it current as holds are placed and lifted
// (docs/protocol.md §6.3); agents only see it: compliance staff place and lift holds.

const TITLE = 'Under legal hold: kept as it is, whatever retention or an erasure request would remove';

export function heldBadge(c) {
  if (!c?.held) return null;
  const badge = document.createElement('span');
  badge.className = 'held';
  badge.dataset.held = 'true';
  badge.title = TITLE;
  badge.textContent = 'Legal hold';
  return badge;
}

// The badge of the thread header (or of the read-only transcript's dialog), for the
// conversation shown there (null: none is).
export function showHeld(c, id = 'thread-held') {
  const mark = document.getElementById(id);
  mark.title = TITLE;
  mark.hidden = !c?.held;
}
