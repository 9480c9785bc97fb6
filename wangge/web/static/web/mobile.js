/*
 * The grid worker's report form (/m/report/): pick a category, describe, photograph, locate, send.
 *
 * The case is created through the JSON API (POST /api/v1/cases/, session cookie + CSRF token, an
 * Idempotency-Key so a retry after a lost answer cannot create it twice); then the photos go to
 * /api/v1/cases/{number}/photos/. Every UI string comes translated from #mobile-i18n.
 *
 * Once the point (and the category) are known, /api/v1/cases/report-check/ tells the grid there,
 * whether it is the reporter's own, and the open cases of the category nearby that the reporter may
 * see: the page offers to support (附议) one of them instead of reporting it again, before sending
 * and again after (withdrawing the report just sent into the earlier case).
 */

const messages = JSON.parse(document.getElementById('mobile-i18n').textContent);

function t(key, values = {}) {
  const text = messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) =>
    name in values ? String(values[name]) : match,
  );
}

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'className') element.className = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(
    ...children.flat().filter((child) => child !== null && child !== undefined && child !== false),
  );
  return element;
}

const form = document.getElementById('report-form');
const apiRoot = form.dataset.apiRoot;
const csrfToken = form.elements.csrfmiddlewaretoken.value;

class ApiError extends Error {}

/** fetch() against the API; a failure becomes an ApiError carrying the server's message. */
async function api(path, { method = 'GET', params = {}, json, formData, headers = {}, signal } = {}) {
  const url = new URL(apiRoot + path, window.location.href);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers }, signal };
  if (method !== 'GET') init.headers['X-CSRFToken'] = csrfToken;
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (formData) {
    init.body = formData;
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(t('networkError'));
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: the generic message below.
  }
  if (response.ok && body !== null) return body;
  const detail = typeof body?.detail === 'string' && body.detail ? body.detail : null;
  throw new ApiError(detail ?? t('requestFailed', { status: response.status }));
}

/** A random key; crypto.randomUUID exists only on https pages, getRandomValues everywhere. */
function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) =>
    byte.toString(16).padStart(2, '0'),
  ).join('');
}

// ---------------------------------------------------------------------------------------------
// Category picker: search the categories API; only small classes (with a parent) can be reported.

const search = document.getElementById('category-search');
const results = document.getElementById('category-results');
const picker = document.getElementById('category-picker');
const chosen = document.getElementById('category-chosen');
const chosenName = document.getElementById('category-chosen-name');
const categoryField = document.getElementById('category-id');
const selfHandleField = document.getElementById('self-handle-field');
const selfHandle = document.getElementById('self-handle');
const selfHandleDetails = document.getElementById('self-handle-details');
let searchTimer = null;
let searchRequest = null;
let hits = [];

search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(runSearch, 250);
});

async function runSearch() {
  const query = search.value.trim();
  searchRequest?.abort();
  if (!query) {
    results.replaceChildren();
    return;
  }
  searchRequest = new AbortController();
  try {
    const found = await api('categories/', { params: { q: query }, signal: searchRequest.signal });
    hits = found.filter((category) => category.parent_code).slice(0, 30);
    results.replaceChildren(
      ...(hits.length
        ? hits.map((category, index) =>
            h(
              'li',
              {},
              h(
                'button',
                { type: 'button', className: 'm-option', dataset: { index } },
                h('span', { className: 'm-option-name' }, category.name),
                h(
                  'span',
                  { className: 'm-option-meta' },
                  category.code,
                  category.allows_self_handling ? ` · ${t('selfHandling')}` : '',
                ),
              ),
            ),
          )
        : [h('li', { className: 'muted' }, t('noResults'))]),
    );
  } catch (error) {
    if (error.name !== 'AbortError') showError(error.message);
  }
}

results.addEventListener('click', (event) => {
  const option = event.target.closest('.m-option');
  if (option) choose(hits[Number(option.dataset.index)]);
});

function choose(category) {
  categoryField.value = category ? category.id : '';
  chosenName.textContent = category ? `${category.name} (${category.code})` : '';
  chosen.hidden = !category;
  picker.hidden = Boolean(category);
  // "Handled on the spot" only for categories that allow it.
  selfHandleField.hidden = !category?.allows_self_handling;
  if (selfHandleField.hidden) selfHandle.checked = false;
  selfHandleDetails.hidden = !selfHandle.checked;
  runCheck();
}

document.getElementById('category-change').addEventListener('click', () => {
  choose(null);
  search.focus();
});

selfHandle.addEventListener('change', () => {
  selfHandleDetails.hidden = !selfHandle.checked;
});

// ---------------------------------------------------------------------------------------------
// Photos: a preview of what was taken.

function preview(input, image) {
  input.addEventListener('change', () => {
    const file = input.files[0];
    if (image.src) URL.revokeObjectURL(image.src);
    image.hidden = !file;
    if (file) image.src = URL.createObjectURL(file);
  });
}

preview(document.getElementById('photo'), document.getElementById('photo-preview'));
preview(document.getElementById('after-photo'), document.getElementById('after-photo-preview'));

// ---------------------------------------------------------------------------------------------
// Location. Browsers give WGS-84, so the report says crs=wgs84. (Inside WeChat, wx.getLocation
// gives GCJ-02 coordinates unless asked for wgs84: send those with crs=gcj02 and the API converts.)

const locationStatus = document.getElementById('location-status');
let position = null;

function locate() {
  if (!navigator.geolocation) {
    locationStatus.textContent = t('noGeolocation');
    return;
  }
  locationStatus.textContent = t('locating');
  navigator.geolocation.getCurrentPosition(
    async ({ coords }) => {
      position = { lng: coords.longitude, lat: coords.latitude, accuracy: coords.accuracy };
      const text = t('located', {
        lng: position.lng.toFixed(6),
        lat: position.lat.toFixed(6),
        accuracy: Math.round(position.accuracy),
      });
      locationStatus.textContent = text;
      runCheck();
    },
    (error) => {
      locationStatus.textContent = error.code === error.PERMISSION_DENIED ? t('geoDenied') : t('geoFailed');
    },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 },
  );
}

document.getElementById('locate-button').addEventListener('click', locate);
locate();

// ---------------------------------------------------------------------------------------------
// The report check: the grid at the point (a warning outside the reporter's own grid) and probable
// duplicates nearby, each with "add your support"; "report anyway" lets the form be sent.

const gridLine = document.getElementById('location-grid');
const outsideWarning = document.getElementById('outside-warning');
const outsideConfirm = document.getElementById('outside-confirm');
const duplicatesBox = document.getElementById('duplicates');
const duplicateList = document.getElementById('duplicate-list');
const duplicateOthers = document.getElementById('duplicate-others');
const timeZone = form.dataset.timeZone || undefined;
let checked = { grid: null, duplicates: [], others: 0 };
let checkRequest = null;
let reportAnyway = false;

function checkParams(extra = {}) {
  const params = { lng: position.lng.toFixed(7), lat: position.lat.toFixed(7), crs: 'wgs84', ...extra };
  if (categoryField.value) params.category = categoryField.value;
  return params;
}

async function runCheck() {
  if (!position) return;
  checkRequest?.abort();
  checkRequest = new AbortController();
  try {
    checked = await api('cases/report-check/', { params: checkParams(), signal: checkRequest.signal });
  } catch (error) {
    if (error.name !== 'AbortError') showError(error.message);
    return;
  }
  showGrid(checked.grid);
  reportAnyway = false;
  showDuplicates(duplicatesBox, duplicateList, checked.duplicates, null);
  duplicateOthers.hidden = !checked.others;
  duplicateOthers.textContent = t('others', { count: checked.others });
  duplicatesBox.hidden = !checked.duplicates.length && !checked.others;
}

function showGrid(grid) {
  gridLine.hidden = !grid;
  if (grid) gridLine.textContent = t('gridIn', { name: grid.name, community: grid.community });
  const outside = !grid || !grid.yours;
  outsideWarning.hidden = !outside;
  outsideConfirm.closest('.choice').hidden = !grid;
  if (!outside) outsideConfirm.checked = false;
  document.getElementById('outside-text').textContent = grid
    ? t('outside', { name: grid.name, community: grid.community })
    : t('noGrid');
}

/** "10:02" today, "3月5日 10:02" on another day, in the district's time zone. */
function when(iso) {
  const date = new Date(iso);
  const lang = document.documentElement.lang || undefined;
  const day = (d) => d.toLocaleDateString('en-CA', { timeZone });
  const time = date.toLocaleTimeString(lang, { timeZone, hour: '2-digit', minute: '2-digit', hour12: false });
  if (day(date) === day(new Date())) return time;
  return `${date.toLocaleDateString(lang, { timeZone, month: 'short', day: 'numeric' })} ${time}`;
}

/** The list of nearby cases; ``mine`` is the number of the report just sent (after sending). */
function showDuplicates(box, list, duplicates, mine) {
  list.replaceChildren(
    ...duplicates.map((near) =>
      h(
        'li',
        { className: 'm-duplicate', dataset: { number: near.number } },
        h(
          'p',
          { className: 'm-duplicate-head' },
          t('reportedNear', { distance: near.distance_m, time: when(near.created_at) }),
        ),
        h('p', { className: 'm-duplicate-text' }, near.description),
        h(
          'p',
          { className: 'm-option-meta' },
          `${near.number} · ${near.state_label}`,
          near.supporters ? ` · ${t('supporters', { count: near.supporters })}` : '',
        ),
        h(
          'div',
          { className: 'm-duplicate-buttons' },
          h(
            'button',
            { type: 'button', className: 'button button-primary', dataset: { support: near.number } },
            mine ? t('withdraw') : t('support'),
          ),
          mine ? h('button', { type: 'button', className: 'button', dataset: { keep: '' } }, t('keep')) : null,
        ),
      ),
    ),
  );
  box.hidden = !duplicates.length;
}

async function supportCase(number, mine, button) {
  button.disabled = true;
  try {
    const note = form.elements.description.value.trim().slice(0, 500);
    const answer = await api(`cases/${encodeURIComponent(number)}/support/`, {
      method: 'POST',
      json: mine ? { note, withdraw: mine } : { note },
    });
    document.getElementById('support-text').textContent = mine
      ? t('withdrawn', { mine, number: answer.number, count: answer.supporters })
      : t('supported', { number: answer.number, count: answer.supporters });
    document.getElementById('support-link').href = caseUrl(answer.number);
    form.hidden = true;
    document.getElementById('report-done').hidden = true;
    document.getElementById('support-done').hidden = false;
    window.scrollTo(0, 0);
  } catch (error) {
    button.disabled = false;
    if (mine) {
      const warning = document.getElementById('done-warning');
      warning.textContent = error.message;
      warning.hidden = false;
    } else {
      showError(error.message);
    }
  }
}

duplicateList.addEventListener('click', (event) => {
  const button = event.target.closest('[data-support]');
  if (button) supportCase(button.dataset.support, null, button);
});

document.getElementById('report-anyway').addEventListener('click', () => {
  reportAnyway = true;
  duplicatesBox.hidden = true;
  showError('');
  form.requestSubmit();
});

function caseUrl(number) {
  return form.dataset.caseUrl.replace('NUMBER', encodeURIComponent(number));
}

// ---------------------------------------------------------------------------------------------
// Sending

const errorBox = document.getElementById('report-error');
const submit = document.getElementById('report-submit');
let idempotencyKey = randomKey(); // one per report: a retried send returns the same case

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function problems() {
  if (!categoryField.value) return t('needCategory');
  if (!form.elements.description.value.trim()) return t('needDescription');
  if (!position && !form.elements.address.value.trim()) return t('needLocation');
  if (selfHandle.checked && !form.elements.result.value.trim()) return t('needResult');
  if (position && checked.grid && !checked.grid.yours && !outsideConfirm.checked) {
    return t('needOutsideConfirm');
  }
  if (checked.duplicates.length && !reportAnyway) return t('chooseDuplicate');
  return '';
}

async function upload(number, kind, file) {
  const data = new FormData();
  data.append('kind', kind);
  data.append('photo', file);
  await api(`cases/${encodeURIComponent(number)}/photos/`, { method: 'POST', formData: data });
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const problem = problems();
  showError(problem);
  if (problem) {
    if (problem === t('chooseDuplicate')) duplicatesBox.focus();
    return;
  }
  submit.disabled = true;
  const label = submit.textContent;
  submit.textContent = t('sending');
  const body = {
    source: 'patrol',
    category: Number(categoryField.value),
    description: form.elements.description.value.trim(),
    address: form.elements.address.value.trim(),
    self_handle: selfHandle.checked,
    result: selfHandle.checked ? form.elements.result.value.trim() : '',
  };
  if (position) Object.assign(body, { lng: position.lng, lat: position.lat, crs: 'wgs84' });
  let created;
  try {
    created = await api('cases/', {
      method: 'POST',
      json: body,
      headers: { 'Idempotency-Key': idempotencyKey },
    });
  } catch (error) {
    showError(error.message);
    submit.disabled = false;
    submit.textContent = label;
    return;
  }
  submit.textContent = t('uploading');
  const warning = document.getElementById('done-warning');
  const uploads = [['before', document.getElementById('photo').files[0]]];
  if (selfHandle.checked) uploads.push(['after', document.getElementById('after-photo').files[0]]);
  for (const [kind, file] of uploads) {
    if (!file) continue;
    try {
      await upload(created.number, kind, file);
    } catch (error) {
      warning.textContent = t('photoFailed', { error: error.message });
      warning.hidden = false;
    }
  }
  idempotencyKey = randomKey();
  document.getElementById('done-number').textContent = created.number;
  document.getElementById('done-link').href = caseUrl(created.number);
  form.hidden = true;
  document.getElementById('report-done').hidden = false;
  window.scrollTo(0, 0);
  await showDoneDuplicates(created);
});

/** After sending: the cases the answer names as probable duplicates, with what is known of them. */
async function showDoneDuplicates(created) {
  if (!created.duplicates?.length || !position) return;
  let nearby;
  try {
    nearby = await api('cases/report-check/', {
      params: checkParams({ category: created.category.id, exclude: created.number }),
    });
  } catch {
    return; // the case is reported; the notice is a help, not a step
  }
  const named = new Set(created.duplicates);
  const box = document.getElementById('done-duplicates');
  const list = document.getElementById('done-duplicate-list');
  showDuplicates(
    box,
    list,
    nearby.duplicates.filter((near) => named.has(near.number)),
    created.number,
  );
  list.addEventListener('click', (event) => {
    const support = event.target.closest('[data-support]');
    if (support) supportCase(support.dataset.support, created.number, support);
    if (event.target.closest('[data-keep]')) box.hidden = true;
  });
}
