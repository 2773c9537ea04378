import { readFileSync, existsSync } from 'node:fs';

/** Server logs the suite wrote (the shared server's and every OwnServer's). */
export const SERVER_LOGS = ['../target/e2e-server.log', '../target/e2e-own-servers.log'];

/** Fails the run if any server under test panicked: a panic is a bug even when a test passed. */
export default function noPanics() {
  for (const path of SERVER_LOGS) {
    if (!existsSync(path)) continue;
    const log = readFileSync(path, 'utf8');
    const panics = log.split('\n').filter((line) => line.includes('panicked at'));
    if (panics.length > 0) {
      throw new Error(`${panics.length} panic(s) in ${path}:\n${panics.slice(0, 5).join('\n')}`);
    }
  }
}
