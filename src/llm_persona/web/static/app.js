// The llm-persona web page: personas, agents, core memory and chat over the server's /v1 API.
//
// Plain JavaScript, no framework, no build step. Every piece of text from the API reaches the page
// through textContent or text nodes (the `h` helper below), never as HTML.
//
// Navigation is the URL hash: #/personas, #/personas/NAME, #/agents, #/agents/new, #/agents/ID.

'use strict';

const API = '/v1/';
const KEY_STORAGE = 'llm-persona.api-key';
const HISTORY_LIMIT = 60; // messages shown when an agent is opened
const SNIPPET = 90; // characters of a tool call or result shown before it is folded

// --- DOM helpers ---------------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

/** An element: `props` sets attributes (`class`, `text`, `value`, `on<event>` are special). */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'value') el.value = String(value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child)); // strings become text nodes
  }
  return el;
}

function show(el, visible) {
  el.hidden = !visible;
}

function setError(el, message) {
  el.textContent = message || '';
  show(el, Boolean(message));
}

function clip(text, length) {
  const flat = String(text).replace(/\s+/g, ' ').trim();
  return flat.length > length ? flat.slice(0, length - 1) + '…' : flat;
}

function when(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

function announce(message) {
  $('status').textContent = message;
}

// --- the API -------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function apiKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || '';
  } catch {
    return '';
  }
}

function headers(extra) {
  const out = { Accept: 'application/json', ...extra };
  const key = apiKey();
  if (key) out.Authorization = 'Bearer ' + key;
  return out;
}

const enc = encodeURIComponent;

/** The `detail` of an error response, as one readable line. */
async function detailOf(response) {
  let text = '';
  try {
    text = await response.text();
    const data = JSON.parse(text);
    const detail = data && data.detail !== undefined ? data.detail : data;
    if (typeof detail === 'string') return detail;
    if (Array.isArray(detail)) {
      return detail.map((d) => (d && d.msg ? `${(d.loc || []).join('.')}: ${d.msg}` : JSON.stringify(d))).join('; ');
    }
    return JSON.stringify(detail);
  } catch {
    return text.trim() || `${response.status} ${response.statusText}`;
  }
}

async function request(method, path, body, extraHeaders) {
  const init = { method, headers: headers(extraHeaders) };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path, init);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, `Cannot reach the server (${error.message}). Is \`llm-persona serve\` running?`);
  }
  if (!response.ok) throw new ApiError(response.status, await detailOf(response));
  return response;
}

async function api(method, path, body) {
  const response = await request(method, path, body);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** Show an error from the API in the banner (a missing or bad key points at the key field). */
function report(error) {
  if (error && error.name === 'AbortError') return;
  const message = error instanceof ApiError ? error.message : `Unexpected error: ${error && error.message}`;
  $('alert-text').textContent = message;
  show($('alert'), true);
  if (error instanceof ApiError && error.status === 401) $('api-key').focus();
}

function clearAlert() {
  show($('alert'), false);
  $('alert-text').textContent = '';
}

/** A form's error line for errors of that form; the banner for anything else (e.g. a bad key). */
function reportIn(el, error) {
  if (error instanceof ApiError && error.status !== 401 && error.status !== 0) setError(el, error.message);
  else report(error);
}

// --- state ---------------------------------------------------------------------------------------

const state = {
  personas: null, // [{name, latest_version, version_count, labels}]
  personaDetails: new Map(), // name -> {versions: [...], labels, ...}
  persona: null, // the persona shown
  agents: null, // [AgentState]
  drift: new Map(), // agent id -> drift entry
  agent: null, // the AgentState shown
  blocks: [],
  drafts: new Map(), // block label -> text being edited
  stream: null, // the AbortController of the chat stream being read
};

// --- navigation ----------------------------------------------------------------------------------

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const section = parts[0] === 'agents' ? 'agents' : 'personas';
  const raw = parts.slice(1).join('/');
  let item = null;
  try {
    item = raw ? decodeURIComponent(raw) : null;
  } catch {
    item = raw; // typed by hand with a stray '%'
  }
  return { section, item };
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  const { section, item } = parseHash();
  for (const name of ['personas', 'agents']) {
    const tab = $('tab-' + name);
    if (name === section) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
    show($('panel-' + name), name === section);
  }
  try {
    if (section === 'personas') await showPersonas(item);
    else await showAgents(item);
  } catch (error) {
    report(error);
  }
}

function pickList(list, items, selected, render) {
  list.replaceChildren(
    ...items.map((item) => {
      const link = render(item);
      if (item.key === selected) link.setAttribute('aria-current', 'true');
      return h('li', {}, link);
    }),
  );
}

// --- personas ------------------------------------------------------------------------------------

async function loadPersonas() {
  state.personas = await api('GET', 'personas');
}

/** A persona's versions and labels. Read from `.../versions`, which works for every name (a persona
 * may be called "drift", which `GET /v1/personas/{name}` would take for the drift route). */
async function personaDetail(name, fresh) {
  if (fresh || !state.personaDetails.has(name)) {
    const versions = await api('GET', `personas/${enc(name)}/versions`);
    const labels = {};
    for (const version of versions) for (const label of version.labels) labels[label] = version.version;
    state.personaDetails.set(name, {
      name,
      versions,
      labels,
      version_count: versions.length,
      latest_version: Math.max(...versions.map((v) => v.version)),
    });
  }
  return state.personaDetails.get(name);
}

function renderPersonaList() {
  const personas = state.personas || [];
  show($('persona-list-empty'), personas.length === 0);
  pickList(
    $('persona-list'),
    personas.map((p) => ({ ...p, key: p.name })),
    state.persona,
    (p) => {
      const labels = Object.keys(p.labels || {}).filter((l) => l !== 'latest');
      return h(
        'a',
        { href: '#/personas/' + enc(p.name), class: 'pick' },
        h('span', { class: 'pick-title', text: p.name }),
        h(
          'span',
          { class: 'pick-sub' },
          `v${p.latest_version}`,
          p.version_count > 1 ? ` · ${p.version_count} versions` : '',
          labels.length ? ` · ${labels.join(', ')}` : '',
        ),
      );
    },
  );
}

async function showPersonas(name) {
  if (state.personas === null) await loadPersonas();
  state.persona = name;
  renderPersonaList();
  show($('persona-none'), !name);
  show($('persona-view'), false);
  if (!name) return;
  const detail = await personaDetail(name, true);
  if (state.persona !== name) return; // another persona was picked meanwhile
  renderPersona(detail);
}

function versionLabel(version) {
  const labels = version.labels.length ? ` (${version.labels.join(', ')})` : '';
  return `v${version.version}${labels}`;
}

function versionOptions(select, versions, selected) {
  select.replaceChildren(
    ...versions.map((v) =>
      h('option', { value: String(v.version), selected: v.version === selected }, versionLabel(v)),
    ),
  );
}

function currentVersion(detail) {
  const labels = detail.labels || {};
  return labels.latest || detail.latest_version;
}

function renderPersona(detail) {
  const versions = [...detail.versions].sort((a, b) => b.version - a.version);
  const current = currentVersion(detail);
  const newest = versions.find((v) => v.version === current) || versions[0];
  $('persona-name').textContent = detail.name;
  const description = newest && newest.content.description;
  $('persona-summary').textContent =
    `${detail.version_count} version${detail.version_count === 1 ? '' : 's'}, current v${current}` +
    (description ? ` — ${description}` : '');

  $('version-table').tBodies[0].replaceChildren(
    ...versions.map((v) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row', text: `v${v.version}` }),
        h('td', { text: when(v.created_at) }),
        h('td', {}, v.labels.length ? v.labels.map((l) => h('span', { class: 'badge', text: l })) : h('span', { class: 'meta', text: '—' })),
        h('td', {}, h('code', { title: v.fingerprint, text: v.fingerprint.slice(0, 12) })),
      ),
    ),
  );

  versionOptions($('render-version'), versions, current);
  renderVariableFields($('render-var-fields'), $('render-vars-none'), newest.content, 'render');
  const older = versions.find((v) => v.version < current);
  versionOptions($('diff-a'), versions, older ? older.version : current);
  versionOptions($('diff-b'), versions, current);
  $('diff-output').replaceChildren();
  setError($('diff-error'), '');
  show($('persona-view'), true);
  renderPrompt();
  if (older) renderDiff();
  else $('diff-output').replaceChildren(h('p', { class: 'meta', text: 'Only one version so far: nothing to compare.' }));
}

// Template variables: the declared ones, then any other {placeholder} in the persona's text.
const PLACEHOLDER = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function personaVariables(content) {
  const found = new Map();
  for (const [name, spec] of Object.entries(content.variables || {}).sort()) found.set(name, spec || {});
  const visit = (value) => {
    if (typeof value === 'string') {
      for (const match of value.matchAll(PLACEHOLDER)) {
        if (match[1] && !found.has(match[1])) found.set(match[1], {});
      }
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  };
  for (const [field, value] of Object.entries(content)) {
    if (field !== 'variables' && field !== 'name' && field !== 'description') visit(value);
  }
  return found;
}

function renderVariableFields(container, none, content, prefix) {
  const previous = new Map([...container.querySelectorAll('input')].map((i) => [i.name, i.value]));
  const variables = personaVariables(content || {});
  show(none, variables.size === 0);
  container.replaceChildren(
    ...[...variables].map(([name, spec]) => {
      const id = `${prefix}-var-${name}`;
      const hint = [spec.description, spec.required ? 'required' : null].filter(Boolean).join('; ');
      const hasDefault = spec.default !== undefined && spec.default !== null;
      return h(
        'div',
        { class: 'field' },
        h('label', { for: id }, h('code', { text: name }), spec.required ? h('span', { class: 'req', 'aria-hidden': 'true', text: ' *' }) : null),
        h('input', {
          id,
          name,
          type: 'text',
          value: previous.get(name) || '',
          placeholder: hasDefault ? `default: ${spec.default}` : '',
          'aria-describedby': hint ? id + '-hint' : null,
          'aria-required': spec.required && !hasDefault ? 'true' : null,
        }),
        hint ? h('span', { id: id + '-hint', class: 'hint', text: hint }) : null,
      );
    }),
  );
}

function variableValues(container) {
  const out = {};
  for (const input of container.querySelectorAll('input')) {
    if (input.value !== '') out[input.name] = input.value;
  }
  return out;
}

async function renderPrompt() {
  const name = state.persona;
  const version = Number($('render-version').value);
  setError($('render-error'), '');
  try {
    const rendered = await api('POST', `personas/${enc(name)}/render`, {
      version,
      variables: variableValues($('render-var-fields')),
    });
    $('render-output').textContent = rendered.prompt;
  } catch (error) {
    $('render-output').textContent = '';
    reportIn($('render-error'), error);
  }
}

async function renderDiff() {
  const name = state.persona;
  const a = $('diff-a').value;
  const b = $('diff-b').value;
  setError($('diff-error'), '');
  const out = $('diff-output');
  if (a === b) {
    out.replaceChildren(h('p', { class: 'meta', text: 'Pick two different versions.' }));
    return;
  }
  try {
    const diff = await api('GET', `personas/${enc(name)}/diff?a=${enc(a)}&b=${enc(b)}`);
    out.replaceChildren(...diffView(diff));
  } catch (error) {
    out.replaceChildren();
    reportIn($('diff-error'), error);
  }
}

/** A field's value in the diff table; list items missing from `other` are marked. */
function shown(value, other) {
  if (value === null || value === undefined || value === '') return h('span', { class: 'meta', text: '—' });
  if (!Array.isArray(value)) {
    return h('span', { class: 'scalar', text: typeof value === 'string' ? value : JSON.stringify(value, null, 1) });
  }
  const others = new Set((Array.isArray(other) ? other : []).map((item) => JSON.stringify(item)));
  return h(
    'ul',
    { class: 'items' },
    value.map((item) => {
      const text = Array.isArray(item) ? item.join(': ') : typeof item === 'string' ? item : JSON.stringify(item);
      return h('li', { class: others.has(JSON.stringify(item)) ? null : 'changed', text });
    }),
  );
}

function diffView(diff) {
  const parts = [];
  if (diff.changes.length === 0) {
    parts.push(h('p', { class: 'meta', text: `v${diff.old} and v${diff.new} have the same content.` }));
    return parts;
  }
  parts.push(
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'changes' },
        h('caption', { class: 'visually-hidden', text: `Fields changed from v${diff.old} to v${diff.new}` }),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Field' }), h('th', { scope: 'col', text: `v${diff.old}` }), h('th', { scope: 'col', text: `v${diff.new}` }))),
        h(
          'tbody',
          {},
          diff.changes.map((c) =>
            h('tr', {}, h('th', { scope: 'row' }, h('code', { text: c.field })), h('td', { class: 'before' }, shown(c.before, c.after)), h('td', { class: 'after' }, shown(c.after, c.before))),
          ),
        ),
      ),
    ),
  );
  if (diff.prompt_diff) {
    const lines = diff.prompt_diff.replace(/\n$/, '').split('\n');
    parts.push(
      h(
        'pre',
        { class: 'unified', tabindex: '0', 'aria-label': 'Prompt diff (unified format)' },
        lines.map((line) => {
          let kind = 'same';
          if (line.startsWith('+++') || line.startsWith('---')) kind = 'file';
          else if (line.startsWith('@@')) kind = 'hunk';
          else if (line.startsWith('+')) kind = 'add';
          else if (line.startsWith('-')) kind = 'del';
          return h('span', { class: 'line ' + kind, text: line + '\n' });
        }),
      ),
    );
  } else {
    parts.push(h('p', { class: 'meta', text: 'The rendered prompt is the same.' }));
  }
  return parts;
}

// --- agents --------------------------------------------------------------------------------------

async function loadAgents() {
  const [agents, drift] = await Promise.all([
    api('GET', 'agents/?limit=200'),
    api('GET', 'personas/drift').catch(() => []),
  ]);
  state.agents = agents;
  state.drift = new Map(drift.map((d) => [d.agent_id, d]));
}

function binding(agent) {
  if (!agent.persona) return 'no persona';
  if (agent.persona_version) return `${agent.persona} · pinned v${agent.persona_version}`;
  if (agent.persona_label) return `${agent.persona} · follows ${agent.persona_label}`;
  return `${agent.persona} · latest`;
}

function outdated(agent) {
  const entry = state.drift.get(agent.id);
  if (!entry || entry.served_version === null) return null;
  return entry.current_version === null
    ? `ran v${entry.served_version}; the label it follows is gone`
    : `ran v${entry.served_version}; now v${entry.current_version}`;
}

function renderAgentList(selected) {
  const agents = state.agents || [];
  show($('agent-list-empty'), agents.length === 0);
  pickList(
    $('agent-list'),
    agents.map((a) => ({ ...a, key: a.id })),
    selected,
    (agent) => {
      const stale = outdated(agent);
      return h(
        'a',
        { href: '#/agents/' + enc(agent.id), class: 'pick' },
        h('span', { class: 'pick-title', text: agent.name }, stale ? h('span', { class: 'badge warn', title: stale, text: 'outdated' }) : null),
        h('span', { class: 'pick-sub', text: binding(agent) }),
      );
    },
  );
  if (selected === 'new') $('agent-new').setAttribute('aria-current', 'true');
  else $('agent-new').removeAttribute('aria-current');
}

async function showAgents(item) {
  if (state.agents === null) await loadAgents();
  if (state.stream && (!state.agent || state.agent.id !== item)) state.stream.abort();
  renderAgentList(item);
  show($('agent-none'), !item);
  show($('agent-create'), item === 'new');
  show($('agent-view'), false);
  if (item === 'new') {
    await openCreateForm();
  } else if (item) {
    await openAgent(item);
  } else {
    state.agent = null;
  }
}

// --- creating an agent ---------------------------------------------------------------------------

async function openCreateForm() {
  state.agent = null;
  if (state.personas === null) await loadPersonas();
  const select = $('create-persona');
  const chosen = select.value; // kept when the form is opened again
  select.replaceChildren(
    h('option', { value: '' }, 'No persona (use a system prompt)'),
    ...(state.personas || []).map((p) => h('option', { value: p.name }, p.name)),
  );
  if (chosen && [...select.options].some((o) => o.value === chosen)) select.value = chosen;
  else if (state.personas && state.personas.length) select.value = state.personas[0].name;
  if ($('create-blocks').children.length === 0) addBlockRow({ label: 'human', value: '' });
  setError($('create-error'), '');
  await personaChosen();
  $('create-name').focus();
}

async function personaChosen() {
  const name = $('create-persona').value;
  const bindingSelect = $('create-binding');
  show($('create-system-field'), !name);
  bindingSelect.disabled = !name;
  if (!name) {
    bindingSelect.replaceChildren(h('option', { value: '' }, '—'));
    renderVariableFields($('create-var-fields'), $('create-vars-none'), {}, 'create');
    return;
  }
  const detail = await personaDetail(name);
  const versions = [...detail.versions].sort((a, b) => b.version - a.version);
  const labels = Object.entries(detail.labels || {}).filter(([label]) => label !== 'latest');
  bindingSelect.replaceChildren(
    h('option', { value: '' }, `Latest (now v${currentVersion(detail)}), following new versions`),
    ...labels.map(([label, version]) => h('option', { value: 'label:' + label }, `Follow label ${label} (now v${version})`)),
    ...versions.map((v) => h('option', { value: 'version:' + v.version }, `Pin ${versionLabel(v)}`)),
  );
  bindingChosen();
}

function bindingChosen() {
  const name = $('create-persona').value;
  if (!name) return;
  const detail = state.personaDetails.get(name);
  const [kind, value] = $('create-binding').value.split(/:(.*)/s);
  let number = currentVersion(detail);
  if (kind === 'version') number = Number(value);
  if (kind === 'label') number = detail.labels[value];
  const version = detail.versions.find((v) => v.version === number) || detail.versions[detail.versions.length - 1];
  renderVariableFields($('create-var-fields'), $('create-vars-none'), version.content, 'create');
}

let blockRows = 0;

function addBlockRow(block) {
  const n = ++blockRows;
  const row = h(
    'div',
    { class: 'block-row' },
    h('label', { class: 'field' }, 'Label', h('input', { name: 'label', type: 'text', value: block.label, required: true, spellcheck: 'false' })),
    h('label', { class: 'field narrow' }, 'Limit', h('input', { name: 'limit', type: 'number', min: '1', placeholder: 'default' })),
    h('label', { class: 'field wide' }, 'Value', h('textarea', { name: 'value', rows: '2', value: block.value })),
  );
  row.append(
    h('button', { type: 'button', class: 'quiet remove', 'aria-label': `Remove block ${n}`, onclick: () => row.remove() }, 'Remove'),
  );
  $('create-blocks').append(row);
  return row;
}

async function createAgent(event) {
  event.preventDefault();
  setError($('create-error'), '');
  const body = { memory_blocks: [] };
  const name = $('create-name').value.trim();
  const model = $('create-model').value.trim();
  const persona = $('create-persona').value;
  if (name) body.name = name;
  if (model) body.model = model;
  if (persona) {
    body.persona = persona;
    const [kind, value] = $('create-binding').value.split(/:(.*)/s);
    if (kind === 'version') body.persona_version = Number(value);
    if (kind === 'label') body.persona_label = value;
    body.persona_vars = variableValues($('create-var-fields'));
  } else if ($('create-system').value.trim()) {
    body.system = $('create-system').value;
  }
  for (const row of $('create-blocks').querySelectorAll('.block-row')) {
    const label = row.querySelector('[name=label]').value.trim();
    const value = row.querySelector('[name=value]').value;
    const limit = row.querySelector('[name=limit]').value;
    if (!label && !value) continue;
    const block = { label, value };
    if (limit) block.limit = Number(limit);
    body.memory_blocks.push(block);
  }
  try {
    const agent = await api('POST', 'agents/', body);
    $('agent-create').reset();
    $('create-blocks').replaceChildren();
    for (const input of $('create-var-fields').querySelectorAll('input')) input.value = '';
    await loadAgents();
    announce(`Created agent ${agent.name}.`);
    go('#/agents/' + enc(agent.id));
  } catch (error) {
    reportIn($('create-error'), error);
  }
}

// --- one agent -----------------------------------------------------------------------------------

async function openAgent(id) {
  const changed = !state.agent || state.agent.id !== id;
  const agent = await api('GET', `agents/${enc(id)}`);
  if (parseHash().item !== id) return; // the user moved on
  state.agent = agent;
  renderAgentMeta();
  show($('agent-view'), true);
  if (changed) {
    state.drafts.clear();
    $('chat-log').replaceChildren();
    await Promise.all([loadBlocks(), loadHistory()]);
  }
}

function renderAgentMeta() {
  const agent = state.agent;
  $('agent-name').textContent = agent.name;
  const stale = outdated(agent);
  const parts = [h('code', { text: agent.id }), ` · ${binding(agent)} · ${agent.model}`];
  if (agent.last_stop_reason) parts.push(` · last turn: ${agent.last_stop_reason}`);
  if (stale) parts.push(h('span', { class: 'badge warn', text: stale }));
  $('agent-meta').replaceChildren(...parts);
}

async function deleteAgent() {
  const agent = state.agent;
  if (!agent) return;
  if (!confirm(`Delete agent “${agent.name}”? Its memory and history are deleted for good.`)) return;
  try {
    await api('DELETE', `agents/${enc(agent.id)}`);
    state.agent = null;
    await loadAgents();
    announce(`Deleted agent ${agent.name}.`);
    go('#/agents');
  } catch (error) {
    report(error);
  }
}

// --- core memory ---------------------------------------------------------------------------------

async function loadBlocks() {
  const id = state.agent.id;
  const blocks = await api('GET', `agents/${enc(id)}/core-memory/blocks?order=asc&limit=100`);
  if (!state.agent || state.agent.id !== id) return;
  state.blocks = blocks;
  renderBlocks();
}

function blockEditor(label) {
  return $('block-list').querySelector(`li[data-label="${CSS.escape(label)}"] textarea`);
}

function renderBlocks() {
  // A refresh (after a chat turn) must not take the caret away from a block being edited.
  const active = document.activeElement;
  const editing = active && active.tagName === 'TEXTAREA' && active.closest('#block-list li');
  const caret = editing ? [editing.dataset.label, active.selectionStart, active.selectionEnd] : null;
  show($('block-list-empty'), state.blocks.length === 0);
  $('block-list').replaceChildren(...state.blocks.map(blockItem));
  const area = caret && blockEditor(caret[0]);
  if (area) {
    area.focus();
    area.setSelectionRange(caret[1], caret[2]);
  }
}

function counter(length, limit) {
  const over = length > limit;
  return h(
    'span',
    { class: 'count' + (over ? ' over' : '') },
    h('meter', { min: '0', max: String(limit), value: String(Math.min(length, limit)), high: String(limit * 0.9), 'aria-hidden': 'true' }),
    ` ${length.toLocaleString()} / ${limit.toLocaleString()}`,
    over ? ' · over the limit' : '',
  );
}

function blockItem(block) {
  const editing = state.drafts.has(block.label);
  const headingId = 'block-' + block.id;
  const item = h(
    'li',
    { class: 'block', 'data-label': block.label },
    h(
      'div',
      { class: 'block-head' },
      h('h4', { id: headingId, text: block.label }),
      block.read_only ? h('span', { class: 'badge', title: "The agent's memory tools cannot edit it", text: 'read-only' }) : null,
      counter(block.value.length, block.limit),
    ),
    block.description ? h('p', { class: 'hint', text: block.description }) : null,
  );
  if (!editing) {
    item.append(
      h('pre', { class: 'value', text: block.value || '(empty)' }),
      h('button', { type: 'button', class: 'quiet', 'aria-label': `Edit block ${block.label}`, onclick: () => editBlock(block.label) }, 'Edit'),
    );
    return item;
  }
  const area = h('textarea', { class: 'value-edit', rows: '6', 'aria-labelledby': headingId, value: state.drafts.get(block.label) });
  const live = h('span', {}, counter(area.value.length, block.limit));
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  area.addEventListener('input', () => {
    state.drafts.set(block.label, area.value);
    live.replaceChildren(counter(area.value.length, block.limit));
  });
  const form = h(
    'form',
    { class: 'stack', onsubmit: (event) => saveBlock(event, block.label, area, error) },
    area,
    h('div', { class: 'edit-actions' }, live, h('button', { type: 'button', class: 'quiet', onclick: () => cancelEdit(block.label) }, 'Cancel'), h('button', { type: 'submit' }, 'Save')),
    error,
  );
  item.append(form);
  return item;
}

function editBlock(label) {
  const block = state.blocks.find((b) => b.label === label);
  state.drafts.set(label, block.value);
  renderBlocks();
  const area = blockEditor(label);
  if (area) area.focus();
}

function cancelEdit(label) {
  state.drafts.delete(label);
  renderBlocks();
}

async function saveBlock(event, label, area, error) {
  event.preventDefault();
  setError(error, '');
  try {
    const saved = await api('PATCH', `agents/${enc(state.agent.id)}/core-memory/blocks/${enc(label)}`, { value: area.value });
    state.drafts.delete(label);
    state.blocks = state.blocks.map((b) => (b.label === label ? saved : b));
    renderBlocks();
    announce(`Saved block ${label}.`);
  } catch (err) {
    reportIn(error, err);
  }
}

// --- chat ----------------------------------------------------------------------------------------

function nearBottom(el) {
  return el.scrollHeight - el.scrollTop - el.clientHeight < 40;
}

function addEntry(entry) {
  const log = $('chat-log');
  const stick = nearBottom(log);
  log.append(entry);
  if (stick) log.scrollTop = log.scrollHeight;
  return entry;
}

function keepScrolled(fn) {
  const log = $('chat-log');
  const stick = nearBottom(log);
  fn();
  if (stick) log.scrollTop = log.scrollHeight;
}

function textOf(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (part && part.text) || '').join('');
  return '';
}

function bubble(kind, who, text) {
  const body = h('div', { class: 'text' });
  if (text) body.append(text);
  return h('li', { class: 'msg ' + kind }, h('span', { class: 'who', text: who }), body);
}

/** A tool call or result folded to one line; the whole of it behind a disclosure. */
function folded(kind, who, summary, full) {
  const code = h('code', { text: summary });
  const pre = h('pre', { text: full });
  const entry = h('li', { class: 'msg ' + kind }, h('details', {}, h('summary', {}, h('span', { class: 'who', text: who }), code), pre));
  return { entry, code, pre };
}

function callSummary(name, args) {
  let shownArgs = args || '';
  try {
    const parsed = JSON.parse(args);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      shownArgs = Object.entries(parsed).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
    }
  } catch {
    // arguments still streaming, or not JSON: show them as they are
  }
  return clip(`${name || '…'}(${shownArgs})`, SNIPPET);
}

function prettyArgs(args) {
  try {
    return JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    return args || '';
  }
}

/** Renders one turn's messages (streamed chunks or history) into the log. */
class Transcript {
  constructor(agentName) {
    this.agentName = agentName;
    this.texts = new Map(); // message id -> the text element of its assistant bubble
    this.calls = new Map(); // message id -> [{id, name, args, view}]
    this.stop = null;
  }

  chunk(message) {
    switch (message.message_type) {
      case 'assistant_message':
        return this.assistant(message);
      case 'tool_call_message':
        return this.toolCall(message);
      case 'tool_return_message':
        return this.toolReturn(message);
      case 'reasoning_message':
        return addEntry(bubble('msg-reasoning', 'thinking', message.reasoning));
      case 'user_message':
        return addEntry(bubble('msg-user', 'You', textOf(message.content)));
      case 'system_message':
        return addEntry(bubble('msg-system', 'system', textOf(message.content)));
      case 'summary_message':
        return addEntry(bubble('msg-system', 'summary', message.summary));
      case 'stop_reason':
        return this.stopReason(message.stop_reason);
      case 'usage_statistics':
        return this.usage(message);
      default:
        return null; // pings and anything newer
    }
  }

  assistant(message) {
    const text = textOf(message.content);
    let target = this.texts.get(message.id);
    if (!target) {
      const entry = addEntry(bubble('msg-assistant', this.agentName, ''));
      target = entry.querySelector('.text');
      this.texts.set(message.id, target);
    }
    keepScrolled(() => target.append(text));
  }

  toolCall(message) {
    const calls = this.calls.get(message.id) || [];
    this.calls.set(message.id, calls);
    const whole = Array.isArray(message.tool_calls) ? message.tool_calls : null;
    if (whole) {
      for (const call of whole) this.newCall(calls, call.tool_call_id, call.name, call.arguments);
      return;
    }
    const delta = message.tool_call || message.tool_calls || {};
    let call = calls[calls.length - 1];
    if (!call || (delta.tool_call_id && delta.tool_call_id !== call.id)) {
      call = this.newCall(calls, delta.tool_call_id, delta.name, '');
    } else if (delta.name) {
      call.name = delta.name;
    }
    call.args += delta.arguments || '';
    keepScrolled(() => {
      call.view.code.textContent = callSummary(call.name, call.args);
      call.view.pre.textContent = prettyArgs(call.args);
    });
  }

  newCall(calls, id, name, args) {
    const view = folded('msg-tool', 'tool call', callSummary(name, args), prettyArgs(args));
    addEntry(view.entry);
    const call = { id, name, args: args || '', view };
    calls.push(call);
    return call;
  }

  toolReturn(message) {
    const ok = message.status !== 'error';
    const text = message.tool_return || '';
    const view = folded(ok ? 'msg-result' : 'msg-result failed', ok ? 'result' : 'tool error', clip(text, SNIPPET) || '(empty)', text);
    addEntry(view.entry);
  }

  stopReason(reason) {
    this.stop = addEntry(h('li', { class: 'msg msg-stop' + (reason === 'end_turn' ? '' : ' unusual') }, `stop reason: ${reason}`));
  }

  usage(message) {
    if (!this.stop) return;
    const steps = message.step_count === 1 ? '1 step' : `${message.step_count} steps`;
    this.stop.append(` · ${steps} · ${message.total_tokens.toLocaleString()} tokens`);
  }

  error(message) {
    addEntry(h('li', { class: 'msg msg-error', role: 'alert' }, message));
  }
}

/** One SSE event (the lines between blank lines) as {event, data}. */
function parseEvent(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return { event, data: data.join('\n') };
}

/** Reads an SSE body, calling `onEvent({event, data})` per event, until `[DONE]` or the end. */
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    const blocks = buffer.split(/\r?\n\r?\n/);
    buffer = blocks.pop();
    for (const block of blocks) {
      const event = parseEvent(block);
      if (!event.data) continue;
      if (event.data === '[DONE]') return true;
      onEvent(event);
    }
  }
  if (buffer.trim()) {
    const event = parseEvent(buffer);
    if (event.data === '[DONE]') return true;
    if (event.data) onEvent(event);
  }
  return false;
}

function setBusy(busy) {
  $('chat-send').disabled = busy;
  show($('chat-stop'), busy);
  $('chat-form').setAttribute('aria-busy', busy ? 'true' : 'false');
}

async function loadHistory() {
  const agent = state.agent;
  const messages = await api('GET', `agents/${enc(agent.id)}/messages?limit=${HISTORY_LIMIT}&order=desc`);
  if (!state.agent || state.agent.id !== agent.id) return;
  const log = $('chat-log');
  log.replaceChildren();
  if (messages.length === HISTORY_LIMIT) {
    log.append(h('li', { class: 'msg msg-note', text: `Showing the last ${HISTORY_LIMIT} messages.` }));
  } else if (messages.length === 0) {
    log.append(h('li', { class: 'msg msg-note first-turn', text: 'No messages yet. Say hello below.' }));
  }
  const transcript = new Transcript(agent.name);
  for (const message of messages.reverse()) transcript.chunk(message);
  log.scrollTop = log.scrollHeight;
}

async function sendChat(event) {
  event.preventDefault();
  const input = $('chat-input');
  const text = input.value;
  const agent = state.agent;
  if (!text.trim() || !agent || state.stream) return;
  input.value = '';
  const log = $('chat-log');
  for (const note of log.querySelectorAll('.first-turn')) note.remove();
  addEntry(bubble('msg-user', 'You', text));
  log.scrollTop = log.scrollHeight;
  const transcript = new Transcript(agent.name);
  const controller = new AbortController();
  state.stream = controller;
  setBusy(true);
  try {
    const response = await fetch(`${API}agents/${enc(agent.id)}/messages/stream`, {
      method: 'POST',
      headers: headers({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
      body: JSON.stringify({ input: text, stream_tokens: true }),
      signal: controller.signal,
    });
    if (!response.ok) {
      transcript.error(await detailOf(response));
      if (response.status === 401) report(new ApiError(401, 'The server wants an API key: enter it above.'));
      return;
    }
    const finished = await readEvents(response.body, ({ event: kind, data }) => {
      let payload;
      try {
        payload = JSON.parse(data);
      } catch {
        transcript.error(`The server sent something that is not JSON: ${clip(data, SNIPPET)}`);
        return;
      }
      if (kind === 'error') transcript.error(payload.detail || payload.message || 'The turn failed.');
      else transcript.chunk(payload);
    });
    if (!finished) transcript.error('The stream ended before the turn finished; refresh to see what was kept.');
  } catch (error) {
    if (error.name === 'AbortError') {
      if (state.agent && state.agent.id === agent.id) {
        transcript.error('Stopped reading. The turn goes on on the server; reopen the agent to see its outcome.');
      }
    } else {
      transcript.error(`Cannot reach the server (${error.message}).`);
    }
  } finally {
    if (state.stream === controller) state.stream = null;
    setBusy(false);
  }
  if (state.agent && state.agent.id === agent.id) {
    try {
      await loadBlocks(); // the turn may have edited memory
      state.agent = await api('GET', `agents/${enc(agent.id)}`);
      renderAgentMeta();
    } catch (error) {
      report(error);
    }
    const focused = document.activeElement;
    if (!focused || focused === document.body || $('chat-form').contains(focused)) input.focus();
  }
}

// --- wiring --------------------------------------------------------------------------------------

function saveKey(event) {
  event.preventDefault();
  const key = $('api-key').value.trim();
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    report(new Error('This browser does not allow local storage; the key cannot be kept.'));
    return;
  }
  reload(key ? 'API key saved in this browser.' : 'API key cleared.');
}

function clearKey() {
  $('api-key').value = '';
  try {
    localStorage.removeItem(KEY_STORAGE);
  } catch {
    // nothing stored
  }
  reload('API key cleared.');
}

function reload(message) {
  clearAlert();
  state.personas = null;
  state.agents = null;
  state.agent = null;
  state.personaDetails.clear();
  announce(message);
  route();
}

function init() {
  $('api-key').value = apiKey();
  $('key-form').addEventListener('submit', saveKey);
  $('key-clear').addEventListener('click', clearKey);
  $('alert-close').addEventListener('click', clearAlert);

  $('personas-refresh').addEventListener('click', () => reload('Personas refreshed.'));
  $('render-form').addEventListener('submit', (event) => {
    event.preventDefault();
    renderPrompt();
  });
  $('render-version').addEventListener('change', () => {
    const detail = state.personaDetails.get(state.persona);
    const version = detail && detail.versions.find((v) => v.version === Number($('render-version').value));
    if (version) renderVariableFields($('render-var-fields'), $('render-vars-none'), version.content, 'render');
    renderPrompt();
  });
  $('diff-form').addEventListener('submit', (event) => {
    event.preventDefault();
    renderDiff();
  });

  $('agent-create').addEventListener('submit', createAgent);
  $('create-persona').addEventListener('change', () => personaChosen().catch(report));
  $('create-binding').addEventListener('change', bindingChosen);
  $('create-add-block').addEventListener('click', () => addBlockRow({ label: '', value: '' }).querySelector('input').focus());
  $('agent-delete').addEventListener('click', deleteAgent);
  $('memory-refresh').addEventListener('click', () => state.agent && loadBlocks().catch(report));

  $('chat-form').addEventListener('submit', sendChat);
  $('chat-input').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $('chat-form').requestSubmit();
    }
  });
  $('chat-stop').addEventListener('click', () => state.stream && state.stream.abort());

  window.addEventListener('hashchange', () => {
    clearAlert();
    route();
  });
  route();
}

document.addEventListener('DOMContentLoaded', init);
