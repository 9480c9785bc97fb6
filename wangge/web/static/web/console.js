/*
 * The command console's pages (/console/...): what the server-rendered HTML cannot do alone.
 *
 *   console        queue tabs (loaded by HTMX) keep their selected state; nothing else to do
 *   case page      action dialogs (dispatch, merge), the dispatch target switch, the verify form's
 *                  "outcome needed when passing", and a small Leaflet map with the case's point and
 *                  its grid's outline (from the JSON API)
 *   case map       open cases as circle markers coloured by their traffic light, from
 *                  /console/map.json; a click opens a popup with a link to the case
 *
 * Every UI string comes translated from the page's #console-i18n block (see _i18n.html).
 */

import { ApiError, getJSON as fetchJSON } from './http.js';

const L = window.L;

const messages = readJSON('console-i18n');

function readJSON(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : {};
}

/** The translated UI string for key, with "{name}" placeholders filled from values. */
function t(key, values = {}) {
  const text = messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) =>
    name in values ? String(values[name]) : match,
  );
}

/** A DOM element; string children become text nodes, so data is never parsed as HTML. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'className') element.className = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(
    ...children.flat().filter((child) => child !== null && child !== undefined && child !== false),
  );
  return element;
}

/** GET a JSON document; failures become an ApiError to show (http.js). */
function getJSON(url, options = {}) {
  return fetchJSON(url, t, options);
}

// Colours live in console.css as custom properties, shared by the dots in lists and on the map.
const palette = getComputedStyle(document.documentElement);
const colour = (name) => palette.getPropertyValue(`--${name}`).trim();

// ---------------------------------------------------------------------------------------------
// Console: queue tabs

document.addEventListener('htmx:beforeRequest', (event) => {
  const tab = event.detail.elt?.closest?.('.queue-tab');
  if (!tab) return;
  for (const other of document.querySelectorAll('.queue-tab')) {
    other.setAttribute('aria-selected', String(other === tab));
  }
  document.getElementById('queue-panel')?.setAttribute('aria-labelledby', tab.id);
  // The filter form keeps the queue being looked at.
  const queueField = document.querySelector('.console-filter input[name="queue"]');
  if (queueField) queueField.value = tab.id.replace(/^tab-/, '');
});

// On a narrow screen the open queue's tab may sit beyond the strip's right edge: bring it in.
document
  .querySelector('.queue-tab[aria-selected="true"]')
  ?.scrollIntoView({ block: 'nearest', inline: 'nearest' });

// ---------------------------------------------------------------------------------------------
// Case page: dialogs and forms

document.addEventListener('click', (event) => {
  const opener = event.target.closest('[data-dialog-open]');
  if (opener) {
    document.getElementById(opener.dataset.dialogOpen)?.showModal();
    return;
  }
  const closer = event.target.closest('[data-dialog-close]');
  if (closer) closer.closest('dialog')?.close();
});

// A dialog whose form came back with an error opens again by itself.
for (const dialog of document.querySelectorAll('dialog[data-open-on-load]')) dialog.showModal();

// Dispatch: to a department or to a person. Using one field picks its radio button; the chosen
// field is required.
for (const form of document.querySelectorAll('form[data-action="dispatch"]')) {
  const sync = () => {
    const target = form.elements.target.value;
    for (const field of form.querySelectorAll('[data-target]')) {
      field.required = field.dataset.target === target;
    }
  };
  form.addEventListener('focusin', (event) => {
    const field = event.target.closest('[data-target]');
    if (!field) return;
    const radio = form.querySelector(`input[name="target"][value="${field.dataset.target}"]`);
    if (radio && !radio.checked) {
      radio.checked = true;
      sync();
    }
  });
  form.addEventListener('change', sync);
  sync();
}

// Verify: the outcome must be chosen (there is no default) when the check passes.
for (const panel of document.querySelectorAll('.action-panel[data-action="verify"] form')) {
  const sync = () => {
    panel.elements.outcome.required = panel.elements.result.value === 'pass';
  };
  panel.addEventListener('change', sync);
  sync();
}

// ---------------------------------------------------------------------------------------------
// Maps

function baseMap(element) {
  const map = L.map(element, { preferCanvas: true, zoomControl: true });
  map.attributionControl.setPrefix('Leaflet');
  new ResizeObserver(() => map.invalidateSize({ debounceMoveend: true })).observe(element);
  L.control.scale({ imperial: false, position: 'bottomright' }).addTo(map);
  const url = element.dataset.tileUrl;
  if (url) {
    const tiles = L.tileLayer(url, {
      maxZoom: 19,
      subdomains: element.dataset.tileSubdomains || 'abc',
      attribution: element.dataset.tileAttribution || '',
    }).addTo(map);
    let failures = 0;
    tiles.on('tileerror', () => {
      failures += 1;
      if (failures === 5) element.dispatchEvent(new CustomEvent('tiles-failed'));
    });
  }
  return map;
}

function lightColour(light) {
  return colour(`light-${light ?? 'none'}`);
}

const caseMapElement = document.getElementById('case-map');
if (caseMapElement) showCase(caseMapElement);

async function showCase(element) {
  const note = document.getElementById('case-map-note');
  const say = (text) => {
    note.textContent = text;
    note.hidden = false;
  };
  element.addEventListener('tiles-failed', () => say(t('tilesFailed')));
  const point = L.latLng(Number(element.dataset.lat), Number(element.dataset.lng));
  const map = baseMap(element);
  map.setView(point, 17);
  const { gridLayer, gridCode, apiRoot } = element.dataset;
  if (gridLayer && gridCode) {
    try {
      const feature = await getJSON(
        `${apiRoot}grids/${encodeURIComponent(gridLayer)}/${encodeURIComponent(gridCode)}/`,
      );
      const outline = L.geoJSON(feature, {
        interactive: false,
        style: { color: colour('grid-outline'), weight: 2, fillOpacity: 0.06 },
      }).addTo(map);
      map.fitBounds(outline.getBounds().extend(point), {
        padding: [16, 16],
        maxZoom: 18,
        animate: false,
      });
      element.dataset.gridShown = 'true';
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      say(t('gridFailed'));
    }
  }
  // The point goes on top of the outline.
  L.circleMarker(point, {
    radius: 8,
    color: '#fff',
    weight: 2,
    fillColor: colour('case-point'),
    fillOpacity: 1,
  }).addTo(map);
}

const casesMapElement = document.getElementById('cases-map');
if (casesMapElement) showOpenCases(casesMapElement);

async function showOpenCases(element) {
  const status = document.getElementById('cases-map-status');
  const map = baseMap(element);
  element.leafletMap = map; // for the browser tests, which click a marker
  map.setView([35.0, 105.0], 4); // the whole country until the points arrive
  element.addEventListener('tiles-failed', () => {
    status.textContent = `${status.textContent} ${t('tilesFailed')}`;
  });
  // Community outlines in the user's scope, for orientation where there is no base map.
  const outlines = L.geoJSON(null, {
    interactive: false,
    style: { color: colour('region-outline'), weight: 1, fill: false },
  }).addTo(map);
  getJSON(new URL(`${element.dataset.apiRoot}regions/geojson/?level=community`, window.location.href))
    .then((collection) => {
      outlines.addData(collection);
      outlines.bringToBack();
      element.dataset.outlinesShown = 'true';
    })
    .catch(() => {}); // only context: the cases are drawn without it
  const markers = L.layerGroup().addTo(map);
  const caseUrl = (number) => element.dataset.caseUrl.replace('NUMBER', encodeURIComponent(number));
  let request = null;

  function popup(point) {
    const lightKey = `light.${point.light ?? 'none'}`;
    return h(
      'div',
      { className: 'case-popup' },
      h('p', { className: 'case-popup-number' }, h('a', { href: caseUrl(point.number) }, point.number)),
      h('p', {}, point.category),
      h('p', { className: 'muted' }, `${point.state} · ${t(lightKey)}`),
      h('p', {}, h('a', { href: caseUrl(point.number) }, t('openCase'))),
    );
  }

  function draw(points) {
    markers.clearLayers();
    // Red last, so overdue cases sit on top where markers overlap.
    const order = { red: 3, yellow: 2, green: 1 };
    const sorted = [...points].sort((a, b) => (order[a.light] ?? 0) - (order[b.light] ?? 0));
    for (const point of sorted) {
      L.circleMarker([point.lat, point.lng], {
        radius: 7,
        color: '#fff',
        weight: 1.5,
        fillColor: lightColour(point.light),
        fillOpacity: 0.92,
      })
        .bindPopup(() => popup(point))
        .addTo(markers);
    }
  }

  async function load(bounds) {
    request?.abort();
    request = new AbortController();
    const url = new URL(element.dataset.pointsUrl, window.location.href);
    if (bounds) {
      const box = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()];
      url.searchParams.set('bbox', box.map((value) => value.toFixed(6)).join(','));
    }
    const body = await getJSON(url, { signal: request.signal });
    draw(body.points);
    if (!body.points.length && !bounds) status.textContent = t('noCases');
    else if (body.truncated) status.textContent = t('truncated', { count: body.count });
    else status.textContent = t('shown', { count: body.count });
    return body;
  }

  try {
    const first = await load(null);
    if (first.points.length) {
      const bounds = L.latLngBounds(first.points.map((point) => [point.lat, point.lng]));
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: 15, animate: false });
    }
    if (first.truncated) {
      // Too many to draw at once: from now on ask for the cases in view.
      let timer = null;
      map.on('moveend', () => {
        clearTimeout(timer);
        timer = setTimeout(() => load(map.getBounds()).catch(report), 300);
      });
    }
  } catch (error) {
    report(error);
  }

  function report(error) {
    if (error?.name === 'AbortError') return;
    if (!(error instanceof ApiError)) console.error(error);
    status.textContent = error?.message || String(error);
  }
}
