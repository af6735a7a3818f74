// The endpoint page's traffic editor: a percentage per deployment (whole numbers adding up to 100), a bar
// drawing the split, and Save, which sends the split with endpoints/update. The server changes the routing
// without restarting a worker; its refusal (4xx) is shown with its message. An edit in progress is kept
// while the page refreshes; an unedited form follows what the server says.
import { html, useEffect, useState } from "./lib.js";
import { updateTraffic } from "./endpoint-api.js";
import { Empty, ErrorBanner } from "./components.js";

function fromServer(endpoint, deployments) {
  const traffic = endpoint.traffic || {};
  return Object.fromEntries(deployments.map((d) => [d.name, String(traffic[d.name] ?? 0)]));
}

// The split the form holds, or a sentence saying why it cannot be saved.
export function checkTraffic(values) {
  const traffic = {};
  for (const [name, text] of Object.entries(values)) {
    const value = Number(String(text).trim());
    if (String(text).trim() === "" || !Number.isInteger(value) || value < 0 || value > 100) {
      return { error: `The traffic of deployment '${name}' must be a whole number from 0 to 100, not '${text}'.` };
    }
    traffic[name] = value;
  }
  const total = Object.values(traffic).reduce((a, b) => a + b, 0);
  if (total !== 100) return { error: `The percentages add up to ${total}, not 100.`, total };
  return { traffic, total };
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// The split as a bar of segments (Preact sets the widths through the CSSOM, which the page's CSP allows).
function TrafficBar({ traffic }) {
  const entries = Object.entries(traffic).filter(([, pct]) => pct > 0);
  return html`<div class="traffic-bar" aria-hidden="true">
    ${entries.map(([name, pct], i) => html`<span class=${`traffic-segment segment-${i % 6}`}
      style=${{ width: `${pct}%` }} title=${`${name}: ${pct}%`}>${pct >= 12 ? `${name} ${pct}%` : ""}</span>`)}
  </div>`;
}

export function TrafficEditor({ endpoint, deployments, onSaved }) {
  const initial = fromServer(endpoint, deployments);
  const [values, setValues] = useState(initial);
  const [edited, setEdited] = useState(false);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  // follow the server (a refresh, another user's change) unless the user is editing
  useEffect(() => { if (!edited && !same(values, initial)) setValues(initial); }, [JSON.stringify(initial), edited]);
  if (deployments.length === 0) return html`<${Empty}>No deployments: create one to route traffic to it.<//>`;
  // the form's fields are the deployments there are now (one deleted meanwhile goes, a new one starts at 0)
  const current = Object.fromEntries(deployments.map((d) => [d.name, values[d.name] ?? initial[d.name]]));
  const check = checkTraffic(current);
  const change = (name, text) => { setValues({ ...current, [name]: text }); setEdited(true); setSaved(false); };
  const save = async (event) => {
    event.preventDefault();
    if (check.error) return;
    setBusy(true);
    setError(null);
    try {
      const updated = await updateTraffic(endpoint.name, check.traffic);
      setEdited(false);
      setSaved(true);
      onSaved(updated);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const reset = () => { setValues(initial); setEdited(false); setError(null); };
  const shown = check.traffic || Object.fromEntries(Object.entries(current).map(([k, v]) => [k, Number(v) || 0]));
  return html`<form class="traffic-editor" data-testid="traffic-editor" onSubmit=${save}>
    <${TrafficBar} traffic=${shown} />
    <div class="traffic-fields">
      ${deployments.map((d) => html`<label class="field traffic-field">
        <span>Traffic to <code>${d.name}</code> (%)</span>
        <input type="number" min="0" max="100" step="1" inputmode="numeric" data-testid="traffic-input"
          data-deployment=${d.name} value=${current[d.name]} onInput=${(e) => change(d.name, e.target.value)} />
      </label>`)}
    </div>
    <p class=${check.error ? "warn-text" : "muted"} role="status" data-testid="traffic-total">
      ${check.error || `Total ${check.total}%.`}</p>
    <div class="toolbar">
      <button type="submit" class="primary" data-testid="traffic-save" disabled=${busy || !edited || !!check.error}>
        ${busy ? "Saving…" : "Save traffic"}</button>
      <button type="button" onClick=${reset} disabled=${!edited}>Reset</button>
      ${saved && html`<span class="ok-text" data-testid="traffic-saved">Saved.</span>`}
    </div>
    <${ErrorBanner} error=${error} onDismiss=${() => setError(null)} />
  </form>`;
}
