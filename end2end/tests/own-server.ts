import { expect } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Natter server of a test's own (the release build), for tests that stop it or need a clean database. */
export class OwnServer {
  private process?: ChildProcess;
  readonly url: string;

  /** `config` is Leptos.toml text for settings that have no flag (limits). */
  constructor(
    readonly port: number,
    readonly db = join(mkdtempSync(join(tmpdir(), 'natter-e2e-')), 'natter.db'),
    private readonly config?: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  async start() {
    // Another server on this port would answer our health checks and be used by mistake.
    if ((await fetch(`${this.url}/healthz`).catch(() => null)) !== null) {
      throw new Error(`port ${this.port} is already serving; each OwnServer needs a port of its own`);
    }
    const args = ['--addr', `127.0.0.1:${this.port}`, '--db', this.db, '--site-root', '../target/site'];
    if (this.config) {
      const path = join(mkdtempSync(join(tmpdir(), 'natter-e2e-config-')), 'Leptos.toml');
      writeFileSync(path, this.config);
      args.push('--config', path);
    }
    // Its log (stdout) and any panic (stderr) join the others that the suite's teardown reads.
    const log = openSync('../target/e2e-own-servers.log', 'a');
    this.process = spawn('../target/release/natter', args, {
      stdio: ['ignore', log, log],
      env: { ...process.env, NO_COLOR: '1' },
    });
    await expect
      .poll(async () => (await fetch(`${this.url}/healthz`).catch(() => null))?.status, { timeout: 20_000 })
      .toBe(200);
  }

  /** `natter admin NICKNAME` against this server's database, as an operator would run it. */
  makeAdmin(nickname: string) {
    execFileSync('../target/release/natter', ['--db', this.db, 'admin', nickname], { stdio: 'ignore' });
  }

  /** Graceful stop (SIGTERM), waiting for the process to exit. */
  async stop() {
    const process = this.process;
    if (!process || process.exitCode !== null) return;
    const exited = new Promise((resolve) => process.once('exit', resolve));
    process.kill('SIGTERM');
    await exited;
  }
}
