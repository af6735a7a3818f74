// A model version's page (#/models/<name>/versions/<v>[/<tab>]): Overview | Signature | Environment | Test, and
// Responsible AI when an evaluation report is known: the mlcask.evaluation.report tag of the version's logged
// model (runs:/<run_id>/<path>), else that of its source run (an artifact path of that run).
import { html } from "./lib.js";
import { mlcask, mlflow } from "./api.js";
import { href, navigate } from "./router.js";
import {
  ErrorBanner, EvaluationReport, KeyValueTable, Loading, Page, REPORT_TAG, Tabs, TagEditor, reportLocation, useAsync,
} from "./components.js";
import { formatTime, tagMap } from "./format.js";
import {
  AliasBadges, DescriptionEditor, EnvironmentSection, InputExample, RunLink, SignatureSection, folderRows,
} from "./model-details.js";
import { TestTab } from "./test-tab.js";
import { endpointsServing } from "./endpoint-api.js";

const TABS = [["overview", "Overview"], ["signature", "Signature"], ["environment", "Environment"], ["test", "Test"]];
const REPORT_TAB = ["evaluation", "Responsible AI"];

// Where the version's evaluation report is ({runId, path}), or null. A missing model or run is no report.
async function findReport(runId, modelId) {
  const quiet = (promise) => promise.catch(() => null);
  const [model, run] = await Promise.all([
    modelId ? quiet(mlflow.get(`/logged-models/${encodeURIComponent(modelId)}`)) : null,
    runId ? quiet(mlflow.get("/runs/get", { run_id: runId })) : null,
  ]);
  return reportLocation(tagMap(model?.model?.info?.tags)[REPORT_TAG], null)
    || reportLocation(tagMap(run?.run?.data?.tags)[REPORT_TAG], runId);
}

function LoggedModelLink({ version }) {
  const { data: experimentId } = useAsync(() => (version.run_id
    ? mlflow.get("/runs/get", { run_id: version.run_id }).then((r) => r.run.info.experiment_id) : null), [version.run_id]);
  if (!version.model_id) return null;
  if (!experimentId) return html`<code>${version.model_id}</code>`;
  return html`<a href=${href("/experiments", experimentId, "models", version.model_id)}>${version.model_id}</a>`;
}

// The endpoints whose deployments serve this version, each with those deployments and their states (none shown
// when the server has no endpoints API).
function ServingEndpoints({ serving }) {
  const byEndpoint = new Map();
  for (const { endpoint, deployment } of serving) {
    byEndpoint.set(endpoint.name, [...(byEndpoint.get(endpoint.name) || []), deployment]);
  }
  return html`<ul class="serving-endpoints" data-testid="serving-endpoints">${[...byEndpoint].map(([name, deployments]) => html`
    <li><a href=${href("/endpoints", name)}>${name}</a>${" "}<span class="muted">(${deployments.map((d, i) => html`${i ? ", " : ""}<code>${d.name}</code> ${d.state}`)})</span></li>`)}
  </ul>`;
}

function Overview({ name, version, details, reload }) {
  const key = { name, version: version.version };
  const { data: serving } = useAsync(() => endpointsServing(name, version.version).catch(() => []), [name, version.version]);
  return html`<div data-testid="version-overview">
    <section class="card"><h2>Version</h2>
      <${KeyValueTable} label="Version" rows=${[
        ["Source run", html`<${RunLink} runId=${version.run_id} />`],
        ["Logged model", version.model_id ? html`<${LoggedModelLink} version=${version} />` : null],
        ["Status", html`<span class=${`status-${version.status}`}>${version.status}</span>`],
        ["Created", formatTime(version.creation_timestamp)],
        ["Last modified", formatTime(version.last_updated_timestamp)],
        ["Aliases", (version.aliases || []).length ? html`<${AliasBadges} aliases=${version.aliases} />` : "none"],
        ["Endpoints", serving && serving.length ? html`<${ServingEndpoints} serving=${serving} />` : null],
        ["Source", html`<code>${version.source}</code>`],
        ...(details ? folderRows(details) : []),
      ]} />
    </section>
    <section class="card"><h2>Description</h2>
      <${DescriptionEditor} text=${version.description}
        onSave=${async (description) => { await mlflow.patch("/model-versions/update", { ...key, description }); reload(); }} />
    </section>
    <section class="card"><h2>Tags</h2>
      <${TagEditor} tags=${version.tags}
        onSet=${async (k, value) => { await mlflow.post("/model-versions/set-tag", { ...key, key: k, value }); reload(); }}
        onDelete=${async (k) => { await mlflow.del("/model-versions/delete-tag", { ...key, key: k }); reload(); }} />
    </section>
    ${details && html`<section class="card"><h2>Input example</h2><${InputExample} details=${details} /></section>`}
  </div>`;
}

export function ModelVersionPage({ name, version, tab = "overview" }) {
  const got = useAsync(() => mlflow.get("/model-versions/get", { name, version }), [name, version]);
  const details = useAsync(() => mlcask.get("/model-versions/details", { name, version }), [name, version]);
  const loaded = got.data && got.data.model_version;
  const report = useAsync(() => (loaded ? findReport(loaded.run_id, loaded.model_id) : null),
    [loaded?.name, loaded?.version, loaded?.run_id, loaded?.model_id]);
  const tabs = report.data || tab === REPORT_TAB[0] ? [...TABS, REPORT_TAB] : TABS;
  const active = tabs.some(([id]) => id === tab) ? tab : "overview";
  const select = (id) => navigate(id === "overview" ? href("/models", name, "versions", version)
    : href("/models", name, "versions", version, id));
  const crumbs = [["Models", "#/models"], [name, href("/models", name)]];
  const title = `${name} · version ${version}`;
  if (got.error) return html`<${Page} title=${title} crumbs=${crumbs}><${ErrorBanner} error=${got.error} /><//>`;
  // useAsync keeps the previous answer while the next loads: show only this version's.
  const mv = got.data && got.data.model_version;
  if (!mv || mv.name !== name || String(mv.version) !== String(version)) return html`<${Loading} />`;
  const info = details.data && details.data.name === name && details.data.version === String(version)
    ? details.data : undefined;
  const needsDetails = active !== "overview" && active !== REPORT_TAB[0];
  let body;
  if (active === "overview") {
    body = html`<${Overview} name=${name} version=${mv} details=${info} reload=${got.reload} />`;
  } else if (active === REPORT_TAB[0]) {
    body = report.loading ? html`<${Loading} label="Looking for the report" />`
      : html`<${EvaluationReport} report=${report.data} />`;
  } else if (!info) {
    body = details.error ? null : html`<${Loading} label="Reading the model" />`;
  } else if (active === "signature") {
    body = html`<${SignatureSection} signature=${info.signature} />`;
  } else if (active === "environment") {
    body = html`<${EnvironmentSection} environment=${info.environment} />`;
  } else {
    // keyed: another version's page must not keep this one's request
    body = html`<${TestTab} key=${`${name}\n${version}`} name=${name} version=${version} details=${info} />`;
  }
  return html`<${Page} title=${title} crumbs=${crumbs}>
    <${Tabs} tabs=${tabs} active=${active} onSelect=${select} label="Model version" />
    <div role="tabpanel" aria-labelledby=${`tab-${active}`}>
      ${(needsDetails || details.error) && html`<${ErrorBanner} error=${details.error} />`}
      ${body}
    </div>
  <//>`;
}
