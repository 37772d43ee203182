// portal.js starts the NHS.UK frontend on every page. The layout loads the
// library with <script type="module" data-nhsuk-frontend src="/static/nhsuk.<hash>.js">;
// importing the same address here reuses that module rather than fetching it again.
// No inline script: the Content-Security-Policy forbids it.

document.body.classList.add('js-enabled');
if ('noModule' in HTMLScriptElement.prototype) {
  document.body.classList.add('nhsuk-frontend-supported');
}

const script = document.querySelector('script[data-nhsuk-frontend]');
if (script instanceof HTMLScriptElement && script.src) {
  import(script.src)
    .then((nhsuk) => nhsuk.initAll())
    .catch((err) => console.error('NHS.UK frontend did not start', err));
}

// Escape closes the header's "More" menu (NHS.UK frontend) but leaves the
// focus on nothing when it was in the menu: it goes back to the menu's
// button, as a menu's Escape should (WCAG 2.4.3, a keyboard review).
const menuToggle = document.querySelector('.nhsuk-header__menu-toggle');
if (menuToggle instanceof HTMLButtonElement) {
  const menu = menuToggle.closest('.nhsuk-header__menu');
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && menu && menu.contains(document.activeElement) && document.activeElement !== menuToggle) {
      // The library closes the menu on this same key; the focus follows.
      setTimeout(() => menuToggle.focus(), 0);
    }
  });
}

// The warning before the session ends for want of use (views/layout.templ
// sessionTimeout, WCAG 2.2.1): opened as a modal dialog two minutes before
// the end (half the time left for a shorter session, never under 20 s), it
// counts down, and "Stay signed in" (or Escape) sends its form without
// leaving the page, so nothing typed is lost. Tabs of the portal in the same
// browser tell each other when the session now ends. Near the most a session
// may last, when staying signed in cannot help, it is not modal and offers no
// "Stay signed in": it says so, in its live region too, and closes with its
// button or Escape. At the end it says the person has been signed out, and
// stops being modal, so the page can still be read and copied from.
const timeout = document.getElementById('session-timeout');
if (timeout instanceof HTMLDialogElement && typeof timeout.showModal === 'function') {
  sessionTimeout(timeout);
}

function sessionTimeout(dialog) {
  const idle = Number(dialog.dataset.sessionIdle) * 1000;
  const startsLeft = Number(dialog.dataset.sessionLeft) * 1000;
  let endsAt = Date.now() + startsLeft;
  const $ = (selector) => dialog.querySelector(selector);
  const live = $('[data-session-live]');
  const last = $('[data-session-last]');
  const ended = $('[data-session-ended]');
  const countdowns = dialog.querySelectorAll('[data-session-countdown]');
  const announce = $('[data-session-announce]');
  const unreachable = $('[data-session-unreachable]');
  const form = $('form[data-session-extend]');
  const tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel('mcr-session') : null;
  let warnTimer = 0;
  let tick = 0;
  let done = false;
  let modal = false; // open as the modal warning offering "Stay signed in"
  let returnTo = null; // where the focus was before the warning took it
  // The session ends at its absolute end, not for want of use, so staying
  // signed in cannot help (the page says so: views.Page.SessionFinal).
  let final = dialog.dataset.sessionFinal === 'true';

  // How long is left, in words, never more than is left: whole minutes above
  // a minute, then steps of 15 seconds.
  const words = (ms) => {
    const left = Math.floor(ms / 1000);
    if (left >= 120) return `${Math.floor(left / 60)} minutes`;
    if (left >= 60) return '1 minute';
    if (left >= 15) return `${Math.floor(left / 15) * 15} seconds`;
    return 'less than 15 seconds';
  };
  const lead = (left) => Math.max(20000, Math.min(120000, left / 2));
  const said = (el) => el.textContent.replace(/\s+/g, ' ').trim();
  const takeFocus = () => {
    const from = document.activeElement;
    if (from && from !== document.body && !dialog.contains(from)) returnTo = from;
  };
  // Shown without being modal: the page behind stays usable, and the focus
  // goes to the heading, which says what happened.
  const showPart = (part, name) => {
    for (const p of [live, last, ended]) p.hidden = p !== part;
    dialog.setAttribute('aria-labelledby', `session-${name}-heading`);
    dialog.setAttribute('aria-describedby', `session-${name}-text`);
    takeFocus();
    modal = false;
    if (dialog.open) dialog.close();
    dialog.show();
    $(`#session-${name}-heading`).focus();
  };
  const end = () => {
    done = true;
    clearTimeout(warnTimer);
    clearInterval(tick);
    announce.textContent = '';
    showPart(ended, 'ended');
  };
  const update = () => {
    const left = endsAt - Date.now();
    if (left <= 0) {
      end();
      return;
    }
    const text = `${dialog.dataset.sessionEnds || 'You will be signed out in'} ${words(left)}.`;
    if (countdowns[0].textContent !== text) {
      for (const c of countdowns) c.textContent = text;
      // said once a minute, then every 15 seconds, while the message shows
      if (dialog.open) announce.textContent = text;
    }
  };
  const lastWarning = () => {
    update();
    if (done) return;
    showPart(last, 'last');
    // A live region speaks a change, not what it held when it appeared.
    announce.textContent = '';
    setTimeout(() => {
      if (!done) announce.textContent = `${said($('#session-last-heading'))}. ${said($('#session-last-text'))}`;
    }, 100);
  };
  const warn = () => {
    if (done) return;
    clearInterval(tick);
    tick = setInterval(update, 1000);
    if (final) {
      lastWarning();
      return;
    }
    update();
    if (!dialog.open) {
      takeFocus();
      modal = true;
      dialog.showModal();
    }
  };
  const schedule = () => {
    clearTimeout(warnTimer);
    clearInterval(tick);
    const left = endsAt - Date.now();
    warnTimer = setTimeout(warn, Math.max(0, left - lead(left)));
  };
  // Another tab was used, or stayed signed in: the session lasts longer than this page knew.
  const later = (when) => {
    if (done || !(when > endsAt)) return;
    endsAt = when;
    if (final) return; // the same absolute end, give or take a second
    if (dialog.open && endsAt - Date.now() > lead(endsAt - Date.now())) dialog.close();
    schedule();
  };
  if (tabs) {
    tabs.onmessage = (e) => later(Number(e.data?.endsAt));
    tabs.postMessage({ endsAt });
  }
  // A request of the page's own (passkey.js) was activity, as a page load
  // is: the count goes on to what the server said the session has now (its
  // X-Session-Left, in the event), never past the session's absolute end
  // (data-session-end); said nothing, it counts nothing (reviews: a guess
  // moved it past the end, or past a use the server had not noted, and the
  // session ended unwarned).
  const endLeft = Number(dialog.dataset.sessionEnd);
  const absoluteEnd = Number.isFinite(endLeft) && endLeft > 0 ? Date.now() + endLeft * 1000 : Infinity;
  document.addEventListener('mcr-session-used', (e) => {
    const left = Number(e.detail) * 1000;
    if (final || !(left > 0)) return; // the absolute end stands, or nothing was said
    const by = Math.min(Date.now() + left, absoluteEnd);
    later(by);
    if (by >= absoluteEnd - 1000) final = true; // the warning at the end is the last
    tabs?.postMessage({ endsAt });
  });
  dialog.addEventListener('cancel', (e) => {
    // Escape stays signed in, as the button does: it never leaves the session to end unwarned.
    e.preventDefault();
    if (modal && !done) form.requestSubmit();
    else dialog.close();
  });
  // A dialog that is not modal hears no Escape of its own.
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !e.defaultPrevented && dialog.open && !modal) dialog.close();
  });
  dialog.addEventListener('close', () => {
    if (dialog.open) return; // shown again, as another part
    announce.textContent = ''; // what it last said is not the next warning's
    // Back where the person was, on every way out (Escape too). NHS.UK
    // frontend's setFocus (the skip link's target, an error summary, a
    // banner) takes away the tabindex it gave once the focus left: given
    // back, or the focus fell to the top of the page (a review).
    const at = document.activeElement;
    if (returnTo?.isConnected && (!at || at === document.body || dialog.contains(at))) {
      if (returnTo.tabIndex < 0 && !returnTo.hasAttribute('tabindex')) returnTo.setAttribute('tabindex', '-1');
      returnTo.focus();
    }
    if (modal && !done && endsAt - Date.now() <= lead(endsAt - Date.now())) {
      form.requestSubmit();
      return;
    }
    modal = false;
  });
  for (const b of dialog.querySelectorAll('[data-session-close]')) {
    b.addEventListener('click', () => dialog.close());
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    unreachable.hidden = true;
    fetch(form.action, { method: 'POST', body: new FormData(form), credentials: 'same-origin' })
      .then((r) => {
        if (r.status === 401 || r.status === 403) {
          end(); // the session had ended already
          return;
        }
        if (r.status !== 204) throw new Error(`answered ${r.status}`);
        const left = Number(r.headers.get('X-Session-Left')) * 1000 || idle;
        endsAt = Date.now() + left;
        tabs?.postMessage({ endsAt });
        // Less than the idle time: the session is near the most it may last.
        if (left < idle) final = true;
        if (final && left <= lead(left)) {
          lastWarning(); // the countdown goes on
          return;
        }
        if (dialog.open) dialog.close();
        schedule();
      })
      .catch(() => {
        // Not reached (the server restarting, the network down): the session may
        // well go on, so the warning stays, saying so, until its end. Said in
        // the live region too: focus stays on the button, so nothing else
        // would tell a screen reader (WCAG 4.1.3).
        unreachable.hidden = false;
        announce.textContent = unreachable.textContent;
      });
  });
  schedule();
}

// What is asked beneath a choice (the date a carer's access ends) shows only
// while that choice is made, so it is not in the way, or in the Tab order,
// of another, and is not sent with another choice, which would be refused
// as two answers (a disabled field is not sent). Without script it always
// shows. The NHS frontend's own reveal is not used: it marks the radio
// aria-expanded, which ARIA does not allow on a radio. An answer with an
// error stays in view as the page comes, until another choice is made.
for (const box of document.querySelectorAll('.nhsuk-radios__conditional[id^="conditional-"]')) {
  const radio = document.getElementById(box.id.slice('conditional-'.length));
  if (!radio || radio.type !== 'radio') continue;
  const show = (keepError) => {
    box.hidden = !radio.checked && !(keepError && box.querySelector('.nhsuk-form-group--error'));
    for (const field of box.querySelectorAll('input, select, textarea')) field.disabled = box.hidden;
  };
  for (const r of document.querySelectorAll(`input[type="radio"][name="${CSS.escape(radio.name)}"]`)) r.addEventListener('change', () => show(false));
  show(true);
}
