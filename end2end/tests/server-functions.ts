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
