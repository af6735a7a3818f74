// What the metric charts draw: histories fetched with mlcask's min/max sampling, turned into uPlot's
// aligned table (x values, then one y array per series), smoothing, and the colours of the theme.
import { mlflow } from "./api.js";
import { useEffect, useState } from "./lib.js";

// get-history-bulk-interval takes at most 100 runs and 2500 values per run a call.
export const MAX_RUNS_PER_CALL = 100;
export const MAX_POINTS_PER_RUN = 2500;
export const X_MODES = [["step", "Step"], ["relative", "Relative time"], ["wall", "Wall time"]];

function chunks(items, size) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// {runId: {steps, times, values}} for one metric. sampling=min_max keeps each step bucket's smallest
// and largest values, so a spike survives however long the history; a step range gives a zoom's detail.
export async function fetchHistories({ runIds, metricKey, maxResults, startStep, endStep, signal }) {
  const points = Math.max(4, Math.min(MAX_POINTS_PER_RUN, Math.round(maxResults || 1000)));
  const answers = await Promise.all(chunks(runIds, MAX_RUNS_PER_CALL).map((ids) => mlflow.get(
    "/metrics/get-history-bulk-interval",
    { run_ids: ids, metric_key: metricKey, max_results: points, sampling: "min_max",
      start_step: startStep, end_step: endStep },
    { signal })));
  const histories = {};
  for (const id of runIds) histories[id] = { steps: [], times: [], values: [] };
  for (const answer of answers) {
    for (const m of answer.metrics || []) {
      const history = histories[m.run_id];
      if (!history) continue;
      history.steps.push(Number(m.step || 0));
      history.times.push(Number(m.timestamp || 0));
      history.values.push(typeof m.value === "number" ? m.value : Number(m.value));
    }
  }
  return histories;
}

// The x value of each point: the step, seconds since the run's first value, or the wall clock (seconds).
function xValues(history, xMode) {
  if (xMode === "step") return history.steps;
  if (xMode === "wall") return history.times.map((t) => t / 1000);
  const first = history.times.length ? Math.min(...history.times) : 0;
  return history.times.map((t) => (t - first) / 1000);
}

// One [xs, ys] per run, x strictly increasing: values sharing an x (a batch logged at one timestamp)
// keep the one farthest from the previous value, so a spike is not averaged away.
export function runSeries(history, xMode) {
  const xs = xValues(history, xMode);
  const order = xs.map((_, i) => i);
  order.sort((a, b) => xs[a] - xs[b] || history.steps[a] - history.steps[b] || history.times[a] - history.times[b]);
  const outX = [];
  const outY = [];
  for (const i of order) {
    const x = xs[i];
    const y = Number.isFinite(history.values[i]) ? history.values[i] : null;
    const last = outX.length - 1;
    if (last >= 0 && outX[last] === x) {
      const before = last > 0 ? outY[last - 1] : outY[last];
      if (y !== null && (outY[last] === null || Math.abs(y - before) > Math.abs(outY[last] - before))) outY[last] = y;
    } else {
      outX.push(x);
      outY.push(y);
    }
  }
  return [outX, outY];
}

// TensorBoard's debiased exponential moving average (weight 0 = raw; 0.99 = very smooth).
export function smooth(values, weight) {
  if (!weight) return values;
  const out = new Array(values.length);
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) { out[i] = null; continue; }
    last = last * weight + (1 - weight) * v;
    count += 1;
    out[i] = last / (1 - weight ** count);
  }
  return out;
}

// A log axis shows positive values only.
function positive(values) {
  return values.map((v) => (v !== null && v > 0 ? v : null));
}

// Aligns the runs on one x axis (uPlot.join): data = [xs, (raw, smoothed?) per run], and which series
// is which: [{runIndex, raw}].
export function buildTable(join, histories, runIds, { xMode = "step", smoothing = 0, logY = false } = {}) {
  const tables = [];
  const series = [];
  runIds.forEach((id, runIndex) => {
    const history = histories[id];
    if (!history || history.steps.length === 0) return;
    const [xs, ys] = runSeries(history, xMode);
    const raw = logY ? positive(ys) : ys;
    if (smoothing > 0) {
      tables.push([xs, raw, logY ? positive(smooth(ys, smoothing)) : smooth(ys, smoothing)]);
      series.push({ runIndex, raw: true }, { runIndex, raw: false });
    } else {
      tables.push([xs, raw]);
      series.push({ runIndex, raw: false });
    }
  });
  if (tables.length === 0) return { data: [[]], series: [] };
  return { data: tables.length === 1 ? tables[0] : join(tables), series };
}

// The step range [from, to] of the points whose x lies in [x0, x1] (a zoom in time modes becomes a
// step range for the server). null when no point is inside.
export function stepRange(histories, xMode, x0, x1) {
  let from = Infinity;
  let to = -Infinity;
  for (const history of Object.values(histories)) {
    const xs = xValues(history, xMode);
    for (let i = 0; i < xs.length; i++) {
      if (xs[i] >= x0 && xs[i] <= x1) {
        from = Math.min(from, history.steps[i]);
        to = Math.max(to, history.steps[i]);
      }
    }
  }
  return from <= to ? [Math.floor(from), Math.ceil(to)] : null;
}

// The theme's colours, read from the CSS variables (so light and dark, and any override, agree).
export function themeColours() {
  const style = getComputedStyle(document.documentElement);
  const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  const runs = [];
  for (let i = 1; i <= 10; i++) runs.push(read(`--chart-${i}`, "#1f77b4"));
  return { runs, fg: read("--fg", "#1b1f24"), muted: read("--fg-muted", "#5a6472"), border: read("--border", "#d3d9e2"),
    bg: read("--bg", "#ffffff") };
}

// The colour (and, past ten runs, the dash pattern) of the i-th run.
export function runStyle(colours, index) {
  const dashes = [null, [8, 4], [2, 3], [10, 3, 2, 3]];
  return { colour: colours.runs[index % colours.runs.length], dash: dashes[Math.floor(index / 10) % dashes.length] };
}

// Bumps when the theme changes (the switch sets data-theme; "auto" follows the system), to redraw.
export function useThemeGeneration() {
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const bump = () => setGeneration((n) => n + 1);
    const observer = new MutationObserver(bump);
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    const media = window.matchMedia("(prefers-color-scheme: dark)");
    media.addEventListener("change", bump);
    return () => { observer.disconnect(); media.removeEventListener("change", bump); };
  }, []);
  return generation;
}

// The width of an element, kept up to date (ResizeObserver).
export function useWidth(ref) {
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    setWidth(el.clientWidth);
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return width;
}

// true once the element has come near the viewport (IntersectionObserver): charts fetch only then.
export function useSeen(ref, margin = "300px") {
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el || seen) return undefined;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) { setSeen(true); observer.disconnect(); }
    }, { rootMargin: margin });
    observer.observe(el);
    return () => observer.disconnect();
  }, [seen]);
  return seen;
}
