// The public form page's script (host/src/forms/page.rs renders the page;
// it works without this). Two jobs: conditional fields are shown only while
// they apply, and the kiosk mode (a trade-show tablet) sends each
// submission in the background, keeps those made while the network is down
// in localStorage, and sends them when it is back. Each kept submission has
// an idempotency key made here (`_submission`), so a retry never makes a
// second lead or touch.
(function () {
  "use strict";
  var form = document.querySelector("form[data-form]");
  if (!form) return;

  function controlsNamed(name) {
    return form.querySelectorAll('[name="' + CSS.escape(name) + '"]');
  }

  // A field's answers now, written as the page writes option values.
  function valuesOf(name) {
    var values = [];
    controlsNamed(name).forEach(function (control) {
      if (control.disabled) return;
      if (control.type === "checkbox" || control.type === "radio") {
        if (control.checked) values.push(control.value);
      } else if (control.value !== "") {
        values.push(control.value);
      }
    });
    return values;
  }

  function applyConditions() {
    form.querySelectorAll(".field[data-when]").forEach(function (field) {
      var hiding = field.getAttribute("data-conditional") === "hide";
      var conditions = JSON.parse(field.getAttribute("data-when")).filter(function (c) {
        return controlsNamed(c.field).length > 0;
      });
      // A condition on a field the page does not ask (a returning visitor's
      // known answer) was judged by the server, which asked this field.
      var holds = conditions.length === 0 ? hiding : conditions.some(function (c) {
        return valuesOf(c.field).indexOf(c.value) >= 0;
      });
      field.classList.toggle("required-now", holds);
      if (hiding) {
        field.hidden = !holds;
        // A hidden field is not posted: a stale answer does not ride along.
        field.querySelectorAll("input, select, textarea").forEach(function (control) {
          control.disabled = !holds;
        });
      }
    });
  }

  form.addEventListener("change", applyConditions);
  form.addEventListener("input", applyConditions);
  applyConditions();
  if (form.hasAttribute("data-kiosk")) kiosk();

  function kiosk() {
    var words = JSON.parse(document.getElementById("kiosk-words").textContent);
    var status = form.querySelector(".kiosk-status");
    var button = form.querySelector("button[type=submit]");
    var storeKey = "leadhost-kiosk-queue:" + location.pathname;
    var flushing = null;

    function queue() {
      try {
        return JSON.parse(localStorage.getItem(storeKey)) || [];
      } catch (e) {
        return [];
      }
    }
    function keep(entries) {
      localStorage.setItem(storeKey, JSON.stringify(entries));
    }
    function newKey() {
      var bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      return "kiosk-" + Array.prototype.map.call(bytes, function (b) {
        return (b + 256).toString(16).slice(1);
      }).join("");
    }
    function say(text, warning) {
      status.textContent = text;
      status.classList.toggle("offline", !!warning);
    }
    function sayQueued() {
      say(words.queued.replace("{count}", queue().length), true);
    }

    // One entry's fate: "sent", "rejected" (with the server's problem), or
    // "offline" (kept, to try again).
    async function send(entry) {
      var response;
      try {
        response = await fetch(location.href, {
          method: "POST",
          body: entry.body,
          credentials: "omit",
          headers: {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        });
      } catch (e) {
        return {fate: "offline"};
      }
      if (response.ok) return {fate: "sent"};
      if (response.status >= 500 || response.status === 408 || response.status === 429) return {fate: "offline"};
      var problem = await response.json().catch(function () { return {}; });
      return {fate: "rejected", problem: problem};
    }

    // Sends the kept entries oldest first, one at a time, until one cannot
    // reach the server. One flush runs at a time; its results by key.
    function flush() {
      if (!flushing) {
        flushing = (async function () {
          var results = {};
          for (var entries = queue(); entries.length > 0; entries = queue()) {
            var entry = entries[0];
            var result = await send(entry);
            if (result.fate === "offline") break;
            keep(queue().filter(function (e) { return e.key !== entry.key; }));
            results[entry.key] = result;
          }
          return results;
        })().finally(function () { flushing = null; });
      }
      return flushing;
    }

    function messagesOf(problem) {
      var errors = (problem && problem.errors) || [];
      var text = errors.map(function (e) { return e.message; }).join("; ");
      return text || (problem && (problem.detail || problem.title)) || "";
    }

    // A flush in the background: says what became of the kept entries.
    async function flushKept() {
      if (queue().length === 0) return;
      var results = await flush();
      var rejected = Object.keys(results).filter(function (key) { return results[key].fate === "rejected"; });
      if (rejected.length > 0) {
        say(words.not_accepted + messagesOf(results[rejected[0]].problem), true);
      } else if (queue().length > 0) {
        sayQueued();
      } else if (Object.keys(results).length > 0) {
        say(words.all_sent);
      }
    }

    function clearErrors() {
      form.querySelectorAll(".field.invalid").forEach(function (field) {
        field.classList.remove("invalid");
        var error = field.querySelector("p.error");
        if (error) error.remove();
        field.querySelectorAll("[aria-invalid]").forEach(function (control) {
          control.removeAttribute("aria-invalid");
          var ids = (control.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
            return id && document.getElementById(id);
          });
          if (ids.length > 0) control.setAttribute("aria-describedby", ids.join(" "));
          else control.removeAttribute("aria-describedby");
        });
      });
    }

    // The server's errors beside their fields, as its own page shows them.
    function showErrors(problem) {
      clearErrors();
      var unplaced = [];
      ((problem && problem.errors) || []).forEach(function (error) {
        var name = (error.pointer || "").split("/")[1] || "";
        var control = name && controlsNamed(name)[0];
        var field = control && control.closest(".field");
        if (!field) {
          unplaced.push(error.message);
          return;
        }
        var id = "f-" + name + "-error";
        var message = document.getElementById(id);
        if (!message) {
          message = field.appendChild(document.createElement("p"));
          message.id = id;
          message.className = "error";
          message.textContent = error.message;
        } else {
          message.textContent += "; " + error.message;
        }
        field.classList.add("invalid");
        field.querySelectorAll("input, select, textarea, fieldset").forEach(function (c) {
          c.setAttribute("aria-invalid", "true");
          if (c.tagName === "FIELDSET" || !c.closest("fieldset")) {
            var ids = (c.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
            if (ids.indexOf(id) < 0) c.setAttribute("aria-describedby", ids.concat([id]).join(" "));
          }
        });
      });
      say(unplaced.length > 0 ? unplaced.join("; ") : messagesOf({title: problem && problem.title}), true);
      var first = form.querySelector(".field.invalid input, .field.invalid select, .field.invalid textarea");
      if (first) first.focus();
    }

    function nextVisitor() {
      clearErrors();
      form.reset();
      applyConditions();
      var first = form.querySelector(".field input:not([type=hidden]), .field select, .field textarea");
      if (first) first.focus();
    }

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var data = new URLSearchParams(new FormData(form));
      var key = newKey();
      data.set("_submission", key);
      // Kept before it is sent: a tab closed mid-send still has it.
      keep(queue().concat([{key: key, body: data.toString()}]));
      button.disabled = true;
      var result = (await flush())[key];
      // A flush that was ending as this entry was kept did not see it.
      if (!result && flushing === null && queue().some(function (e) { return e.key === key; })) {
        result = (await flush())[key];
      }
      button.disabled = false;
      if (!result) {
        nextVisitor();
        sayQueued();
      } else if (result.fate === "sent") {
        nextVisitor();
        say(words.saved);
      } else {
        showErrors(result.problem);
      }
    });

    window.addEventListener("online", flushKept);
    setInterval(flushKept, 3000);
    if (queue().length > 0) {
      sayQueued();
      flushKept();
    }
  }
})();
