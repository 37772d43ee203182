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
