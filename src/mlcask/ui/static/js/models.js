// The model registry's pages: registered models (search, paged) and one registered model (description,
// tags, aliases, versions, rename, delete). The version page (with the Test tab) is in model-version.js,
// the logged model page in model-logged.js; app.js imports all four from here.
import { html, useState } from "./lib.js";
import { mlflow, allPages } from "./api.js";
import { href, navigate, replaceQuery } from "./router.js";
import {
  ConfirmButton, Empty, ErrorBanner, FormDialog, Loading, Page, TagEditor, useAsync,
} from "./components.js";
import { formatTime } from "./format.js";
import { AliasBadges, DescriptionEditor, RunLink } from "./model-details.js";

export { ModelVersionPage } from "./model-version.js";
export { LoggedModelPage } from "./model-logged.js";

const PAGE_SIZE = 25;

// A filter string literal (MLflow's search syntax): quoted so that the value cannot end it early.
export function quoted(value) {
  const text = String(value);
  if (!text.includes("'")) return `'${text}'`;
  if (!text.includes('"')) return `"${text}"`;
  return `'${text.replaceAll("'", "\\'")}'`;
}

export function ModelsPage({ query }) {
  const search = query.get("q") || "";
  const [text, setText] = useState(search);
  // The page token of each page seen so far, for this search (back/forward may change the search).
  const [paging, setPaging] = useState({ search, tokens: [undefined] });
  const tokens = paging.search === search ? paging.tokens : [undefined];
  const setTokens = (next) => setPaging({ search, tokens: next });
  const token = tokens[tokens.length - 1];
  const { data, error, loading } = useAsync(() => mlflow.get("/registered-models/search", {
    filter: search ? `name ILIKE ${quoted(`%${search}%`)}` : undefined, max_results: PAGE_SIZE,
    order_by: "name ASC", page_token: token,
  }), [search, token]);
  const submit = (event) => {
    event.preventDefault();
    setPaging({ search: text, tokens: [undefined] });
    replaceQuery(text ? { q: text } : {});
  };
  const models = (data && data.registered_models) || [];
  return html`<${Page} title="Registered models">
    <form class="toolbar" role="search" onSubmit=${submit}>
      <label class="visually-hidden" for="model-search">Filter models by name</label>
      <input id="model-search" type="search" placeholder="Filter by name" value=${text}
        onInput=${(e) => setText(e.target.value)} />
      <button type="submit">Search</button>
    </form>
    <${ErrorBanner} error=${error} />
    ${loading && !data && html`<${Loading} />`}
    ${data && models.length === 0 && html`<${Empty}>${search ? `No model name contains “${search}”.` : "No registered models yet."}<//>`}
    ${models.length > 0 && html`<div class="table-wrap"><table class="data models-table" aria-label="Registered models">
      <thead><tr><th scope="col">Name</th><th scope="col">Latest version</th><th scope="col">Aliases</th>
        <th scope="col">Last modified</th><th scope="col">Description</th></tr></thead>
      <tbody>${models.map((model) => {
        const latest = (model.latest_versions || []).reduce((best, v) => (!best || Number(v.version) > Number(best.version) ? v : best), null);
        return html`<tr data-testid="model-row">
          <td><a href=${href("/models", model.name)}>${model.name}</a></td>
          <td>${latest && html`<a href=${href("/models", model.name, "versions", latest.version)}>Version ${latest.version}</a>`}</td>
          <td>${(model.aliases || []).map((a) => html`<span class="badge alias">@${a.alias}: v${a.version}</span> `)}</td>
          <td>${formatTime(model.last_updated_timestamp || model.creation_timestamp)}</td>
          <td class="description-cell">${model.description || ""}</td>
        </tr>`;
      })}</tbody></table></div>`}
    <nav class="toolbar pager" aria-label="Pages">
      <button type="button" disabled=${tokens.length === 1} onClick=${() => setTokens(tokens.slice(0, -1))}>Previous</button>
      <span class="muted">Page ${tokens.length}</span>
      <button type="button" disabled=${!data || !data.next_page_token}
        onClick=${() => setTokens([...tokens, data.next_page_token])}>Next</button>
    </nav>
  <//>`;
}

function AliasEditor({ name, model, versions, onChange }) {
  const [editing, setEditing] = useState(null); // {alias, version, existing}
  const [error, setError] = useState(null);
  const remove = async (alias) => {
    setError(null);
    try {
      await mlflow.del("/registered-models/alias", { name, alias });
      onChange();
    } catch (err) { setError(err); }
  };
  const aliases = model.aliases || [];
  return html`<div class="alias-editor">
    <table class="data" aria-label="Aliases" data-testid="aliases"><thead><tr><th scope="col">Alias</th>
      <th scope="col">Version</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>
      ${aliases.length === 0 && html`<tr><td colspan="3" class="muted">No aliases</td></tr>`}
      ${aliases.map(({ alias, version }) => html`<tr data-testid="alias-row">
        <td class="alias-name">@${alias}</td>
        <td><a href=${href("/models", name, "versions", version)}>Version ${version}</a></td>
        <td class="row-actions">
          <button type="button" class="link" aria-label=${`Move alias ${alias}`}
            onClick=${() => setEditing({ alias, version, existing: true })}>Move</button>
          <button type="button" class="link danger" aria-label=${`Delete alias ${alias}`}
            onClick=${() => remove(alias)}>Delete</button>
        </td></tr>`)}
    </tbody></table>
    <button type="button" onClick=${() => setEditing({ alias: "", version: versions.length ? versions[0].version : "" })}>Add alias</button>
    <${ErrorBanner} error=${error} onDismiss=${() => setError(null)} />
    ${editing && html`<${FormDialog} title=${editing.existing ? `Move alias ${editing.alias}` : "Add alias"}
      fields=${[{ name: "alias", label: "Alias", value: editing.alias }, { name: "version", label: "Version", value: editing.version }]}
      onSubmit=${async (values) => {
        await mlflow.post("/registered-models/alias", { name, alias: values.alias, version: values.version });
        if (editing.existing && values.alias !== editing.alias) await mlflow.del("/registered-models/alias", { name, alias: editing.alias });
        onChange();
      }} onClose=${() => setEditing(null)} />`}
  </div>`;
}

function VersionsTable({ name, versions }) {
  if (versions.length === 0) return html`<${Empty}>No versions.<//>`;
  return html`<div class="table-wrap"><table class="data" aria-label="Versions" data-testid="versions">
    <thead><tr><th scope="col">Version</th><th scope="col">Status</th><th scope="col">Aliases</th>
      <th scope="col">Created</th><th scope="col">Source run</th><th scope="col">Description</th></tr></thead>
    <tbody>${versions.map((v) => html`<tr data-testid="version-row">
      <td><a href=${href("/models", name, "versions", v.version)}>Version ${v.version}</a></td>
      <td>${v.status}</td><td><${AliasBadges} aliases=${v.aliases} /></td>
      <td>${formatTime(v.creation_timestamp)}</td><td><${RunLink} runId=${v.run_id} /></td>
      <td class="description-cell">${v.description || ""}</td>
    </tr>`)}</tbody></table></div>`;
}

export function ModelPage({ name }) {
  const model = useAsync(() => mlflow.get("/registered-models/get", { name }), [name]);
  const versions = useAsync(() => allPages((token) => mlflow.get("/model-versions/search", {
    filter: `name = ${quoted(name)}`, max_results: 1000, page_token: token,
  }), "model_versions"), [name]);
  const [renaming, setRenaming] = useState(false);
  const reload = () => { model.reload(); versions.reload(); };
  if (model.error) return html`<${Page} title=${name} crumbs=${[["Models", "#/models"]]}><${ErrorBanner} error=${model.error} /><//>`;
  // useAsync keeps the previous answer while the next loads: show only this model's.
  if (!model.data || model.data.registered_model.name !== name) return html`<${Loading} />`;
  const registered = model.data.registered_model;
  const list = [...(versions.data || [])].sort((a, b) => Number(b.version) - Number(a.version));
  const actions = html`<button type="button" onClick=${() => setRenaming(true)}>Rename</button>
    <${ConfirmButton} label="Delete model" className="danger"
      question=${`Delete the registered model ${name} and all its versions? This cannot be undone.`}
      onConfirm=${async () => { await mlflow.del("/registered-models/delete", { name }); navigate("#/models"); }} />`;
  return html`<${Page} title=${name} crumbs=${[["Models", "#/models"]]} actions=${actions}>
    <section class="card"><h2>Description</h2>
      <${DescriptionEditor} text=${registered.description}
        onSave=${async (description) => { await mlflow.patch("/registered-models/update", { name, description }); model.reload(); }} />
    </section>
    <section class="card"><h2>Aliases</h2>
      <${AliasEditor} name=${name} model=${registered} versions=${list} onChange=${reload} /></section>
    <section class="card"><h2>Versions</h2>
      <${ErrorBanner} error=${versions.error} />
      ${versions.loading && !versions.data ? html`<${Loading} />` : html`<${VersionsTable} name=${name} versions=${list} />`}
    </section>
    <section class="card"><h2>Tags</h2>
      <${TagEditor} tags=${registered.tags}
        onSet=${async (key, value) => { await mlflow.post("/registered-models/set-tag", { name, key, value }); model.reload(); }}
        onDelete=${async (key) => { await mlflow.del("/registered-models/delete-tag", { name, key }); model.reload(); }} />
    </section>
    ${renaming && html`<${FormDialog} title=${`Rename ${name}`} submitLabel="Rename"
      fields=${[{ name: "new_name", label: "New name", value: name }]}
      onSubmit=${async (values) => {
        await mlflow.post("/registered-models/rename", { name, new_name: values.new_name });
        navigate(href("/models", values.new_name));
      }} onClose=${() => setRenaming(false)} />`}
  <//>`;
}
