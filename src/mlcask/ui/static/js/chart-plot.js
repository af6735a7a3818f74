// One metric's line chart (uPlot): several runs overlaid, a colour per run, smoothing with the raw line
// kept faint, log y, step / relative / wall-time x, drag to zoom (the zoomed step range is fetched
// again for detail), a legend with the value under the cursor. Fetches only once scrolled into view.
import uPlot from "../vendor/uplot.mjs";
import { html, useEffect, useRef, useState } from "./lib.js";
import { href } from "./router.js";
import { formatValue } from "./format.js";
import { ErrorBanner } from "./components.js";
import {
  buildTable, fetchHistories, runStyle, stepRange, themeColours, useSeen, useThemeGeneration, useWidth,
} from "./chart-data.js";

function formatX(xMode, value) {
  if (value === null || value === undefined) return "";
  if (xMode === "wall") return new Date(value * 1000).toLocaleString();
  if (xMode === "relative") return `${formatValue(Number(value.toFixed(3)))} s`;
  return formatValue(value);
}

function plotOptions({ width, height, table, runs, xMode, logY, colours, onSelect, onCursor }) {
  const series = [{ label: xMode }];
  for (const meta of table.series) {
    const { colour, dash } = runStyle(colours, meta.runIndex);
    series.push({
      label: runs[meta.runIndex].run_name || runs[meta.runIndex].run_id,
      stroke: colour, width: meta.raw ? 1 : 1.5, alpha: meta.raw ? 0.3 : 1, spanGaps: true, dash: dash || undefined,
      points: { show: false },
    });
  }
  const axis = { stroke: colours.muted, grid: { stroke: colours.border, width: 1 }, ticks: { stroke: colours.border } };
  return {
    width, height, series, legend: { show: false },
    scales: { x: { time: xMode === "wall" }, y: logY ? { distr: 3, log: 10 } : {} },
    axes: [{ ...axis }, { ...axis, size: 60, values: (u, ticks) => ticks.map((t) => formatValue(t)) }],
    cursor: { drag: { x: true, y: false, setScale: true }, points: { show: false } },
    hooks: { setSelect: [onSelect], setCursor: [onCursor] },
  };
}

// The legend: a swatch and the run name (a link to the run) per run, and the value under the cursor.
function Legend({ runs, colours, valueRefs, xRef }) {
  return html`<div class="chart-legend">
    <span class="chart-legend-x muted" ref=${xRef}></span>
    ${runs.map((run, i) => {
      const { colour, dash } = runStyle(colours, i);
      return html`<span class="chart-legend-item">
        <span class=${dash ? "swatch dashed" : "swatch"} style=${{ borderColor: colour, background: dash ? "transparent" : colour }}
          aria-hidden="true"></span>
        <a href=${href("/experiments", run.experiment_id, "runs", run.run_id)}>${run.run_name || run.run_id}</a>
        <span class="chart-legend-value" ref=${(el) => { valueRefs.current[i] = el; }}></span>
      </span>`;
    })}
  </div>`;
}

function useHistories({ seen, runs, metricKey, width, zoom }) {
  const [state, setState] = useState({ histories: null, error: null, loading: false });
  // About one value per 2 px: the min/max sampling keeps each bucket's low and high, so the line still draws
  // the whole envelope, at half the values to fetch and to parse.
  const points = Math.max(100, Math.round((width || 800) / 200) * 100);
  const ids = runs.map((r) => r.run_id).join(",");
  useEffect(() => {
    if (!seen || !width) return undefined;
    const controller = new AbortController();
    setState((old) => ({ ...old, loading: true, error: null }));
    fetchHistories({ runIds: runs.map((r) => r.run_id), metricKey, maxResults: points,
      startStep: zoom ? zoom[0] : undefined, endStep: zoom ? zoom[1] : undefined, signal: controller.signal })
      .then((histories) => setState({ histories, error: null, loading: false }),
        (error) => { if (error.name !== "AbortError") setState({ histories: null, error, loading: false }); });
    return () => controller.abort();
  }, [seen, ids, metricKey, points, zoom && zoom.join(":")]);
  return state;
}

// props: metricKey, runs [{run_id, run_name, experiment_id}], xMode, smoothing (0..0.99), logY, height
export function MetricChart({ metricKey, runs, xMode = "step", smoothing = 0, logY = false, height = 260 }) {
  const box = useRef(null);
  const plotRef = useRef(null);
  const plot = useRef(null);
  const valueRefs = useRef([]);
  const xRef = useRef(null);
  const seen = useSeen(box);
  const width = useWidth(plotRef);
  const theme = useThemeGeneration();
  const [zoom, setZoom] = useState(null); // [startStep, endStep] or null
  const [drawn, setDrawn] = useState(null); // the histories the plot shows
  const { histories, error, loading } = useHistories({ seen, runs, metricKey, width, zoom });
  const colours = themeColours();
  const hasPoints = histories && Object.values(histories).some((h) => h.steps.length > 0);

  // (Re)draw when the data or a control changes: uPlot's scales and series are fixed at creation.
  useEffect(() => {
    const el = plotRef.current;
    if (!el || !histories || !width) return undefined;
    const table = buildTable(uPlot.join, histories, runs.map((r) => r.run_id), { xMode, smoothing, logY });
    const onSelect = (u) => {
      if (u.select.width < 2) return;
      const x0 = u.posToVal(u.select.left, "x");
      const x1 = u.posToVal(u.select.left + u.select.width, "x");
      const range = xMode === "step" ? [Math.floor(x0), Math.ceil(x1)] : stepRange(histories, xMode, x0, x1);
      u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
      if (range) setZoom(range);
    };
    const onCursor = (u) => {
      const idx = u.cursor.idx;
      if (xRef.current) xRef.current.textContent = idx === null || idx === undefined ? "" : formatX(xMode, u.data[0][idx]);
      runs.forEach((_, runIndex) => {
        const cell = valueRefs.current[runIndex];
        if (!cell) return;
        const s = table.series.findIndex((m) => m.runIndex === runIndex && !m.raw);
        const value = idx === null || idx === undefined || s < 0 ? null : u.data[s + 1][idx];
        cell.textContent = value === null || value === undefined ? "" : formatValue(value);
      });
    };
    const started = performance.now();
    const u = new uPlot(plotOptions({ width, height, table, runs, xMode, logY, colours, onSelect, onCursor }),
      table.data, el);
    u.over.addEventListener("dblclick", () => setZoom(null));
    plot.current = u;
    // For tests and the benchmark: the uPlot instance, what was fetched, and how long drawing took.
    box.current.__uplot = u;
    box.current.__chartData = { histories, table };
    box.current.dataset.drawMs = String(Math.round(performance.now() - started));
    setDrawn(histories);
    return () => { u.destroy(); plot.current = null; };
  }, [histories, xMode, smoothing, logY, height, theme, hasPoints]);

  // Resize with the container, without redrawing from scratch.
  useEffect(() => {
    if (plot.current && width) plot.current.setSize({ width, height });
  }, [width]);

  return html`<div class="metric-chart" data-testid="metric-chart" data-metric-key=${metricKey}
      data-ready=${drawn && drawn === histories && !loading ? "true" : "false"}
      ref=${box}>
    <div class="chart-head">
      <h3 class="chart-title">${metricKey}</h3>
      ${loading && html`<span class="muted chart-status" role="status">Loading…</span>`}
      ${zoom && html`<button type="button" class="link" onClick=${() => setZoom(null)}>
        Reset zoom (steps ${zoom[0]}–${zoom[1]})</button>`}
    </div>
    <${ErrorBanner} error=${error} />
    ${histories && !hasPoints && html`<p class="muted chart-empty">No values of ${metricKey} in these runs${zoom ? " in this range" : ""}.</p>`}
    <div class="chart-plot" ref=${plotRef} aria-label=${`Chart of ${metricKey}`} role="img"></div>
    <${Legend} runs=${runs} colours=${colours} valueRefs=${valueRefs} xRef=${xRef} />
  </div>`;
}
