// The admins' "Canned replies" view: the replies as a table, a form that adds one or edits the
// one chosen, and a confirmed delete. Changes go over the admin HTTP API; the table follows the
// `canned` frame every console receives, so another admin's change shows here at once.
// Text only: every string goes through textContent.

const $ = (id) => document.getElementById(id);

let api = async () => { throw new Error('Not signed in.'); };
let replies = [];   // the list as the server last told us, by shortcut
let editing = null; // the reply the form changes, or null when it adds
let deleting = null; // the reply the delete dialog is about

export function initCannedAdmin(given) {
  api = given.api;
  $('canned-form').addEventListener('submit', save);
  $('canned-cancel-edit').addEventListener('click', () => stopEditing(true));
  $('canned-shortcut').addEventListener('input', clearError);
  $('canned-text').addEventListener('input', clearError);
  $('canned-rows').addEventListener('click', onRowClick);
  $('canned-delete-form').addEventListener('submit', confirmDelete);
  $('cancel-canned-delete').addEventListener('click', () => $('canned-delete-dialog').close());
  $('canned-delete-dialog').addEventListener('close', () => {
    const row = deleting && rowButton(deleting.id, 'delete');
    deleting = null;
    row?.focus();
  });
}

// The tab is an admin's only; an agent never sees it.
export function cannedAdminRole(role) { $('canned-tab').hidden = role !== 'admin'; }

export function onCannedReplies(items) {
  replies = items;
  if (editing && !replies.some((r) => r.id === editing.id)) {
    stopEditing(false);
    $('canned-admin-status').textContent = 'The reply you were editing was deleted.';
  }
  render();
}

export function resetCannedAdmin() {
  replies = [];
  deleting = null;
  if ($('canned-delete-dialog').open) $('canned-delete-dialog').close();
  stopEditing(false);
  $('canned-admin-status').textContent = '';
  render();
}

function rowButton(id, action) {
  return $('canned-rows').querySelector(`[data-canned-${action}="${CSS.escape(id)}"]`);
}

function makeButton(action, reply, label, text, className) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.setAttribute(`data-canned-${action}`, reply.id);
  return b;
}

function cell(text, className) {
  const td = document.createElement('td');
  if (className) td.className = className;
  td.textContent = text;
  return td;
}

// Redraw the table; a row button that had focus keeps it.
function render() {
  const focused = document.activeElement;
  const keep = $('canned-rows').contains(focused)
    ? [...focused.attributes].find((a) => a.name.startsWith('data-canned-')) : null;
  $('canned-rows').replaceChildren(...replies.map((r) => {
    const tr = document.createElement('tr');
    tr.dataset.cannedId = r.id;
    const key = document.createElement('code');
    key.textContent = `/${r.shortcut}`;
    const shortcut = document.createElement('td');
    shortcut.append(key);
    const actions = document.createElement('td');
    actions.className = 'bans-actions';
    actions.append(
      makeButton('edit', r, `Edit /${r.shortcut}`, 'Edit', 'btn btn-small'), ' ',
      makeButton('delete', r, `Delete /${r.shortcut}…`, 'Delete…', 'btn btn-small btn-danger'));
    if (editing?.id === r.id) tr.setAttribute('aria-current', 'true');
    tr.append(shortcut, cell(r.text, 'canned-admin-text'), actions);
    return tr;
  }));
  const n = replies.length;
  $('canned-table').hidden = n === 0;
  $('canned-empty').hidden = n > 0;
  $('canned-count').textContent = String(n);
  if (keep) {
    const again = $('canned-rows').querySelector(`[${keep.name}="${CSS.escape(keep.value)}"]`);
    (again ?? $('canned-shortcut')).focus();
  }
}

function onRowClick(ev) {
  const b = ev.target.closest('button');
  if (!b) return;
  const id = b.getAttribute('data-canned-edit') ?? b.getAttribute('data-canned-delete');
  const reply = replies.find((r) => r.id === id);
  if (!reply) return;
  if (b.hasAttribute('data-canned-edit')) startEditing(reply);
  else openDeleteDialog(reply);
}

function clearError() {
  $('canned-error').textContent = '';
  $('canned-shortcut').removeAttribute('aria-invalid');
  $('canned-text').removeAttribute('aria-invalid');
}

function startEditing(reply) {
  editing = reply;
  clearError();
  $('canned-form-title').textContent = `Edit /${reply.shortcut}`;
  $('canned-shortcut').value = reply.shortcut;
  $('canned-text').value = reply.text;
  $('canned-save').textContent = 'Save changes';
  $('canned-cancel-edit').hidden = false;
  render();
  $('canned-shortcut').focus();
}

// Back to adding; `refocus` returns focus to the row the edit started from.
function stopEditing(refocus) {
  const was = editing;
  editing = null;
  clearError();
  $('canned-form-title').textContent = 'Add a canned reply';
  $('canned-shortcut').value = '';
  $('canned-text').value = '';
  $('canned-save').textContent = 'Add reply';
  $('canned-cancel-edit').hidden = true;
  render();
  if (refocus) (was && rowButton(was.id, 'edit') || $('canned-shortcut')).focus();
}

// Replace the local copy with what the server answered; the `canned` frame that follows agrees.
function merge(reply, removed = false) {
  const others = replies.filter((r) => r.id !== reply.id);
  replies = removed ? others : [...others, reply].sort((a, b) => (a.shortcut < b.shortcut ? -1 : 1));
}

async function save(ev) {
  ev.preventDefault();
  clearError();
  $('canned-admin-status').textContent = '';
  const body = { shortcut: $('canned-shortcut').value.trim(), text: $('canned-text').value };
  const was = editing;
  $('canned-save').disabled = true;
  let answer;
  try {
    answer = was
      ? await api(`/api/admin/canned/${encodeURIComponent(was.id)}`, body, 'PUT')
      : await api('/api/admin/canned', body);
  } catch (err) {
    $('canned-error').textContent = err.message;
    const field = /shortcut/i.test(err.message) ? 'canned-shortcut' : /text/i.test(err.message) ? 'canned-text' : null;
    if (field) { $(field).setAttribute('aria-invalid', 'true'); $(field).focus(); }
    return;
  } finally {
    $('canned-save').disabled = false;
  }
  merge(answer.reply);
  stopEditing(false);
  $('canned-admin-status').textContent = `${was ? 'Saved' : 'Added'} /${answer.reply.shortcut}.`;
  // After an edit, back to its row; after an add, ready for the next one.
  (was && rowButton(answer.reply.id, 'edit') || $('canned-shortcut')).focus();
}

function openDeleteDialog(reply) {
  deleting = reply;
  $('canned-delete-desc').textContent = `Agents will no longer be offered /${reply.shortcut}: “${reply.text}”.`;
  $('canned-delete-error').textContent = '';
  $('confirm-canned-delete').disabled = false;
  $('canned-delete-dialog').showModal();
  $('cancel-canned-delete').focus();
}

async function confirmDelete(ev) {
  ev.preventDefault();
  const reply = deleting;
  if (!reply) return;
  $('confirm-canned-delete').disabled = true;
  $('canned-delete-error').textContent = '';
  try {
    await api(`/api/admin/canned/${encodeURIComponent(reply.id)}`, undefined, 'DELETE');
  } catch (err) {
    $('canned-delete-error').textContent = err.message;
    $('confirm-canned-delete').disabled = false;
    return;
  }
  deleting = null; // the row is gone: focus goes to the form, not back to it
  $('canned-delete-dialog').close();
  if (editing?.id === reply.id) stopEditing(false);
  merge(reply, true);
  render();
  $('canned-admin-status').textContent = `Deleted /${reply.shortcut}.`;
  $('canned-shortcut').focus();
}
