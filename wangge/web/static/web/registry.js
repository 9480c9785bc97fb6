/*
 * The registry's components map (/registry/components/): city components in the user's scope as
 * circle markers coloured by status, from /registry/components.geojson for the visible area; a
 * click opens a popup with the component's id, name and status. UI strings come translated from
 * the page's #registry-i18n block.
 */

const L = window.L;
const element = document.getElementById('components-map');
if (element) showComponents(element);

function messages() {
  const block = document.getElementById('registry-i18n');
  return block ? JSON.parse(block.textContent) : {};
}

function colour(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim() || '#555';
}

function text(template, values) {
  return template.replace(/%\((\w+)\)s/g, (match, name) => (name in values ? values[name] : match));
}

function showComponents(mapElement) {
  const say = messages();
  const status = document.getElementById('components-map-status');
  const filter = document.getElementById('components-filter');
  const map = L.map(mapElement, { preferCanvas: true });
  map.attributionControl.setPrefix('Leaflet');
  L.control.scale({ imperial: false, position: 'bottomright' }).addTo(map);
  if (mapElement.dataset.tileUrl) {
    L.tileLayer(mapElement.dataset.tileUrl, {
      maxZoom: 19,
      subdomains: mapElement.dataset.tileSubdomains || 'abc',
      attribution: mapElement.dataset.tileAttribution || '',
    }).addTo(map);
  }
  mapElement.leafletMap = map; // for the browser tests
  const layer = L.layerGroup().addTo(map);
  let request = null;
  let fitted = false;

  async function load() {
    if (request) request.abort();
    request = new AbortController();
    const url = new URL(mapElement.dataset.geojsonUrl, window.location.href);
    if (filter.elements.status.value) url.searchParams.set('status', filter.elements.status.value);
    if (fitted) url.searchParams.set('bbox', map.getBounds().toBBoxString());
    let collection;
    try {
      const response = await fetch(url, { credentials: 'same-origin', signal: request.signal });
      if (!response.ok) throw new Error(String(response.status));
      collection = await response.json();
    } catch (error) {
      if (error.name !== 'AbortError') status.textContent = say.failed;
      return;
    }
    layer.clearLayers();
    for (const feature of collection.features) {
      const [lng, lat] = feature.geometry.coordinates;
      const props = feature.properties;
      const marker = L.circleMarker([lat, lng], {
        radius: 5,
        weight: 1,
        color: '#fff',
        fillColor: colour(`component-${props.status}`),
        fillOpacity: 0.9,
      });
      const popup = document.createElement('div');
      popup.className = 'case-popup';
      for (const line of [props.component_id, props.name, props.status_label]) {
        const p = document.createElement('p');
        p.textContent = line;
        popup.append(p);
      }
      marker.bindPopup(popup);
      layer.addLayer(marker);
    }
    const count = collection.features.length;
    status.textContent =
      text(say.shown, { count }) + (collection.truncated ? ` ${say.truncated}` : '');
    mapElement.dataset.count = String(count);
    if (!fitted) {
      fitted = true;
      if (count) {
        const bounds = L.latLngBounds(
          collection.features.map((f) => [f.geometry.coordinates[1], f.geometry.coordinates[0]]),
        );
        map.fitBounds(bounds, { padding: [16, 16], maxZoom: 17, animate: false });
      } else {
        map.setView([35.0, 105.0], 4);
      }
      map.on('moveend', load);
    }
    mapElement.dataset.loaded = 'true';
  }

  filter.addEventListener('change', load);
  load();
}
