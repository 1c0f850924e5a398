/* The graph explorer: the entry picker, the numbers, the what-if toggles and the Cytoscape.js view.
   Every text from the server goes in through textContent (names in the model are hostile input). */
(function () {
  "use strict";
  var root = document.getElementById("explorer");
  if (!root) { return; }
  var words = root.dataset;
  var state = { entry: "", toggled: [], typed: [], cy: null, seq: 0 };
  var number = new Intl.NumberFormat("en-US");

  function $(id) { return document.getElementById(id); }

  function clear(el) { while (el.firstChild) { el.removeChild(el.firstChild); } }

  function item(text, cls) {
    var li = document.createElement("li");
    li.textContent = text;
    if (cls) { li.className = cls; }
    return li;
  }

  function showError(text) { $("explorer-error").textContent = text || ""; }

  function query(extra) {
    var params = new URLSearchParams();
    params.set("entry", state.entry);
    state.toggled.concat(state.typed).forEach(function (c) { params.append("change", c); });
    Object.keys(extra || {}).forEach(function (k) { params.set(k, extra[k]); });
    return params.toString();
  }

  function getJSON(path) {
    return fetch(path, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.error || String(response.status)); }
          return body;
        });
      });
  }

  // --- the entry picker ---

  function searchEntries() {
    var text = $("entry-search").value.trim();
    var list = $("entry-matches");
    if (!text) { clear(list); return; }
    getJSON("/graph/entries?q=" + encodeURIComponent(text)).then(function (body) {
      clear(list);
      body.matches.forEach(function (m) {
        var li = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "pick";
        button.dataset.spec = m.spec;
        button.textContent = m.kind + ": " + m.label + (m.org ? " (" + m.org + ")" : "");
        button.addEventListener("click", function () { pick(m.spec); });
        li.appendChild(button);
        list.appendChild(li);
      });
      if (body.more) { list.appendChild(item("+" + number.format(body.more))); }
    }).catch(function (e) { showError(e.message); });
  }

  function pick(spec) {
    if (!spec) { return; }
    state.entry = spec;
    state.toggled = [];
    state.typed = [];
    showError("");
    loadChoke();
    refresh();
  }

  // --- the numbers, the paths, the what-ifs ---

  function renderBlast(blast) {
    $("people-total").textContent = number.format(blast.exposure.total);
    $("people-before").textContent = blast.changes.length
      ? "(" + words.before + ": " + number.format(blast.people_before) + ")" : "";
    var body = $("people-table").querySelector("tbody");
    clear(body);
    Object.keys(blast.exposure.people).forEach(function (category) {
      var tr = document.createElement("tr");
      var a = document.createElement("td");
      var b = document.createElement("td");
      a.textContent = category;
      b.textContent = number.format(blast.exposure.people[category]);
      b.className = "num";
      tr.appendChild(a);
      tr.appendChild(b);
      body.appendChild(tr);
    });
    var soc = blast.exposure.secrecy_of_communications;
    $("people-soc").textContent = Object.keys(soc).map(function (c) {
      return words.soc + " (" + c + "): " + number.format(soc[c]);
    }).join("; ");
    var systems = $("systems");
    clear(systems);
    blast.systems.forEach(function (s) {
      systems.appendChild(item(s.name + " (" + s.id + ", " + s.owner + ")" + (s.crown_jewel ? " ★" : "")));
    });
    if (!blast.systems.length) { systems.appendChild(item(words.none)); }
    var stores = $("stores");
    clear(stores);
    blast.data_stores.forEach(function (d) {
      var people = Object.keys(d.people).map(function (c) { return c + " " + number.format(d.people[c]); });
      stores.appendChild(item(d.name + " (" + d.id + "): " + people.join(", ")));
    });
    if (!blast.data_stores.length) { stores.appendChild(item(words.none)); }
  }

  function renderPaths(paths) {
    var list = $("paths");
    clear(list);
    paths.forEach(function (p) {
      var li = document.createElement("li");
      var head = document.createElement("strong");
      head.textContent = p.target_label + " (" + words.cost + " " + p.cost + ")";
      li.appendChild(head);
      var steps = document.createElement("ol");
      p.steps.forEach(function (s) { steps.appendChild(item(s.text, s.allowed ? "" : "not-allowed")); });
      li.appendChild(steps);
      list.appendChild(li);
    });
    if (!paths.length) { list.appendChild(item(words.none)); }
  }

  function loadChoke() {
    var list = $("toggles");
    clear(list);
    $("choke-cut").textContent = words.loading;
    getJSON("/graph/choke?" + new URLSearchParams({ entry: state.entry }).toString()).then(function (body) {
      $("choke-cut").textContent = body.cut
        ? words.fewest + ": " + body.cut.changes.join(", ") + " (" + body.method + ")" : body.method;
      body.singles.forEach(function (point, i) {
        var li = document.createElement("li");
        var label = document.createElement("label");
        var box = document.createElement("input");
        box.type = "checkbox";
        box.id = "toggle-" + i;
        box.dataset.change = point.changes[0];
        box.addEventListener("change", function () {
          var change = box.dataset.change;
          state.toggled = state.toggled.filter(function (c) { return c !== change; });
          if (box.checked) { state.toggled.push(change); }
          refresh();
        });
        label.appendChild(box);
        label.appendChild(document.createTextNode(
          " " + point.changes[0] + " — " + words.protects + " " + number.format(point.people_protected) +
          (point.cuts_off ? " (" + words.cutsOff + ")" : "")));
        li.appendChild(label);
        list.appendChild(li);
      });
    }).catch(function (e) { $("choke-cut").textContent = ""; showError(e.message); });
  }

  function addTyped() {
    var text = $("change-text").value.trim();
    if (!text || !state.entry) { return; }
    state.typed.push(text);
    $("change-text").value = "";
    refresh().then(function (ok) {
      if (!ok) { state.typed.pop(); return; }  // a change the graph refused is not kept
      typedToggle(text);
    });
  }

  // A typed change stays listed, ticked; unticking it takes it out again.
  function typedToggle(text) {
    var li = document.createElement("li");
    var label = document.createElement("label");
    var box = document.createElement("input");
    box.type = "checkbox";
    box.checked = true;
    box.className = "typed";
    box.addEventListener("change", function () {
      state.typed = state.typed.filter(function (c) { return c !== text; });
      li.parentNode.removeChild(li);
      refresh();
    });
    label.appendChild(box);
    label.appendChild(document.createTextNode(" " + text));
    li.appendChild(label);
    $("toggles").appendChild(li);
  }

  // --- the view ---

  var STYLE = [
    { selector: "node", style: { label: "data(label)", "font-size": 9, "text-wrap": "ellipsis",
      "text-max-width": 150, "background-color": "#5b7083", color: "#1a1a1a" } },
    { selector: "node:parent", style: { "text-valign": "top", "background-opacity": 0.06,
      "border-width": 1, "border-color": "#8899aa" } },
    { selector: "node[kind = 'organisation']", style: { "font-size": 12, "font-weight": "bold",
      "border-width": 2, "border-color": "#1f2d3d" } },
    { selector: "node[kind = 'zone']", style: { shape: "round-rectangle", "background-color": "#cfe0f0" } },
    { selector: "node[kind = 'system']", style: { shape: "round-rectangle", "background-color": "#4a7fb5" } },
    { selector: "node[?crown_jewel]", style: { "background-color": "#b5651d" } },
    { selector: "node[kind = 'data_store']", style: { shape: "barrel", "background-color": "#a33" } },
    { selector: "node[kind = 'host']", style: { width: 12, height: 12, "background-color": "#777" } },
    { selector: "node[kind = 'more']", style: { shape: "rectangle", "background-color": "#eee" } },
    { selector: "node.unreached", style: { "background-opacity": 0.25, "text-opacity": 0.6 } },
    { selector: "node[?entry]", style: { "border-width": 4, "border-color": "#d4a017" } },
    { selector: "edge", style: { width: 1.5, "curve-style": "bezier", "target-arrow-shape": "triangle",
      "line-color": "#99a", "target-arrow-color": "#99a", label: "data(label)", "font-size": 7,
      "text-rotation": "autorotate", color: "#555" } },
    { selector: "edge[kind = 'path']", style: { width: 3, "line-color": "#c0392b",
      "target-arrow-color": "#c0392b" } },
    { selector: "edge[?removed]", style: { "line-style": "dashed", opacity: 0.4 } }
  ];

  // Organisations side by side, in the order the attack paths cross them (the entry's first); in each,
  // its zones one under the other; in a zone, what it holds on a grid. Same answer, same picture.
  function arrange(cy) {
    var orgs = [];
    function note(org) { if (org && orgs.indexOf(org) < 0) { orgs.push(org); } }
    cy.nodes("[?entry]").forEach(function (n) { note(n.data("org")); });
    cy.edges("[kind = 'path']").forEach(function (e) { note(e.source().data("org")); note(e.target().data("org")); });
    cy.nodes().forEach(function (n) { note(n.data("org")); });
    var positions = {};
    function grid(leaves, x, y) {
      var columns = Math.max(1, Math.min(10, Math.ceil(Math.sqrt(leaves.length))));
      var step = leaves.length > 12 ? 60 : 170;
      leaves.forEach(function (leaf, i) {
        positions[leaf.id()] = { x: x + (i % columns) * step, y: y + Math.floor(i / columns) * 70 };
      });
      return y + Math.ceil(leaves.length / columns) * 70 + 60;
    }
    orgs.forEach(function (org, column) {
      var group = cy.getElementById("org-group:" + org);
      var x = column * 460;
      var y = 0;
      var inside = group.empty() ? cy.nodes().filter(function (n) { return n.data("org") === org; }) : group.children();
      inside.filter(function (n) { return n.data("kind") === "zone"; }).forEach(function (zone) {
        var leaves = zone.descendants().filter(function (n) { return n.isChildless(); });
        if (!leaves.length) { positions[zone.id()] = { x: x, y: y }; y += 110; return; }
        y = grid(leaves.toArray(), x, y) + 30;
      });
      grid(inside.filter(function (n) { return n.isChildless() && n.data("kind") !== "zone"; }).toArray(), x, y);
    });
    cy.layout({ name: "preset", fit: true, padding: 24, positions: function (n) {
      return positions[n.id()] || { x: 0, y: 0 };
    } }).run();
  }

  // Out of reach (false, not merely unknown): drawn faint.
  function marked(node) {
    if (node.data.reached === false) { node.classes = "unreached"; }
    if (node.data.kind === "data_store" && node.data.people) {
      node.data.label += " (" + number.format(node.data.people) + ")";
    }
    return node;
  }

  function renderView(elements) {
    if (!state.cy) {
      // maxZoom: a view of one or two nodes is not blown up to fill the box
      state.cy = cytoscape({ container: $("cy"), style: STYLE, wheelSensitivity: 0.3, maxZoom: 1.5, minZoom: 0.02 });
      state.cy.on("dbltap", "node[kind = 'zone']", function (event) {
        if (event.target.data("expanded")) { collapseZone(event.target); } else { expandZone(event.target); }
      });
    }
    var cy = state.cy;
    cy.elements().remove();
    cy.add(elements.nodes.map(marked));
    cy.add(elements.edges);
    arrange(cy);
    $("export-svg").href = "/graph/export.svg?" + query();
    $("export-svg").classList.remove("hidden");
  }

  function expandZone(zone) {
    if (!zone.data("expandable") || zone.data("expanded")) { return; }
    var zoneId = zone.id().slice("zone:".length);
    getJSON("/graph/zone?" + query({ zone: zoneId })).then(function (body) {
      var cy = state.cy;
      zone.data("expanded", true);
      // the hosts this expansion adds are marked with their zone: collapsing removes them, not the hosts
      // the view drew before (those on a path)
      cy.add(body.hosts.filter(function (h) { return cy.getElementById(h.data.id).empty(); })
        .map(function (h) { h.data.fromZone = zoneId; return marked(h); }));
      if (body.more) {
        cy.add({ data: { id: "more:" + zoneId, kind: "more", parent: zone.id(),
          label: "+" + number.format(body.more) } });
      }
      arrange(cy);
    }).catch(function (e) { showError(e.message); });
  }

  function collapseZone(zone) {
    var cy = state.cy, zoneId = zone.id().slice("zone:".length);
    cy.nodes().filter(function (n) { return n.data("fromZone") === zoneId; }).remove();
    cy.getElementById("more:" + zoneId).remove();
    zone.data("expanded", false);
    arrange(cy);
  }

  function exportPng() {
    if (!state.cy) { return; }
    var blob = state.cy.png({ output: "blob", full: true, bg: "#ffffff", scale: 2 });
    var link = $("png-link");
    if (link.href.indexOf("blob:") === 0) { URL.revokeObjectURL(link.href); }
    link.href = URL.createObjectURL(blob);
    link.type = blob.type;
    link.dataset.bytes = String(blob.size);
    link.textContent = "attack-paths.png (" + number.format(Math.ceil(blob.size / 1024)) + " KB)";
    link.classList.remove("hidden");
    link.click();
  }

  // --- one round: the view answers the blast radius, the paths and the elements at once ---

  function refresh() {
    if (!state.entry) { showError(""); return Promise.resolve(false); }
    var mine = ++state.seq;
    $("people-total").textContent = words.loading;
    return getJSON("/graph/view?" + query()).then(function (body) {
      if (mine !== state.seq) { return true; }  // a later toggle's answer is the one to show
      showError("");
      renderBlast(body.blast);
      renderPaths(body.paths);
      renderView(body.elements);
      root.dataset.ready = String(mine);
      return true;
    }).catch(function (e) {
      if (mine === state.seq) { showError(e.message); $("people-total").textContent = "—"; }
      return false;
    });
  }

  // A read-only handle on the view (the Cytoscape instance, null before the first entry): the browser
  // tests read the nodes drawn through it; it cannot be reassigned.
  Object.defineProperty(window, "sekimoriGraph", { get: function () { return state.cy; } });

  $("show").addEventListener("click", function () { pick($("entry-org").value); });
  $("entry-org").addEventListener("change", function () { pick($("entry-org").value); });
  $("entry-search").addEventListener("input", searchEntries);
  $("add-change").addEventListener("click", addTyped);
  $("export-png").addEventListener("click", exportPng);
}());
