// Compare runs and metric pages. Being built.
import { html } from "./lib.js";
export function ComparePage() { return html`<section class="page"><h1>Compare runs</h1></section>`; }
export function MetricPage({ metricKey }) { return html`<section class="page"><h1>Metric ${metricKey}</h1></section>`; }
