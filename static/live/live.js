// The live prediction feed: /ws/feed/ into a table, counters and a latency chart; a form that
// predicts over /ws/predict/{model}/. Signs in with the page's session, or a JWT kept in this tab.
(() => {
  "use strict";

  const script = document.currentScript;
  const sessionStaff = script.dataset.sessionStaff === "true";
  const MAX_ROWS = 200;
  const WINDOW_MS = 2 * 60 * 1000;
  const COLORS = {
    rest: "#3358d4", "v2-rest": "#7b5cd6", graphql: "#e535ab", soap: "#c7851a",
    websocket: "#1f9d62", grpc: "#0f8ca8", "v2-grpc": "#5a9e2f", mqtt: "#d14343",
  };
  const examples = JSON.parse(document.getElementById("examples").textContent);
  const $ = (id) => document.getElementById(id);

  const state = { total: 0, byProtocol: {}, byModel: {}, latencySum: {}, seen: new Set() };
  let token = sessionStorage.getItem("mlp.token");
  let feed = null;
  let retryMs = 1000;
  let failuresBeforeOpen = 0;

  // ---- connection ---------------------------------------------------------------------------
  function wsUrl(path) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = token ? `?token=${encodeURIComponent(token)}` : "";
    return `${scheme}//${location.host}${path}${query}`;
  }

  function setStatus(text, kind) {
    const el = $("status");
    el.textContent = text;
    el.className = `status status-${kind}`;
  }

  function signedIn() {
    return sessionStaff || Boolean(token);
  }

  function connectFeed() {
    if (!signedIn()) {
      $("login").hidden = false;
      setStatus("signed out", "off");
      return;
    }
    $("login").hidden = true;
    $("logout").hidden = !token;
    setStatus("connecting", "wait");
    const socket = new WebSocket(wsUrl("/ws/feed/"));
    let opened = false;
    feed = socket;
    socket.onopen = () => {
      opened = true;
      retryMs = 1000;
      failuresBeforeOpen = 0;
      setStatus("live", "on");
    };
    socket.onmessage = (message) => handleFeed(JSON.parse(message.data));
    socket.onclose = () => {
      if (feed !== socket) return; // replaced on purpose (sign in / out)
      if (!opened && ++failuresBeforeOpen >= 3 && token && !sessionStaff) {
        signOut("The feed refused the token (expired, or not staff). Sign in again.");
        return;
      }
      setStatus(`reconnecting in ${Math.round(retryMs / 1000)} s`, "off");
      setTimeout(connectFeed, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    };
  }

  function signOut(reason) {
    token = null;
    sessionStorage.removeItem("mlp.token");
    const old = feed;
    feed = null;
    if (old) old.close();
    $("login-error").textContent = reason || "";
    $("logout").hidden = true;
    connectFeed();
  }

  // ---- feed ---------------------------------------------------------------------------------
  function handleFeed(event) {
    if (event.type === "snapshot") {
      event.predictions.forEach((p) => addPrediction(p, false));
    } else if (event.type === "prediction") {
      addPrediction(event, true);
    }
  }

  function addPrediction(p, fresh) {
    if (state.seen.has(p.id)) return;
    state.seen.add(p.id);
    state.total += 1;
    state.byProtocol[p.protocol] = (state.byProtocol[p.protocol] || 0) + 1;
    state.latencySum[p.protocol] = (state.latencySum[p.protocol] || 0) + p.latency_ms;
    state.byModel[p.model] = (state.byModel[p.model] || 0) + 1;
    addRow(p, fresh);
    addPoint(p);
    renderCounters();
  }

  function addRow(p, fresh) {
    const tbody = $("feed").tBodies[0];
    const row = tbody.insertRow(0);
    row.dataset.protocol = p.protocol;
    row.dataset.id = p.id;
    if (fresh) row.className = "fresh";
    const when = p.time ? new Date(p.time) : new Date();
    cell(row, when.toLocaleTimeString());
    const badge = document.createElement("span");
    badge.className = "proto";
    badge.style.background = COLORS[p.protocol] || "#5b6478";
    badge.textContent = p.protocol;
    cell(row, "").appendChild(badge);
    cell(row, p.model);
    cell(row, p.input, "input");
    cell(row, formatOutput(p.output, p.count), "output");
    cell(row, p.cached ? "yes" : "", p.cached ? "yes" : "");
    cell(row, `${p.latency_ms.toFixed(2)} ms`, "num");
    while (tbody.rows.length > MAX_ROWS) tbody.deleteRow(-1);
    $("empty").hidden = true;
  }

  function cell(row, text, className) {
    const td = row.insertCell(-1);
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function formatOutput(items, count) {
    const shown = (items || []).map(formatItem).join(", ");
    return count > (items || []).length ? `${shown}, … (${count})` : shown;
  }

  function formatItem(item) {
    if (typeof item === "number") return Number.isInteger(item) ? String(item) : item.toFixed(3);
    if (typeof item === "string") return item;
    if (Array.isArray(item) && item.length) {
      return `${item[0].class} ${(item[0].confidence * 100).toFixed(1)}%`;
    }
    if (item && item.classification !== undefined) {
      return `${item.classification} (${Number(item.sentiment_score).toFixed(3)})`;
    }
    return JSON.stringify(item);
  }

  function renderCounters() {
    $("total").textContent = state.total;
    renderChips($("by-protocol"), state.byProtocol, true);
    renderChips($("by-model"), state.byModel, false);
  }

  function renderChips(list, counts, colored) {
    list.replaceChildren(
      ...Object.entries(counts)
        .sort((a, b) => b[1] - a[1])
        .map(([name, n]) => {
          const li = document.createElement("li");
          li.dataset.name = name;
          li.textContent = name;
          const b = document.createElement("b");
          b.textContent = n;
          li.appendChild(b);
          if (colored) {
            li.classList.add("dot");
            li.style.setProperty("--dot", COLORS[name] || "#5b6478");
            const mean = document.createElement("span");
            mean.className = "mean";
            mean.textContent = `${(state.latencySum[name] / n).toFixed(1)} ms`;
            li.appendChild(mean);
          }
          return li;
        }),
    );
  }

  // ---- chart --------------------------------------------------------------------------------
  const chart = new Chart($("latency-chart"), {
    type: "line",
    data: { datasets: [] },
    options: {
      animation: false,
      parsing: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: {
          type: "linear",
          ticks: { callback: (v) => new Date(v).toLocaleTimeString(), maxTicksLimit: 6 },
        },
        y: { beginAtZero: true, title: { display: true, text: "ms" } },
      },
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      elements: { point: { radius: 2 }, line: { borderWidth: 1.5, tension: 0.2 } },
    },
  });

  function dataset(protocol) {
    let ds = chart.data.datasets.find((d) => d.label === protocol);
    if (!ds) {
      const color = COLORS[protocol] || "#5b6478";
      ds = { label: protocol, data: [], borderColor: color, backgroundColor: color };
      chart.data.datasets.push(ds);
    }
    return ds;
  }

  function addPoint(p) {
    const x = p.time ? Date.parse(p.time) : Date.now();
    dataset(p.protocol).data.push({ x, y: p.latency_ms });
  }

  function tickChart() {
    const now = Date.now();
    chart.options.scales.x.min = now - WINDOW_MS;
    chart.options.scales.x.max = now;
    chart.data.datasets.forEach((ds) => {
      ds.data = ds.data.filter((pt) => pt.x >= now - WINDOW_MS).sort((a, b) => a.x - b.x);
    });
    chart.update("none");
  }

  // ---- predict form -------------------------------------------------------------------------
  let predictSocket = null;
  let predictModel = null;
  let nextId = 1;

  function predictOver(model) {
    if (predictSocket && predictModel === model && predictSocket.readyState <= 1) {
      return Promise.resolve(predictSocket);
    }
    if (predictSocket) predictSocket.close();
    predictModel = model;
    predictSocket = new WebSocket(wsUrl(`/ws/predict/${encodeURIComponent(model)}/`));
    predictSocket.onmessage = (m) => {
      $("predict-result").textContent = JSON.stringify(JSON.parse(m.data), null, 2);
      $("predict-result").classList.remove("muted");
    };
    const socket = predictSocket;
    return new Promise((resolve, reject) => {
      socket.onopen = () => resolve(socket);
      socket.onerror = () => reject(new Error("could not connect (signed in?)"));
    });
  }

  function fillExample() {
    const example = examples[$("predict-model").value];
    $("predict-input").value = example ? JSON.stringify(example) : "{}";
  }

  $("predict-model").addEventListener("change", fillExample);
  $("predict-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    let body;
    try {
      body = JSON.parse($("predict-input").value);
    } catch (err) {
      $("predict-result").textContent = `Not JSON: ${err.message}`;
      return;
    }
    body.id = nextId++;
    try {
      const socket = await predictOver($("predict-model").value);
      socket.send(JSON.stringify(body));
    } catch (err) {
      $("predict-result").textContent = err.message;
    }
  });

  // ---- sign in ------------------------------------------------------------------------------
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    $("login-error").textContent = "";
    const response = await fetch("/api/v1/auth/token/", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: form.get("username"), password: form.get("password") }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      $("login-error").textContent = (body.error && body.error.message) || "Sign-in failed";
      return;
    }
    const claims = JSON.parse(atob(body.access.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    if (!claims.is_staff) {
      $("login-error").textContent = "The live feed is for staff accounts.";
      return;
    }
    token = body.access;
    sessionStorage.setItem("mlp.token", token);
    connectFeed();
  });
  $("logout").addEventListener("click", () => signOut(""));

  fillExample();
  setInterval(tickChart, 1000);
  tickChart();
  connectFeed();
})();
