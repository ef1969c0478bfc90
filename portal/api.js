// The S2S HTTP API (docs/SERVICE.md §5) from the browser: JSON in and out, the signed-in user's id_token as
// the bearer token, and the API's error body ({error, message, details, suggestion}) turned into
// an ApiError that pages show in plain words.

/** A refusal or failure from the API: `status`, stable `code`, a human `message`. */
/** Thrown instead of an answer that arrives after the user has moved to another page: drawing it
 * would paint the old page over the new one. */
export class StaleNavigation extends Error {}

export class ApiError extends Error {
  constructor(status, code, message, body = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = body.details || [];
    this.suggestion = body.suggestion || null;
  }
}

let settings = { apiUrl: "", token: null, onUnauthorised: () => {} };

export function configureApi({ apiUrl, token, onUnauthorised }) {
  settings = { apiUrl: apiUrl.replace(/\/+$/, ""), token, onUnauthorised: onUnauthorised || (() => {}) };
}

async function errorFrom(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  const message =
    body.message ||
    (response.status >= 500
      ? "Something went wrong on our side. Try again in a few minutes."
      : `The request failed (HTTP ${response.status}).`);
  return new ApiError(response.status, body.error || `http_${response.status}`, message, body);
}

/** Call the API. `query` values that are empty are left out. Returns parsed JSON, or null for 204. */
export async function api(method, path, { body, query, raw = false } = {}) {
  // configureApi runs on every navigation, so a different settings object means we moved on.
  const started = settings;
  const url = new URL(settings.apiUrl + path);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = { Accept: raw ? "*/*" : "application/json" };
  if (settings.token) headers.Authorization = `Bearer ${settings.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network", "The S2S service could not be reached. Check your connection and try again.");
  }
  if (settings !== started) throw new StaleNavigation("navigated away");
  if (response.status === 401) {
    settings.onUnauthorised();
    throw new ApiError(401, "unauthorised", "Your sign-in has expired. Sign in again.");
  }
  if (!response.ok) throw await errorFrom(response);
  if (raw) return response;
  if (response.status === 204) return null;
  const answer = await response.json();
  if (settings !== started) throw new StaleNavigation("navigated away");
  return answer;
}

/** Upload `file` with a presigned POST (`form` = {url, fields}), reporting progress 0..1.
 * XMLHttpRequest, because fetch cannot report upload progress. */
export function uploadWithProgress(form, file, onProgress) {
  return new Promise((resolve, reject) => {
    const data = new FormData();
    for (const [key, value] of Object.entries(form.fields)) data.append(key, value);
    data.append("file", file); // S3 ignores any field after the file, so it goes last
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.url);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
      } else {
        reject(new ApiError(xhr.status, "upload_failed", `The file was not accepted for upload (HTTP ${xhr.status}). Start again.`));
      }
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError(0, "network", "The upload was interrupted. Check your connection and start again.")),
    );
    xhr.send(data);
  });
}
