// A model version's page (#/models/<name>/versions/<v>[/<tab>]): Overview | Signature | Environment | Test.
import { html } from "./lib.js";
import { mlcask, mlflow } from "./api.js";
import { href, navigate } from "./router.js";
import { ErrorBanner, KeyValueTable, Loading, Page, Tabs, TagEditor, useAsync } from "./components.js";
import { formatTime } from "./format.js";
import {
  AliasBadges, DescriptionEditor, EnvironmentSection, InputExample, RunLink, SignatureSection, folderRows,
} from "./model-details.js";
import { TestTab } from "./test-tab.js";

const TABS = [["overview", "Overview"], ["signature", "Signature"], ["environment", "Environment"], ["test", "Test"]];

function LoggedModelLink({ version }) {
  const { data: experimentId } = useAsync(() => (version.run_id
    ? mlflow.get("/runs/get", { run_id: version.run_id }).then((r) => r.run.info.experiment_id) : null), [version.run_id]);
  if (!version.model_id) return null;
  if (!experimentId) return html`<code>${version.model_id}</code>`;
  return html`<a href=${href("/experiments", experimentId, "models", version.model_id)}>${version.model_id}</a>`;
}

function Overview({ name, version, details, reload }) {
  const key = { name, version: version.version };
  return html`<div data-testid="version-overview">
    <section class="card"><h2>Version</h2>
      <${KeyValueTable} label="Version" rows=${[
        ["Source run", html`<${RunLink} runId=${version.run_id} />`],
        ["Logged model", version.model_id ? html`<${LoggedModelLink} version=${version} />` : null],
        ["Status", html`<span class=${`status-${version.status}`}>${version.status}</span>`],
        ["Created", formatTime(version.creation_timestamp)],
        ["Last modified", formatTime(version.last_updated_timestamp)],
        ["Aliases", (version.aliases || []).length ? html`<${AliasBadges} aliases=${version.aliases} />` : "none"],
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
  const active = TABS.some(([id]) => id === tab) ? tab : "overview";
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
  const needsDetails = active !== "overview";
  let body;
  if (active === "overview") {
    body = html`<${Overview} name=${name} version=${mv} details=${info} reload=${got.reload} />`;
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
    <${Tabs} tabs=${TABS} active=${active} onSelect=${select} label="Model version" />
    <div role="tabpanel" aria-labelledby=${`tab-${active}`}>
      ${(needsDetails || details.error) && html`<${ErrorBanner} error=${details.error} />`}
      ${body}
    </div>
  <//>`;
}
