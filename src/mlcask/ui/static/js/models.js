// Registered models, model, model version (with the Test tab) and logged model pages. Being built.
import { html } from "./lib.js";
export function ModelsPage() { return html`<section class="page"><h1>Models</h1></section>`; }
export function ModelPage({ name }) { return html`<section class="page"><h1>Model ${name}</h1></section>`; }
export function ModelVersionPage({ name, version }) { return html`<section class="page"><h1>${name} v${version}</h1></section>`; }
export function LoggedModelPage({ modelId }) { return html`<section class="page"><h1>Logged model ${modelId}</h1></section>`; }
