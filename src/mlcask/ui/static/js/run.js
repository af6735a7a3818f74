// Run page. Being built.
import { html } from "./lib.js";
export function RunPage({ runId }) { return html`<section class="page"><h1>Run ${runId}</h1></section>`; }
