// Presence in the agent console: this agent's available/away switch, the team's states, and
// each visitor's presence (online, idle, gone) on the list and in the open conversation.
// Text only: every network string goes through textContent or the console's `named`.

const $ = (id) => document.getElementById(id);

// conversation id -> "online" | "idle"; a conversation not here has no widget open ("gone").
export const visitorStates = new Map();

let hooks = { send: () => false, named: (name) => document.createTextNode(name), me: () => null };

const STATE_TEXT = { available: 'Available', away: 'Away' };
const VISITOR_TEXT = { online: 'Visitor online', idle: 'Visitor idle', gone: 'Visitor gone' };

export function initPresence(given) {
  hooks = given;
  $('availability').addEventListener('click', () => {
    const away = $('availability').getAttribute('aria-checked') === 'true';
    if (!hooks.send({ type: 'presence', state: away ? 'away' : 'available' })) return;
    showMyState(away ? 'away' : 'available');
  });
}

function showMyState(state) {
  $('availability').setAttribute('aria-checked', String(state === 'available'));
  $('my-state').textContent = STATE_TEXT[state];
  $('my-state').dataset.state = state;
}

// The team as the server sees it in every process; this agent's own switch follows it, so a
// change made in another of their consoles shows here too.
export function onStaffPresence({ agents, team }) {
  const me = hooks.me();
  const mine = agents.find((a) => a.id === me?.id);
  if (mine) showMyState(mine.state);
  $('team-state').textContent = team === 'available' ? 'available' : team === 'away' ? 'all away' : 'nobody online';
  $('team-list').replaceChildren(...agents.map((a) => {
    const li = document.createElement('li');
    li.className = 'team-member';
    li.dataset.state = a.state;
    li.dataset.agentId = a.id;
    const badge = document.createElement('span');
    badge.className = `presence-badge is-${a.state}`;
    badge.textContent = STATE_TEXT[a.state] ?? a.state;
    li.append(hooks.named(a.name), ' ', badge);
    return li;
  }));
}

// The frame lists what changed; "gone" removes the conversation from the map.
export function onVisitorPresence({ items }) {
  for (const { conversation_id: id, state } of items) {
    if (state === 'gone') visitorStates.delete(id);
    else visitorStates.set(id, state);
  }
}

export function visitorState(id) { return visitorStates.get(id) ?? 'gone'; }

export function visitorBadge(id) {
  const state = visitorState(id);
  const badge = document.createElement('span');
  badge.className = `visitor-presence is-${state}`;
  badge.dataset.visitorPresence = state;
  badge.textContent = VISITOR_TEXT[state];
  return badge;
}

export function resetPresence() {
  visitorStates.clear();
  $('team-list').replaceChildren();
  $('team-state').textContent = '';
}
