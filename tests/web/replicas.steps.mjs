// Steps of dashboard.test.mjs for sets of replicas: a bad value in the start form is
// shown there with nothing started (refused by the page, then by the daemon); a set of
// 2 started from the form (with a readiness probe, timestamps and success exit codes)
// shows both rows under its heading, is scaled to 3 from the scale dialog (a bad count
// refused in the dialog), reloaded, a replica's logs flushed, and the set deleted.

import assert from 'node:assert/strict';

/** The set this story starts (teardown deletes it if a step failed). */
export const SET = `e2e-set-${process.pid}`;
const COMMAND = "sh -c 'echo hello from replica $PROCWARD_INSTANCE; exec sleep 300'";

export function replicaSteps({ step, state, rawCall, waitFor }) {
  const row = (name) => state.page.locator(`[data-testid=managed-row][data-name="${name}"]`);
  const setRow = () => state.page.locator(`[data-testid=managed-set][data-name="${SET}"]`);
  const members = async () => (await rawCall('managed:list', {})).processes
    .filter((p) => p.name.startsWith(`${SET}:`))
    .sort((a, b) => a.name.localeCompare(b.name));
  const shownRunningAndReady = async (count) => {
    for (let i = 0; i < count; i += 1) {
      const replica = row(`${SET}:${i}`);
      if ((await replica.count()) !== 1) return false;
      if ((await replica.getByTestId('managed-state').textContent()).trim() !== 'running') return false;
      if ((await replica.getByTestId('managed-readiness').textContent()).trim() !== 'ready') return false;
    }
    return (await state.page.locator(`[data-testid=managed-row][data-set="${SET}"]`).count()) === count;
  };

  step('05c-managed-form-errors', async () => {
    const { page } = state;
    await page.getByTestId('nav-managed').click();
    await page.getByTestId('managed-name').fill(SET);
    await page.getByTestId('managed-command').fill(COMMAND);
    await page.getByTestId('managed-options-toggle').click();
    // Refused by the page: nothing is sent.
    await page.getByTestId('managed-instances').fill('0');
    const sent = state.sent.length;
    await page.getByTestId('managed-submit').click();
    const error = page.getByTestId('managed-form-error');
    await error.waitFor();
    assert.match(await error.textContent(), /^instances: "0" is not a count from 1 to 256/);
    assert.equal(await page.getByTestId('managed-instances').getAttribute('aria-invalid'), 'true');
    assert.equal(state.sent.slice(sent).filter((f) => f.includes('managed:start')).length, 0, 'nothing sent');
    // Refused by the daemon (a cron expression the page does not check): shown the same way.
    await page.getByTestId('managed-instances').fill('2');
    await page.getByTestId('managed-cron').fill('every day');
    await page.getByTestId('managed-submit').click();
    await waitFor('the daemon\'s refusal in the form', async () =>
      /^cronRestart: .*five fields/.test(await error.textContent()));
    assert.deepEqual(await members(), [], 'nothing was started');
    await page.getByTestId('managed-cron').fill('');
    // The refusal also comes as an error toast, which stays 16 s: dismiss it, so the next
    // steps' "no error toast" checks see only their own.
    const refusal = page.getByTestId('toast-error').filter({ hasText: /five fields/ });
    await refusal.first().waitFor();
    while ((await refusal.count()) > 0) await refusal.first().locator('.toast-close').click();
  });

  step('05d-managed-set-start', async () => {
    const { page } = state;
    await page.getByTestId('managed-exit-codes').fill('3, 4');
    await page.getByTestId('managed-timestamps').check();
    await page.getByTestId('managed-readiness-type').selectOption('command');
    await page.getByTestId('managed-readiness-target').fill('true');
    await page.getByTestId('managed-readiness-interval').fill('200');
    await page.getByTestId('managed-submit').click();
    await page.getByTestId('toast').filter({ hasText: `started ${SET}:0, ${SET}:1` }).first().waitFor();
    assert.ok(await page.getByTestId('managed-form-error').isHidden(), 'the error is gone');
    assert.equal(await page.getByTestId('managed-name').inputValue(), '', 'the form is emptied');
    await setRow().waitFor();
    await waitFor('both replicas running and ready', () => shownRunningAndReady(2));
    assert.match(await setRow().getByTestId('managed-set-size').textContent(), /× 2 replicas/);
    assert.match(await setRow().getByTestId('managed-set-state').textContent(), /2\/2 running/);
    const [first] = await members();
    assert.equal(first.spec.instances, 2);
    assert.deepEqual(first.spec.success_exit_codes, [3, 4]);
    assert.equal(first.spec.log_timestamps, true);
    assert.ok(first.spec.readiness, 'the readiness check was sent');
    assert.equal(first.readiness, 'healthy');
  });

  step('05e-managed-set-scale', async () => {
    const { page } = state;
    await setRow().getByTestId('managed-scale').click();
    const dialog = page.getByTestId('scale-dialog');
    await dialog.waitFor();
    assert.equal(await page.getByTestId('scale-count').inputValue(), '2', 'the current count is offered');
    await page.getByTestId('scale-count').fill('300');
    await page.getByTestId('scale-confirm').click();
    assert.match(await page.getByTestId('scale-error').textContent(), /1 to 256/);
    assert.ok(await dialog.isVisible(), 'a bad count keeps the dialog open');
    await page.getByTestId('scale-count').fill('3');
    await page.getByTestId('scale-confirm').click();
    await page.getByTestId('toast').filter({ hasText: `${SET} scaled to 3` }).first().waitFor();
    assert.ok(await page.getByTestId('scale-backdrop').isHidden());
    await waitFor('three replicas running and ready', () => shownRunningAndReady(3));
    assert.match(await setRow().getByTestId('managed-set-size').textContent(), /× 3 replicas/);
    assert.deepEqual((await members()).map((p) => p.name), [0, 1, 2].map((i) => `${SET}:${i}`));
  });

  step('05f-managed-set-reload', async () => {
    const { page } = state;
    const before = (await members()).map((p) => p.pid);
    await setRow().getByTestId('managed-reload').click();
    await page.getByTestId('toast').filter({ hasText: `${SET} reloaded` }).first().waitFor();
    const after = (await members()).map((p) => p.pid);
    assert.equal(after.length, 3);
    for (let i = 0; i < 3; i += 1) assert.notEqual(after[i], before[i], `replica ${i} runs anew`);
    await waitFor('three replicas running and ready again', () => shownRunningAndReady(3));
  });

  step('05g-managed-flush', async () => {
    const { page } = state;
    await row(`${SET}:1`).getByTestId('managed-flush').click();
    const toast = page.getByTestId('toast').filter({ hasText: `${SET}:1: logs emptied` }).first();
    await toast.waitFor();
    const bytes = Number(/\((\d+) bytes\)/.exec(await toast.textContent())[1]);
    assert.ok(bytes > 0, `the replica's greeting was removed (${bytes} bytes)`);
    assert.equal((await row(`${SET}:1`).getByTestId('managed-state').textContent()).trim(), 'running');
  });

  step('05h-managed-set-delete', async () => {
    const { page } = state;
    await setRow().getByTestId('managed-delete').click();
    await page.getByTestId('dialog-confirm').click();
    await page.getByTestId('toast').filter({ hasText: `${SET} deleted` }).first().waitFor();
    await waitFor('the set gone from the table', async () =>
      (await page.locator(`[data-testid=managed-row][data-set="${SET}"]`).count()) === 0
      && (await setRow().count()) === 0);
    assert.deepEqual(await members(), []);
  });
}
