// Calls to the tracking server's web twins of its REST API: MLflow's under /ajax-api/2.0/mlflow,
// mlcask's own (previews, model details, scoring) under /ajax-api/2.0/mlcask. Whatever the UI shows,
// a client can read from the /api/2.0 twin of the same path.

export const MLFLOW = "/ajax-api/2.0/mlflow";
export const MLCASK = "/ajax-api/2.0/mlcask";
export const ARTIFACTS = "/ajax-api/2.0/mlflow-artifacts";

// Every state-changing call carries this header: a page of another origin cannot add it without the
// server's CORS consent, so a forged form post (CSRF) is refused by the server.
export const CSRF_HEADER = "X-Mlcask-Csrf";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function queryString(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

async function errorOf(response) {
  let code = `HTTP_${response.status}`;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.message) message = body.message;
    if (body && body.error_code) code = body.error_code;
  } catch (_) { /* not JSON */ }
  return new ApiError(response.status, code, message);
}

// request("GET", MLFLOW + "/runs/get", {query: {run_id}}) -> parsed JSON (or the Response with raw: true)
export async function request(method, url, { query, body, raw = false, signal, headers } = {}) {
  const init = { method, headers: { Accept: "application/json", ...(headers || {}) }, signal,
    credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") init.headers[CSRF_HEADER] = "1";
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url + queryString(query), init);
  if (!response.ok) throw await errorOf(response);
  if (raw) return response;
  const text = await response.text();
  return text ? JSON.parse(text) : {};
}

// MLflow's REST API (web twin): mlflow.get("/runs/get", {run_id}), mlflow.post("/runs/search", {...})
export const mlflow = {
  get: (path, query, options) => request("GET", MLFLOW + path, { ...options, query }),
  post: (path, body, options) => request("POST", MLFLOW + path, { ...options, body }),
  patch: (path, body, options) => request("PATCH", MLFLOW + path, { ...options, body }),
  del: (path, body, options) => request("DELETE", MLFLOW + path, { ...options, body }),
};

// mlcask's own endpoints (web twin of /api/2.0/mlcask).
export const mlcask = {
  get: (path, query, options) => request("GET", MLCASK + path, { ...options, query }),
  post: (path, body, options) => request("POST", MLCASK + path, { ...options, body }),
};

// Where a run's artifact is downloaded from (the server's get-artifact, which sends it as an attachment
// or, for previews, with a sandboxing Content-Security-Policy).
export function artifactUrl(runId, path) {
  return `/get-artifact${queryString({ run_id: runId, path })}`;
}

export function modelVersionArtifactUrl(name, version, path) {
  return `/model-versions/get-artifact${queryString({ name, version, path })}`;
}

// Every page of a paged search, as one list: pages(token => mlflow.post("/runs/search", {..., page_token: token}), "runs")
export async function allPages(fetchPage, key, limit = Infinity) {
  const items = [];
  let token;
  do {
    const answer = await fetchPage(token);
    items.push(...(answer[key] || []));
    token = answer.next_page_token;
  } while (token && items.length < limit);
  return items;
}
