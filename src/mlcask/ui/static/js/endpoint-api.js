// The managed endpoints of `mlcask server` as the UI reads and changes them: the management API's web
// twin (/ajax-api/2.0/mlcask/endpoints/..., /deployments/...) and the endpoint's own scoring routes
// (/endpoints/<name>/invocations, /endpoints/<name>/openapi.json), which any client calls the same way.
import { mlcask, request } from "./api.js";

// Where an endpoint's own routes are: endpointUrl("fraud", "invocations") -> "/endpoints/fraud/invocations"
export function endpointUrl(name, ...rest) {
  return ["/endpoints", encodeURIComponent(name), ...rest].join("/");
}

// The header that pins a request to one deployment, and the one naming the deployment that answered.
export const DEPLOYMENT_HEADER = "mlcask-deployment";

export async function listEndpoints(options) {
  return (await mlcask.get("/endpoints/list", {}, options)).endpoints || [];
}

export async function getEndpoint(name, options) {
  return (await mlcask.get("/endpoints/get", { name }, options)).endpoint;
}

export async function listDeployments(endpoint, options) {
  return (await mlcask.get("/deployments/list", { endpoint }, options)).deployments || [];
}

// traffic: {"<deployment>": percent}; the server refuses (4xx, with its message) a split it cannot take.
export async function updateTraffic(name, traffic) {
  return (await mlcask.post("/endpoints/update", { name, config: { traffic } })).endpoint;
}

// An endpoint and its deployments, read together (one refresh of the endpoint page).
export async function loadEndpoint(name, options) {
  const [endpoint, deployments] = await Promise.all([getEndpoint(name, options), listDeployments(name, options)]);
  return { endpoint, deployments };
}

export async function openApiDocument(name, options) {
  return request("GET", endpointUrl(name, "openapi.json"), options);
}

// Score a request through the endpoint (its traffic split, or one deployment when `deployment` is given):
// {predictions, latency_ms, deployment} where deployment is the one that answered.
export async function scoreThroughEndpoint(name, body, deployment) {
  const headers = deployment ? { [DEPLOYMENT_HEADER]: deployment } : {};
  const started = performance.now();
  const response = await request("POST", endpointUrl(name, "invocations"), { body, headers, raw: true });
  const answer = await response.json();
  return {
    predictions: answer && typeof answer === "object" && "predictions" in answer ? answer.predictions : answer,
    latency_ms: Math.round((performance.now() - started) * 10) / 10,
    deployment: response.headers.get(DEPLOYMENT_HEADER),
  };
}

// What a deployment serves: "models:/name/3" for a registry version (resolved from an alias), else its URI.
export function servedUri(deployment) {
  return deployment.resolved_uri || deployment.model_uri;
}

// The registered model version a models:/ URI names ({name, version}), or null (an alias, a run, a path).
export function registryVersion(uri) {
  const match = /^models:\/+(.+)\/(\d+)$/.exec(String(uri || ""));
  return match ? { name: match[1], version: match[2] } : null;
}

// The endpoints having a deployment that serves version `version` of model `name`:
// [{endpoint, deployment}] (each endpoint's deployments read once).
export async function endpointsServing(name, version) {
  const endpoints = await listEndpoints();
  const lists = await Promise.all(endpoints.map((e) => listDeployments(e.name).catch(() => [])));
  const found = [];
  endpoints.forEach((endpoint, i) => {
    for (const deployment of lists[i]) {
      const served = registryVersion(servedUri(deployment));
      if (served && served.name === name && served.version === String(version)) found.push({ endpoint, deployment });
    }
  });
  return found;
}
