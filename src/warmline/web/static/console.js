/* warmline agent console: the queue, the open conversation, the handoff packet, coaching.
 * Needs live.js (window.WL). Every text from the server goes in as text, never as HTML. */
(function () {
  "use strict";

  const WL = window.WL;
  if (!WL) return;
  const { h, setText, clear } = WL;

  const cfg = WL.config();
  const me = cfg.agent || {};
  const intents = Array.isArray(cfg.intents) ? cfg.intents : [];

  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;
  const convUrl = (id, tail = "") => `/api/v1/conversations/${enc(id)}${tail}`;

  const el = {
    queue: $("wl-queue"),
    queueCount: $("wl-queue-count"),
    queueEmpty: $("wl-queue-empty"),
    mine: $("wl-mine"),
    mineCount: $("wl-mine-count"),
    mineEmpty: $("wl-mine-empty"),
    title: $("wl-conv-title"),
    meta: $("wl-conv-meta"),
    actions: $("wl-conv-actions"),
    claimOpen: $("wl-claim-open"),
    handback: $("wl-handback"),
    resolveForm: $("wl-resolve-form"),
    disposition: $("wl-disposition"),
    resolveNote: $("wl-resolve-note"),
    resolve: $("wl-resolve"),
    placeholder: $("wl-conv-placeholder"),
    transcript: $("wl-transcript"),
    typing: $("wl-typing"),
    composer: $("wl-composer"),
    reply: $("wl-reply"),
    readonly: $("wl-readonly"),
    addNote: $("wl-add-note"),
    send: $("wl-send-reply"),
    coach: $("wl-coach"),
    tone: $("wl-tone"),
    toneText: $("wl-tone-text"),
    tips: $("wl-tips"),
    replies: $("wl-replies"),
    packet: $("wl-packet-body"),
    history: $("wl-history-list"),
    historyEmpty: $("wl-history-empty"),
    status: $("wl-status"),
    coachToggle: $("wl-coach-toggle"),
    replyLabel: document.querySelector('label[for="wl-reply"]'),
    coachBody: $("wl-coach-body"),
  };

  const state = {
    queue: [],
    mine: [],
    agents: [],
    receivedAt: performance.now(),
    open: null, // {id, status, agent, channel, customer_id, priority}
    token: 0, // bumps at each open: answers for an older one are dropped
    lastSeq: 0,
    seen: new Set(),
    stream: null,
    packet: null,
    names: {},
    lastCustomerBubble: null,
  };
  if (me.id) state.names[me.id] = me.name || me.id;

  /* ====================================================================== */
  /* Queue and Mine                                                          */
  /* ====================================================================== */

  const signatures = new WeakMap();

  function customerOf(item) {
    const packet = (item && item.packet) || {};
    const profile = packet.profile || packet.customer || {};
    return {
      name: profile.name || item.customer_name || "",
      tier: profile.tier || "",
      plan: profile.plan || "",
      value: profile.lifetime_value,
    };
  }

  function shortId(id) {
    return String(id || "").slice(0, 8);
  }

  function queueTitle(item) {
    const who = customerOf(item).name;
    return who || `Conversation ${shortId(item.id)}`;
  }

  function reasonChips(item) {
    const details = Array.isArray(item.reason_details) ? item.reason_details : [];
    const seen = new Set();
    const chips = [];
    for (const d of details) {
      const name = d && (d.trigger || d.name);
      if (!name || seen.has(name)) continue;
      seen.add(name);
      chips.push(h("li", { class: "wl-chip", title: d.detail ? String(d.detail) : null, text: WL.label(name) }));
    }
    if (!chips.length) {
      for (const r of item.reasons || []) {
        const text = String(r);
        chips.push(h("li", { class: "wl-chip", title: text, text: text.length > 40 ? `${text.slice(0, 38)}…` : text }));
      }
    }
    return chips.length ? h("ul", { class: "wl-chips", "aria-label": "Reasons" }, chips) : null;
  }

  function frustrationMeter(value, extraClass) {
    const v = WL.isNum(value) ? Math.max(0, Math.min(1, value)) : 0;
    const lvl = WL.level(v);
    return h(
      "span",
      { class: ["wl-frust", `wl-level-${lvl}`, extraClass] },
      h("meter", {
        class: "wl-frustration",
        min: "0",
        max: "1",
        low: "0.4",
        high: "0.7",
        optimum: "0",
        value: String(v),
        "aria-label": "Frustration",
        dataset: { level: lvl },
      }),
      h("span", { class: "wl-frust-pct", text: WL.percent(v) })
    );
  }

  function waitingNow(item) {
    const base = WL.isNum(item.waiting_seconds) ? item.waiting_seconds : 0;
    return base + (performance.now() - state.receivedAt) / 1000;
  }

  function fillQueueItem(li, item) {
    const customer = customerOf(item);
    const packet = item.packet || {};
    const about = packet.goal || (Array.isArray(packet.bullets) && packet.bullets[0]) || "";
    const title = queueTitle(item);
    const breaches = Array.isArray(item.sla_breaches) ? item.sla_breaches : [];
    li.className = ["wl-queue-item", `wl-level-${WL.level(item.frustration)}`, breaches.length ? "wl-breached" : ""].filter(Boolean).join(" ");

    const value = [];
    if (customer.tier) value.push(h("span", { class: `wl-tier wl-tier-${String(customer.tier).toLowerCase().replace(/[^a-z0-9]+/g, "-")}`, text: customer.tier }));
    if (WL.isNum(customer.value)) value.push(h("span", { class: "wl-value", title: "Lifetime value", text: `LTV ${WL.money(customer.value)}` }));
    if (item.senior) value.push(h("span", { class: "wl-badge wl-badge-senior", text: "Senior" }));
    for (const b of breaches) value.push(h("span", { class: "wl-badge wl-badge-sla", text: `SLA: ${WL.label(b).toLowerCase()}` }));
    if (item.route) value.push(h("span", { class: "wl-route", title: "Route", text: WL.label(item.route) }));

    clear(li).append(
      h(
        "div",
        { class: "wl-qi-head" },
        h("button", { type: "button", class: "wl-qi-open", text: title, "aria-label": `Open conversation with ${title}` }),
        h("span", { class: "wl-wait", title: "Waiting", "aria-label": "Waiting time", text: WL.duration(waitingNow(item)) })
      ),
      about ? h("p", { class: "wl-qi-about", text: about }) : null,
      h("div", { class: "wl-qi-row" }, frustrationMeter(item.frustration), value.length ? h("span", { class: "wl-qi-value" }, value) : null),
      reasonChips(item),
      h(
        "div",
        { class: "wl-qi-foot" },
        h("span", { class: "wl-muted wl-qi-prio", text: `Priority ${WL.number(item.effective_priority, 2)}` }),
        h("button", { type: "button", class: "wl-btn wl-btn-primary wl-btn-small wl-claim", "aria-label": `Claim conversation with ${title}`, text: "Claim" })
      )
    );
  }

  function fillMineItem(li, item) {
    const name = item.customer_name || `Conversation ${shortId(item.id)}`;
    li.className = ["wl-mine-item", `wl-level-${WL.level(item.frustration)}`].join(" ");
    clear(li).append(
      h(
        "button",
        { type: "button", class: "wl-mine-open", "aria-label": `Open conversation with ${name}` },
        h("span", { class: "wl-mine-head" }, h("span", { class: "wl-mine-name", text: name }), h("span", { class: "wl-mine-time", text: WL.clock(item.updated_at) })),
        h(
          "span",
          { class: "wl-mine-row" },
          h("span", { class: `wl-status-badge wl-status-${item.status || "unknown"}`, text: WL.label(item.status || "") }),
          frustrationMeter(item.frustration, "wl-frust-small")
        ),
        item.last_text ? h("span", { class: "wl-mine-last", text: item.last_text }) : null
      )
    );
  }

  /** Update a list in place, by data-id: unchanged items keep their nodes (and the focus). */
  function reconcile(list, items, make, fill) {
    const active = document.activeElement;
    const activeLi = active && list.contains(active) ? active.closest("li[data-id]") : null;
    const activeId = activeLi ? activeLi.dataset.id : null;
    const activeClass = active && activeLi ? [...active.classList].find((c) => c.startsWith("wl-")) : null;

    const existing = new Map();
    for (const li of list.children) existing.set(li.dataset.id, li);
    items.forEach((item, index) => {
      const id = String(item.id);
      let li = existing.get(id);
      if (!li) li = make(id);
      existing.delete(id);
      const { waiting_seconds: _ignored, ...rest } = item;
      const sig = JSON.stringify(rest);
      if (signatures.get(li) !== sig) {
        fill(li, item);
        signatures.set(li, sig);
      }
      li.classList.toggle("is-open", Boolean(state.open && state.open.id === id));
      if (state.open && state.open.id === id) li.setAttribute("aria-current", "true");
      else li.removeAttribute("aria-current");
      if (list.children[index] !== li) list.insertBefore(li, list.children[index] || null);
    });
    for (const li of existing.values()) li.remove();

    if (activeId && document.activeElement !== active) {
      const li = [...list.children].find((x) => x.dataset.id === activeId);
      const target = li && (activeClass ? li.querySelector(`.${activeClass}`) : li.querySelector("button"));
      if (target) target.focus();
    }
  }

  function renderLists() {
    reconcile(el.queue, state.queue, (id) => h("li", { class: "wl-queue-item", dataset: { id } }), fillQueueItem);
    reconcile(el.mine, state.mine, (id) => h("li", { class: "wl-mine-item", dataset: { id } }), fillMineItem);
    const n = state.queue.length;
    setText(el.queueCount, `${n} waiting`);
    el.queueEmpty.hidden = n > 0;
    setText(el.mineCount, String(state.mine.length));
    el.mineEmpty.hidden = state.mine.length > 0;
    document.title = `${n ? `(${n}) ` : ""}Console · warmline`;
  }

  function tickWaits() {
    for (const li of el.queue.children) {
      const item = state.queue.find((q) => String(q.id) === li.dataset.id);
      const span = li.querySelector(".wl-wait");
      if (item && span) span.textContent = WL.duration(waitingNow(item));
    }
  }

  function onQueue(data) {
    if (!data || typeof data !== "object") return;
    state.queue = Array.isArray(data.queue) ? data.queue : [];
    state.mine = Array.isArray(data.mine) ? data.mine : [];
    state.agents = Array.isArray(data.agents) ? data.agents : [];
    state.receivedAt = performance.now();
    for (const a of state.agents) if (a && a.id) state.names[a.id] = a.name || a.id;
    renderLists();
    // The open conversation may have changed hands (claimed by someone else, handed back...).
    if (state.open) {
      const inMine = state.mine.some((m) => String(m.id) === state.open.id);
      const inQueue = state.queue.some((q) => String(q.id) === state.open.id);
      const expected = state.open.status === "assigned" && state.open.agent === me.id ? inMine : state.open.status === "queued" ? inQueue : null;
      if (expected === false) refreshSoon();
    }
  }

  function listClick(event) {
    const li = event.target.closest("li[data-id]");
    if (!li || !event.currentTarget.contains(li)) return;
    if (event.target.closest("form, input, select, textarea")) return;
    const id = li.dataset.id;
    if (event.target.closest("button.wl-claim")) {
      claim(id, event.target.closest("button.wl-claim"));
      return;
    }
    openConversation(id);
  }

  /* ====================================================================== */
  /* Claim, open, refresh                                                    */
  /* ====================================================================== */

  async function claim(id, button) {
    if (button) button.disabled = true;
    try {
      const result = await WL.post(convUrl(id, "/claim"), {});
      WL.notice("Claimed: the conversation is yours.");
      // Move it at once; the queue stream confirms.
      const item = state.queue.find((q) => String(q.id) === id);
      state.queue = state.queue.filter((q) => String(q.id) !== id);
      if (item && !state.mine.some((m) => String(m.id) === id)) {
        state.mine.unshift({
          id,
          status: (result && result.status) || "assigned",
          priority: item.priority,
          frustration: item.frustration,
          customer_name: customerOf(item).name,
          last_text: "",
          updated_at: new Date().toISOString(),
        });
      }
      renderLists();
      if (state.open && state.open.id === id) {
        applyState(result);
        await catchUp();
        el.reply.focus();
      } else {
        await openConversation(id);
        el.reply.focus();
      }
    } catch (err) {
      WL.report(err);
      if (button && button.isConnected) button.disabled = false;
      if (err && err.status === 409 && state.open && state.open.id === id) refreshSoon();
    }
  }

  const drafts = new Map(); // unsent text per conversation, kept while switching

  function closeConversation() {
    if (state.open) {
      if (el.reply.value.trim()) drafts.set(state.open.id, el.reply.value);
      else drafts.delete(state.open.id);
    }
    stopTyping();
    coachSoon.cancel();
    if (coachAbort) coachAbort.abort();
    if (state.stream) state.stream.close();
    state.stream = null;
    state.open = null;
    state.packet = null;
    state.lastSeq = 0;
    state.seen = new Set();
    state.lastCustomerBubble = null;
    state.customerName = "";
    clearTimeout(typingHide);
    setText(el.typing, "");
  }

  async function openConversation(id) {
    id = String(id);
    if (state.open && state.open.id === id) {
      el.transcript.focus();
      return;
    }
    closeConversation();
    const token = ++state.token;
    state.open = { id, status: null, agent: null };
    el.reply.value = drafts.get(id) || "";
    setHash(id);

    const item = state.queue.find((q) => String(q.id) === id) || state.mine.find((m) => String(m.id) === id);
    state.customerName = item ? customerOf(item).name : "";
    setText(el.title, state.customerName || `Conversation ${shortId(id)}`);
    setText(el.meta, "Loading…");
    el.placeholder.hidden = true;
    el.transcript.hidden = false;
    el.transcript.setAttribute("aria-busy", "true");
    clear(el.transcript);
    renderPacket(null, "Loading the packet…");
    renderHistory([]);
    resetCoach();
    renderLists();

    let conversation;
    try {
      conversation = await WL.get(convUrl(id));
    } catch (err) {
      if (token !== state.token) return;
      WL.report(err);
      setText(el.meta, "Could not load this conversation.");
      el.transcript.removeAttribute("aria-busy");
      return;
    }
    if (token !== state.token) return;
    applyState(conversation);
    addEvents(conversation.events || []);
    el.transcript.removeAttribute("aria-busy");
    scrollToEnd(true);
    loadPacket(token);
    if (canWrite()) coachNow("");

    // Reconnects resume after the last seq shown, so nothing is missed or shown twice.
    state.stream = WL.stream(() => convUrl(id, `/stream?after=${state.lastSeq}`), {
      name: "conversation",
      onEvent: (event) => {
        if (token !== state.token) return;
        if (event.event === "message" && event.json) addEvents([event.json], { live: true });
        else if (event.event === "typing" && event.json) onTyping(event.json);
      },
      onFatal: (err) => {
        if (token === state.token) WL.report(err);
      },
    });
  }

  let refreshTimer = null;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(catchUp, 300);
  }

  /** Fetch the open conversation again: its state, and any event not seen yet. */
  async function catchUp() {
    if (!state.open) return;
    const token = state.token;
    try {
      const conversation = await WL.get(convUrl(state.open.id));
      if (token !== state.token) return;
      applyState(conversation);
      addEvents(conversation.events || [], { live: true });
    } catch (err) {
      if (token === state.token) WL.report(err);
    }
  }

  function canWrite() {
    return Boolean(state.open && state.open.status === "assigned" && state.open.agent && state.open.agent === me.id);
  }

  function applyState(conversation) {
    if (!state.open || !conversation || typeof conversation !== "object") return;
    if (conversation.id && String(conversation.id) !== state.open.id) return;
    for (const key of ["status", "agent", "channel", "customer_id", "priority"]) {
      if (key in conversation) state.open[key] = conversation[key];
    }
    updateHeader();
    updateControls();
  }

  function agentName(id) {
    if (!id) return "";
    return state.names[id] || id;
  }

  function updateHeader() {
    const open = state.open;
    if (!open) return;
    const name = state.customerName || (state.packet && customerOf({ packet: state.packet }).name);
    if (name) setText(el.title, name);
    const parts = [];
    if (open.status) parts.push(WL.label(open.status));
    if (open.agent) parts.push(open.agent === me.id ? "with you" : `with ${agentName(open.agent)}`);
    if (open.channel) parts.push(`via ${open.channel}`);
    if (WL.isNum(open.priority)) parts.push(`priority ${WL.number(open.priority, 2)}`);
    parts.push(`#${shortId(open.id)}`);
    setText(el.meta, parts.join(" · "));
  }

  function updateControls() {
    const open = state.open;
    const writable = canWrite();
    el.actions.hidden = !open;
    el.composer.hidden = !open;
    el.claimOpen.hidden = !(open && open.status === "queued");
    el.handback.hidden = !writable;
    el.resolveForm.hidden = !writable;
    el.send.disabled = !writable;
    el.readonly.hidden = writable || !open;
    if (open && !writable) {
      setText(
        el.readonly,
        open.status === "resolved"
          ? "Resolved: read only. You can still add an internal note."
          : open.status === "assigned"
          ? `Read only: ${agentName(open.agent)} has this conversation.`
          : "Read only: claim this conversation to reply."
      );
    }
    el.coach.hidden = !writable;
    el.reply.placeholder = writable ? "Write to the customer…" : "Write an internal note…";
    if (el.replyLabel) setText(el.replyLabel, writable || !open ? "Reply to the customer" : "Internal note (the customer does not see it)");
  }

  /* ====================================================================== */
  /* Transcript                                                              */
  /* ====================================================================== */

  function nearBottom() {
    const t = el.transcript;
    return t.scrollHeight - t.scrollTop - t.clientHeight < 80;
  }

  function scrollToEnd(force) {
    const t = el.transcript;
    if (force || nearBottom()) t.scrollTop = t.scrollHeight;
    stuck = nearBottom();
  }

  // Keep the newest message in view when the transcript's box shrinks or grows (the coaching
  // panel filling in, the window resized) if the agent was reading the end.
  let stuck = true;
  el.transcript.addEventListener("scroll", () => {
    stuck = nearBottom();
  });
  if (window.ResizeObserver) {
    new ResizeObserver(() => {
      if (stuck) el.transcript.scrollTop = el.transcript.scrollHeight;
    }).observe(el.transcript);
  }

  function addEvents(events, { live = false } = {}) {
    const fresh = (events || [])
      .filter((e) => e && WL.isNum(Number(e.seq)) && !state.seen.has(Number(e.seq)) && Number(e.seq) > (live ? state.lastSeq : 0))
      .sort((a, b) => a.seq - b.seq);
    if (!fresh.length) return;
    const stick = nearBottom();
    let refresh = false;
    let packetChanged = false;
    for (const event of fresh) {
      const seq = Number(event.seq);
      state.seen.add(seq);
      state.lastSeq = Math.max(state.lastSeq, seq);
      if (event.agent && event.agent_name) state.names[event.agent] = event.agent_name;
      const node = renderEvent(event);
      if (node) el.transcript.appendChild(node);
      if (["agent_assigned", "handed_back", "resolved", "reopened", "handoff"].includes(event.type)) refresh = true;
      if (["handoff", "customer_message", "action_step", "agent_message"].includes(event.type)) packetChanged = true;
      if (event.type === "customer_message") {
        clearTimeout(typingHide);
        setText(el.typing, "");
      }
    }
    if (stick || !live) scrollToEnd(true);
    if (live && refresh) refreshSoon();
    if (live && packetChanged) packetSoon();
  }

  function bubble(event, role, who, text) {
    const li = h(
      "li",
      { class: ["wl-msg", "wl-bubble", `wl-msg-${role}`], dataset: { seq: event.seq, type: event.type } },
      h("div", { class: "wl-msg-head" }, h("span", { class: "wl-msg-who", text: who }), timeNode(event.ts)),
      h("p", { class: "wl-msg-text", text: event.text || "" })
    );
    return li;
  }

  function timeNode(ts) {
    const date = WL.parseTime(ts);
    if (!date) return null;
    return h("time", { class: "wl-msg-time", datetime: date.toISOString(), title: date.toLocaleString(), text: WL.clock(ts) });
  }

  function systemLine(event, text, variant) {
    return h(
      "li",
      { class: ["wl-msg", "wl-system", variant ? `wl-system-${variant}` : ""], dataset: { seq: event.seq, type: event.type } },
      h("span", { class: "wl-system-text", text }),
      timeNode(event.ts)
    );
  }

  function renderEvent(event) {
    switch (event.type) {
      case "customer_message": {
        const li = bubble(event, "customer", state.customerName || "Customer", event.text);
        li.appendChild(h("p", { class: "wl-msg-analysis" }));
        li.appendChild(toolBar(li, event, "Correct intent", intentForm));
        state.lastCustomerBubble = li;
        return li;
      }
      case "bot_reply": {
        const li = bubble(event, "bot", "Bot", event.text);
        const head = li.querySelector(".wl-msg-head");
        if (event.kind && event.kind !== "answer") head.appendChild(h("span", { class: "wl-msg-kind", text: WL.label(event.kind) }));
        if (event.answer) head.appendChild(h("span", { class: "wl-msg-source", title: "Knowledge section", text: `from ${event.answer}` }));
        // Only answers quoted from the knowledge base can be flagged (not action prompts or notices).
        if (event.answer || event.kind === "answer") li.appendChild(toolBar(li, event, "Flag answer", flagForm));
        return li;
      }
      case "agent_message": {
        const who = event.agent_name || agentName(event.agent) || "Agent";
        return bubble(event, "agent", event.agent === me.id ? `${who} (you)` : who, event.text);
      }
      case "note": {
        const author = event.agent_name || event.author_name || agentName(event.agent || event.author) || "Agent";
        return h(
          "li",
          { class: ["wl-msg", "wl-note"], dataset: { seq: event.seq, type: event.type } },
          h("div", { class: "wl-msg-head" }, h("span", { class: "wl-msg-who", text: `Internal note · ${author}` }), timeNode(event.ts)),
          h("p", { class: "wl-msg-text", text: event.text || "" })
        );
      }
      case "analysis": {
        attachAnalysis(event);
        return null;
      }
      case "decision": {
        const details = (event.reasons || []).map((r) => (r && (r.detail || r.trigger)) || "").filter(Boolean);
        if (event.action === "escalate") return systemLine(event, `Bot decided to escalate${details.length ? `: ${details.join("; ")}` : ""}`, "warn");
        if (event.action === "offer_handoff") return systemLine(event, `Bot offered a person${details.length ? `: ${details.join("; ")}` : ""}`);
        return null; // routine decisions (answer, clarify, act) are in the bubbles already
      }
      case "handoff": {
        const reasons = (event.reasons || []).join("; ");
        return systemLine(event, `Handed to a person${event.senior ? " (senior)" : ""}${reasons ? `: ${reasons}` : ""}`, "warn");
      }
      case "agent_assigned": {
        const who = event.agent_name || agentName(event.agent);
        const by = event.by && event.by !== event.agent ? ` (assigned by ${agentName(event.by)})` : "";
        return systemLine(event, `${who} joined the conversation${by}`);
      }
      case "handed_back":
        return systemLine(event, `${event.agent_name || agentName(event.agent) || "The agent"} handed the conversation back to the bot`);
      case "resolved": {
        const disposition = event.disposition ? ` · ${WL.label(event.disposition)}` : "";
        return systemLine(event, `Resolved by ${event.by_name || agentName(event.by) || "—"}${disposition}${event.note ? ` — ${event.note}` : ""}`, "ok");
      }
      case "reopened":
        return systemLine(event, `Reopened${event.by ? ` by ${agentName(event.by)}` : ""}`);
      case "action":
        return systemLine(event, `Action ${WL.label(event.action).toLowerCase()}: ${event.status || "ok"}${event.detail ? ` — ${event.detail}` : ""}`, event.status === "error" ? "warn" : "");
      case "action_step":
        if (!["done", "failed", "cancelled"].includes(event.status)) return null;
        return systemLine(event, `Action ${WL.label(event.action).toLowerCase()} ${event.status}`, event.status === "failed" ? "warn" : "");
      case "feedback": {
        const parts = [];
        if (event.csat !== null && event.csat !== undefined) parts.push(`CSAT ${event.csat}`);
        if (event.nps !== null && event.nps !== undefined) parts.push(`NPS ${event.nps}`);
        if (event.felt_heard !== null && event.felt_heard !== undefined) parts.push(`felt heard: ${event.felt_heard ? "yes" : "no"}`);
        return systemLine(event, `Customer feedback: ${parts.join(" · ") || "given"}${event.comment ? ` — “${event.comment}”` : ""}`, "ok");
      }
      case "intent_corrected":
        return systemLine(event, `Intent of message #${event.message_seq} corrected to ${WL.label(event.intent).toLowerCase()}${event.previous ? ` (was ${WL.label(event.previous).toLowerCase()})` : ""}${event.by ? ` by ${agentName(event.by)}` : ""}`);
      case "answer_flagged":
        return systemLine(event, `Answer #${event.reply_seq} flagged as wrong${event.right ? ` (right section: ${event.right})` : ""}${event.by ? ` by ${agentName(event.by)}` : ""}`);
      case "escalation_marked":
        return systemLine(event, `Escalation marked ${event.verdict}${event.by ? ` by ${agentName(event.by)}` : ""}${event.note ? ` — ${event.note}` : ""}`);
      case "sla_breached":
        return systemLine(event, `Service level missed: ${WL.label(event.target).toLowerCase()}${WL.isNum(event.target_seconds) && event.target_seconds ? ` (target ${WL.humanDuration(event.target_seconds)})` : ""}`, "danger");
      case "identity_verified":
        return systemLine(event, `Identity verified (${WL.label(event.method || "").toLowerCase()})`, "ok");
      default:
        if (!event.type) return null;
        return systemLine(event, WL.label(event.type));
    }
  }

  function attachAnalysis(event) {
    const target = state.lastCustomerBubble;
    const analysis = event.analysis || event;
    if (!target) return;
    const intent = analysis.intent && typeof analysis.intent === "object" ? analysis.intent : { intent: analysis.intent, confidence: analysis.confidence };
    const emotion = analysis.emotion || {};
    const frustration = WL.isNum(emotion.frustration) ? emotion.frustration : analysis.frustration;
    const parts = [];
    if (intent.intent) parts.push(`${WL.label(intent.intent).toLowerCase()}${WL.isNum(intent.confidence) ? ` ${WL.percent(intent.confidence)}` : ""}`);
    if (intent.out_of_scope) parts.push("out of scope");
    if (WL.isNum(frustration)) parts.push(`frustration ${WL.percent(frustration)}`);
    const line = target.querySelector(".wl-msg-analysis");
    if (line && parts.length) {
      setText(line, parts.join(" · "));
      line.classList.toggle("wl-upset", WL.isNum(frustration) && frustration >= 0.5);
    }
    if (intent.intent) target.dataset.intent = String(intent.intent);
  }

  /* ---------- corrections (small inline forms) ---------- */

  function toolBar(li, event, label, makeForm) {
    const button = h("button", { type: "button", class: "wl-link-btn wl-msg-tool", "aria-expanded": "false", text: label });
    button.addEventListener("click", () => {
      const open = li.querySelector(".wl-inline-form");
      if (open) {
        open.remove();
        button.setAttribute("aria-expanded", "false");
        return;
      }
      const form = makeForm(li, event, () => {
        form.remove();
        button.setAttribute("aria-expanded", "false");
        button.focus();
      });
      li.appendChild(form);
      button.setAttribute("aria-expanded", "true");
      const first = form.querySelector("select, input");
      if (first) first.focus();
    });
    return h("div", { class: "wl-msg-tools" }, button);
  }

  let formCounter = 0;

  function intentForm(li, event, close) {
    const id = `wl-fix-intent-${++formCounter}`;
    const current = li.dataset.intent || "";
    const select = h(
      "select",
      { id, name: "intent", required: true },
      h("option", { value: "", text: "Choose the right intent…" }),
      intents.map((name) => h("option", { value: name, text: WL.label(name), selected: name === current ? true : null }))
    );
    const form = h(
      "form",
      { class: "wl-inline-form", "aria-label": "Correct the intent" },
      h("label", { htmlFor: id, text: "Right intent" }),
      select,
      h("button", { type: "submit", class: "wl-btn wl-btn-small wl-btn-primary", text: "Save" }),
      h("button", { type: "button", class: "wl-btn wl-btn-small wl-btn-quiet", text: "Cancel", on: { click: close } })
    );
    form.addEventListener("keydown", (e) => {
      if (e.key === "Escape") close();
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!select.value || !state.open) return;
      const submit = form.querySelector('button[type="submit"]');
      submit.disabled = true;
      try {
        await WL.post(convUrl(state.open.id, "/corrections/intent"), { seq: Number(event.seq), intent: select.value });
        WL.notice("Intent corrected. Thank you: it is used to retrain the model.");
        close();
        refreshSoon();
      } catch (err) {
        WL.report(err);
        submit.disabled = false;
      }
    });
    return form;
  }

  function flagForm(li, event, close) {
    const id = `wl-flag-${++formCounter}`;
    const input = h("input", { id, type: "text", name: "right", maxlength: "300", placeholder: "knowledge section key (optional)" });
    const form = h(
      "form",
      { class: "wl-inline-form", "aria-label": "Flag this answer as wrong" },
      h("label", { htmlFor: id, text: "Right section" }),
      input,
      h("button", { type: "submit", class: "wl-btn wl-btn-small wl-btn-danger", text: "Flag as wrong" }),
      h("button", { type: "button", class: "wl-btn wl-btn-small wl-btn-quiet", text: "Cancel", on: { click: close } })
    );
    form.addEventListener("keydown", (e) => {
      if (e.key === "Escape") close();
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!state.open) return;
      const submit = form.querySelector('button[type="submit"]');
      submit.disabled = true;
      const body = { seq: Number(event.seq) };
      const right = input.value.trim();
      if (right) body.right = right;
      try {
        await WL.post(convUrl(state.open.id, "/corrections/answer"), body);
        WL.notice("Answer flagged. Thank you.");
        close();
        refreshSoon();
      } catch (err) {
        WL.report(err);
        submit.disabled = false;
      }
    });
    return form;
  }

  /* ---------- typing ---------- */

  let typingHide = null;

  function onTyping(data) {
    if (!data) return;
    if (data.role === "agent" && (data.agent === me.id || (data.name && data.name === me.name))) return;
    clearTimeout(typingHide);
    if (data.typing) {
      setText(el.typing, data.role === "customer" ? "Customer is typing…" : `${data.name || "An agent"} is typing…`);
      typingHide = setTimeout(() => setText(el.typing, ""), 8000);
    } else setText(el.typing, "");
  }

  let typingOn = false;
  let typingSentAt = 0;
  let typingIdle = null;

  function sendTyping(flag) {
    if (!state.open) return;
    typingOn = flag;
    typingSentAt = Date.now();
    WL.post(convUrl(state.open.id, "/typing"), { typing: flag }).catch((err) => {
      if (err && err.status && err.status !== 401 && err.status !== 404) console.warn("typing:", err.detail || err);
    });
  }

  function draftTyped() {
    if (!canWrite()) return;
    if (!el.reply.value.trim()) {
      stopTyping();
      return;
    }
    if (!typingOn || Date.now() - typingSentAt >= 3000) sendTyping(true);
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, 4000);
  }

  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingOn) sendTyping(false);
    typingOn = false;
  }

  /* ---------- composer ---------- */

  async function sendReply() {
    const text = el.reply.value.trim();
    if (!text || !state.open) return;
    if (!canWrite()) {
      WL.alert("Claim this conversation before replying (or add the text as an internal note).");
      return;
    }
    el.send.disabled = true;
    stopTyping();
    try {
      const result = await WL.post(convUrl(state.open.id, "/agent-messages"), { text });
      el.reply.value = "";
      drafts.delete(state.open.id);
      applyState(result);
      resetCoach();
      coachNow("");
      await catchUp();
    } catch (err) {
      WL.report(err);
    } finally {
      updateControls();
      el.reply.focus();
    }
  }

  async function addNote() {
    const text = el.reply.value.trim();
    if (!state.open) return;
    if (!text) {
      WL.alert("Write the note in the box first.");
      el.reply.focus();
      return;
    }
    el.addNote.disabled = true;
    stopTyping();
    try {
      await WL.post(convUrl(state.open.id, "/notes"), { text });
      el.reply.value = "";
      WL.notice("Note added (the customer does not see it).");
      await catchUp();
    } catch (err) {
      WL.report(err);
    } finally {
      el.addNote.disabled = false;
      el.reply.focus();
    }
  }

  function insertText(text) {
    const area = el.reply;
    const value = area.value;
    if (!value.trim()) area.value = text;
    else {
      const start = area.selectionStart ?? value.length;
      const end = area.selectionEnd ?? value.length;
      const before = value.slice(0, start);
      const after = value.slice(end);
      const sep = before && !/\s$/.test(before) ? " " : "";
      area.value = before + sep + text + after;
      const caret = (before + sep + text).length;
      area.setSelectionRange(caret, caret);
    }
    area.focus();
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  /* ---------- coaching ---------- */

  let coachSeq = 0;
  let coachAbort = null;

  function resetCoach() {
    coachSeq++;
    el.tone.value = 0;
    setText(el.toneText, WL.DASH);
    clear(el.tips);
    clear(el.replies);
  }

  async function coachNow(draft) {
    if (!state.open || !canWrite()) return;
    const mine = ++coachSeq;
    const id = state.open.id;
    if (coachAbort) coachAbort.abort();
    coachAbort = new AbortController();
    try {
      const result = await WL.post(convUrl(id, "/coach"), { draft }, { signal: coachAbort.signal });
      if (mine !== coachSeq || !state.open || state.open.id !== id) return; // stale
      renderCoach(result || {});
    } catch (err) {
      if (err && err.name === "AbortError") return;
      if (mine !== coachSeq) return;
      clear(el.tips).appendChild(h("li", { class: "wl-tip wl-tip-error", text: err && err.detail ? `Coaching unavailable: ${err.detail}` : "Coaching unavailable right now." }));
    }
  }

  const coachSoon = WL.debounce(() => coachNow(el.reply.value), 400);

  function renderCoach(result) {
    const tone = WL.isNum(result.tone) ? Math.max(0, Math.min(1, result.tone)) : null;
    el.tone.value = tone === null ? 0 : tone;
    setText(el.toneText, tone === null ? WL.DASH : `${WL.percent(tone)} · ${tone >= 0.7 ? "warm and clear" : tone >= 0.4 ? "could be warmer" : "cold or curt"}`);
    clear(el.tips);
    for (const tip of result.tips || []) {
      el.tips.appendChild(
        h(
          "li",
          { class: "wl-tip", dataset: { code: tip.code } },
          h("span", { class: "wl-tip-text", text: tip.message || WL.label(tip.code) }),
          tip.evidence ? h("q", { class: "wl-tip-evidence", text: tip.evidence }) : null
        )
      );
    }
    if (!el.tips.children.length && el.reply.value.trim()) el.tips.appendChild(h("li", { class: "wl-tip wl-tip-ok", text: "Looks good." }));
    if (result.llm_notice) el.tips.appendChild(h("li", { class: "wl-tip wl-tip-muted", text: result.llm_notice }));
    clear(el.replies);
    for (const reply of result.replies || []) {
      const title = reply.title || (reply.source === "agents" ? "What colleagues said" : reply.source === "llm" ? "Drafted by the language model" : "From the knowledge base");
      const heading = reply.url && WL.safeUrl(reply.url) ? h("a", { href: reply.url, target: "_blank", rel: "noopener noreferrer", text: title }) : h("span", { text: title });
      el.replies.appendChild(
        h(
          "li",
          { class: "wl-suggestion", dataset: { source: reply.source } },
          h("div", { class: "wl-suggestion-head" }, h("span", { class: `wl-source wl-source-${reply.source || "other"}`, text: WL.label(reply.source || "") }), heading),
          h("p", { class: "wl-suggestion-text", text: reply.text || "" }),
          h("button", {
            type: "button",
            class: "wl-btn wl-btn-small wl-insert",
            text: "Insert",
            "aria-label": `Insert suggested reply: ${title}`,
            on: { click: () => insertText(reply.text || "") },
          })
        )
      );
    }
    if (!el.replies.children.length) el.replies.appendChild(h("li", { class: "wl-empty", text: "No suggestions for this conversation yet." }));
  }

  /* ====================================================================== */
  /* Packet and history                                                      */
  /* ====================================================================== */

  let packetTimer = null;
  function packetSoon() {
    clearTimeout(packetTimer);
    const token = state.token;
    packetTimer = setTimeout(() => loadPacket(token), 1500);
  }

  async function loadPacket(token) {
    if (!state.open || token !== state.token) return;
    try {
      const packet = await WL.get(convUrl(state.open.id, "/packet"));
      if (token !== state.token) return;
      state.packet = packet && typeof packet === "object" ? packet : null;
      const name = state.packet ? customerOf({ packet: state.packet }).name : "";
      if (name && name !== state.customerName) {
        state.customerName = name;
        for (const who of el.transcript.querySelectorAll(".wl-msg-customer .wl-msg-who")) who.textContent = name;
      }
      updateHeader();
      renderPacket(state.packet);
      renderHistory((state.packet && state.packet.history) || []);
    } catch (err) {
      if (token !== state.token) return;
      if (err && err.status === 404) renderPacket(null, "No handoff packet for this conversation.");
      else {
        renderPacket(null, "The packet could not be loaded.");
        WL.report(err);
      }
    }
  }

  function section(title, ...content) {
    const body = content.filter(Boolean);
    if (!body.length) return null;
    return h("section", { class: "wl-packet-part" }, h("h3", { text: title }), body);
  }

  function list(items, cls) {
    const nodes = (items || []).filter((x) => x !== null && x !== undefined && x !== "").map((x) => (x instanceof Node ? h("li", {}, x) : h("li", { text: String(x) })));
    return nodes.length ? h("ul", { class: cls || "wl-plain-list" }, nodes) : null;
  }

  function defList(pairs) {
    const rows = pairs.filter(([, v]) => v !== null && v !== undefined && v !== "");
    if (!rows.length) return null;
    return h("dl", { class: "wl-dl" }, rows.map(([k, v]) => [h("dt", { text: k }), h("dd", {}, v instanceof Node ? v : String(v))]));
  }

  function renderPacket(packet, message) {
    clear(el.packet);
    if (!packet) {
      el.packet.appendChild(h("p", { class: "wl-empty", text: message || "No packet." }));
      return;
    }
    const profile = packet.profile || packet.customer || null;
    const emotion = packet.emotion && typeof packet.emotion === "object" ? packet.emotion : null;
    const firstLine = packet.first_line || packet.suggested_first_line || "";
    let summary = packet.summary !== undefined && packet.summary !== null ? packet.summary : packet.bullets;
    if (typeof summary === "string") summary = summary.split(/\n+/).filter((s) => s.trim());

    const parts = [];

    if (profile && typeof profile === "object") {
      parts.push(
        section(
          "Customer",
          defList([
            ["Name", profile.name],
            ["Tier", profile.tier],
            ["Plan", profile.plan],
            ["Lifetime value", WL.isNum(profile.lifetime_value) ? WL.money(profile.lifetime_value) : null],
          ])
        )
      );
    }

    if (Array.isArray(summary) && summary.length) {
      const source = packet.summary_source === "llm" ? h("p", { class: "wl-muted wl-small", text: "Summary drafted by the language model." }) : null;
      parts.push(section("Summary", list(summary, "wl-bullets"), source, packet.llm_notice ? h("p", { class: "wl-muted wl-small", text: packet.llm_notice }) : null));
    }

    if (firstLine) {
      parts.push(
        section(
          "Suggested first line",
          h("blockquote", { class: "wl-first-line", text: firstLine }),
          h("button", {
            type: "button",
            id: "wl-use-first-line",
            class: "wl-btn wl-btn-small",
            text: "Use",
            "aria-label": "Use the suggested first line in the reply box",
            on: { click: () => insertText(firstLine) },
          })
        )
      );
    }

    parts.push(
      section(
        "Request",
        defList([
          ["Intent", packet.intent ? WL.label(packet.intent) : null],
          ["In their words", packet.goal],
          ["Customer turns", WL.isNum(packet.turns) ? String(packet.turns) : null],
        ])
      )
    );

    if (emotion && (WL.isNum(emotion.now) || (emotion.levels && emotion.levels.length))) {
      const levels = Array.isArray(emotion.levels) ? emotion.levels : Array.isArray(emotion.turns) ? emotion.turns : [];
      const lvl = WL.level(emotion.now);
      parts.push(
        section(
          "Emotion",
          h(
            "div",
            { class: `wl-emotion wl-level-${lvl}` },
            defList([
              ["Now", WL.isNum(emotion.now) ? WL.percent(emotion.now) : null],
              ["Start", WL.isNum(emotion.start) ? WL.percent(emotion.start) : null],
              ["Peak", WL.isNum(emotion.peak) ? WL.percent(emotion.peak) : null],
              ["Trend", emotion.trend ? WL.label(emotion.trend) : null],
            ]),
            levels.length > 1 ? WL.sparkline(levels.map(Number), { max: 1, label: `Frustration by turn: ${levels.map((v) => WL.percent(Number(v))).join(", ")}` }) : null
          ),
          emotion.upset ? h("p", { class: "wl-badge wl-badge-upset", text: "Upset" }) : null
        )
      );
    }

    if (Array.isArray(packet.reasons) && packet.reasons.length) parts.push(section("Why it was handed over", list(packet.reasons)));

    if (Array.isArray(packet.entities) && packet.entities.length) {
      parts.push(section("Details given", defList(packet.entities.filter((e) => e && typeof e === "object").map((e) => [WL.label(e.type), e.value]))));
    }

    if (Array.isArray(packet.actions) && packet.actions.length) {
      parts.push(
        section(
          "Actions",
          list(
            packet.actions.map((a) => {
              if (!a || typeof a !== "object") return String(a);
              const slots = a.slots && typeof a.slots === "object" ? Object.entries(a.slots).map(([k, v]) => `${WL.label(k).toLowerCase()} ${v}`).join(", ") : "";
              return h(
                "span",
                { class: "wl-action" },
                h("strong", { text: WL.label(a.action) }),
                h("span", { class: `wl-status-badge wl-status-${a.status || "unknown"}`, text: a.status || "" }),
                slots ? h("span", { class: "wl-muted", text: ` (${slots})` }) : null,
                a.result ? h("span", { class: "wl-action-result", text: a.result }) : null
              );
            })
          )
        )
      );
    }

    if (Array.isArray(packet.tried) && packet.tried.length) parts.push(section("Already tried", list(packet.tried, "wl-tried")));

    const shown = parts.filter(Boolean);
    if (!shown.length) el.packet.appendChild(h("p", { class: "wl-empty", text: "The packet is empty so far." }));
    else for (const part of shown) el.packet.appendChild(part);
  }

  function renderHistory(history) {
    clear(el.history);
    const items = Array.isArray(history) ? history : [];
    for (const item of items) {
      if (!item || typeof item !== "object") continue;
      const when = WL.parseTime(item.started || item.created_at);
      el.history.appendChild(
        h(
          "li",
          { class: "wl-history-item", dataset: { id: item.id } },
          h(
            "button",
            { type: "button", class: "wl-history-open", "aria-label": `Open earlier conversation from ${when ? when.toLocaleString() : "before"}` },
            h(
              "span",
              { class: "wl-history-head" },
              h("span", { class: "wl-history-when", text: when ? when.toLocaleDateString([], { month: "short", day: "numeric", year: "numeric" }) : "" }),
              item.channel ? h("span", { class: "wl-chip", text: item.channel }) : null,
              item.status ? h("span", { class: `wl-status-badge wl-status-${item.status}`, text: WL.label(item.status) }) : null,
              item.handed_over ? h("span", { class: "wl-badge", text: "Handed over" }) : null
            ),
            item.about ? h("span", { class: "wl-history-about", text: item.about }) : null
          )
        )
      );
    }
    el.historyEmpty.hidden = el.history.children.length > 0;
  }

  /* ====================================================================== */
  /* Hand back, resolve                                                      */
  /* ====================================================================== */

  async function handBack() {
    if (!state.open) return;
    el.handback.disabled = true;
    stopTyping();
    try {
      const result = await WL.post(convUrl(state.open.id, "/handback"), {});
      applyState(result);
      WL.notice("Handed back to the bot.");
      await catchUp();
    } catch (err) {
      WL.report(err);
    } finally {
      el.handback.disabled = false;
    }
  }

  async function resolve(event) {
    event.preventDefault();
    if (!state.open) return;
    const body = { disposition: el.disposition.value };
    const note = el.resolveNote.value.trim();
    if (note) body.note = note;
    el.resolve.disabled = true;
    stopTyping();
    try {
      const result = await WL.post(convUrl(state.open.id, "/resolve"), body);
      el.resolveNote.value = "";
      applyState(result);
      WL.notice("Resolved.");
      await catchUp();
    } catch (err) {
      WL.report(err);
    } finally {
      el.resolve.disabled = false;
    }
  }

  /* ====================================================================== */
  /* Agent status and heartbeat                                              */
  /* ====================================================================== */

  async function putStatus(status, quiet) {
    try {
      await WL.put("/api/v1/agents/me/status", { status });
    } catch (err) {
      if (!quiet) WL.report(err);
    }
  }

  /* ====================================================================== */
  /* Location hash (#c=<id>) so a reload reopens the conversation            */
  /* ====================================================================== */

  function setHash(id) {
    const hash = id ? `#c=${enc(id)}` : "";
    if (window.location.hash !== hash) history.replaceState(null, "", window.location.pathname + window.location.search + hash);
  }

  function hashId() {
    const match = /^#c=([^&]+)/.exec(window.location.hash || "");
    return match ? decodeURIComponent(match[1]) : null;
  }

  /* ====================================================================== */
  /* Wiring                                                                  */
  /* ====================================================================== */

  el.queue.addEventListener("click", listClick);
  el.mine.addEventListener("click", listClick);
  el.history.addEventListener("click", (event) => {
    const li = event.target.closest("li[data-id]");
    if (li) openConversation(li.dataset.id);
  });
  el.claimOpen.addEventListener("click", () => state.open && claim(state.open.id, el.claimOpen));
  el.handback.addEventListener("click", handBack);
  el.resolveForm.addEventListener("submit", resolve);
  el.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    sendReply();
  });
  el.addNote.addEventListener("click", addNote);
  el.coachToggle.addEventListener("click", () => {
    const open = el.coachToggle.getAttribute("aria-expanded") !== "true";
    el.coachToggle.setAttribute("aria-expanded", String(open));
    setText(el.coachToggle, open ? "Hide" : "Show");
    el.coachBody.hidden = !open;
  });
  el.reply.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      sendReply();
    }
  });
  el.reply.addEventListener("input", () => {
    draftTyped();
    if (canWrite()) coachSoon();
  });
  el.reply.addEventListener("blur", () => {
    if (!el.reply.value.trim()) stopTyping();
  });
  if (/Mac|iPhone|iPad/.test(navigator.platform || "")) setText($("wl-composer-hint"), "⌘+Enter to send");

  el.status.addEventListener("change", () => putStatus(el.status.value, false));
  putStatus("online", true);
  setInterval(() => {
    if (el.status.value === "online") putStatus("online", true);
  }, 60000);

  setInterval(tickWaits, 1000);
  el.transcript.tabIndex = 0;

  WL.stream("/api/v1/queue/stream", {
    name: "queue",
    onEvent: (event) => {
      if (event.event === "queue" && event.json) onQueue(event.json);
    },
  });

  updateControls();
  const initial = hashId();
  if (initial) openConversation(initial);
  window.addEventListener("hashchange", () => {
    const id = hashId();
    if (id && (!state.open || state.open.id !== id)) openConversation(id);
  });
})();
