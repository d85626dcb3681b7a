// The live kitchen board, over live-socket.js. The server sends a snapshot on
// connect, then every ticket change and every change of the 86 list with
// `seq` (+1 per change, for the whole kitchen): a gap means a change was
// missed, so the board asks for the state again. Everything a customer or a
// manager typed is set with textContent, never as HTML.
(function () {
  "use strict";
  var root = document.querySelector(".kitchen[data-board-url]");
  if (!root || !("WebSocket" in window) || !("fetch" in window) || !window.BrigadeLive) return;

  var RECALL_STRIP_LENGTH = 12;
  var SOUND_KEY = "brigade.kitchen.sound";
  // Bumped tickets can be recalled while their order is still in the kitchen.
  var RECALLABLE_ORDER = { in_preparation: true, ready: true };

  var view = root.getAttribute("data-station"); // "" is expo: every station
  var openRail = root.querySelector("[data-open]");
  var openEmpty = root.querySelector("[data-open-empty]");
  var recallRail = root.querySelector("[data-recall]");
  var allDay = root.querySelector("[data-all-day]");
  var eightySix = root.querySelector("[data-eighty-six]");
  var connection = root.querySelector("[data-connection]");
  var errorBox = root.querySelector("[data-board-error]");
  var soundButton = root.querySelector("[data-sound]");
  var template = document.getElementById("ticket-template");

  var tickets = {}; // id -> ticket, as the server last described it
  var stations = {}; // slug -> station (thresholds)
  var seq = Number(root.getAttribute("data-seq"));
  var synced = false;
  var clockOffset = 0; // server clock minus this tablet's, in ms
  var arrived = {}; // id -> time it arrived, for the highlight
  var alerts = 0;

  // ------------------------------------------------------------ sound

  var soundOn = true;
  try { soundOn = window.localStorage.getItem(SOUND_KEY) !== "off"; } catch (e) { /* private mode */ }
  var audio = null;

  function unlockAudio() {
    // Browsers allow sound only after the user touched the page once.
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) audio = new Context();
    if (audio && audio.state === "suspended") audio.resume();
  }

  function chime() {
    alerts += 1;
    root.setAttribute("data-alerts", String(alerts));
    if (!soundOn || !audio) return;
    [0, 0.25].forEach(function (start) {
      var tone = audio.createOscillator();
      var gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.3, audio.currentTime + start);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + start + 0.2);
      tone.connect(gain).connect(audio.destination);
      tone.start(audio.currentTime + start);
      tone.stop(audio.currentTime + start + 0.2);
    });
  }

  function showSound() {
    soundButton.textContent = soundOn ? "Sound on" : "Sound off";
    soundButton.setAttribute("aria-pressed", soundOn ? "true" : "false");
  }

  soundButton.hidden = false;
  showSound();
  soundButton.addEventListener("click", function () {
    soundOn = !soundOn;
    try { window.localStorage.setItem(SOUND_KEY, soundOn ? "on" : "off"); } catch (e) { /* private mode */ }
    showSound();
  });
  document.addEventListener("pointerdown", unlockAudio);
  document.addEventListener("keydown", unlockAudio);

  // ------------------------------------------------------------ state

  function inView(t) { return !view || t.station === view; }
  function isOpen(t) { return t.status === "new" || t.status === "cooking"; }
  function isRecallable(t) { return t.status === "bumped" && RECALLABLE_ORDER[t.order_status] === true; }

  // Takes in tickets as the server describes them; rings once for any new open ticket in view.
  function apply(list, previous) {
    var fresh = false;
    list.forEach(function (t) {
      var known = tickets[t.id];
      if (known && known.version > t.version) return; // an older description arrived late
      if (synced && !previous[t.id] && isOpen(t) && inView(t)) {
        fresh = true;
        arrived[t.id] = Date.now();
      }
      if (isOpen(t) || isRecallable(t)) tickets[t.id] = t;
      else delete tickets[t.id]; // voided, or handed over
    });
    if (fresh) chime();
  }

  // ------------------------------------------------------------ rendering

  function setField(node, name, value) {
    node.querySelector('[data-field="' + name + '"]').textContent = value;
  }

  function build(t) {
    var node = template.content.firstElementChild.cloneNode(true);
    node.setAttribute("data-ticket", String(t.id));
    node.setAttribute("data-status", t.status);
    node.setAttribute("data-station", t.station);
    node.setAttribute("data-created", t.created_at);
    setField(node, "order_number", t.order_number);
    setField(node, "where", t.where);
    setField(node, "station_name", t.station_name);
    var promised = node.querySelector('[data-field="promised"]');
    promised.textContent = t.promised;
    promised.hidden = !t.promised;
    var instructions = node.querySelector('[data-field="instructions"]');
    instructions.textContent = t.instructions;
    instructions.hidden = !t.instructions;
    var lines = node.querySelector("[data-lines]");
    t.lines.forEach(function (line) {
      var item = document.createElement("li");
      var qty = document.createElement("span");
      qty.className = "qty";
      qty.textContent = line.quantity + "×";
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = line.name;
      item.append(qty, " ", name);
      if (line.modifiers) {
        var mods = document.createElement("small");
        mods.className = "mods";
        mods.textContent = line.modifiers;
        item.append(" ", mods);
      }
      if (line.note) {
        var note = document.createElement("em");
        note.className = "line-note";
        note.textContent = line.note;
        item.append(" ", note);
      }
      lines.append(item);
    });
    var form = node.querySelector("[data-move-form]");
    form.setAttribute("action", form.getAttribute("action").replace(/\/0\/move\/$/, "/" + t.id + "/move/"));
    form.querySelector('[name="version"]').value = String(t.version);
    form.querySelector('[name="board"]').value = view;
    if (arrived[t.id] && Date.now() - arrived[t.id] < 3000) node.classList.add("is-new");
    return node;
  }

  function render() {
    var all = Object.keys(tickets).map(function (id) { return tickets[id]; }).filter(inView);
    var open = all.filter(isOpen).sort(function (a, b) {
      return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id - b.id;
    });
    var recallable = all.filter(isRecallable).sort(function (a, b) {
      return a.bumped_at > b.bumped_at ? -1 : a.bumped_at < b.bumped_at ? 1 : b.id - a.id;
    }).slice(0, RECALL_STRIP_LENGTH);
    openRail.replaceChildren.apply(openRail, open.map(build));
    recallRail.replaceChildren.apply(recallRail, recallable.map(build));
    openEmpty.hidden = open.length > 0;
    renderAllDay(open);
    tick();
  }

  function renderAllDay(open) {
    var counts = {};
    open.forEach(function (t) {
      t.lines.forEach(function (line) { counts[line.name] = (counts[line.name] || 0) + line.quantity; });
    });
    var names = Object.keys(counts).sort(function (a, b) { return counts[b] - counts[a] || (a < b ? -1 : 1); });
    var items = names.map(function (name) {
      var item = document.createElement("li");
      var count = document.createElement("strong");
      count.textContent = String(counts[name]);
      item.append(count, " ", name);
      return item;
    });
    if (!items.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "Nothing pending.";
      items.push(none);
    }
    allDay.replaceChildren.apply(allDay, items);
  }

  // The 86 list as the server sent it, whole: what the menu cannot sell now, and why.
  function renderSoldOut(entries) {
    var items = entries.map(function (entry) {
      var item = document.createElement("li");
      item.setAttribute("data-sold-out", entry.name);
      var why = document.createElement("span");
      why.className = "muted";
      why.textContent = "(" + entry.why + ")";
      item.append(entry.name, " ", why);
      return item;
    });
    if (!items.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "Nothing sold out.";
      items.push(none);
    }
    eightySix.replaceChildren.apply(eightySix, items);
  }

  // Ages and their colours, every second.
  function tick() {
    var now = Date.now() + clockOffset;
    root.querySelectorAll(".ticket[data-ticket]").forEach(function (node) {
      var created = Date.parse(node.getAttribute("data-created"));
      if (isNaN(created)) return;
      var seconds = Math.max(0, Math.floor((now - created) / 1000));
      var minutes = Math.floor(seconds / 60);
      var rest = seconds % 60;
      node.querySelector("[data-age]").textContent = minutes + ":" + (rest < 10 ? "0" : "") + rest;
      var station = stations[node.getAttribute("data-station")];
      var level = "ok";
      if (station && node.getAttribute("data-status") !== "bumped") {
        if (seconds >= station.late_after_seconds) level = "late";
        else if (seconds >= station.warn_after_seconds) level = "warn";
      }
      node.setAttribute("data-age-level", level);
    });
  }

  // ------------------------------------------------------------ errors and connection state

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function showConnection(state, text) {
    connection.setAttribute("data-state", state);
    connection.textContent = text;
    root.setAttribute("data-connection-state", state);
  }

  // ------------------------------------------------------------ the socket

  function onMessage(message) {
    if (message.type === "board.snapshot") {
      seq = message.seq;
      clockOffset = Date.parse(message.now) - Date.now();
      stations = {};
      message.stations.forEach(function (s) { stations[s.slug] = s; });
      // The first snapshot rings for nothing; a later one (after a reconnect)
      // rings for tickets that arrived while this board was away.
      var previous = tickets;
      tickets = {};
      apply(message.tickets, previous);
      synced = true;
      render();
      renderSoldOut(message.sold_out);
    } else if (message.type === "board.tickets" || message.type === "board.sold_out") {
      if (message.seq <= seq) return; // seen already
      if (message.seq !== seq + 1) {
        live.send({ type: "resync" });
        return;
      }
      seq = message.seq;
      if (message.type === "board.sold_out") {
        renderSoldOut(message.sold_out);
      } else {
        apply(message.tickets, tickets);
        render();
      }
    }
  }

  window.setInterval(tick, 1000);

  // ------------------------------------------------------------ buttons

  root.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-move-form]");
    if (!form) return;
    event.preventDefault();
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) data.set(event.submitter.name, event.submitter.value);
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (result.ok) {
          showError("");
          apply([result.body.ticket], tickets);
        } else {
          showError(result.body.error ? result.body.error.message : "That did not work. Try again.");
          live.send({ type: "resync" });
        }
        render();
      })
      .catch(function () {
        showError("No connection to the kitchen server. Try again.");
        form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      });
  });

  var live = window.BrigadeLive.open(root.getAttribute("data-board-url"), {
    seq: function () { return seq; },
    onMessage: onMessage,
    onState: function (state) {
      if (state === "live") showConnection("live", "Live");
      else if (state === "forbidden") showConnection("offline", "Signed out: sign in again to see tickets");
      else showConnection("offline", "Reconnecting…");
    },
  });
})();
