// Steps of dashboard.test.mjs for the fleet view: the queue view's Hosts panel lists the
// daemons sharing the queue (queue:hosts); with the embedded queue that is this daemon
// alone, under the name `procward hosts --json` gives it, alive, its load with two
// decimals. No job has a host then, so the jobs table has no Host column; a job that
// has one gets a Host cell. The panel fits a 400 px wide window.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export function hostSteps({ step, state, waitFor, procward, procwardEnv, assertInside, shot }) {
  step('11b-queue-hosts', async () => {
    const { page } = state;
    const listed = spawnSync(procward, ['hosts', '--json'], { env: procwardEnv(), timeout: 10_000, encoding: 'utf8' });
    assert.equal(listed.status, 0, `procward hosts --json: ${listed.stderr}`);
    const hosts = JSON.parse(listed.stdout);
    assert.equal(hosts.length, 1, 'the embedded queue has this daemon alone');
    const [me] = hosts;
    assert.equal(me.pid, state.daemon.pid, 'the host is this daemon');

    await page.getByTestId('nav-queue').click();
    const rows = page.locator('[data-testid=queue-host-row]');
    const row = page.locator(`[data-testid=queue-host-row][data-host="${me.host}"]`);
    await row.waitFor();
    assert.equal(await rows.count(), 1, 'one host shown');
    assert.equal((await row.locator('td').first().textContent()).trim(), me.host);
    assert.equal((await row.getByTestId('queue-host-state').textContent()).trim(), 'alive');
    assert.equal(await row.getAttribute('data-alive'), 'true');
    assert.match((await row.getByTestId('queue-host-load').textContent()).trim(), /^\d+\.\d\d$/, 'load with 2 decimals');
    assert.equal((await row.getByTestId('queue-host-jobs').textContent()).trim(), '0');
    assert.match((await row.getByTestId('queue-host-seen').textContent()).trim(), /^\d+[smhd].* ago$/);
    assert.match(await row.textContent(), new RegExp(me.version.replace(/\./g, '\\.')), 'the version');
    // The queue view lists the hosts each time it lists the jobs.
    const asked = () => state.sent.filter((frame) => frame.includes('"queue:hosts"')).length;
    const before = asked();
    await waitFor('the hosts listed again', async () => asked() > before, 12_000);

    // Embedded: no job has a host, so no Host column; a job that has one gets a Host cell.
    assert.ok(await page.getByTestId('queue-host-col').isHidden(), 'no Host column without hosts on jobs');
    const cells = await page.evaluate(async () => {
      const { jobRow } = await import('/js/views/queue-rows.js');
      const job = { id: 7, state: 'completed', host: 'box-a', spec: { command: ['true'], attempts: 1 }, attempts: [] };
      const row = jobRow(job, { busy: false, selected: false, skew: 0, showHost: true });
      const without = jobRow(job, { busy: false, selected: false, skew: 0 });
      return [row.querySelector('[data-testid=queue-host]')?.textContent, without.children.length, row.children.length];
    });
    assert.deepEqual(cells, ['box-a', 8, 9]);

    // Narrow: the panel fits, the state still shown.
    await page.setViewportSize({ width: 400, height: 800 });
    try {
      await waitFor('the narrow layout', async () =>
        (await page.evaluate(() => document.documentElement.scrollWidth)) <= 400, 3000);
      await assertInside(page, '[data-testid=queue-host-state]', '#view-queue .queue-hosts', 'the host state');
      await assertInside(page, '#view-queue .queue-hosts', '#view-queue', 'the Hosts panel');
      await shot('11b-queue-hosts-narrow');
    } finally {
      await page.setViewportSize({ width: 1280, height: 860 });
    }
  });
}
