// How values are shown: times, durations, metric values. One place, so every page agrees.

export function formatTime(ms) {
  if (ms === undefined || ms === null || ms === "" || Number(ms) <= 0) return "";
  const date = new Date(Number(ms));
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function formatDuration(startMs, endMs) {
  if (!startMs) return "";
  const end = endMs ? Number(endMs) : Date.now();
  let seconds = Math.max(0, (end - Number(startMs)) / 1000);
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  seconds = Math.round(seconds % 60);
  if (minutes < 60) return `${minutes}min ${seconds}s`;
  const hours = Math.floor(minutes / 60);
  return `${hours}h ${minutes % 60}min`;
}

export function formatValue(value) {
  if (value === undefined || value === null) return "";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return String(value);
    if (Number.isInteger(value)) return String(value);
    const abs = Math.abs(value);
    return abs !== 0 && (abs < 1e-4 || abs >= 1e9) ? value.toExponential(4) : String(Number(value.toPrecision(6)));
  }
  return String(value);
}

export function formatBytes(size) {
  const n = Number(size);
  if (!Number.isFinite(n)) return "";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(1)} ${units[unit]}`;
}

// A run's or model's tags as a plain object ({key: value}), from MLflow's [{key, value}] lists.
export function tagMap(list) {
  const out = {};
  for (const item of list || []) out[item.key] = item.value;
  return out;
}
