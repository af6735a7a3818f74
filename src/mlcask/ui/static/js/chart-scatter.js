// A scatter plot of runs on two chosen params or metrics (numeric or categorical axes, as in the
// parallel coordinates). Plain SVG: a point per run, hover or focus shows the run and its values.
import { html, useRef, useState } from "./lib.js";
import { formatValue } from "./format.js";
import { runStyle, themeColours, useWidth } from "./chart-data.js";
import { axisScale } from "./chart-parallel.js";

const PAD = { left: 70, right: 20, top: 16, bottom: 46 };

function shorten(text, length = 14) {
  const s = String(text);
  return s.length > length ? `${s.slice(0, length - 1)}…` : s;
}

// runs: [{run_id, run_name, values: {axisId: value}}]; x, y: {id, label}
export function ScatterPlot({ runs, x, y, height = 340 }) {
  const ref = useRef(null);
  const width = Math.max(300, useWidth(ref) || 0);
  const [hovered, setHovered] = useState(null);
  const colours = themeColours();
  const xs = axisScale(runs.map((r) => r.values[x.id]));
  const ys = axisScale(runs.map((r) => r.values[y.id]));
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const px = (pos) => PAD.left + pos * plotW;
  const py = (pos) => PAD.top + (1 - pos) * plotH;
  const placed = runs.map((run, i) => ({ run, i, xp: xs.position(run.values[x.id]), yp: ys.position(run.values[y.id]) }))
    .filter((p) => p.xp !== null && p.yp !== null);
  const hoveredRun = runs.find((r) => r.run_id === hovered);
  return html`<div class="scatter" ref=${ref}>
    <svg class="scatter-svg" data-testid="scatter-plot" width=${width} height=${height} viewBox=${`0 0 ${width} ${height}`}
      role="img" aria-label=${`Scatter plot of ${y.label} against ${x.label}`}>
      <g class="sc-axis">
        <line x1=${PAD.left} x2=${PAD.left + plotW} y1=${PAD.top + plotH} y2=${PAD.top + plotH} />
        <line x1=${PAD.left} x2=${PAD.left} y1=${PAD.top} y2=${PAD.top + plotH} />
        ${xs.ticks.map((t) => html`<text class="sc-tick" x=${px(t.pos)} y=${PAD.top + plotH + 16} text-anchor="middle">${shorten(t.label)}</text>`)}
        ${ys.ticks.map((t) => html`<text class="sc-tick" x=${PAD.left - 6} y=${py(t.pos) + 4} text-anchor="end">${shorten(t.label, 10)}</text>`)}
        <text class="sc-label" x=${PAD.left + plotW / 2} y=${height - 6} text-anchor="middle">${x.label}</text>
        <text class="sc-label" x=${14} y=${PAD.top + plotH / 2} text-anchor="middle"
          transform=${`rotate(-90 14 ${PAD.top + plotH / 2})`}>${y.label}</text>
      </g>
      ${placed.map(({ run, i, xp, yp }) => {
        const { colour } = runStyle(colours, run.index ?? i);
        return html`<circle class=${hovered === run.run_id ? "sc-point active" : "sc-point"} data-testid="scatter-point"
          data-run-id=${run.run_id} cx=${px(xp)} cy=${py(yp)} r=${hovered === run.run_id ? 7 : 5} fill=${colour}
          tabindex="0" onMouseEnter=${() => setHovered(run.run_id)} onMouseLeave=${() => setHovered(null)}
          onFocus=${() => setHovered(run.run_id)} onBlur=${() => setHovered(null)}>
          <title>${run.run_name || run.run_id}</title></circle>`;
      })}
    </svg>
    <p class="sc-readout" aria-live="polite">${hoveredRun
      ? html`<strong>${hoveredRun.run_name || hoveredRun.run_id}</strong> · ${x.label}: ${formatValue(hoveredRun.values[x.id])} · ${y.label}: ${formatValue(hoveredRun.values[y.id])}`
      : html`<span class="muted">${placed.length} of ${runs.length} runs have both values.</span>`}</p>
  </div>`;
}
