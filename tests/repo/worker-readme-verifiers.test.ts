import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The worker contract (examples/worker/README.md) shows how to verify nono's signature in
 * Python and Go: those snippets, exactly as written there, accept a call signed the way the
 * scheduler signs and refuse a tampered one. (The TypeScript one is the example worker's own
 * code, tested with it.)
 */
const README = readFileSync(new URL('../../examples/worker/README.md', import.meta.url), 'utf8');
const snippet = (language: string): string => {
  const found = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(README)?.[1];
  if (found === undefined) throw new Error(`examples/worker/README.md has no ${language} snippet`);
  return found;
};

const key = Buffer.alloc(32, 7);
const call = {
  secret: `whsec_${key.toString('base64')}`,
  id: '01a23520-fca0-8f79-ba52-8df3f7c33356_1',
  ts: String(Math.floor(Date.now() / 1000)),
  body: '{"taskId":"t","attempt":1}',
};
const signature = createHmac('sha256', key).update(`${call.id}.${call.ts}.${call.body}`).digest('base64');
const tampered = createHmac('sha256', key).update(`${call.id}.${call.ts}.{"taskId":"u"}`).digest('base64');
const dir = mkdtempSync(join(tmpdir(), 'nono-verifiers-'));

describe('the signature verifiers in the worker README', () => {
  it('Python accepts a signed call and refuses a tampered one', () => {
    const program = `${snippet('python')}
import json, sys
c = json.loads(sys.argv[1])
h = lambda s: {"webhook-id": c["id"], "webhook-timestamp": c["ts"], "webhook-signature": "v1," + s}
print(verified(c["secret"], h(c["good"]), c["body"].encode()), verified(c["secret"], h(c["bad"]), c["body"].encode()))
`;
    writeFileSync(join(dir, 'verify.py'), program);
    const out = execFileSync('python3', [
      join(dir, 'verify.py'),
      JSON.stringify({ ...call, good: signature, bad: tampered }),
    ]);
    expect(out.toString().trim()).toBe('True False');
  });

  it('Go accepts a signed call and refuses a tampered one', () => {
    const program = `package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

${snippet('go')}
func main() {
	h := http.Header{}
	h.Set("webhook-id", os.Args[2])
	h.Set("webhook-timestamp", os.Args[3])
	h.Set("webhook-signature", "v1,"+os.Args[5])
	good := verified(os.Args[1], h, []byte(os.Args[4]))
	h.Set("webhook-signature", "v1,"+os.Args[6])
	fmt.Println(good, verified(os.Args[1], h, []byte(os.Args[4])))
}
`;
    writeFileSync(join(dir, 'main.go'), program);
    const out = execFileSync(
      'go',
      ['run', join(dir, 'main.go'), call.secret, call.id, call.ts, call.body, signature, tampered],
      { env: { ...process.env, GO111MODULE: 'off' } },
    );
    expect(out.toString().trim()).toBe('true false');
  }, 120_000);
});
