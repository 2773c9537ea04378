import { test, expect, type Browser, type Page } from '@playwright/test';
import { ChatPage, unique } from './chat-page';
import { Cluster, Load, Sender } from './cluster';

// Three nodes on one PostgreSQL behind HAProxy, of each test's own (see cluster.ts): a test kills a
// node, so no other test (nor a repeat of the same one) may share them.
let cluster: Cluster;
// Starting the cluster (about 10 s) and stopping it count in each test's time.
test.describe.configure({ timeout: 180_000 });
test.beforeEach(async () => {
  cluster = new Cluster();
  await cluster.start();
});
test.afterEach(() => cluster.stop());

/** A browser page, what its sockets received, and its node: HAProxy's persistence cookie pins it. */
interface Person {
  chat: ChatPage;
  /** Ids of every message the page's sockets received (live and catch-up), in arrival order. */
  received: number[];
  /** Websockets the page opened. */
  sockets: () => number;
}

/**
 * A new browser that HAProxy sends to `node`: its persistence cookie (`natter_node`, as
 * docs/deployment.md configures it) set to that node's value, as the balancer itself would have
 * set it on an earlier visit. Joins through the join form.
 */
async function personOn(browser: Browser, node: string, nickname: string): Promise<Person> {
  const context = await browser.newContext({ baseURL: cluster.url });
  await context.addCookies([{ name: 'natter_node', value: node, url: cluster.url }]);
  const page = await context.newPage();
  const received: number[] = [];
  let sockets = 0;
  page.on('websocket', (socket) => {
    sockets += 1;
    socket.on('framereceived', ({ payload }) => {
      const frame = JSON.parse(String(payload));
      if (frame.type === 'message') received.push(frame.message.id);
      if (frame.type === 'history') received.push(...frame.messages.map((m: { id: number }) => m.id));
    });
  });
  const chat = new ChatPage(page);
  await page.goto('/');
  await chat.joinAs(nickname);
  return { chat, received, sockets: () => sockets };
}

/** The node HAProxy's cookie now names for this page. */
async function nodeCookie(page: Page): Promise<string | undefined> {
  return (await page.context().cookies(cluster.url)).find((c) => c.name === 'natter_node')?.value;
}

/** The stored messages a page shows, in its order: id and text. */
async function shown(page: Page): Promise<[number, string][]> {
  return page
    .getByRole('log', { name: 'Messages' })
    .locator('li[data-id]')
    .evaluateAll((lines) =>
      lines.map((li) => [Number((li as HTMLElement).dataset.id), li.querySelector('.body')?.textContent ?? ''] as [number, string]),
    );
}

function stored(): [number, string][] {
  return cluster.query('SELECT id, body FROM messages WHERE room_id = 1 ORDER BY id').map(([id, body]) => [Number(id), body]);
}

test('a page whose node is SIGKILLed under load moves through HAProxy to another node and shows every message once, in the database order', async ({
  browser,
}) => {
  const [n1, n2, n3] = cluster.nodes;

  // Two people on two nodes, and each socket where HAProxy's cookie says.
  const mover = await personOn(browser, n1.cookie, unique('mover'));
  await expect.poll(() => n1.sockets()).toBe(1);
  const stayer = await personOn(browser, n2.cookie, unique('stayer'));
  await expect.poll(() => n2.sockets()).toBe(1);
  expect(await n1.sockets()).toBe(1);
  expect(await n3.sockets()).toBe(0);
  expect(await nodeCookie(mover.chat.page)).toBe(n1.cookie);

  // Three programs post over HTTP through the balancer, which spreads their requests over all
  // three nodes; the two people talk meanwhile.
  const senders = [1, 2, 3].map((n) => new Sender(cluster.url, unique(`load${n}`)));
  for (const sender of senders) await sender.signUp();
  const load = new Load(senders, 100);
  load.start();
  let spoken: string[] = [];
  try {
    await load.untilAcked(60);
    for (const [who, text] of [
      [mover, unique('mover before the kill')],
      [stayer, unique('stayer before the kill')],
    ] as const) {
      await who.chat.say(text);
      spoken.push(text);
    }
    await load.untilAcked(load.acked() + 30);

    // The mover writes, and its node dies with the message perhaps unanswered, while the load
    // goes on: whatever the page did not get an ack for stays in its outbox and goes again.
    const inFlight = unique('mover at the kill');
    spoken.push(inFlight);
    await mover.chat.message.fill(inFlight);
    await mover.chat.send.click();
    await n1.kill('SIGKILL');
    const atKill = load.acked();
    // Its page opens a new socket (the status may say "Connected" again before a look catches
    // it saying otherwise).
    await expect.poll(() => mover.sockets(), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    await load.untilAcked(atKill + 60);
    // Back, through the balancer, on a node that lives: the cookie now names it, and the two
    // survivors hold both sockets.
    await mover.chat.connected();
    await expect(mover.chat.line(inFlight)).not.toHaveClass(/pending/);
    await load.untilAcked(load.acked() + 30);
  } finally {
    await load.stop();
  }
  await expect.poll(async () => (await n2.sockets()) + (await n3.sockets())).toBe(2);
  expect([n2.cookie, n3.cookie]).toContain(await nodeCookie(mover.chat.page));
  // HAProxy's health checks on /healthz saw it die.
  await expect.poll(async () => (await cluster.serverStates())['natter-1'], { timeout: 20_000 }).toBe('DOWN');

  // The composer works after the move, both ways.
  const afterMove = unique('mover after the move');
  await mover.chat.say(afterMove);
  await expect(mover.chat.line(afterMove)).not.toHaveClass(/pending/);
  await expect(stayer.chat.line(afterMove)).toHaveCount(1);
  const reply = unique('stayer after the move');
  await stayer.chat.say(reply);
  await expect(mover.chat.line(reply)).toHaveCount(1);
  spoken = [...spoken, afterMove, reply];

  // The database: every acknowledged message once, under the id its ack named; every message said
  // in the browsers once; nothing else.
  const rows = stored();
  const acks = senders.flatMap((sender) => sender.acks);
  const byBody = new Map(rows.map(([id, body]) => [body, id]));
  expect(byBody.size, 'no message is stored twice').toBe(rows.length);
  for (const ack of acks) expect(byBody.get(ack.body), ack.body).toBe(ack.id);
  for (const text of spoken) expect(byBody.has(text), text).toBe(true);
  expect(rows.length).toBe(acks.length + spoken.length);

  // Both pages show exactly the database's messages in its order: no gap, no duplicate; and their
  // sockets, the mover's old and new ones together, received each message once, in that order.
  for (const person of [mover, stayer]) {
    await expect.poll(() => shown(person.chat.page), { timeout: 20_000 }).toEqual(rows);
    await expect(person.chat.log.locator('li.pending')).toHaveCount(0);
    expect(person.received).toEqual(rows.map(([id]) => id));
  }
  console.log(
    `cluster: ${rows.length} messages, ${senders.reduce((sum, s) => sum + s.retries, 0)} posts resent after the kill, ` +
      `mover now on ${await nodeCookie(mover.chat.page)} after ${mover.sockets()} sockets`,
  );
  await mover.chat.close();
  await stayer.chat.close();
});
