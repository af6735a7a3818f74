// A run's artifact browser: a folder tree listed lazily (artifacts/list, one folder at a time) and a
// preview of the selected file (text, JSON, YAML/MLmodel, CSV/TSV/Parquet tables, images, HTML in a
// sandboxed frame), always with a download link. The selected path lives in the URL.
import { html, useEffect, useState } from "./lib.js";
import { artifactUrl, mlcask, mlflow, request } from "./api.js";
import { ErrorBanner, HtmlPreview, Loading, Empty, useAsync } from "./components.js";
import { formatBytes } from "./format.js";

// Beyond these sizes a file is not fetched for a preview (only its size and a download link are shown).
export const TEXT_PREVIEW_BYTES = 2 * 1024 * 1024;
export const IMAGE_PREVIEW_BYTES = 25 * 1024 * 1024;
export const HTML_PREVIEW_BYTES = 10 * 1024 * 1024;

const IMAGE = new Set(["png", "jpg", "jpeg", "gif", "webp", "svg"]);
const TABLE = new Set(["csv", "tsv", "parquet", "pq"]);
const TEXT = new Set(["txt", "log", "md", "yaml", "yml", "py", "cfg", "ini", "toml", "xml", "sh", "r", "sql",
  "conf", "properties", "out", "err", "js", "ts", "tex", "rst", "env", "lock", "jsonl"]);
const TEXT_NAMES = new Set(["MLmodel", "LICENSE", "README", "Dockerfile", "Makefile", "requirements.txt"]);

export function baseName(path) {
  return path.split("/").pop();
}

function extension(path) {
  const name = baseName(path);
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
}

// What kind of preview a file gets: "image" | "svg" | "html" | "table" | "json" | "mlmodel" | "text" | null.
export function previewKind(path) {
  const ext = extension(path);
  const name = baseName(path);
  if (name === "MLmodel") return "mlmodel";
  if (ext === "svg") return "svg";
  if (IMAGE.has(ext)) return "image";
  if (ext === "html" || ext === "htm") return "html";
  if (TABLE.has(ext)) return "table";
  if (ext === "json") return "json";
  if (TEXT.has(ext) || TEXT_NAMES.has(name) || ext === "") return "text";
  return null;
}

function sizeLimit(kind) {
  if (kind === "image" || kind === "svg") return IMAGE_PREVIEW_BYTES;
  if (kind === "html") return HTML_PREVIEW_BYTES;
  if (kind === "table") return Infinity; // the server reads only the head (or first row group)
  return TEXT_PREVIEW_BYTES;
}

// The link of an artifact in the run page's URL: each path segment encoded on its own, "/" kept.
export function artifactLink(experimentId, runId, path) {
  const parts = ["#/experiments", experimentId, "runs", runId, "artifacts"].map((p, i) => (i ? encodeURIComponent(p) : p));
  const tail = path ? "/" + path.split("/").map(encodeURIComponent).join("/") : "";
  return parts.join("/") + tail;
}

function parentsOf(path) {
  const parts = (path || "").split("/");
  const parents = [];
  for (let i = 1; i < parts.length; i += 1) parents.push(parts.slice(0, i).join("/"));
  return parents;
}

// One folder's listing, shared by the tree and the preview (to know a file's size).
function useListings(runId, selected) {
  const [listings, setListings] = useState({}); // path ("" for the root) -> {files, error, loading}
  const load = (folder) => {
    setListings((old) => (old[folder] ? old : { ...old, [folder]: { loading: true, files: [] } }));
    mlflow.get("/artifacts/list", { run_id: runId, path: folder || undefined }).then(
      (answer) => setListings((old) => ({ ...old, [folder]: { files: answer.files || [], loading: false } })),
      (error) => setListings((old) => ({ ...old, [folder]: { files: [], error, loading: false } })),
    );
  };
  useEffect(() => { setListings({}); load(""); }, [runId]);
  // Open the folders on the way to the selected file (a link to a deep path).
  useEffect(() => { for (const folder of parentsOf(selected)) if (!listings[folder]) load(folder); }, [selected, runId]);
  return { listings, load };
}

function TreeFolder({ folder, listings, load, expanded, toggle, selected, link, depth }) {
  const listing = listings[folder];
  if (!listing || listing.loading) return html`<${Loading} label="Listing" />`;
  if (listing.error) return html`<${ErrorBanner} error=${listing.error} />`;
  if (listing.files.length === 0) return html`<p class="muted tree-empty">${depth === 0 ? "No artifacts" : "Empty folder"}</p>`;
  // Plain nested lists of buttons (folders, aria-expanded) and links (files): keyboard use is Tab/Enter.
  return html`<ul class="artifact-tree">
    ${listing.files.map((file) => {
      const name = baseName(file.path);
      if (file.is_dir) {
        const open = expanded.has(file.path);
        return html`<li class="tree-folder">
          <button type="button" class="tree-item" data-testid="artifact-folder" data-path=${file.path}
            aria-expanded=${open ? "true" : "false"} aria-label=${`Folder ${name}`}
            onClick=${() => { if (!open && !listings[file.path]) load(file.path); toggle(file.path); }}>
            <span class="tree-icon" aria-hidden="true">${open ? "▾" : "▸"}</span>${name}/</button>
          ${open && html`<${TreeFolder} folder=${file.path} listings=${listings} load=${load} expanded=${expanded}
            toggle=${toggle} selected=${selected} link=${link} depth=${depth + 1} />`}
        </li>`;
      }
      const current = file.path === selected;
      return html`<li>
        <a class=${current ? "tree-item selected" : "tree-item"} href=${link(file.path)} data-testid="artifact-file"
          data-path=${file.path} aria-current=${current ? "true" : undefined}>
          <span class="tree-icon" aria-hidden="true">·</span><span class="tree-name">${name}</span>
          <span class="muted tree-size">${formatBytes(file.file_size)}</span></a>
      </li>`;
    })}
  </ul>`;
}

export function ArtifactBrowser({ runId, experimentId, selected, artifactUri }) {
  const { listings, load } = useListings(runId, selected);
  const [expanded, setExpanded] = useState(() => new Set(parentsOf(selected)));
  useEffect(() => {
    setExpanded((old) => { const next = new Set(old); parentsOf(selected).forEach((p) => next.add(p)); return next; });
  }, [selected]);
  const toggle = (path) => setExpanded((old) => {
    const next = new Set(old);
    if (next.has(path)) next.delete(path); else next.add(path);
    return next;
  });
  const link = (path) => artifactLink(experimentId, runId, path);
  const parent = parentsOf(selected).pop() || "";
  const info = selected && (listings[parent]?.files || []).find((f) => f.path === selected);
  return html`<div class="artifacts">
    <nav class="artifact-nav" aria-label="Artifact files">
      ${artifactUri && html`<p class="muted artifact-root"><span>Root: </span><code>${artifactUri}</code></p>`}
      <${TreeFolder} folder="" listings=${listings} load=${load} expanded=${expanded} toggle=${toggle}
        selected=${selected} link=${link} depth=${0} />
    </nav>
    <section class="artifact-view" aria-label="Preview" data-testid="artifact-view">
      ${!selected && html`<${Empty}>Select a file to preview it.</${Empty}>`}
      ${selected && info && info.is_dir && html`<${Empty}>${selected} is a folder: select one of its files.</${Empty}>`}
      ${selected && info && !info.is_dir && html`<${ArtifactPreview} runId=${runId} path=${selected} size=${info.file_size} />`}
      ${selected && !info && listings[parent] && !listings[parent].loading && html`
        <${ErrorBanner} error=${{ code: "RESOURCE_DOES_NOT_EXIST", message: `No artifact file '${selected}' in this run.` }} />`}
      ${selected && !listings[parent] && html`<${Loading} />`}
    </section>
  </div>`;
}

export function ArtifactPreview({ runId, path, size }) {
  const kind = previewKind(path);
  const download = artifactUrl(runId, path);
  const tooLarge = kind && size !== undefined && size !== null && Number(size) > sizeLimit(kind);
  let body;
  if (!kind) body = html`<${Empty}>No preview for this type of file.</${Empty}>`;
  else if (tooLarge) body = html`<${Empty}>This file (${formatBytes(size)}) is too large to preview here; download it.</${Empty}>`;
  else if (kind === "image") body = html`<img class="artifact-image" src=${download} alt=${baseName(path)} data-testid="artifact-image" />`;
  else if (kind === "svg") body = html`<${SvgPreview} url=${download} path=${path} />`;
  else if (kind === "html") body = html`<${HtmlPreview} runId=${runId} path=${path} />`;
  else if (kind === "table") body = html`<${TablePreview} runId=${runId} path=${path} />`;
  else if (kind === "mlmodel") body = html`<${MlmodelPreview} runId=${runId} path=${path} url=${download} />`;
  else body = html`<${TextPreview} url=${download} json=${kind === "json"} />`;
  return html`<div class="artifact-preview" data-kind=${kind || "none"}>
    <header class="artifact-head">
      <h2 class="artifact-path">${path}</h2>
      <span class="muted">${formatBytes(size)}</span>
      <a class="download" href=${download} download=${baseName(path)} data-testid="artifact-download">Download</a>
    </header>
    ${body}
  </div>`;
}

async function fetchText(url) {
  const response = await request("GET", url, { raw: true });
  return response.text();
}

function TextPreview({ url, json }) {
  const state = useAsync(() => fetchText(url), [url]);
  if (state.loading) return html`<${Loading} />`;
  if (state.error) return html`<${ErrorBanner} error=${state.error} />`;
  let text = state.data;
  let note = null;
  if (json) {
    try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { note = "Not valid JSON: shown as it is."; }
  }
  return html`${note && html`<p class="muted">${note}</p>`}<pre class="artifact-text" data-testid="artifact-text">${text}</pre>`;
}

// An SVG is fetched and shown from a blob: URL typed image/svg+xml (the server sends it as text), as an
// <img>, where an SVG's scripts never run.
function SvgPreview({ url, path }) {
  const [src, setSrc] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    let made = null;
    request("GET", url, { raw: true }).then((r) => r.arrayBuffer()).then((bytes) => {
      if (!live) return;
      made = URL.createObjectURL(new Blob([bytes], { type: "image/svg+xml" }));
      setSrc(made);
    }, (err) => live && setError(err));
    return () => { live = false; if (made) URL.revokeObjectURL(made); };
  }, [url]);
  if (error) return html`<${ErrorBanner} error=${error} />`;
  if (!src) return html`<${Loading} />`;
  return html`<img class="artifact-image" src=${src} alt=${baseName(path)} data-testid="artifact-image" />`;
}

function TablePreview({ runId, path }) {
  const state = useAsync(() => mlcask.get("/artifacts/preview", { run_id: runId, path, max_rows: 100 }), [runId, path]);
  if (state.loading) return html`<${Loading} />`;
  if (state.error) return html`<${ErrorBanner} error=${state.error} />`;
  const table = state.data;
  const total = table.total_rows !== null && table.total_rows !== undefined ? ` of ${table.total_rows}` : "";
  return html`<div>
    <p class="muted">${table.rows.length}${total} rows${table.truncated ? " (first rows only)" : ""}
      ${table.columns_truncated ? `, first ${table.columns.length} columns` : ""}</p>
    <div class="table-wrap artifact-table-wrap">
      <table class="data artifact-table" data-testid="artifact-table">
        <thead><tr>${table.columns.map((name, i) => html`<th scope="col">${String(name)}
          ${table.types && html`<span class="col-type muted">${table.types[i]}</span>`}</th>`)}</tr></thead>
        <tbody>${table.rows.map((row) => html`<tr>${row.map((cell) => html`<td class=${typeof cell === "number" ? "num" : ""}>
          ${cell === null ? html`<span class="muted">null</span>` : String(cell)}</td>`)}</tr>`)}</tbody>
      </table>
    </div>
  </div>`;
}

// An MLmodel: its signature as tables (parsed by the server's preview endpoint), then the YAML itself.
function MlmodelPreview({ runId, path, url }) {
  const state = useAsync(() => mlcask.get("/artifacts/preview", { run_id: runId, path }), [runId, path]);
  const summary = state.data;
  const signature = summary?.signature || {};
  return html`<div class="mlmodel-preview">
    ${state.loading && html`<${Loading} label="Reading the signature" />`}
    ${state.error && html`<${ErrorBanner} error=${state.error} />`}
    ${summary && html`<section class="mlmodel-signature" data-testid="mlmodel-signature">
      ${summary.flavors.length > 0 && html`<p><span class="muted">Flavors: </span>${summary.flavors.join(", ")}</p>`}
      ${!signature.inputs && !signature.outputs && !signature.params && html`<p class="muted">No signature.</p>`}
      <${SpecTable} title="Inputs" rows=${signature.inputs} columns=${SPEC_COLUMNS} />
      <${SpecTable} title="Outputs" rows=${signature.outputs} columns=${SPEC_COLUMNS} />
      <${SpecTable} title="Params" rows=${signature.params} columns=${PARAM_COLUMNS} />
    </section>`}
    <h3 class="mlmodel-yaml-title">MLmodel</h3>
    <${TextPreview} url=${url} json=${false} />
  </div>`;
}

const SPEC_COLUMNS = [["name", "Name"], ["type", "Type"], ["shape", "Shape"], ["required", "Required"]];
const PARAM_COLUMNS = [["name", "Name"], ["type", "Type"], ["default", "Default"], ["shape", "Shape"]];

function SpecTable({ title, rows, columns }) {
  if (!rows) return null;
  const shown = (value) => (value === null || value === undefined ? "" : typeof value === "boolean"
    ? (value ? "yes" : "no") : String(value));
  return html`<h3>${title}</h3><div class="table-wrap"><table class="data spec-table" data-testid=${`signature-${title.toLowerCase()}`}>
    <thead><tr>${columns.map(([, label]) => html`<th scope="col">${label}</th>`)}</tr></thead>
    <tbody>${rows.map((row) => html`<tr>${columns.map(([key]) => html`<td>${shown(row[key])}</td>`)}</tr>`)}</tbody>
  </table></div>`;
}
