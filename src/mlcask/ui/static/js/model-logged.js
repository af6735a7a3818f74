// A logged model's page (#/experiments/<id>/models/<model_id>): its info, params, metrics, tags, artifacts,
// and what its folder says of itself (signature, environment, integrity) from mlcask's logged-models/details.
import { html, useState } from "./lib.js";
import { MLFLOW, mlcask, mlflow } from "./api.js";
import { href } from "./router.js";
import { Empty, ErrorBanner, KeyValueTable, Loading, Page, Tabs, TagEditor, useAsync } from "./components.js";
import { formatBytes, formatTime, formatValue } from "./format.js";
import { EnvironmentSection, InputExample, RunLink, SignatureSection, folderRows } from "./model-details.js";

const TABS = [["overview", "Overview"], ["artifacts", "Artifacts"], ["signature", "Signature"],
  ["environment", "Environment"]];

function fileUrl(modelId, path) {
  return `${MLFLOW}/logged-models/${encodeURIComponent(modelId)}/artifacts/files?artifact_file_path=${encodeURIComponent(path)}`;
}

// One folder of the model's artifacts; sub-folders open in place.
function Folder({ modelId, path }) {
  const { data, error } = useAsync(() => mlflow.get(`/logged-models/${encodeURIComponent(modelId)}/artifacts/directories`,
    path ? { artifact_directory_path: path } : {}), [modelId, path]);
  const [open, setOpen] = useState({});
  if (error) return html`<${ErrorBanner} error=${error} />`;
  if (!data) return html`<${Loading} />`;
  const files = data.files || [];
  if (files.length === 0) return html`<${Empty}>No files.<//>`;
  return html`<ul class="artifact-list" data-testid="model-artifacts">${files.map((f) => {
    const name = f.path.split("/").pop();
    if (f.is_dir) {
      return html`<li><button type="button" class="link" aria-expanded=${open[f.path] ? "true" : "false"}
        onClick=${() => setOpen({ ...open, [f.path]: !open[f.path] })}>${open[f.path] ? "▾" : "▸"} ${name}/</button>
        ${open[f.path] && html`<${Folder} modelId=${modelId} path=${f.path} />`}</li>`;
    }
    return html`<li><a href=${fileUrl(modelId, f.path)} download=${name}>${name}</a>
      <span class="muted"> ${formatBytes(f.file_size)}</span></li>`;
  })}</ul>`;
}

function PairsTable({ items, label, numeric }) {
  if (!items || items.length === 0) return html`<${Empty}>No ${label.toLowerCase()}.<//>`;
  return html`<div class="table-wrap"><table class="data" aria-label=${label}>
    <thead><tr><th scope="col">Name</th><th scope="col">Value</th></tr></thead>
    <tbody>${items.map((item) => html`<tr><td>${item.key}</td>
      <td class=${numeric ? "num" : ""}>${numeric ? formatValue(item.value) : item.value}</td></tr>`)}</tbody>
  </table></div>`;
}

export function LoggedModelPage({ experimentId, modelId }) {
  const got = useAsync(() => mlflow.get(`/logged-models/${encodeURIComponent(modelId)}`), [modelId]);
  const details = useAsync(() => mlcask.get("/logged-models/details", { model_id: modelId }), [modelId]);
  const [tab, setTab] = useState("overview");
  const crumbs = [["Experiments", "#/experiments"], [`Experiment ${experimentId}`, href("/experiments", experimentId)],
    ["Models", href("/experiments", experimentId, "models")]];
  if (got.error) return html`<${Page} title=${modelId} crumbs=${crumbs}><${ErrorBanner} error=${got.error} /><//>`;
  // useAsync keeps the previous answer while the next loads: show only this model's.
  if (!got.data || got.data.model.info.model_id !== modelId) return html`<${Loading} />`;
  const { info, data } = got.data.model;
  const folder = details.data && details.data.model_id === modelId ? details.data : undefined;
  const metrics = (data.metrics || []).map((m) => ({ key: m.key, value: m.value }));
  const setTag = async (key, value) => {
    await mlflow.patch(`/logged-models/${encodeURIComponent(modelId)}/tags`, { tags: [{ key, value }] });
    got.reload();
  };
  const deleteTag = async (key) => {
    await mlflow.del(`/logged-models/${encodeURIComponent(modelId)}/tags/${encodeURIComponent(key)}`);
    got.reload();
  };
  let body;
  if (tab === "overview") {
    body = html`<section class="card"><h2>Model</h2><${KeyValueTable} label="Logged model" rows=${[
        ["Model id", html`<code>${info.model_id}</code>`],
        ["Status", info.status],
        ["Source run", html`<${RunLink} runId=${info.source_run_id} />`],
        ["Model type", info.model_type],
        ["Created", formatTime(info.creation_timestamp_ms)],
        ["Artifact location", html`<code>${info.artifact_uri}</code>`],
        ...(folder ? folderRows(folder) : []),
      ]} /></section>
      <section class="card"><h2>Params</h2><${PairsTable} items=${data.params} label="Params" /></section>
      <section class="card"><h2>Metrics</h2><${PairsTable} items=${metrics} label="Metrics" numeric=${true} /></section>
      <section class="card"><h2>Tags</h2><${TagEditor} tags=${info.tags} onSet=${setTag} onDelete=${deleteTag} /></section>
      ${folder && html`<section class="card"><h2>Input example</h2><${InputExample} details=${folder} /></section>`}`;
  } else if (tab === "artifacts") {
    body = html`<section class="card"><h2>Artifacts</h2><${Folder} modelId=${modelId} path="" /></section>`;
  } else if (!folder) {
    body = details.error ? null : html`<${Loading} label="Reading the model" />`;
  } else if (tab === "signature") {
    body = html`<${SignatureSection} signature=${folder.signature} />`;
  } else {
    body = html`<${EnvironmentSection} environment=${folder.environment} />`;
  }
  return html`<${Page} title=${info.name || modelId} crumbs=${crumbs}>
    <${Tabs} tabs=${TABS} active=${tab} onSelect=${setTab} label="Logged model" />
    <div role="tabpanel" aria-labelledby=${`tab-${tab}`} data-testid="logged-model">
      ${tab !== "artifacts" && html`<${ErrorBanner} error=${details.error} />`}
      ${body}
    </div>
  <//>`;
}
