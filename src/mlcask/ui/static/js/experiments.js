// Experiments list and experiment page (runs table, logged models). Being built.
import { html } from "./lib.js";
export function ExperimentsPage() { return html`<section class="page"><h1>Experiments</h1></section>`; }
export function ExperimentPage({ experimentId }) { return html`<section class="page"><h1>Experiment ${experimentId}</h1></section>`; }
