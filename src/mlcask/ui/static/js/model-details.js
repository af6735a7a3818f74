// What the model pages show of a model folder (from mlcask's model-versions/details and
// logged-models/details): integrity badge, signature tables, environment, input example, and the small
// pieces the model pages share (source run link, editable description, aliases).
import { html, useState } from "./lib.js";
import { mlflow } from "./api.js";
import { href } from "./router.js";
import { Empty, FormDialog, KeyValueTable, useAsync } from "./components.js";
import { formatBytes } from "./format.js";

const INTEGRITY = {
  verified: ["ok", (i) => `Verified · signed by ${i.signed_by}`],
  signed_untrusted: ["warn", (i) => `Signed by key ${i.signed_by}, which this server does not trust`],
  unsigned: ["warn", () => "Unsigned (files match their manifest)"],
  no_manifest: ["warn", () => "No integrity manifest (saved without mlcask)"],
  failed: ["bad", () => "Integrity check failed"],
};

export function IntegrityBadge({ integrity }) {
  if (!integrity) return null;
  const [tone, text] = INTEGRITY[integrity.status] || ["warn", () => integrity.status];
  return html`<span class="integrity" data-testid="integrity" data-status=${integrity.status}>
    <span class=${`badge ${tone}`}>${text(integrity)}</span>
    ${integrity.status === "failed" && html` <span class="integrity-reason">${integrity.reason}</span>`}
    ${integrity.signer_source && html` <span class="muted">(key from ${integrity.signer_source})</span>`}
  </span>`;
}

// The type of a column, tensor or param spec as one line of text.
export function specType(spec) {
  if (!spec) return "";
  if (spec.type === "tensor") {
    const tensor = spec["tensor-spec"] || {};
    return `tensor ${tensor.dtype || ""} ${JSON.stringify(tensor.shape || [])}`.trim();
  }
  if (spec.type === "object" || spec.type === "array" || spec.type === "map") {
    const { name, required, ...rest } = spec;
    return JSON.stringify(rest);
  }
  return spec.type || "";
}

function SchemaTable({ specs, label }) {
  if (!specs || specs.length === 0) return html`<${Empty}>No ${label.toLowerCase()} in the signature.<//>`;
  return html`<div class="table-wrap"><table class="data schema" aria-label=${label}>
    <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Required</th></tr></thead>
    <tbody>${specs.map((spec, i) => html`<tr>
      <td>${spec.name ?? html`<span class="muted">(unnamed ${i})</span>`}</td><td><code>${specType(spec)}</code></td>
      <td>${spec.required === false ? "no" : "yes"}</td></tr>`)}</tbody>
  </table></div>`;
}

function ParamsTable({ params }) {
  if (!params || params.length === 0) return html`<${Empty}>No inference params.<//>`;
  return html`<div class="table-wrap"><table class="data schema" aria-label="Params">
    <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Default</th>
      <th scope="col">Shape</th></tr></thead>
    <tbody>${params.map((p) => html`<tr><td>${p.name}</td><td><code>${p.type}</code></td>
      <td><code>${JSON.stringify(p.default)}</code></td><td>${p.shape ? JSON.stringify(p.shape) : ""}</td></tr>`)}
    </tbody></table></div>`;
}

export function SignatureSection({ signature }) {
  if (!signature) {
    return html`<${Empty}>This model has no signature: its inputs are passed to it unchecked.<//>`;
  }
  return html`<div data-testid="signature">
    <section class="card"><h2>Inputs ${signature.inputs_kind && html`<span class="muted">(${signature.inputs_kind})</span>`}</h2>
      <${SchemaTable} specs=${signature.inputs} label="Inputs" /></section>
    <section class="card"><h2>Outputs</h2><${SchemaTable} specs=${signature.outputs} label="Outputs" /></section>
    <section class="card"><h2>Params</h2><${ParamsTable} params=${signature.params} /></section>
  </div>`;
}

export function EnvironmentSection({ environment }) {
  const env = environment || {};
  return html`<div data-testid="environment">
    <section class="card"><h2>Python</h2>
      <${KeyValueTable} label="Python environment" rows=${[
        ["Python version", env.python || "not recorded"],
        ["Build dependencies", (env.build_dependencies || []).join(", ")],
        ["Dependencies", (env.dependencies || []).join(", ")],
      ]} /></section>
    <section class="card"><h2>Requirements <span class="muted">(requirements.txt)</span></h2>
      ${env.requirements && env.requirements.length
        ? html`<ul class="requirements">${env.requirements.map((line) => html`<li><code>${line}</code></li>`)}</ul>`
        : html`<${Empty}>No requirements.txt.<//>`}</section>
    <section class="card"><h2>Conda <span class="muted">(conda.yaml)</span></h2>
      ${env.conda ? html`<pre>${env.conda}</pre>` : html`<${Empty}>No conda.yaml.<//>`}</section>
  </div>`;
}

export function InputExample({ details }) {
  if (details.input_example_truncated) {
    return html`<${Empty}>The saved input example is too large to show here (${formatBytes(details.input_example_bytes)}).<//>`;
  }
  if (details.input_example === null || details.input_example === undefined) {
    return html`<${Empty}>No input example was saved with this model.<//>`;
  }
  return html`<pre data-testid="input-example">${JSON.stringify(details.input_example, null, 2)}</pre>`;
}

// Rows for a KeyValueTable: what the folder says of itself.
export function folderRows(details) {
  return [
    ["Integrity", html`<${IntegrityBadge} integrity=${details.integrity} />`],
    ["Flavors", Object.keys(details.flavors || {}).join(", ")],
    ["Size", details.size_bytes !== undefined ? `${formatBytes(details.size_bytes)} (${details.files} files)` : ""],
    ["MLflow format", details.mlflow_version],
    ["Saved (UTC)", details.utc_time_created],
  ];
}

// The experiment of a run, fetched once per run id for all the links on a page.
const runExperiments = new Map();
function experimentOf(runId) {
  if (!runExperiments.has(runId)) {
    runExperiments.set(runId, mlflow.get("/runs/get", { run_id: runId }).then((r) => r.run.info.experiment_id)
      .catch((error) => { runExperiments.delete(runId); throw error; }));
  }
  return runExperiments.get(runId);
}

export function RunLink({ runId, label }) {
  const { data: experimentId, error } = useAsync(() => (runId ? experimentOf(runId) : null), [runId]);
  if (!runId) return html`<span class="muted">none</span>`;
  if (error || experimentId === undefined || experimentId === null) return html`<code>${label || runId}</code>`;
  return html`<a href=${href("/experiments", experimentId, "runs", runId)}>${label || runId}</a>`;
}

// A description shown as text, with an Edit button opening a dialog; onSave(text) persists it.
export function DescriptionEditor({ text, onSave }) {
  const [editing, setEditing] = useState(false);
  return html`<div class="description">
    ${text ? html`<p class="description-text">${text}</p>` : html`<p class="muted">No description.</p>`}
    <button type="button" onClick=${() => setEditing(true)}>Edit description</button>
    ${editing && html`<${FormDialog} title="Edit description" submitLabel="Save"
      fields=${[{ name: "description", label: "Description", value: text || "", multiline: true, required: false }]}
      onSubmit=${(values) => onSave(values.description)} onClose=${() => setEditing(false)} />`}
  </div>`;
}

export function AliasBadges({ aliases }) {
  if (!aliases || aliases.length === 0) return null;
  return html`<span class="aliases">${aliases.map((alias) => html`<span class="badge alias">@${alias}</span> `)}</span>`;
}
