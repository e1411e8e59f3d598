// The form designer's live preview (http::pages::forms). As the admin
// types, the designer's inputs (the draft and the CSRF token with them) go
// to the server's own renderer, and the page it returns is shown in the
// sandboxed preview frame. Changing a field's type changes which settings
// it has, so that one asks the server for the whole designer again.
(function () {
  "use strict";
  var form = document.querySelector("form[data-designer]");
  var frame = document.getElementById("preview");
  if (!form || !frame) return;
  var status = document.getElementById("preview-status");
  var timer = null;
  var pending = null;
  var refreshes = 0;

  var focus = "";

  function refresh() {
    var body = new URLSearchParams(new FormData(form));
    body.set("action", "preview");
    if (focus) body.set("focus", focus);
    if (pending) pending.abort();
    pending = new AbortController();
    status.textContent = "…";
    fetch(form.dataset.preview, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      signal: pending.signal,
    })
      .then(function (response) {
        return response.text().then(function (html) {
          frame.srcdoc = html;
          frame.dataset.state = response.ok ? "ok" : "problem";
          refreshes += 1;
          frame.dataset.refreshes = String(refreshes);
          status.textContent = "";
        });
      })
      .catch(function (error) {
        if (error.name !== "AbortError") status.textContent = "⚠ " + error.message;
      });
  }

  form.addEventListener("input", function (event) {
    var field = event.target.closest("fieldset[data-field]");
    focus = field ? field.dataset.field : "";
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
  form.addEventListener("change", function (event) {
    if (!event.target.matches("select[data-rerender]")) return;
    var apply = document.createElement("input");
    apply.type = "hidden";
    apply.name = "action";
    apply.value = "preview";
    form.appendChild(apply);
    form.submit();
  });
})();
