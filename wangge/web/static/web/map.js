/*
 * The territory map page (/map/): region tree, search, a Leaflet map of regions and grids, and a
 * card for the selected object.
 *
 * Inputs, all written by templates/web/map.html:
 *   #map data-* attributes  api root, tile URL, default grid layer, the user's scope codes
 *   #map-grid-layers        [{code, name}, ...] as JSON
 *   #map-i18n               every UI string, already translated by Django
 * Data comes from the JSON API under the api root (session cookie, same origin).
 *
 * Drawing: everything interactive shares the default overlay pane, so with preferCanvas it is one
 * canvas and one hit test, in which the polygon drawn last wins a click. restack() keeps streets
 * at the bottom and grids on top. The district outline and the selection sit in the "outline"
 * pane above, which lets clicks through.
 */

import { ApiError, getJSON } from './http.js';

const L = window.L;

const COMMUNITY_MIN_ZOOM = 13;
const GRID_MIN_ZOOM = 14;
const LABEL_MIN_ZOOM = 15; // grid names never show at district or street zoom
const LABEL_MAX_COUNT = 250; // names drawn at once (each is a DOM element)
const LABEL_CHAR_PX = 13; // width of one character of a label (CJK at 12 px, with some air)
const MAX_ZOOM = 18; // a building is clear at 18; beyond it the tiles only blur
const SEARCH_DELAY_MS = 250;
const GRID_FETCH_PADDING = 0.3; // fetch a bit more than the view, so small pans need no request
const LARGE_AREA_M2 = 100000; // from here on the card also gives the area in km²
const CARD_CLEARANCE = 340; // px the card covers at the map's left edge (wide screens)
const PHONE = window.matchMedia('(max-width: 600px)');

// ---------------------------------------------------------------------------------------------
// Page inputs

const mapElement = document.getElementById('map');
const config = {
  apiRoot: mapElement.dataset.apiRoot,
  tileUrl: mapElement.dataset.tileUrl,
  tileAttribution: mapElement.dataset.tileAttribution,
  tileSubdomains: mapElement.dataset.tileSubdomains || 'abc',
  defaultLayer: mapElement.dataset.defaultLayer,
  scopeCodes: (mapElement.dataset.scopeCodes || '').split(' ').filter(Boolean),
  registryGridUrl: mapElement.dataset.registryGridUrl, // empty: the user may not open the registry
  consoleUrl: mapElement.dataset.consoleUrl, // empty: the user may not see cases
  gridLayers: readJSON('map-grid-layers'),
};
const messages = readJSON('map-i18n');

function readJSON(id) {
  return JSON.parse(document.getElementById(id).textContent);
}

/** The translated UI string for key, with "{name}" placeholders filled from values. */
function t(key, values = {}) {
  const text = messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) =>
    name in values ? String(values[name]) : match,
  );
}

// Colours live in map.css as custom properties, so the layer switcher's swatches and the canvas
// agree without keeping two lists in step.
const palette = getComputedStyle(document.documentElement);
const colour = (name) => palette.getPropertyValue(`--map-${name}`).trim();

// ---------------------------------------------------------------------------------------------
// Small helpers

/** A DOM element; string children become text nodes, so data is never parsed as HTML. */
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

/** For the few Leaflet APIs that take HTML (layer switcher labels, attribution). */
function escapeHtml(text) {
  const span = document.createElement('span');
  span.textContent = text;
  return span.innerHTML;
}

function boundsOf(bbox) {
  const [minLng, minLat, maxLng, maxLat] = bbox;
  return L.latLngBounds([minLat, minLng], [maxLat, maxLng]);
}

const locale = document.documentElement.lang || undefined;
const wholeNumber = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
const twoDecimals = new Intl.NumberFormat(locale, {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});

function formatCount(value) {
  return Number.isFinite(value) ? wholeNumber.format(value) : '—';
}

function formatArea(m2) {
  if (!Number.isFinite(m2)) return '—';
  const text = `${wholeNumber.format(m2)} m²`;
  return m2 >= LARGE_AREA_M2 ? `${text} (${twoDecimals.format(m2 / 1e6)} km²)` : text;
}

function levelName(level) {
  return t(`level.${level}`);
}

function layerName(code) {
  return config.gridLayers.find((layer) => layer.code === code)?.name ?? code;
}

// ---------------------------------------------------------------------------------------------
// API

/** GET a JSON document from the API; failures become an ApiError carrying a message to show. */
function api(path, params = {}, { signal } = {}) {
  const url = new URL(config.apiRoot + path, window.location.href);
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') url.searchParams.set(name, value);
  }
  return getJSON(url, t, { signal });
}

// ---------------------------------------------------------------------------------------------
// Alert area

const alertBox = document.getElementById('map-alert');
const alertText = document.getElementById('map-alert-text');
let alertTimer = null;

function showAlert(message, { level = 'error' } = {}) {
  alertText.textContent = message;
  alertBox.dataset.level = level;
  alertBox.hidden = false;
  clearTimeout(alertTimer);
  if (level === 'info') alertTimer = setTimeout(hideAlert, 8000);
}

function hideAlert() {
  alertBox.hidden = true;
}

/** The one place errors end up: aborted requests are expected, anything else is shown. */
function report(error) {
  if (error?.name === 'AbortError') return;
  if (!(error instanceof ApiError)) console.error(error);
  showAlert(error?.message || String(error));
}

document.getElementById('map-alert-close').addEventListener('click', hideAlert);

// ---------------------------------------------------------------------------------------------
// The map and its layers

const map = L.map(mapElement, { preferCanvas: true, zoomControl: true, maxZoom: MAX_ZOOM });
map.attributionControl.setPrefix('Leaflet');
L.control.scale({ imperial: false, position: 'bottomright' }).addTo(map);

const outlinePane = map.createPane('outline');
outlinePane.style.zIndex = 450; // above the overlay pane (400), below markers and tooltips
outlinePane.style.pointerEvents = 'none'; // clicks reach the polygons underneath

new ResizeObserver(() => map.invalidateSize({ debounceMoveend: true })).observe(mapElement);

/** Zoom-to options that keep the target clear of the card: on its left, or below on a phone. */
function fitOptions() {
  const { x: width, y: height } = map.getSize();
  return PHONE.matches
    ? { paddingTopLeft: [16, 16], paddingBottomRight: [16, Math.round(height * 0.45)], maxZoom: 17 }
    : {
        paddingTopLeft: [Math.min(CARD_CLEARANCE, width * 0.4), 24],
        paddingBottomRight: [24, 24],
        maxZoom: 17,
      };
}

const STYLES = {
  district: { color: colour('district'), weight: 3.5, fill: false },
  street: (code) => ({
    color: colour('street-line'),
    weight: 2,
    fillColor: streetFill(code),
    fillOpacity: 0.4,
  }),
  community: { color: colour('community-line'), weight: 1.2, fillOpacity: 0 },
  selection: {
    color: colour('selection'),
    weight: 4,
    fillColor: colour('selection'),
    fillOpacity: 0.15,
  },
};

/** A soft fill per street, fixed by its code; consecutive codes land far apart in hue. */
function streetFill(code) {
  let seed = Number.parseInt(code.slice(-3), 10);
  if (Number.isNaN(seed))
    seed = [...code].reduce((sum, char) => (sum * 31 + char.charCodeAt(0)) >>> 0, 7);
  const hue = Math.round((seed * 137.508) % 360); // the golden angle
  return `hsl(${hue}, 55%, 78%)`;
}

/** Every loaded district, street and community polygon by code, to draw the selection from. */
const regionPolygons = new Map();

function rememberRegion(feature, layer) {
  regionPolygons.set(feature.properties.code, layer);
}

const districtLayer = L.geoJSON(null, {
  pane: 'outline',
  interactive: false,
  style: STYLES.district,
  onEachFeature: rememberRegion,
}).addTo(map);

const streetLayer = L.geoJSON(null, {
  style: (feature) => STYLES.street(feature.properties.code),
  onEachFeature: rememberRegion,
}).addTo(map);

// The layer switcher toggles communityOverlay; the polygons inside it come and go with the zoom.
const communityLayer = L.geoJSON(null, { style: STYLES.community, onEachFeature: rememberRegion });
const communityOverlay = L.layerGroup().addTo(map);

const selectionLayer = L.featureGroup().addTo(map);

/** One grid layer (social, unit, ...): the grids fetched so far, shown by zoom and focus. */
class GridOverlay {
  constructor({ code, name }, swatch) {
    this.code = code;
    this.name = name;
    this.swatch = swatch; // a colour name in map.css, without the --map- prefix
    this.lineColour = colour(swatch);
    this.group = L.featureGroup(); // what the layer switcher toggles
    this.polygons = new Map(); // grid code -> polygon
    this.fetchedAreas = []; // LatLngBounds already fetched by bbox
    this.communityGrids = new Map(); // community code -> Set of grid codes
    this.communityLoads = new Map(); // community code -> Promise
    this.viewRequest = null; // AbortController of the bbox request in flight
    this.group.on('click', (event) =>
      selectGrid(this.code, event.layer.feature.properties.code, { zoom: false }),
    );
    showNameOnHover(this.group);
  }

  get active() {
    return map.hasLayer(this.group);
  }

  style(properties) {
    if (properties.grid_type === 'special') {
      const special = colour('special');
      return {
        color: special,
        weight: 1.6,
        dashArray: '4 3',
        fillColor: special,
        fillOpacity: 0.3,
      };
    }
    return { color: this.lineColour, weight: 0.8, fillColor: this.lineColour, fillOpacity: 0.06 };
  }

  /** Keep the features of a collection (not drawn yet) and return their codes. */
  remember(collection) {
    return collection.features.map((feature) => {
      const code = feature.properties.code;
      if (!this.polygons.has(code)) {
        const polygon = L.GeoJSON.geometryToLayer(feature, this.style(feature.properties));
        polygon.feature = feature;
        this.polygons.set(code, polygon);
      }
      return code;
    });
  }

  /** Fetch the grids around the current view unless an earlier fetch already covered it. */
  async loadView() {
    const view = map.getBounds();
    if (this.fetchedAreas.some((area) => area.contains(view))) return;
    const area = view.pad(GRID_FETCH_PADDING);
    this.viewRequest?.abort();
    const request = (this.viewRequest = new AbortController());
    try {
      const params = { layer: this.code, bbox: area.toBBoxString() };
      this.remember(await api('grids/', params, { signal: request.signal }));
      this.fetchedAreas.push(area);
      this.refresh();
    } finally {
      if (this.viewRequest === request) this.viewRequest = null;
    }
  }

  /** Fetch the grids of one community (once), so they can show below GRID_MIN_ZOOM. */
  loadCommunity(code) {
    if (!this.communityLoads.has(code)) {
      const load = api('grids/', { layer: this.code, parent: code }).then((collection) => {
        this.communityGrids.set(code, new Set(this.remember(collection)));
        this.refresh();
      });
      load.catch(() => this.communityLoads.delete(code)); // let a later selection try again
      this.communityLoads.set(code, load);
    }
    return this.communityLoads.get(code);
  }

  /** Show every fetched grid when zoomed in, else only those of the focused community. */
  refresh() {
    const wanted =
      map.getZoom() >= GRID_MIN_ZOOM
        ? null
        : (this.communityGrids.get(focusCommunity) ?? new Set());
    for (const [code, polygon] of this.polygons) {
      const show = wanted === null || wanted.has(code);
      if (show && !this.group.hasLayer(polygon)) this.group.addLayer(polygon);
      else if (!show && this.group.hasLayer(polygon)) this.group.removeLayer(polygon);
    }
    scheduleLabels();
  }
}

// Social and unit grids have colours of their own; any further layer takes one of the spares.
const LAYER_COLOURS = { social: 'layer-social', unit: 'layer-unit' };
const SPARE_LAYER_COLOURS = ['layer-other-1', 'layer-other-2', 'layer-other-3', 'layer-other-4'];
const gridOverlays = new Map(
  config.gridLayers.map((layer, index) => {
    const swatch =
      LAYER_COLOURS[layer.code] ?? SPARE_LAYER_COLOURS[index % SPARE_LAYER_COLOURS.length];
    return [layer.code, new GridOverlay(layer, swatch)];
  }),
);
gridOverlays.get(config.defaultLayer)?.group.addTo(map);

/** The community whose grids show at any zoom: the selected one, or the selected grid's. */
let focusCommunity = null;

function setFocusCommunity(code) {
  focusCommunity = code;
  for (const overlay of gridOverlays.values()) {
    if (code && overlay.active) overlay.loadCommunity(code).catch(report);
    overlay.refresh();
  }
}

/**
 * Streets at the bottom, grids on top. The canvas draws (and hit-tests) in the order polygons were
 * added, so this is needed whenever polygons are (re)added out of that order.
 */
function restack() {
  streetLayer.bringToBack();
  for (const overlay of gridOverlays.values()) if (overlay.active) overlay.group.bringToFront();
}

// ---------------------------------------------------------------------------------------------
// Grid names on the map: from LABEL_MIN_ZOOM on, for the shown grids in view whose outline is wide
// and tall enough on screen to hold the name. Zooming in brings names in as they start to fit.

const labelLayer = L.layerGroup().addTo(map);
let labelFrame = null;

function scheduleLabels() {
  if (labelFrame === null) labelFrame = requestAnimationFrame(updateLabels);
}

function labelFits(polygon, name) {
  const bounds = polygon.getBounds();
  const northWest = map.latLngToLayerPoint(bounds.getNorthWest());
  const southEast = map.latLngToLayerPoint(bounds.getSouthEast());
  const width = southEast.x - northWest.x;
  const height = southEast.y - northWest.y;
  return width >= name.length * LABEL_CHAR_PX + 12 && height >= 24;
}

function updateLabels() {
  labelFrame = null;
  labelLayer.clearLayers();
  if (map.getZoom() < LABEL_MIN_ZOOM) return;
  const view = map.getBounds();
  const placed = []; // screen boxes of the names drawn so far: two layers' names never overlap
  let count = 0;
  for (const overlay of gridOverlays.values()) {
    if (!overlay.active) continue;
    overlay.group.eachLayer((polygon) => {
      if (count >= LABEL_MAX_COUNT) return;
      const name = polygon.feature.properties.name;
      const bounds = polygon.getBounds();
      if (!view.contains(bounds.getCenter()) || !labelFits(polygon, name)) return;
      const centre = map.latLngToLayerPoint(bounds.getCenter());
      const half = L.point((name.length * LABEL_CHAR_PX) / 2 + 4, 10);
      const box = L.bounds(centre.subtract(half), centre.add(half));
      if (placed.some((other) => other.intersects(box))) return;
      placed.push(box);
      const icon = L.divIcon({
        className: 'grid-label',
        html: `<span>${escapeHtml(name)}</span>`,
        iconSize: [0, 0],
      });
      labelLayer.addLayer(
        L.marker(bounds.getCenter(), { icon, interactive: false, keyboard: false }),
      );
      count += 1;
    });
  }
}

map.on('moveend', scheduleLabels);
map.on('overlayremove', scheduleLabels);

let communitiesLoad = null;

function loadCommunities() {
  if (communitiesLoad) return communitiesLoad;
  communitiesLoad = api('regions/geojson/', { level: 'community' }).then(
    (collection) => {
      communityLayer.addData(collection);
      restack();
    },
    (error) => {
      communitiesLoad = null;
      throw error;
    },
  );
  return communitiesLoad;
}

// One tooltip for all polygons (thousands of grids): it follows the pointer and shows the name.
const hoverTooltip = L.tooltip({
  direction: 'top',
  offset: [0, -10],
  className: 'map-hover-label',
});

function showNameOnHover(group) {
  group.on('mousemove', (event) => {
    hoverTooltip
      .setLatLng(event.latlng)
      .setContent(h('span', {}, event.layer.feature.properties.name));
    if (!map.hasLayer(hoverTooltip)) hoverTooltip.openOn(map);
  });
  group.on('mouseout', () => hoverTooltip.close());
}

map.on('zoomstart', () => hoverTooltip.close()); // its polygon may be gone after the zoom

function layerLabel(swatch, name) {
  const swatchHtml = `<span class="map-swatch map-swatch-${swatch}" aria-hidden="true"></span>`;
  return swatchHtml + escapeHtml(name);
}

function addLayerSwitcher() {
  const baseLayers = {};
  if (config.tileUrl) {
    const tiles = L.tileLayer(config.tileUrl, {
      maxZoom: 19,
      subdomains: config.tileSubdomains,
      attribution: escapeHtml(config.tileAttribution),
    }).addTo(map);
    warnWhenTilesFail(tiles);
    baseLayers[escapeHtml(t('baseTiles'))] = tiles;
    baseLayers[escapeHtml(t('noTiles'))] = L.layerGroup();
  }
  const overlays = {
    [layerLabel('street', t('streets'))]: streetLayer,
    [layerLabel('community', t('communities'))]: communityOverlay,
  };
  for (const overlay of gridOverlays.values())
    overlays[layerLabel(overlay.swatch, overlay.name)] = overlay.group;
  L.control.layers(baseLayers, overlays, { collapsed: PHONE.matches }).addTo(map);
}

/** Polygons draw on the plain background anyway; say so once if no tile ever loaded. */
function warnWhenTilesFail(tiles) {
  let loaded = false;
  tiles.on('tileload', () => {
    loaded = true;
  });
  tiles.once('tileerror', () => {
    if (!loaded) showAlert(t('tilesFailed'), { level: 'info' });
  });
}

addLayerSwitcher();
showNameOnHover(streetLayer);
showNameOnHover(communityLayer);
streetLayer.on('click', (event) =>
  selectRegion(event.layer.feature.properties.code, { zoom: false }),
);
communityLayer.on('click', (event) =>
  selectRegion(event.layer.feature.properties.code, { zoom: false }),
);

function updateZoomDependentLayers() {
  const zoom = map.getZoom();
  const showCommunities = zoom >= COMMUNITY_MIN_ZOOM;
  if (showCommunities && !communityOverlay.hasLayer(communityLayer)) {
    communityOverlay.addLayer(communityLayer);
    restack();
  } else if (!showCommunities && communityOverlay.hasLayer(communityLayer)) {
    communityOverlay.removeLayer(communityLayer);
  }
  if (showCommunities && map.hasLayer(communityOverlay)) loadCommunities().catch(report);
  for (const overlay of gridOverlays.values()) overlay.refresh();
}

function loadGridsInView() {
  if (map.getZoom() < GRID_MIN_ZOOM) return;
  for (const overlay of gridOverlays.values()) if (overlay.active) overlay.loadView().catch(report);
}

map.on('zoomend', updateZoomDependentLayers);
map.on('moveend', loadGridsInView);
/** An overlay was switched on, by the user or by selectGrid(): fetch what it needs now. */
function overlayShown(layer) {
  restack();
  if (layer === communityOverlay) updateZoomDependentLayers();
  const overlay = [...gridOverlays.values()].find((candidate) => candidate.group === layer);
  if (!overlay) return;
  if (focusCommunity) overlay.loadCommunity(focusCommunity).catch(report);
  if (map.getZoom() >= GRID_MIN_ZOOM) overlay.loadView().catch(report);
}

map.on('overlayadd', (event) => overlayShown(event.layer));

// ---------------------------------------------------------------------------------------------
// Region tree

const treeElement = document.getElementById('region-tree');
const treeToggle = document.getElementById('tree-toggle');
const sidebar = document.getElementById('sidebar');
const regions = new Map(); // code -> region from the list endpoint
const treeItems = new Map(); // code -> <li>

function buildTree(list) {
  const children = new Map();
  const roots = [];
  for (const region of list) regions.set(region.code, region);
  for (const region of list) {
    // A parent outside the user's scope is not in the list: such a region is a root.
    if (region.parent_code && regions.has(region.parent_code)) {
      if (!children.has(region.parent_code)) children.set(region.parent_code, []);
      children.get(region.parent_code).push(region);
    } else {
      roots.push(region);
    }
  }

  const node = (region) => {
    const kids = children.get(region.code) ?? [];
    const toggle = kids.length
      ? h('button', {
          type: 'button',
          className: 'tree-toggle',
          'aria-expanded': 'false',
          'aria-label': t('subregions', { name: region.name }),
        })
      : h('span', { className: 'tree-toggle', 'aria-hidden': 'true' });
    const label = h(
      'button',
      { type: 'button', className: 'tree-label', dataset: { code: region.code } },
      h('span', { className: 'tree-name' }, region.name),
      h('span', { className: 'tree-code' }, region.code),
    );
    const item = h(
      'li',
      { className: `tree-node tree-${region.level}` },
      h('div', { className: 'tree-row' }, toggle, label),
    );
    if (kids.length)
      item.append(h('ul', { className: 'tree-children', hidden: true }, kids.map(node)));
    treeItems.set(region.code, item);
    return item;
  };

  treeElement.replaceChildren(
    roots.length
      ? h('ul', { className: 'tree' }, roots.map(node))
      : h('p', { className: 'muted' }, t('noRegions')),
  );
  treeElement.removeAttribute('aria-busy');
  for (const root of roots) setExpanded(treeItems.get(root.code), true);
}

function setExpanded(item, expanded) {
  const list = item.querySelector(':scope > .tree-children');
  if (!list) return;
  list.hidden = !expanded;
  item
    .querySelector(':scope > .tree-row > .tree-toggle')
    .setAttribute('aria-expanded', String(expanded));
}

/** Mark a region as current in the tree, open its ancestors and scroll it into the tree's view. */
function markInTree(code) {
  treeElement.querySelector('.tree-label[aria-current]')?.removeAttribute('aria-current');
  const item = code ? treeItems.get(code) : null;
  if (!item) return;
  for (
    let parent = item.parentElement.closest('.tree-node');
    parent;
    parent = parent.parentElement.closest('.tree-node')
  ) {
    setExpanded(parent, true);
  }
  const label = item.querySelector(':scope > .tree-row > .tree-label');
  label.setAttribute('aria-current', 'true');
  const row = label.getBoundingClientRect();
  const box = treeElement.getBoundingClientRect();
  if (row.top < box.top) treeElement.scrollTop -= box.top - row.top + 8;
  else if (row.bottom > box.bottom) treeElement.scrollTop += row.bottom - box.bottom + 8;
}

treeElement.addEventListener('click', (event) => {
  const toggle = event.target.closest('button.tree-toggle');
  if (toggle) {
    setExpanded(toggle.closest('.tree-node'), toggle.getAttribute('aria-expanded') !== 'true');
    return;
  }
  const label = event.target.closest('.tree-label');
  if (!label) return;
  selectRegion(label.dataset.code, { zoom: true });
  if (PHONE.matches) setSidebarOpen(false);
});

/** On a phone the tree folds away above the map; on wider screens it is always open. */
function setSidebarOpen(open) {
  sidebar.classList.toggle('is-open', open);
  treeToggle.setAttribute('aria-expanded', String(open));
}

treeToggle.addEventListener('click', () =>
  setSidebarOpen(treeToggle.getAttribute('aria-expanded') !== 'true'),
);

// ---------------------------------------------------------------------------------------------
// Selection and the card

const card = document.getElementById('card');
const cardKind = document.getElementById('card-kind');
const cardTitle = document.getElementById('card-title');
const cardAncestors = document.getElementById('card-ancestors');
const cardFacts = document.getElementById('card-facts');

// Each selection gets a number; a response for an older one is dropped, so fast clicks never
// leave the card showing one object and the map highlighting another.
let selectionNumber = 0;

// The header's language switch posts a "next" URL; with the fragment in it the selection survives.
const languageNext = document.querySelector('.language-form input[name="next"]');

function beginSelection(hash) {
  selectionNumber += 1;
  const url = window.location.pathname + window.location.search + (hash ? `#${hash}` : '');
  history.replaceState(null, '', url);
  if (languageNext) languageNext.value = url;
  return selectionNumber;
}

function highlight(...layers) {
  selectionLayer.clearLayers();
  for (const layer of layers) selectionLayer.addLayer(layer);
}

async function selectRegion(code, { zoom = true } = {}) {
  const number = beginSelection(`region=${code}`);
  const known = regions.get(code);
  if (zoom && known) map.fitBounds(boundsOf(known.bbox), fitOptions());
  try {
    const region = await api(`regions/${encodeURIComponent(code)}/`);
    if (number !== selectionNumber) return;
    if (zoom && !known) map.fitBounds(boundsOf(region.bbox), fitOptions());
    showCard(regionCard(region));
    markInTree(region.code);
    setFocusCommunity(region.level === 'community' ? region.code : null);
    await regionGeometry(region.level);
    const polygon = regionPolygons.get(region.code);
    if (number === selectionNumber && polygon) highlight(selectionOutline(polygon.getLatLngs()));
  } catch (error) {
    if (number === selectionNumber) report(error);
  }
}

async function selectGrid(layer, code, { zoom = true, point = null } = {}) {
  const number = beginSelection(`grid=${layer}/${code}`);
  try {
    const feature = await api(`grids/${encodeURIComponent(layer)}/${encodeURIComponent(code)}/`);
    if (number !== selectionNumber) return;
    const outline = L.geoJSON(feature, {
      pane: 'outline',
      interactive: false,
      style: STYLES.selection,
    });
    const marker =
      point &&
      L.circleMarker(point, {
        pane: 'outline',
        interactive: false,
        radius: 5,
        ...STYLES.selection,
        fillOpacity: 1,
      });
    highlight(outline, ...(marker ? [marker] : []));
    if (zoom) map.fitBounds(outline.getBounds(), fitOptions());
    const grid = feature.properties;
    showCard(gridCard(grid));
    const overlay = gridOverlays.get(layer);
    if (overlay && !overlay.active) {
      map.addLayer(overlay.group); // the grid's own layer, for context around it
      overlayShown(overlay.group);
    }
    const community =
      grid.ancestors?.find((ancestor) => ancestor.level === 'community')?.code ?? grid.parent_code;
    markInTree(community);
    setFocusCommunity(community);
  } catch (error) {
    if (number === selectionNumber) report(error);
  }
}

function clearSelection() {
  beginSelection(null);
  card.hidden = true;
  selectionLayer.clearLayers();
  markInTree(null);
  setFocusCommunity(null);
}

function selectionOutline(latlngs) {
  return L.polygon(latlngs, { pane: 'outline', interactive: false, ...STYLES.selection });
}

/** Resolves once the polygons of that level are in regionPolygons. */
function regionGeometry(level) {
  if (level === 'community') return loadCommunities();
  return initialGeometry;
}

function regionCard(region) {
  return {
    kind: levelName(region.level),
    title: region.name,
    code: region.code,
    ancestors: region.ancestors ?? [],
    synthetic: region.synthetic_geometry,
    facts: [
      [t('code'), region.code],
      [t('level'), levelName(region.level)],
      [t('area'), formatArea(region.area_m2)],
      [t('households'), formatCount(region.households)],
      [t('population'), formatCount(region.population)],
      region.responsible_party && [t('responsibleParty'), region.responsible_party],
    ],
    links: [casesLink(region.code)],
  };
}

/** The open cases of a region or grid: the console filtered by its code. */
function casesLink(code, text = t('casesLink')) {
  if (!config.consoleUrl) return null;
  return { href: `${config.consoleUrl}?${new URLSearchParams({ region: code })}`, text };
}

/** Names of the grid's workers; a worker without a name on file is said so, never his login. */
function workerNames(workers) {
  if (!workers.length) return t('noWorker');
  return workers.map((worker) => worker.name || t('unnamed')).join('、');
}

function gridCard(grid) {
  // Workers, registry pages and cases belong to grids of the default (social) layer; a unit grid
  // of the same code is a different area.
  const assigned = grid.layer === config.defaultLayer;
  let gridType = messages[`gridType.${grid.grid_type}`] ?? grid.grid_type;
  if (grid.special_kind)
    gridType += ` · ${messages[`specialKind.${grid.special_kind}`] ?? grid.special_kind}`;
  return {
    kind: `${levelName('grid')} · ${layerName(grid.layer)}`,
    title: grid.name,
    code: grid.code,
    ancestors: grid.ancestors ?? [],
    synthetic: grid.synthetic,
    special: grid.grid_type === 'special',
    facts: [
      [t('code'), grid.code],
      [t('layer'), layerName(grid.layer)],
      [t('gridType'), gridType],
      assigned && [t('gridWorkers'), workerNames(grid.workers ?? [])],
      [t('area'), formatArea(grid.area_m2)],
      [t('households'), formatCount(grid.households)],
      [t('population'), formatCount(grid.population)],
      grid.responsible_party && [t('responsibleParty'), grid.responsible_party],
    ],
    links: assigned
      ? [
          config.registryGridUrl && {
            href: config.registryGridUrl.replace('000000000000000', grid.code),
            text: t('registryLink'),
          },
          casesLink(grid.code, t('gridCasesLink')),
        ]
      : [],
  };
}

const cardLinks = document.getElementById('card-links');

function showCard({
  kind,
  title,
  code,
  ancestors,
  facts,
  links = [],
  synthetic = false,
  special = false,
}) {
  cardKind.textContent = kind;
  cardTitle.textContent = title;
  card.classList.toggle('card-special', special);

  // The parent chain: regions in the user's scope are links that select them.
  const chain = ancestors
    .filter((ancestor) => ancestor.code !== code)
    .map((ancestor) =>
      h(
        'li',
        {},
        regions.has(ancestor.code)
          ? h(
              'a',
              { href: `#region=${ancestor.code}`, dataset: { code: ancestor.code } },
              ancestor.name,
            )
          : ancestor.name,
      ),
    );
  cardAncestors.replaceChildren(
    ...(chain.length ? [h('ol', { className: 'breadcrumb' }, chain)] : []),
  );
  cardAncestors.hidden = chain.length === 0;

  cardFacts.replaceChildren(
    ...facts.filter(Boolean).flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]),
  );
  if (synthetic) cardFacts.append(h('p', { className: 'card-note' }, t('synthetic')));
  const shownLinks = links.filter(Boolean);
  cardLinks.replaceChildren(
    ...shownLinks.map((link) => h('li', {}, h('a', { href: link.href }, link.text))),
  );
  cardLinks.hidden = shownLinks.length === 0;
  card.hidden = false;
}

cardAncestors.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-code]');
  if (!link) return;
  event.preventDefault();
  selectRegion(link.dataset.code, { zoom: true });
});

document.getElementById('card-close').addEventListener('click', clearSelection);

/** The selection named by the URL fragment: #region=CODE or #grid=LAYER/CODE. */
function selectFromHash() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const region = params.get('region');
  const [layer, code] = (params.get('grid') ?? '').split('/');
  if (region) selectRegion(region);
  else if (layer && code) selectGrid(layer, code);
}

window.addEventListener('hashchange', () => selectFromHash());

// Right-click (long-press on touch screens): which grid is here?
map.on('contextmenu', async (event) => {
  const active = [...gridOverlays.values()]
    .filter((overlay) => overlay.active)
    .map((overlay) => overlay.code);
  const layer = active.includes(config.defaultLayer)
    ? config.defaultLayer
    : (active[0] ?? config.defaultLayer);
  try {
    const { grid } = await api('locate/', {
      lng: event.latlng.lng.toFixed(7),
      lat: event.latlng.lat.toFixed(7),
      layer,
    });
    await selectGrid(grid.layer, grid.code, { zoom: false, point: event.latlng });
  } catch (error) {
    report(error);
  }
});

// ---------------------------------------------------------------------------------------------
// Search

const searchBox = document.getElementById('search');
const searchInput = document.getElementById('search-input');
const searchResults = document.getElementById('search-results');
let searchTimer = null;
let searchRequest = null;
let searchHits = [];

searchInput.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(runSearch, SEARCH_DELAY_MS);
});

async function runSearch() {
  const query = searchInput.value.trim();
  searchRequest?.abort();
  if (!query) {
    closeResults();
    return;
  }
  const request = (searchRequest = new AbortController());
  try {
    const { results } = await api('search/', { q: query }, { signal: request.signal });
    showResults(results);
  } catch (error) {
    report(error);
  }
}

function showResults(hits) {
  searchHits = hits;
  const options = hits.map((hit, index) => {
    const kind =
      hit.kind === 'grid' ? `${levelName('grid')} · ${layerName(hit.layer)}` : levelName(hit.level);
    return h(
      'li',
      {},
      h(
        'button',
        { type: 'button', className: 'search-option', dataset: { index } },
        h('span', { className: 'search-name' }, hit.name),
        h('span', { className: 'search-meta' }, `${kind} · ${hit.code}`),
      ),
    );
  });
  searchResults.replaceChildren(
    options.length ? h('ul', {}, options) : h('p', { className: 'search-empty' }, t('noResults')),
  );
  searchResults.hidden = false;
}

function closeResults() {
  searchResults.hidden = true;
  searchResults.replaceChildren();
  searchHits = [];
}

function choose(hit) {
  closeResults();
  if (hit.bbox) map.fitBounds(boundsOf(hit.bbox), fitOptions());
  if (hit.kind === 'grid') selectGrid(hit.layer, hit.code, { zoom: false });
  else selectRegion(hit.code, { zoom: false });
  if (PHONE.matches) setSidebarOpen(false);
}

searchResults.addEventListener('click', (event) => {
  const option = event.target.closest('.search-option');
  if (option) choose(searchHits[Number(option.dataset.index)]);
});

// Keyboard: Enter takes the first hit, arrows walk the list, Escape closes it.
searchBox.addEventListener('keydown', (event) => {
  const options = [...searchResults.querySelectorAll('.search-option')];
  const index = options.indexOf(document.activeElement);
  if (event.key === 'Escape') {
    closeResults();
    searchInput.focus();
  } else if (event.key === 'ArrowDown' && options.length) {
    event.preventDefault();
    options[Math.min(index + 1, options.length - 1)].focus();
  } else if (event.key === 'ArrowUp' && options.length) {
    event.preventDefault();
    (index <= 0 ? searchInput : options[index - 1]).focus();
  } else if (event.key === 'Enter' && event.target === searchInput && searchHits.length) {
    event.preventDefault();
    choose(searchHits[0]);
  }
});

document.addEventListener('click', (event) => {
  if (!searchBox.contains(event.target)) closeResults();
});

// ---------------------------------------------------------------------------------------------
// Start

const WHOLE_COUNTRY = { center: [35.0, 105.0], zoom: 4 }; // the view when there is nothing to show

/** Fit the map to the user's scope regions, or to everything listed when they are not regions. */
async function fitToScope() {
  const scoped = config.scopeCodes.map((code) => regions.get(code)).filter(Boolean);
  const listed = scoped.length ? scoped : [...regions.values()];
  if (listed.length) {
    const bounds = L.latLngBounds([]);
    for (const region of listed) bounds.extend(boundsOf(region.bbox));
    map.fitBounds(bounds, { padding: [12, 12] });
    keepNear(bounds);
    return;
  }
  // No region lies inside a grid worker's scope (his grids' codes): fit to the scope's grids
  // (the API lists only grids inside the scope; one code narrows it as before).
  map.setView(WHOLE_COUNTRY.center, WHOLE_COUNTRY.zoom);
  const layer = config.defaultLayer;
  const parent = config.scopeCodes.length === 1 ? config.scopeCodes[0] : undefined;
  const { features } = await api('grids/', { layer, parent });
  if (!features.length) return;
  const bounds = L.geoJSON({ type: 'FeatureCollection', features }).getBounds();
  map.fitBounds(bounds, fitOptions());
  keepNear(bounds);
  if (features.length === 1 && !window.location.hash) {
    selectGrid(layer, features[0].properties.code, { zoom: false });
  }
}

/**
 * Bound the map to the user's area: zooming out stops one step beyond the whole area (no
 * continent of empty tiles), panning stops half an area's size beyond its edges.
 */
function keepNear(bounds) {
  const fitZoom = map.getBoundsZoom(bounds, false, L.point(24, 24));
  map.setMinZoom(Math.max(3, Math.min(fitZoom - 1, GRID_MIN_ZOOM)));
  map.setMaxBounds(bounds.pad(0.5));
}

const initialGeometry = Promise.all([
  api('regions/geojson/', { level: 'district' }).then((collection) =>
    districtLayer.addData(collection),
  ),
  api('regions/geojson/', { level: 'street' }).then((collection) => {
    streetLayer.addData(collection);
    restack(); // under communities or grids that arrived first
  }),
]);
initialGeometry.catch(report);

api('regions/')
  .then(
    (list) => {
      buildTree(list);
      return fitToScope();
    },
    (error) => {
      treeElement.replaceChildren();
      treeElement.removeAttribute('aria-busy');
      map.setView(WHOLE_COUNTRY.center, WHOLE_COUNTRY.zoom);
      throw error;
    },
  )
  .then(selectFromHash)
  .catch(report);
