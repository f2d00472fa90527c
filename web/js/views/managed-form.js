// The managed start form as a `managed:start` payload (PROTOCOL.md). Obvious mistakes
// (a count out of range, an exit code that is not one, a probe without its target) are
// refused here, naming the field, before anything is sent; the daemon checks everything
// again and its refusal is shown in the same place.

import { byId } from '../util.js';

const MAX_INSTANCES = 256;
const MAX_EXIT_CODES = 32;

/** A value of the form that cannot be sent, with the payload field it belongs to. */
export class FormError extends Error {
  constructor(field, message, input) {
    super(`${field}: ${message}`);
    this.input = input;
  }
}

/** "a, b c" -> ["a", "b", "c"]. */
function words(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

function wholeNumber(text) {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
}

function instances() {
  const input = byId('managed-instances');
  if (!input.value.trim()) return undefined;
  const count = wholeNumber(input.value);
  if (!(count >= 1 && count <= MAX_INSTANCES)) {
    throw new FormError('instances', `"${input.value}" is not a count from 1 to ${MAX_INSTANCES}`, input);
  }
  return count;
}

function exitCodes() {
  const input = byId('managed-exit-codes');
  const codes = words(input.value).map((word) => {
    const code = wholeNumber(word);
    if (!(code >= 0 && code <= 255)) {
      throw new FormError('successExitCodes', `"${word}" is not an exit code (0-255)`, input);
    }
    return code;
  });
  if (codes.length > MAX_EXIT_CODES) {
    throw new FormError('successExitCodes', `${codes.length} codes, at most ${MAX_EXIT_CODES}`, input);
  }
  if (new Set(codes).size !== codes.length) {
    throw new FormError('successExitCodes', 'a code is listed twice', input);
  }
  return codes.length ? codes : undefined;
}

/** The health or readiness fieldset as `{command | tcp | http, intervalMs?}`. */
function probe(kind) {
  const type = byId(`managed-${kind}-type`).value;
  const target = byId(`managed-${kind}-target`);
  const interval = byId(`managed-${kind}-interval`);
  if (!type) {
    if (target.value.trim() || interval.value.trim()) {
      throw new FormError(kind, 'choose the probe: command, tcp or http', byId(`managed-${kind}-type`));
    }
    return undefined;
  }
  const value = target.value.trim();
  if (!value) {
    const what = { command: 'a command', tcp: 'HOST:PORT', http: 'an http:// URL' }[type];
    throw new FormError(kind, `give ${what} to probe`, target);
  }
  const check = { [type]: value };
  if (interval.value.trim()) {
    const ms = wholeNumber(interval.value);
    if (!(ms >= 10)) throw new FormError(kind, 'the interval is a number of milliseconds, at least 10', interval);
    check.intervalMs = ms;
  }
  return check;
}

/** The form as a payload; throws a FormError for a value that cannot be sent. */
export function readStartForm() {
  const name = byId('managed-name').value.trim();
  const command = byId('managed-command').value.trim();
  const payload = { name, command };
  const optional = {
    instances: instances(),
    successExitCodes: exitCodes(),
    timestamps: byId('managed-timestamps').checked || undefined,
    watch: words(byId('managed-watch').value),
    watchIgnore: words(byId('managed-watch-ignore').value),
    cronRestart: byId('managed-cron').value.trim() || undefined,
    health: probe('health'),
    readiness: probe('readiness'),
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value === undefined || (Array.isArray(value) && !value.length)) continue;
    payload[key] = value;
  }
  return payload;
}

const HINTS = { '': 'http://127.0.0.1:8000/health', command: 'curl -fsS localhost:8000/ready', tcp: '127.0.0.1:8000', http: 'http://127.0.0.1:8000/health' };

/** Each probe's target placeholder follows its type. */
export function initProbeHints() {
  for (const kind of ['health', 'readiness']) {
    const type = byId(`managed-${kind}-type`);
    type.addEventListener('change', () => {
      byId(`managed-${kind}-target`).placeholder = HINTS[type.value] || HINTS[''];
    });
  }
}

/** Shows (or with no text, hides) the form's error line. */
export function showFormError(text, input) {
  const line = byId('managed-form-error');
  line.textContent = text || '';
  line.hidden = !text;
  for (const node of document.querySelectorAll('#managed-form [aria-invalid]')) node.removeAttribute('aria-invalid');
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    if (input.closest('details')) input.closest('details').open = true;
    input.focus();
  }
}

/** Empties every field of the form (the options included) after a start. */
export function resetStartForm() {
  for (const input of byId('managed-form').querySelectorAll('input, select')) {
    if (input.type === 'checkbox') input.checked = false;
    else input.value = '';
  }
  showFormError('');
}
