// The mock dashboard: every action below is one control-API request (see /_mock/openapi.json).
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);
  const state = { world: "default", entries: new Map(), selected: null, source: null, vendor: "", view: "journal" };
  // The default world needs no prefix (and then the vendor's links carry none).
  const base = () => state.world === "default" ? "/_mock" : "/_mock/w/" + encodeURIComponent(state.world) + "/_mock";

  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    Object.entries(props || {}).forEach(([k, v]) => {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    });
    children.forEach((c) => e.append(c instanceof Node ? c : document.createTextNode(String(c))));
    return e;
  }

  function say(text, good) {
    const m = $("#message");
    m.textContent = text;
    m.className = good ? "message good" : "message";
    m.hidden = false;
    clearTimeout(say.timer);
    say.timer = setTimeout(() => { m.hidden = true; }, 4000);
  }

  async function call(method, path, body, raw) {
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.body = raw ? body : JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const res = await fetch(path, init);
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
    if (!res.ok) {
      const msg = json && json.error ? json.error.message : res.status + " " + text;
      say(msg, false);
      throw new Error(msg);
    }
    return json;
  }
  // A failed action is already shown to the user; keep it off the console.
  const act = (f) => (ev) => { if (ev) ev.preventDefault(); f().catch(() => {}); };

  // ---- journal -------------------------------------------------------------------------------
  function matches(e) {
    const m = $("#f-method").value, p = $("#f-path").value.trim(), s = $("#f-status").value.trim();
    if (m && e.request.method !== m) return false;
    if (p && !e.request.url.includes(p)) return false;
    if (s) {
      const st = String(e.response.status);
      if (/^[1-5]xx$/i.test(s)) { if (st[0] !== s[0]) return false; }
      else if (st !== s) return false;
    }
    return true;
  }

  function renderJournal() {
    const tbody = $("#journal tbody");
    const list = [...state.entries.values()].sort((a, b) => b.id - a.id).filter(matches);
    tbody.replaceChildren(...list.map((e) => {
      const tr = el("tr", { tabindex: "0", "data-id": e.id, "aria-selected": String(state.selected === e.id) },
        el("td", {}, e.id),
        el("td", {}, e.at.slice(11, 23)),
        el("td", {}, e.request.method),
        el("td", { class: "path" }, e.request.url),
        el("td", { class: "s" + String(e.response.status)[0] }, e.response.status,
          ...(e.fault ? [el("span", { class: "fault", title: "fault rule " + e.fault }, "fault " + e.fault)] : [])),
        el("td", {}, e.duration_ms.toFixed(1)),
        el("td", {}, e.world));
      tr.addEventListener("click", () => select(e.id));
      tr.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); select(e.id); }
        else if (ev.key === "ArrowDown" && tr.nextElementSibling) { ev.preventDefault(); tr.nextElementSibling.focus(); }
        else if (ev.key === "ArrowUp" && tr.previousElementSibling) { ev.preventDefault(); tr.previousElementSibling.focus(); }
      });
      return tr;
    }));
    $("#count").textContent = "(" + list.length + (list.length !== state.entries.size ? " of " + state.entries.size : "") + ")";
    $("#empty").hidden = state.entries.size > 0;
  }

  const headersText = (h) => (h || []).map(([name, value]) => name + ": " + value).join("\n");
  // r: a recorded request or response (fields body, body_encoding, body_size, body_truncated).
  function bodyText(r) {
    if (!r || r.body === null || r.body === undefined) return "(empty)";
    let t = r.body;
    if (r.body_encoding === "base64") t = "(binary, base64) " + t;
    else { try { t = JSON.stringify(JSON.parse(t), null, 2); } catch (_) { /* not JSON: as it is */ } }
    return t + (r.body_truncated ? "\n… (truncated; " + r.body_size + " bytes)" : "");
  }
  const shq = (s) => "'" + String(s).replace(/'/g, "'\\''") + "'";
  function curlOf(e) {
    const parts = ["curl", "-X", e.request.method, shq(location.origin + e.request.url)];
    (e.request.headers || []).forEach(([name, value]) => {
      if (!/^(host|content-length|connection|accept-encoding|x-mock-world)$/i.test(name)) parts.push("-H", shq(name + ": " + value));
    });
    if (e.world !== "default") parts.push("-H", shq("X-Mock-World: " + e.world));
    const r = e.request;
    if (r.body !== null && r.body !== undefined && r.body_encoding !== "base64") parts.push("--data-raw", shq(r.body));
    return parts.join(" ");
  }

  function select(id) {
    const e = state.entries.get(id);
    if (!e) return;
    state.selected = id;
    $("#detail").hidden = false;
    $("#d-title").textContent = "#" + e.id + " " + e.request.method + " " + e.request.url + " → " + e.response.status + (e.fault ? " (fault " + e.fault + ")" : "");
    $("#d-curl").textContent = curlOf(e);
    $("#d-reqh").textContent = headersText(e.request.headers);
    $("#d-reqb").textContent = bodyText(e.request);
    $("#d-resh").textContent = headersText(e.response.headers);
    $("#d-resb").textContent = bodyText(e.response) + (e.response.error ? "\n" + e.response.error : "");
    document.querySelectorAll("#journal tbody tr").forEach((tr) => tr.setAttribute("aria-selected", String(Number(tr.dataset.id) === id)));
    $("#copy-curl").focus();
  }

  async function loadJournal() {
    const j = await call("GET", base() + "/journal");
    (j.entries || []).forEach((e) => state.entries.set(e.id, e));
    renderJournal();
  }

  function connect() {
    if (state.source) state.source.close();
    state.entries.clear();
    const src = new EventSource(base() + "/journal/events");
    state.source = src;
    src.addEventListener("open", () => {
      $("#live").textContent = "live";
      // Subscribed first, then the backlog: nothing falls between the two (ids deduplicate).
      loadJournal().catch(() => {});
    });
    src.addEventListener("entry", (ev) => {
      const e = JSON.parse(ev.data);
      state.entries.set(e.id, e);
      renderJournal();
      if (e.fault) loadFaults().catch(() => {});
      if (state.view !== "journal") refreshView().catch(() => {});
    });
    src.addEventListener("lagged", () => { loadJournal().catch(() => {}); });
    src.addEventListener("error", () => { $("#live").textContent = "reconnecting…"; });
  }

  // ---- worlds --------------------------------------------------------------------------------
  async function loadWorlds() {
    const w = await call("GET", "/_mock/worlds");
    const worlds = w.worlds || [];
    const names = worlds.map((x) => x.name);
    if (!names.includes(state.world)) names.unshift(state.world);
    $("#world").replaceChildren(...names.map((n) => el("option", n === state.world ? { selected: "" } : {}, n)));
    $("#worlds").replaceChildren(...worlds.map((x) => el("li", {},
      el("strong", {}, x.name), " ", (x.journal_entries !== undefined ? x.journal_entries + " requests " : ""),
      el("button", { type: "button", onclick: act(async () => { await call("POST", "/_mock/worlds/" + encodeURIComponent(x.name) + "/reset"); say("world " + x.name + " reset", true); await refresh(); }) }, "Reset"), " ",
      el("button", { type: "button", onclick: act(async () => { await call("DELETE", "/_mock/worlds/" + encodeURIComponent(x.name)); say("world " + x.name + " dropped", true); if (x.name === state.world) switchWorld("default"); else await loadWorlds(); }) }, "Drop"))));
  }
  function switchWorld(name) {
    state.world = name;
    state.selected = null;
    $("#detail").hidden = true;
    st.record = null; st.offset = 0; st.q = "";
    $("#record").hidden = true;
    history.replaceState(null, "", "#world=" + encodeURIComponent(name));
    links();
    connect();
    refresh().catch(() => {});
  }

  // ---- clock and timeline ----------------------------------------------------------------------
  function showClock(c) {
    $("#clock-now").textContent = c.now;
    $("#clock-frozen").textContent = c.frozen ? "frozen" : "running";
  }
  function showTimeline(moved, fresh) {
    const rows = (moved || []).slice().reverse().map((m) => el("tr", fresh ? { class: "moved" } : {},
      el("td", {}, String(m.at).slice(0, 16).replace("T", " ")), el("td", {}, m.resource), el("td", {}, m.id), el("td", {}, m.change + (m.event ? " (" + m.event + ")" : ""))));
    if (!rows.length && fresh) rows.push(el("tr", {}, el("td", { colspan: "4", class: "hint" }, "nothing moved")));
    $("#timeline tbody").replaceChildren(...rows);
  }
  async function loadClock() {
    showClock(await call("GET", base() + "/clock"));
    const t = await call("GET", base() + "/timeline?limit=50");
    showTimeline(t.timeline, false);
  }
  async function clockAction(body) {
    const c = await call("POST", base() + "/clock", body);
    showClock(c);
    if (c.timeline) {
      showTimeline(c.timeline, true);
      say((c.timeline.length || 0) + " changes moved by the clock", true);
    }
  }

  // ---- faults --------------------------------------------------------------------------------
  async function loadFaults() {
    const f = await call("GET", base() + "/faults");
    const rows = (f.rules || []).map((r) => el("tr", { "data-rule": r.id },
      el("td", {}, r.id),
      el("td", {}, (r.method || "any") + " " + (r.path || "/**") + " → " + JSON.stringify(r.action)),
      el("td", { class: "fired" }, r.fired),
      el("td", {}, r.remaining === null || r.remaining === undefined ? "∞" : r.remaining),
      el("td", {}, el("button", { type: "button", "aria-label": "Remove rule " + r.id, onclick: act(async () => { await call("DELETE", base() + "/faults/" + encodeURIComponent(r.id)); await loadFaults(); }) }, "Remove"))));
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "5", class: "hint" }, "no rules")));
    $("#faults tbody").replaceChildren(...rows);
  }
  async function addFault() {
    const type = $("#fault-type").value, v = $("#fault-value").value.trim();
    const action = { type };
    if (type === "status") action.status = Number(v);
    if (type === "latency") action.ms = Number(v);
    if (type === "rate_limit" && v) action.retry_after = Number(v);
    const rule = { path: $("#fault-path").value.trim() || "/**", action };
    if ($("#fault-method").value) rule.method = $("#fault-method").value;
    if ($("#fault-times").value) rule.times = Number($("#fault-times").value);
    const r = await call("POST", base() + "/faults", rule);
    say("fault rule " + (r && r.id ? r.id : "") + " added", true);
    await loadFaults();
  }

  // ---- scenarios and snapshots -----------------------------------------------------------------
  async function loadScenarios() {
    const s = await call("GET", base() + "/scenarios");
    $("#scenarios").replaceChildren(...(s.scenarios || []).map((x) => el("li", {},
      el("button", { type: "button", onclick: act(async () => { const r = await call("POST", base() + "/scenarios/" + encodeURIComponent(x.name)); say("scenario " + x.name + " loaded", true); showTimeline(r.timeline, true); await loadClock(); }) }, "Load"),
      " ", el("strong", {}, x.name), " — " + x.about)));
  }
  async function upload() {
    const file = $("#snap-file").files[0];
    if (!file) { say("choose a snapshot file first", false); return; }
    await call("PUT", base() + "/snapshot", await file.text(), true);
    say("world " + state.world + " replaced from " + file.name, true);
    await refresh();
  }

  // Whether `value` differs from what was last shown under `key`: a refresh that changes nothing
  // leaves the page (and the keyboard focus in it) alone.
  const shown = new Map();
  function changed(key, value) {
    const text = JSON.stringify(value);
    if (shown.get(key) === text) return false;
    shown.set(key, text);
    return true;
  }

  // ---- state browser -------------------------------------------------------------------------
  const st = { resources: [], resource: null, offset: 0, limit: 20, q: "", total: 0, record: null };
  const enc = encodeURIComponent;
  const when = (t) => String(t || "").slice(0, 19).replace("T", " ");

  async function loadResources() {
    const r = await call("GET", base() + "/state");
    st.resources = r.resources || [];
    if (!st.resources.some((x) => x.name === st.resource)) st.resource = st.resources.length ? st.resources[0].name : null;
    $("#resources").replaceChildren(...st.resources.map((x) => el("button", {
      type: "button", "data-resource": x.name, "aria-pressed": String(x.name === st.resource),
      onclick: act(() => openResource(x.name)),
    }, x.label + " (" + x.count + ")")));
    const cur = st.resources.find((x) => x.name === st.resource);
    $("#state-search-hint").textContent = cur ? "by " + cur.search : "this mock has no records to browse";
  }
  async function openResource(name) {
    st.resource = name; st.offset = 0; st.q = ""; $("#state-q").value = "";
    await loadResources();
    await loadRecords();
  }
  async function loadRecords() {
    if (!st.resource) { $("#records tbody").replaceChildren(); return; }
    const qs = "?limit=" + st.limit + "&offset=" + st.offset + (st.q ? "&q=" + enc(st.q) : "");
    const p = await call("GET", base() + "/state/" + enc(st.resource) + qs);
    st.total = p.total;
    if (!changed("records", [state.world, p, st.record && st.record.id])) return;
    const rows = (p.items || []).map((r) => {
      const tr = el("tr", { tabindex: "0", "data-resource": r.resource, "data-id": r.id, "aria-selected": String(!!st.record && st.record.id === r.id) },
        el("td", { class: "label" }, r.label), el("td", { class: "id" }, r.id), el("td", { class: "id" }, r.tenant));
      const open = () => openRecord(r.resource, r.id, true).catch(() => {});
      tr.addEventListener("click", open);
      tr.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(); }
        else if (ev.key === "ArrowDown" && tr.nextElementSibling) { ev.preventDefault(); tr.nextElementSibling.focus(); }
        else if (ev.key === "ArrowUp" && tr.previousElementSibling) { ev.preventDefault(); tr.previousElementSibling.focus(); }
      });
      return tr;
    });
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "3", class: "hint" }, st.q ? "nothing found for " + st.q : "no records")));
    $("#records tbody").replaceChildren(...rows);
    const shown = (p.items || []).length;
    let text = shown ? (st.offset + 1) + "–" + (st.offset + shown) + " of " + p.total : "0 of " + p.total;
    if (p.served === "scan") text += " (searched " + p.scanned + " records" + (p.complete ? "" : ", not all") + ")";
    $("#state-page").textContent = text;
    $("#state-prev").disabled = st.offset === 0;
    $("#state-next").disabled = st.offset + shown >= p.total;
  }
  async function openRecord(resource, id, focus) {
    const r = await call("GET", base() + "/state/" + enc(resource) + "/" + enc(id));
    st.record = { resource, id };
    if (!changed("record", [state.world, r]) && !$("#record").hidden) { if (focus) $("#r-close").focus(); return; }
    $("#record").hidden = false;
    $("#record").dataset.resource = resource;
    $("#record").dataset.id = r.id;
    $("#r-title").textContent = r.label;
    $("#r-tenant").textContent = resource + " " + r.id + " · tenant " + r.tenant;
    const links = (r.links || []).map((l) => el("li", {}, el("button", {
      type: "button", class: "link", "data-resource": l.resource, "data-id": l.id,
      onclick: act(() => openRecord(l.resource, l.id, true)),
    }, l.label)));
    if (!links.length) links.push(el("li", { class: "hint" }, "none"));
    $("#r-links").replaceChildren(...links);
    const hist = (r.history || []).slice().reverse().map((h) => el("tr", { class: h.source },
      el("td", {}, when(h.at)),
      el("td", { class: "path" }, h.source === "request" ? h.method + " " + h.url : "rule: " + h.change + (h.event ? " (" + h.event + ")" : "")),
      el("td", {}, h.source === "request" ? h.status : "")));
    if (!hist.length) hist.push(el("tr", {}, el("td", { colspan: "3", class: "hint" }, "no requests named it and no rule moved it yet")));
    $("#r-history tbody").replaceChildren(...hist);
    $("#r-json").textContent = JSON.stringify(r.record, null, 2);
    document.querySelectorAll("#records tbody tr").forEach((tr) => tr.setAttribute("aria-selected", String(tr.dataset.id === String(r.id))));
    if (focus) $("#r-close").focus();
  }

  // ---- webhooks ------------------------------------------------------------------------------
  async function loadWebhooks() {
    const w = await call("GET", base() + "/webhooks");
    if (!changed("webhooks", [state.world, w])) return;
    $("#wh-note").textContent = w.available ? (w.note || "") : "this mock has no webhooks";
    const subs = (w.subscriptions || []).map((x) => el("tr", { "data-subscription": x.id },
      el("td", {}, x.id), el("td", {}, x.api), el("td", { class: "path" }, x.url), el("td", {}, x.active ? "yes" : "no"),
      el("td", { class: "path", title: x.events.join(", ") }, x.events.length ? x.events.slice(0, 3).join(", ") + (x.events.length > 3 ? " and " + (x.events.length - 3) + " more" : "") : "all"),
      el("td", { class: "path" }, x.tenant)));
    if (!subs.length) {
      subs.push(el("tr", {}, el("td", { colspan: "6", class: "hint" }, state.vendor === "paywise"
        ? "no endpoints: POST /v1/webhooks/ or /v2/webhooks/ adds one"
        : "no subscriptions: POST /_mock/payt/webhooks adds one (or --payt-webhook URL)")));
    }
    $("#subscriptions tbody").replaceChildren(...subs);
    const rows = (w.deliveries || []).map((d) => el("tr", { "data-delivery": d.id },
      el("td", {}, d.id),
      el("td", {}, d.api),
      el("td", {}, d.event),
      el("td", { class: "status st-" + d.status }, d.status),
      el("td", { class: "attempts" }, el("span", { class: "n" }, d.attempts),
        el("ul", { class: "attempt-log" }, ...(d.attempt_log || []).map((a) => el("li", {}, when(a.at) + " → " + (a.status === null ? "no answer" : a.status) + (a.error ? ": " + a.error : ""))))),
      el("td", {}, d.next_attempt_at ? when(d.next_attempt_at) : "—"),
      el("td", {}, d.redeliver ? el("button", {
        type: "button", class: "redeliver", "aria-label": "Redeliver delivery " + d.id,
        onclick: act(async () => { await call("POST", base() + "/webhooks/deliveries/" + enc(d.id) + "/redeliver"); say("delivery " + d.id + " queued again", true); await loadWebhooks(); }),
      }, "Redeliver") : "")));
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "7", class: "hint" }, "no deliveries yet")));
    $("#deliveries tbody").replaceChildren(...rows);
    $("#wh-count").textContent = "(" + (w.deliveries || []).length + " of " + (w.total_deliveries || 0) + ")";
  }

  function links() {
    $("#har").href = base() + "/journal/har";
    $("#snap-download").href = base() + "/snapshot";
    $("#try").textContent = "curl " + location.origin + (state.vendor === "paywise" ? "/v1/" : "/v1/debtors");
  }

  // What the open view shows, loaded again (after a request arrived, a world switch, a poll).
  async function refreshView() {
    if (state.view === "state") {
      await loadResources();
      await loadRecords();
      if (st.record) await openRecord(st.record.resource, st.record.id, false);
    } else if (state.view === "webhooks") {
      await loadWebhooks();
    }
  }

  async function refresh() {
    await Promise.all([loadWorlds(), loadClock(), loadFaults(), loadScenarios(), refreshView()]);
  }

  const VIEWS = ["journal", "state", "webhooks", "controls"];
  function view(name) {
    state.view = name;
    document.querySelectorAll("nav button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.view === name)));
    VIEWS.forEach((v) => { $("#view-" + v).hidden = name !== v; });
    refreshView().catch(() => {});
  }

  async function start() {
    const m = /world=([^&]+)/.exec(location.hash);
    if (m) state.world = decodeURIComponent(m[1]);
    const info = await call("GET", "/_mock");
    state.vendor = info.vendor;
    $("#vendor").textContent = info.vendor;
    document.title = info.vendor + " mock dashboard";
    links();
    document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => view(b.dataset.view)));
    ["#f-method", "#f-path", "#f-status"].forEach((s) => $(s).addEventListener("input", renderJournal));
    $("#filters").addEventListener("submit", (ev) => ev.preventDefault());
    $("#world").addEventListener("change", () => switchWorld($("#world").value));
    $("#clear-journal").addEventListener("click", act(async () => { await call("DELETE", base() + "/journal"); state.entries.clear(); renderJournal(); }));
    $("#copy-curl").addEventListener("click", act(async () => {
      const text = $("#d-curl").textContent;
      try { await navigator.clipboard.writeText(text); say("curl command copied", true); }
      catch (_) { const r = document.createRange(); r.selectNodeContents($("#d-curl")); getSelection().removeAllRanges(); getSelection().addRange(r); say("select and copy the command (clipboard not available)", true); }
    }));
    $("#d-close").addEventListener("click", () => { $("#detail").hidden = true; state.selected = null; renderJournal(); });
    $("#new-world").addEventListener("submit", act(async () => { const n = $("#new-world-name").value.trim(); await call("POST", "/_mock/worlds", { name: n }); $("#new-world-name").value = ""; switchWorld(n); }));
    $("#freeze").addEventListener("click", act(() => clockAction({ action: "freeze" })));
    $("#unfreeze").addEventListener("click", act(() => clockAction({ action: "unfreeze" })));
    $("#advance").addEventListener("submit", act(() => clockAction({ action: "advance", by: $("#advance-by").value.trim() })));
    $("#set").addEventListener("submit", act(() => clockAction({ action: "set", at: $("#set-at").value.trim() })));
    $("#new-fault").addEventListener("submit", act(addFault));
    $("#clear-faults").addEventListener("click", act(async () => { await call("DELETE", base() + "/faults"); await loadFaults(); }));
    $("#snap-upload").addEventListener("submit", act(upload));
    $("#state-search").addEventListener("submit", act(async () => { st.q = $("#state-q").value.trim(); st.offset = 0; await loadRecords(); }));
    $("#state-clear").addEventListener("click", act(async () => { st.q = ""; $("#state-q").value = ""; st.offset = 0; await loadRecords(); }));
    $("#state-prev").addEventListener("click", act(async () => { st.offset = Math.max(0, st.offset - st.limit); await loadRecords(); }));
    $("#state-next").addEventListener("click", act(async () => { st.offset += st.limit; await loadRecords(); }));
    $("#r-close").addEventListener("click", () => { $("#record").hidden = true; st.record = null; });
    // Deliveries are made in the background: while the view is open, look again every second.
    setInterval(() => { if (state.view === "webhooks" && !document.hidden) loadWebhooks().catch(() => {}); }, 1000);
    connect();
    const v = /view=([a-z]+)/.exec(location.hash);
    if (v && VIEWS.includes(v[1])) view(v[1]);
    await refresh();
  }
  document.addEventListener("DOMContentLoaded", () => { start().catch(() => {}); });
})();
