// passkey.js creates a passkey (enrolment) and signs in with one, talking to
// the portal's JSON endpoints. It has no dependencies and runs as an ES module.
//
// Page contract:
//   <meta name="csrf-token" content="...">                       sent as X-CSRF-Token
//   <button id="passkey-create" data-begin data-finish hidden>   registration
//   <button id="passkey-signin" data-begin data-finish hidden>   sign-in
//   <input id="passkey-username" autocomplete="username webauthn"> conditional UI (optional)
//   [data-passkey-js] hidden elements shown when passkeys can work here;
//   [data-passkey-nojs] elements (the "turn on JavaScript" message) hidden then.
//   <div id="passkey-error" hidden> an NHS error summary; the message goes in its <p>.

const messages = {
  network: 'We could not reach My Care Record. Check your internet connection, then try again.',
  server: 'Sorry, there is a problem with the service. Try again later.',
  cancelled: 'The passkey request was cancelled or timed out. Try again when you are ready.',
  exists: 'This device already has a passkey for My Care Record. Sign in with it instead.',
  security: 'Your browser would not use a passkey on this website. Check the web address is correct, then try again.',
  unsupported: 'Your browser or device cannot use passkeys. Try again with an up-to-date browser such as Chrome, Edge, Firefox or Safari.',
};

class ServerError extends Error {}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute('content') || '' : '';
}

// post sends JSON and returns the JSON reply, or throws a ServerError carrying
// the server's own plain-English message.
async function post(url, body) {
  let resp;
  try {
    resp = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/json',
        'Accept': 'application/json',
        'X-CSRF-Token': csrfToken(),
      },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ServerError(messages.network);
  }
  // The portal heard from the person: the time-out warning counts on by
  // what the server says the session has now (portal.js; a review: it came
  // two seconds after "Create a passkey"). Not when refused: the session may
  // have ended (a review).
  if (resp.ok) {
    document.dispatchEvent(new CustomEvent('mcr-session-used', { detail: Number(resp.headers.get('X-Session-Left')) }));
  }
  let data = null;
  try {
    data = await resp.json();
  } catch {
    // Not JSON: fall through to the generic message.
  }
  if (!resp.ok || data === null || typeof data !== 'object') {
    throw new ServerError((data && typeof data.error === 'string' && data.error) || messages.server);
  }
  return data;
}

function messageFor(err) {
  if (err instanceof ServerError) return err.message;
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'AbortError':
      return messages.cancelled;
    case 'InvalidStateError': {
      // A page can say what fits it, e.g. the account page adding a second passkey.
      const own = document.querySelector('[data-exists]');
      return (own && own.dataset.exists) || messages.exists;
    }
    case 'SecurityError':
      return messages.security;
    case 'NotSupportedError':
      return messages.unsupported;
    default:
      return messages.server;
  }
}

function showError(text, button) {
  const box = document.getElementById('passkey-error');
  if (!box) return;
  // In place of whatever the box says, a problem the server showed with
  // a link to its fix among them. As the NHS error summary does, it links
  // to the button that tries again, which may be far below (a review: a
  // keyboard could not follow it back).
  let said = document.createElement('p');
  if (button?.id) {
    const a = document.createElement('a');
    a.href = `#${button.id}`;
    a.addEventListener('click', (event) => {
      event.preventDefault();
      button.focus();
    });
    said = document.createElement('ul');
    said.className = 'nhsuk-list nhsuk-error-summary__list';
    said.appendChild(document.createElement('li')).appendChild(a);
    a.id = 'passkey-error-message';
    a.textContent = text;
  } else {
    said.id = 'passkey-error-message';
    said.textContent = text;
  }
  const body = box.querySelector('.nhsuk-error-summary__body');
  if (body) body.replaceChildren(said);
  box.hidden = false;
  // As a page with a form's errors is titled (WCAG 2.4.2): "Error: " first.
  if (!document.title.startsWith('Error: ')) document.title = `Error: ${document.title}`;
  box.focus();
}

function hideError() {
  const box = document.getElementById('passkey-error');
  if (box) box.hidden = true;
  document.title = document.title.replace(/^Error: /, '');
}

// finish sends the credential and follows the server to the next page.
async function finish(url, credential) {
  const data = await post(url, credential.toJSON());
  const next = typeof data.redirect === 'string' ? data.redirect : '';
  // Only ever a path on this site.
  if (!next.startsWith('/') || next.startsWith('//')) throw new ServerError(messages.server);
  window.location.assign(next);
}

function supported() {
  return typeof window.PublicKeyCredential === 'function' &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function' &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function' &&
    !!navigator.credentials;
}

// revealControls shows the passkey controls and hides the no-JavaScript note,
// or, where passkeys cannot work, says so in the note instead.
function revealControls() {
  if (!supported()) {
    for (const el of document.querySelectorAll('[data-passkey-nojs]')) el.textContent = messages.unsupported;
    return false;
  }
  for (const el of document.querySelectorAll('[data-passkey-nojs]')) el.hidden = true;
  for (const el of document.querySelectorAll('[data-passkey-js]')) el.hidden = false;
  return true;
}

// ceremony runs one button-started passkey ceremony from begin to redirect.
async function ceremony(button, kind, beforeBegin) {
  hideError();
  button.disabled = true;
  button.setAttribute('aria-disabled', 'true');
  try {
    if (beforeBegin) await beforeBegin();
    const options = await post(button.dataset.begin, {});
    let credential;
    if (kind === 'create') {
      credential = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey),
      });
    } else {
      credential = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey),
      });
    }
    if (!credential) throw new DOMException('No passkey was chosen', 'NotAllowedError');
    await finish(button.dataset.finish, credential);
    // Leave the button disabled: the browser is moving to the next page.
  } catch (err) {
    button.disabled = false;
    button.removeAttribute('aria-disabled');
    showError(messageFor(err), button);
  }
}

function setUpCreate(button) {
  button.addEventListener('click', (event) => {
    event.preventDefault();
    ceremony(button, 'create');
  });
}

function setUpSignIn(button) {
  // The autofill (conditional) request, if one is running.
  let conditional = null;

  button.addEventListener('click', (event) => {
    event.preventDefault();
    ceremony(button, 'get', async () => {
      if (!conditional) return;
      const c = conditional;
      conditional = null;
      c.controller.abort();
      // The server keeps one ceremony per session. Wait until the autofill
      // request's begin has been answered, so this button's begin is the last.
      await c.begun.catch(() => {});
    });
  });

  startConditional();

  async function startConditional() {
    const input = document.getElementById('passkey-username');
    if (!input || typeof PublicKeyCredential.isConditionalMediationAvailable !== 'function') return;
    let available = false;
    try {
      available = await PublicKeyCredential.isConditionalMediationAvailable();
    } catch {
      return;
    }
    // A click while we were asking has started its own ceremony: leave it alone.
    if (!available || button.disabled) return;
    const c = { controller: new AbortController(), begun: post(button.dataset.begin, {}) };
    conditional = c;
    let credential;
    try {
      const options = await c.begun;
      if (c.controller.signal.aborted) return;
      credential = await navigator.credentials.get({
        mediation: 'conditional',
        signal: c.controller.signal,
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey),
      });
    } catch {
      // Autofill is a convenience: when it fails (or the button aborted it),
      // the button still works and reports its own errors.
      if (conditional === c) conditional = null;
      return;
    }
    if (c.controller.signal.aborted || !credential) return;
    if (conditional === c) conditional = null;
    hideError();
    button.disabled = true;
    button.setAttribute('aria-disabled', 'true');
    try {
      await finish(button.dataset.finish, credential);
    } catch (err) {
      button.disabled = false;
      button.removeAttribute('aria-disabled');
      showError(messageFor(err), button);
    }
  }
}

function main() {
  const create = document.getElementById('passkey-create');
  const signin = document.getElementById('passkey-signin');
  if (!create && !signin) return;
  if (!revealControls()) return;
  if (create) {
    setUpCreate(create);
    create.hidden = false;
  }
  if (signin) {
    setUpSignIn(signin);
    signin.hidden = false;
  }
}

main();
