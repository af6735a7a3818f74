// An OpenAPI 3 document shown as Swagger shows it: the title and description, then one collapsible block
// per operation (method, path, summary), with its parameters, request body (each media type's schema and
// example) and responses. Schemas are drawn as nested property lists with their $refs resolved. Read only:
// trying a request is the Test tab's job. Everything in the document is shown as text.
import { html } from "./lib.js";
import { Empty } from "./components.js";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const MAX_DEPTH = 6;

// The schema a "#/components/schemas/X" reference points at, or undefined.
function resolveRef(document, ref) {
  if (typeof ref !== "string" || !ref.startsWith("#/")) return undefined;
  let node = document;
  for (const part of ref.slice(2).split("/")) {
    if (node === null || typeof node !== "object") return undefined;
    node = node[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return node;
}

// The type of a schema as one line: "number (double)", "array of string", "string | null", "Params".
export function typeLabel(schema) {
  if (!schema || typeof schema !== "object") return "any";
  if (schema.$ref) return String(schema.$ref).split("/").pop();
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  let text = types.join(" | ");
  if (types.includes("array") && schema.items && !Array.isArray(schema.items)) text = `array of ${typeLabel(schema.items)}`;
  if (schema.format) text += ` (${schema.format})`;
  if (!text && schema.oneOf) text = "one of";
  if (!text && schema.anyOf) text = "any of";
  return text || "any";
}

function Facts({ schema }) {
  const facts = [];
  if (Array.isArray(schema.enum)) facts.push(`one of ${JSON.stringify(schema.enum)}`);
  if (schema.default !== undefined) facts.push(`default ${JSON.stringify(schema.default)}`);
  if (schema.minItems !== undefined) facts.push(`min items ${schema.minItems}`);
  if (schema.maxItems !== undefined) facts.push(`max items ${schema.maxItems}`);
  if (schema.additionalProperties === false) facts.push("no other properties");
  if (facts.length === 0 && !schema.description) return null;
  return html`<span class="schema-facts muted">${schema.description ? ` ${schema.description}` : ""}
    ${facts.length ? ` (${facts.join("; ")})` : ""}</span>`;
}

// A schema as a nested list. seen: the $refs being expanded above (a recursive schema stops there).
export function SchemaView({ document, schema, depth = 0, seen = [] }) {
  if (!schema || typeof schema !== "object") return html`<code class="schema-type">any</code>`;
  if (schema.$ref) {
    const target = resolveRef(document, schema.$ref);
    const name = typeLabel(schema);
    if (!target || seen.includes(schema.$ref) || depth >= MAX_DEPTH) return html`<code class="schema-type">${name}</code>`;
    return html`<span class="schema-ref"><code class="schema-type schema-ref-name">${name}</code>${" = "}<${SchemaView}
      document=${document} schema=${target} depth=${depth + 1} seen=${[...seen, schema.$ref]} /></span>`;
  }
  const alternatives = schema.oneOf || schema.anyOf;
  const properties = schema.properties && typeof schema.properties === "object" ? Object.entries(schema.properties) : [];
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const items = schema.items && typeof schema.items === "object" && !Array.isArray(schema.items) ? schema.items : null;
  const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : null;
  const child = (inner) => html`<${SchemaView} document=${document} schema=${inner} depth=${depth + 1} seen=${seen} />`;
  const deep = depth >= MAX_DEPTH;
  return html`<span class="schema">
    ${!(alternatives && !schema.type) && html`<code class="schema-type">${typeLabel(schema)}</code>`}
    <${Facts} schema=${schema} />
    ${!deep && alternatives && html`<ol class="schema-list schema-alternatives" aria-label=${schema.oneOf ? "One of" : "Any of"}>
      ${alternatives.map((alt) => html`<li>${alt && alt.title ? html`<strong>${alt.title}</strong> ` : ""}${child(alt)}</li>`)}
    </ol>`}
    ${!deep && properties.length > 0 && html`<ul class="schema-list">
      ${properties.map(([key, value]) => html`<li><code class="schema-key">${key}</code>${required.has(key)
        ? html`<span class="schema-required" title="required">*</span>` : ""} ${child(value)}</li>`)}
    </ul>`}
    ${!deep && prefix && html`<ol class="schema-list" start="0" aria-label="Items, in order">
      ${prefix.map((value) => html`<li>${child(value)}</li>`)}</ol>`}
    ${!deep && items && (items.properties || items.$ref || items.oneOf || items.anyOf || items.items)
      && html`<div class="schema-items"><span class="muted">items:</span> ${child(items)}</div>`}
  </span>`;
}

function Parameters({ document, parameters }) {
  if (!Array.isArray(parameters) || parameters.length === 0) return null;
  return html`<h4>Parameters</h4><div class="table-wrap"><table class="data"><thead><tr>
    <th scope="col">Name</th><th scope="col">In</th><th scope="col">Schema</th></tr></thead>
    <tbody>${parameters.map((p) => html`<tr><td><code>${p.name}</code>${p.required ? html`<span class="schema-required">*</span>` : ""}</td>
      <td>${p.in}</td><td><${SchemaView} document=${document} schema=${p.schema} /></td></tr>`)}</tbody>
  </table></div>`;
}

// Each media type's schema (collapsed: its type only, expanded on a click) and example.
function MediaTypes({ document, content, collapsed = false }) {
  const entries = content && typeof content === "object" ? Object.entries(content) : [];
  if (entries.length === 0) return null;
  const schemaOf = (media) => html`<${SchemaView} document=${document} schema=${media && media.schema} />`;
  return html`<ul class="media-types">${entries.map(([type, media]) => html`<li>
    ${collapsed
      ? html`<details class="schema-details"><summary><code class="media-type">${type}</code>${" "}<code
          class="schema-type">${typeLabel(media && media.schema)}</code></summary>${schemaOf(media)}</details>`
      : html`<code class="media-type">${type}</code>${" "}${schemaOf(media)}`}
    ${media && media.example !== undefined && html`<details class="example"><summary>Example</summary>
      <pre data-testid="openapi-example">${JSON.stringify(media.example, null, 2)}</pre></details>`}
  </li>`)}</ul>`;
}

function Operation({ document, path, method, operation, open }) {
  const body = operation.requestBody;
  const responses = operation.responses && typeof operation.responses === "object" ? Object.entries(operation.responses) : [];
  return html`<details class=${`operation method-${method}`} data-testid="openapi-operation" open=${open}>
    <summary><span class="method">${method.toUpperCase()}</span> <code class="op-path">${path}</code>
      <span class="op-summary muted">${operation.summary || ""}</span></summary>
    <div class="operation-body">
      ${operation.description && html`<p>${operation.description}</p>`}
      <${Parameters} document=${document} parameters=${operation.parameters} />
      ${body && html`<h4>Request body${body.required ? " (required)" : ""}</h4>
        ${body.description && html`<p>${body.description}</p>`}
        <${MediaTypes} document=${document} content=${body.content} />`}
      ${responses.length > 0 && html`<h4>Responses</h4><div class="table-wrap"><table class="data responses"><thead><tr>
        <th scope="col">Code</th><th scope="col">Description</th></tr></thead>
        <tbody>${responses.map(([code, response]) => html`<tr><td><code>${code}</code></td><td>
          ${response && response.description}<${MediaTypes} document=${document} content=${response && response.content}
            collapsed=${true} />
        </td></tr>`)}</tbody></table></div>`}
    </div>
  </details>`;
}

// <${OpenApiView} document=${doc} url=${"/endpoints/x/openapi.json"} />: the document's operations, and a
// link to the document itself (for Swagger UI, code generators, Postman).
export function OpenApiView({ document, url }) {
  if (!document || typeof document !== "object") return html`<${Empty}>No OpenAPI document.<//>`;
  const info = document.info || {};
  const paths = document.paths && typeof document.paths === "object" ? Object.entries(document.paths) : [];
  const operations = [];
  for (const [path, item] of paths) {
    for (const method of METHODS) if (item && item[method]) operations.push({ path, method, operation: item[method] });
  }
  // the scoring operation starts open (the first POST), the others closed
  const firstPost = operations.findIndex((op) => op.method === "post");
  return html`<div class="openapi" data-testid="openapi">
    <header class="openapi-head">
      <h2>${info.title || "API"} ${info.version && html`<span class="badge">${info.version}</span>`}
        ${document.openapi && html`<span class="badge">OpenAPI ${document.openapi}</span>`}</h2>
      ${info.description && html`<p class="openapi-description">${info.description}</p>`}
      ${url && html`<p><a href=${url} target="_blank" rel="noopener noreferrer" data-testid="openapi-link">${url}</a></p>`}
    </header>
    ${operations.length === 0 ? html`<${Empty}>The document lists no operations.<//>`
      : operations.map((op, i) => html`<${Operation} document=${document} ...${op} open=${i === firstPost} />`)}
  </div>`;
}

// A column signature ({inputs_kind: "columns", inputs: [{name, type}]}) read back from the document's
// dataframe_split schema, so a form can type its fields; null when the document has none.
const FROM_JSON_TYPE = { number: "double", integer: "long", string: "string", boolean: "boolean" };

export function signatureFromOpenApi(document) {
  const split = resolveRef(document, "#/components/schemas/DataframeSplit");
  const columns = split?.properties?.columns?.items?.enum;
  const kinds = split?.properties?.data?.items?.prefixItems;
  if (!Array.isArray(columns) || !Array.isArray(kinds) || columns.length !== kinds.length) return null;
  const typeOf = (schema) => {
    const types = (Array.isArray(schema?.type) ? schema.type : [schema?.type]).filter((t) => t && t !== "null");
    if (types.length === 0 && Array.isArray(schema?.anyOf)) return typeOf(schema.anyOf[0]);
    return FROM_JSON_TYPE[types[0]] || (types[0] ? "object" : undefined);
  };
  return { inputs_kind: "columns", inputs: columns.map((name, i) => ({ name: String(name), type: typeOf(kinds[i]) })) };
}

// The request example the document gives for POST .../invocations, or undefined.
export function invocationsExample(document) {
  const paths = document && typeof document.paths === "object" && document.paths ? document.paths : {};
  const key = Object.keys(paths).find((path) => /(^|\/)invocations$/.test(path) && paths[path]?.post);
  const media = key ? paths[key].post.requestBody?.content?.["application/json"] : undefined;
  return media ? media.example : undefined;
}
