// The web UI's shell: the header, the theme switch and the routes (MLflow's URL forms).
import { html, render, useEffect, useState } from "./lib.js";
import { compile, useLocation } from "./router.js";
import { ErrorBanner, Loading } from "./components.js";

// Each page's module loads when a route first needs it: the first page a link opens does not wait
// for the others (the charts' uPlot among them), and a page that fails to load fails alone.
const PAGES = {
  experiments: () => import("./experiments.js"),
  run: () => import("./run.js"),
  compare: () => import("./compare.js"),
  models: () => import("./models.js"),
  endpoints: () => import("./endpoints.js"),
};
// What each page module imports beyond the shell's modules (index.html preloads those), fetched at once
// when the page is first opened instead of one import level at a time (tests/ui/test_vendor.py checks
// the lists against the modules' imports).
export const PAGE_IMPORTS = {
  experiments: ["js/runs-table.js"],
  run: ["js/artifacts.js", "js/charts.js", "js/chart-data.js", "js/chart-plot.js", "vendor/uplot.mjs"],
  compare: ["js/charts.js", "js/chart-data.js", "js/chart-plot.js", "js/chart-parallel.js", "js/chart-scatter.js",
    "vendor/uplot.mjs"],
  models: ["js/model-details.js", "js/model-version.js", "js/model-logged.js", "js/test-tab.js", "js/endpoint-api.js"],
  endpoints: ["js/endpoint-api.js", "js/endpoint-traffic.js", "js/swagger.js", "js/test-tab.js"],
};

function preload(module) {
  for (const file of PAGE_IMPORTS[module]) {
    const link = document.createElement("link");
    link.rel = "modulepreload";
    link.href = `/static-files/${file}`;
    document.head.append(link);
  }
}

// Each route: [pattern, module, export, extra props]. The first match wins.
const ROUTES = [
  ["/", "experiments", "ExperimentsPage"],
  ["/experiments", "experiments", "ExperimentsPage"],
  ["/experiments/:experimentId", "experiments", "ExperimentPage", { tab: "runs" }],
  ["/experiments/:experimentId/runs", "experiments", "ExperimentPage", { tab: "runs" }],
  ["/experiments/:experimentId/models", "experiments", "ExperimentPage", { tab: "models" }],
  ["/experiments/:experimentId/models/:modelId", "models", "LoggedModelPage"],
  ["/experiments/:experimentId/runs/:runId", "run", "RunPage", { tab: "overview" }],
  ["/experiments/:experimentId/runs/:runId/artifacts/:artifactPath*", "run", "RunPage", { tab: "artifacts" }],
  ["/experiments/:experimentId/runs/:runId/:tab", "run", "RunPage"],
  ["/compare-runs", "compare", "ComparePage"],
  ["/metric/:metricKey*", "compare", "MetricPage"],
  ["/models", "models", "ModelsPage"],
  ["/models/:name", "models", "ModelPage"],
  ["/models/:name/versions/:version", "models", "ModelVersionPage", { tab: "overview" }],
  ["/models/:name/versions/:version/:tab", "models", "ModelVersionPage"],
  ["/endpoints", "endpoints", "EndpointsPage"],
  ["/endpoints/:endpoint", "endpoints", "EndpointPage", { tab: "overview" }],
  ["/endpoints/:endpoint/:tab", "endpoints", "EndpointPage"],
].map(([pattern, module, name, props]) => ({ match: compile(pattern), module, name, props: props || {} }));

const loaded = {};

function LazyPage({ route, pageProps }) {
  const [, setLoadedCount] = useState(0);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (loaded[route.module]) return undefined;
    let live = true;
    setError(null);
    preload(route.module);
    PAGES[route.module]().then(
      (module) => { loaded[route.module] = module; if (live) setLoadedCount((n) => n + 1); },
      (failure) => { if (live) setError(failure); },
    );
    return () => { live = false; };
  }, [route.module]);
  if (error) return html`<${ErrorBanner} error=${error} />`;
  const module = loaded[route.module];
  if (!module) return html`<${Loading} />`;
  const Component = module[route.name];
  return html`<${Component} ...${pageProps} />`;
}

function NotFound({ path }) {
  return html`<section class="page"><h1>Page not found</h1>
    <p>No page at <code>${path}</code>. <a href="#/experiments">Go to the experiments</a>.</p></section>`;
}

const THEME_KEY = "mlcask.theme";

function applyTheme(theme) {
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

function ThemeSwitch() {
  const [theme, setTheme] = useState(() => localStorage.getItem(THEME_KEY) || "auto");
  const choose = (value) => {
    applyTheme(value);
    localStorage.setItem(THEME_KEY, value);
    setTheme(value);
  };
  return html`<label class="theme-switch">
    <span class="visually-hidden">Theme</span>
    <select value=${theme} onChange=${(e) => choose(e.target.value)}>
      <option value="auto">Auto theme</option><option value="light">Light</option><option value="dark">Dark</option>
    </select>
  </label>`;
}

function Header({ path }) {
  const section = path.startsWith("/models") ? "models" : path.startsWith("/endpoints") ? "endpoints" : "experiments";
  return html`<header class="top">
    <a class="brand" href="#/experiments">mlcask</a>
    <nav aria-label="Main"><ul>
      <li><a href="#/experiments" aria-current=${section === "experiments" ? "page" : undefined}>Experiments</a></li>
      <li><a href="#/models" aria-current=${section === "models" ? "page" : undefined}>Models</a></li>
      <li><a href="#/endpoints" aria-current=${section === "endpoints" ? "page" : undefined}>Endpoints</a></li>
      <li><a href="/api/2.0/mlflow/openapi.json">API</a></li>
    </ul></nav>
    <${ThemeSwitch} />
  </header>`;
}

function App() {
  const location = useLocation();
  let view = html`<${NotFound} path=${location.path} />`;
  for (const route of ROUTES) {
    const params = route.match(location.path);
    if (params) {
      const pageProps = { ...route.props, ...params, query: location.query, path: location.path };
      view = html`<${LazyPage} route=${route} pageProps=${pageProps} />`;
      break;
    }
  }
  return html`<${Header} path=${location.path} /><main id="main" tabindex="-1">${view}</main>`;
}

applyTheme(localStorage.getItem(THEME_KEY));
render(html`<${App} />`, document.getElementById("app"));
