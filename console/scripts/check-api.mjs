// Regenerates the API types from docs/openapi.json and fails when they differ
// from the committed src/api/schema.d.ts: a contract change must show up as a
// diff here (npm run gen:api), and the type-check then finds what it breaks.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'wadesk-api-'));
const fresh = join(dir, 'schema.d.ts');
try {
  execFileSync('npx', ['openapi-typescript', '../docs/openapi.json', '-o', fresh], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (readFileSync(fresh, 'utf8') !== readFileSync('src/api/schema.d.ts', 'utf8')) {
    console.error(
      '[check-api] src/api/schema.d.ts is out of date with docs/openapi.json.\n' +
        '  Run `npm run gen:api` in console/, then `npm run typecheck` to see what the contract change breaks.',
    );
    process.exit(1);
  }
  console.log('[check-api] API types match docs/openapi.json');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
