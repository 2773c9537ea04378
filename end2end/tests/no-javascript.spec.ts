import { test, expect, request } from '@playwright/test';
import WebSocket from 'ws';

// Runs with JavaScript disabled: what the server renders must stand on its own.
test('the server-rendered page shows the history as text', async ({ page, baseURL }) => {
  const body = `server-rendered ${Date.now()} <em>not html</em>`;
  await postOverWebsocket(baseURL!, `ssr-checker-${Date.now()}`, body);
  await page.goto('/');
  const log = page.getByRole('log', { name: 'Messages' });
  await expect(log.getByText(body, { exact: true })).toBeVisible();
  // Its markup is text; other tests' formatted messages (real <em>) may share the log.
  await expect(log.getByRole('listitem').filter({ hasText: body }).locator('em')).toHaveCount(0);
  await expect(page.getByLabel('Nickname')).toBeVisible();
  const api = await request.newContext({ baseURL });
  const history = await (await api.get('/api/history')).json();
  expect(history.map((m: { body: string }) => m.body)).toContain(body);
});

/** Joins and posts a message as any program could: one HTTP call, then plain JSON over the websocket. */
async function postOverWebsocket(baseURL: string, nickname: string, body: string): Promise<void> {
  const joined = await fetch(`${baseURL}/api/join`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ nickname }).toString(),
  });
  expect(joined.status).toBe(200);
  const cookie = joined.headers.getSetCookie()[0].split(';')[0];
  const socket = new WebSocket(baseURL.replace(/^http/, 'ws') + '/ws', { headers: { cookie } });
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'hello' })));
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'welcome') {
        socket.send(JSON.stringify({ type: 'send', client_msg_id: `ssr-${Date.now()}`, body }));
      } else if (frame.type === 'ack') {
        socket.close();
        resolve();
      } else if (frame.type === 'error') {
        reject(new Error(frame.message));
      }
    });
  });
}

test('joining works as a plain form, before or without the WASM', async ({ page }) => {
  const name = `plain-form-${Date.now()}`;
  await page.goto('/');
  await page.getByLabel('Nickname').fill(name);
  await page.getByRole('button', { name: 'Join' }).click();
  // The server set the session cookie and sent us back: the page now renders signed in.
  await expect(page.getByRole('button', { name: 'Join' })).toHaveCount(0);
  // The user menu is a <details>: it opens without JavaScript.
  await page.locator('details.user-menu > summary').click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
});

test('creating a room works as a plain form and opens the room', async ({ page }) => {
  const suffix = Date.now().toString(36);
  await page.goto('/');
  await page.getByLabel('Nickname').fill(`roomie-${suffix}`);
  await page.getByRole('button', { name: 'Join' }).click();
  // The + is a link to the dialog, which the stylesheet opens by its fragment.
  await page.getByRole('button', { name: 'Create a room' }).click();
  await page.getByLabel('New room').fill(`plain-${suffix}`);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/r/plain-${suffix}$`));
  await expect(page.getByRole('heading', { name: `#plain-${suffix}` })).toBeVisible();
  await expect(page.getByRole('link', { name: `#plain-${suffix}` })).toBeVisible();
});
