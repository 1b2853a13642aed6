// Start Redoc with this script's CSP nonce: Redoc stamps the <style> elements it adds with it, so the
// Content-Security-Policy can refuse every other inline style. A file, not an inline script, for the same reason.
(function () {
  var script = document.currentScript;
  Redoc.init(script.dataset.specUrl, { nonce: script.nonce }, document.getElementById("redoc-container"));
})();
