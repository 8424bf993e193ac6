// The soar CLI from source, for tests that run `soar serve` as a real process (vite-node).
import { main } from '../../../src/cli/main.js';

// vite-node's dev server exits at once on SIGTERM; soar's own graceful shutdown is what is under test.
process.removeAllListeners('SIGTERM');
process.removeAllListeners('SIGINT');
process.exitCode = await main(process.argv.slice(2));
