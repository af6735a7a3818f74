// The web UI's shell: the header, the theme switch and the routes (MLflow's URL forms).
import { html, render, useState } from "./lib.js";
import { compile, useLocation } from "./router.js";
import { ExperimentsPage, ExperimentPage } from "./experiments.js";
import { RunPage } from "./run.js";
import { ComparePage, MetricPage } from "./compare.js";
import { ModelsPage, ModelPage, ModelVersionPage, LoggedModelPage } from "./models.js";

// Each route: [pattern, component, extra props]. The first match wins.
const ROUTES = [
  ["/", ExperimentsPage],
  ["/experiments", ExperimentsPage],
  ["/experiments/:experimentId", ExperimentPage, { tab: "runs" }],
  ["/experiments/:experimentId/runs", ExperimentPage, { tab: "runs" }],
  ["/experiments/:experimentId/models", ExperimentPage, { tab: "models" }],
  ["/experiments/:experimentId/models/:modelId", LoggedModelPage],
  ["/experiments/:experimentId/runs/:runId", RunPage, { tab: "overview" }],
  ["/experiments/:experimentId/runs/:runId/artifacts/:artifactPath*", RunPage, { tab: "artifacts" }],
  ["/experiments/:experimentId/runs/:runId/:tab", RunPage],
  ["/compare-runs", ComparePage],
  ["/metric/:metricKey*", MetricPage],
  ["/models", ModelsPage],
  ["/models/:name", ModelPage],
  ["/models/:name/versions/:version", ModelVersionPage, { tab: "overview" }],
  ["/models/:name/versions/:version/:tab", ModelVersionPage],
].map(([pattern, component, props]) => ({ match: compile(pattern), component, props: props || {} }));

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
  const section = path.startsWith("/models") ? "models" : "experiments";
  return html`<header class="top">
    <a class="brand" href="#/experiments">mlcask</a>
    <nav aria-label="Main"><ul>
      <li><a href="#/experiments" aria-current=${section === "experiments" ? "page" : undefined}>Experiments</a></li>
      <li><a href="#/models" aria-current=${section === "models" ? "page" : undefined}>Models</a></li>
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
      const Component = route.component;
      view = html`<${Component} ...${route.props} ...${params} query=${location.query} path=${location.path} />`;
      break;
    }
  }
  return html`<${Header} path=${location.path} /><main id="main" tabindex="-1">${view}</main>`;
}

applyTheme(localStorage.getItem(THEME_KEY));
render(html`<${App} />`, document.getElementById("app"));
