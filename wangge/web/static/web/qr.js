/*
 * The QR page of a house (/q/<token>/): the scan is already recorded; send the phone's location
 * for it once, if the browser gives one. Nothing is shown when the user declines.
 */

const scan = document.getElementById('qr-scan');
const csrf = document.querySelector('#qr-csrf input[name="csrfmiddlewaretoken"]');

if (scan && csrf && navigator.geolocation) {
  navigator.geolocation.getCurrentPosition(
    async ({ coords }) => {
      const body = new URLSearchParams({
        scan: scan.dataset.scan,
        lng: coords.longitude.toFixed(7),
        lat: coords.latitude.toFixed(7),
        accuracy: String(Math.round(coords.accuracy)),
      });
      try {
        const response = await fetch(scan.dataset.locateUrl, {
          method: 'POST',
          body,
          headers: { 'X-CSRFToken': csrf.value },
          credentials: 'same-origin',
        });
        scan.textContent = response.ok ? scan.dataset.located : scan.dataset.unlocated;
      } catch {
        scan.textContent = scan.dataset.unlocated;
      }
    },
    () => {
      scan.textContent = scan.dataset.unlocated;
    },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}
