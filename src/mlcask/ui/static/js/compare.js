// Compare runs (#/compare-runs?runs=["id1","id2"]&experiments=["1"], MLflow's URL form): a params and
// metrics table with a diff-only toggle, parallel coordinates, a scatter of two values, and the runs'
// metric charts overlaid. The metric page (#/metric/<key>?runs=[...]) draws one metric large.
import { html, useMemo, useState } from "./lib.js";
import { mlflow } from "./api.js";
import { href } from "./router.js";
import { formatValue } from "./format.js";
import { ErrorBanner, Loading, Page, useAsync, Empty } from "./components.js";
import { ChartControls, DEFAULT_CONTROLS, MetricChart, MetricCharts } from "./charts.js";
import { ParallelCoordinates } from "./chart-parallel.js";
import { ScatterPlot } from "./chart-scatter.js";

export const MAX_COMPARED_RUNS = 100;

class QueryError extends Error {
  constructor(message) {
    super(message);
    this.code = "INVALID_PARAMETER_VALUE";
  }
}

// A query value holding a JSON list of ids (MLflow writes runs=["a","b"]). Throws a QueryError
// saying what was expected and what was given.
export function parseIdList(text, name, { required = true } = {}) {
  if (text === null || text === undefined || text === "") {
    if (!required) return [];
    throw new QueryError(`The '${name}' query parameter is missing: expected a JSON list of ids, like ${name}=["<id>","<id>"].`);
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (_) {
    throw new QueryError(`The '${name}' query parameter is not JSON: expected a list of ids, like ${name}=["<id>","<id>"], got ${JSON.stringify(text)}.`);
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string" || typeof v === "number")) {
    throw new QueryError(`The '${name}' query parameter must be a JSON list of ids (strings), got ${JSON.stringify(text)}.`);
  }
  const ids = [...new Set(value.map(String).filter((v) => v !== ""))];
  if (required && ids.length === 0) throw new QueryError(`The '${name}' query parameter lists no ids.`);
  if (ids.length > MAX_COMPARED_RUNS) {
    throw new QueryError(`The '${name}' query parameter lists ${ids.length} ids; at most ${MAX_COMPARED_RUNS} can be compared.`);
  }
  return ids;
}

// {runs: [found, in the query's order], missing: [ids not found]}; other errors throw. With the URL's
// experiments, one runs/search (attributes.run_id IN ...) finds them; runs/get asks for the rest one by one
// (runs of other experiments, or no experiments in the URL), so an unknown id is told apart by its 404.
async function loadRuns(ids, experimentIds) {
  const found = new Map();
  if (experimentIds.length > 0) {
    const filter = `attributes.run_id IN (${ids.map((id) => `'${id.replace(/'/g, "")}'`).join(", ")})`;
    const answer = await mlflow.post("/runs/search", { experiment_ids: experimentIds, filter,
      max_results: ids.length, run_view_type: "ALL" });
    for (const run of answer.runs || []) found.set(run.info.run_id, run);
  }
  const rest = ids.filter((id) => !found.has(id));
  const answers = await Promise.allSettled(rest.map((id) => mlflow.get("/runs/get", { run_id: id })));
  const missing = [];
  answers.forEach((answer, i) => {
    if (answer.status === "fulfilled") found.set(rest[i], answer.value.run);
    else if (answer.reason && answer.reason.status === 404) missing.push(rest[i]);
    else throw answer.reason;
  });
  return { runs: ids.filter((id) => found.has(id)).map((id) => found.get(id)), missing };
}

// The page's view of a run: ids, name, and its params and latest metrics under "param:"/"metric:" ids.
function compared(run, index) {
  const values = {};
  for (const p of run.data?.params || []) values[`param:${p.key}`] = p.value;
  for (const m of run.data?.metrics || []) values[`metric:${m.key}`] = m.value;
  return { run_id: run.info.run_id, run_name: run.info.run_name || run.info.run_id,
    experiment_id: run.info.experiment_id, index, values };
}

function keysOf(runs, prefix) {
  const keys = new Set();
  for (const run of runs) for (const id of Object.keys(run.values)) if (id.startsWith(prefix)) keys.add(id);
  return [...keys].sort();
}

function differs(runs, id) {
  const first = runs[0].values[id];
  return runs.some((run) => String(run.values[id] ?? "\u0000missing") !== String(first ?? "\u0000missing"));
}

function runLink(run) {
  return href("/experiments", run.experiment_id, "runs", run.run_id);
}

function ValuesTable({ runs, params, metrics }) {
  const [onlyDiff, setOnlyDiff] = useState(false);
  const section = (title, ids, prefix) => {
    const rows = onlyDiff ? ids.filter((id) => differs(runs, id)) : ids;
    return html`<tbody>
      <tr class="compare-section"><th scope="rowgroup" colspan=${runs.length + 1}>${title}
        <span class="muted">(${rows.length}${onlyDiff ? ` of ${ids.length}` : ""})</span></th></tr>
      ${rows.length === 0 && html`<tr><td colspan=${runs.length + 1} class="muted">${onlyDiff ? "No differences" : "None"}</td></tr>`}
      ${rows.map((id) => html`<tr data-testid="compare-row" data-key=${id} class=${differs(runs, id) ? "differs" : ""}>
        <th scope="row" class="compare-key">${id.slice(prefix.length)}</th>
        ${runs.map((run) => html`<td class=${prefix === "metric:" ? "num" : ""}>${formatValue(run.values[id] ?? "")}</td>`)}
      </tr>`)}
    </tbody>`;
  };
  return html`<section class="card compare-values">
    <h2>Parameters and metrics</h2>
    <label class="toolbar"><input type="checkbox" checked=${onlyDiff} data-testid="compare-diff-only"
      onChange=${(e) => setOnlyDiff(e.target.checked)} /> Show only differences</label>
    <div class="table-wrap"><table class="data compare-table" data-testid="compare-table">
      <thead><tr><th scope="col">Run</th>
        ${runs.map((run) => html`<th scope="col"><a href=${runLink(run)}>${run.run_name}</a></th>`)}</tr></thead>
      ${section("Parameters", params, "param:")}
      ${section("Metrics", metrics, "metric:")}
    </table></div>
  </section>`;
}

const label = (id) => (id.startsWith("param:") ? `param ${id.slice(6)}` : `metric ${id.slice(7)}`);

function AxisPicker({ all, chosen, onChange }) {
  const toggle = (id, on) => onChange(on ? all.filter((a) => a === id || chosen.includes(a)) : chosen.filter((c) => c !== id));
  return html`<details class="axis-picker"><summary>Axes (${chosen.length} of ${all.length})</summary>
    <fieldset><legend class="visually-hidden">Axes of the parallel coordinates</legend>
      ${all.map((id) => html`<label class="axis-choice"><input type="checkbox" checked=${chosen.includes(id)}
        onChange=${(e) => toggle(id, e.target.checked)} /> ${label(id)}</label>`)}
    </fieldset></details>`;
}

function defaultAxes(runs, params, metrics) {
  const diffParams = params.filter((id) => differs(runs, id));
  const chosen = [...(diffParams.length ? diffParams : params).slice(0, 6), ...metrics.slice(0, 4)];
  return chosen.length ? chosen : [...params, ...metrics].slice(0, 8);
}

function Parallel({ runs, params, metrics }) {
  const all = [...params, ...metrics];
  const [chosen, setChosen] = useState(() => defaultAxes(runs, params, metrics));
  if (all.length === 0) return null;
  return html`<section class="card"><h2>Parallel coordinates</h2>
    <${AxisPicker} all=${all} chosen=${chosen} onChange=${setChosen} />
    ${chosen.length === 0 ? html`<${Empty}>Choose at least one axis.</${Empty}>`
      : html`<${ParallelCoordinates} runs=${runs} axes=${chosen.map((id) => ({ id, label: label(id) }))} />`}
  </section>`;
}

function Scatter({ runs, params, metrics }) {
  const all = [...metrics, ...params];
  const [x, setX] = useState(() => params[0] || metrics[0] || "");
  const [y, setY] = useState(() => metrics.find((m) => m !== (params[0] || metrics[0])) || metrics[0] || params[0] || "");
  if (all.length === 0) return null;
  const picker = (name, value, set) => html`<label>${name}
    <select value=${value} onChange=${(e) => set(e.target.value)} data-testid=${`scatter-${name.toLowerCase()}`}>
      ${all.map((id) => html`<option value=${id}>${label(id)}</option>`)}
    </select></label>`;
  return html`<section class="card"><h2>Scatter plot</h2>
    <div class="toolbar">${picker("X", x, setX)}${picker("Y", y, setY)}</div>
    <${ScatterPlot} runs=${runs} x=${{ id: x, label: label(x) }} y=${{ id: y, label: label(y) }} />
  </section>`;
}

function useComparedRuns(runsText, experimentsText) {
  const parsed = useMemo(() => {
    try { return { ids: parseIdList(runsText, "runs") }; } catch (error) { return { error }; }
  }, [runsText]);
  const state = useAsync(() => (parsed.ids ? loadRuns(parsed.ids, experimentIdsOf(experimentsText)) : null),
    [runsText, experimentsText]);
  return { parsed, ...state };
}

function MissingRuns({ missing }) {
  if (!missing || missing.length === 0) return null;
  const error = { code: "RESOURCE_DOES_NOT_EXIST",
    message: `${missing.length === 1 ? "This run was" : "These runs were"} not found: ${missing.join(", ")}.` };
  return html`<${ErrorBanner} error=${error} />`;
}

// The URL's experiment ids (MLflow's links carry them), or none when absent or malformed.
function experimentIdsOf(text) {
  try { return parseIdList(text, "experiments", { required: false }); } catch (_) { return []; }
}

function experimentCrumbs(query) {
  const ids = experimentIdsOf(query.get("experiments"));
  return [["Experiments", "#/experiments"], ...ids.slice(0, 5).map((id) => [`Experiment ${id}`, href("/experiments", id)])];
}

export function ComparePage({ query }) {
  const runsText = query.get("runs");
  const { parsed, data, error, loading } = useComparedRuns(runsText, query.get("experiments"));
  const runs = useMemo(() => (data ? data.runs.map(compared) : []), [data]);
  const params = useMemo(() => keysOf(runs, "param:"), [runs]);
  const metrics = useMemo(() => keysOf(runs, "metric:"), [runs]);
  const crumbs = experimentCrumbs(query);
  const title = runs.length ? `Comparing ${runs.length} run${runs.length === 1 ? "" : "s"}` : "Compare runs";
  if (parsed.error) {
    return html`<${Page} title="Compare runs" crumbs=${crumbs}><${ErrorBanner} error=${parsed.error} /></${Page}>`;
  }
  return html`<${Page} title=${title} crumbs=${crumbs}>
    ${loading && html`<${Loading} label="Loading runs" />`}
    <${ErrorBanner} error=${error} />
    <${MissingRuns} missing=${data?.missing} />
    ${data && runs.length === 0 && html`<${Empty}>None of the runs asked for exist.</${Empty}>`}
    ${runs.length > 0 && html`<div class="compare" key=${runsText}>
      <p class="compare-runs">${runs.map((run, i) => html`${i > 0 ? ", " : ""}<a href=${runLink(run)}>${run.run_name}</a>`)}</p>
      <${ValuesTable} runs=${runs} params=${params} metrics=${metrics} />
      <${Parallel} runs=${runs} params=${params} metrics=${metrics} />
      <${Scatter} runs=${runs} params=${params} metrics=${metrics} />
      <section class="card"><h2>Metric charts</h2>
        <${MetricCharts} runs=${runs} metricKeys=${metrics.map((id) => id.slice(7))} />
      </section>
    </div>`}
  </${Page}>`;
}

export function MetricPage({ metricKey, query }) {
  const runsText = query.get("runs");
  const { parsed, data, error, loading } = useComparedRuns(runsText, query.get("experiments"));
  const [controls, setControls] = useState(DEFAULT_CONTROLS);
  // The chart needs only the run ids to fetch its histories, so it starts with the ids of the URL while the
  // runs' names load (the same ids: no second fetch); unknown runs then drop out.
  const runs = useMemo(() => (data ? data.runs.map(compared)
    : (parsed.ids || []).map((id) => ({ run_id: id, run_name: id }))), [data, parsed]);
  const crumbs = experimentCrumbs(query);
  if (parsed.error) {
    return html`<${Page} title=${`Metric ${metricKey}`} crumbs=${crumbs}><${ErrorBanner} error=${parsed.error} /></${Page}>`;
  }
  return html`<${Page} title=${`Metric ${metricKey}`} crumbs=${crumbs}>
    ${loading && html`<${Loading} label="Loading runs" />`}
    <${ErrorBanner} error=${error} />
    <${MissingRuns} missing=${data?.missing} />
    ${runs.length > 0 && html`<div class="metric-page">
      ${data && html`<p class="compare-runs">Runs: ${runs.map((run, i) => html`${i > 0 ? ", " : ""}<a href=${runLink(run)}>${run.run_name}</a>`)}</p>`}
      <${ChartControls} value=${controls} onChange=${setControls} />
      <${MetricChart} metricKey=${metricKey} runs=${runs} ...${controls} height=${460} />
    </div>`}
  </${Page}>`;
}
