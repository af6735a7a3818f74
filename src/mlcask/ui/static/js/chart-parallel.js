// Parallel coordinates of runs: an axis per chosen param or metric, one polyline per run, numeric and
// categorical axes, hover (or focus in the legend) shows the run. Plain SVG written here: no lean,
// well-kept npm library draws parallel coordinates without a large dependency (d3 and its modules,
// or a charting suite), and this is ~150 lines.
import { html, useRef, useState } from "./lib.js";
import { formatValue } from "./format.js";
import { runStyle, themeColours, useWidth } from "./chart-data.js";

const PAD = { left: 48, right: 48, top: 36, bottom: 28 };

function asNumber(value) {
  if (value === undefined || value === null || value === "") return null;
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

// How an axis places values: numeric when every value given is a number, else categorical (the
// distinct values, sorted, evenly spaced). position(v) is in [0, 1] (0 = bottom), or null when missing.
export function axisScale(values) {
  const given = values.filter((v) => v !== undefined && v !== null && v !== "");
  const numbers = given.map(asNumber);
  if (given.length > 0 && numbers.every((n) => n !== null)) {
    const min = Math.min(...numbers);
    const max = Math.max(...numbers);
    const position = (v) => {
      const n = asNumber(v);
      if (n === null) return null;
      return max === min ? 0.5 : (n - min) / (max - min);
    };
    const ticks = (max === min ? [min] : [min, (min + max) / 2, max])
      .map((value) => ({ label: formatValue(Number(value.toPrecision(6))), pos: position(value) }));
    return { kind: "numeric", position, ticks };
  }
  const categories = [...new Set(given.map(String))].sort();
  const index = new Map(categories.map((c, i) => [c, i]));
  const position = (v) => {
    if (v === undefined || v === null || v === "" || !index.has(String(v))) return null;
    return categories.length === 1 ? 0.5 : index.get(String(v)) / (categories.length - 1);
  };
  const step = Math.max(1, Math.ceil(categories.length / 12)); // label at most ~12 categories
  const ticks = categories.filter((_, i) => i % step === 0).map((c) => ({ label: c, pos: position(c) }));
  return { kind: "categorical", position, ticks };
}

function shorten(text, length = 24) {
  const s = String(text);
  return s.length > length ? `${s.slice(0, length - 1)}…` : s;
}

// runs: [{run_id, run_name, values: {axisId: value}}]; axes: [{id, label}]
export function ParallelCoordinates({ runs, axes, height = 340 }) {
  const ref = useRef(null);
  const width = Math.max(320, useWidth(ref) || 0);
  const [hovered, setHovered] = useState(null);
  const colours = themeColours();
  const scales = axes.map((axis) => axisScale(runs.map((run) => run.values[axis.id])));
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const xOf = (i) => PAD.left + (axes.length === 1 ? plotW / 2 : (i * plotW) / (axes.length - 1));
  const yOf = (pos) => PAD.top + (1 - pos) * plotH;
  // A missing value breaks the line (the next point starts a new segment).
  const pathOf = (run) => {
    let d = "";
    let pen = "M";
    axes.forEach((axis, i) => {
      const pos = scales[i].position(run.values[axis.id]);
      if (pos === null) { pen = "M"; return; }
      d += `${pen}${xOf(i).toFixed(1)},${yOf(pos).toFixed(1)} `;
      pen = "L";
    });
    return d.trim();
  };
  const hoveredRun = runs.find((r) => r.run_id === hovered);
  return html`<div class="parallel" ref=${ref}>
    <svg class="parallel-svg" data-testid="parallel-coordinates" width=${width} height=${height}
      viewBox=${`0 0 ${width} ${height}`} role="img" aria-label="Parallel coordinates of the runs">
      ${axes.map((axis, i) => html`<g class="pc-axis">
        <line x1=${xOf(i)} x2=${xOf(i)} y1=${PAD.top} y2=${PAD.top + plotH} />
        <text class="pc-axis-label" x=${xOf(i)} y=${PAD.top - 18} text-anchor="middle">${shorten(axis.label)}<title>${axis.label}</title></text>
        ${scales[i].ticks.map((tick) => html`<text class="pc-tick" x=${xOf(i) + 4} y=${yOf(tick.pos) + 4}>${shorten(tick.label, 14)}</text>`)}
      </g>`)}
      ${runs.map((run, i) => {
        const { colour, dash } = runStyle(colours, run.index ?? i);
        const active = hovered === run.run_id;
        return html`<path class=${active ? "pc-line active" : hovered ? "pc-line faded" : "pc-line"}
          data-testid="parallel-line" data-run-id=${run.run_id} d=${pathOf(run)} stroke=${colour}
          stroke-dasharray=${dash ? dash.join(" ") : undefined}
          onMouseEnter=${() => setHovered(run.run_id)} onMouseLeave=${() => setHovered(null)}>
          <title>${run.run_name || run.run_id}</title></path>`;
      })}
    </svg>
    <p class="pc-readout" aria-live="polite" data-testid="parallel-readout">${hoveredRun
      ? html`<strong>${hoveredRun.run_name || hoveredRun.run_id}</strong>${axes.map((axis) => html` · ${axis.label}: ${formatValue(hoveredRun.values[axis.id] ?? "—")}`)}`
      : html`<span class="muted">Hover a line (or focus a run below) to see its values.</span>`}</p>
    <ul class="pc-legend">${runs.map((run, i) => {
      const { colour } = runStyle(colours, run.index ?? i);
      return html`<li><button type="button" class="link" onMouseEnter=${() => setHovered(run.run_id)}
        onMouseLeave=${() => setHovered(null)} onFocus=${() => setHovered(run.run_id)} onBlur=${() => setHovered(null)}>
        <span class="swatch" style=${{ background: colour, borderColor: colour }} aria-hidden="true"></span>${run.run_name || run.run_id}
      </button></li>`;
    })}</ul>
  </div>`;
}
