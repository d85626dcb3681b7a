// A live socket speaking the protocol of restaurant/sockets.py, shared by the
// order page and the kitchen board. It reconnects a dropped socket with
// growing, jittered delays; every 10 s it pings with the page's seq, so the
// server re-joins it to its group (a restarted Redis forgets groups) and
// resends the state if the page is behind; a socket silent for 25 s is
// half-open and is reopened. A 4403 close means this visitor may no longer
// follow the channel (signed out, a role taken away). It asks once more, as
// the browser may hold a newer session by now (a password changed on this
// device renews it); if that socket does not open either (a refused socket is
// refused during the handshake, which browsers report as 1006), it stops and
// the page shows its "forbidden" state instead of reconnecting forever.
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
    var askedAgain = false;
    var heartbeat = null;

    function send(message) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    }

    function connect() {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + window.location.host + path);
      socket.onopen = function () {
        askedAgain = false;
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
        if (askedAgain) {
          window.clearInterval(heartbeat);
          handlers.onState("forbidden");
          return;
        }
        if (event.code === 4403) {
          // Once: asking again after this needs the server to have let a socket in.
          askedAgain = true;
          handlers.onState("reconnecting");
          window.setTimeout(connect, 1000);
          return;
        }
        handlers.onState("reconnecting");
        var wait = delay * (0.8 + Math.random() * 0.4);
        delay = Math.min(delay * 2, MAX_DELAY_MS);
        window.setTimeout(connect, wait);
      };
    }

    heartbeat = window.setInterval(function () {
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
