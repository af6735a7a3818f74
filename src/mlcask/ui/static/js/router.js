// Hash routes, in MLflow's URL forms, so the links MLflow clients print ("View run at ...") open the
// right page: /#/experiments/<id>, /#/experiments/<id>/runs/<run_id>, /#/models/<name>/versions/<v>, ...
import { useEffect, useState } from "./lib.js";

// A location: {path: "/experiments/1", query: URLSearchParams}
export function currentLocation() {
  const hash = window.location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = hash.split("?", 2);
  return { path: path || "/", query: new URLSearchParams(search) };
}

export function useLocation() {
  const [location, setLocation] = useState(currentLocation);
  useEffect(() => {
    const update = () => setLocation(currentLocation());
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return location;
}

// Compile "/experiments/:experimentId/runs/:runId" into a matcher of decoded parameters.
export function compile(pattern) {
  const names = [];
  const source = pattern.replace(/:(\w+)(\*)?/g, (_, name, rest) => {
    names.push(name);
    return rest ? "(.*)" : "([^/]+)";
  });
  const regex = new RegExp(`^${source}/?$`);
  return (path) => {
    const match = regex.exec(path);
    if (!match) return null;
    const params = {};
    names.forEach((name, i) => { params[name] = decodeURIComponent(match[i + 1]); });
    return params;
  };
}

// href("/experiments", id, "runs", runId) -> "#/experiments/<id>/runs/<runId>" (each part encoded)
export function href(...parts) {
  const [first, ...rest] = parts;
  return "#" + [first, ...rest.map((part) => encodeURIComponent(String(part)))].join("/");
}

// withQuery("#/compare-runs", {runs: JSON.stringify(ids)})
export function withQuery(link, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null) params.set(key, value);
  const text = params.toString();
  return text ? `${link}?${text}` : link;
}

export function navigate(link) {
  window.location.hash = link.replace(/^#/, "");
}

// Replace the query of the current route without adding a history entry (sort, filter, tab).
export function replaceQuery(query) {
  const { path } = currentLocation();
  const link = withQuery("#" + path, query);
  window.history.replaceState(null, "", link);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}
