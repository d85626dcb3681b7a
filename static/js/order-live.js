// Keeps an order page's status live over a websocket (live-socket.js), without
// a reload. Every message carries `seq` (the order's version, +1 per change):
// a gap means something was missed, so the page asks for the state again.
(function () {
  "use strict";
  var status = document.querySelector("[data-live-url]");
  if (!status || !("WebSocket" in window) || !window.BrigadeLive) return;
  var label = status.querySelector("strong");
  var seq = Number(status.getAttribute("data-seq"));

  var progress = document.querySelector("[data-progress]");
  var STATE_WORDS = { done: "(done)", current: "(now)", todo: "(to come)" };

  // The steps are the page's own list (orders/progress.py draws it): the one
  // whose status the order has is current, those before it done. A status off
  // the way (cancelled, refunded) hides the list; awaiting payment reaches none.
  function showProgress(code) {
    if (!progress) return;
    var steps = progress.querySelectorAll("[data-step]");
    var reached = -1;
    steps.forEach(function (step, at) { if (step.getAttribute("data-step") === code) reached = at; });
    progress.hidden = code === "cancelled" || code === "refunded";
    steps.forEach(function (step, at) {
      var state = at < reached ? "done" : at === reached ? "current" : "todo";
      step.classList.remove("done", "current", "todo");
      step.classList.add(state);
      if (state === "current") step.setAttribute("aria-current", "step");
      else step.removeAttribute("aria-current");
      step.querySelector("[data-step-state]").textContent = STATE_WORDS[state];
    });
  }

  function show(code, text) {
    status.setAttribute("data-status", code);
    document.body.setAttribute("data-order-status", code);
    label.textContent = text;
    showProgress(code);
  }

  function addToHistory(text) {
    var history = document.querySelector(".history");
    if (!history) return;
    var now = new Date();
    var item = document.createElement("li");
    item.textContent =
      String(now.getHours()).padStart(2, "0") + ":" + String(now.getMinutes()).padStart(2, "0") + " — " + text;
    history.append(item);
  }

  document.body.setAttribute("data-order-status", status.getAttribute("data-status"));
  var live = window.BrigadeLive.open(status.getAttribute("data-live-url"), {
    seq: function () { return seq; },
    onState: function () {},
    onMessage: function (message) {
      if (message.type === "order.snapshot") {
        seq = message.seq;
        show(message.order.status, message.order.status_label);
      } else if (message.type === "order.status") {
        if (message.seq <= seq) return; // seen already
        if (message.seq !== seq + 1) {
          live.send({ type: "resync" });
          return;
        }
        seq = message.seq;
        show(message.status, message.status_label);
        addToHistory(message.status_label);
      }
    },
  });
})();
