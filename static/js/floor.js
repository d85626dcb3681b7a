// The live floor, over live-socket.js. The server sends a snapshot on connect
// (the tables in service and every open order), then each changed order with
// `seq` (+1 per change, for the whole floor): a gap means a change was missed,
// so the page asks for the state again. The page's forms are plain forms and
// work without this script; it only keeps the grid current. The filter rules
// are orders/floor_views.py's. Everything a guest or a manager typed is set
// with textContent, never as HTML.
(function () {
  "use strict";
  var root = document.querySelector(".floor[data-floor-url]");
  if (!root || !("WebSocket" in window) || !window.BrigadeLive) return;

  var OPEN = { awaiting_payment: true, paid: true, in_preparation: true, ready: true };
  // The floor's order of the pass list: the kitchen's orders, then staff's, then unpaid; newest first.
  var KITCHEN = { paid: true, in_preparation: true, ready: true };

  var show = root.getAttribute("data-show") || "all";
  var limit = Number(root.getAttribute("data-limit")) || 200;
  var seq = Number(root.getAttribute("data-seq"));
  var grid = root.querySelector("[data-grid]");
  var gridEmpty = root.querySelector("[data-grid-empty]");
  var passList = root.querySelector("[data-pass]");
  var passEmpty = root.querySelector("[data-pass-empty]");
  var notShown = root.querySelector("[data-not-shown]");
  var connection = root.querySelector("[data-connection]");
  var tableTemplate = document.getElementById("floor-table-template");
  var orderTemplate = document.getElementById("floor-order-template");

  var tables = []; // in the floor's order, as the snapshot listed them
  var orders = {}; // id -> order, as the server last described it
  var clockOffset = 0;
  var opened = {}; // id -> true for orders whose lines a waiter opened, kept across redraws

  function shown(order) {
    if (show === "ready") return order.status === "ready";
    if (show === "waiting") return order.status !== "ready";
    if (show === "pickups") return order.order_type === "pickup";
    if (show === "deliveries") return order.order_type === "delivery";
    return true;
  }

  function rank(order) {
    if (KITCHEN[order.status]) return 0;
    return order.taken_by ? 1 : 2;
  }

  function floorOrder(a, b) {
    return rank(a) - rank(b) || (a.placed_at < b.placed_at ? 1 : a.placed_at > b.placed_at ? -1 : b.id - a.id);
  }

  function apply(list) {
    list.forEach(function (order) {
      var known = orders[order.id];
      if (known && known.version > order.version) return; // an older description arrived late
      if (OPEN[order.status]) orders[order.id] = order;
      else delete orders[order.id]; // handed over, cancelled or refunded
    });
  }

  // ------------------------------------------------------------ rendering

  function setField(node, name, value) {
    var field = node.querySelector('[data-field="' + name + '"]');
    field.textContent = value;
    return field;
  }

  function buildOrder(order) {
    var node = orderTemplate.content.firstElementChild.cloneNode(true);
    node.setAttribute("data-order", String(order.id));
    node.setAttribute("data-status", order.status);
    node.setAttribute("data-placed", order.placed_at);
    node.setAttribute("data-status-at", order.status_at);
    setField(node, "number", order.number).setAttribute("href", order.url);
    setField(node, "where", order.where);
    setField(node, "status_label", order.status_label);
    setField(node, "total", order.total);
    setField(node, "taken_by", order.taken_by ? " · taken by " + order.taken_by : "");
    setField(node, "item_count", order.lines.length + " line" + (order.lines.length === 1 ? "" : "s"));
    if (opened[order.id]) node.querySelector("[data-lines-box]").open = true;
    setField(node, "instructions", order.instructions).hidden = !order.instructions;
    var lines = node.querySelector("[data-lines]");
    order.lines.forEach(function (line) {
      var item = document.createElement("li");
      item.textContent = line.quantity + " × " + line.name;
      if (line.modifiers) {
        var mods = document.createElement("small");
        mods.textContent = "(" + line.modifiers + ")";
        item.append(" ", mods);
      }
      lines.append(item);
    });
    node.querySelectorAll("[data-action-form]").forEach(function (form) {
      var action = form.getAttribute("data-action-form");
      var offered = action === "served" ? order.status === "ready" : order.status === "awaiting_payment";
      if (!offered) {
        form.remove();
        return;
      }
      form.setAttribute("action", form.getAttribute("action").replace(/\/0\/$/, "/" + order.id + "/"));
      var handOver = form.querySelector('[data-field="hand_over"]');
      if (handOver) handOver.textContent = order.hand_over;
      form.querySelector('[name="version"]').value = String(order.version);
      form.querySelector('[name="show"]').value = show;
      var reason = form.querySelector('[name="reason"]');
      if (reason) {
        reason.id = "reason-" + order.id;
        form.querySelector("label").setAttribute("for", reason.id);
      }
    });
    var wrapper = document.createElement("li");
    wrapper.append(node);
    return wrapper;
  }

  function buildTable(table, list) {
    var node = tableTemplate.content.firstElementChild.cloneNode(true);
    node.setAttribute("data-table", String(table.id));
    var ready = list.some(function (o) { return o.status === "ready"; });
    node.setAttribute("data-state", ready ? "ready" : list.length ? "waiting" : "free");
    setField(node, "label", "Table " + table.label);
    setField(node, "seats", table.seats + " seats");
    setField(
      node,
      "state",
      ready ? "Ready to serve" : list.length ? list.length + " open order" + (list.length === 1 ? "" : "s") : "Free"
    );
    var tab = node.querySelector("[data-tab]");
    tab.hidden = !table.tab;
    if (table.tab) {
      tab.querySelector("[data-tab-link]").setAttribute("href", table.tab.url);
      tab.querySelector("[data-tab-total]").textContent = table.tab.total;
    }
    var holder = node.querySelector("[data-orders]");
    list.forEach(function (order) { holder.append(buildOrder(order)); });
    return node;
  }

  // A reason being typed, and lines opened, survive the redraw an event causes, focus included.
  function typedReasons() {
    var typed = {};
    root.querySelectorAll('[data-action-form="cancel"] [name="reason"]').forEach(function (input) {
      if (input.value) typed[input.id] = input.value;
    });
    opened = {};
    root.querySelectorAll("[data-lines-box][open]").forEach(function (box) {
      opened[box.closest("[data-order]").getAttribute("data-order")] = true;
    });
    return { values: typed, focused: document.activeElement ? document.activeElement.id : "" };
  }

  function restoreReasons(typed) {
    Object.keys(typed.values).forEach(function (id) {
      var input = document.getElementById(id);
      if (input) input.value = typed.values[id];
    });
    var focused = typed.focused && document.getElementById(typed.focused);
    if (focused && root.contains(focused)) focused.focus();
  }

  function render() {
    var typed = typedReasons();
    var atTable = {};
    tables.forEach(function (t) { atTable[t.id] = []; });
    var pass = [];
    Object.keys(orders).forEach(function (id) {
      var order = orders[id];
      if (order.table_id !== null && atTable[order.table_id]) atTable[order.table_id].push(order);
      else pass.push(order);
    });
    var tableOrders = [];
    tables.forEach(function (t) {
      atTable[t.id].sort(floorOrder);
      tableOrders = tableOrders.concat(atTable[t.id]);
    });
    pass.sort(floorOrder);
    // Bounded as the server bounds it: tables' orders first, then the pass.
    var room = Math.max(limit - tableOrders.length, 0);
    var hidden = Math.max(pass.length - room, 0);
    pass = pass.slice(0, room);
    var everything = tableOrders.concat(pass);

    var counts = {
      all: everything.length,
      ready: everything.filter(function (o) { return o.status === "ready"; }).length,
      waiting: everything.filter(function (o) { return o.status !== "ready"; }).length,
      tables: tableOrders.length,
      pickups: pass.filter(function (o) { return o.order_type === "pickup"; }).length,
      deliveries: pass.filter(function (o) { return o.order_type === "delivery"; }).length,
    };
    Object.keys(counts).forEach(function (key) {
      var count = root.querySelector('[data-count="' + key + '"]');
      if (count) count.textContent = String(counts[key]);
    });

    var cards = [];
    var area = null;
    function add(t, list) {
      // A heading where the area changes, as the server draws it.
      if (t.area !== area) {
        area = t.area;
        var row = document.createElement("li");
        row.className = "floor-area";
        var heading = document.createElement("h3");
        heading.textContent = t.area || "Other tables";
        row.append(heading);
        cards.push(row);
      }
      cards.push(buildTable(t, list));
    }
    if (show === "all" || show === "tables" || show === "ready" || show === "waiting") {
      tables.forEach(function (t) {
        var list = atTable[t.id].filter(shown);
        if (show === "ready" || show === "waiting") {
          if (list.length) add(t, list);
        } else {
          add(t, atTable[t.id]);
        }
      });
    }
    grid.replaceChildren.apply(grid, cards);
    gridEmpty.hidden = cards.length > 0;

    var passShown = show === "tables" ? [] : pass.filter(shown);
    passList.replaceChildren.apply(passList, passShown.map(buildOrder));
    passEmpty.hidden = passShown.length > 0;
    notShown.hidden = hidden === 0;
    notShown.textContent = hidden + " older unpaid order" + (hidden === 1 ? "" : "s") + " not shown.";
    restoreReasons(typed);
    tick();
  }

  // How long each order has waited (or has been ready), every 15 seconds.
  function since(iso, now) {
    var seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
    var minutes = Math.floor(seconds / 60);
    if (minutes < 1) return seconds + " s";
    if (minutes < 60) return minutes + " min";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function tick() {
    var now = Date.now() + clockOffset;
    root.querySelectorAll(".floor-order[data-order]").forEach(function (node) {
      var age = node.querySelector("[data-age]");
      var placed = node.getAttribute("data-placed");
      if (!placed) return;
      age.textContent =
        node.getAttribute("data-status") === "ready"
          ? "ready for " + since(node.getAttribute("data-status-at"), now)
          : "waiting " + since(placed, now);
    });
  }

  function showConnection(state, text) {
    connection.setAttribute("data-state", state);
    connection.textContent = text;
    root.setAttribute("data-connection-state", state);
  }

  // ------------------------------------------------------------ the socket

  function onMessage(message) {
    if (message.type === "floor.snapshot") {
      seq = message.seq;
      clockOffset = Date.parse(message.now) - Date.now();
      limit = message.limit;
      tables = message.tables;
      orders = {};
      apply(message.orders);
      render();
    } else if (message.type === "floor.orders") {
      if (message.seq <= seq) return; // seen already
      if (message.seq !== seq + 1) {
        live.send({ type: "resync" });
        return;
      }
      seq = message.seq;
      apply(message.orders);
      render();
    }
  }

  window.setInterval(tick, 15000);

  var live = window.BrigadeLive.open(root.getAttribute("data-floor-url"), {
    seq: function () { return seq; },
    onMessage: onMessage,
    onState: function (state) {
      if (state === "live") showConnection("live", "Live");
      else if (state === "forbidden") showConnection("offline", "Signed out: sign in again to see the floor");
      else showConnection("offline", "Reconnecting…");
    },
  });
})();
