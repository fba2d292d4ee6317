/* warmline staff pages: shared helpers (loaded before console.js and dashboard.js).
 *
 * - WL.config(): the page's data from <script type="application/json" id="wl-config">
 * - WL.h(): builds DOM nodes; text always goes in as text nodes, never as HTML
 * - WL.api(): JSON fetch with the session cookie and, for POST/PUT/DELETE, the CSRF token
 * - WL.stream(): a server-sent events reader over fetch, reconnecting with backoff
 * - WL.live: the "Live" / "Reconnecting…" indicator (#wl-live)
 * - WL.alert() / WL.notice() / WL.report(): messages in the page's alert and status regions
 * - formatting helpers (durations, percentages, numbers, times)
 */
(function () {
  "use strict";

  const LOGIN_URL = "/console/login";
  let cachedConfig = null;
  let leaving = false;

  /* ---------- page data ---------- */

  function config() {
    if (cachedConfig) return cachedConfig;
    const node = document.getElementById("wl-config");
    try {
      cachedConfig = node ? JSON.parse(node.textContent || "{}") : {};
    } catch (err) {
      cachedConfig = {};
    }
    if (!cachedConfig || typeof cachedConfig !== "object") cachedConfig = {};
    return cachedConfig;
  }

  function csrfToken() {
    const fromConfig = config().csrf_token;
    if (fromConfig) return String(fromConfig);
    const field = document.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  /* ---------- DOM helpers (text only, never HTML) ---------- */

  /**
   * h("li", {class: "a b", text: "hello", dataset: {id: 1}, attrs: {title: "x"},
   *          on: {click: fn}}, child, "text child", [more, children])
   */
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    const p = props || {};
    for (const [key, value] of Object.entries(p)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : String(value);
      else if (key === "text") node.textContent = String(value);
      else if (key === "dataset") {
        for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) node.dataset[k] = String(v);
      } else if (key === "attrs") {
        for (const [k, v] of Object.entries(value)) setAttr(node, k, v);
      } else if (key === "on") {
        for (const [k, fn] of Object.entries(value)) node.addEventListener(k, fn);
      } else if (key === "hidden") node.hidden = Boolean(value);
      else if (key === "disabled") node.disabled = Boolean(value);
      else if (key === "type" || key === "id" || key === "value" || key === "name" || key === "title" || key === "htmlFor") {
        node[key] = String(value);
      } else setAttr(node, key, value);
    }
    append(node, children);
    return node;
  }

  function setAttr(node, name, value) {
    const lower = String(name).toLowerCase();
    // Never: inline handlers or inline styles (the CSP forbids them; keep the DOM clean too).
    if (lower.startsWith("on") || lower === "style" || lower === "srcdoc") return;
    if (value === undefined || value === null || value === false) return;
    if ((lower === "href" || lower === "src" || lower === "action") && !safeUrl(String(value))) return;
    node.setAttribute(name, value === true ? "" : String(value));
  }

  function append(node, children) {
    for (const child of children) {
      if (child === undefined || child === null || child === false) continue;
      if (Array.isArray(child)) append(node, child);
      else if (child instanceof Node) node.appendChild(child);
      else node.appendChild(document.createTextNode(String(child)));
    }
    return node;
  }

  /** An http(s) or same-origin URL; anything else (javascript:, data:...) is refused. */
  function safeUrl(url) {
    try {
      const parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:";
    } catch (err) {
      return false;
    }
  }

  function setText(node, text) {
    if (node) node.textContent = text === undefined || text === null ? "" : String(text);
    return node;
  }

  function clear(node) {
    if (node) node.replaceChildren();
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) setAttr(node, k, v);
    for (const child of children) if (child) node.appendChild(child);
    return node;
  }

  /** A small line chart of values in 0..1 (or 0..max), as inline SVG (no styles). */
  function sparkline(values, { width = 120, height = 28, max = null, label = "" } = {}) {
    const points = (values || []).map(Number).filter((v) => Number.isFinite(v));
    const top = max !== null ? max : Math.max(1, ...points);
    const node = svg("svg", {
      class: "wl-spark",
      viewBox: `0 0 ${width} ${height}`,
      width: String(width),
      height: String(height),
      role: "img",
      "aria-label": label || "trend",
      focusable: "false",
    });
    if (points.length === 0) return node;
    const step = points.length > 1 ? (width - 4) / (points.length - 1) : 0;
    const xy = points.map((v, i) => [2 + i * step, height - 2 - (Math.min(v, top) / top) * (height - 4)]);
    if (xy.length === 1) xy.push([width - 2, xy[0][1]]);
    node.appendChild(svg("polyline", { class: "wl-spark-line", points: xy.map((p) => p.map((n) => n.toFixed(1)).join(",")).join(" "), fill: "none" }));
    const last = xy[xy.length - 1];
    node.appendChild(svg("circle", { class: "wl-spark-dot", cx: last[0].toFixed(1), cy: last[1].toFixed(1), r: "2.5" }));
    return node;
  }

  /* ---------- messages to the user ---------- */

  let noticeTimer = null;

  /** An error or warning in the page's alert region (role="alert"). */
  function alert(message) {
    const region = document.getElementById("wl-alert");
    if (!region) return;
    clear(region);
    if (!message) return;
    region.appendChild(h("span", { class: "wl-alert-text", text: message }));
    region.appendChild(
      h("button", {
        type: "button",
        class: "wl-alert-close",
        "aria-label": "Dismiss message",
        on: { click: () => clear(region) },
      })
    );
  }

  /** A passing confirmation in the status region (role="status"). */
  function notice(message, ms = 4000) {
    const region = document.getElementById("wl-notice");
    if (!region) return;
    setText(region, message || "");
    if (noticeTimer) clearTimeout(noticeTimer);
    if (message) noticeTimer = setTimeout(() => setText(region, ""), ms);
  }

  /** Show what went wrong with an API call: the problem's detail for 4xx answers. */
  function report(err, fallback) {
    if (!err || err.name === "AbortError" || leaving) return;
    if (err instanceof ApiError) {
      if (err.status === 401) return; // on the way to the login page
      if (err.status >= 400 && err.status < 500) alert(err.detail || fallback || `Request refused (${err.status}).`);
      else alert(fallback || `The server could not do that (${err.status}). Try again in a moment.`);
    } else {
      alert(fallback || "The server cannot be reached. Check the connection and try again.");
    }
    if (!(err instanceof ApiError) && window.console) window.console.warn(err);
  }

  /* ---------- session ---------- */

  function goLogin() {
    if (leaving) return;
    leaving = true;
    const next = window.location.pathname + window.location.search;
    window.location.assign(`${LOGIN_URL}?next=${encodeURIComponent(next)}`);
  }

  /* ---------- JSON API ---------- */

  class ApiError extends Error {
    constructor(status, detail, body) {
      super(detail || `HTTP ${status}`);
      this.name = "ApiError";
      this.status = status;
      this.detail = detail;
      this.body = body;
    }
  }

  function problemDetail(body, response) {
    if (body && typeof body === "object") {
      const detail = body.detail;
      if (typeof detail === "string" && detail) return detail;
      if (Array.isArray(detail)) {
        // FastAPI validation errors: [{loc, msg, type}]
        const parts = detail
          .map((d) => {
            if (!d || typeof d !== "object") return String(d);
            const where = Array.isArray(d.loc) ? d.loc.filter((x) => x !== "body").join(".") : "";
            return where ? `${where}: ${d.msg}` : String(d.msg || "");
          })
          .filter(Boolean);
        if (parts.length) return parts.join("; ");
      }
      if (typeof body.title === "string" && body.title) return body.title;
    }
    return response.statusText || `HTTP ${response.status}`;
  }

  async function api(method, url, body, options = {}) {
    const verb = String(method || "GET").toUpperCase();
    const headers = { Accept: "application/json" };
    const init = { method: verb, headers, credentials: "same-origin", cache: "no-store" };
    if (options.signal) init.signal = options.signal;
    if (verb !== "GET" && verb !== "HEAD") {
      headers["Content-Type"] = "application/json";
      headers["X-CSRF-Token"] = csrfToken();
      init.body = JSON.stringify(body === undefined ? {} : body);
    }
    const response = await fetch(url, init);
    if (response.status === 401) {
      goLogin();
      throw new ApiError(401, "Your session has ended.", null);
    }
    let data = null;
    const type = response.headers.get("content-type") || "";
    if (response.status !== 204) {
      if (type.includes("json")) data = await response.json().catch(() => null);
      else data = await response.text().catch(() => null);
    }
    if (!response.ok) throw new ApiError(response.status, problemDetail(data, response), data);
    return data;
  }

  const get = (url, options) => api("GET", url, undefined, options);
  const post = (url, body, options) => api("POST", url, body, options);
  const put = (url, body, options) => api("PUT", url, body, options);

  /* ---------- live indicator ---------- */

  const streams = new Map(); // name -> "connecting" | "open" | "reconnecting"

  const live = {
    set(name, state) {
      if (state === null) streams.delete(name);
      else streams.set(name, state);
      this.render();
    },
    render() {
      const node = document.getElementById("wl-live");
      if (!node) return;
      const states = [...streams.values()];
      let state = "open";
      if (states.length === 0) state = node.dataset.state === "open" ? "open" : "connecting";
      else if (states.includes("reconnecting")) state = "reconnecting";
      else if (states.includes("connecting")) state = "connecting";
      node.dataset.state = state;
      setText(node, state === "open" ? "Live" : state === "reconnecting" ? "Reconnecting…" : "Connecting…");
    },
  };

  /* ---------- server-sent events over fetch ---------- */

  const MIN_DELAY = 500;
  const MAX_DELAY = 8000;
  const IDLE_LIMIT = 45000; // no byte (not even a heartbeat) for this long: reconnect

  /**
   * Read a stream of server-sent events. `url` may be a function (called at each connect,
   * e.g. to resume after the last seen seq). onEvent({event, data, id, json}) for each event.
   * Returns {close()}.
   */
  function stream(url, { name = "stream", onEvent, onOpen, onState, onFatal } = {}) {
    let stopped = false;
    let controller = null;
    let delay = MIN_DELAY;
    let lastId = null;
    let idleTimer = null;

    const state = (s) => {
      if (stopped) return;
      live.set(name, s);
      if (onState) onState(s);
    };

    const touch = () => {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => controller && controller.abort(), IDLE_LIMIT);
    };

    async function connect() {
      state("connecting");
      while (!stopped) {
        controller = new AbortController();
        let opened = false;
        let openedAt = 0;
        let ended = false;
        try {
          const headers = { Accept: "text/event-stream" };
          if (lastId !== null) headers["Last-Event-ID"] = lastId;
          const target = typeof url === "function" ? url() : url;
          const response = await fetch(target, {
            headers,
            credentials: "same-origin",
            cache: "no-store",
            signal: controller.signal,
          });
          if (response.status === 401) {
            goLogin();
            return;
          }
          if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
            const body = await response.json().catch(() => null);
            const err = new ApiError(response.status, problemDetail(body, response), body);
            stopped = true;
            live.set(name, null);
            if (onFatal) onFatal(err);
            else report(err);
            return;
          }
          if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
          opened = true;
          openedAt = Date.now();
          state("open");
          if (onOpen) onOpen();
          touch();
          await readEvents(response.body, (event) => {
            delay = MIN_DELAY;
            if (event.id !== null) lastId = event.id;
            if (event.event === null) return; // a heartbeat
            if (onEvent) onEvent(event);
          }, touch);
          ended = true;
        } catch (err) {
          if (stopped) return;
        } finally {
          if (idleTimer) clearTimeout(idleTimer);
        }
        if (stopped) return;
        // The server ends streams after a while (its timeout): come straight back, still "Live".
        // A stream that ends at once is treated as a failure, with backoff.
        if (ended && Date.now() - openedAt > 5000) {
          delay = MIN_DELAY;
          await sleep(50);
          continue;
        }
        state("reconnecting");
        const wait = Math.min(MAX_DELAY, delay) * (0.8 + Math.random() * 0.4);
        delay = Math.min(MAX_DELAY, delay * 2);
        if (!opened) delay = Math.max(delay, MIN_DELAY * 2);
        await sleep(wait);
      }
    }

    connect();
    return {
      close() {
        stopped = true;
        if (idleTimer) clearTimeout(idleTimer);
        if (controller) controller.abort();
        live.set(name, null);
      },
    };
  }

  /** Parse an event stream body; `emit` gets {event, data, id, json}, heartbeats as event null. */
  async function readEvents(body, emit, onBytes) {
    const reader = body.getReader();
    const decoder = new TextDecoder("utf-8");
    let buffer = "";
    let data = [];
    let event = "";
    let id = null;

    const dispatch = () => {
      if (data.length || event) {
        const text = data.join("\n");
        let json;
        try {
          json = text ? JSON.parse(text) : null;
        } catch (err) {
          json = undefined;
        }
        emit({ event: event || "message", data: text, id, json });
      }
      data = [];
      event = "";
    };

    const line = (text) => {
      if (text === "") {
        dispatch();
        return;
      }
      if (text.startsWith(":")) {
        emit({ event: null, data: "", id: null, json: null });
        return;
      }
      const colon = text.indexOf(":");
      const field = colon === -1 ? text : text.slice(0, colon);
      let value = colon === -1 ? "" : text.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
      else if (field === "id") id = value.includes("\0") ? id : value;
      // "retry" and unknown fields are ignored
    };

    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (onBytes) onBytes();
      buffer += decoder.decode(value, { stream: true });
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        if (!match) break;
        // A lone "\r" at the very end may be the first half of "\r\n": wait for more.
        if (match[0] === "\r" && match.index === buffer.length - 1) break;
        line(buffer.slice(0, match.index));
        buffer = buffer.slice(match.index + match[0].length);
      }
    }
    // An event cut off by the end of the stream (no blank line after it) is dropped, as
    // browsers' EventSource does: the reconnect asks again from the last seen position.
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /* ---------- formatting ---------- */

  const DASH = "—";

  const isNum = (v) => typeof v === "number" && Number.isFinite(v);

  /** 75 -> "01:15"; 3725 -> "1:02:05". */
  function duration(seconds) {
    if (!isNum(seconds)) return DASH;
    const total = Math.max(0, Math.floor(seconds));
    const hrs = Math.floor(total / 3600);
    const min = Math.floor((total % 3600) / 60);
    const sec = total % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return hrs > 0 ? `${hrs}:${pad(min)}:${pad(sec)}` : `${pad(min)}:${pad(sec)}`;
  }

  /** A human duration for report numbers: 42 s, 3.5 min, 2.1 h. */
  function humanDuration(seconds) {
    if (!isNum(seconds)) return DASH;
    if (seconds < 90) return `${Math.round(seconds)} s`;
    if (seconds < 5400) return `${(seconds / 60).toFixed(seconds < 600 ? 1 : 0)} min`;
    if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
    return `${(seconds / 86400).toFixed(1)} d`;
  }

  /** 0.423 -> "42%". */
  function percent(value, digits = 0) {
    if (!isNum(value)) return DASH;
    return `${(value * 100).toFixed(digits)}%`;
  }

  function number(value, digits = null) {
    if (!isNum(value)) return DASH;
    if (digits !== null) return value.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
    return value.toLocaleString(undefined, { maximumFractionDigits: 2 });
  }

  function money(value) {
    if (!isNum(value)) return DASH;
    return value.toLocaleString(undefined, { maximumFractionDigits: 0 });
  }

  /** "low" (< 0.4), "mid" (< 0.7) or "high". */
  function level(value) {
    if (!isNum(value)) return "none";
    return value >= 0.7 ? "high" : value >= 0.4 ? "mid" : "low";
  }

  function parseTime(value) {
    if (!value) return null;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? null : date;
  }

  function clock(value) {
    const date = parseTime(value);
    if (!date) return "";
    const sameDay = date.toDateString() === new Date().toDateString();
    return sameDay
      ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : date.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function ago(value) {
    const date = parseTime(value);
    if (!date) return DASH;
    const s = (Date.now() - date.getTime()) / 1000;
    if (s < 45) return "just now";
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    if (s < 86400) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} d ago`;
  }

  const ACRONYMS = { sla: "SLA", csat: "CSAT", nps: "NPS", llm: "LLM", ai: "AI", id: "ID", faq: "FAQ", url: "URL", ltv: "LTV", p50: "p50", p90: "p90" };

  /** "first_response" -> "First response"; "sla_breaches" -> "SLA breaches". */
  function label(key) {
    const words = String(key === undefined || key === null ? "" : key)
      .replace(/[_-]+/g, " ")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => ACRONYMS[w.toLowerCase()] || w);
    if (!words.length) return "";
    const first = words[0];
    words[0] = ACRONYMS[first.toLowerCase()] ? first : first.charAt(0).toUpperCase() + first.slice(1);
    return words.join(" ");
  }

  /** A value of unknown shape as short text (never HTML). */
  function show(value) {
    if (value === null || value === undefined || value === "") return DASH;
    if (typeof value === "number") return number(value);
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (Array.isArray(value)) return value.length ? value.map(show).join(", ") : DASH;
    if (typeof value === "object") {
      return Object.entries(value)
        .map(([k, v]) => `${label(k)}: ${show(v)}`)
        .join(" · ");
    }
    return String(value);
  }

  function debounce(fn, ms) {
    let timer = null;
    const wrapped = (...args) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        fn(...args);
      }, ms);
    };
    wrapped.cancel = () => {
      if (timer) clearTimeout(timer);
      timer = null;
    };
    return wrapped;
  }

  window.addEventListener("pagehide", () => {
    leaving = true;
  });
  window.addEventListener("pageshow", () => {
    leaving = false;
  });

  window.WL = Object.freeze({
    config,
    csrfToken,
    h,
    svg,
    sparkline,
    append,
    setText,
    clear,
    safeUrl,
    alert,
    notice,
    report,
    goLogin,
    ApiError,
    api,
    get,
    post,
    put,
    live,
    stream,
    readEvents,
    sleep,
    DASH,
    isNum,
    duration,
    humanDuration,
    percent,
    number,
    money,
    level,
    parseTime,
    clock,
    ago,
    label,
    show,
    debounce,
  });
})();
