// The managed endpoints' pages: #/endpoints (each endpoint: URL, deployments, traffic, health, requests,
// latency) and #/endpoints/<name>[/<tab>] (Overview: its deployments and the traffic editor; Swagger: the
// endpoint's OpenAPI document; Test: the model version page's Test tab, scoring through the endpoint).
// Health and metrics refresh every 5 s while the page is open and visible, and stop when it is left.
import { html, useEffect, useRef, useState } from "./lib.js";
import { href, navigate } from "./router.js";
import { Empty, ErrorBanner, KeyValueTable, Loading, Page, Tabs, useAsync } from "./components.js";
import { formatTime, formatValue } from "./format.js";
import {
  endpointUrl, listDeployments, listEndpoints, loadEndpoint, openApiDocument, registryVersion, scoreThroughEndpoint,
} from "./endpoint-api.js";
import { TrafficEditor } from "./endpoint-traffic.js";
import { OpenApiView, invocationsExample, signatureFromOpenApi } from "./swagger.js";
import { TestTab } from "./test-tab.js";

export const REFRESH_MS = 5000;

// usePolling(load, [deps]) -> {data, error, updated, auto, setAuto, refresh, replace}: load() now and every
// REFRESH_MS after the previous answer (never two at once; none while the tab is hidden), until the
// component goes, the deps change or the server refuses (4xx). The last answer stays on screen while the
// next loads.
export function usePolling(load, deps) {
  const [state, setState] = useState({ data: undefined, error: undefined, updated: null, key: null });
  const [auto, setAuto] = useState(true);
  const [generation, setGeneration] = useState(0);
  const key = JSON.stringify(deps);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let live = true;
    let timer = null;
    let first = true;
    const tick = async () => {
      timer = null;
      let gone = false;
      if (first || !document.hidden) {
        first = false;
        try {
          const data = await loadRef.current();
          if (live) setState({ data, error: undefined, updated: Date.now(), key });
        } catch (error) {
          // refused (no such endpoint, a bad name, no permission): asking again will not help; Refresh still can
          gone = Boolean(error && error.status >= 400 && error.status < 500 && error.status !== 429);
          if (live) setState((old) => (old.key === key ? { ...old, error } : { data: undefined, error, updated: null, key }));
        }
      }
      if (live && auto && !gone) timer = setTimeout(tick, REFRESH_MS);
    };
    tick();
    return () => { live = false; if (timer) clearTimeout(timer); };
  }, [key, auto, generation]);
  const own = state.key === key;
  return {
    data: own ? state.data : undefined, error: own ? state.error : undefined, updated: own ? state.updated : null,
    auto, setAuto, refresh: () => setGeneration((n) => n + 1),
    replace: (update) => setState((old) => ({ ...old, data: update(old.data) })),
  };
}

function RefreshControls({ poll }) {
  return html`<div class="refresh-controls muted" data-testid="refresh">
    <span>${poll.updated ? `Updated ${formatTime(poll.updated).split(" ")[1]}` : "Loading…"}</span>
    <label><input type="checkbox" checked=${poll.auto} onChange=${(e) => poll.setAuto(e.target.checked)} />
      Auto-refresh every ${REFRESH_MS / 1000} s</label>
    <button type="button" onClick=${poll.refresh}>Refresh</button>
  </div>`;
}

const ms = (value) => (value === undefined || value === null ? "" : `${formatValue(Math.round(value * 100) / 100)} ms`);
const count = (value) => (value === undefined || value === null ? "" : formatValue(value));

const STATE_TONE = { ready: "ok", starting: "warn", stopped: "warn", failed: "bad" };

function StateBadge({ deployment }) {
  const state = deployment.state || "unknown";
  return html`<span class=${`badge ${STATE_TONE[state] || "warn"}`} data-testid="deployment-state"
    data-state=${state}>${state}</span>`;
}

// "2/2 ready" with a tone: every deployment ready, some not yet, or one failed.
export function healthOf(deployments) {
  const total = deployments.length;
  const ready = deployments.filter((d) => d.state === "ready").length;
  const tone = total === 0 ? "warn" : deployments.some((d) => d.state === "failed") ? "bad" : ready === total ? "ok" : "warn";
  return { text: total === 0 ? "no deployments" : `${ready}/${total} ready`, tone };
}

function Health({ deployments }) {
  const health = healthOf(deployments);
  return html`<span class=${`badge ${health.tone}`} data-testid="endpoint-health" data-tone=${health.tone}>${health.text}</span>`;
}

function TrafficText({ traffic }) {
  const entries = Object.entries(traffic || {}).filter(([, pct]) => pct > 0);
  if (entries.length === 0) return html`<span class="muted">none</span>`;
  const parts = entries.map(([name, pct], i) => html`${i ? ", " : ""}<code>${name}</code> ${pct}%`);
  return html`<span class="traffic-text" data-testid="endpoint-traffic">${parts}</span>`;
}

// A model URI, linked to its version's page when it names a registry version.
function ModelUri({ uri }) {
  const version = registryVersion(uri);
  if (!uri) return html`<span class="muted">unknown</span>`;
  if (!version) return html`<code>${uri}</code>`;
  return html`<a href=${href("/models", version.name, "versions", version.version)}><code>${uri}</code></a>`;
}

async function loadList() {
  const endpoints = await listEndpoints();
  const deployments = await Promise.all(endpoints.map((e) => listDeployments(e.name).catch(() => null)));
  return endpoints.map((endpoint, i) => ({ endpoint, deployments: deployments[i] }));
}

const absolute = (path) => `${window.location.origin}${path}`;

function EndpointRow({ endpoint, deployments }) {
  const m = endpoint.metrics || {};
  const url = absolute(endpoint.url || endpointUrl(endpoint.name));
  return html`<tr data-testid="endpoint-row">
    <td><a href=${href("/endpoints", endpoint.name)}>${endpoint.name}</a></td>
    <td><code class="endpoint-url">${url}/invocations</code></td>
    <td>${(endpoint.deployments || []).map((name, i) => html`${i ? ", " : ""}<code>${name}</code>`)}</td>
    <td><${TrafficText} traffic=${endpoint.traffic} /></td>
    <td>${deployments ? html`<${Health} deployments=${deployments} />` : html`<span class="muted">unknown</span>`}</td>
    <td class="num" data-testid="endpoint-requests">${count(m.requests)}</td>
    <td class="num">${count(m.errors)}</td>
    <td class="num">${ms(m.latency_ms_p50)}</td><td class="num">${ms(m.latency_ms_p99)}</td>
  </tr>`;
}

export function EndpointsPage() {
  const poll = usePolling(loadList, []);
  const rows = poll.data;
  return html`<${Page} title="Endpoints" actions=${html`<${RefreshControls} poll=${poll} />`}>
    <${ErrorBanner} error=${poll.error} />
    ${rows === undefined ? (!poll.error && html`<${Loading} />`) : rows.length === 0
      ? html`<${Empty}>No endpoints yet. <code>mlcask deployments create -t mlcask --name NAME -m models:/MODEL@champion
          --endpoint ENDPOINT</code> creates one.<//>`
      : html`<div class="table-wrap"><table class="data endpoints" aria-label="Endpoints"><thead><tr>
          <th scope="col">Name</th><th scope="col">Scoring URL</th><th scope="col">Deployments</th>
          <th scope="col">Traffic</th><th scope="col">Health</th><th scope="col" class="num">Requests</th>
          <th scope="col" class="num">Errors</th><th scope="col" class="num">p50</th><th scope="col" class="num">p99</th>
        </tr></thead><tbody>${rows.map((row) => html`<${EndpointRow} key=${row.endpoint.name} ...${row} />`)}</tbody>
        </table></div>`}
  <//>`;
}

// The worker's last health check: its /ping time and uptime, or how many checks in a row failed.
function HealthCheck({ health }) {
  if (!health || health.last_check_ms === undefined) return null;
  const failures = Number(health.consecutive_failures || 0);
  const text = failures > 0 ? `${failures} failed check${failures > 1 ? "s" : ""}`
    : `ping ${ms(health.ping_ms)}${health.uptime_s !== undefined ? `, up ${formatValue(health.uptime_s)} s` : ""}`;
  return html`<div class=${failures > 0 ? "warn-text health-check" : "muted health-check"}
    title=${`checked ${formatTime(health.last_check_ms)}`}>${text}</div>`;
}

function DeploymentRow({ deployment: d, traffic }) {
  const m = d.metrics || {};
  const resolved = d.resolved_uri && d.resolved_uri !== d.model_uri ? d.resolved_uri : null;
  const next = d.next_version;
  return html`<tr data-testid="deployment-row" data-deployment=${d.name}>
    <td><code>${d.name}</code></td>
    <td><${ModelUri} uri=${d.model_uri} />${resolved && html`<div class="muted">serves <${ModelUri} uri=${resolved} /></div>`}
      ${next && html`<div class="muted" data-testid="next-version">next <${ModelUri} uri=${next.resolved_uri} />:
        ${next.state}${next.message ? ` (${next.message})` : ""}</div>`}</td>
    <td>${d.env_manager}</td>
    <td><${StateBadge} deployment=${d} /><${HealthCheck} health=${d.health} />
      ${d.message && html`<div class="deployment-message">${d.message}</div>`}</td>
    <td class="num">${count(d.restarts)}</td>
    <td class="num" data-testid="deployment-traffic">${traffic ?? d.traffic ?? 0}%</td>
    <td class="num" data-testid="deployment-requests">${count(m.requests)}</td><td class="num">${count(m.errors)}</td>
    <td class="num">${ms(m.latency_ms_p50)}</td><td class="num">${ms(m.latency_ms_p99)}</td>
  </tr>`;
}

function Overview({ endpoint, deployments, onSaved }) {
  const m = endpoint.metrics || {};
  const url = absolute(endpoint.url || endpointUrl(endpoint.name));
  return html`<div data-testid="endpoint-overview">
    <section class="card"><h2>Endpoint</h2>
      <${KeyValueTable} label="Endpoint" rows=${[
        ["Scoring URL", html`<code data-testid="endpoint-url">${url}/invocations</code>`],
        ["OpenAPI", html`<code>${url}/openapi.json</code>`],
        ["Health", html`<${Health} deployments=${deployments} />`],
        ["Traffic", html`<${TrafficText} traffic=${endpoint.traffic} />`],
        ["Requests", html`<span data-testid="endpoint-requests">${count(m.requests ?? 0)}</span>`],
        ["Errors", count(m.errors ?? 0)],
        ["Latency p50 / p99", m.latency_ms_p50 === undefined ? "" : `${ms(m.latency_ms_p50)} / ${ms(m.latency_ms_p99)}`],
        ["Created", formatTime(endpoint.created_at)],
      ]} />
    </section>
    <section class="card"><h2>Deployments</h2>
      ${deployments.length === 0 ? html`<${Empty}>No deployments.<//>`
        : html`<div class="table-wrap"><table class="data deployments" aria-label="Deployments"><thead><tr>
          <th scope="col">Name</th><th scope="col">Model</th><th scope="col">Env manager</th><th scope="col">State</th>
          <th scope="col" class="num">Restarts</th><th scope="col" class="num">Traffic</th>
          <th scope="col" class="num">Requests</th><th scope="col" class="num">Errors</th>
          <th scope="col" class="num">p50</th><th scope="col" class="num">p99</th></tr></thead>
          <tbody>${deployments.map((d) => html`<${DeploymentRow} key=${d.name} deployment=${d}
            traffic=${(endpoint.traffic || {})[d.name]} />`)}</tbody></table></div>`}
    </section>
    <section class="card"><h2>Traffic</h2>
      <${TrafficEditor} endpoint=${endpoint} deployments=${deployments} onSaved=${onSaved} />
    </section>
  </div>`;
}

// The Test tab of the model version page, scoring through the endpoint; its form is typed from the
// endpoint's OpenAPI document (the served model's signature and input example).
function EndpointTest({ name, document, deployments }) {
  const [pinned, setPinned] = useState("");
  const details = { input_example: invocationsExample(document), signature: signatureFromOpenApi(document) };
  const choose = html`<label class="pin-deployment">Deployment
    <select data-testid="pin-deployment" value=${pinned} onChange=${(e) => setPinned(e.target.value)}>
      <option value="">By traffic</option>
      ${deployments.map((d) => html`<option value=${d.name}>${d.name}</option>`)}
    </select></label>`;
  return html`<${TestTab} key=${name} name=${name} details=${details} toolbar=${choose}
    score=${(request) => scoreThroughEndpoint(name, request, pinned || null)} />`;
}

const TABS = [["overview", "Overview"], ["swagger", "Swagger"], ["test", "Test"]];

export function EndpointPage({ endpoint: name, tab = "overview" }) {
  const poll = usePolling(() => loadEndpoint(name), [name]);
  const active = TABS.some(([id]) => id === tab) ? tab : "overview";
  const needsDocument = active !== "overview";
  const openapi = useAsync(() => (needsDocument ? openApiDocument(name) : null), [name, needsDocument]);
  const select = (id) => navigate(id === "overview" ? href("/endpoints", name) : href("/endpoints", name, id));
  const crumbs = [["Endpoints", "#/endpoints"]];
  const title = `Endpoint ${name}`;
  const data = poll.data;
  if (!data) {
    return html`<${Page} title=${title} crumbs=${crumbs}>${poll.error ? html`<${ErrorBanner} error=${poll.error} />`
      : html`<${Loading} />`}<//>`;
  }
  const onSaved = (endpoint) => { poll.replace((old) => ({ ...old, endpoint })); poll.refresh(); };
  let body;
  if (active === "overview") {
    body = html`<${Overview} endpoint=${data.endpoint} deployments=${data.deployments} onSaved=${onSaved} />`;
  } else if (openapi.error) {
    // without the document the Test tab still takes a request written as JSON
    body = html`<${ErrorBanner} error=${openapi.error} />${active === "test"
      && html`<${EndpointTest} name=${name} document=${null} deployments=${data.deployments} />`}`;
  } else if (!openapi.data) {
    body = html`<${Loading} label="Reading the endpoint's OpenAPI document" />`;
  } else if (active === "swagger") {
    body = html`<${OpenApiView} document=${openapi.data} url=${endpointUrl(name, "openapi.json")} />`;
  } else {
    body = html`<${EndpointTest} name=${name} document=${openapi.data} deployments=${data.deployments} />`;
  }
  return html`<${Page} title=${title} crumbs=${crumbs} actions=${html`<${RefreshControls} poll=${poll} />`}>
    ${poll.error && html`<${ErrorBanner} error=${poll.error} />`}
    <${Tabs} tabs=${TABS} active=${active} onSelect=${select} label="Endpoint" />
    <div role="tabpanel" aria-labelledby=${`tab-${active}`}>${body}</div>
  <//>`;
}
