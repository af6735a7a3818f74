// Swagger UI for this model's /openapi.json, from local assets only.
window.addEventListener("load", function () {
  "use strict";
  window.ui = SwaggerUIBundle({
    url: document.body.getAttribute("data-openapi") || "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: true,
    validatorUrl: null,  // never ask the public validator about this API
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
