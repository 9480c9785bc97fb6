/*
 * The grid worker's report form (/m/report/): pick a category, describe, photograph, locate, send.
 *
 * The case is created through the JSON API (POST /api/v1/cases/, session cookie + CSRF token, an
 * Idempotency-Key so a retry after a lost answer cannot create it twice); then the photos go to
 * /api/v1/cases/{number}/photos/. Every UI string comes translated from #mobile-i18n.
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
      try {
        const { grid } = await api('locate/', {
          params: { lng: position.lng.toFixed(7), lat: position.lat.toFixed(7), crs: 'wgs84' },
        });
        locationStatus.textContent = `${text} · ${t('grid', { name: grid.name })}`;
      } catch {
        // Outside the user's grids, or offline: the point is still sent with the report.
      }
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
  if (problem) return;
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
  document.getElementById('done-link').href = form.dataset.caseUrl.replace(
    'NUMBER',
    encodeURIComponent(created.number),
  );
  form.hidden = true;
  document.getElementById('report-done').hidden = false;
  window.scrollTo(0, 0);
});
