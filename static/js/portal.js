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

// The warning before the session ends for want of use (views/layout.templ
// sessionTimeout, WCAG 2.2.1): opened as a modal dialog two minutes before
// the end (half the time left, for a shorter session: never under 15 s), it
// counts down, and "Stay signed in" sends its form without leaving the page,
// so nothing typed is lost. At the end it says the person has been signed
// out, and leaves the page as it is.
const timeout = document.getElementById('session-timeout');
if (timeout instanceof HTMLDialogElement && typeof timeout.showModal === 'function') {
  sessionTimeout(timeout);
}

function sessionTimeout(dialog) {
  const idle = Number(dialog.dataset.sessionIdle);
  let endsAt = Date.now() + Number(dialog.dataset.sessionLeft) * 1000;
  const live = dialog.querySelector('[data-session-live]');
  const ended = dialog.querySelector('[data-session-ended]');
  const countdown = dialog.querySelector('[data-session-countdown]');
  const form = dialog.querySelector('form[data-session-extend]');
  let warnTimer = 0;
  let tick = 0;

  const words = (seconds) => {
    const m = Math.floor(seconds / 60);
    const s = seconds % 60;
    const part = (n, one) => (n === 1 ? `1 ${one}` : `${n} ${one}s`);
    if (m === 0) return part(s, 'second');
    return s === 0 ? part(m, 'minute') : `${part(m, 'minute')} ${part(s, 'second')}`;
  };
  const update = () => {
    const left = Math.max(0, Math.ceil((endsAt - Date.now()) / 1000));
    if (left === 0) {
      clearInterval(tick);
      live.hidden = true;
      ended.hidden = false;
      ended.querySelector('a')?.focus();
      return;
    }
    // Whole 15 s steps under a minute, so a screen reader is not told every second.
    const shown = left > 60 ? Math.ceil(left / 60) * 60 : Math.ceil(left / 15) * 15;
    countdown.textContent = `You will be signed out in ${words(shown)}.`;
  };
  const warn = () => {
    update();
    if (!dialog.open) dialog.showModal();
    tick = setInterval(update, 1000);
  };
  const schedule = () => {
    clearTimeout(warnTimer);
    clearInterval(tick);
    const left = endsAt - Date.now();
    const lead = Math.max(15000, Math.min(120000, left / 2));
    warnTimer = setTimeout(warn, Math.max(0, left - lead));
  };
  // Escape would close the dialog and leave the session to end unwarned: it stays, and
  // "Stay signed in" is the way out.
  dialog.addEventListener('cancel', (e) => e.preventDefault());
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    fetch(form.action, { method: 'POST', body: new FormData(form), credentials: 'same-origin' })
      .then((r) => {
        if (r.status !== 204) throw new Error(`answered ${r.status}`);
        endsAt = Date.now() + idle * 1000;
        dialog.close();
        schedule();
      })
      .catch(() => {
        clearInterval(tick);
        endsAt = Date.now();
        update(); // the session has ended, or cannot be kept: say so
      });
  });
  schedule();
}
