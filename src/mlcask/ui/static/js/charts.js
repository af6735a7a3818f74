// The metric charts of one or more runs: a chart per metric key in a grid, with one set of controls
// (x axis, smoothing, log scale) and a key filter. Each chart fetches its history only when scrolled
// near the viewport, so a run with 300 metrics does not ask for 300 histories at once.
import { html, useMemo, useState } from "./lib.js";
import { href, withQuery } from "./router.js";
import { Empty } from "./components.js";
import { X_MODES } from "./chart-data.js";
import { MetricChart } from "./chart-plot.js";

export { MetricChart };

// value: {xMode, smoothing, logY}; onChange(next)
export function ChartControls({ value, onChange }) {
  const set = (patch) => onChange({ ...value, ...patch });
  return html`<div class="chart-controls toolbar">
    <label>X axis
      <select value=${value.xMode} onChange=${(e) => set({ xMode: e.target.value })} data-testid="chart-x-mode">
        ${X_MODES.map(([id, label]) => html`<option value=${id}>${label}</option>`)}
      </select>
    </label>
    <label class="chart-smoothing">Smoothing
      <input type="range" min="0" max="0.99" step="0.01" value=${value.smoothing} data-testid="chart-smoothing"
        onInput=${(e) => set({ smoothing: Number(e.target.value) })} />
      <output>${value.smoothing.toFixed(2)}</output>
    </label>
    <label><input type="checkbox" checked=${value.logY} data-testid="chart-log-y"
      onChange=${(e) => set({ logY: e.target.checked })} /> Log scale (y)</label>
  </div>`;
}

export const DEFAULT_CONTROLS = { xMode: "step", smoothing: 0, logY: false };

// Where a metric's own page is: #/metric/<key>?runs=[...]&experiments=[...] (MLflow's form).
export function metricPageLink(metricKey, runs) {
  const experiments = [...new Set(runs.map((r) => String(r.experiment_id)))];
  return withQuery(href("/metric", metricKey), {
    runs: JSON.stringify(runs.map((r) => r.run_id)), experiments: JSON.stringify(experiments),
  });
}

// props: runs [{run_id, run_name, experiment_id}], metricKeys [string]
export function MetricCharts({ runs, metricKeys }) {
  const [controls, setControls] = useState(DEFAULT_CONTROLS);
  const [filter, setFilter] = useState("");
  const keys = useMemo(() => [...new Set(metricKeys || [])].sort(), [metricKeys]);
  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return needle ? keys.filter((k) => k.toLowerCase().includes(needle)) : keys;
  }, [keys, filter]);
  if (!runs || runs.length === 0) return html`<${Empty}>No runs to chart.</${Empty}>`;
  if (keys.length === 0) return html`<${Empty}>No metrics logged.</${Empty}>`;
  return html`<div class="metric-charts">
    <div class="toolbar">
      <input type="search" placeholder="Filter metrics" aria-label="Filter metrics by key" value=${filter}
        data-testid="chart-filter" onInput=${(e) => setFilter(e.target.value)} />
      <span class="muted">${shown.length} of ${keys.length} metrics</span>
    </div>
    <${ChartControls} value=${controls} onChange=${setControls} />
    ${shown.length === 0 && html`<${Empty}>No metric key contains “${filter}”.</${Empty}>`}
    <div class="chart-grid">
      ${shown.map((key) => html`<div class="chart-cell" key=${key}>
        <${MetricChart} metricKey=${key} runs=${runs} ...${controls} />
        <a class="chart-open" href=${metricPageLink(key, runs)}>Open ${key}</a>
      </div>`)}
    </div>
  </div>`;
}
