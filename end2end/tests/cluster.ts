import { expect } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * A cluster of a test's own, started the way an operator would start one: a throw-away
 * PostgreSQL 15, three Natter nodes on it (the release build, sharing one data folder) and HAProxy
 * in front of them, configured from the HAProxy block of docs/deployment.md. `stop()` ends all of it
 * and removes its folder; if the test process dies first, a watchdog shell does the same.
 */

const PG_BIN = process.env.NATTER_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find(existsSync) ?? 'haproxy';
const NATTER = '../target/release/natter';
const LOG = '../target/e2e-own-servers.log';
const root = process.getuid?.() === 0;

/** A port nobody listens on right now (the OS picks it; we hand it on at once). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A PostgreSQL tool, as user `postgres` when we are root (initdb refuses to run as root). */
function pgTool(name: string, args: string[]) {
  const tool = join(PG_BIN, name);
  const [program, argv] = root ? ['runuser', ['-u', 'postgres', '--', tool, ...args]] : [tool, args];
  try {
    return execFileSync(program, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    throw new Error(`${name} ${args.join(' ')} failed: ${failed.stdout ?? ''}${failed.stderr ?? ''}`);
  }
}

/** One Natter process of the cluster. */
export class ClusterNode {
  process?: ChildProcess;
  readonly url: string;

  constructor(
    /** natter-1, natter-2, natter-3: HAProxy's server names. */
    readonly name: string,
    /** The value of HAProxy's persistence cookie (`natter_node`) that sends a browser here. */
    readonly cookie: string,
    readonly port: number,
    private readonly args: string[],
    private readonly onStart: (pid: number) => void,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  async start() {
    const child = spawn(NATTER, ['--addr', `127.0.0.1:${this.port}`, ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Plain text in the log file.
      env: { ...process.env, NO_COLOR: '1' },
    });
    this.process = child;
    if (child.pid) this.onStart(child.pid);
    // Every line (the log on stdout, a panic on stderr) into the suite's log of own servers, which
    // its teardown reads for panics, marked with the node's name.
    for (const output of [child.stdout!, child.stderr!]) {
      createInterface({ input: output }).on('line', (line) => appendFileSync(LOG, `[${this.name}] ${line}\n`));
    }
    await expect
      .poll(async () => (await fetch(`${this.url}/healthz`).catch(() => null))?.status, {
        timeout: 30_000,
        message: `${this.name} did not become healthy`,
      })
      .toBe(200);
  }

  get alive(): boolean {
    return !!this.process && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Ends the process with `signal` and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL') {
    const child = this.process;
    if (!child || !this.alive) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** Open websockets on this node, from its own `/metrics` (asked over loopback, as allowed). */
  async sockets(): Promise<number> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('natter_websocket_connections '));
    if (!line) throw new Error(`${this.name}: no natter_websocket_connections in /metrics`);
    return Number(line.split(' ')[1]);
  }
}

/**
 * docs/deployment.md's HAProxy configuration with this machine's addresses: the frontend binds a
 * loopback port without TLS (so no `X-Forwarded-Proto https` either: the nodes would mark the
 * session cookie Secure, which a browser keeps from plain http), and each server line points at a
 * node. Everything else (timeouts, health checks, balancing, the persistence cookie) is the
 * documented text, so a change there is tested here.
 */
export function haproxyConfig(port: number, nodes: ClusterNode[], statsSocket: string): string {
  const doc = readFileSync('../docs/deployment.md', 'utf8');
  const block = /HAProxy \(`\/etc\/haproxy\/haproxy.cfg`\):\s*```\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('docs/deployment.md has no HAProxy configuration block where cluster.ts looks for it');
  let binds = 0;
  let servers = 0;
  const lines = block.split('\n').flatMap((line) => {
    if (/^\s*bind\s/.test(line)) {
      binds += 1;
      return [`    bind 127.0.0.1:${port}`];
    }
    if (/X-Forwarded-Proto/.test(line)) return [];
    const server = /^(\s*server\s+)(\S+)\s+\S+(.*)$/.exec(line);
    if (server) {
      const node = nodes.find((n) => n.name === server[2]);
      if (!node) throw new Error(`docs/deployment.md names a server ${server[2]} the test does not start`);
      servers += 1;
      return [`${server[1]}${server[2]} 127.0.0.1:${node.port}${server[3]}`];
    }
    return [line];
  });
  if (binds !== 1 || servers !== nodes.length) {
    throw new Error(`docs/deployment.md's HAProxy block has ${binds} bind and ${servers} server lines; expected 1 and ${nodes.length}`);
  }
  // A stats socket so the test can see what the health checks concluded.
  return `global\n    stats socket ${statsSocket} mode 600 level admin\n\n${lines.join('\n')}\n`;
}

/** The limits of the shared e2e server (end2end/natter-e2e.toml): every client is 127.0.0.1 here too. */
const NODE_CONFIG = `[limits]
messages_per_second = 1000
message_burst = 3000
address_messages_per_second = 1000
address_message_burst = 3000
connections_per_address = 1000
`;

export class Cluster {
  readonly nodes: ClusterNode[] = [];
  /** Where browsers and load go: HAProxy's frontend. */
  url = '';
  private dir = '';
  private pgPort = 0;
  private pgStarted = false;
  private haproxy?: ChildProcess;
  private statsSocket = '';

  /** The nodes' database. */
  get db(): string {
    return `postgres://natter@127.0.0.1:${this.pgPort}/natter`;
  }

  async start() {
    if (!existsSync(join(PG_BIN, 'initdb'))) {
      throw new Error(
        `The cluster test needs PostgreSQL 15 at ${PG_BIN} (Debian: apt-get install postgresql-15), or NATTER_PG_BIN naming its bin/ folder`,
      );
    }
    if (!existsSync(HAPROXY) && HAPROXY !== 'haproxy') {
      throw new Error('The cluster test needs HAProxy: scripts/setup.sh --test installs it');
    }
    this.dir = mkdtempSync(join(tmpdir(), 'natter-e2e-cluster-'));
    // The postgres user must reach its own folder inside.
    chmodSync(this.dir, 0o711);
    writeFileSync(join(this.dir, 'pids'), '');
    this.watchdog();
    await this.startPostgres();
    const data = join(this.dir, 'data');
    mkdirSync(data);
    const config = join(this.dir, 'natter.toml');
    writeFileSync(config, NODE_CONFIG);
    const args = [
      '--db', this.db, '--data-dir', data, '--site-root', '../target/site', '--config', config,
      // HAProxy is on this machine: its X-Forwarded-For is believed, as docs/deployment.md says.
      '--trusted-proxy', '127.0.0.1',
    ];
    for (const n of [1, 2, 3]) {
      this.nodes.push(new ClusterNode(`natter-${n}`, `n${n}`, await freePort(), args, (pid) => this.remember(pid)));
    }
    // All at once, as an operator's three machines would boot.
    await Promise.all(this.nodes.map((node) => node.start()));
    await this.startHaproxy();
  }

  node(name: string): ClusterNode {
    const node = this.nodes.find((n) => n.name === name || n.cookie === name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  /** Rows of a query on the nodes' database, as tab-separated fields (psql, unaligned). */
  query(sql: string): string[][] {
    const out = execFileSync(
      join(PG_BIN, 'psql'),
      ['-h', '127.0.0.1', '-p', String(this.pgPort), '-U', 'natter', '-d', 'natter', '-AtX', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', sql],
      { encoding: 'utf8' },
    );
    return out.split('\n').filter((line) => line !== '').map((line) => line.split('\t'));
  }

  /** What HAProxy's health checks say of each node (`UP`, `DOWN`, …), from its stats socket. */
  async serverStates(): Promise<Record<string, string>> {
    const csv = await new Promise<string>((resolve, reject) => {
      const socket = createConnection(this.statsSocket);
      let text = '';
      socket.on('error', reject);
      socket.on('data', (chunk) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('connect', () => socket.end('show stat\n'));
    });
    const [header, ...rows] = csv.replace(/^# /, '').split('\n').filter(Boolean).map((l) => l.split(','));
    const at = (name: string) => header.indexOf(name);
    const states: Record<string, string> = {};
    for (const row of rows) {
      if (row[at('pxname')] === 'natter' && row[at('svname')].startsWith('natter-')) {
        states[row[at('svname')]] = row[at('status')].split(' ')[0];
      }
    }
    return states;
  }

  /** Ends everything it started (each step whatever the others did) and removes its folder. */
  async stop() {
    const errors: unknown[] = [];
    const attempt = async (step: () => unknown) => {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    };
    await attempt(async () => {
      const haproxy = this.haproxy;
      if (haproxy && haproxy.exitCode === null && haproxy.signalCode === null) {
        const exited = new Promise((resolve) => haproxy.once('exit', resolve));
        haproxy.kill('SIGTERM');
        await exited;
      }
    });
    for (const node of this.nodes) {
      await attempt(async () => {
        // A graceful stop first (nothing to drain: drain_secs is 0), so the log shows a clean end.
        const ended = node.kill('SIGTERM');
        const late = setTimeout(() => node.process?.kill('SIGKILL'), 10_000);
        await ended;
        clearTimeout(late);
      });
    }
    if (this.pgStarted) {
      await attempt(() => pgTool('pg_ctl', ['-D', join(this.dir, 'pg', 'data'), '-m', 'fast', '-w', 'stop']));
    }
    // The watchdog ends when the folder is gone.
    if (this.dir) await attempt(() => rmSync(this.dir, { recursive: true, force: true }));
    if (errors.length > 0) throw errors[0];
  }

  private async startPostgres() {
    const pg = join(this.dir, 'pg');
    mkdirSync(pg);
    if (root) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(pg, uid, gid);
    }
    // The C locale, like the Rust tests' throw-away server; no fsync: the data is thrown away.
    pgTool('initdb', ['-D', join(pg, 'data'), '-A', 'trust', '-U', 'natter', '-E', 'UTF8', '--locale=C', '--no-sync']);
    this.pgPort = await freePort();
    const options = `-p ${this.pgPort} -k ${pg} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`;
    pgTool('pg_ctl', ['-D', join(pg, 'data'), '-l', join(pg, 'log'), '-w', '-o', options, 'start']);
    this.pgStarted = true;
    pgTool('createdb', ['-h', '127.0.0.1', '-p', String(this.pgPort), '-U', 'natter', 'natter']);
  }

  private async startHaproxy() {
    const port = await freePort();
    this.statsSocket = join(this.dir, 'haproxy.sock');
    const config = join(this.dir, 'haproxy.cfg');
    writeFileSync(config, haproxyConfig(port, this.nodes, this.statsSocket));
    try {
      execFileSync(HAPROXY, ['-c', '-q', '-f', config], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      throw new Error(`HAProxy refuses the configuration generated from docs/deployment.md: ${(error as { stderr?: string }).stderr}`);
    }
    // -db: in the foreground, so it is our child and ends with us.
    const haproxy = spawn(HAPROXY, ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.haproxy = haproxy;
    if (haproxy.pid) this.remember(haproxy.pid);
    createInterface({ input: haproxy.stderr! }).on('line', (line) => appendFileSync(LOG, `[haproxy] ${line}\n`));
    this.url = `http://127.0.0.1:${port}`;
    await expect
      .poll(async () => (await fetch(`${this.url}/healthz`).catch(() => null))?.status, { timeout: 20_000 })
      .toBe(200);
    await expect.poll(() => this.serverStates(), { timeout: 20_000 }).toEqual({
      'natter-1': 'UP',
      'natter-2': 'UP',
      'natter-3': 'UP',
    });
  }

  private remember(pid: number) {
    appendFileSync(join(this.dir, 'pids'), `${pid}\n`);
  }

  /**
   * If this test process ends before `stop()` (killed, crashed), a shell left behind ends what it
   * started: each pid it recorded only if that process still names this folder in its command line
   * (a pid can be reused), then PostgreSQL, then the folder.
   */
  private watchdog() {
    const dir = this.dir;
    const pgCtl = `${root ? 'runuser -u postgres -- ' : ''}${PG_BIN}/pg_ctl`;
    const script = `
      while kill -0 ${process.pid} 2>/dev/null && [ -d '${dir}' ]; do sleep 0.5; done
      [ -d '${dir}' ] || exit 0
      for pid in $(cat '${dir}/pids'); do
        grep -qsF -- '${dir}' /proc/$pid/cmdline && kill -9 $pid
      done
      [ -d '${dir}/pg/data' ] && ${pgCtl} -D '${dir}/pg/data' -m immediate stop
      rm -rf '${dir}'`;
    const shell = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
    shell.unref();
  }
}

/** An acknowledged message: what the client was told is stored. */
export interface Ack {
  client_msg_id: string;
  id: number;
  body: string;
}

/**
 * A program posting through the balancer with the bot API (`POST /api/bot/messages`), as a script
 * or bot would. Sends no persistence cookie, so HAProxy spreads its requests over every node; a
 * request that fails (its node died under it) is sent again with the same `client_msg_id`, as the
 * protocol says, until it is acknowledged.
 */
export class Sender {
  readonly acks: Ack[] = [];
  /** Requests that failed and were sent again. */
  retries = 0;
  private cookie = '';
  private sequence = 0;

  constructor(
    private readonly url: string,
    readonly nickname: string,
  ) {}

  async signUp() {
    const joined = await fetch(`${this.url}/api/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ nickname: this.nickname }).toString(),
    });
    expect(joined.status, await joined.clone().text()).toBe(200);
    const session = joined.headers.getSetCookie().find((c) => c.startsWith('natter_session='));
    if (!session) throw new Error('joining set no natter_session cookie');
    this.cookie = session.split(';')[0];
  }

  /** Posts the next message and returns once it is acknowledged. */
  async postNext(): Promise<Ack> {
    this.sequence += 1;
    const client_msg_id = `${this.nickname}-${this.sequence}`;
    const body = `${this.nickname} says ${this.sequence}`;
    for (let attempt = 0; ; attempt += 1) {
      const answer = await fetch(`${this.url}/api/bot/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: this.cookie },
        body: JSON.stringify({ client_msg_id, body }),
      }).catch(() => null);
      if (answer?.ok) {
        const ack = (await answer.json()) as { client_msg_id: string; id: number };
        expect(ack.client_msg_id).toBe(client_msg_id);
        const acked = { client_msg_id, id: ack.id, body };
        this.acks.push(acked);
        return acked;
      }
      // 502/503 from the balancer, or the connection cut: the node died mid-request. Anything
      // else is a refusal, which this test never expects.
      if (answer && answer.status < 500) {
        throw new Error(`posting refused: ${answer.status} ${await answer.text()}`);
      }
      if (attempt > 100) throw new Error(`posting ${client_msg_id} kept failing`);
      this.retries += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Senders posting in a loop, each waiting `pauseMs` between messages, until `stop()`. */
export class Load {
  private running = true;
  private loops: Promise<void>[] = [];
  /** The first failure of any sender: it stops them all, and `untilAcked`/`stop` report it. */
  private failure?: unknown;

  constructor(
    readonly senders: Sender[],
    private readonly pauseMs: number,
  ) {}

  start() {
    this.loops = this.senders.map(async (sender) => {
      try {
        while (this.running) {
          await sender.postNext();
          await new Promise((resolve) => setTimeout(resolve, this.pauseMs));
        }
      } catch (error) {
        this.failure ??= error;
        this.running = false;
      }
    });
  }

  acked(): number {
    return this.senders.reduce((sum, sender) => sum + sender.acks.length, 0);
  }

  async untilAcked(count: number, timeout = 60_000) {
    await expect
      .poll(
        () => {
          if (this.failure) throw this.failure;
          return this.acked();
        },
        { timeout, message: `the load never reached ${count} acks` },
      )
      .toBeGreaterThanOrEqual(count);
  }

  /** Stops the senders once each has its last message acknowledged. */
  async stop() {
    this.running = false;
    await Promise.all(this.loops);
    if (this.failure) throw this.failure;
  }
}
