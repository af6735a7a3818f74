// Pieces every page uses: loading and error states, tabs, key/value tables, the tag editor, dialogs, the
// sandboxed preview of an HTML artifact and the Responsible-AI report shown through it.
import { html, useCallback, useEffect, useRef, useState } from "./lib.js";
import { MLCASK, artifactUrl } from "./api.js";

// useAsync(() => mlflow.get(...), [deps]) -> {data, error, loading, reload}
// An answer belongs to the deps it was loaded for: when the deps change the old answer is not
// returned (a page never shows, or edits, the previous run or model while the next loads), while
// reload() keeps it on screen until the new answer arrives.
function sameDeps(a, b) {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

export function useAsync(load, deps) {
  const [state, setState] = useState({ data: undefined, error: undefined, loading: true, deps: null });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let live = true;
    setState((old) => ({ ...old, loading: true }));
    Promise.resolve().then(load).then(
      (data) => { if (live) setState({ data, error: undefined, loading: false, deps }); },
      (error) => { if (live) setState({ data: undefined, error, loading: false, deps }); },
    );
    return () => { live = false; };
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  if (state.deps === null || !sameDeps(state.deps, deps)) {
    return { data: undefined, error: undefined, loading: true, reload };
  }
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function Loading({ label = "Loading" }) {
  return html`<p class="loading" role="status" aria-live="polite">${label}…</p>`;
}

// An error from the server, with its message as the server wrote it (e.g. a 400's explanation).
export function ErrorBanner({ error, onDismiss }) {
  if (!error) return null;
  const text = error.message || String(error);
  return html`<div class="error-banner" role="alert">
    <strong>${error.code ? `${error.code}: ` : "Error: "}</strong><span class="error-message">${text}</span>
    ${onDismiss && html`<button type="button" class="link" onClick=${onDismiss} aria-label="Dismiss">×</button>`}
  </div>`;
}

// <${Page} title=${...} crumbs=${[["Experiments", "#/experiments"]]} actions=${...}>...</>
export function Page({ title, crumbs = [], actions, children }) {
  useEffect(() => { document.title = title ? `${title} · mlcask` : "mlcask"; }, [title]);
  return html`<section class="page">
    ${crumbs.length > 0 && html`<nav class="crumbs" aria-label="Breadcrumb"><ol>
      ${crumbs.map(([label, link]) => html`<li><a href=${link}>${label}</a></li>`)}
    </ol></nav>`}
    <header class="page-head"><h1>${title}</h1>${actions && html`<div class="actions">${actions}</div>`}</header>
    ${children}
  </section>`;
}

// Tabs: tabs=[["overview", "Overview"], ...], active, onSelect(id). Arrow keys move between tabs.
export function Tabs({ tabs, active, onSelect, label = "Sections" }) {
  const refs = useRef({});
  const onKey = (event, index) => {
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    const next = tabs[(index + step + tabs.length) % tabs.length][0];
    onSelect(next);
    refs.current[next]?.focus();
  };
  return html`<div class="tabs" role="tablist" aria-label=${label}>
    ${tabs.map(([id, text], index) => html`<button type="button" role="tab" id=${`tab-${id}`}
      ref=${(el) => { refs.current[id] = el; }} aria-selected=${id === active ? "true" : "false"}
      tabindex=${id === active ? 0 : -1} class=${id === active ? "tab active" : "tab"}
      onClick=${() => onSelect(id)} onKeyDown=${(e) => onKey(e, index)}>${text}</button>`)}
  </div>`;
}

// rows=[[label, value], ...]; values are text or markup built with html``.
export function KeyValueTable({ rows, label }) {
  return html`<table class="kv" aria-label=${label}><tbody>
    ${rows.filter((row) => row && row[1] !== undefined && row[1] !== null && row[1] !== "")
      .map(([key, value]) => html`<tr><th scope="row">${key}</th><td>${value}</td></tr>`)}
  </tbody></table>`;
}

// A modal dialog (the native <dialog>, so focus and Escape work). fields=[{name, label, value}]
export function FormDialog({ title, fields, submitLabel = "Save", onSubmit, onClose }) {
  const ref = useRef(null);
  const [values, setValues] = useState(() => Object.fromEntries(fields.map((f) => [f.name, f.value ?? ""])));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => { ref.current?.showModal(); }, []);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSubmit(values);
      ref.current?.close();
      onClose();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<dialog ref=${ref} class="dialog" onClose=${onClose} aria-labelledby="dialog-title">
    <form method="dialog" onSubmit=${submit}>
      <h2 id="dialog-title">${title}</h2>
      ${fields.map((f) => html`<label class="field">${f.label}
        ${f.multiline
          ? html`<textarea name=${f.name} rows="4" value=${values[f.name]}
              onInput=${(e) => setValues({ ...values, [f.name]: e.target.value })}></textarea>`
          : html`<input name=${f.name} value=${values[f.name]} required=${f.required !== false}
              onInput=${(e) => setValues({ ...values, [f.name]: e.target.value })} />`}
      </label>`)}
      <${ErrorBanner} error=${error} />
      <div class="dialog-actions">
        <button type="button" onClick=${() => { ref.current?.close(); }}>Cancel</button>
        <button type="submit" class="primary" disabled=${busy}>${submitLabel}</button>
      </div>
    </form>
  </dialog>`;
}

// Tags shown as a table, with add, edit and delete when onSet/onDelete are given.
// hidden: keys not shown (MLflow's own "mlflow.*" tags are shown elsewhere by the pages).
export function TagEditor({ tags, onSet, onDelete, hidden = (key) => key.startsWith("mlflow.") }) {
  const [editing, setEditing] = useState(null); // {key, value} or null
  const [error, setError] = useState(null);
  const shown = (tags || []).filter((tag) => !hidden(tag.key));
  const run = async (action) => {
    setError(null);
    try { await action(); } catch (err) { setError(err); }
  };
  return html`<div class="tag-editor">
    <table class="data"><thead><tr><th scope="col">Tag</th><th scope="col">Value</th>
      ${onSet && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}</tr></thead>
    <tbody>
      ${shown.length === 0 && html`<tr><td colspan="3" class="muted">No tags</td></tr>`}
      ${shown.map((tag) => html`<tr>
        <td class="tag-key">${tag.key}</td><td class="tag-value">${tag.value}</td>
        ${onSet && html`<td class="row-actions">
          <button type="button" class="link" aria-label=${`Edit tag ${tag.key}`}
            onClick=${() => setEditing({ key: tag.key, value: tag.value, existing: true })}>Edit</button>
          ${onDelete && html`<button type="button" class="link danger" aria-label=${`Delete tag ${tag.key}`}
            onClick=${() => run(() => onDelete(tag.key))}>Delete</button>`}
        </td>`}
      </tr>`)}
    </tbody></table>
    ${onSet && html`<button type="button" onClick=${() => setEditing({ key: "", value: "" })}>Add tag</button>`}
    <${ErrorBanner} error=${error} onDismiss=${() => setError(null)} />
    ${editing && html`<${FormDialog} title=${editing.existing ? `Edit tag ${editing.key}` : "Add tag"}
      fields=${[{ name: "key", label: "Key", value: editing.key }, { name: "value", label: "Value",
        value: editing.value, required: false, multiline: true }]}
      onSubmit=${(values) => onSet(values.key, values.value)} onClose=${() => setEditing(null)} />`}
  </div>`;
}

// A button that asks before doing something that cannot be taken back lightly.
export function ConfirmButton({ label, question, onConfirm, className = "" }) {
  const [error, setError] = useState(null);
  const click = async () => {
    if (!window.confirm(question)) return;
    try { await onConfirm(); } catch (err) { setError(err); }
  };
  return html`<span><button type="button" class=${className} onClick=${click}>${label}</button>
    <${ErrorBanner} error=${error} onDismiss=${() => setError(null)} /></span>`;
}

export function Empty({ children }) {
  return html`<p class="empty muted">${children}</p>`;
}

// -- HTML artifacts and the Responsible-AI report ---------------------------------------------------------------

export function htmlPreviewUrl(runId, path) {
  return `${MLCASK}/artifacts/html-preview?${new URLSearchParams({ run_id: runId, path })}`;
}

// HTML is shown from the server's html-preview (sent under a sandboxing CSP) in a frame sandboxed again
// here: no scripts, a unique origin. iframe.srcdoc is not an option (the page's Trusted Types forbid it).
export function HtmlPreview({ runId, path, className = "artifact-frame", testId = "artifact-frame", title }) {
  return html`<iframe class=${className} sandbox="" src=${htmlPreviewUrl(runId, path)}
    title=${title || `Preview of ${path}`} referrerpolicy="no-referrer" data-testid=${testId}></iframe>`;
}

// The tag naming an evaluation's report: on the run that logged it, the artifact path
// ("responsible_ai_report.html", or with evaluate's metric prefix); on a logged model, "runs:/<run_id>/<path>".
export const REPORT_TAG = "mlcask.evaluation.report";

// {runId, path} of the report a tag value names (runId: the run whose tag it is, for a bare path), or null.
export function reportLocation(value, runId) {
  const text = String(value || "").trim();
  if (!text) return null;
  if (text.startsWith("runs:/")) {
    const match = /^runs:\/+([^/]+)\/+(.+)$/.exec(text);
    return match ? { runId: match[1], path: match[2] } : null;
  }
  return runId ? { runId, path: text.replace(/^\/+/, "") } : null;
}

const REPORT_HINT = html`<code>mlcask.evaluate(..., evaluator_config={"sensitive_features": [...]})</code> (or
  <code>"log_report": True</code>, or <code>mlcask models evaluate ... --sensitive-feature COL</code>) logs one.`;

// The report in the sandboxed preview frame, with links to open it on its own and to download it.
// report: {runId, path} or null (then how to get one).
export function EvaluationReport({ report }) {
  if (!report) {
    return html`<p class="empty muted" data-testid="evaluation-report-missing">No Responsible-AI report here.
      ${REPORT_HINT}</p>`;
  }
  const { runId, path } = report;
  if (!/\.html?$/i.test(path)) {
    return html`<${ErrorBanner} error=${{ code: "INVALID_PARAMETER_VALUE",
      message: `The ${REPORT_TAG} tag names '${path}', which is not an .html artifact.` }} />`;
  }
  const name = path.split("/").pop();
  return html`<section class="evaluation-report" data-testid="evaluation-report" aria-label="Responsible-AI report">
    <header class="evaluation-report-head">
      <span class="muted">Report <code>${path}</code> of run <code>${runId}</code></span>
      <a href=${htmlPreviewUrl(runId, path)} target="_blank" rel="noopener noreferrer"
        data-testid="evaluation-report-open">Open on its own</a>
      <a href=${artifactUrl(runId, path)} download=${name} data-testid="evaluation-report-download">Download</a>
    </header>
    <${HtmlPreview} runId=${runId} path=${path} className="artifact-frame report-frame" testId="evaluation-report-frame"
      title=${`Responsible-AI report ${path}`} />
  </section>`;
}
