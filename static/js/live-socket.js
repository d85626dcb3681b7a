// A live socket speaking the protocol of restaurant/sockets.py, shared by the
// order page and the kitchen board. It reconnects a dropped socket with
// growing, jittered delays; every 10 s it pings with the page's seq, so the
// server re-joins it to its group (a restarted Redis forgets groups) and
// resends the state if the page is behind; a socket silent for 25 s is
// half-open and is reopened. A 4403 close means this visitor may not follow
// the channel, so it stops.
//
//   var live = BrigadeLive.open("/ws/…/", {
//     onMessage: function (message) {…},   // every message, parsed
//     onState: function (state) {…},       // "live", "reconnecting" or "forbidden"
//     seq: function () { return seq; },    // the last seq the page applied
//   });
//   live.send({ type: "resync" });
(function () {
  "use strict";
  var PING_EVERY_MS = 10000;
  var SILENT_LIMIT_MS = 25000;
  var MAX_DELAY_MS = 30000;

  function open(path, handlers) {
    var socket = null;
    var delay = 1000;
    var lastHeard = 0;

    function send(message) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    }

    function connect() {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + window.location.host + path);
      socket.onopen = function () {
        delay = 1000;
        lastHeard = Date.now();
        handlers.onState("live");
      };
      socket.onmessage = function (event) {
        lastHeard = Date.now();
        handlers.onMessage(JSON.parse(event.data));
      };
      socket.onclose = function (event) {
        socket = null;
        if (event.code === 4403) {
          handlers.onState("forbidden");
          return;
        }
        handlers.onState("reconnecting");
        var wait = delay * (0.8 + Math.random() * 0.4);
        delay = Math.min(delay * 2, MAX_DELAY_MS);
        window.setTimeout(connect, wait);
      };
    }

    window.setInterval(function () {
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      if (Date.now() - lastHeard > SILENT_LIMIT_MS) {
        socket.close();
        return;
      }
      send({ type: "ping", seq: handlers.seq() });
    }, PING_EVERY_MS);

    connect();
    return { send: send };
  }

  window.BrigadeLive = { open: open };
})();
