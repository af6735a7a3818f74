// The run page: #/experiments/<id>/runs/<run_id>[/<tab>], tabs Overview | Params | Metrics | Tags |
// Datasets | Artifacts | Charts, and Responsible AI when the run logged an evaluation report (its
// mlcask.evaluation.report tag); #/experiments/<id>/runs/<run_id>/artifacts/<path> selects an artifact.
import { html, useMemo, useState } from "./lib.js";
import { mlcask, mlflow } from "./api.js";
import { href, navigate, withQuery } from "./router.js";
import { formatDuration, formatTime, formatValue, tagMap } from "./format.js";
import {
  Empty, ErrorBanner, EvaluationReport, KeyValueTable, Loading, Page, REPORT_TAG, Tabs, TagEditor, reportLocation, useAsync,
} from "./components.js";
import { ArtifactBrowser } from "./artifacts.js";
import { MetricCharts } from "./charts.js";

const TABS = [["overview", "Overview"], ["params", "Params"], ["metrics", "Metrics"], ["tags", "Tags"],
  ["datasets", "Datasets"], ["artifacts", "Artifacts"], ["charts", "Charts"]];
const REPORT_TAB = ["evaluation", "Responsible AI"];

// The tabs of a run: the report's after Artifacts when the run has one (or when its URL asks for it).
function runTabs(run, tab) {
  if (!tagMap(run.data?.tags)[REPORT_TAG] && tab !== REPORT_TAB[0]) return TABS;
  const at = TABS.findIndex(([id]) => id === "artifacts") + 1;
  return [...TABS.slice(0, at), REPORT_TAB, ...TABS.slice(at)];
}
const PARENT_TAG = "mlflow.parentRunId";
const NOTE_TAG = "mlflow.note.content";

function runLink(experimentId, runId, tab) {
  return tab && tab !== "overview" ? href("/experiments", experimentId, "runs", runId, tab)
    : href("/experiments", experimentId, "runs", runId);
}

// MLflow's metric page form: #/metric/<key>?runs=["<run_id>"]&experiments=["<exp_id>"]
export function metricLink(key, runId, experimentId) {
  return withQuery(href("/metric", key), { runs: JSON.stringify([runId]), experiments: JSON.stringify([experimentId]) });
}

// A filter's string literal: MLflow's search grammar takes '...' with \' for a quote.
function quoted(text) {
  return `'${String(text).replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

async function loadRun(runId, experimentId) {
  const [runAnswer, experiment] = await Promise.all([
    mlflow.get("/runs/get", { run_id: runId }),
    mlflow.get("/experiments/get", { experiment_id: experimentId }).then((a) => a.experiment, () => null),
  ]);
  return { run: runAnswer.run, experiment };
}

export function RunPage({ experimentId, runId, tab = "overview", artifactPath }) {
  const state = useAsync(() => loadRun(runId, experimentId), [runId, experimentId]);
  const run = state.data?.run;
  const crumbs = [["Experiments", "#/experiments"],
    [state.data?.experiment?.name || `Experiment ${experimentId}`, href("/experiments", experimentId)]];
  if (!run) {
    return html`<${Page} title=${`Run ${runId}`} crumbs=${crumbs}>
      ${state.loading ? html`<${Loading} />` : html`<${ErrorBanner} error=${state.error} />`}</${Page}>`;
  }
  const info = run.info;
  const tabs = runTabs(run, tab);
  const known = tabs.some(([id]) => id === tab);
  const active = known ? tab : "overview";
  return html`<${Page} title=${info.run_name || info.run_id} crumbs=${crumbs}
      actions=${html`<span class=${`badge status-${info.status}`} data-testid="run-status">${info.status}</span>
        ${info.lifecycle_stage === "deleted" && html`<span class="badge bad">deleted</span>`}`}>
    ${info.experiment_id !== String(experimentId) && html`<p class="muted">This run belongs to
      <a href=${runLink(info.experiment_id, info.run_id)}>experiment ${info.experiment_id}</a>.</p>`}
    <${Tabs} tabs=${tabs} active=${active} label="Run sections"
      onSelect=${(id) => navigate(runLink(experimentId, runId, id))} />
    ${!known && html`<p class="muted">No tab “${tab}”: showing the overview.</p>`}
    <div role="tabpanel" aria-labelledby=${`tab-${active}`} class="run-panel">
      <${TabBody} tab=${active} run=${run} experimentId=${experimentId} artifactPath=${artifactPath}
        reload=${state.reload} />
    </div>
  </${Page}>`;
}

function TabBody({ tab, run, experimentId, artifactPath, reload }) {
  const runId = run.info.run_id;
  switch (tab) {
    case "params": return html`<${ParamsTab} params=${run.data?.params || []} />`;
    case "metrics": return html`<${MetricsTab} runId=${runId} experimentId=${experimentId} />`;
    case "tags": return html`<${TagsTab} run=${run} reload=${reload} />`;
    case "datasets": return html`<${DatasetsTab} inputs=${run.inputs?.dataset_inputs || []} />`;
    case "artifacts": return html`<${ArtifactBrowser} runId=${runId} experimentId=${experimentId}
      selected=${artifactPath || ""} artifactUri=${run.info.artifact_uri} />`;
    case "charts": return html`<${ChartsTab} run=${run} experimentId=${experimentId} />`;
    case "evaluation": return html`<${EvaluationReport}
      report=${reportLocation(tagMap(run.data?.tags)[REPORT_TAG], runId)} />`;
    default: return html`<${OverviewTab} run=${run} experimentId=${experimentId} reload=${reload} />`;
  }
}

// -- overview ----------------------------------------------------------------------------------------------------

async function loadRelated(run) {
  const info = run.info;
  const quiet = (promise, fallback) => promise.catch(() => fallback);
  const [children, models, versions] = await Promise.all([
    quiet(mlflow.post("/runs/search", { experiment_ids: [info.experiment_id], max_results: 100,
      filter: `tags.${PARENT_TAG} = ${quoted(info.run_id)}` }).then((a) => a.runs || []), []),
    quiet(mlflow.post("/logged-models/search", { experiment_ids: [info.experiment_id], max_results: 100,
      filter: `source_run_id = ${quoted(info.run_id)}` }).then((a) => a.models || []), []),
    quiet(mlflow.get("/model-versions/search", { filter: `run_id = ${quoted(info.run_id)}`, max_results: 100 })
      .then((a) => a.model_versions || []), []),
  ]);
  return { children, models, versions };
}

function OverviewTab({ run, experimentId, reload }) {
  const info = run.info;
  const tags = tagMap(run.data?.tags);
  const related = useAsync(() => loadRelated(run), [info.run_id]);
  const parent = tags[PARENT_TAG];
  const outputs = (run.outputs?.model_outputs || []).map((o) => o.model_id);
  const models = related.data?.models || [];
  const extraModels = outputs.filter((id) => !models.some((m) => m.info?.model_id === id));
  const source = [tags["mlflow.source.name"], tags["mlflow.source.type"] && `(${tags["mlflow.source.type"]})`]
    .filter(Boolean).join(" ");
  const rows = [
    ["Run ID", html`<code data-testid="run-id">${info.run_id}</code>`],
    ["Status", html`<span class=${`status-${info.status}`}>${info.status}</span>`],
    ["Started", formatTime(info.start_time)],
    ["Ended", formatTime(info.end_time)],
    ["Duration", formatDuration(info.start_time, info.end_time)],
    ["User", info.user_id || tags["mlflow.user"]],
    ["Source", source],
    ["Git commit", tags["mlflow.source.git.commit"] && html`<code>${tags["mlflow.source.git.commit"]}</code>`],
    ["Lifecycle stage", info.lifecycle_stage],
    ["Experiment", html`<a href=${href("/experiments", experimentId)}>${experimentId}</a>`],
    ["Parent run", parent && html`<a href=${href("/experiments", info.experiment_id, "runs", parent)}
      data-testid="parent-run">${parent}</a>`],
    ["Artifact location", html`<code>${info.artifact_uri}</code>`],
  ];
  return html`<div class="run-overview">
    <${KeyValueTable} rows=${rows} label="Run details" />
    <${Description} run=${run} reload=${reload} />
    <section class="card"><h2>Child runs</h2>
      ${related.loading ? html`<${Loading} />` : (related.data?.children || []).length === 0
        ? html`<${Empty}>No child runs.</${Empty}>`
        : html`<ul class="link-list" data-testid="child-runs">${related.data.children.map((child) => html`<li>
            <a href=${href("/experiments", child.info.experiment_id, "runs", child.info.run_id)}>
              ${child.info.run_name || child.info.run_id}</a>
            <span class=${`muted status-${child.info.status}`}> ${child.info.status}</span></li>`)}</ul>`}
    </section>
    <section class="card"><h2>Logged models</h2>
      ${related.loading ? html`<${Loading} />` : models.length + extraModels.length === 0
        ? html`<${Empty}>No models logged by this run.</${Empty}>`
        : html`<ul class="link-list" data-testid="run-models">
            ${models.map((m) => html`<li><a href=${href("/experiments", m.info.experiment_id, "models", m.info.model_id)}>
              ${m.info.name || m.info.model_id}</a> <span class="muted">${m.info.model_id}</span></li>`)}
            ${extraModels.map((id) => html`<li><a href=${href("/experiments", info.experiment_id, "models", id)}>${id}</a></li>`)}
          </ul>`}
    </section>
    ${(related.data?.versions || []).length > 0 && html`<section class="card"><h2>Registered model versions</h2>
      <ul class="link-list" data-testid="run-model-versions">${related.data.versions.map((v) => html`<li>
        <a href=${href("/models", v.name, "versions", v.version)}>${v.name} version ${v.version}</a></li>`)}</ul>
    </section>`}
  </div>`;
}

function Description({ run, reload }) {
  const current = tagMap(run.data?.tags)[NOTE_TAG] || "";
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(current);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const save = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await mlflow.post("/runs/set-tag", { run_id: run.info.run_id, key: NOTE_TAG, value: text });
      setEditing(false);
      reload();
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return html`<section class="card run-description"><h2>Description</h2>
    ${editing
      ? html`<form onSubmit=${save}>
          <label class="field"><span class="visually-hidden">Description</span>
            <textarea rows="5" value=${text} onInput=${(e) => setText(e.target.value)}
              aria-label="Description" data-testid="description-input"></textarea></label>
          <${ErrorBanner} error=${error} />
          <div class="toolbar"><button type="submit" class="primary" disabled=${busy}>Save</button>
            <button type="button" onClick=${() => { setEditing(false); setText(current); }}>Cancel</button></div>
        </form>`
      : html`${current ? html`<p class="note" data-testid="description">${current}</p>` : html`<p class="muted">No description.</p>`}
        <button type="button" onClick=${() => { setText(current); setEditing(true); }}>Edit description</button>`}
  </section>`;
}

// -- params and metrics ------------------------------------------------------------------------------------------

function SearchBox({ value, onInput, label }) {
  return html`<div class="toolbar"><input type="search" placeholder=${label} aria-label=${label} value=${value}
    onInput=${(e) => onInput(e.target.value)} /></div>`;
}

function contains(text, needle) {
  return String(text).toLowerCase().includes(needle);
}

function ParamsTab({ params }) {
  const [filter, setFilter] = useState("");
  const needle = filter.trim().toLowerCase();
  const shown = useMemo(() => params.filter((p) => !needle || contains(p.key, needle) || contains(p.value, needle))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)), [params, needle]);
  if (params.length === 0) return html`<${Empty}>No params logged.</${Empty}>`;
  return html`<${SearchBox} value=${filter} onInput=${setFilter} label="Search params" />
    <div class="table-wrap"><table class="data" data-testid="run-params">
      <thead><tr><th scope="col">Param</th><th scope="col">Value</th></tr></thead>
      <tbody>${shown.map((p) => html`<tr data-testid="param-row"><td class="mono">${p.key}</td>
        <td class="param-value">${p.value}</td></tr>`)}</tbody>
    </table></div>
    <p class="muted">${shown.length} of ${params.length} params</p>`;
}

function MetricsTab({ runId, experimentId }) {
  const state = useAsync(() => mlcask.get("/runs/metric-summaries", { run_id: runId }), [runId]);
  const [filter, setFilter] = useState("");
  if (state.loading && !state.data) return html`<${Loading} />`;
  if (state.error) return html`<${ErrorBanner} error=${state.error} />`;
  const metrics = state.data.metrics || [];
  if (metrics.length === 0) return html`<${Empty}>No metrics logged.</${Empty}>`;
  const needle = filter.trim().toLowerCase();
  const shown = needle ? metrics.filter((m) => contains(m.key, needle)) : metrics;
  const number = (v) => (typeof v === "string" ? v : formatValue(v));
  return html`<${SearchBox} value=${filter} onInput=${setFilter} label="Search metrics" />
    <div class="table-wrap"><table class="data" data-testid="run-metrics">
      <thead><tr><th scope="col">Metric</th><th scope="col" class="num">Latest</th><th scope="col" class="num">Min</th>
        <th scope="col" class="num">Max</th><th scope="col" class="num">Step</th><th scope="col" class="num">Values</th>
        <th scope="col">Logged</th></tr></thead>
      <tbody>${shown.map((m) => html`<tr data-testid="metric-row" key=${m.key}>
        <td><a href=${metricLink(m.key, runId, experimentId)}>${m.key}</a></td>
        <td class="num">${number(m.value)}</td><td class="num">${m.min === null ? "" : number(m.min)}</td>
        <td class="num">${m.max === null ? "" : number(m.max)}</td><td class="num">${m.step}</td>
        <td class="num">${m.count}</td><td class="muted">${formatTime(m.timestamp)}</td></tr>`)}</tbody>
    </table></div>
    <p class="muted">${shown.length} of ${metrics.length} metrics</p>`;
}

// -- tags and datasets -------------------------------------------------------------------------------------------

function TagsTab({ run, reload }) {
  const runId = run.info.run_id;
  const tags = run.data?.tags || [];
  const system = tags.filter((t) => t.key.startsWith("mlflow."));
  const set = async (key, value) => { await mlflow.post("/runs/set-tag", { run_id: runId, key, value }); reload(); };
  const remove = async (key) => { await mlflow.post("/runs/delete-tag", { run_id: runId, key }); reload(); };
  return html`<div data-testid="run-tags"><${TagEditor} tags=${tags} onSet=${set} onDelete=${remove} />
    ${system.length > 0 && html`<section class="card"><h2>System tags</h2>
      <div class="table-wrap"><${KeyValueTable} label="System tags" rows=${system.map((t) => [t.key, t.value])} /></div>
    </section>`}</div>`;
}

function Json({ text }) {
  let shown = text;
  try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* shown as it is */ }
  return html`<pre>${shown}</pre>`;
}

function DatasetsTab({ inputs }) {
  if (inputs.length === 0) return html`<${Empty}>No datasets logged.</${Empty}>`;
  return html`<ul class="datasets" data-testid="run-datasets">${inputs.map((input) => {
    const d = input.dataset || {};
    const context = tagMap(input.tags)["mlflow.data.context"];
    return html`<li class="card dataset" data-testid="dataset">
      <h2>${d.name}${context && html` <span class="badge">${context}</span>`}</h2>
      <${KeyValueTable} label=${`Dataset ${d.name}`} rows=${[["Digest", d.digest && html`<code>${d.digest}</code>`],
        ["Source type", d.source_type], ["Source", d.source && html`<code class="wrap">${d.source}</code>`]]} />
      ${d.schema && html`<details><summary>Schema</summary><${Json} text=${d.schema} /></details>`}
      ${d.profile && html`<details><summary>Profile</summary><${Json} text=${d.profile} /></details>`}
    </li>`;
  })}</ul>`;
}

// -- charts ------------------------------------------------------------------------------------------------------

function ChartsTab({ run, experimentId }) {
  const keys = (run.data?.metrics || []).map((m) => m.key).sort();
  const runs = useMemo(() => [{ run_id: run.info.run_id, run_name: run.info.run_name, experiment_id: experimentId }],
    [run.info.run_id, run.info.run_name, experimentId]);
  if (keys.length === 0) return html`<${Empty}>No metrics to chart.</${Empty}>`;
  return html`<${MetricCharts} runs=${runs} metricKeys=${keys} />`;
}
