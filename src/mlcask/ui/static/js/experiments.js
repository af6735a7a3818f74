// The experiments list (search by name, create, rename, delete, restore) and the experiment page
// (description, the runs table, the experiment's logged models).
import { html, useEffect, useRef, useState } from "./lib.js";
import { mlflow } from "./api.js";
import { href, navigate, replaceQuery } from "./router.js";
import { formatTime } from "./format.js";
import { useAsync, Loading, ErrorBanner, Page, Tabs, KeyValueTable, FormDialog, Empty } from "./components.js";
import {
  RunsTable, ConfirmDialog, SortHeader, ViewSelect, queryWith, quoteValue, viewOf,
} from "./runs-table.js";

const EXPERIMENT_PAGE = 100;
const MODEL_PAGE = 50;
const VIEW_TYPES = { active: "ACTIVE_ONLY", deleted: "DELETED_ONLY", all: "ALL" };
const NOTE_TAG = "mlflow.note.content";

// Pages of a token-paged search, appended on loadMore(). fetchPage(token, signal) -> {items, token}.
// A new search (deps) replaces the list when its first page arrives; a reload() keeps the old one until then.
function usePagedList(fetchPage, deps) {
  const [state, setState] = useState({ items: [], token: null, loading: true, error: null });
  const [generation, setGeneration] = useState(0);
  const session = useRef(null);
  const load = (s, token) => {
    setState((old) => ({ ...old, loading: true, error: null }));
    fetchPage(token, s.controller.signal).then((page) => {
      if (session.current !== s) return;
      setState((old) => ({ items: token ? old.items.concat(page.items) : page.items, token: page.token || null,
        loading: false, error: null }));
    }, (error) => {
      if (session.current !== s || error.name === "AbortError") return;
      setState((old) => ({ ...old, loading: false, error }));
    });
  };
  useEffect(() => {
    const s = { controller: new AbortController() };
    session.current = s;
    load(s, undefined);
    return () => s.controller.abort();
  }, [...deps, generation]);
  const loadMore = () => { if (!state.loading && state.token) load(session.current, state.token); };
  return { ...state, loadMore, reload: () => setGeneration((n) => n + 1) };
}

function MoreButton({ list, what }) {
  if (!list.token) return null;
  return html`<button type="button" class="load-more" disabled=${list.loading} onClick=${list.loadMore}>
    ${list.loading ? "Loading…" : `Load more ${what}`}</button>`;
}

// ---------------------------------------------------------------- experiments list

function searchExperiments({ search, view, orderKey, asc }, token, signal) {
  const body = { max_results: EXPERIMENT_PAGE, view_type: VIEW_TYPES[view], order_by: [`${orderKey} ${asc ? "ASC" : "DESC"}`] };
  // ILIKE: case-insensitive on every database (LIKE is case-sensitive on PostgreSQL).
  if (search) body.filter = `name ILIKE ${quoteValue(`%${search}%`)}`;
  if (token) body.page_token = token;
  return mlflow.post("/experiments/search", body, { signal })
    .then((answer) => ({ items: answer.experiments || [], token: answer.next_page_token }));
}

function SearchBox({ value, onChange }) {
  const [text, setText] = useState(value);
  const timer = useRef(0);
  useEffect(() => { setText(value); }, [value]);
  useEffect(() => () => clearTimeout(timer.current), []);
  const input = (event) => {
    const next = event.target.value;
    setText(next);
    clearTimeout(timer.current);
    // Wait for a pause in typing: one search per word, not per key.
    timer.current = setTimeout(() => onChange(next.trim()), 250);
  };
  return html`<input type="search" class="grow" value=${text} onInput=${input}
    aria-label="Search experiments by name" placeholder="Search experiments by name" />`;
}

function ExperimentRow({ experiment, onRename, onDelete, onRestore }) {
  const deleted = experiment.lifecycle_stage === "deleted";
  return html`<tr data-testid="experiment-row" data-experiment-id=${experiment.experiment_id}
      class=${deleted ? "deleted-experiment" : ""}>
    <td class="experiment-name"><a href=${href("/experiments", experiment.experiment_id)}>${experiment.name}</a>
      ${deleted && html` <span class="badge bad">deleted</span>`}</td>
    <td class="mono">${experiment.experiment_id}</td>
    <td>${formatTime(experiment.creation_time)}</td>
    <td>${formatTime(experiment.last_update_time)}</td>
    <td class="mono artifact-location">${experiment.artifact_location}</td>
    <td class="row-actions">
      <button type="button" class="link" aria-label=${`Rename experiment ${experiment.name}`}
        onClick=${() => onRename(experiment)}>Rename</button>
      ${deleted
        ? html`<button type="button" class="link" aria-label=${`Restore experiment ${experiment.name}`}
            onClick=${() => onRestore(experiment)}>Restore</button>`
        : html`<button type="button" class="link danger" aria-label=${`Delete experiment ${experiment.name}`}
            onClick=${() => onDelete(experiment)}>Delete</button>`}
    </td>
  </tr>`;
}

function ExperimentDialogs({ dialog, close, done }) {
  if (!dialog) return null;
  const { kind, experiment } = dialog;
  if (kind === "create") {
    return html`<${FormDialog} title="Create experiment" submitLabel="Create"
      fields=${[{ name: "name", label: "Name" },
        { name: "artifact_location", label: "Artifact location (optional)", required: false }]}
      onSubmit=${async (values) => {
        const body = { name: values.name.trim() };
        if (values.artifact_location.trim()) body.artifact_location = values.artifact_location.trim();
        await mlflow.post("/experiments/create", body);
        done();
      }} onClose=${close} />`;
  }
  if (kind === "rename") {
    return html`<${FormDialog} title=${`Rename experiment ${experiment.name}`} submitLabel="Rename"
      fields=${[{ name: "new_name", label: "New name", value: experiment.name }]}
      onSubmit=${async (values) => {
        await mlflow.post("/experiments/update", { experiment_id: experiment.experiment_id, new_name: values.new_name.trim() });
        done();
      }} onClose=${close} />`;
  }
  const deleting = kind === "delete";
  return html`<${ConfirmDialog} title=${deleting ? "Delete experiment" : "Restore experiment"}
    message=${deleting
      ? `Delete experiment "${experiment.name}" and its runs? It can be restored from the Deleted view.`
      : `Restore experiment "${experiment.name}"?`}
    confirmLabel=${deleting ? "Delete" : "Restore"}
    onConfirm=${async () => {
      await mlflow.post(deleting ? "/experiments/delete" : "/experiments/restore", { experiment_id: experiment.experiment_id });
      done();
    }} onClose=${close} />`;
}

export function ExperimentsPage({ query }) {
  const search = query.get("search") || "";
  const view = viewOf(query.get("lifecycleFilter"));
  const orderKey = query.get("orderByKey") || "last_update_time";
  const asc = query.get("orderByAsc") === "true";
  const params = { search, view, orderKey, asc };
  const list = usePagedList((token, signal) => searchExperiments(params, token, signal), [search, view, orderKey, asc]);
  const [dialog, setDialog] = useState(null);
  const update = (changes) => replaceQuery(queryWith(query, changes));
  const onSort = (key, nextAsc) => update({ orderByKey: key === "last_update_time" ? null : key,
    orderByAsc: nextAsc ? "true" : null });
  const sortable = (label, key, firstAsc) => html`<${SortHeader} label=${label} sortKey=${key} orderKey=${orderKey}
    asc=${asc} onSort=${onSort} firstAsc=${firstAsc} />`;
  const n = list.items.length;
  return html`<${Page} title="Experiments"
      actions=${html`<button type="button" class="primary" onClick=${() => setDialog({ kind: "create" })}>Create experiment</button>`}>
    <div class="toolbar">
      <${SearchBox} value=${search} onChange=${(text) => update({ search: text })} />
      <${ViewSelect} view=${view} label="Experiments to show"
        onChange=${(v) => update({ lifecycleFilter: v === "active" ? null : v[0].toUpperCase() + v.slice(1) })} />
    </div>
    <${ErrorBanner} error=${list.error} />
    <div class="table-wrap"><table class="data experiments">
      <thead><tr>
        ${sortable("Name", "name", true)}<th scope="col">ID</th>
        ${sortable("Created", "creation_time", false)}${sortable("Last modified", "last_update_time", false)}
        <th scope="col">Artifact location</th><th scope="col"><span class="visually-hidden">Actions</span></th>
      </tr></thead>
      <tbody>
        ${list.items.map((experiment) => html`<${ExperimentRow} key=${experiment.experiment_id} experiment=${experiment}
          onRename=${(e) => setDialog({ kind: "rename", experiment: e })}
          onDelete=${(e) => setDialog({ kind: "delete", experiment: e })}
          onRestore=${(e) => setDialog({ kind: "restore", experiment: e })} />`)}
      </tbody>
    </table></div>
    ${!list.loading && n === 0 && !list.error && html`<${Empty}>No experiments${search ? ` match "${search}"` : ""}.</${Empty}>`}
    <p class="muted list-count" role="status" data-testid="experiments-count">
      ${list.loading && n === 0 ? "Loading…" : `${n} experiment${n === 1 ? "" : "s"} shown${list.token ? ", more available" : ""}`}
    </p>
    <${MoreButton} list=${list} what="experiments" />
    <${ExperimentDialogs} dialog=${dialog} close=${() => setDialog(null)} done=${list.reload} />
  </${Page}>`;
}

// ---------------------------------------------------------------- experiment page

function Description({ experiment, onSaved }) {
  const [editing, setEditing] = useState(false);
  const tags = Object.fromEntries((experiment.tags || []).map((t) => [t.key, t.value]));
  const text = tags[NOTE_TAG] || "";
  const save = async (values) => {
    const id = experiment.experiment_id;
    if (values.description.trim()) {
      await mlflow.post("/experiments/set-experiment-tag", { experiment_id: id, key: NOTE_TAG, value: values.description });
    } else if (text) {
      await mlflow.post("/experiments/delete-experiment-tag", { experiment_id: id, key: NOTE_TAG });
    }
    onSaved();
  };
  return html`<section class="card experiment-description" aria-labelledby="description-title">
    <div class="card-head"><h2 id="description-title">Description</h2>
      <button type="button" class="link" onClick=${() => setEditing(true)}>${text ? "Edit" : "Add"}</button></div>
    ${text ? html`<div class="description-text" data-testid="experiment-description">${text}</div>`
      : html`<p class="muted">No description.</p>`}
    ${editing && html`<${FormDialog} title="Experiment description" submitLabel="Save"
      fields=${[{ name: "description", label: "Description", value: text, multiline: true, required: false }]}
      onSubmit=${save} onClose=${() => setEditing(false)} />`}
  </section>`;
}

function modelStatus(status) {
  const shown = { LOGGED_MODEL_READY: ["Ready", "ok"], LOGGED_MODEL_PENDING: ["Pending", "warn"],
    LOGGED_MODEL_UPLOAD_FAILED: ["Upload failed", "bad"] }[status];
  return shown ? html`<span class=${`badge ${shown[1]}`}>${shown[0]}</span>` : (status || "");
}

// The source runs' names for a page of models: one runs/search, not a runs/get per model.
async function runNames(experimentId, models, signal) {
  const ids = [...new Set(models.map((m) => m.info && m.info.source_run_id).filter(Boolean))];
  if (ids.length === 0) return {};
  try {
    const answer = await mlflow.post("/runs/search", {
      experiment_ids: [String(experimentId)], run_view_type: "ALL", max_results: ids.length,
      filter: `attributes.run_id IN (${ids.map(quoteValue).join(", ")})` }, { signal });
    return Object.fromEntries((answer.runs || []).map((r) => [r.info.run_id, r.info.run_name]));
  } catch (error) {
    if (error.name === "AbortError") throw error;
    return {}; // the ids are shown instead
  }
}

async function searchModels(experimentId, token, signal) {
  const body = { experiment_ids: [String(experimentId)], max_results: MODEL_PAGE,
    order_by: [{ field_name: "creation_timestamp", ascending: false }] };
  if (token) body.page_token = token;
  const answer = await mlflow.post("/logged-models/search", body, { signal });
  const models = answer.models || [];
  const names = await runNames(experimentId, models, signal);
  return { items: models.map((m) => ({ ...m, runName: names[m.info.source_run_id] })), token: answer.next_page_token };
}

function LoggedModels({ experimentId }) {
  const list = usePagedList((token, signal) => searchModels(experimentId, token, signal), [experimentId]);
  if (list.loading && list.items.length === 0) return html`<${Loading} label="Loading models" />`;
  return html`<div class="logged-models">
    <${ErrorBanner} error=${list.error} />
    ${list.items.length === 0 && !list.error ? html`<${Empty}>No models logged in this experiment.</${Empty}>`
      : html`<div class="table-wrap"><table class="data">
        <thead><tr><th scope="col">Model</th><th scope="col">Status</th><th scope="col">Created</th>
          <th scope="col">Source run</th><th scope="col">Model type</th></tr></thead>
        <tbody>${list.items.map(({ info, runName }) => html`<tr data-testid="model-row" key=${info.model_id}>
          <td><a href=${href("/experiments", info.experiment_id, "models", info.model_id)}>${info.name || info.model_id}</a></td>
          <td>${modelStatus(info.status)}</td>
          <td>${formatTime(info.creation_timestamp_ms)}</td>
          <td>${info.source_run_id && html`<a href=${href("/experiments", info.experiment_id, "runs", info.source_run_id)}>
            ${runName || info.source_run_id}</a>`}</td>
          <td>${info.model_type}</td>
        </tr>`)}</tbody>
      </table></div>`}
    <${MoreButton} list=${list} what="models" />
  </div>`;
}

// props: experimentId, tab ("runs" | "models"), query
export function ExperimentPage({ experimentId, tab, query }) {
  const experiment = useAsync(() => mlflow.get("/experiments/get", { experiment_id: experimentId }), [experimentId]);
  const info = experiment.data && experiment.data.experiment;
  const title = info ? info.name : `Experiment ${experimentId}`;
  const deleted = info && info.lifecycle_stage === "deleted";
  const select = (next) => navigate(next === "runs" ? href("/experiments", experimentId) : href("/experiments", experimentId, next));
  // The runs table starts its search at once, in parallel with experiments/get.
  return html`<${Page} title=${title} crumbs=${[["Experiments", "#/experiments"]]}>
    <${ErrorBanner} error=${experiment.error} />
    ${info && html`<div class="experiment-head">
      ${deleted && html`<p><span class="badge bad">deleted</span> This experiment is deleted; restore it from the
        experiments list.</p>`}
      <${KeyValueTable} label="Experiment" rows=${[
        ["Experiment ID", html`<span class="mono">${info.experiment_id}</span>`],
        ["Artifact location", html`<span class="mono">${info.artifact_location}</span>`],
        ["Created", formatTime(info.creation_time)],
        ["Last modified", formatTime(info.last_update_time)],
      ]} />
      <${Description} experiment=${info} onSaved=${experiment.reload} />
    </div>`}
    ${!experiment.error && html`<${Tabs} label="Experiment sections" tabs=${[["runs", "Runs"], ["models", "Models"]]}
      active=${tab} onSelect=${select} />
    <div role="tabpanel" aria-labelledby=${`tab-${tab}`}>
      ${tab === "models"
        ? html`<${LoggedModels} key=${experimentId} experimentId=${experimentId} />`
        : html`<${RunsTable} key=${experimentId} experimentId=${experimentId} query=${query} />`}
    </div>`}
  </${Page}>`;
}
