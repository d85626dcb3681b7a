// Keeps an order page's status live over a websocket, without a reload.
// Every message carries `seq` (the order's version, +1 per change): a gap
// means something was missed, so the page asks the server for the state
// again. A dropped socket reconnects with growing, jittered delays; a 4403
// close means this visitor may not follow the order, so it stops.
(function () {
  "use strict";
  var status = document.querySelector("[data-live-url]");
  if (!status || !("WebSocket" in window)) return;
  var label = status.querySelector("strong");
  var seq = Number(status.getAttribute("data-seq"));
  var delay = 1000;

  function show(code, text) {
    status.setAttribute("data-status", code);
    document.body.setAttribute("data-order-status", code);
    label.textContent = text;
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + status.getAttribute("data-live-url"));
    socket.onopen = function () { delay = 1000; };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "order.snapshot") {
        seq = message.seq;
        show(message.order.status, message.order.status_label);
      } else if (message.type === "order.status") {
        if (message.seq <= seq) return; // seen already
        if (message.seq !== seq + 1) {
          socket.send(JSON.stringify({ type: "resync" }));
          return;
        }
        seq = message.seq;
        show(message.status, message.status_label);
      }
    };
    socket.onclose = function (event) {
      if (event.code === 4403) return;
      var wait = delay * (0.8 + Math.random() * 0.4);
      delay = Math.min(delay * 2, 30000);
      window.setTimeout(connect, wait);
    };
  }

  document.body.setAttribute("data-order-status", status.getAttribute("data-status"));
  connect();
})();
