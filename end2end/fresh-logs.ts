import { writeFileSync } from 'node:fs';

/** Starts the run with an empty log for the tests' own servers (the shared one empties its own). */
export default function freshLogs() {
  writeFileSync('../target/e2e-own-servers.log', '');
}
