import { expect, type Page } from '@playwright/test';

/** Calls a server function from inside the page, as the page's own code would (its cookie, its origin). */
export async function callServer(page: Page, endpoint: string, fields: Record<string, string>): Promise<unknown> {
  const answer = await page.evaluate(
    async ({ endpoint, fields }) => {
      const response = await fetch(`/api/${endpoint}`, { method: 'POST', body: new URLSearchParams(fields) });
      return { status: response.status, text: await response.text() };
    },
    { endpoint, fields },
  );
  expect(answer.status, `${endpoint}: ${answer.text}`).toBe(200);
  return answer.text ? JSON.parse(answer.text) : null;
}

/** A room of the test's own (private unless said), so what other tests post never shows up in it. */
export async function ownRoom(page: Page, name: string, kind: 'private' | 'public' = 'private'): Promise<string> {
  await callServer(page, 'create_room', kind === 'private' ? { name, private: 'true' } : { name });
  return `/r/${name}`;
}

/**
 * Posts `bodies` in order to a room as the page's user, through the bot API (the page's cookie
 * authenticates it as it does `/ws`): far quicker than typing each one, so a test that needs a long
 * history spends its time on what it checks. A 429 (the per-user message rate) waits and sends the
 * same message again; its `client_msg_id` makes the resend safe.
 */
export async function postMessages(page: Page, roomId: number, bodies: string[]): Promise<void> {
  await page.evaluate(
    async ({ roomId, bodies, tag }) => {
      for (let n = 0; n < bodies.length; ) {
        const posted = await fetch('/api/bot/messages', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ room_id: roomId, client_msg_id: `${tag}-${n}`, body: bodies[n] }),
        });
        if (posted.status === 429) {
          await new Promise((resolve) => setTimeout(resolve, 250));
        } else if (posted.ok) {
          n += 1;
        } else {
          throw new Error(`posting failed: ${posted.status} ${await posted.text()}`);
        }
      }
    },
    { roomId, bodies, tag: `seed-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}` },
  );
}
