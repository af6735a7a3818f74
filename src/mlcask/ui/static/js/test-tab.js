// The model version page's Test tab (as Azure ML studio's Test): a scoring request prefilled with the
// model's saved input example, edited as a table (a field per column, typed from the signature) or as raw
// JSON, both views over one request text; Send scores it on the server (in its scoring worker) and shows
// the predictions and the latency, or the server's 4xx message. The endpoint page's Test tab is this one,
// scoring through the endpoint instead (and showing which deployment answered).
import { html, useRef, useState } from "./lib.js";
import { mlcask } from "./api.js";
import { Empty, ErrorBanner } from "./components.js";
import { formatValue } from "./format.js";

const NUMERIC = new Set(["double", "float", "integer", "long"]);
const TEXT = new Set(["string", "binary", "datetime"]);

// The signature's columns ({name, type}), or null for a tensor signature or none.
export function columnSpecs(signature) {
  if (!signature || signature.inputs_kind !== "columns" || !signature.inputs) return null;
  return signature.inputs.map((spec, i) => ({ name: spec.name ?? String(i), type: spec.type }));
}

// How a cell is edited: "number", "boolean", "text" or "json" (objects and arrays, as JSON text).
function kindOf(type, sample) {
  if (NUMERIC.has(type)) return "number";
  if (type === "boolean") return "boolean";
  if (TEXT.has(type)) return "text";
  if (type) return "json";
  if (typeof sample === "number") return "number";
  if (typeof sample === "boolean") return "boolean";
  if (sample !== null && typeof sample === "object") return "json";
  return "text";
}

const BLANK = { number: 0, boolean: false, text: "", json: null };

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

// A scoring request as a table {columns: [{name, type, kind}], rows, params}, or null when it is not
// one (tensor inputs, a shape the table cannot show). dataframe_split and dataframe_records are tables.
export function toTable(request, specs) {
  if (!isObject(request)) return null;
  const { dataframe_split: split, dataframe_records: records, params, ...others } = request;
  if (Object.keys(others).length > 0 || (split !== undefined && records !== undefined)) return null;
  let names;
  let rows;
  if (isObject(split)) {
    names = split.columns || (specs ? specs.map((s) => s.name) : null);
    rows = split.data || [];
    if (!Array.isArray(names) || !Array.isArray(rows)
        || !rows.every((row) => Array.isArray(row) && row.length === names.length)) return null;
  } else if (Array.isArray(records) && records.every(isObject)) {
    names = specs ? specs.map((s) => s.name) : [];
    for (const record of records) for (const key of Object.keys(record)) if (!names.includes(key)) names.push(key);
    rows = records.map((record) => names.map((name) => (name in record ? record[name] : null)));
  } else {
    return null;
  }
  const types = new Map((specs || []).map((s) => [s.name, s.type]));
  const columns = names.map((name, i) => {
    const type = types.get(String(name));
    return { name: String(name), type, kind: kindOf(type, rows.length ? rows[0][i] : undefined) };
  });
  return { columns, rows, params };
}

export function fromTable(table) {
  const request = { dataframe_split: { columns: table.columns.map((c) => c.name), data: table.rows } };
  if (table.params !== undefined) request.params = table.params;
  return request;
}

// The request the tab starts with: the saved example, else a row of blanks from the signature.
export function initialRequest(details) {
  if (details.input_example) return details.input_example;
  const specs = columnSpecs(details.signature);
  if (specs) {
    return { dataframe_split: { columns: specs.map((s) => s.name), data: [specs.map((s) => BLANK[kindOf(s.type)])] } };
  }
  return { inputs: [] };
}

const pretty = (value) => JSON.stringify(value, null, 2);

function parse(text) {
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error: `The request is not valid JSON: ${error.message}` };
  }
}

// One cell. Numbers commit on change (blur, Enter, arrows): committing on each keystroke would turn "1." into 1.
function Cell({ column, value, row, onChange }) {
  const label = `${column.name}, row ${row + 1}`;
  if (column.kind === "boolean") {
    return html`<input type="checkbox" aria-label=${label} checked=${value === true}
      onChange=${(e) => onChange(e.target.checked)} />`;
  }
  if (column.kind === "number") {
    return html`<input type="number" step="any" aria-label=${label} value=${value ?? ""}
      onChange=${(e) => onChange(e.target.value === "" ? null : Number(e.target.value))} />`;
  }
  if (column.kind === "json") {
    return html`<input type="text" class="mono" aria-label=${label} value=${JSON.stringify(value)}
      onChange=${(e) => { const parsed = parse(e.target.value); onChange("value" in parsed ? parsed.value : e.target.value); }} />`;
  }
  return html`<input type="text" aria-label=${label} value=${value ?? ""} onInput=${(e) => onChange(e.target.value)} />`;
}

function ParamFields({ specs, params, onChange }) {
  if (!specs || specs.length === 0) return null;
  const current = params || {};
  return html`<fieldset class="test-params"><legend>Params</legend>
    ${specs.map((spec) => html`<label class="field">${spec.name} <span class="muted">(${spec.type}, default
      ${JSON.stringify(spec.default)})</span>
      <input type="text" class="mono" value=${spec.name in current ? JSON.stringify(current[spec.name]) : ""}
        placeholder=${JSON.stringify(spec.default)}
        onChange=${(e) => {
          const next = { ...current };
          const parsed = parse(e.target.value);
          if (e.target.value.trim() === "") delete next[spec.name];
          else next[spec.name] = "value" in parsed ? parsed.value : e.target.value;
          onChange(Object.keys(next).length ? next : undefined);
        }} /></label>`)}
  </fieldset>`;
}

function TableEditor({ table, paramSpecs, onChange }) {
  const setCell = (r, c, value) => onChange({ ...table, rows: table.rows.map((row, i) => (i === r
    ? row.map((old, j) => (j === c ? value : old)) : row)) });
  const addRow = () => onChange({ ...table, rows: [...table.rows, table.columns.map((col) => BLANK[col.kind])] });
  const removeRow = (r) => onChange({ ...table, rows: table.rows.filter((_, i) => i !== r) });
  return html`<div class="test-table">
    <div class="table-wrap"><table class="data" data-testid="test-input-table" aria-label="Input rows">
      <thead><tr><th scope="col">#</th>
        ${table.columns.map((col) => html`<th scope="col">${col.name}
          ${col.type && html`<span class="col-type muted">${col.type}</span>`}</th>`)}
        <th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${table.rows.map((row, r) => html`<tr data-testid="test-input-row">
        <td class="muted">${r + 1}</td>
        ${table.columns.map((col, c) => html`<td><${Cell} column=${col} value=${row[c]} row=${r}
          onChange=${(value) => setCell(r, c, value)} /></td>`)}
        <td class="row-actions"><button type="button" class="link danger" aria-label=${`Remove row ${r + 1}`}
          onClick=${() => removeRow(r)}>Remove</button></td>
      </tr>`)}</tbody>
    </table></div>
    <button type="button" onClick=${addRow} disabled=${table.columns.length === 0}>Add row</button>
    <${ParamFields} specs=${paramSpecs} params=${table.params}
      onChange=${(params) => onChange({ ...table, params })} />
  </div>`;
}

function cellText(value) {
  if (value !== null && typeof value === "object") return JSON.stringify(value);
  return formatValue(value);
}

// Predictions as a table when they are a list (of values, rows or records) or a dict of columns.
function predictionTable(predictions) {
  if (Array.isArray(predictions) && predictions.length > 0) {
    if (predictions.every(isObject)) {
      const keys = [];
      for (const p of predictions) for (const k of Object.keys(p)) if (!keys.includes(k)) keys.push(k);
      return { columns: keys, rows: predictions.map((p) => keys.map((k) => p[k])) };
    }
    if (predictions.every(Array.isArray)) {
      const width = Math.max(...predictions.map((p) => p.length));
      return { columns: Array.from({ length: width }, (_, i) => String(i)), rows: predictions };
    }
    return { columns: ["prediction"], rows: predictions.map((p) => [p]) };
  }
  if (isObject(predictions)) {
    const keys = Object.keys(predictions);
    if (keys.length && keys.every((k) => Array.isArray(predictions[k]))) {
      const length = Math.max(...keys.map((k) => predictions[k].length));
      return { columns: keys, rows: Array.from({ length }, (_, i) => keys.map((k) => predictions[k][i])) };
    }
  }
  return null;
}

function Result({ answer }) {
  const table = predictionTable(answer.predictions);
  let timing = `Latency ${formatValue(answer.latency_ms)} ms`;
  if (answer.predict_ms !== undefined) {
    timing += ` (model ${formatValue(answer.predict_ms)} ms`
      + (answer.from_cache ? ", model cached)" : `, loaded in ${formatValue(answer.load_ms)} ms)`);
  }
  return html`<section class="card test-result" aria-live="polite">
    <h2>Predictions</h2>
    <p class="muted" data-testid="latency">${timing}</p>
    ${answer.deployment && html`<p data-testid="answered-by">Answered by deployment <code>${answer.deployment}</code></p>`}
    ${table
      ? html`<div class="table-wrap"><table class="data" data-testid="predictions" aria-label="Predictions">
          <thead><tr><th scope="col">#</th>${table.columns.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead>
          <tbody>${table.rows.map((row, i) => html`<tr data-testid="prediction-row"><td class="muted">${i + 1}</td>
            ${row.map((v) => html`<td class="num">${cellText(v)}</td>`)}</tr>`)}</tbody></table></div>`
      : html`<pre data-testid="predictions">${pretty(answer.predictions)}</pre>`}
  </section>`;
}

// score(request) -> {predictions, latency_ms, predict_ms?, deployment?}: by default the server scores the
// model version (model-versions/score); the endpoint page passes one scoring through the endpoint.
// toolbar: more controls shown before Send (the endpoint page's deployment choice).
export function TestTab({ name, version, details, score, toolbar }) {
  const specs = columnSpecs(details.signature);
  const paramSpecs = details.signature && details.signature.params;
  const start = initialRequest(details);
  const [text, setTextState] = useState(() => pretty(start));
  const textRef = useRef(text); // what Send reads, even when a cell's change lands in the same click
  const [mode, setMode] = useState(() => (toTable(start, specs) ? "table" : "json"));
  const [answer, setAnswer] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const setText = (value) => { textRef.current = value; setTextState(value); };
  const parsed = parse(text);
  const table = "value" in parsed ? toTable(parsed.value, specs) : null;

  const send = async () => {
    const request = parse(textRef.current);
    setError(null);
    if (request.error) { setError(new Error(request.error)); return; }
    setBusy(true);
    try {
      setAnswer(await (score ? score(request.value)
        : mlcask.post("/model-versions/score", { name, version, request: request.value })));
    } catch (err) {
      setAnswer(null);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`<div class="test-tab" data-testid="test-tab">
    ${!details.input_example && html`<p class="muted">${specs
      ? "No input example was saved with this model: the form starts from its signature."
      : "No input example and no column signature: write the request as JSON."}</p>`}
    <div class="toolbar" role="group" aria-label="Request view">
      <button type="button" aria-pressed=${mode === "table" ? "true" : "false"} disabled=${!table && mode !== "table"}
        class=${mode === "table" ? "toggle active" : "toggle"} onClick=${() => setMode("table")}>Table</button>
      <button type="button" aria-pressed=${mode === "json" ? "true" : "false"}
        class=${mode === "json" ? "toggle active" : "toggle"} onClick=${() => setMode("json")}>JSON</button>
      <button type="button" onClick=${() => { setText(pretty(start)); setAnswer(null); setError(null); }}>
        Reset${details.input_example ? " to the example" : ""}</button>
      ${toolbar}
      <button type="button" class="primary send" onClick=${send} disabled=${busy}>${busy ? "Sending…" : "Send"}</button>
    </div>
    ${mode === "table" && (table
      ? html`<${TableEditor} table=${table} paramSpecs=${paramSpecs} onChange=${(next) => setText(pretty(fromTable(next)))} />`
      : html`<${Empty}>This request cannot be shown as a table${parsed.error ? " (it is not valid JSON)" : ""}: edit it as JSON.<//>`)}
    ${mode === "json" && html`<label class="field">Request (MLflow scoring JSON)
      <textarea class="mono test-json" rows="14" spellcheck="false" data-testid="test-json" value=${text}
        onInput=${(e) => setText(e.target.value)}></textarea></label>
      ${parsed.error && html`<p class="warn-text" role="status">${parsed.error}</p>`}`}
    <${ErrorBanner} error=${error} onDismiss=${() => setError(null)} />
    ${answer && html`<${Result} answer=${answer} />`}
  </div>`;
}
