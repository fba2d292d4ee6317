/* warmline supervisor dashboard: the period's numbers, the live queue and agents, charts,
 * the policy in force and a what-if comparison. Needs live.js (window.WL). */
(function () {
  "use strict";

  const WL = window.WL;
  if (!WL) return;
  const { h, setText, clear, DASH, isNum } = WL;

  const cfg = WL.config();
  const $ = (id) => document.getElementById(id);
  const REFRESH_MS = 60000;

  const el = {
    numbers: $("wl-numbers"),
    reasons: $("wl-reasons"),
    satisfaction: $("wl-satisfaction"),
    speed: $("wl-speed"),
    quality: $("wl-quality"),
    liveQueue: $("wl-live-queue"),
    agents: $("wl-agents"),
    charts: $("wl-charts"),
    policy: $("wl-policy"),
    whatif: $("wl-whatif"),
    whatifRun: $("wl-whatif-run"),
    whatifStatus: $("wl-whatif-status"),
    whatifResult: $("wl-whatif-result"),
    days: $("wl-days"),
    updated: $("wl-updated"),
  };

  /* ---------- small builders ---------- */

  function card(key, title, value, sub, extra) {
    return h(
      "div",
      { class: ["wl-card", extra], dataset: { metric: key } },
      h("h3", { class: "wl-card-label", text: title }),
      h("p", { class: "wl-card-value", text: value }),
      sub ? h("p", { class: "wl-card-sub", text: sub }) : null
    );
  }

  function table(caption, head, rows, cls) {
    return h(
      "table",
      { class: ["wl-table", cls] },
      caption ? h("caption", { text: caption }) : null,
      h("thead", {}, h("tr", {}, head.map((c, i) => h("th", { scope: "col", class: i ? "wl-num" : null, text: c })))),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            {},
            row.map((cell, i) =>
              i === 0
                ? h("th", { scope: "row" }, cell instanceof Node ? cell : String(cell))
                : h("td", { class: "wl-num" }, cell instanceof Node ? cell : String(cell))
            )
          )
        )
      )
    );
  }

  function dl(pairs, cls) {
    const rows = pairs.filter((p) => p);
    if (!rows.length) return null;
    return h("dl", { class: ["wl-dl", cls] }, rows.map(([k, v]) => [h("dt", { text: k }), h("dd", {}, v instanceof Node ? v : String(v))]));
  }

  function empty(text) {
    return h("p", { class: "wl-empty", text });
  }

  /** A value in a report cell: seconds as durations, shares as percentages, the rest as numbers. */
  function cell(key, value) {
    if (value === null || value === undefined) return DASH;
    const k = String(key);
    if (isNum(value)) {
      if (/(^|_)(count|answers|pairs|conversations|escalated|offered)$/.test(k) || /^(count|answers|pairs)$/.test(k)) return WL.number(value, 0);
      if (/_s$|seconds|^p\d+$|median|mean_s/.test(k)) return WL.humanDuration(value);
      if (/rate|share|felt_heard|containment|resolution$|^first_contact/.test(k)) return WL.percent(value, 1);
      if (/nps/.test(k)) return WL.number(value, 0);
      if (/csat|satisfaction|spearman|diff/.test(k)) return WL.number(value, 2);
      return WL.number(value);
    }
    if (typeof value === "object" && !Array.isArray(value)) {
      const entries = Object.entries(value);
      if (!entries.length) return DASH;
      return entries.map(([a, b]) => `${WL.label(a)} ${isNum(b) ? WL.number(b) : WL.show(b)}`).join(", ");
    }
    return WL.show(value);
  }

  /** A dict of dicts ({ai_only: {csat, nps}, human: {...}}) as one table. */
  function nestedTable(caption, data, rowTitle) {
    const rows = Object.entries(data || {}).filter(([, v]) => v && typeof v === "object");
    if (!rows.length) return null;
    const columns = [];
    for (const [, v] of rows) for (const k of Object.keys(v)) if (!columns.includes(k)) columns.push(k);
    return table(
      caption,
      [rowTitle, ...columns.map((c) => (c.length <= 4 ? c.toUpperCase() : WL.label(c)))],
      rows.map(([name, v]) => [WL.label(name), ...columns.map((c) => cell(c, v[c]))])
    );
  }

  function widthClass(share) {
    const step = isNum(share) ? Math.round(Math.max(0, Math.min(1, share)) * 20) * 5 : 0;
    return `wl-w-${step}`;
  }

  function bar(share, cls) {
    return h("span", { class: ["wl-hbar", cls], "aria-hidden": "true" }, h("span", { class: ["wl-hbar-fill", widthClass(share)] }));
  }

  /* ---------- the period's numbers ---------- */

  function p50(stats) {
    if (!stats || typeof stats !== "object") return null;
    for (const key of ["p50", "median", "mean"]) if (isNum(stats[key])) return stats[key];
    return null;
  }

  function surveysMean(surveys, key) {
    let total = 0;
    let weight = 0;
    const parts = [];
    for (const [group, values] of Object.entries(surveys || {})) {
      if (!values || typeof values !== "object" || !isNum(values[key])) continue;
      const n = isNum(values.answers) && values.answers > 0 ? values.answers : 1;
      total += values[key] * n;
      weight += n;
      parts.push(`${group === "ai_only" ? "AI only" : WL.label(group)} ${key === "nps" ? WL.number(values[key], 0) : WL.number(values[key], 1)}`);
    }
    return { value: weight ? total / weight : null, parts };
  }

  function renderNumbers(report) {
    const n = (report && report.numbers) || {};
    const surveys = n.surveys || {};
    const answers = Object.values(surveys).reduce((sum, v) => sum + (v && isNum(v.answers) ? v.answers : 0), 0);
    const csat = surveysMean(surveys, "csat");
    const nps = surveysMean(surveys, "nps");
    const fs = n.frustration_start;
    const fe = n.frustration_end;
    let trend = "";
    if (isNum(fs) && isNum(fe)) trend = fe < fs - 0.02 ? "wl-better" : fe > fs + 0.02 ? "wl-worse" : "wl-same";
    const first = n.first_response_s || {};

    el.numbers.removeAttribute("aria-busy");
    clear(el.numbers).append(
      card("conversations", "Conversations", isNum(n.conversations) ? WL.number(n.conversations, 0) : DASH, isNum(n.resolved) ? `${WL.number(n.resolved, 0)} resolved` : null),
      card("containment", "Containment", WL.percent(n.containment, 1), "handled by the bot alone"),
      card(
        "escalation_rate",
        "Escalation rate",
        WL.percent(n.escalation_rate, 1),
        `${isNum(n.late_escalations) ? n.late_escalations : DASH} late · ${isNum(n.unnecessary_escalations) ? n.unnecessary_escalations : DASH} unnecessary`
      ),
      card("csat", "CSAT", csat.value === null ? DASH : WL.number(csat.value, 2), csat.parts.length ? csat.parts.join(" · ") : `${answers} survey answers`),
      card("nps", "NPS", nps.value === null ? DASH : WL.number(nps.value, 0), nps.parts.length ? nps.parts.join(" · ") : `${answers} survey answers`),
      card(
        "frustration",
        "Frustration start → end",
        `${WL.percent(fs)} → ${WL.percent(fe)}`,
        trend === "wl-better" ? "customers leave calmer" : trend === "wl-worse" ? "customers leave more upset" : trend ? "about the same" : null,
        trend
      ),
      card("first_response", "First response (median)", WL.humanDuration(p50(first)), isNum(first.p90) ? `p90 ${WL.humanDuration(first.p90)}` : null)
    );
    const spark = dailySpark(report);
    if (spark) el.numbers.querySelector('[data-metric="frustration"]').appendChild(spark);
  }

  function dailySpark(report) {
    const daily = report && report.daily;
    if (!daily || !Array.isArray(daily.frustration_end)) return null;
    const values = daily.frustration_end.map((v) => (v && typeof v === "object" ? v.value : v)).filter(isNum);
    if (values.length < 2) return null;
    return WL.sparkline(values, { max: 1, label: `Frustration at the end, by day: ${values.map((v) => WL.percent(v)).join(", ")}` });
  }

  function renderReasons(numbers) {
    const reasons = Object.entries(numbers.escalations_by_reason || {})
      .filter(([, v]) => isNum(v))
      .sort((a, b) => b[1] - a[1]);
    clear(el.reasons);
    if (!reasons.length) {
      el.reasons.appendChild(empty("No escalations in this period."));
      return;
    }
    const total = reasons.reduce((s, [, v]) => s + v, 0);
    const max = reasons[0][1] || 1;
    el.reasons.appendChild(
      h(
        "ul",
        { class: "wl-bars" },
        reasons.map(([name, count]) =>
          h(
            "li",
            { class: "wl-bars-row", dataset: { reason: name } },
            h("span", { class: "wl-bars-label", text: WL.label(name) }),
            bar(count / max),
            h("span", { class: "wl-bars-value", text: `${WL.number(count, 0)} (${WL.percent(total ? count / total : null)})` })
          )
        )
      )
    );
    if (isNum(numbers.time_to_escalate_s && p50(numbers.time_to_escalate_s))) {
      el.reasons.appendChild(h("p", { class: "wl-muted", text: `Median time to escalate: ${WL.humanDuration(p50(numbers.time_to_escalate_s))}` }));
    }
  }

  function renderSatisfaction(numbers) {
    clear(el.satisfaction);
    const surveys = nestedTable("Surveys", numbers.surveys, "Handled by");
    el.satisfaction.append(surveys || empty("No survey answers in this period."));
    const agreement = numbers.satisfaction_agreement || {};
    el.satisfaction.append(
      dl([
        ["Estimated satisfaction", cell("satisfaction", numbers.satisfaction_estimated)],
        isNum(agreement.pairs) && agreement.pairs > 0
          ? ["Estimate vs survey", `${agreement.pairs} pairs · Spearman ${cell("spearman", agreement.spearman)} · mean difference ${cell("diff", agreement.mean_abs_diff)}`]
          : null,
        ...Object.entries(numbers.churn_signals || {}).map(([k, v]) => [WL.label(k), cell("count", v)]),
      ])
    );
  }

  function renderSpeed(numbers) {
    clear(el.speed);
    const keys = ["first_response_s", "queue_wait_s", "handling_s", "resolution_s", "time_to_escalate_s"].filter((k) => numbers[k] && typeof numbers[k] === "object");
    const names = {
      first_response_s: "First response",
      queue_wait_s: "Queue wait",
      handling_s: "Handling",
      resolution_s: "Resolution",
      time_to_escalate_s: "Time to escalate",
    };
    const data = {};
    for (const k of keys) data[names[k]] = numbers[k];
    const columns = [];
    for (const v of Object.values(data)) for (const c of Object.keys(v)) if (!columns.includes(c)) columns.push(c);
    if (!keys.length) {
      el.speed.appendChild(empty("No timings in this period."));
      return;
    }
    el.speed.appendChild(
      table(
        null,
        ["", ...columns.map((c) => (c === "count" ? "Count" : c === "median" ? "Median" : c.toUpperCase()))],
        Object.entries(data).map(([name, v]) => [name, ...columns.map((c) => (c === "count" ? cell("count", v[c]) : WL.humanDuration(v[c])))])
      )
    );
    el.speed.appendChild(dl([["First contact resolution", WL.percent(numbers.first_contact_resolution, 1)]]));
  }

  function renderQuality(numbers) {
    clear(el.quality);
    el.quality.append(
      dl([
        ["Late escalations", cell("count", numbers.late_escalations)],
        ["Unnecessary escalations", cell("count", numbers.unnecessary_escalations)],
      ])
    );
    const load = nestedTable("Upset conversations taken, per agent", numbers.agent_load, "Agent");
    el.quality.append(load || empty("No agent took an upset conversation in this period."));
    const corrections = Object.entries(numbers.corrections || {});
    el.quality.append(
      corrections.length
        ? dl(corrections.map(([k, v]) => [WL.label(k), cell("count", v)]), "wl-corrections")
        : empty("No corrections by agents in this period.")
    );
  }

  function renderPolicy(policy) {
    clear(el.policy);
    if (!policy || typeof policy !== "object") {
      el.policy.appendChild(empty("Unknown."));
      return;
    }
    el.policy.append(
      dl([
        ["Name", policy.name || DASH],
        ["Label", policy.label || DASH],
        ["Source", policy.source || DASH],
      ])
    );
  }

  let loading = null;

  async function loadReport() {
    const days = el.days ? el.days.value : "7";
    if (loading) loading.abort();
    loading = new AbortController();
    try {
      const report = await WL.get(`/api/v1/dashboard?days=${encodeURIComponent(days)}`, { signal: loading.signal });
      const numbers = (report && report.numbers) || {};
      renderNumbers(report);
      renderReasons(numbers);
      renderSatisfaction(numbers);
      renderSpeed(numbers);
      renderQuality(numbers);
      renderPolicy(report && report.policy);
      setText(el.updated, `Updated ${new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`);
    } catch (err) {
      if (err && err.name === "AbortError") return;
      WL.report(err, "The numbers could not be loaded.");
      if (el.numbers.getAttribute("aria-busy")) {
        el.numbers.removeAttribute("aria-busy");
        clear(el.numbers).appendChild(empty("The numbers could not be loaded."));
      }
    }
  }

  /* ---------- charts ---------- */

  function chartUrl(name, bust) {
    return `/api/v1/dashboard/charts/${encodeURIComponent(name)}.svg?days=14${bust ? `&t=${bust}` : ""}`;
  }

  function setupCharts() {
    const names = Array.isArray(cfg.charts) ? cfg.charts : [];
    const existing = new Set([...el.charts.querySelectorAll("figure[data-chart]")].map((f) => f.dataset.chart));
    for (const name of names) {
      if (existing.has(name)) continue;
      el.charts.appendChild(
        h(
          "figure",
          { class: "wl-chart", dataset: { chart: name } },
          h("img", { src: chartUrl(name), alt: `Chart: ${WL.label(name)}, last 14 days`, width: "640", height: "320" }),
          h("figcaption", { text: WL.label(name) })
        )
      );
    }
    for (const figure of el.charts.querySelectorAll("figure[data-chart]")) {
      const img = figure.querySelector("img");
      const caption = figure.querySelector("figcaption");
      if (caption) caption.textContent = WL.label(figure.dataset.chart);
      if (!img) continue;
      img.alt = `Chart: ${WL.label(figure.dataset.chart)}, last 14 days`;
      img.addEventListener("error", () => figure.classList.add("wl-chart-failed"));
      img.addEventListener("load", () => figure.classList.remove("wl-chart-failed"));
    }
    if (!el.charts.children.length) el.charts.appendChild(empty("No charts configured."));
  }

  function refreshCharts() {
    const bust = Date.now();
    for (const figure of el.charts.querySelectorAll("figure[data-chart]")) {
      const img = figure.querySelector("img");
      if (img) img.src = chartUrl(figure.dataset.chart, bust);
    }
  }

  /* ---------- live queue and agents ---------- */

  const live = { queue: [], agents: [], at: performance.now() };

  function waitingNow(item) {
    return (isNum(item.waiting_seconds) ? item.waiting_seconds : 0) + (performance.now() - live.at) / 1000;
  }

  function customerName(item) {
    const packet = item.packet || {};
    const profile = packet.profile || packet.customer || {};
    return profile.name || `Conversation ${String(item.id).slice(0, 8)}`;
  }

  function renderLiveQueue() {
    const queue = live.queue;
    const longest = queue.reduce((m, q) => Math.max(m, waitingNow(q)), 0);
    const breached = queue.filter((q) => Array.isArray(q.sla_breaches) && q.sla_breaches.length).length;
    const upset = queue.filter((q) => isNum(q.frustration) && q.frustration >= 0.7).length;
    clear(el.liveQueue).append(
      h(
        "div",
        { class: "wl-stats" },
        stat("wl-live-count", "Waiting", String(queue.length)),
        stat("wl-live-longest", "Longest wait", queue.length ? WL.duration(longest) : DASH),
        stat("wl-live-upset", "Very frustrated", String(upset)),
        stat("wl-live-sla", "Past SLA", String(breached), breached ? "wl-stat-danger" : null)
      ),
      queue.length
        ? h(
            "ol",
            { class: "wl-live-top", "aria-label": "Top of the queue" },
            queue.slice(0, 6).map((item) =>
              h(
                "li",
                { class: ["wl-live-item", `wl-level-${WL.level(item.frustration)}`], dataset: { id: item.id } },
                h("span", { class: "wl-live-name", text: customerName(item) }),
                h(
                  "span",
                  { class: ["wl-frust", `wl-level-${WL.level(item.frustration)}`] },
                  h("meter", { class: "wl-frustration", min: "0", max: "1", low: "0.4", high: "0.7", optimum: "0", value: String(isNum(item.frustration) ? item.frustration : 0), "aria-label": "Frustration" }),
                  h("span", { class: "wl-frust-pct", text: WL.percent(item.frustration) })
                ),
                h("span", { class: "wl-wait", dataset: { id: item.id }, text: WL.duration(waitingNow(item)) }),
                h(
                  "span",
                  { class: "wl-live-reasons" },
                  (item.reason_details && item.reason_details.length ? item.reason_details.map((d) => d && d.trigger) : item.reasons || [])
                    .filter(Boolean)
                    .slice(0, 3)
                    .map((r) => h("span", { class: "wl-chip", text: WL.label(r) }))
                ),
                Array.isArray(item.sla_breaches) && item.sla_breaches.length ? h("span", { class: "wl-badge wl-badge-sla", text: "SLA" }) : null
              )
            )
          )
        : empty("Nobody is waiting.")
    );
  }

  function stat(id, label, value, cls) {
    return h("div", { class: ["wl-stat", cls] }, h("span", { class: "wl-stat-value", id, text: value }), h("span", { class: "wl-stat-label", text: label }));
  }

  const STATUS_ORDER = { online: 0, busy: 1, away: 2, offline: 3 };

  function renderAgents() {
    clear(el.agents);
    const agents = [...live.agents].sort((a, b) => (STATUS_ORDER[a.status] ?? 4) - (STATUS_ORDER[b.status] ?? 4) || String(a.name).localeCompare(String(b.name)));
    if (!agents.length) {
      el.agents.appendChild(empty("No agents to show."));
      return;
    }
    el.agents.appendChild(
      table(
        null,
        ["Agent", "Status", "Open", "Last seen"],
        agents.map((a) => [
          h(
            "span",
            { class: "wl-agent" },
            h("span", { class: "wl-agent-name", text: a.name || a.id }),
            h("span", { class: "wl-muted wl-small", text: [a.role && a.role !== "agent" ? a.role : "", a.team || "", a.seniority || ""].filter(Boolean).join(" · ") })
          ),
          h("span", { class: `wl-status-badge wl-status-${a.status || "unknown"}`, text: WL.label(a.status || "unknown") }),
          isNum(a.open_conversations) ? WL.number(a.open_conversations, 0) : DASH,
          WL.ago(a.last_seen),
        ]),
        "wl-agents-table"
      )
    );
  }

  function onQueue(data) {
    if (!data || typeof data !== "object") return;
    live.queue = Array.isArray(data.queue) ? data.queue : [];
    live.agents = Array.isArray(data.agents) ? data.agents : [];
    live.at = performance.now();
    renderLiveQueue();
    renderAgents();
  }

  function tick() {
    for (const span of el.liveQueue.querySelectorAll(".wl-wait[data-id]")) {
      const item = live.queue.find((q) => String(q.id) === span.dataset.id);
      if (item) span.textContent = WL.duration(waitingNow(item));
    }
    const longest = $("wl-live-longest");
    if (longest && live.queue.length) longest.textContent = WL.duration(live.queue.reduce((m, q) => Math.max(m, waitingNow(q)), 0));
  }

  /* ---------- what-if ---------- */

  function summaryCell(value) {
    if (value === null || value === undefined) return DASH;
    if (isNum(value)) return WL.number(value);
    if (typeof value === "object" && !Array.isArray(value)) {
      const entries = Object.entries(value);
      if (!entries.length) return DASH;
      return h(
        "ul",
        { class: "wl-plain-list wl-small" },
        entries.map(([k, v]) => h("li", { text: `${WL.label(k) || "(none)"}: ${isNum(v) ? WL.number(v) : WL.show(v)}` }))
      );
    }
    return WL.show(value);
  }

  function renderWhatif(result) {
    clear(el.whatifResult);
    const comparison = (result && result.comparison) || {};
    const policies = Array.isArray(comparison.policies) ? comparison.policies : Object.keys(comparison.summary || {});
    const [a, b] = policies;
    const summary = comparison.summary || {};
    const inForce = result.in_force || {};
    const candidate = result.candidate || {};
    const titleA = inForce.label || inForce.name || a || "In force";
    const titleB = candidate.label || candidate.name || b || "Policy file";

    el.whatifResult.appendChild(
      dl([
        ["In force", [inForce.label, inForce.name && inForce.name !== inForce.label ? `(${inForce.name})` : ""].filter(Boolean).join(" ") || DASH],
        ["Candidate", [candidate.label, candidate.name && candidate.name !== candidate.label ? `(${candidate.name})` : ""].filter(Boolean).join(" ") || DASH],
        candidate.source ? ["Candidate from", candidate.source] : null,
      ])
    );

    const sa = (a !== undefined && summary[a]) || {};
    const sb = (b !== undefined && summary[b]) || {};
    const keys = [];
    for (const k of [...Object.keys(sa), ...Object.keys(sb)]) if (!keys.includes(k)) keys.push(k);
    if (keys.length) {
      const rows = keys.map((k) => {
        const fa = k === "escalation_rate" && isNum(sa[k]) ? WL.percent(sa[k], 1) : summaryCell(sa[k]);
        const fb = k === "escalation_rate" && isNum(sb[k]) ? WL.percent(sb[k], 1) : summaryCell(sb[k]);
        return [WL.label(k), fa, fb];
      });
      const t = table("Side by side", ["", `In force: ${titleA}`, `Policy file: ${titleB}`], rows, "wl-whatif-table");
      el.whatifResult.appendChild(h("div", { class: "wl-table-wrap" }, t));
    }

    const changes = Object.entries(comparison.changes || {});
    el.whatifResult.appendChild(h("h3", { text: "What changes" }));
    if (!changes.length) el.whatifResult.appendChild(empty("No conversation would end differently."));
    else el.whatifResult.appendChild(h("ul", { class: "wl-chips wl-changes" }, changes.map(([kind, count]) => h("li", { class: "wl-chip", dataset: { kind }, text: `${WL.label(kind)}: ${count}` }))));

    const changed = Array.isArray(comparison.changed) ? comparison.changed : [];
    if (changed.length) {
      el.whatifResult.appendChild(
        h(
          "ol",
          { class: "wl-changed" },
          changed.slice(0, 20).map((c) =>
            h(
              "li",
              { class: "wl-changed-item", dataset: { id: c.id } },
              h("span", { class: "wl-changed-head" }, h("code", { text: String(c.id || "").slice(0, 12) }), h("span", { class: "wl-chip", text: WL.label(c.change || "") })),
              c.why ? h("span", { class: "wl-changed-why", text: c.why }) : null
            )
          )
        )
      );
      if (changed.length > 20) el.whatifResult.appendChild(h("p", { class: "wl-muted", text: `…and ${changed.length - 20} more.` }));
    }
  }

  let whatifRunning = false;

  async function runWhatif() {
    if (whatifRunning) return;
    whatifRunning = true;
    const started = Date.now();
    el.whatifRun.disabled = true;
    el.whatif.setAttribute("aria-busy", "true");
    el.whatifResult.classList.add("wl-stale");
    setText(el.whatifStatus, "Replaying the last 50 conversations under both policies…");
    const timer = setInterval(() => {
      const s = Math.round((Date.now() - started) / 1000);
      setText(el.whatifStatus, `Replaying the last 50 conversations under both policies… ${s} s`);
    }, 1000);
    try {
      const result = await WL.get("/api/v1/dashboard/whatif?limit=50");
      renderWhatif(result || {});
      setText(el.whatifStatus, `Compared in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    } catch (err) {
      setText(el.whatifStatus, err && err.detail ? `Could not compare: ${err.detail}` : "Could not compare.");
      WL.report(err, "The comparison failed.");
    } finally {
      clearInterval(timer);
      whatifRunning = false;
      el.whatifRun.disabled = false;
      el.whatif.removeAttribute("aria-busy");
      el.whatifResult.classList.remove("wl-stale");
    }
  }

  /* ---------- wiring ---------- */

  el.whatifRun.addEventListener("click", runWhatif);
  if (el.days) {
    el.days.addEventListener("change", loadReport);
    const form = $("wl-period-form");
    if (form) form.addEventListener("submit", (e) => {
      e.preventDefault();
      loadReport();
    });
  }

  setupCharts();
  loadReport();
  setInterval(() => {
    loadReport();
    refreshCharts();
  }, REFRESH_MS);
  setInterval(tick, 1000);

  WL.stream("/api/v1/queue/stream", {
    name: "queue",
    onEvent: (event) => {
      if (event.event === "queue" && event.json) onQueue(event.json);
    },
  });
})();
