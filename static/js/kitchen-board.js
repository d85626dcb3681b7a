// The live kitchen board, over live-socket.js. The server sends a snapshot on
// connect, then every ticket change and every change of the 86 list with
// `seq` (+1 per change, for the whole kitchen): a gap means a change was
// missed, so the board asks for the state again. Everything a customer or a
// manager typed is set with textContent, never as HTML.
//
// A station's board shows its open tickets and its recently bumped ones; expo
// groups every order's tickets into one card per order (cooking, then ready
// at the pass with its hand-over button). Cards turn compact when many are
// open, each rail scrolls by itself and says how many cards are off-screen,
// and the all-day bar folds away (remembered on this tablet, as is "Sound").
//
// A new ticket chimes through Web Audio; each chime announces itself on the
// board element as a "brigade:chime" event ({state, at}) once its tones are
// started, and "brigade:chime-ended" when the last one has played, so a
// browser test can hear it without a speaker.
(function () {
  "use strict";
  var root = document.querySelector(".kitchen[data-board-url]");
  if (!root || !("WebSocket" in window) || !("fetch" in window) || !window.BrigadeLive) return;

  var RECALL_STRIP_LENGTH = 12;
  // More open cards than this and they turn compact, so a rush still fits the tablet.
  var COMPACT_AFTER = 12;
  var SOUND_KEY = "brigade.kitchen.sound";
  var ALL_DAY_KEY = "brigade.kitchen.all-day";
  var STATUS_LABELS = { "new": "New", cooking: "Cooking", bumped: "Bumped" };
  var HAND_OVER = {
    dine_in: ["served", "Served"],
    pickup: ["picked_up", "Picked up"],
    delivery: ["out_for_delivery", "Out for delivery"],
  };
  // Bumped tickets can be recalled while their order is still in the kitchen.
  var RECALLABLE_ORDER = { in_preparation: true, ready: true };

  var view = root.getAttribute("data-station"); // "" is expo: every station
  var openRail = root.querySelector("[data-open]");
  var openEmpty = root.querySelector("[data-open-empty]");
  var openCount = root.querySelector("[data-open-count]");
  var recallRail = root.querySelector("[data-recall]");
  var readyRail = root.querySelector("[data-ready-rail]");
  var readyEmpty = root.querySelector("[data-ready-empty]");
  var readyCount = root.querySelector("[data-ready-count]");
  var allDayToggle = root.querySelector("[data-all-day-toggle]");
  var allDayTotal = root.querySelector("[data-all-day-total]");
  var allDay = root.querySelector("[data-all-day]");
  var eightySix = root.querySelector("[data-eighty-six]");
  var connection = root.querySelector("[data-connection]");
  var errorBox = root.querySelector("[data-board-error]");
  var soundButton = root.querySelector("[data-sound]");
  var template = document.getElementById("ticket-template");
  var cardTemplate = document.getElementById("order-card-template");
  var stationTemplate = document.getElementById("order-station-template");
  var lineTemplate = document.getElementById("line-template");

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

  function announce(name, detail) {
    root.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  function chime() {
    alerts += 1;
    root.setAttribute("data-alerts", String(alerts));
    if (!soundOn || !audio) return;
    var at = audio.currentTime;
    var last = null;
    [0, 0.25].forEach(function (start) {
      var tone = audio.createOscillator();
      var gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.3, at + start);
      gain.gain.exponentialRampToValueAtTime(0.001, at + start + 0.2);
      tone.connect(gain).connect(audio.destination);
      tone.start(at + start);
      tone.stop(at + start + 0.2);
      last = tone;
    });
    // "ended" fires only once the audio clock has run past the last tone: it played.
    last.addEventListener("ended", function () {
      announce("brigade:chime-ended", { state: audio.state, at: audio.currentTime });
    });
    announce("brigade:chime", { state: audio.state, at: at });
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

  // ------------------------------------------------------------ the all-day bar, folded or not

  var allDayOpen = true;
  try { allDayOpen = window.localStorage.getItem(ALL_DAY_KEY) !== "folded"; } catch (e) { /* private mode */ }

  function showAllDay() {
    allDayToggle.setAttribute("aria-expanded", allDayOpen ? "true" : "false");
    allDay.hidden = !allDayOpen;
    root.setAttribute("data-all-day-state", allDayOpen ? "open" : "folded");
  }

  showAllDay();
  allDayToggle.addEventListener("click", function () {
    allDayOpen = !allDayOpen;
    try { window.localStorage.setItem(ALL_DAY_KEY, allDayOpen ? "open" : "folded"); } catch (e) { /* private mode */ }
    showAllDay();
    countOffScreen();
  });

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

  function setShown(node, name, value) {
    var field = node.querySelector('[data-field="' + name + '"]');
    field.textContent = value;
    field.hidden = !value;
  }

  // Each line from the one line partial (kitchen/_ticket_line.html): every
  // [data-line-field] gets the line's field of that name, as text, hidden when empty.
  function buildLines(container, lines) {
    lines.forEach(function (line) {
      var item = lineTemplate.content.firstElementChild.cloneNode(true);
      item.querySelectorAll("[data-line-field]").forEach(function (field) {
        var value = line[field.getAttribute("data-line-field")];
        field.textContent = value === undefined || value === null ? "" : String(value);
        if (field.tagName !== "SPAN") field.hidden = !field.textContent;
      });
      container.append(item);
    });
  }

  function fillActions(node, t) {
    var form = node.querySelector("[data-move-form]");
    form.setAttribute("action", form.getAttribute("action").replace(/\/0\/move\/$/, "/" + t.id + "/move/"));
    form.querySelector('[name="version"]').value = String(t.version);
    form.querySelector('[name="board"]').value = view;
    var print = form.querySelector("[data-print]");
    if (print) print.hidden = !view;
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
    setShown(node, "promised", t.promised);
    setShown(node, "instructions", t.instructions);
    buildLines(node.querySelector("[data-lines]"), t.lines);
    fillActions(node, t);
    if (arrived[t.id] && Date.now() - arrived[t.id] < 3000) node.classList.add("is-new");
    return node;
  }

  function byAge(a, b) {
    return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id - b.id;
  }

  // Expo: one card per order, its stations in the board's order.
  function cardsOf(all) {
    var byOrder = {};
    var order = [];
    all.sort(byAge).forEach(function (t) {
      if (!byOrder[t.order_id]) {
        byOrder[t.order_id] = { first: t, tickets: [] };
        order.push(t.order_id);
      }
      var card = byOrder[t.order_id];
      card.tickets.push(t);
      // The order's status and version as its newest ticket description says.
      if (t.order_version > card.first.order_version) card.first = t;
    });
    return order.map(function (id) {
      var card = byOrder[id];
      card.created_at = card.tickets[0].created_at;
      card.ready = card.first.order_status === "ready";
      card.tickets.sort(function (a, b) {
        var sa = stations[a.station], sb = stations[b.station];
        var oa = sa ? sa.order : 0, ob = sb ? sb.order : 0;
        return oa - ob || a.id - b.id;
      });
      return card;
    });
  }

  function buildCard(card) {
    var t = card.first;
    var node = cardTemplate.content.firstElementChild.cloneNode(true);
    node.setAttribute("data-order", String(t.order_id));
    node.setAttribute("data-ready", card.ready ? "true" : "false");
    node.setAttribute("data-created", card.created_at);
    node.setAttribute("aria-labelledby", "order-card-" + t.order_id);
    node.querySelector('[data-field="order_number"]').id = "order-card-" + t.order_id;
    setField(node, "order_number", t.order_number);
    setField(node, "where", t.where);
    setShown(node, "promised", t.promised);
    setShown(node, "instructions", t.instructions);
    var bumped = card.tickets.filter(function (x) { return x.status === "bumped"; }).length;
    setField(node, "progress", card.ready ? "Ready: hand over" : bumped + " of " + card.tickets.length + " stations done");
    var list = node.querySelector("[data-stations]");
    card.tickets.forEach(function (x) {
      var row = stationTemplate.content.firstElementChild.cloneNode(true);
      row.setAttribute("data-ticket", String(x.id));
      row.setAttribute("data-status", x.status);
      row.setAttribute("data-station", x.station);
      row.setAttribute("data-created", x.created_at);
      setField(row, "station_name", x.station_name);
      setField(row, "status", STATUS_LABELS[x.status] || x.status);
      buildLines(row.querySelector("[data-lines]"), x.lines);
      fillActions(row, x);
      list.append(row);
    });
    var form = node.querySelector("[data-hand-over-form]");
    form.setAttribute("action", form.getAttribute("action").replace(/\/0\/hand-over\/$/, "/" + t.order_id + "/hand-over/"));
    form.querySelector('[name="version"]').value = String(t.order_version);
    var way = HAND_OVER[t.order_type] || HAND_OVER.dine_in;
    var button = form.querySelector("[data-hand-over]");
    button.value = way[0];
    button.textContent = way[1];
    if (card.tickets.some(function (x) { return arrived[x.id] && Date.now() - arrived[x.id] < 3000; })) {
      node.classList.add("is-new");
    }
    return node;
  }

  function render() {
    var all = Object.keys(tickets).map(function (id) { return tickets[id]; }).filter(inView);
    var open = all.filter(isOpen).sort(byAge);
    var openCards;
    if (view) {
      var recallable = all.filter(isRecallable).sort(function (a, b) {
        return a.bumped_at > b.bumped_at ? -1 : a.bumped_at < b.bumped_at ? 1 : b.id - a.id;
      }).slice(0, RECALL_STRIP_LENGTH);
      openRail.replaceChildren.apply(openRail, open.map(build));
      recallRail.replaceChildren.apply(recallRail, recallable.map(build));
      openCards = open.length;
    } else {
      var cards = cardsOf(all);
      var cooking = cards.filter(function (c) { return !c.ready; });
      var ready = cards.filter(function (c) { return c.ready; });
      openRail.replaceChildren.apply(openRail, cooking.map(buildCard));
      readyRail.replaceChildren.apply(readyRail, ready.map(buildCard));
      readyEmpty.hidden = ready.length > 0;
      readyCount.textContent = String(ready.length);
      openCards = cooking.length;
    }
    openEmpty.hidden = openCards > 0;
    openCount.textContent = String(openCards);
    root.setAttribute("data-density", openCards > COMPACT_AFTER ? "compact" : "roomy");
    renderAllDay(open);
    tick();
    countOffScreen();
  }

  // What the all-day bar counts: an item with its modifiers, as kitchen.selectors.all_day_name.
  function allDayName(line) {
    return line.modifiers ? line.name + " · " + line.modifiers : line.name;
  }

  function renderAllDay(open) {
    var counts = {};
    open.forEach(function (t) {
      t.lines.forEach(function (line) {
        var name = allDayName(line);
        counts[name] = (counts[name] || 0) + line.quantity;
      });
    });
    var names = Object.keys(counts).sort(function (a, b) { return counts[b] - counts[a] || (a < b ? -1 : 1); });
    var items = names.map(function (name) {
      var item = document.createElement("li");
      var label = document.createElement("span");
      label.className = "name";
      label.textContent = name;
      var count = document.createElement("strong");
      count.textContent = "× " + counts[name];
      item.append(label, " ", count);
      return item;
    });
    if (!items.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "Nothing pending.";
      items.push(none);
    }
    allDay.replaceChildren.apply(allDay, items);
    allDayTotal.textContent = "(" + names.length + ")";
  }

  // Expo's cards are orders, a station's are tickets.
  function plural(count) {
    var noun = view ? "ticket" : "order";
    return count === 1 ? noun : noun + "s";
  }

  // "7 more tickets below": cards of each rail that are out of its scrolled view.
  function countOffScreen() {
    root.querySelectorAll("[data-rail]").forEach(function (rail) {
      var note = rail.parentNode.querySelector("[data-off-screen]");
      var box = rail.getBoundingClientRect();
      var above = 0, below = 0;
      rail.querySelectorAll("[data-rail] > .tickets > *").forEach(function (card) {
        var r = card.getBoundingClientRect();
        if (r.top >= box.bottom - 8) below += 1;
        else if (r.bottom <= box.top + 8) above += 1;
      });
      var parts = [];
      if (below) parts.push(below + " more " + plural(below) + " below");
      if (above) parts.push(above + " " + plural(above) + " above");
      note.textContent = parts.join(" · ");
      note.hidden = !parts.length;
      rail.parentNode.setAttribute("data-off-screen-count", String(above + below));
    });
  }

  root.querySelectorAll("[data-rail]").forEach(function (rail) {
    rail.addEventListener("scroll", countOffScreen, { passive: true });
  });
  window.addEventListener("resize", countOffScreen);

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
    root.querySelectorAll("[data-created]").forEach(function (node) {
      var created = Date.parse(node.getAttribute("data-created"));
      var age = node.querySelector(":scope > .ticket-head [data-age]");
      if (isNaN(created) || !age) return;
      var seconds = Math.max(0, Math.floor((now - created) / 1000));
      var minutes = Math.floor(seconds / 60);
      var rest = seconds % 60;
      age.textContent = minutes + ":" + (rest < 10 ? "0" : "") + rest;
      var level = "ok";
      // An expo card takes the strictest thresholds among the stations still cooking it.
      var rows = node.hasAttribute("data-order") ? node.querySelectorAll("[data-ticket]") : [node];
      Array.prototype.forEach.call(rows, function (row) {
        var station = stations[row.getAttribute("data-station")];
        if (!station || row.getAttribute("data-status") === "bumped") return;
        if (seconds >= station.late_after_seconds) level = "late";
        else if (seconds >= station.warn_after_seconds && level !== "late") level = "warn";
      });
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
      message.stations.forEach(function (s, index) {
        stations[s.slug] = s;
        s.order = index;
      });
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
    var form = event.target.closest("[data-move-form], [data-hand-over-form]");
    if (!form) return;
    var handOver = form.hasAttribute("data-hand-over-form");
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
        if (result.ok && handOver) {
          showError("");
          // Handed over: the order leaves the pass now; its tickets' event says the same.
          Object.keys(tickets).forEach(function (id) {
            if (tickets[id].order_id === result.body.order.id) delete tickets[id];
          });
        } else if (result.ok) {
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

  // Prints one ticket on the pass's 80 mm roll (kitchen.css, @media print): only it is printed.
  root.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (!button) return;
    var ticket = button.closest("[data-ticket]");
    ticket.classList.add("is-printing");
    root.setAttribute("data-printing", "");
    window.print();
    ticket.classList.remove("is-printing");
    root.removeAttribute("data-printing");
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
