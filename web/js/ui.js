// The confirmation and scale dialogs and the toasts (results of actions).

import { byId, h } from './util.js';

let pending = null;

/**
 * Asks the user to confirm, in a dialog of the page (not window.confirm, so tests and
 * keyboards can drive it). Resolves true for the confirm button, false otherwise.
 */
export function confirmDialog(message, confirmLabel = 'OK') {
  const backdrop = byId('dialog-backdrop');
  const confirm = byId('dialog-confirm');
  const cancel = byId('dialog-cancel');
  if (pending) pending(false);
  byId('dialog-message').textContent = message;
  confirm.textContent = confirmLabel;
  backdrop.hidden = false;
  const previous = document.activeElement;
  cancel.focus();
  return new Promise((resolve) => {
    const finish = (answer) => {
      pending = null;
      backdrop.hidden = true;
      confirm.removeEventListener('click', onConfirm);
      cancel.removeEventListener('click', onCancel);
      backdrop.removeEventListener('click', onBackdrop);
      document.removeEventListener('keydown', onKey);
      if (previous && typeof previous.focus === 'function' && previous.isConnected) previous.focus();
      resolve(answer);
    };
    const onConfirm = () => finish(true);
    const onCancel = () => finish(false);
    const onBackdrop = (event) => {
      if (event.target === backdrop) finish(false);
    };
    const onKey = (event) => {
      if (event.key === 'Escape') finish(false);
    };
    pending = finish;
    confirm.addEventListener('click', onConfirm);
    cancel.addEventListener('click', onCancel);
    backdrop.addEventListener('click', onBackdrop);
    document.addEventListener('keydown', onKey);
  });
}

/**
 * Asks for a whole number from `min` to `max` in the scale dialog; a value out of range
 * is refused in the dialog itself. Resolves the number, or null when cancelled.
 */
export function promptCount(message, { min = 1, max = 256, value = '' } = {}) {
  const backdrop = byId('scale-backdrop');
  const form = byId('scale-form');
  const input = byId('scale-count');
  const error = byId('scale-error');
  if (pending) pending(false);
  byId('scale-message').textContent = message;
  input.value = String(value);
  error.hidden = true;
  backdrop.hidden = false;
  const previous = document.activeElement;
  input.focus();
  input.select();
  return new Promise((resolve) => {
    const finish = (answer) => {
      pending = null;
      backdrop.hidden = true;
      form.removeEventListener('submit', onSubmit);
      byId('scale-cancel').removeEventListener('click', onCancel);
      document.removeEventListener('keydown', onKey);
      if (previous && typeof previous.focus === 'function' && previous.isConnected) previous.focus();
      resolve(answer === false ? null : answer);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      const text = input.value.trim();
      const count = /^\d+$/.test(text) ? Number(text) : NaN;
      if (count >= min && count <= max) {
        finish(count);
      } else {
        error.textContent = `instances: give a whole number from ${min} to ${max}`;
        error.hidden = false;
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
    };
    const onCancel = () => finish(false);
    const onKey = (event) => {
      if (event.key === 'Escape') finish(false);
    };
    input.removeAttribute('aria-invalid');
    pending = finish;
    form.addEventListener('submit', onSubmit);
    byId('scale-cancel').addEventListener('click', onCancel);
    document.addEventListener('keydown', onKey);
  });
}

/** Closes an open dialog as cancelled (on logout). */
export function dismissDialog() {
  if (pending) pending(false);
}

const TOAST_MS = 8000;
const TOAST_MAX = 5;

/** Shows a short message; kind is "ok" or "error". */
export function toast(message, kind = 'ok') {
  const box = byId('toasts');
  // The daemon reports a bad request both in the ack and as an error message: once is enough.
  const now = Date.now();
  for (const item of box.children) {
    if (item.dataset.text === message && item.dataset.kind === kind && now - Number(item.dataset.at) < 3000) return;
  }
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss' }, '×');
  const item = h(
    'div',
    { class: `toast ${kind}`, 'data-testid': kind === 'error' ? 'toast-error' : 'toast' },
    h('span', { class: 'toast-text' }, message),
    close,
  );
  Object.assign(item.dataset, { text: message, kind, at: String(now) });
  close.addEventListener('click', () => item.remove());
  box.append(item);
  while (box.children.length > TOAST_MAX) box.firstElementChild.remove();
  setTimeout(() => item.remove(), kind === 'error' ? TOAST_MS * 2 : TOAST_MS);
}

/** Runs an async action and reports its outcome as a toast. */
export async function report(promise, describe) {
  try {
    const result = await promise;
    const text = describe ? describe(result) : result && result.message;
    if (text) toast(text, 'ok');
    return result;
  } catch (error) {
    toast(error.message || String(error), 'error');
    return null;
  }
}
