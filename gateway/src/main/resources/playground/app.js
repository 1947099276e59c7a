// ExpertMesh playground: chat over the /v1/stream WebSocket and a live view of the cluster from
// /cluster and /metrics. Plain JavaScript, no dependencies; every URL is relative to the page.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 1000;
  const HIDDEN_POLL_MS = 5000;
  const WINDOW_S = 60;
  const RECENT_S = 10;
  const TOP_LOGPROBS = 5;
  const NODE_COLOURS = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00", "#56b4e9", "#8c6d1f", "#7b5cc4"];

  // ---------------------------------------------------------------- API key
  let apiKey = sessionStorage.getItem("expertmesh.apiKey") || "";
  const authHeaders = () => (apiKey ? { Authorization: "Bearer " + apiKey } : {});

  $("api-key").value = apiKey;
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    apiKey = $("api-key").value.trim();
    if (apiKey) sessionStorage.setItem("expertmesh.apiKey", apiKey);
    else sessionStorage.removeItem("expertmesh.apiKey");
    $("key-box").open = false;
    if (socket) socket.close();
    socket = null;
    loadModels();
    connect().catch(() => {});
  });

  // ---------------------------------------------------------------- models
  async function loadModels() {
    const select = $("model");
    try {
      const r = await fetch("v1/models", { headers: authHeaders() });
      if (r.status === 401) {
        setConn("error", "API key needed");
        $("key-box").open = true;
        return;
      }
      const body = await r.json();
      const previous = select.value;
      select.replaceChildren(...body.data.map((m) => new Option(m.id, m.id)));
      if (previous && body.data.some((m) => m.id === previous)) select.value = previous;
      select.title = select.value;
    } catch (e) {
      setConn("error", "server unreachable");
    }
  }

  // ---------------------------------------------------------------- WebSocket
  let socket = null;
  let connecting = null;
  const pending = new Map(); // client id -> request state

  function setConn(state, text) {
    const el = $("conn");
    el.dataset.state = state;
    el.textContent = text;
  }

  function socketUrl() {
    const u = new URL("v1/stream", location.href);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    if (apiKey) u.searchParams.set("api_key", apiKey);
    return u.href;
  }

  function connect() {
    if (socket && socket.readyState === WebSocket.OPEN) return Promise.resolve(socket);
    if (connecting) return connecting;
    setConn("connecting", "connecting…");
    connecting = new Promise((resolve, reject) => {
      const ws = new WebSocket(socketUrl());
      ws.onopen = () => {
        socket = ws;
        connecting = null;
        setConn("open", "connected");
        resolve(ws);
      };
      ws.onmessage = (e) => onFrame(e.data);
      ws.onclose = () => {
        if (connecting) {
          connecting = null;
          setConn("error", apiKey ? "connection refused (check the API key)" : "connection refused");
          reject(new Error("WebSocket closed before it opened"));
        } else {
          setConn("error", "disconnected");
        }
        if (socket === ws) socket = null;
        for (const req of pending.values()) finish(req, "error", "the connection closed");
        pending.clear();
      };
    });
    return connecting;
  }

  function onFrame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    const req = frame.id != null ? pending.get(frame.id) : null;
    if (!req) {
      if (frame.error && frame.id == null) setConn("error", frame.error.message);
      return;
    }
    if (frame.chunk) onChunk(req, frame.chunk);
    if (frame.error) finish(req, "error", errorText(frame.error));
    else if (frame.done) finish(req, frame.cancelled ? "stopped" : "done");
  }

  function onChunk(req, chunk) {
    if (chunk.usage) req.usage = chunk.usage;
    const choice = chunk.choices && chunk.choices[0];
    if (!choice) return;
    const content = choice.delta ? choice.delta.content : choice.text;
    const logprobs = choice.logprobs && choice.logprobs.content;
    // A token that ends inside a UTF-8 character may arrive before its text: keep its entry until then.
    if (logprobs) req.tokenInfo.push(...logprobs);
    if (content) {
      if (req.firstAt == null) req.firstAt = performance.now();
      req.pieces++;
      req.text += content;
      if (req.tokenInfo.length) {
        appendTokens(req, content, req.tokenInfo);
        req.tokenInfo = [];
      } else {
        req.textNode.appendData(content);
      }
      keepScrolled();
    }
    if (choice.finish_reason) req.finishReason = choice.finish_reason;
  }

  // ---------------------------------------------------------------- conversation
  const history = []; // {role, content} of finished turns
  let active = null; // the request in flight
  let counter = 0;
  const transcript = $("transcript");

  function nearBottom() {
    return transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 60;
  }
  let stickToBottom = true;
  transcript.addEventListener("scroll", () => { stickToBottom = nearBottom(); });
  function keepScrolled() {
    if (stickToBottom) transcript.scrollTop = transcript.scrollHeight;
  }

  function addMessage(role, text) {
    $("empty-hint").hidden = true;
    const el = document.createElement("article");
    el.className = "msg " + role;
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = role === "user" ? "You" : "Assistant";
    const body = document.createElement("p");
    body.className = "text";
    const node = document.createTextNode(text);
    body.append(node);
    el.append(who, body);
    transcript.append(el);
    stickToBottom = true;
    keepScrolled();
    return { el, node };
  }

  function numberField(id, integer) {
    const raw = $(id).value.trim();
    if (raw === "") return undefined;
    const v = Number(raw);
    if (!Number.isFinite(v)) throw new Error($(id).labels[0].textContent + " is not a number");
    return integer ? Math.trunc(v) : v;
  }

  function buildBody(messages) {
    const body = { messages, stream_options: { include_usage: true } };
    if ($("logprobs").checked) {
      body.logprobs = true;
      body.top_logprobs = TOP_LOGPROBS;
    }
    const format = responseFormat();
    if (format) body.response_format = format;
    const model = $("model").value;
    if (model) body.model = model;
    const temperature = numberField("temperature", false);
    const topP = numberField("top-p", false);
    const maxTokens = numberField("max-tokens", true);
    const seed = numberField("seed", true);
    if (temperature !== undefined) body.temperature = temperature;
    if (topP !== undefined) body.top_p = topP;
    if (maxTokens !== undefined) body.max_tokens = maxTokens;
    if (seed !== undefined) body.seed = seed;
    return body;
  }

  // The response_format the settings ask for, or undefined; throws SchemaError when the box is not a JSON object.
  function responseFormat() {
    const type = $("response-format").value;
    if (type === "json_object") return { type };
    if (type !== "json_schema") return undefined;
    const raw = $("schema").value.trim();
    if (!raw) throw new SchemaError("Type a JSON schema, or pick another response format.");
    let schema;
    try {
      schema = JSON.parse(raw);
    } catch (e) {
      throw new SchemaError("The schema is not valid JSON: " + e.message);
    }
    if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
      throw new SchemaError("The schema must be a JSON object.");
    }
    return { type, json_schema: { name: "playground", schema, strict: true } };
  }

  class SchemaError extends Error {}

  function showSchemaError(message) {
    const error = $("schema-error");
    error.textContent = message;
    error.hidden = !message;
    $("schema").setAttribute("aria-invalid", message ? "true" : "false");
  }
  $("schema").addEventListener("input", () => showSchemaError(""));
  $("response-format").addEventListener("change", () => showSchemaError(""));

  async function send() {
    if (active) return;
    const prompt = $("prompt").value;
    if (!prompt.trim()) {
      $("prompt").focus();
      return;
    }
    const messages = [];
    const system = $("system").value.trim();
    if (system) messages.push({ role: "system", content: system });
    messages.push(...history, { role: "user", content: prompt });
    let body;
    try {
      body = buildBody(messages);
    } catch (e) {
      if (e instanceof SchemaError) {
        // Reported next to the box, before anything is sent; the message stays in the composer.
        $("format-box").open = true;
        showSchemaError(e.message);
        $("schema").focus();
      } else {
        setConn("error", e.message);
      }
      return;
    }
    showSchemaError("");
    $("prompt").value = "";
    addMessage("user", prompt);
    const shown = addMessage("assistant", "");
    const req = {
      id: "p" + ++counter, el: shown.el, textNode: shown.node, text: "", tokenInfo: [], pieces: 0, usage: null,
      finishReason: null, prompt, startedAt: performance.now(), firstAt: null, state: "streaming",
    };
    shown.el.dataset.state = "streaming";
    active = req;
    setBusy(true);
    try {
      const ws = await connect();
      pending.set(req.id, req);
      req.startedAt = performance.now();
      ws.send(JSON.stringify({ type: "chat.completions", id: req.id, body }));
    } catch (e) {
      finish(req, "error", e.message);
    }
  }

  function stop() {
    const req = active;
    if (!req || req.state !== "streaming") return;
    if (socket && pending.has(req.id)) socket.send(JSON.stringify({ type: "cancel", id: req.id }));
    $("stop").disabled = true;
  }

  function finish(req, state, error) {
    if (req.state !== "streaming") return;
    req.state = state;
    req.endedAt = performance.now();
    pending.delete(req.id);
    req.el.dataset.state = state;
    if (state === "error") {
      // The server's reason (e.g. a 400 for an unsupported schema keyword) in full, not only in the stats.
      const p = document.createElement("p");
      p.className = "error-text";
      p.setAttribute("role", "alert");
      p.textContent = error || "unknown error";
      req.el.append(p);
    }
    req.el.append(statsLine(req));
    if (req.text || state === "done") {
      history.push({ role: "user", content: req.prompt }, { role: "assistant", content: req.text });
    }
    if (active === req) {
      active = null;
      setBusy(false);
    }
    keepScrolled();
  }

  function statsLine(req) {
    const line = document.createElement("div");
    line.className = "stats";
    const item = (label, value, title) => {
      const span = document.createElement("span");
      if (title) span.title = title;
      span.append(label + " ");
      const b = document.createElement("b");
      b.textContent = value;
      span.append(b);
      line.append(span);
      return span;
    };
    const tokens = req.usage ? req.usage.completion_tokens : req.pieces;
    if (req.firstAt != null) {
      item("TTFT", fmtMs(req.firstAt - req.startedAt), "time from sending to the first text");
      const streaming = (req.endedAt - req.firstAt) / 1000;
      const rate = tokens > 1 && streaming > 0 ? (tokens - 1) / streaming : null;
      item("tokens/s", rate == null ? "–" : rate.toFixed(1), "tokens after the first, per second of streaming");
    }
    item("tokens", (req.usage ? "" : "≈") + tokens, req.usage ? "completion tokens (usage)" : "text pieces received");
    const state = document.createElement("span");
    state.className = "state";
    if (req.state === "done") state.textContent = "finish: " + (req.finishReason || "?");
    else if (req.state === "stopped") state.textContent = "stopped";
    else state.textContent = "error";
    line.append(state);
    return line;
  }

  function setBusy(busy) {
    $("send").disabled = busy;
    $("stop").disabled = !busy;
    transcript.setAttribute("aria-busy", busy ? "true" : "false");
  }

  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    send();
  });
  $("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  $("stop").addEventListener("click", stop);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !tip.hidden) hideTip();
    if (e.key === "Escape" && active) {
      e.preventDefault();
      stop();
    }
  });
  $("settings").addEventListener("submit", (e) => e.preventDefault());
  $("clear").addEventListener("click", () => {
    if (active) stop();
    history.length = 0;
    hideTip();
    for (const m of transcript.querySelectorAll(".msg")) m.remove();
    $("empty-hint").hidden = false;
    $("prompt").focus();
  });

  function errorText(error) {
    const where = [error.type, error.param && "param " + error.param, error.code].filter(Boolean).join(", ");
    return (error.message || "unknown error") + (where ? ` (${where})` : "");
  }

  // ---------------------------------------------------------------- log probabilities
  // With logprobs on, each token of an answer is its own span; hovering or focusing one shows a tooltip
  // with its probability and the top alternatives. Only the first span of an answer is a Tab stop; the
  // arrow keys move between tokens. Model text is only ever set as textContent.
  const tip = $("token-tip");
  const tokenEntries = new WeakMap(); // span -> logprobs entries it shows
  let tipFor = null;

  function appendTokens(req, content, entries) {
    const textEl = req.textNode.parentNode;
    // One span per token when the tokens spell the text exactly; otherwise (e.g. a stop string cut
    // the last token) one span for the whole piece, showing all its tokens.
    const groups = entries.map((e) => e.token).join("") === content
      ? entries.map((e) => ({ text: e.token, entries: [e] }))
      : [{ text: content, entries }];
    for (const g of groups) {
      if (!g.text) continue;
      const span = document.createElement("span");
      span.className = "tok";
      span.textContent = g.text;
      span.tabIndex = textEl.querySelector(".tok") ? -1 : 0;
      tokenEntries.set(span, g.entries);
      textEl.append(span);
    }
    // Text after the spans goes into a fresh text node, so the order stays right if logprobs stop.
    req.textNode = document.createTextNode("");
    textEl.append(req.textNode);
  }

  function pct(logprob) {
    const p = Math.exp(logprob) * 100;
    if (p >= 99.95) return "100 %";
    if (p < 0.01) return "<0.01 %";
    return p.toFixed(p < 1 ? 2 : 1) + " %";
  }

  // A token as shown in the tooltip: quoted, with newlines and tabs escaped so that they are visible.
  const showToken = (t) => JSON.stringify(t);

  function showTip(span) {
    const entries = tokenEntries.get(span);
    if (!entries) return;
    const parts = [];
    for (const e of entries) {
      const head = document.createElement("div");
      head.className = "tip-head";
      const code = document.createElement("code");
      code.textContent = showToken(e.token);
      const p = document.createElement("b");
      p.className = "tip-p";
      p.textContent = pct(e.logprob);
      head.append(code, " ", p);
      parts.push(head);
      const alts = e.top_logprobs || [];
      if (alts.length) {
        const list = document.createElement("ol");
        list.className = "tip-alts";
        list.setAttribute("aria-label", "Top alternatives");
        for (const a of alts) {
          const li = document.createElement("li");
          if (a.token === e.token) li.className = "chosen";
          const t = document.createElement("code");
          t.textContent = showToken(a.token);
          const v = document.createElement("span");
          v.textContent = pct(a.logprob);
          li.append(t, v);
          list.append(li);
        }
        parts.push(list);
      }
    }
    tip.replaceChildren(...parts);
    tip.hidden = false;
    if (tipFor && tipFor !== span) tipFor.removeAttribute("aria-describedby");
    tipFor = span;
    span.setAttribute("aria-describedby", "token-tip");
    placeTip(span);
  }

  function placeTip(span) {
    const r = span.getBoundingClientRect();
    const w = tip.offsetWidth;
    const h = tip.offsetHeight;
    const left = Math.max(4, Math.min(r.left, document.documentElement.clientWidth - w - 4));
    const below = r.bottom + 6;
    const top = below + h > window.innerHeight - 4 ? Math.max(4, r.top - h - 6) : below;
    tip.style.left = left + "px";
    tip.style.top = top + "px";
  }

  function hideTip() {
    tip.hidden = true;
    if (tipFor) tipFor.removeAttribute("aria-describedby");
    tipFor = null;
  }

  const tokenOf = (target) => (target instanceof Element ? target.closest(".tok") : null);
  transcript.addEventListener("mouseover", (e) => {
    const span = tokenOf(e.target);
    if (span && span !== tipFor) showTip(span);
  });
  transcript.addEventListener("mouseout", (e) => {
    if (tokenOf(e.target) && tokenOf(e.relatedTarget) !== tipFor && document.activeElement !== tipFor) hideTip();
  });
  transcript.addEventListener("focusin", (e) => {
    const span = tokenOf(e.target);
    if (span) showTip(span);
  });
  transcript.addEventListener("focusout", (e) => {
    if (tokenOf(e.target) === tipFor) hideTip();
  });
  transcript.addEventListener("scroll", () => {
    if (tipFor) placeTip(tipFor);
  });
  transcript.addEventListener("keydown", (e) => {
    const span = tokenOf(e.target);
    if (!span || (e.key !== "ArrowRight" && e.key !== "ArrowLeft")) return;
    const all = [...span.parentNode.querySelectorAll(".tok")];
    const next = all[all.indexOf(span) + (e.key === "ArrowRight" ? 1 : -1)];
    if (!next) return;
    e.preventDefault();
    span.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  });

  // ---------------------------------------------------------------- cluster view
  const nodeColour = new Map(); // member address -> colour, stable while the page lives
  function colourOf(address) {
    if (!nodeColour.has(address)) nodeColour.set(address, NODE_COLOURS[nodeColour.size % NODE_COLOURS.length]);
    return nodeColour.get(address);
  }

  const cells = [];
  function buildMap(n) {
    const map = $("expert-map");
    map.replaceChildren();
    cells.length = 0;
    for (let e = 0; e < n; e++) {
      const li = document.createElement("li");
      li.dataset.expert = String(e);
      li.dataset.node = "";
      li.dataset.tokens = "0";
      const id = document.createElement("span");
      id.className = "id";
      id.textContent = "#" + e;
      const count = document.createElement("span");
      count.className = "n";
      count.textContent = "0";
      li.append(id, count);
      map.append(li);
      cells.push({ li, count });
    }
  }

  const tokenSnapshots = []; // {t, tokens: number[]} for the "recent" heat

  function renderCluster(c) {
    const experts = Object.keys(c.placement).length;
    if (cells.length !== experts) buildMap(experts);
    const total = [];
    for (let e = 0; e < experts; e++) total.push(Number(c.expertTokens[e] || 0));
    const now = performance.now();
    tokenSnapshots.push({ t: now, tokens: total });
    while (tokenSnapshots.length > 1 && now - tokenSnapshots[1].t >= RECENT_S * 1000) tokenSnapshots.shift();

    const recent = $("heat-mode").value === "recent";
    const base = tokenSnapshots[0].tokens;
    const heat = total.map((v, e) => (recent ? Math.max(0, v - (base[e] || 0)) : v));
    const max = Math.max(1, ...heat);
    const baseRgb = cssRgb("--cell-base");

    const perNode = new Map();
    for (const m of c.members) colourOf(m.address);
    for (let e = 0; e < experts; e++) {
      const address = c.placement[e] || "";
      const { li, count } = cells[e];
      li.dataset.node = address;
      li.dataset.tokens = String(total[e]);
      count.textContent = compact(heat[e]);
      const who = address ? shortAddress(address) : "no node";
      li.title = `Expert ${e} on ${who}: ${total[e]} tokens since start`;
      li.setAttribute("aria-label", `Expert ${e}, ${address ? "on " + who : "unplaced"}, ${heat[e]} tokens${recent ? " in the last " + RECENT_S + " s" : ""}`);
      if (address) {
        const colour = hexRgb(colourOf(address));
        const t = heat[e] / max;
        const mix = 0.1 + 0.85 * Math.sqrt(t);
        const bg = baseRgb.map((b, i) => Math.round(b + (colour[i] - b) * mix));
        li.style.setProperty("background-color", `rgb(${bg.join(",")})`);
        li.style.setProperty("border-top-color", colourOf(address));
        li.style.setProperty("color", luminance(bg) > 0.4 ? "#111" : "#fff");
        const p = perNode.get(address) || { experts: 0, tokens: 0 };
        p.experts++;
        p.tokens += total[e];
        perNode.set(address, p);
      } else {
        li.style.removeProperty("background-color");
        li.style.removeProperty("border-top-color");
        li.style.removeProperty("color");
      }
    }

    const rows = c.members.map((m) => {
      const tr = document.createElement("tr");
      const node = document.createElement("td");
      const wrap = document.createElement("div");
      wrap.className = "node-cell";
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.setProperty("background-color", colourOf(m.address));
      swatch.setAttribute("aria-hidden", "true");
      const name = document.createElement("span");
      name.textContent = shortAddress(m.address);
      name.title = m.address;
      wrap.append(swatch, name);
      node.append(wrap);
      const roles = document.createElement("td");
      const chips = document.createElement("span");
      chips.className = "roles";
      for (const r of m.roles) {
        const chip = document.createElement("span");
        chip.className = "role";
        chip.textContent = r;
        chips.append(chip);
      }
      roles.append(chips);
      const status = document.createElement("td");
      status.className = "status";
      status.dataset.status = m.status;
      status.textContent = m.status;
      const p = perNode.get(m.address) || { experts: 0, tokens: 0 };
      const ex = document.createElement("td");
      ex.className = "num";
      ex.textContent = String(p.experts);
      const tk = document.createElement("td");
      tk.className = "num";
      tk.textContent = p.tokens.toLocaleString("en-US");
      const labels = ["Node", "Roles", "Status", "Experts", "Expert tokens"];
      [node, roles, status, ex, tk].forEach((td, i) => { td.dataset.label = labels[i]; });
      tr.append(node, roles, status, ex, tk);
      return tr;
    });
    $("members").tBodies[0].replaceChildren(...rows);
    const placed = Object.values(c.placement).filter(Boolean).length;
    const ver = document.createElement("span");
    ver.className = "ver";
    ver.textContent = "v" + c.placementVersion;
    $("stat-placement").replaceChildren(`${placed}/${experts}`, ver);
    $("stat-placement").title = `placement version ${c.placementVersion}; ${placed} of ${experts} experts hosted`;
  }

  // Prometheus text -> Map("name{labels}" -> value)
  function parseMetrics(text) {
    const out = new Map();
    for (const line of text.split("\n")) {
      if (!line || line.startsWith("#")) continue;
      const i = line.lastIndexOf(" ");
      if (i < 0) continue;
      out.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
    return out;
  }

  function buckets(metrics, name) {
    const prefix = name + "_bucket{le=\"";
    const out = [];
    for (const [k, v] of metrics) {
      if (k.startsWith(prefix)) out.push({ le: k.slice(prefix.length, -2) === "+Inf" ? Infinity : Number(k.slice(prefix.length, -2)), n: v });
    }
    return out.sort((a, b) => a.le - b.le);
  }

  // Quantile of the observations between two cumulative bucket snapshots (linear within a bucket).
  function quantile(q, now, then) {
    const d = now.map((b, i) => ({ le: b.le, n: b.n - (then && then[i] ? then[i].n : 0) }));
    const count = d.length ? d[d.length - 1].n : 0;
    if (count <= 0) return null;
    const rank = q * count;
    let prevLe = 0;
    let prevN = 0;
    for (const b of d) {
      if (b.n >= rank) {
        if (b.le === Infinity) return prevLe;
        const inBucket = b.n - prevN;
        return prevLe + (b.le - prevLe) * (inBucket > 0 ? (rank - prevN) / inBucket : 0);
      }
      prevLe = b.le;
      prevN = b.n;
    }
    return prevLe;
  }

  const samples = []; // {t, generated, prompt, ttftSum, ttftCount, ttftBuckets}
  const tputSeries = []; // {t, gen, prompt} tokens/s
  const ttftSeries = []; // {t, v} mean seconds in the interval, or null

  function renderMetrics(m) {
    const t = performance.now();
    const s = {
      t,
      generated: m.get("mesh:generation_tokens_total") || 0,
      prompt: m.get("mesh:prompt_tokens_total") || 0,
      ttftSum: m.get("mesh:time_to_first_token_seconds_sum") || 0,
      ttftCount: m.get("mesh:time_to_first_token_seconds_count") || 0,
      ttftBuckets: buckets(m, "mesh:time_to_first_token_seconds"),
    };
    const prev = samples[samples.length - 1];
    samples.push(s);
    while (samples.length > 2 && t - samples[0].t > WINDOW_S * 1000) samples.shift();
    if (prev) {
      const dt = (t - prev.t) / 1000;
      if (dt > 0) {
        tputSeries.push({ t, gen: Math.max(0, s.generated - prev.generated) / dt, prompt: Math.max(0, s.prompt - prev.prompt) / dt });
        const dc = s.ttftCount - prev.ttftCount;
        ttftSeries.push({ t, v: dc > 0 ? (s.ttftSum - prev.ttftSum) / dc : null });
      }
    }
    for (const series of [tputSeries, ttftSeries]) while (series.length && t - series[0].t > WINDOW_S * 1000) series.shift();

    $("stat-running").textContent = fmtInt(m.get("mesh:num_requests_running"));
    $("stat-waiting").textContent = fmtInt(m.get("mesh:num_requests_waiting"));
    const kv = m.get("mesh:kv_cache_usage_perc");
    $("stat-kv").textContent = kv == null ? "–" : (kv * 100).toFixed(1) + " %";
    $("stat-generated").textContent = compact(s.generated);
    $("stat-generated").title = `${s.generated} tokens generated since start`;

    const last = tputSeries[tputSeries.length - 1];
    const peak = Math.max(0, ...tputSeries.map((p) => p.gen));
    $("tput-now").textContent = last ? `now ${last.gen.toFixed(1)} tok/s · peak ${peak.toFixed(1)} in the last minute` : "\u00a0";
    const p50 = quantile(0.5, s.ttftBuckets, samples[0] !== s ? samples[0].ttftBuckets : null);
    const p95 = quantile(0.95, s.ttftBuckets, samples[0] !== s ? samples[0].ttftBuckets : null);
    $("ttft-now").textContent = p50 == null ? "no requests in the last minute"
      : `last minute: p50 ${fmtMs(p50 * 1000)} · p95 ${fmtMs(p95 * 1000)}`;
    drawCharts();
  }

  function drawCharts() {
    const now = performance.now();
    drawChart($("tput-chart"), now, [
      { label: "generated tok/s", colour: css("--chart-1"), points: tputSeries.map((p) => ({ t: p.t, v: p.gen })), fill: true },
      { label: "prompt tok/s", colour: css("--chart-2"), points: tputSeries.map((p) => ({ t: p.t, v: p.prompt })) },
    ], (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)));
    drawChart($("ttft-chart"), now, [
      { label: "mean TTFT", colour: css("--chart-1"), points: ttftSeries.filter((p) => p.v != null), dots: true },
    ], axisSeconds);
  }

  function drawChart(canvas, now, series, fmt) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    if (!w || !h) return;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const pad = { l: 46, r: 8, t: 24, b: 16 };
    const pw = w - pad.l - pad.r;
    const ph = h - pad.t - pad.b;
    let max = 0;
    for (const s of series) for (const p of s.points) max = Math.max(max, p.v);
    max = niceMax(max);
    const x = (t) => pad.l + pw * (1 - (now - t) / (WINDOW_S * 1000));
    const y = (v) => pad.t + ph * (1 - v / max);

    g.font = "11px system-ui, sans-serif";
    g.fillStyle = css("--muted");
    g.strokeStyle = css("--chart-grid");
    g.lineWidth = 1;
    g.textBaseline = "middle";
    g.textAlign = "right";
    for (const f of [0, 0.5, 1]) {
      const yy = Math.round(y(max * f)) + 0.5;
      g.beginPath();
      g.moveTo(pad.l, yy);
      g.lineTo(w - pad.r, yy);
      g.stroke();
      g.fillText(fmt(max * f), pad.l - 4, yy);
    }
    g.textBaseline = "alphabetic";
    g.textAlign = "left";
    g.fillText(WINDOW_S + " s ago", pad.l, h - 3);
    g.textAlign = "right";
    g.fillText("now", w - pad.r, h - 3);

    // legend
    let lx = pad.l;
    g.textAlign = "left";
    g.textBaseline = "middle";
    for (const s of series) {
      g.fillStyle = s.colour;
      g.fillRect(lx, 5, 10, 3);
      g.fillStyle = css("--muted");
      g.fillText(s.label, lx + 14, 7);
      lx += 14 + g.measureText(s.label).width + 12;
    }

    g.save();
    g.beginPath();
    g.rect(pad.l, pad.t - 2, pw, ph + 4);
    g.clip();
    for (const s of series) {
      const pts = s.points.filter((p) => now - p.t <= WINDOW_S * 1000);
      if (!pts.length) continue;
      g.strokeStyle = s.colour;
      g.fillStyle = s.colour;
      g.lineWidth = 2;
      if (s.dots) {
        for (const p of pts) {
          g.beginPath();
          g.arc(x(p.t), y(p.v), 3, 0, Math.PI * 2);
          g.fill();
        }
        continue;
      }
      g.beginPath();
      pts.forEach((p, i) => (i ? g.lineTo(x(p.t), y(p.v)) : g.moveTo(x(p.t), y(p.v))));
      g.stroke();
      if (s.fill) {
        g.lineTo(x(pts[pts.length - 1].t), y(0));
        g.lineTo(x(pts[0].t), y(0));
        g.closePath();
        g.globalAlpha = 0.15;
        g.fill();
        g.globalAlpha = 1;
      }
    }
    g.restore();
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  // ---------------------------------------------------------------- polling
  let lastOk = 0;
  let lastCluster = null;
  async function poll() {
    const [cluster, metrics] = await Promise.allSettled([
      fetch("cluster", { headers: authHeaders(), cache: "no-store" }).then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status)))),
      fetch("metrics", { cache: "no-store" }).then((r) => (r.ok ? r.text() : Promise.reject(new Error("HTTP " + r.status)))),
    ]);
    if (cluster.status === "fulfilled") renderCluster((lastCluster = cluster.value));
    if (metrics.status === "fulfilled") renderMetrics(parseMetrics(metrics.value));
    const el = $("cluster-updated");
    if (cluster.status === "fulfilled" && metrics.status === "fulfilled") {
      lastOk = Date.now();
      el.textContent = "live · updated " + new Date(lastOk).toLocaleTimeString();
    } else {
      const why = (cluster.reason || metrics.reason || {}).message || "error";
      el.textContent = `not updating (${why})` + (lastOk ? " · last " + new Date(lastOk).toLocaleTimeString() : "");
    }
    setTimeout(poll, document.hidden ? HIDDEN_POLL_MS : POLL_MS);
  }

  $("heat-mode").addEventListener("change", () => {
    if (lastCluster) renderCluster(lastCluster);
  });
  window.addEventListener("resize", drawCharts);

  // ---------------------------------------------------------------- helpers
  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  function hexRgb(hex) {
    const h = hex.replace("#", "");
    return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
  }
  function cssRgb(name) {
    const v = css(name);
    return v.startsWith("#") ? hexRgb(v) : [238, 240, 243];
  }
  function luminance([r, g, b]) {
    const f = (c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  }
  function compact(n) {
    if (n < 1000) return String(Math.round(n));
    if (n < 1e6) return (n / 1000).toFixed(n < 1e4 ? 1 : 0) + "k";
    return (n / 1e6).toFixed(n < 1e7 ? 1 : 0) + "M";
  }
  function axisSeconds(v) {
    if (v === 0) return "0";
    if (v >= 1) return +v.toFixed(1) + " s";
    return +(v * 1000).toFixed(v < 0.01 ? 1 : 0) + " ms";
  }
  function fmtInt(v) {
    return v == null ? "–" : String(Math.round(v));
  }
  function fmtMs(ms) {
    if (ms < 1) return ms.toFixed(2) + " ms";
    if (ms < 1000) return Math.round(ms) + " ms";
    return (ms / 1000).toFixed(2) + " s";
  }
  function shortAddress(a) {
    return a.replace(/^pekko:\/\/[^@]*@/, "");
  }

  // ---------------------------------------------------------------- start
  loadModels();
  connect().catch(() => {});
  poll();
})();
