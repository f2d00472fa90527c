// A procward daemon with a TCP listener in a private home, for one test file.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const bin = process.env.PROCWARD_BIN || resolve(here, '../../target/debug/procward');

export async function startDaemon() {
  const home = mkdtempSync(join(tmpdir(), 'procward-sio-'));
  const env = { ...process.env, PROCWARD_HOME: home, XDG_CONFIG_HOME: join(home, 'config') };
  const child = spawn(bin, ['daemon', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const info = join(home, 'tcp.json');
  for (let i = 0; i < 400 && !existsSync(info); i++) await new Promise((r) => setTimeout(r, 25));
  if (!existsSync(info)) throw new Error(`daemon did not open its TCP listener: ${stderr}`);
  const { address } = JSON.parse(readFileSync(info, 'utf8'));
  const token = readFileSync(join(home, 'token'), 'utf8').trim();
  return {
    url: `http://${address}`,
    token,
    home,
    async stop() {
      try { execFileSync(bin, ['daemon', 'stop'], { env, stdio: 'ignore', timeout: 15000 }); } catch {}
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(home, { recursive: true, force: true });
    },
  };
}
