// Metric charts (uPlot). Being built.
import { html } from "./lib.js";
export function MetricCharts() { return html`<div class="charts"></div>`; }
