// The runs table of an experiment page: runs/search page by page as the user scrolls, with only the
// rows in view (plus a buffer) in the DOM, so 10,000 runs stay as quick as 100. Sort by a column,
// filter with MLflow's search syntax, user-chosen param/metric/tag columns, select runs to compare,
// delete or restore. Filter, sort and view live in the URL query (MLflow's names: searchFilter,
// orderByKey, orderByAsc, lifecycleFilter), so links are shareable and a reload keeps them.
import { html, useCallback, useEffect, useId, useLayoutEffect, useMemo, useRef, useState } from "./lib.js";
import { mlflow } from "./api.js";
import { href, replaceQuery, withQuery } from "./router.js";
import { formatDuration, formatTime, formatValue } from "./format.js";
import { ErrorBanner } from "./components.js";

const PAGE_SIZE = 100;
const ROW_HEIGHT = 33; // px: the CSS gives each row this height; the real one is measured once
const BUFFER = 15; // rows rendered above and below the visible ones
const STEP = 5; // the window moves in steps of this many rows, so small scrolls re-render nothing
const VIEWS = { active: "ACTIVE_ONLY", deleted: "DELETED_ONLY", all: "ALL" };
const VIEW_LABELS = { active: "Active", deleted: "Deleted", all: "All" };
export const DEFAULT_ORDER = "attributes.start_time";
const KINDS = [["metrics", "Metrics", "metric"], ["params", "Parameters", "param"], ["tags", "Tags", "tag"]];

// ---------------------------------------------------------------- small helpers shared with experiments.js

// `key` quoted for a filter or order_by clause (a doubled backtick stands for one).
export function quoteKey(key) {
  return "`" + String(key).replace(/`/g, "``") + "`";
}

// A quoted string value for a filter ('it''s').
export function quoteValue(text) {
  return "'" + String(text).replace(/\\/g, "\\\\").replace(/'/g, "''") + "'";
}

// The current query with `changes` applied (null, undefined or "" removes a key), for replaceQuery.
export function queryWith(query, changes) {
  const out = Object.fromEntries(query ? query.entries() : []);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") delete out[key];
    else out[key] = String(value);
  }
  return out;
}

// "active" | "deleted" | "all" from MLflow's lifecycleFilter ("Active", "Deleted") or ours.
export function viewOf(value) {
  const view = String(value || "active").toLowerCase();
  return VIEWS[view] ? view : "active";
}

export function ViewSelect({ view, onChange, label }) {
  return html`<label class="view-select"><span class="visually-hidden">${label}</span>
    <select value=${view} aria-label=${label} onChange=${(e) => onChange(e.target.value)}>
      ${Object.entries(VIEW_LABELS).map(([id, text]) => html`<option value=${id}>${text}</option>`)}
    </select></label>`;
}

// A modal question in the page (a native <dialog>: focus stays inside, Escape cancels).
export function ConfirmDialog({ title, message, confirmLabel = "OK", onConfirm, onClose }) {
  const ref = useRef(null);
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => { ref.current?.showModal(); }, []);
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      ref.current?.close();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<dialog ref=${ref} class="dialog confirm-dialog" onClose=${onClose} aria-labelledby=${id}>
    <h2 id=${id}>${title}</h2>
    <p>${message}</p>
    <${ErrorBanner} error=${error} />
    <div class="dialog-actions">
      <button type="button" onClick=${() => ref.current?.close()}>Cancel</button>
      <button type="button" class="primary danger-action" disabled=${busy} onClick=${confirm}>${confirmLabel}</button>
    </div>
  </dialog>`;
}

// A column header that sorts: click toggles the direction, a new column starts with `firstAsc`.
export function SortHeader({ label, sortKey, orderKey, asc, onSort, title, firstAsc = true, className = "" }) {
  const active = sortKey === orderKey;
  const ariaSort = active ? (asc ? "ascending" : "descending") : "none";
  const next = active ? !asc : firstAsc;
  return html`<th scope="col" class=${className} aria-sort=${ariaSort} title=${title}>
    <button type="button" class="sort-button" onClick=${() => onSort(sortKey, next)}
      aria-label=${`Sort by ${label} ${next ? "ascending" : "descending"}`}>
      <span class="sort-label">${label}</span>
      <span class="sort-mark" aria-hidden="true">${active ? (asc ? "▲" : "▼") : ""}</span>
    </button>
  </th>`;
}

// Runs fn(item) for every item, at most `width` at a time; the errors, if any, as one list.
export async function eachLimited(items, fn, width = 6) {
  const errors = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try { await fn(item); } catch (err) { errors.push(err); }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  if (errors.length) {
    const first = errors[0];
    first.message = `${errors.length} of ${items.length} failed: ${first.message}`;
    throw first;
  }
}

// ---------------------------------------------------------------- the rows' data

function valuesOf(list) {
  const out = {};
  for (const item of list || []) out[item.key] = item.value;
  return out;
}

// A run as the table needs it, computed once when its page arrives.
function rowOf(run) {
  const info = run.info || {};
  const data = run.data || {};
  const tags = valuesOf(data.tags);
  return {
    id: info.run_id || info.run_uuid,
    experimentId: info.experiment_id,
    name: info.run_name || tags["mlflow.runName"] || info.run_id,
    status: info.status || "",
    lifecycle: info.lifecycle_stage || "active",
    start: info.start_time,
    end: info.end_time,
    user: info.user_id || tags["mlflow.user"] || "",
    source: tags["mlflow.source.name"] || "",
    parentId: tags["mlflow.parentRunId"] || "",
    metrics: valuesOf(data.metrics),
    params: valuesOf(data.params),
    tags,
  };
}

function searchBody(request, token) {
  const body = {
    experiment_ids: [request.experimentId],
    max_results: PAGE_SIZE,
    run_view_type: VIEWS[request.view],
    order_by: [`${request.orderKey} ${request.asc ? "ASC" : "DESC"}`],
  };
  if (request.filter) body.filter = request.filter;
  if (token) body.page_token = token;
  return body;
}

// The loaded pages of one search. The rows live in a mutable session (appending a page copies
// nothing); `version` changes whenever something new is there to render.
function useRunPages(request) {
  const session = useRef(null);
  const [version, setVersion] = useState(0);
  const [generation, setGeneration] = useState(0);
  const bump = () => setVersion((n) => n + 1);
  const requestKey = JSON.stringify(request);

  const fetchMore = useCallback(() => {
    const s = session.current;
    if (!s || s.busy || s.done || s.error) return;
    s.busy = true;
    bump();
    mlflow.post("/runs/search", searchBody(s.request, s.token), { signal: s.controller.signal }).then((answer) => {
      if (session.current !== s) return;
      for (const run of answer.runs || []) {
        const row = rowOf(run);
        // Offset pages shift when runs are created meanwhile: a run already shown is not added twice.
        if (s.byId.has(row.id)) continue;
        s.rows.push(row);
        s.byId.set(row.id, row);
        for (const [kind] of KINDS) for (const key in row[kind]) s.keys[kind].add(key);
      }
      s.token = answer.next_page_token || null;
      s.done = !s.token;
      s.busy = false;
      bump();
    }, (error) => {
      if (session.current !== s || error.name === "AbortError") return;
      s.error = error;
      s.busy = false;
      bump();
    });
  }, []);

  useEffect(() => {
    const s = {
      request, controller: new AbortController(), rows: [], byId: new Map(), token: null, done: false,
      busy: false, error: null, keys: { metrics: new Set(), params: new Set(), tags: new Set() },
    };
    session.current = s;
    fetchMore();
    return () => s.controller.abort();
  }, [requestKey, generation]);

  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return { session: session.current, version, fetchMore, reload };
}

// ---------------------------------------------------------------- columns

const FIXED_COLUMNS = [
  { id: "name", label: "Run name", sort: "attributes.run_name", width: 240 },
  { id: "status", label: "Status", sort: "attributes.status", width: 100 },
  { id: "start", label: "Start time", sort: "attributes.start_time", width: 165, firstAsc: false },
  { id: "duration", label: "Duration", width: 95 },
  { id: "user", label: "User", sort: "attributes.user_id", width: 120 },
  { id: "source", label: "Source", sort: "tags.`mlflow.source.name`", width: 180 },
];
const SELECT_WIDTH = 40;

function chosenColumn({ kind, key }) {
  const singular = KINDS.find(([k]) => k === kind)[2];
  return { id: `${kind}:${key}`, kind, key, label: key, singular, sort: `${kind}.${quoteKey(key)}`, width: 140 };
}

function storageKey(experimentId) {
  return `mlcask.runColumns.${experimentId}`;
}

function loadChosen(experimentId) {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey(experimentId)) || "[]");
    return saved.filter((c) => c && KINDS.some(([k]) => k === c.kind) && typeof c.key === "string");
  } catch (_) {
    return [];
  }
}

function saveChosen(experimentId, chosen) {
  try { localStorage.setItem(storageKey(experimentId), JSON.stringify(chosen)); } catch (_) { /* storage off */ }
}

// The chooser of extra columns: the keys seen in the loaded runs, with a search box.
function ColumnChooser({ keys, chosen, onChange }) {
  const [open, setOpen] = useState(false);
  const [search, setSearch] = useState("");
  const panel = useRef(null);
  const box = useRef(null);
  const button = useRef(null);
  const id = useId();
  const close = () => { setOpen(false); button.current?.focus(); };
  // A click outside closes the panel, as a menu would.
  useEffect(() => {
    if (!open) return undefined;
    const outside = (event) => { if (box.current && !box.current.contains(event.target)) setOpen(false); };
    document.addEventListener("pointerdown", outside);
    return () => document.removeEventListener("pointerdown", outside);
  }, [open]);
  const isChosen = (kind, key) => chosen.some((c) => c.kind === kind && c.key === key);
  const toggle = (kind, key) => onChange(isChosen(kind, key)
    ? chosen.filter((c) => !(c.kind === kind && c.key === key)) : [...chosen, { kind, key }]);
  useEffect(() => { if (open) panel.current?.querySelector("input")?.focus(); }, [open]);
  const needle = search.trim().toLowerCase();
  const lists = open ? KINDS.map(([kind, title, singular]) => {
    const all = new Set(keys[kind]);
    for (const c of chosen) if (c.kind === kind) all.add(c.key);
    const shown = [...all].filter((key) => !needle || key.toLowerCase().includes(needle)).sort();
    return { kind, title, singular, shown };
  }) : [];
  const onKey = (event) => { if (event.key === "Escape" && open) { close(); event.stopPropagation(); } };
  return html`<div class="column-chooser" ref=${box} onKeyDown=${onKey}>
    <button type="button" ref=${button} aria-expanded=${open ? "true" : "false"} aria-controls=${id}
      onClick=${() => setOpen(!open)}>Columns${chosen.length ? ` (${chosen.length})` : ""}</button>
    ${open && html`<div class="chooser-panel" id=${id} ref=${panel} role="group" aria-label="Choose columns">
      <input type="search" placeholder="Search keys" aria-label="Search columns" value=${search}
        onInput=${(e) => setSearch(e.target.value)} />
      ${lists.map(({ kind, title, singular, shown }) => html`<fieldset class="chooser-group">
        <legend>${title}</legend>
        ${shown.length === 0 && html`<p class="muted">None ${needle ? "match" : "in the loaded runs"}</p>`}
        ${shown.map((key) => html`<label class="chooser-item" title=${key}>
          <input type="checkbox" checked=${isChosen(kind, key)} aria-label=${`Show ${singular} ${key}`}
            onChange=${() => toggle(kind, key)} />
          <span>${key}</span></label>`)}
      </fieldset>`)}
      <div class="chooser-actions">
        ${chosen.length > 0 && html`<button type="button" onClick=${() => onChange([])}>Clear columns</button>`}
        <button type="button" onClick=${close}>Done</button>
      </div>
    </div>`}
  </div>`;
}

// ---------------------------------------------------------------- rows

function cellOf(column, row, session) {
  switch (column.id) {
    case "name": return html`<${NameCell} row=${row} session=${session} />`;
    case "status": return html`<span class=${`status-${row.status}`}>${row.status}</span>`;
    case "start": return formatTime(row.start);
    case "duration": return formatDuration(row.start, row.end);
    case "user": return row.user;
    case "source": return row.source.split("/").pop();
    default: {
      const value = row[column.kind][column.key];
      return column.kind === "metrics" ? formatValue(value) : value;
    }
  }
}

function titleOf(column, row) {
  if (column.id === "source") return row.source;
  if (column.kind) {
    const value = row[column.kind][column.key];
    return value === undefined ? undefined : String(value);
  }
  return undefined;
}

function NameCell({ row, session }) {
  const link = href("/experiments", row.experimentId, "runs", row.id);
  if (!row.parentId) return html`<a href=${link} title=${row.name}>${row.name}</a>`;
  const parent = session.byId.get(row.parentId);
  const parentName = parent ? parent.name : row.parentId.slice(0, 8);
  return html`<span class="child-mark" aria-hidden="true">↳</span><a href=${link} title=${row.name}>${row.name}</a>
    <a class="parent-link" href=${href("/experiments", row.experimentId, "runs", row.parentId)}
      title=${`Parent run: ${parentName}`}>child of ${parentName}</a>`;
}

function RunRow({ row, index, columns, selected, onToggle, session }) {
  const classes = ["run-row"];
  if (row.parentId) classes.push("child-run");
  if (row.lifecycle === "deleted") classes.push("deleted-run");
  if (selected) classes.push("selected");
  return html`<tr class=${classes.join(" ")} data-testid="run-row" data-run-id=${row.id} aria-rowindex=${index + 2}>
    <td class="select-cell"><input type="checkbox" checked=${selected} aria-label=${`Select run ${row.name}`}
      onChange=${() => onToggle(row.id)} /></td>
    ${columns.map((column) => html`<td class=${column.kind === "metrics" ? "num" : ""}
      title=${titleOf(column, row)}>${cellOf(column, row, session)}</td>`)}
  </tr>`;
}

// ---------------------------------------------------------------- the table

function useWindow(scrollRef, headRef, rowHeight, resetKey) {
  const [range, setRange] = useState({ start: 0, count: 2 * BUFFER + 30 });
  const frame = useRef(0);
  const measure = useCallback(() => {
    frame.current = 0;
    const el = scrollRef.current;
    if (!el) return;
    const head = headRef.current ? headRef.current.offsetHeight : 0;
    const first = Math.max(0, Math.floor((el.scrollTop - head) / rowHeight) - BUFFER);
    const start = first - (first % STEP);
    const count = Math.ceil(el.clientHeight / rowHeight) + 2 * BUFFER + STEP;
    setRange((old) => (old.start === start && old.count === count ? old : { start, count }));
  }, [rowHeight]);
  const onScroll = useCallback(() => {
    if (!frame.current) frame.current = requestAnimationFrame(measure);
  }, [measure]);
  useEffect(() => {
    measure();
    window.addEventListener("resize", onScroll);
    return () => window.removeEventListener("resize", onScroll);
  }, [measure, onScroll]);
  useEffect(() => {
    if (scrollRef.current) scrollRef.current.scrollTop = 0;
    measure();
  }, [resetKey]);
  useEffect(() => () => cancelAnimationFrame(frame.current), []);
  return [range, onScroll];
}

function useChosenColumns(experimentId) {
  const [chosen, setChosen] = useState(() => loadChosen(experimentId));
  const change = (next) => {
    setChosen(next);
    saveChosen(experimentId, next);
  };
  return [chosen, change];
}

function FilterForm({ filter, onApply }) {
  const [text, setText] = useState(filter);
  useEffect(() => setText(filter), [filter]);
  const submit = (event) => {
    event.preventDefault();
    onApply(text.trim());
  };
  return html`<form class="runs-filter" role="search" onSubmit=${submit}>
    <input type="search" class="grow mono" value=${text} aria-label="Filter runs"
      placeholder='metrics.rmse < 1 and params.model = "tree"' onInput=${(e) => setText(e.target.value)} />
    <button type="submit">Search</button>
    ${filter && html`<button type="button" onClick=${() => { setText(""); onApply(""); }}>Clear</button>`}
  </form>`;
}

function Selection({ selected, session, experimentId, onDone }) {
  const [asking, setAsking] = useState(null); // "delete" | "restore" | null
  const ids = [...selected];
  const rows = ids.map((id) => session && session.byId.get(id)).filter(Boolean);
  const active = rows.filter((r) => r.lifecycle !== "deleted");
  const deleted = rows.filter((r) => r.lifecycle === "deleted");
  const compare = withQuery("#/compare-runs", {
    runs: JSON.stringify(ids), experiments: JSON.stringify([String(experimentId)]) });
  const act = async () => {
    const targets = asking === "delete" ? active : deleted;
    try {
      await eachLimited(targets, (row) => mlflow.post(`/runs/${asking}`, { run_id: row.id }));
    } finally {
      onDone();
    }
  };
  const count = (n) => `${n} run${n === 1 ? "" : "s"}`;
  return html`<div class="selection-bar" role="group" aria-label="Selected runs">
    <span class="muted" data-testid="selected-count">${selected.size} selected</span>
    ${ids.length >= 2
      ? html`<a class="button-link" href=${compare} data-testid="compare-runs">Compare</a>`
      : html`<button type="button" disabled title="Select two runs or more">Compare</button>`}
    <button type="button" class="danger" disabled=${active.length === 0}
      onClick=${() => setAsking("delete")}>Delete</button>
    <button type="button" disabled=${deleted.length === 0} onClick=${() => setAsking("restore")}>Restore</button>
    ${asking && html`<${ConfirmDialog} title=${asking === "delete" ? "Delete runs" : "Restore runs"}
      message=${asking === "delete"
        ? `Delete ${count(active.length)}? Deleted runs can be restored from the Deleted view.`
        : `Restore ${count(deleted.length)}?`}
      confirmLabel=${asking === "delete" ? "Delete" : "Restore"} onConfirm=${act}
      onClose=${() => setAsking(null)} />`}
  </div>`;
}

function SelectAll({ rows, selected, onChange }) {
  const ref = useRef(null);
  const all = rows.length > 0 && rows.every((row) => selected.has(row.id));
  const some = !all && selected.size > 0;
  useLayoutEffect(() => { if (ref.current) ref.current.indeterminate = some; });
  return html`<input type="checkbox" ref=${ref} checked=${all} aria-label="Select all loaded runs"
    disabled=${rows.length === 0}
    onChange=${() => onChange(all ? new Set() : new Set(rows.map((row) => row.id)))} />`;
}

function CountLine({ session }) {
  if (!session) return html`<p class="runs-count muted" role="status">Loading runs…</p>`;
  const n = session.rows.length;
  let more = session.done ? "all loaded" : "more available: scroll down to load them";
  if (session.busy) more = "loading more…";
  if (session.error) more = "loading stopped";
  return html`<p class="runs-count muted" role="status" aria-live="polite" data-testid="runs-count"
    data-loaded=${n} data-more=${session.done ? "false" : "true"}>
    ${n} run${n === 1 ? "" : "s"} loaded, ${more}</p>`;
}

function FilterError({ error, onRetry }) {
  if (!error) return null;
  if (error.status === 400) {
    return html`<div class="filter-error" role="alert"><p>The server refused the search:</p>
      <pre data-testid="filter-error">${error.message}</pre></div>`;
  }
  return html`<div class="toolbar"><${ErrorBanner} error=${error} />
    <button type="button" onClick=${onRetry}>Retry</button></div>`;
}

function RunsHead({ columns, rows, selected, setSelected, orderKey, asc, onSort, headRef }) {
  return html`<thead ref=${headRef}><tr aria-rowindex="1">
    <th scope="col" class="select-cell"><${SelectAll} rows=${rows} selected=${selected} onChange=${setSelected} /></th>
    ${columns.map((c) => (c.sort
      ? html`<${SortHeader} label=${c.label} sortKey=${c.sort} orderKey=${orderKey} asc=${asc} onSort=${onSort}
          firstAsc=${c.firstAsc !== false} className=${c.kind ? `kind-${c.kind}` : ""}
          title=${c.kind ? `${c.singular} ${c.key}` : undefined} />`
      : html`<th scope="col">${c.label}</th>`))}
  </tr></thead>`;
}

function Spacer({ rows, rowHeight, colspan }) {
  if (rows <= 0) return null;
  return html`<tr class="spacer" aria-hidden="true"><td colspan=${colspan}
    style=${{ height: `${rows * rowHeight}px` }}></td></tr>`;
}

// The scroll box: only the rows of the window are in the DOM, spacers stand in for the others.
function RunsGrid({ session, columns, selected, setSelected, toggle, sort, resetKey, fetchMore, emptyText }) {
  const [rowHeight, setRowHeight] = useState(ROW_HEIGHT);
  const scrollRef = useRef(null);
  const headRef = useRef(null);
  const bodyRef = useRef(null);
  const [range, onScroll] = useWindow(scrollRef, headRef, rowHeight, resetKey);
  const rows = session ? session.rows : [];
  const end = Math.min(rows.length, range.start + range.count);
  const start = Math.min(range.start, end);

  // More rows when the window nears the end of what is loaded (also when the first page does not fill the view).
  useEffect(() => {
    if (session && !session.done && !session.busy && !session.error && end >= rows.length - BUFFER) fetchMore();
  });
  // The real row height (borders, fonts), measured once, keeps the spacers exact.
  useLayoutEffect(() => {
    const tr = bodyRef.current && bodyRef.current.querySelector("tr.run-row");
    if (!tr) return;
    const height = tr.getBoundingClientRect().height;
    if (height > 0 && Math.abs(height - rowHeight) > 0.5) setRowHeight(height);
  });

  const width = SELECT_WIDTH + columns.reduce((sum, c) => sum + c.width, 0);
  const colspan = columns.length + 1;
  const empty = session && session.done && rows.length === 0 && !session.error;
  return html`<div class="runs-scroll" ref=${scrollRef} onScroll=${onScroll} tabindex="0" role="region" aria-label="Runs">
    <table class="data runs" style=${{ width: `${width}px` }} aria-rowcount=${session && session.done ? rows.length + 1 : -1}>
      <colgroup><col style=${{ width: `${SELECT_WIDTH}px` }} />
        ${columns.map((c) => html`<col style=${{ width: `${c.width}px` }} />`)}</colgroup>
      <${RunsHead} columns=${columns} rows=${rows} selected=${selected} setSelected=${setSelected} headRef=${headRef}
        ...${sort} />
      <tbody ref=${bodyRef}>
        <${Spacer} rows=${start} rowHeight=${rowHeight} colspan=${colspan} />
        ${rows.slice(start, end).map((row, i) => html`<${RunRow} key=${row.id} row=${row} index=${start + i}
          columns=${columns} selected=${selected.has(row.id)} onToggle=${toggle} session=${session} />`)}
        <${Spacer} rows=${rows.length - end} rowHeight=${rowHeight} colspan=${colspan} />
        ${empty && html`<tr><td colspan=${colspan} class="muted">${emptyText}</td></tr>`}
      </tbody>
    </table>
  </div>`;
}

// props: experimentId, query (URLSearchParams of the route)
export function RunsTable({ experimentId, query }) {
  const filter = query.get("searchFilter") || "";
  const orderKey = query.get("orderByKey") || DEFAULT_ORDER;
  const asc = query.get("orderByAsc") === "true";
  const view = viewOf(query.get("lifecycleFilter"));
  const request = { experimentId: String(experimentId), filter, orderKey, asc, view };
  const requestKey = JSON.stringify(request);
  const { session, fetchMore, reload } = useRunPages(request);
  const [chosen, setChosen] = useChosenColumns(experimentId);
  const [selected, setSelected] = useState(() => new Set());
  useEffect(() => setSelected(new Set()), [requestKey]);
  const columns = useMemo(() => [...FIXED_COLUMNS, ...chosen.map(chosenColumn)], [chosen]);
  const toggle = useCallback((id) => setSelected((old) => {
    const next = new Set(old);
    if (next.has(id)) next.delete(id); else next.add(id);
    return next;
  }), []);
  const update = (changes) => replaceQuery(queryWith(query, changes));
  const onSort = (key, nextAsc) => update({
    orderByKey: key === DEFAULT_ORDER ? null : key, orderByAsc: nextAsc ? "true" : null });
  const keys = session ? session.keys : { metrics: [], params: [], tags: [] };
  const emptyText = `No runs${filter ? " match the filter" : view === "deleted" ? " deleted" : ""}.`;
  return html`<div class="runs-table">
    <div class="toolbar runs-toolbar">
      <${FilterForm} filter=${filter} onApply=${(text) => update({ searchFilter: text })} />
      <${ViewSelect} view=${view} label="Runs to show"
        onChange=${(v) => update({ lifecycleFilter: v === "active" ? null : VIEW_LABELS[v] })} />
      <${ColumnChooser} keys=${keys} chosen=${chosen} onChange=${setChosen} />
    </div>
    <${FilterError} error=${session && session.error} onRetry=${reload} />
    <div class="toolbar runs-status">
      <${CountLine} session=${session} />
      <${Selection} selected=${selected} session=${session} experimentId=${experimentId}
        onDone=${() => { setSelected(new Set()); reload(); }} />
    </div>
    <${RunsGrid} session=${session} columns=${columns} selected=${selected} setSelected=${setSelected}
      toggle=${toggle} sort=${{ orderKey, asc, onSort }} resetKey=${requestKey} fetchMore=${fetchMore}
      emptyText=${emptyText} />
    ${session && !session.done && !session.error && html`<button type="button" class="load-more"
      disabled=${session.busy} onClick=${fetchMore}>${session.busy ? "Loading…" : "Load more runs"}</button>`}
  </div>`;
}
