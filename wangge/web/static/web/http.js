// Shared by the page scripts (console.js, map.js): a JSON GET with the session cookie.

export class ApiError extends Error {}

/**
 * GET a JSON document (same origin, session cookie); failures become an ApiError carrying a message
 * to show: the server's `detail`, or the page's own translation `t` of 'networkError' /
 * 'requestFailed' ({status}).
 */
export async function getJSON(url, t, { signal } = {}) {
  let response;
  try {
    response = await fetch(url, {
      credentials: 'same-origin',
      headers: { Accept: 'application/json, application/geo+json' },
      signal,
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(t('networkError'));
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page, say): fall through to the generic message.
  }
  if (response.ok && body !== null) return body;
  const detail = typeof body?.detail === 'string' && body.detail ? body.detail : null;
  throw new ApiError(detail ?? t('requestFailed', { status: response.status }));
}
