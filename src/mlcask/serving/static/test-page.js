// The mlcask test page: send the request editor's JSON to /invocations and show the answer.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var endpoint = document.body.getAttribute("data-invocations") || "/invocations";
  var request = $("request"), send = $("send"), result = $("result");
  var statusEl = $("status"), latencyEl = $("latency"), errorEl = $("error"), responseEl = $("response");
  var localError = $("local-error");

  // Two-space indented JSON, except that a list of scalars (a row) stays on one line.
  function prettyValue(value, indent) {
    var pad = new Array(indent + 1).join(" "), inner = pad + "  ";
    if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
      return "{\n" + Object.keys(value).map(function (k) {
        return inner + JSON.stringify(k) + ": " + prettyValue(value[k], indent + 2);
      }).join(",\n") + "\n" + pad + "}";
    }
    if (Array.isArray(value) && value.some(function (v) { return v !== null && typeof v === "object"; })) {
      return "[\n" + value.map(function (v) { return inner + prettyValue(v, indent + 2); }).join(",\n") +
        "\n" + pad + "]";
    }
    if (Array.isArray(value)) {
      return "[" + value.map(function (v) { return JSON.stringify(v); }).join(", ") + "]";
    }
    return JSON.stringify(value);
  }
  function pretty(text) {
    try { return prettyValue(JSON.parse(text), 0); } catch (e) { return text; }
  }

  function errorMessage(status, text) {
    // MLflow's error body: {"error_code": "...", "message": "..."}; anything else is shown as is.
    try {
      var body = JSON.parse(text);
      if (body && typeof body === "object" && !Array.isArray(body)) {
        var code = body.error_code || "";
        var msg = body.message || body.detail || body.error || "";
        if (typeof msg !== "string") { msg = JSON.stringify(msg, null, 2); }
        return { code: code, message: msg || text };
      }
    } catch (e) { /* not JSON */ }
    return { code: "", message: text || "(empty response)" };
  }

  function show(status, statusText, ms, text) {
    result.hidden = false;
    var ok = status >= 200 && status < 300;
    result.className = "result " + (ok ? "ok" : "failed");
    statusEl.textContent = status ? (status + " " + (statusText || "")) : "network error";
    latencyEl.textContent = ms.toFixed(1);
    responseEl.textContent = pretty(text);
    if (ok) {
      errorEl.hidden = true;
      errorEl.textContent = "";
    } else {
      var err = status ? errorMessage(status, text) : { code: "", message: text };
      errorEl.hidden = false;
      errorEl.textContent = "";
      var head = document.createElement("strong");
      head.textContent = (status ? "Error " + status : "Request failed") + (err.code ? " · " + err.code : "");
      var body = document.createElement("div");
      body.className = "error-message";
      body.textContent = err.message;
      errorEl.appendChild(head);
      errorEl.appendChild(body);
    }
  }

  function checkJson() {
    try { JSON.parse(request.value); localError.textContent = ""; return true; }
    catch (e) { localError.textContent = "Not valid JSON: " + e.message; return false; }
  }

  send.addEventListener("click", function () {
    checkJson();  // warn, but still send: the server's answer is the authority
    send.disabled = true;
    send.textContent = "Sending…";
    var started = performance.now();
    fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: request.value
    }).then(function (resp) {
      return resp.text().then(function (text) {
        show(resp.status, resp.statusText, performance.now() - started, text);
      });
    }).catch(function (err) {
      show(0, "", performance.now() - started, String(err));
    }).then(function () {
      send.disabled = false;
      send.textContent = "Send";
    });
  });

  $("format").addEventListener("click", function () {
    if (checkJson()) { request.value = pretty(request.value); }
  });
  $("reset").addEventListener("click", function () {
    request.value = $("original-request").value;
    localError.textContent = "";
  });
  request.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); send.click(); }
  });
})();
document.getElementById("origin").textContent = window.location.origin;
