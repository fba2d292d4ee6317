/* warmline chat widget loader: one <script src=".../widget.js" async></script> on any site.
 * It adds a launcher button and the chat iframe, styled with CSSOM only (no inline style
 * attributes, no injected <style>), and talks to the frame with postMessage, checking origins
 * both ways. Nothing the host page holds is read beyond this script tag's data attributes. */
(function () {
  'use strict';
  if (window.Warmline && window.Warmline.version) return; // loaded twice: keep the first

  var script = document.currentScript;
  if (!script) {
    var tags = document.querySelectorAll('script[src*="widget.js"]');
    script = tags[tags.length - 1];
  }
  if (!script) return;
  var ORIGIN = new URL(script.src, location.href).origin;
  var data = script.dataset || {};
  var BRAND = '#2b59c3';
  var Z = '2147483000';

  var identity = {};
  [['userId', 'user_id'], ['userHash', 'user_hash'], ['name', 'name'], ['email', 'email'],
   ['emailSignature', 'email_signature']]
    .forEach(function (pair) {
      if (data[pair[0]]) identity[pair[1]] = data[pair[0]];
    });
  var label = data.label || 'Chat with us';

  var state = { open: false, ready: false, unread: 0 };
  var launcher, badge, frame;
  var api = {
    version: 1,
    open: function () { setOpen(true, true); },
    close: function () { setOpen(false, true); },
    toggle: function () { setOpen(!state.open, true); }
  };
  window.Warmline = api;

  function css(el, styles) {
    for (var k in styles) el.style.setProperty(k, styles[k], 'important');
  }

  function build() {
    launcher = document.createElement('button');
    launcher.type = 'button';
    launcher.id = 'warmline-launcher';
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-controls', 'warmline-frame');
    var icon = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    icon.setAttribute('viewBox', '0 0 24 24');
    icon.setAttribute('width', '20');
    icon.setAttribute('height', '20');
    icon.setAttribute('aria-hidden', 'true');
    icon.setAttribute('focusable', 'false');
    var path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('fill', 'currentColor');
    path.setAttribute('d', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z');
    icon.appendChild(path);
    var text = document.createElement('span');
    text.textContent = label;
    badge = document.createElement('span');
    badge.setAttribute('aria-hidden', 'true');
    badge.hidden = true;
    launcher.append(icon, text, badge);
    css(launcher, {
      position: 'fixed', right: '20px', bottom: '20px', 'z-index': Z,
      display: 'inline-flex', 'align-items': 'center', gap: '8px',
      margin: '0', padding: '12px 18px', border: '0', 'border-radius': '999px',
      background: BRAND, color: '#fff', cursor: 'pointer',
      font: '600 15px/1.2 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
      'box-shadow': '0 6px 20px rgba(20, 30, 60, .28)', 'letter-spacing': 'normal',
      'text-transform': 'none', width: 'auto', height: 'auto', 'min-height': '44px'
    });
    css(badge, {
      display: 'none', 'min-width': '20px', height: '20px', padding: '0 6px',
      'border-radius': '10px', background: '#fff', color: BRAND,
      font: '700 12px/20px system-ui, sans-serif', 'text-align': 'center',
      'box-sizing': 'border-box'
    });
    launcher.addEventListener('click', api.toggle);
    launcher.addEventListener('focus', function () {
      var keyboard = true;
      try { keyboard = launcher.matches(':focus-visible'); } catch (e) { /* old browser */ }
      if (keyboard) css(launcher, { outline: '3px solid #ffbf47', 'outline-offset': '3px' });
    });
    launcher.addEventListener('blur', function () {
      launcher.style.removeProperty('outline');
      launcher.style.removeProperty('outline-offset');
    });
    launcher.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && state.open) setOpen(false, true);
    });

    frame = document.createElement('iframe');
    frame.id = 'warmline-frame';
    frame.title = 'Chat with support';
    frame.src = ORIGIN + '/widget';
    frame.setAttribute('loading', 'eager');
    frame.setAttribute('referrerpolicy', 'strict-origin-when-cross-origin');
    css(frame, {
      position: 'fixed', 'z-index': String(Number(Z) + 1), border: '0', margin: '0',
      padding: '0', background: '#fff', display: 'none', 'color-scheme': 'light',
      'box-shadow': '0 12px 48px rgba(20, 30, 60, .3)', 'max-width': 'none'
    });

    document.body.append(frame, launcher);
    layout();
    window.addEventListener('resize', layout);
    window.addEventListener('message', onMessage);
    if (data.open === 'true') setOpen(true, false);
  }

  function layout() {
    var small = window.innerWidth < 480;
    if (small) {
      css(frame, {
        top: '0', left: '0', right: 'auto', bottom: 'auto', width: '100vw', height: '100vh',
        'max-height': 'none', 'border-radius': '0'
      });
    } else {
      css(frame, {
        top: 'auto', left: 'auto', right: '20px', bottom: '88px', width: '380px',
        height: '600px', 'max-height': 'calc(100vh - 108px)', 'border-radius': '16px'
      });
    }
    // The frame covers the whole screen on a phone: its own close button closes it.
    launcher.style.setProperty('display', small && state.open ? 'none' : 'inline-flex', 'important');
  }

  function post(message) {
    if (frame && frame.contentWindow) frame.contentWindow.postMessage(message, ORIGIN);
  }

  function setOpen(open, byUser) {
    if (!frame) return;
    var wasInside = document.activeElement === frame;
    state.open = open;
    frame.style.setProperty('display', open ? 'block' : 'none', 'important');
    launcher.setAttribute('aria-expanded', String(open));
    if (open) setUnread(0);
    layout();
    post({ type: open ? 'warmline:open' : 'warmline:closed' });
    if (open && byUser) frame.focus();
    if (!open && (wasInside || byUser)) launcher.focus();
  }

  function setUnread(count) {
    state.unread = count > 0 && !state.open ? Math.min(count, 99) : 0;
    badge.textContent = state.unread ? String(state.unread) : '';
    badge.hidden = !state.unread;
    badge.style.setProperty('display', state.unread ? 'inline-block' : 'none', 'important');
    launcher.setAttribute('aria-label', state.unread
      ? label + ' (' + state.unread + ' unread ' + (state.unread === 1 ? 'message' : 'messages') + ')'
      : label);
  }

  function onMessage(event) {
    if (event.origin !== ORIGIN || !frame || event.source !== frame.contentWindow) return;
    var msg = event.data;
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
    if (msg.type === 'warmline:ready') {
      state.ready = true;
      post({ type: 'warmline:init', identity: identity, open: state.open });
    } else if (msg.type === 'warmline:close') {
      setOpen(false, true);
    } else if (msg.type === 'warmline:unread') {
      setUnread(Number(msg.count) || 0);
    }
  }

  if (document.body) build();
  else document.addEventListener('DOMContentLoaded', build);
})();
