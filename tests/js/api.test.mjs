// The OpenAPI document at /api, checked by an independent validator of the OpenAPI 3.0 schema
// (@seriousme/openapi-schema-validator): what API clients and code generators read must be valid.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { belfortStore, serve } from './support.mjs';

let corpus, server;
before(async () => {
  corpus = belfortStore();
  server = await serve(corpus.store);
});
after(() => {
  server?.stop();
  corpus?.cleanup();
});

test('the OpenAPI document validates against the OpenAPI 3.0 schema', async () => {
  const res = await fetch(`${server.base}/api`);
  assert.equal(res.status, 200);
  const doc = await res.json();
  const validator = new Validator();
  const result = await validator.validate(doc);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1)?.slice(0, 3000));
  assert.equal(validator.version, '3.0');
  // Every operation id is unique, as generators require.
  const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
  assert.equal(new Set(ids).size, ids.length);
});
