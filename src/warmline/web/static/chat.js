/* warmline chat: the customer's side of a conversation, inside the widget's iframe (or /widget
 * opened in a tab). Everything from the server or the customer is inserted as text, never as
 * HTML. Live updates come from a server-sent event stream read with fetch (so the bearer token
 * goes in a header, not the URL); messages are sent with an Idempotency-Key and retried with
 * the same key, so each is stored exactly once. */
(() => {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const API = '/api/v1';
  const STORE = 'warmline.conversation';
  const IN_FRAME = window.parent !== window;
  const HUMAN_TEXT = "I'd like to talk to a person, please.";
  const BACKOFF = [500, 1000, 2000, 4000];
  const NOT_REACHED = "We couldn't reach support. Check your connection and try again.";

  let config = {};
  try { config = JSON.parse($('wl-config').textContent) || {}; } catch (e) { /* defaults */ }

  const metrics = (window.warmlineMetrics = window.warmlineMetrics || { firstReplyMs: [] });
  if (!Array.isArray(metrics.firstReplyMs)) metrics.firstReplyMs = [];

  const ui = {
    log: $('wl-messages'), scroll: $('wl-scroll'), slot: $('wl-survey-slot'),
    typing: $('wl-typing'), typingText: $('wl-typing-text'), status: $('wl-status'),
    human: $('wl-human'), form: $('wl-form'), input: $('wl-input'), with: $('wl-with'),
    close: $('wl-close'),
  };

  const S = {
    conv: null, // {id, token}
    identified: false, resumed: false, lastSeq: 0, agent: null,
    pending: [], sendTimes: [], survey: null, surveyBusy: false,
    started: false, inited: false, open: !IN_FRAME, host: null, unread: 0,
    connected: false, ctl: null, backoff: 0, openedAt: 0, retryTimer: 0, historyUntil: 0,
    sentAny: false, creating: null, chain: Promise.resolve(), typingBy: null,
  };
  let readyDone;
  S.ready = new Promise((resolve) => { readyDone = resolve; });

  /* ---------- small helpers ---------- */

  function h(tag, cls, text) {
    const el = document.createElement(tag);
    if (cls) el.className = cls;
    if (text != null) el.textContent = String(text);
    return el;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const retryable = (status) => status >= 500 || status === 409 || status === 429 || status === 408;
  const convUrl = (conv = S.conv) => `${API}/conversations/${encodeURIComponent(conv.id)}`;
  const auth = (conv = S.conv) => ({ Authorization: `Bearer ${conv.token}` });
  const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json' };

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    const x = Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }

  function retryAfter(res) {
    const value = res && res.headers.get('Retry-After');
    if (!value) return null;
    let ms = Number(value) * 1000;
    if (!Number.isFinite(ms)) ms = Date.parse(value) - Date.now();
    return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 60000) : null;
  }

  async function problemDetail(res) {
    try {
      const body = await res.clone().json();
      if (body && typeof body.detail === 'string') return body.detail;
      if (body && typeof body.title === 'string') return body.title;
    } catch (e) { /* not JSON */ }
    return null;
  }

  function load() {
    try {
      const saved = JSON.parse(localStorage.getItem(STORE));
      if (saved && typeof saved.id === 'string' && typeof saved.token === 'string') return saved;
    } catch (e) { /* storage blocked or corrupt */ }
    return null;
  }
  function save() {
    try { localStorage.setItem(STORE, JSON.stringify({ id: S.conv.id, token: S.conv.token })); } catch (e) { /* blocked */ }
  }
  function drop() {
    try { localStorage.removeItem(STORE); } catch (e) { /* blocked */ }
  }

  function postParent(message, origin) {
    if (IN_FRAME) window.parent.postMessage(message, origin || S.host || '*');
  }

  /* ---------- rendering ---------- */

  const URLS = /\bhttps?:\/\/[^\s<>"']+/g;
  function fill(node, text) {
    text = String(text == null ? '' : text);
    let last = 0;
    for (const match of text.matchAll(URLS)) {
      const url = match[0].replace(/[.,;:!?)\]}'"]+$/, '');
      node.append(text.slice(last, match.index));
      const a = h('a', null, url);
      a.href = url;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      node.append(a);
      last = match.index + url.length;
    }
    node.append(text.slice(last));
  }

  const nearBottom = () => {
    const s = ui.scroll;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 96;
  };
  const toBottom = () => { ui.scroll.scrollTop = ui.scroll.scrollHeight; };

  // Real events go above the customer's still-pending bubbles, so the log keeps the server's order.
  function place(node, force) {
    const stick = force || nearBottom();
    const next = ui.log.querySelector('.wl-pending');
    const prev = next ? next.previousElementSibling : ui.log.lastElementChild;
    // Consecutive bubbles from the same sender show the name once.
    if (node.dataset.who && prev && prev.dataset.who === node.dataset.who) node.classList.add('wl-cont');
    ui.log.insertBefore(node, next);
    if (stick) toBottom();
  }

  function bubble(who, label, text, seq, type, live) {
    const row = h('div', `wl-msg wl-${who}${live ? ' wl-new' : ''}`);
    if (seq != null) row.dataset.seq = seq;
    row.dataset.type = type;
    row.dataset.who = `${who}:${label}`;
    const bubbleEl = h('div', 'wl-bubble');
    fill(bubbleEl, text);
    row.append(h('div', who === 'customer' ? 'wl-label wl-sr' : 'wl-label', label), bubbleEl);
    return row;
  }

  function systemLine(text, seq, type) {
    const row = h('div', 'wl-msg wl-system', text);
    row.dataset.seq = seq;
    row.dataset.type = type;
    return row;
  }

  function notice(text, error) {
    place(h('div', `wl-notice${error ? ' wl-error' : ''}`, text), true);
  }

  function setAgent(name) {
    S.agent = name;
    ui.with.textContent = name ? `You're talking with ${name}` : 'Assistant';
    ui.human.textContent = name ? 'A person is with you' : 'Talk to a person';
    if (name) ui.human.setAttribute('aria-disabled', 'true');
    else ui.human.removeAttribute('aria-disabled');
  }

  let typingTimer = 0;
  function showTyping(text, by, ms) {
    S.typingBy = by;
    ui.typing.hidden = false;
    ui.typingText.textContent = text;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, ms);
  }
  function hideTyping(by) {
    if (by && S.typingBy !== by) return;
    clearTimeout(typingTimer);
    S.typingBy = null;
    ui.typing.hidden = true;
  }

  // The assistant answers each message in turn (the oldest waiting send); a person's message
  // is the first reply to everything still waiting.
  function gotReply(live, all) {
    hideTyping();
    if (!live || !S.sendTimes.length) return;
    const now = performance.now();
    for (const t of all ? S.sendTimes : S.sendTimes.slice(0, 1)) metrics.firstReplyMs.push(now - t);
    S.sendTimes = all ? [] : S.sendTimes.slice(1);
  }

  function countUnread(live) {
    if (!live || !IN_FRAME || (S.open && !document.hidden)) return;
    S.unread += 1;
    postParent({ type: 'warmline:unread', count: S.unread });
  }

  const MASKED = /\[(CARD|EMAIL|PHONE|IBAN|SSN)\b/;
  const norm = (s) => String(s).trim().replace(/\s+/g, ' ');
  // The pending bubble a stored customer_message stands for: by key if the server echoes it,
  // else by text (the oldest match); a message with personal data masked by the server matches
  // the oldest pending bubble.
  function claim(ev) {
    const live = S.pending.filter((p) => !p.rejected);
    return live.find((p) => ev.message_id && p.key === ev.message_id)
      || live.find((p) => p.text === ev.text)
      || live.find((p) => norm(p.text) === norm(ev.text))
      || (MASKED.test(ev.text) ? live[0] : undefined);
  }

  function render(ev, seq, live) {
    const type = ev.type;
    if (type === 'customer_message') {
      const mine = claim(ev);
      if (mine) {
        S.pending.splice(S.pending.indexOf(mine), 1);
        mine.el.remove();
      }
      place(bubble('customer', 'You', ev.text, seq, type, false), !!mine);
    } else if (type === 'bot_reply') {
      gotReply(live);
      place(bubble('bot', 'Assistant', ev.text, seq, type, live));
      if (ev.kind === 'survey') showSurvey();
      countUnread(live);
    } else if (type === 'agent_message') {
      gotReply(live, true);
      place(bubble('agent', ev.agent_name || 'Support', ev.text, seq, type, live));
      countUnread(live);
    } else if (type === 'agent_assigned') {
      const name = ev.agent_name || 'Support';
      setAgent(name);
      hideTyping('bot');
      place(systemLine(`${name} joined the conversation`, seq, type));
    } else if (type === 'handed_back') {
      setAgent(null);
      place(systemLine("You're back with the assistant", seq, type));
    } else if (type === 'resolved') {
      place(systemLine('This conversation was marked resolved', seq, type));
      showSurvey();
    } else if (type === 'reopened') {
      place(systemLine('The conversation was reopened', seq, type));
    } else if (type === 'feedback') {
      if (!S.survey) S.survey = 'done';
      else if (S.survey === 'shown' && !S.surveyBusy) thank(false);
    }
  }

  function onEvent(ev, seq) {
    seq = Number(seq);
    if (!ev || typeof ev !== 'object' || !(seq > S.lastSeq)) return;
    S.lastSeq = seq;
    try {
      render(ev, seq, performance.now() > S.historyUntil);
    } catch (e) {
      console.error('warmline: could not show an event', e);
    }
  }

  function onTyping(data) {
    if (!data || data.role !== 'agent') return;
    if (data.typing) showTyping(`${data.name || S.agent || 'Support'} is typing\u2026`, 'agent', 15000);
    else hideTyping('agent');
  }

  /* ---------- live connection ---------- */

  function setConnected(connected) {
    S.connected = connected;
    document.body.dataset.connected = String(connected);
    ui.status.hidden = connected || !S.conv;
  }

  function stopStream() {
    clearTimeout(S.retryTimer);
    const ctl = S.ctl;
    S.ctl = null;
    if (ctl) ctl.abort();
  }

  async function connect() {
    stopStream();
    const conv = S.conv;
    if (!conv) return;
    const ctl = (S.ctl = new AbortController());
    let outcome;
    try {
      outcome = await stream(conv, ctl);
    } catch (e) { /* network error, or aborted by the watchdog */ }
    if (S.ctl !== ctl) return; // replaced or stopped meanwhile
    S.ctl = null;
    if (outcome === 'ended' && performance.now() - S.openedAt > 5000) {
      // The server closes a stream after a while by design: resume at once, quietly.
      S.backoff = 0;
      return connect();
    }
    setConnected(false);
    if (outcome === 'gone') return gone();
    const delay = Math.min(8000, 500 * 2 ** S.backoff);
    S.backoff = Math.min(S.backoff + 1, 5);
    S.retryTimer = setTimeout(connect, delay);
  }

  function connected() {
    setConnected(true);
    S.backoff = 0;
    S.openedAt = performance.now();
    // A resumed conversation's backlog comes at once: it is history (no badge, no animation).
    if (S.resumed && S.lastSeq === 0) S.historyUntil = S.openedAt + 500;
  }

  async function stream(conv, ctl) {
    const res = await fetch(`${convUrl(conv)}/stream?after=${S.lastSeq}`, {
      headers: { ...auth(conv), Accept: 'text/event-stream' },
      signal: ctl.signal,
      cache: 'no-store',
    });
    if ([401, 403, 404].includes(res.status)) return 'gone';
    if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
    connected();
    await readEvents(res.body, ctl);
    return 'ended';
  }

  async function readEvents(body, ctl) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let event = { name: '', data: [], id: null };
    let watchdog = 0;
    const kick = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => ctl.abort(), 45000); // heartbeats stopped: the line is dead
    };
    const dispatch = () => {
      if (event.data.length) {
        let data = null;
        try { data = JSON.parse(event.data.join('\n')); } catch (e) { /* not JSON: skip */ }
        const name = event.name || 'message';
        if (data && name === 'typing') onTyping(data);
        else if (data && name === 'message') onEvent(data, data.seq != null ? data.seq : event.id);
      }
      event = { name: '', data: [], id: null };
    };
    const line = (text) => {
      if (text === '') return dispatch();
      if (text[0] === ':') return undefined; // heartbeat
      const colon = text.indexOf(':');
      const field = colon < 0 ? text : text.slice(0, colon);
      let value = colon < 0 ? '' : text.slice(colon + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'data') event.data.push(value);
      else if (field === 'event') event.name = value;
      else if (field === 'id') event.id = value;
      return undefined;
    };
    kick();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        kick();
        buffer += decoder.decode(value, { stream: true });
        let start = 0;
        for (let i = 0; i < buffer.length; i++) {
          const c = buffer[i];
          if (c !== '\n' && c !== '\r') continue;
          if (c === '\r' && i + 1 === buffer.length) break; // a "\r\n" may be split across chunks
          line(buffer.slice(start, i));
          if (c === '\r' && buffer[i + 1] === '\n') i++;
          start = i + 1;
        }
        buffer = buffer.slice(start);
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  function gone() {
    if (!S.identified) drop();
    stopStream();
    S.conv = null;
    S.identified = false;
    S.resumed = false;
    S.lastSeq = 0;
    setAgent(null);
    hideTyping();
    setConnected(false);
    notice('This conversation is no longer available. Send a message to start a new one.');
  }

  window.addEventListener('online', () => {
    if (S.conv && !S.connected) {
      S.backoff = 0;
      connect();
    }
  });
  window.addEventListener('offline', () => {
    if (S.ctl) S.ctl.abort(); // show "Reconnecting…" now rather than at the next heartbeat
  });

  /* ---------- starting ---------- */

  async function start(identity) {
    S.started = true;
    try {
      if (identity && identity.user_id && identity.user_hash && (await startIdentified(identity))) return;
      await startAnonymous();
    } finally {
      readyDone();
    }
  }

  async function startIdentified(identity) {
    const body = { user_id: identity.user_id, user_hash: identity.user_hash };
    if (identity.name) body.name = identity.name;
    if (identity.email) body.email = identity.email;
    if (identity.email && identity.email_signature) body.email_signature = identity.email_signature;
    let res = null;
    try {
      res = await fetch(`${API}/widget/session`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body) });
    } catch (e) { /* offline: chat as a guest */ }
    if (res && res.ok) {
      const session = await res.json();
      S.conv = { id: session.conversation_id, token: session.token };
      S.identified = true;
      S.resumed = !!session.resumed;
      S.lastSeq = 0;
      connect();
      return true;
    }
    if (res && res.status === 403) notice("We couldn't confirm who you are; you can still chat as a guest.", true);
    return false;
  }

  async function startAnonymous() {
    const saved = load();
    if (!saved) return;
    let res = null;
    try {
      res = await fetch(`${API}/conversations/${encodeURIComponent(saved.id)}`, {
        headers: { ...auth(saved), Accept: 'application/json' },
        cache: 'no-store',
      });
    } catch (e) { /* offline: keep it, the stream retries */ }
    if (res && [401, 403, 404].includes(res.status)) {
      drop();
      return;
    }
    S.conv = saved;
    S.resumed = true;
    S.lastSeq = 0;
    connect();
  }

  function reset() {
    stopStream();
    S.conv = null;
    S.identified = false;
    S.resumed = false;
    S.lastSeq = 0;
    S.survey = null;
    ui.log.replaceChildren();
    ui.slot.replaceChildren();
    setAgent(null);
    hideTyping();
    setConnected(false);
    S.ready = new Promise((resolve) => { readyDone = resolve; });
  }

  async function ensureConversation() {
    await S.ready;
    if (S.conv) return S.conv;
    if (!S.creating) S.creating = createConversation().finally(() => { S.creating = null; });
    return S.creating;
  }

  async function createConversation() {
    for (let attempt = 0; ; attempt++) {
      let res = null;
      try {
        res = await fetch(`${API}/conversations`, {
          method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ channel: 'web' }),
        });
      } catch (e) { /* retried below */ }
      if (res && res.ok) {
        const made = await res.json();
        S.conv = { id: made.id, token: made.token };
        S.identified = false;
        S.resumed = false;
        S.lastSeq = 0;
        save();
        connect();
        return S.conv;
      }
      if ((res && !retryable(res.status)) || attempt >= BACKOFF.length) {
        throw new Error((res && (await problemDetail(res))) || NOT_REACHED);
      }
      await sleep(retryAfter(res) ?? BACKOFF[attempt]);
    }
  }

  /* ---------- sending ---------- */

  function setMeta(p, text, error) {
    p.meta.textContent = text;
    p.meta.className = error ? 'wl-meta wl-error' : 'wl-meta';
    if (error) p.meta.setAttribute('role', 'alert');
    else p.meta.removeAttribute('role');
  }

  function send(raw) {
    const text = String(raw).trim();
    if (!text) return false;
    const p = { key: uuid(), text, rejected: false, t: performance.now() };
    p.el = bubble('customer', 'You', text, null, 'customer_message', true);
    p.el.classList.add('wl-pending');
    p.el.dataset.key = p.key;
    p.meta = h('div', 'wl-meta');
    p.el.append(p.meta);
    S.pending.push(p);
    S.sendTimes.push(p.t);
    S.sentAny = true;
    ui.log.append(p.el);
    toBottom();
    stopTyping();
    S.chain = S.chain.then(() => deliver(p));
    return true;
  }

  function fail(p, message, canRetry) {
    S.sendTimes = S.sendTimes.filter((t) => t !== p.t);
    if (!S.pending.some((q) => q !== p && !q.failed && !q.rejected)) hideTyping('bot');
    p.failed = true;
    p.el.classList.add('wl-failed');
    setMeta(p, message, true);
    if (!canRetry) {
      p.rejected = true;
      p.el.classList.remove('wl-pending');
      S.pending.splice(S.pending.indexOf(p), 1);
      return;
    }
    const retry = h('button', 'wl-retry', 'Try again');
    retry.type = 'button';
    retry.addEventListener('click', () => {
      retry.remove();
      p.t = performance.now();
      S.sendTimes.push(p.t);
      S.chain = S.chain.then(() => deliver(p));
    });
    p.meta.append(' ', retry);
  }

  async function deliver(p) {
    p.failed = false;
    p.el.classList.remove('wl-failed');
    setMeta(p, 'Sending\u2026');
    if (!S.agent) showTyping('Assistant is typing\u2026', 'bot', 30000);
    let conv;
    try {
      conv = await ensureConversation();
    } catch (e) {
      return fail(p, e.message || NOT_REACHED, true);
    }
    for (let attempt = 0; ; attempt++) {
      let res = null;
      try {
        res = await fetch(`${convUrl(conv)}/messages`, {
          method: 'POST',
          headers: { ...JSON_HEADERS, ...auth(conv), 'Idempotency-Key': p.key },
          body: JSON.stringify({ text: p.text }),
        });
      } catch (e) { /* retried with the same key */ }
      if (res && res.ok) {
        if (p.el.classList.contains('wl-pending')) setMeta(p, 'Sent');
        const out = await res.json().catch(() => null);
        if (!out || !out.reply) hideTyping('bot'); // a person will answer, or nobody needs to
        else if (S.typingBy === 'bot') showTyping('Assistant is typing\u2026', 'bot', 10000);
        if (!S.connected && S.conv && !S.ctl) {
          S.backoff = 0;
          connect();
        }
        return undefined;
      }
      if (res && (res.status === 401 || res.status === 404) && !p.renewed && !S.identified && S.conv === conv) {
        // The stored conversation is gone: start a new one, once, and send there.
        p.renewed = true;
        drop();
        stopStream();
        S.conv = null;
        S.lastSeq = 0;
        setAgent(null);
        return deliver(p);
      }
      if (res && !retryable(res.status)) {
        return fail(p, (await problemDetail(res)) || `Your message couldn't be sent (error ${res.status}).`, false);
      }
      if (attempt >= BACKOFF.length) return fail(p, "Not sent: we couldn't reach support.", true);
      await sleep(retryAfter(res) ?? BACKOFF[attempt]);
    }
  }

  /* ---------- the customer is typing ---------- */

  let typingSentAt = 0;
  let typingOn = false;
  let idleTimer = 0;
  function postTyping(typing) {
    if (!S.conv) return;
    fetch(`${convUrl()}/typing`, {
      method: 'POST',
      headers: { ...JSON_HEADERS, ...auth() },
      body: JSON.stringify({ typing }),
      keepalive: true,
    }).catch(() => {});
  }
  function onInput() {
    autosize();
    if (!S.conv) return;
    if (!ui.input.value.trim()) {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (now - typingSentAt >= 3000) {
      typingSentAt = now;
      typingOn = true;
      postTyping(true);
    }
    clearTimeout(idleTimer);
    idleTimer = setTimeout(stopTyping, 4000);
  }
  function stopTyping() {
    clearTimeout(idleTimer);
    if (!typingOn) return;
    typingOn = false;
    typingSentAt = 0;
    postTyping(false);
  }

  function autosize() {
    ui.input.style.height = 'auto';
    ui.input.style.height = `${Math.min(ui.input.scrollHeight + 2, 140)}px`;
  }

  function submit() {
    if (send(ui.input.value)) {
      ui.input.value = '';
      autosize();
    }
    ui.input.focus();
  }

  /* ---------- survey ---------- */

  function showSurvey() {
    if (S.survey || !S.conv) return;
    S.survey = 'shown';
    let csat = null;
    let heard = null;

    const form = h('form', 'wl-survey');
    form.id = 'wl-survey';
    form.noValidate = true;
    form.setAttribute('aria-labelledby', 'wl-survey-title');
    const title = h('h2', 'wl-survey-title', 'How did we do?');
    title.id = 'wl-survey-title';

    const csatLabel = h('p', 'wl-q', 'How satisfied are you with the help you got?');
    csatLabel.id = 'wl-csat-label';
    const scale = h('div', 'wl-scale');
    scale.setAttribute('role', 'radiogroup');
    scale.setAttribute('aria-labelledby', 'wl-csat-label');
    const radios = [];
    const pick = (n, focus) => {
      csat = n;
      radios.forEach((r, i) => {
        r.setAttribute('aria-checked', String(i + 1 === n));
        r.tabIndex = i + 1 === n ? 0 : -1;
      });
      if (focus) radios[n - 1].focus();
    };
    for (let n = 1; n <= 5; n++) {
      const r = h('button', 'wl-rate', n);
      r.type = 'button';
      r.id = `wl-csat-${n}`;
      r.setAttribute('role', 'radio');
      r.setAttribute('aria-checked', 'false');
      r.setAttribute('aria-label', `${n} out of 5`);
      r.tabIndex = n === 1 ? 0 : -1;
      r.addEventListener('click', () => pick(n));
      r.addEventListener('keydown', (e) => {
        const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
        if (step) pick(((n - 1 + step + 5) % 5) + 1, true);
        else if (e.key === 'Home') pick(1, true);
        else if (e.key === 'End') pick(5, true);
        else return;
        e.preventDefault();
      });
      radios.push(r);
      scale.append(r);
    }
    const ends = h('div', 'wl-scale-ends');
    ends.setAttribute('aria-hidden', 'true');
    ends.append(h('span', null, 'Very unhappy'), h('span', null, 'Very happy'));

    const npsLabel = h('label', 'wl-q', 'How likely are you to recommend us to a friend? (optional)');
    npsLabel.htmlFor = 'wl-nps';
    const nps = h('select', 'wl-select');
    nps.id = 'wl-nps';
    nps.append(new Option('Choose 0\u201310', ''));
    for (let n = 0; n <= 10; n++) {
      nps.append(new Option(n === 0 ? '0 \u2013 not at all likely' : n === 10 ? '10 \u2013 extremely likely' : String(n), String(n)));
    }

    const heardLabel = h('p', 'wl-q', 'Did you feel heard?');
    heardLabel.id = 'wl-heard-label';
    const yesNo = h('div', 'wl-yesno');
    yesNo.setAttribute('role', 'group');
    yesNo.setAttribute('aria-labelledby', 'wl-heard-label');
    const choices = [[true, 'yes', 'Yes'], [false, 'no', 'No']].map(([value, id, text]) => {
      const b = h('button', 'wl-choice', text);
      b.type = 'button';
      b.id = `wl-heard-${id}`;
      b.setAttribute('aria-pressed', 'false');
      b.addEventListener('click', () => {
        heard = heard === value ? null : value;
        choices.forEach((c, i) => c.setAttribute('aria-pressed', String(heard === (i === 0))));
      });
      return b;
    });
    yesNo.append(...choices);

    const commentLabel = h('label', 'wl-q', "Anything else you'd like to tell us? (optional)");
    commentLabel.htmlFor = 'wl-comment';
    const comment = h('textarea', 'wl-comment');
    comment.id = 'wl-comment';
    comment.rows = 3;
    comment.maxLength = 2000;

    const error = h('p', 'wl-error wl-survey-error');
    error.id = 'wl-survey-error';
    error.setAttribute('role', 'alert');
    error.hidden = true;
    const sendBtn = h('button', 'wl-primary', 'Send feedback');
    sendBtn.type = 'submit';
    sendBtn.id = 'wl-survey-send';

    form.append(title, csatLabel, scale, ends, npsLabel, nps, heardLabel, yesNo, commentLabel, comment, error, sendBtn);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (S.surveyBusy) return;
      const oops = (text) => {
        error.textContent = text;
        error.hidden = false;
      };
      if (!csat) {
        oops('Please choose a rating from 1 to 5.');
        radios[0].focus();
        return;
      }
      const body = { csat };
      if (nps.value !== '') body.nps = Number(nps.value);
      if (heard !== null) body.felt_heard = heard;
      if (comment.value.trim()) body.comment = comment.value.trim();
      error.hidden = true;
      S.surveyBusy = true;
      sendBtn.setAttribute('aria-disabled', 'true');
      sendBtn.textContent = 'Sending\u2026';
      let res = null;
      try {
        res = await fetch(`${convUrl()}/feedback`, {
          method: 'POST', headers: { ...JSON_HEADERS, ...auth() }, body: JSON.stringify(body),
        });
      } catch (err) { /* shown below */ }
      S.surveyBusy = false;
      sendBtn.removeAttribute('aria-disabled');
      sendBtn.textContent = 'Send feedback';
      if (res && res.ok) thank(true);
      else oops((res && (await problemDetail(res))) || "We couldn't send your feedback. Please try again.");
    });
    const stick = nearBottom();
    ui.slot.append(form);
    if (stick) toBottom();
  }

  function thank(focus) {
    const form = $('wl-survey');
    S.survey = 'done';
    if (!form) return;
    const thanks = h('p', 'wl-thanks', 'Thank you for your feedback');
    thanks.id = 'wl-thanks';
    thanks.setAttribute('role', 'status');
    thanks.tabIndex = -1;
    form.replaceWith(thanks);
    if (focus) thanks.focus();
  }

  /* ---------- wiring ---------- */

  function setBrand() {
    const brand = typeof config.brand === 'string' ? config.brand.trim() : '';
    if (!/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(brand)) return;
    const hex = brand.length === 4 ? brand.replace(/[0-9a-f]/gi, (c) => c + c) : brand;
    const [r, g, b] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    const root = document.documentElement.style;
    root.setProperty('--wl-brand', hex);
    root.setProperty('--wl-on-brand', luminance > 0.18 ? '#111827' : '#ffffff');
  }

  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit();
  });
  ui.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });
  ui.input.addEventListener('input', onInput);
  ui.human.addEventListener('click', () => {
    if (ui.human.getAttribute('aria-disabled') === 'true') return;
    send(HUMAN_TEXT);
  });
  if (IN_FRAME) {
    ui.close.hidden = false;
    ui.close.addEventListener('click', () => postParent({ type: 'warmline:close' }));
  }
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && IN_FRAME && !e.defaultPrevented) postParent({ type: 'warmline:close' });
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && S.open && S.unread) {
      S.unread = 0;
      postParent({ type: 'warmline:unread', count: 0 });
    }
  });

  function cleanIdentity(raw) {
    const out = {};
    if (!raw || typeof raw !== 'object') return out;
    for (const key of ['user_id', 'user_hash', 'name', 'email', 'email_signature']) {
      if (typeof raw[key] === 'string' && raw[key] && raw[key].length <= 1000) out[key] = raw[key];
    }
    return out;
  }

  window.addEventListener('message', (e) => {
    if (!IN_FRAME || e.source !== window.parent) return;
    const msg = e.data;
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'warmline:init') {
      // Any site may send this: the identity only counts if its HMAC verifies server-side.
      if (S.inited) return;
      S.inited = true;
      S.host = e.origin;
      S.open = !!msg.open;
      clearTimeout(S.initTimer);
      const identity = cleanIdentity(msg.identity);
      const signed = identity.user_id && identity.user_hash;
      if (!S.started) start(identity);
      else if (signed && !S.identified && !S.sentAny) {
        reset(); // the init came late: switch to the signed-in customer's conversation
        start(identity);
      }
    } else if (S.host && e.origin !== S.host) {
      /* open/closed only from the page that initialised us */
    } else if (msg.type === 'warmline:open') {
      S.open = true;
      if (S.unread) postParent({ type: 'warmline:unread', count: 0 });
      S.unread = 0;
      ui.input.focus({ preventScroll: true });
      toBottom();
    } else if (msg.type === 'warmline:closed') {
      S.open = false;
    }
  });

  setBrand();
  setConnected(false);
  if (IN_FRAME) {
    postParent({ type: 'warmline:ready' }, '*');
    S.initTimer = setTimeout(() => { if (!S.started) start(null); }, 1000);
  } else {
    S.initTimer = setTimeout(() => { if (!S.started) start(null); }, 300);
  }
})();
