// Tessera dashboard: plain JavaScript and SVG, no library, no network but this server.
// One event stream (/api/events) feeds every page; each page draws its part of the state.
"use strict";
(function () {
  const page = document.body.dataset.page;
  const MAX_EVENTS = 20000, MAX_SAMPLES = 900, MAX_DRAWN = 5000;
  const NS = "http://www.w3.org/2000/svg";
  const state = { panels: {}, view: null, events: [], eventsNext: 0, memory: [], memoryNext: 0, windowMin: null };
  const main = document.getElementById("main");
  const summary = document.getElementById("summary");
  const connection = document.getElementById("connection");

  function colorOf(prefix) {
    let h = 0;
    for (let i = 0; i < prefix.length; i++) h = (h * 31 + prefix.charCodeAt(i)) >>> 0;
    return "hsl(" + (h % 360) + ", 62%, 52%)";
  }
  function bytes(n) {
    if (n == null) return "–";
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + u[i];
  }
  function secs(s) {
    if (s == null) return "–";
    if (s < 10) return s.toFixed(2) + " s";
    if (s < 120) return s.toFixed(0) + " s";
    if (s < 7200) return (s / 60).toFixed(0) + " min";
    return (s / 3600).toFixed(1) + " h";
  }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }
  function sv(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function card(id, label, value) {
    const c = el("div", { class: "card" });
    c.appendChild(el("div", { class: "label" }, label));
    c.appendChild(el("div", { class: "value", id: id }, value));
    return c;
  }
  function table(id, headers) {
    const t = el("table", { id: id });
    const tr = el("tr");
    headers.forEach(function (h) { tr.appendChild(el("th", null, h)); });
    t.appendChild(el("thead")).appendChild(tr);
    t.appendChild(el("tbody"));
    return t;
  }
  // A colour swatch followed by text, in a new `tag` element with `attrs`.
  function swatched(tag, attrs, color, text) {
    const e = el(tag, attrs);
    e.appendChild(el("span", { class: "swatch", style: "background:" + color }));
    e.appendChild(document.createTextNode(text));
    return e;
  }
  function cell(tr, text, cls) { tr.appendChild(el("td", cls ? { class: cls } : null, text)); }

  function apply(u) {
    state.view = u.view;
    state.panels = u.panels || {};
    const first = u.events_next - u.events.length;
    u.events.forEach(function (e, i) { if (first + i >= state.eventsNext) state.events.push(e); });
    state.eventsNext = Math.max(state.eventsNext, u.events_next);
    if (state.events.length > MAX_EVENTS) state.events.splice(0, state.events.length - MAX_EVENTS);
    const firstM = u.memory_next - u.memory.length;
    u.memory.forEach(function (m, i) { if (firstM + i >= state.memoryNext) state.memory.push(m); });
    state.memoryNext = Math.max(state.memoryNext, u.memory_next);
    if (state.memory.length > MAX_SAMPLES) state.memory.splice(0, state.memory.length - MAX_SAMPLES);
    render();
  }

  function renderSummary(v) {
    summary.replaceChildren(
      card("worker-count", "workers", String(v.info.workers.length)),
      card("tasks-per-second", "tasks / s", v.tasks_per_second.toFixed(1)),
      card("memory-bytes", "in memory", bytes(v.memory_bytes)),
      card("spilled-bytes", "spilled", bytes(v.spilled_bytes)),
      card("processing-count", "processing", String(v.info.tasks.processing || 0)),
      card("uptime", "uptime", secs(v.info.uptime_secs)));
  }

  function renderStatus(v, main) {
    const t = table("progress", ["prefix", "progress", "done", "in memory", "processing", "waiting", "erred", "compute", "spill reads", "fetching inputs"]);
    const body = t.tBodies[0];
    v.prefixes.forEach(function (p) {
      const tr = el("tr", { "data-prefix": p.prefix });
      tr.appendChild(swatched("td", null, colorOf(p.prefix), p.prefix));
      const total = p.done + p.processing + p.waiting + p.erred;
      const bar = el("td");
      const s = sv("svg", { width: 240, height: 14, class: "progress-bar" });
      let x = 0;
      [[p.done, colorOf(p.prefix), "done"], [p.processing, "#9fb3d9", "processing"],
       [p.waiting, "#e2e5ec", "waiting"], [p.erred, "#c62828", "erred"]].forEach(function (seg) {
        const w = total > 0 ? seg[0] / total * 240 : 0;
        sv("rect", { x: x, y: 0, width: w, height: 14, fill: seg[1], class: "seg-" + seg[2] }, s);
        x += w;
      });
      bar.appendChild(s);
      tr.appendChild(bar);
      cell(tr, String(p.done), "num done");
      cell(tr, String(p.in_memory), "num in-memory");
      cell(tr, String(p.processing), "num processing");
      cell(tr, String(p.waiting), "num waiting");
      cell(tr, String(p.erred), "num erred");
      cell(tr, secs(p.compute_secs), "num");
      cell(tr, secs(p.input_read_secs), "num");
      cell(tr, secs(p.transfer_secs || 0), "num transfer");
      body.appendChild(tr);
    });
    main.replaceChildren(t);
    if (!v.prefixes.length) main.appendChild(el("p", { class: "empty" }, "No tasks yet."));
  }

  function renderTasks(v, main) {
    const controls = el("div", { class: "controls" });
    controls.appendChild(el("span", null, "last"));
    [null, 1, 5, 15].forEach(function (m) {
      const b = el("button", { "data-window": m == null ? "fit" : m, class: state.windowMin === m ? "on" : "" },
        m == null ? "all" : m + " min");
      b.onclick = function () { state.windowMin = m; render(); };
      controls.appendChild(b);
    });
    const now = v.now_ms;
    // "all": from the oldest task kept (at least 2 s); otherwise the last N minutes.
    const oldest = state.events.length ? state.events[0].start_ms : now - 10000;
    const span = state.windowMin == null ? Math.max(2000, (now - oldest) * 1.02) : state.windowMin * 60000;
    const t0 = now - span;
    const spanLabel = span >= 120000 ? (span / 60000).toFixed(0) + " min" : (span / 1000).toFixed(0) + " s";
    const shown = state.events.filter(function (e) { return e.end_ms >= t0; }).slice(-MAX_DRAWN);
    const lanes = {};
    state.events.forEach(function (e) { lanes[e.worker + ":" + e.thread] = [e.worker, e.thread]; });
    v.info.workers.forEach(function (w) {
      for (let t = 0; t < w.nthreads; t++) lanes[w.id + ":" + t] = [w.id, t];
    });
    const keys = Object.keys(lanes).sort(function (a, b) {
      return lanes[a][0] - lanes[b][0] || lanes[a][1] - lanes[b][1];
    });
    const left = 70, W = Math.max(600, (main.clientWidth || 1200) - 20), lh = 18;
    const H = keys.length * lh + 24;
    const s = sv("svg", { id: "task-stream", width: W, height: H, "data-window-min": state.windowMin });
    const plotW = W - left - 10;
    keys.forEach(function (k, i) {
      sv("line", { x1: left, x2: W - 10, y1: i * lh + lh, y2: i * lh + lh, stroke: "#e5e8ef" }, s);
      const label = sv("text", { x: 4, y: i * lh + 13, class: "lane" }, s);
      label.textContent = "w" + lanes[k][0] + " · t" + lanes[k][1];
    });
    const index = {};
    keys.forEach(function (k, i) { index[k] = i; });
    shown.forEach(function (e) {
      const i = index[e.worker + ":" + e.thread];
      const x = left + Math.max(0, (e.start_ms - t0) / span * plotW);
      const x2 = left + (e.end_ms - t0) / span * plotW;
      const r = sv("rect", { x: x, y: i * lh + 3, width: Math.max(1, x2 - x), height: lh - 5,
        fill: colorOf(e.prefix), class: "task" + (e.erred ? " erred" : ""),
        "data-prefix": e.prefix, "data-worker": e.worker, "data-thread": e.thread }, s);
      sv("title", null, r).textContent = e.key + " · " + (e.end_ms - e.start_ms).toFixed(1) + " ms" +
        (e.input_read_ms > 0 ? " (" + e.input_read_ms.toFixed(1) + " ms reading spilled inputs)" : "");
      if (e.transfer_ms > 0) {
        const tx = left + Math.max(0, (e.start_ms - e.transfer_ms - t0) / span * plotW);
        const t = sv("rect", { x: tx, y: i * lh + 7, width: Math.max(1, x - tx), height: lh - 13,
          class: "transfer", "data-prefix": e.prefix }, s);
        sv("title", null, t).textContent = e.key + ": fetching inputs from other workers, " +
          e.transfer_ms.toFixed(1) + " ms, " + bytes(e.transfer_bytes);
      }
      if (e.input_read_ms > 0) {
        sv("rect", { x: x, y: i * lh + 3, width: Math.max(1, e.input_read_ms / span * plotW),
          height: lh - 5, class: "spill-read" }, s);
      }
    });
    const axis = sv("text", { x: left, y: H - 6 }, s);
    axis.textContent = "−" + spanLabel;
    const nowLabel = sv("text", { x: W - 40, y: H - 6 }, s);
    nowLabel.textContent = "now";
    s.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      state.windowMin = Math.min(60, Math.max(0.1, span / 60000 * (ev.deltaY > 0 ? 1.25 : 0.8)));
      render();
    }, { passive: false });
    const legend = el("div", { class: "legend" });
    const prefixes = {};
    shown.forEach(function (e) { prefixes[e.prefix] = (prefixes[e.prefix] || 0) + 1; });
    Object.keys(prefixes).sort().forEach(function (p) {
      legend.appendChild(swatched("span", { "data-prefix": p }, colorOf(p), p + " (" + prefixes[p] + ")"));
    });
    const count = el("p", { id: "task-stream-count" }, shown.length + " tasks in the last " +
      spanLabel + " on " + keys.length + " threads (mouse wheel over the plot zooms)");
    main.replaceChildren(controls, s, legend, count);
  }

  function memoryBar(w) {
    const W = 220, H = 16, m = w.metrics, limit = w.memory_limit;
    const s = sv("svg", { width: W, height: H, class: "memory-bar" });
    sv("rect", { x: 0, y: 0, width: W, height: H, fill: "#eef0f5" }, s);
    if (!limit) return s;
    const x = function (b) { return Math.min(W, b / limit * W); };
    sv("rect", { x: 0, y: 3, width: x(m.rss_bytes), height: H - 6, fill: "#7a93c8", class: "rss" }, s);
    sv("rect", { x: 0, y: 5, width: x(m.memory_bytes), height: H - 10, fill: "#2f5fb3", class: "stored" }, s);
    const th = w.memory_thresholds || {};
    [["target", "#2e7d32"], ["spill", "#ef8f00"], ["pause", "#c62828"], ["terminate", "#000"]].forEach(function (t) {
      const f = th[t[0]];
      if (f == null) return;
      const r = sv("line", { x1: f * W, x2: f * W, y1: 0, y2: H, stroke: t[1], "stroke-width": 2, class: "threshold-" + t[0] }, s);
      sv("title", null, r).textContent = t[0] + " " + Math.round(f * 100) + " %";
    });
    return s;
  }

  function renderWorkers(v, main) {
    const t = table("workers", ["worker", "host", "threads", "CPU", "memory (RSS and stored vs limit)", "RSS", "limit", "stored", "spilled", "running", "queued", "done", "time left", "state"]);
    const loads = {};
    v.loads.forEach(function (l) { loads[l.id] = l; });
    v.info.workers.forEach(function (w) {
      const m = w.metrics, l = loads[w.id] || {};
      const tr = el("tr", { "data-worker-id": w.id });
      cell(tr, w.name);
      cell(tr, w.host);
      cell(tr, String(w.nthreads), "num");
      cell(tr, (l.cpu_percent || 0).toFixed(0) + " %", "num cpu");
      const bar = el("td");
      bar.appendChild(memoryBar(w));
      tr.appendChild(bar);
      cell(tr, bytes(m.rss_bytes), "num");
      cell(tr, w.memory_limit ? bytes(w.memory_limit) : "none", "num");
      cell(tr, bytes(m.memory_bytes), "num");
      cell(tr, bytes(m.spilled_bytes), "num");
      cell(tr, String(m.executing), "num running");
      cell(tr, String(m.ready), "num");
      cell(tr, String(m.completed), "num");
      cell(tr, secs(w.remaining_lifetime_secs), "num");
      const st = l.retiring ? "retiring" : m.paused ? "paused" : m.disk_full ? "disk full" : "running";
      cell(tr, st, "state state-" + st.replace(" ", "-"));
      t.tBodies[0].appendChild(tr);
    });
    main.replaceChildren(t);
  }

  function renderMemory(v, main) {
    const W = Math.max(600, (main.clientWidth || 1200) - 20), H = 320, left = 70, bottom = 24;
    const samples = state.memory;
    const s = sv("svg", { id: "memory-chart", width: W, height: H });
    const limits = v.info.workers.map(function (w) { return w.memory_limit || 0; });
    let top = Math.max.apply(null, limits.concat([1]));
    samples.forEach(function (m) { m.workers.forEach(function (w) { top = Math.max(top, w[1]); }); });
    const t0 = samples.length ? samples[0].t_ms : 0, t1 = samples.length ? samples[samples.length - 1].t_ms : 1;
    const x = function (t) { return left + (t - t0) / Math.max(1, t1 - t0) * (W - left - 10); };
    const y = function (b) { return (H - bottom) - b / top * (H - bottom - 10); };
    [0, 0.5, 1].forEach(function (f) {
      sv("line", { x1: left, x2: W - 10, y1: y(top * f), y2: y(top * f), stroke: "#e5e8ef" }, s);
      sv("text", { x: 2, y: y(top * f) + 4 }, s).textContent = bytes(top * f);
    });
    const lines = {};
    samples.forEach(function (m) {
      m.workers.forEach(function (w) { (lines[w[0]] = lines[w[0]] || []).push([m.t_ms, w[1]]); });
    });
    const legend = el("div", { class: "legend" });
    Object.keys(lines).forEach(function (id) {
      const color = colorOf("worker-" + id);
      sv("polyline", { points: lines[id].map(function (p) { return x(p[0]) + "," + y(p[1]); }).join(" "),
        fill: "none", stroke: color, "stroke-width": 2, class: "mem-line", "data-worker": id }, s);
      legend.appendChild(swatched("span", { "data-worker": id }, color, "worker " + id + " RSS"));
    });
    v.info.workers.forEach(function (w) {
      if (!w.memory_limit) return;
      sv("line", { x1: left, x2: W - 10, y1: y(w.memory_limit), y2: y(w.memory_limit), stroke: "#c62828",
        "stroke-dasharray": "4 3", class: "limit" }, s);
    });
    sv("text", { x: left, y: H - 6 }, s).textContent = samples.length + " samples, one a second";
    main.replaceChildren(s, legend);
  }

  const STATE_COLORS = { waiting: "#c5cad6", processing: "#6f8fd1", memory: "#2e9d57", erred: "#c62828", released: "#eef0f5" };

  function renderGraph(v, main) {
    if (!v.graph) {
      main.replaceChildren(el("p", { class: "empty", id: "graph-too-large" },
        "The graph is drawn while at most 300 tasks are known (a small submission)."));
      return;
    }
    const nodes = v.graph, depth = new Array(nodes.length).fill(-1);
    function depthOf(i) {
      if (depth[i] >= 0) return depth[i];
      depth[i] = 0; // guards against a cycle, which the scheduler refuses anyway
      let d = 0;
      nodes[i].deps.forEach(function (j) { d = Math.max(d, depthOf(j) + 1); });
      depth[i] = d;
      return d;
    }
    nodes.forEach(function (_, i) { depthOf(i); });
    const layers = [];
    nodes.forEach(function (n, i) { (layers[depth[i]] = layers[depth[i]] || []).push(i); });
    const dx = 140, dy = 16, pad = 20, pos = [];
    layers.forEach(function (layer, d) {
      layer.sort(function (a, b) { return nodes[a].key < nodes[b].key ? -1 : 1; });
      layer.forEach(function (i, k) { pos[i] = [pad + d * dx, pad + k * dy]; });
    });
    const tallest = Math.max.apply(null, layers.map(function (l) { return l.length; }));
    const s = sv("svg", { id: "task-graph", width: pad * 2 + (layers.length - 1) * dx + 120,
      height: pad * 2 + tallest * dy });
    nodes.forEach(function (n, i) {
      n.deps.forEach(function (j) {
        sv("line", { x1: pos[j][0], y1: pos[j][1], x2: pos[i][0], y2: pos[i][1], stroke: "#c9ced9", class: "edge" }, s);
      });
    });
    nodes.forEach(function (n, i) {
      const c = sv("circle", { cx: pos[i][0], cy: pos[i][1], r: 6, fill: STATE_COLORS[n.state] || "#999",
        stroke: colorOf(n.key.replace(/-\d+$/, "")), "stroke-width": 2, class: "node state-" + n.state, "data-key": n.key }, s);
      sv("title", null, c).textContent = n.key + " · " + n.state;
    });
    const legend = el("div", { class: "legend" });
    Object.keys(STATE_COLORS).forEach(function (st) {
      legend.appendChild(swatched("span", { "data-state": st }, STATE_COLORS[st],
        st + " (" + nodes.filter(function (n) { return n.state === st; }).length + ")"));
    });
    main.replaceChildren(legend, s);
  }

  function renderJobs(v, main) {
    const q = state.panels.jobqueue;
    if (!q) {
      main.replaceChildren(el("p", { class: "empty", id: "no-job-queue" },
        "No job queue: this scheduler was not started by `tessera jobqueue … up`."));
      return;
    }
    const target = q.target.Adaptive ? "adaptive " + q.target.Adaptive.minimum + "–" + q.target.Adaptive.maximum
      : q.target.Jobs != null ? q.target.Jobs + " jobs" : (q.target.Workers || 0) + " workers";
    const figures = el("div", { class: "summary" });
    figures.append(card("jobs-system", "batch system", q.system), card("jobs-target", "target", target),
      card("jobs-desired", "jobs wanted now", String(q.desired_jobs)),
      card("jobs-submitted", "submitted", String(q.submitted_total)),
      card("jobs-failures", "failures in a row", String(q.consecutive_failures)));
    const t = table("jobs", ["job", "state", "workers connected", "age"]);
    q.jobs.forEach(function (j) {
      const tr = el("tr", { "data-job": j.id, "data-state": j.state });
      cell(tr, j.id); cell(tr, j.state, "state"); cell(tr, String(j.workers), "num"); cell(tr, secs(j.age_secs), "num");
      t.tBodies[0].appendChild(tr);
    });
    const notes = el("div");
    if (q.gave_up) notes.appendChild(el("p", { class: "state-disk-full" }, "gave up: " + q.gave_up));
    (q.messages || []).forEach(function (m) { notes.appendChild(el("p", { class: "empty" }, m)); });
    main.replaceChildren(figures, t, notes);
  }

  function renderReportFigures(v) {
    const ev = state.events;
    const first = ev.length ? Math.min.apply(null, ev.map(function (e) { return e.start_ms; })) : 0;
    const last = ev.length ? Math.max.apply(null, ev.map(function (e) { return e.end_ms; })) : 0;
    const compute = v.prefixes.reduce(function (a, p) { return a + p.compute_secs; }, 0);
    const reads = v.prefixes.reduce(function (a, p) { return a + p.input_read_secs; }, 0);
    const done = v.prefixes.reduce(function (a, p) { return a + p.done; }, 0);
    let peak = 0;
    state.memory.forEach(function (m) { m.workers.forEach(function (w) { peak = Math.max(peak, w[1]); }); });
    const threads = v.info.workers.reduce(function (a, w) { return a + w.nthreads; }, 0);
    const t = document.getElementById("report-figures");
    t.replaceChildren(
      card("report-tasks-done", "tasks done", String(done)),
      card("report-wall", "task stream span", secs((last - first) / 1000)),
      card("report-compute", "compute (all threads)", secs(compute)),
      card("report-spill-reads", "reading spilled inputs", secs(reads)),
      card("report-transfers", "fetching inputs", secs(v.prefixes.reduce(function (a, p) { return a + (p.transfer_secs || 0); }, 0))),
      card("report-threads", "worker threads", String(threads)),
      card("report-peak-rss", "peak worker RSS", bytes(peak)),
      card("report-spilled", "spilled at the end", bytes(v.spilled_bytes)));
  }

  function render() {
    const v = state.view;
    if (!v) return;
    renderSummary(v);
    if (page === "report") {
      renderReportFigures(v);
      renderStatus(v, document.getElementById("report-status"));
      renderTasks(v, document.getElementById("report-tasks"));
      renderWorkers(v, document.getElementById("report-workers"));
      renderMemory(v, document.getElementById("report-memory"));
      return;
    }
    ({ status: renderStatus, tasks: renderTasks, workers: renderWorkers, memory: renderMemory, graph: renderGraph, jobs: renderJobs })[page](v, main);
  }

  if (page === "report") {
    // A performance report: the data is in the page, nothing is fetched.
    apply(JSON.parse(document.getElementById("report-data").textContent));
    return;
  }
  const source = new EventSource("/api/events");
  source.addEventListener("update", function (ev) {
    connection.textContent = "live";
    connection.className = "connection live";
    apply(JSON.parse(ev.data));
  });
  source.onerror = function () {
    connection.textContent = "reconnecting…";
    connection.className = "connection";
  };
})();
