// Black-box test helpers: start the real build/gatehouse with an inline config, a scripted upstream that
// records the exact bytes of every request it receives, and a raw TCP client.
import { after } from 'node:test';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.GH_BIN || path.join(root, 'build/gatehouse'); // GH_BIN: another build (ASan)

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const sanitizerReports = [];
after(() => {
  if (sanitizerReports.length) throw new Error(`${BIN} reported at exit:\n${sanitizerReports.join('\n---\n')}`);
});

// Starts gatehouse. `yaml` is the config without `listen:` (added here with port 0, so the binary
// picks free ports and logs them). Resolves once both listeners are up.
// Options: portalPort (fixed, when the config must name the portal's own URL), before(file) (runs
// once the config is written, before the process starts: to store secrets, say).
export async function startGatehouse(yaml, { workers = 1, extraArgs = [], portalPort = 0, before = null, env = null } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-test-'));
  const file = path.join(dir, 'gatehouse.yaml');
  const head = `listen: { gateway: "127.0.0.1:0", portal: "127.0.0.1:${portalPort}" }\nworkers: ${workers}\n` +
    (yaml.includes('store:') ? '' : `store: { path: "${path.join(dir, 'gatehouse.db')}" }\n`);
  const full = head + yaml;
  writeFileSync(file, full);
  if (before) before(file);
  const proc = spawn(BIN, ['serve', '-c', file, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'],
    env: env ? { ...process.env, ...env } : process.env });
  const gh = {
    proc, dir, file, stdout: '', stderr: '', port: 0, portalPort: 0,
    exited: new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal }))),
    accessLog() {
      return gh.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    },
    async waitLog(re, ms = 5000) {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (re.test(gh.stderr)) return;
        await sleep(20);
      }
      throw new Error(`log never matched ${re}:\n${gh.stderr}`);
    },
    reload(newYaml) {
      writeFileSync(file, head + newYaml);
      proc.kill('SIGHUP');
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const r = await gh.exited;
      // a sanitizer build (GH_BIN) reports leaks and errors at exit: collected, and the file fails
      // once its tests are done (throwing here would skip the test's own clean-up)
      const report = /^(==\d+==ERROR: \w+Sanitizer|SUMMARY: \w+Sanitizer|.*runtime error:)/m.exec(gh.stderr);
      if (report) sanitizerReports.push(gh.stderr.slice(report.index, report.index + 4000));
      return r;
    },
  };
  proc.stdout.on('data', (d) => { gh.stdout += d; });
  proc.stderr.on('data', (d) => { gh.stderr += d; });
  const end = Date.now() + 5000;
  while (Date.now() < end && (!gh.port || !gh.portalPort)) {
    let m = /gateway listening on [^\s]*:(\d+)/.exec(gh.stderr);
    if (m) gh.port = Number(m[1]);
    m = /portal listening on [^\s]*:(\d+)/.exec(gh.stderr);
    if (m) gh.portalPort = Number(m[1]);
    if (proc.exitCode !== null) break;
    await sleep(10);
  }
  if (!gh.port || !gh.portalPort) {
    proc.kill('SIGKILL');
    throw new Error(`gatehouse did not start:\n${gh.stderr}`);
  }
  return gh;
}

// Splits complete HTTP/1.1 requests off the front of buf; returns [requests, rest]. Each request is
// { raw, head, method, target, headers (lower-case names), body (decoded) }.
function takeRequests(buf) {
  const out = [];
  for (;;) {
    const he = buf.indexOf('\r\n\r\n');
    if (he < 0) break;
    const head = buf.subarray(0, he).toString('latin1');
    const lines = head.split('\r\n');
    const [method, target] = lines[0].split(' ');
    const headers = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    let end = he + 4;
    let body = Buffer.alloc(0);
    if (headers['transfer-encoding'] === 'chunked') {
      const parts = [];
      let p = end;
      let done = false;
      for (;;) {
        const le = buf.indexOf('\r\n', p);
        if (le < 0) break;
        const size = parseInt(buf.subarray(p, le).toString('latin1'), 16);
        if (size === 0) {
          const te = buf.indexOf('\r\n', le + 2);
          if (te < 0) break;
          p = te + 2;
          done = true;
          break;
        }
        if (buf.length < le + 2 + size + 2) break;
        parts.push(buf.subarray(le + 2, le + 2 + size));
        p = le + 2 + size + 2;
      }
      if (!done) break;
      end = p;
      body = Buffer.concat(parts);
    } else if (headers['content-length']) {
      const n = Number(headers['content-length']);
      if (buf.length < end + n) break;
      body = buf.subarray(end, end + n);
      end += n;
    }
    out.push({ raw: buf.subarray(0, end).toString('latin1'), head, method, target, headers, body });
    buf = buf.subarray(end);
  }
  return [out, buf];
}

// A scripted upstream. `respond(req, conn)` returns what to send back: a string/Buffer (raw bytes),
// an object { status, headers, body } (serialised with Content-Length), or a Promise of either;
// return null to send nothing. Every request is recorded with its exact bytes in `requests`; every
// connection in `connections`. Options: { countOnly: true } records sizes, not bytes (for huge bodies).
export async function startUpstream(respond = () => ({ status: 200, body: 'ok' }), { countOnly = false } = {}) {
  const up = { requests: [], connections: 0, received: 0, sockets: new Set() };
  up.server = net.createServer((sock) => {
    up.connections++;
    up.sockets.add(sock);
    sock.on('close', () => up.sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let queue = Promise.resolve();
    if (countOnly) {
      let headDone = false;
      let need = 0;
      let got = 0;
      sock.on('data', (d) => {
        up.received += d.length;
        if (!headDone) {
          buf = Buffer.concat([buf, d]);
          const he = buf.indexOf('\r\n\r\n');
          if (he < 0) return;
          headDone = true;
          const head = buf.subarray(0, he).toString('latin1');
          need = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
          got = buf.length - he - 4;
          up.requests.push({ head, bodyLength: need });
        } else {
          got += d.length;
        }
        if (got >= need) {
          const r = respond(up.requests.at(-1), sock);
          sock.write(serialise(r));
        }
      });
      return;
    }
    sock.on('data', (d) => {
      up.received += d.length;
      buf = Buffer.concat([buf, d]);
      const [reqs, rest] = takeRequests(buf);
      buf = rest;
      for (const req of reqs) {
        req.at = Date.now(); // arrival time, for rate checks
        up.requests.push(req);
        queue = queue.then(async () => {
          const r = await respond(req, sock);
          if (r !== null && r !== undefined && !sock.destroyed) sock.write(serialise(r));
        });
      }
    });
  });
  await new Promise((r) => up.server.listen(0, '127.0.0.1', r));
  up.port = up.server.address().port;
  up.url = `http://127.0.0.1:${up.port}`;
  up.close = () => new Promise((r) => {
    for (const s of up.sockets) s.destroy();
    up.server.close(() => r());
  });
  return up;
}

function serialise(r) {
  if (typeof r === 'string' || Buffer.isBuffer(r)) return r;
  const body = Buffer.from(r.body ?? '');
  let s = `HTTP/1.1 ${r.status ?? 200} ${r.reason ?? 'OK'}\r\n`;
  const h = { 'Content-Length': String(body.length), ...(r.headers ?? {}) };
  for (const [k, v] of Object.entries(h)) if (v !== null) s += `${k}: ${v}\r\n`;
  return Buffer.concat([Buffer.from(s + '\r\n', 'latin1'), body]);
}

// Sends raw bytes and collects everything until the server closes or `idleMs` passes without data.
// Resolves { data (latin1 string), closed (server closed), ms (until then), firstMs (first byte) }.
export function rawExchange(port, bytes, { idleMs = 400, totalMs = 10000, writes = null } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    let closed = false;
    let timer;
    let firstMs = null;
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(total);
      sock.destroy();
      resolve({ data: Buffer.concat(chunks).toString('latin1'), closed, ms: Date.now() - t0, firstMs });
    };
    const arm = () => { clearTimeout(timer); timer = setTimeout(finish, idleMs); };
    const total = setTimeout(finish, totalMs);
    sock.on('connect', async () => {
      if (writes) {
        for (const w of writes) {
          if (typeof w === 'number') await sleep(w);
          else if (!sock.destroyed) sock.write(w);
        }
      } else {
        sock.write(bytes);
      }
      arm();
    });
    sock.on('data', (d) => { if (firstMs === null) firstMs = Date.now() - t0; chunks.push(d); arm(); });
    sock.on('end', () => { closed = true; finish(); });
    sock.on('error', () => { closed = true; finish(); });
  });
}

// Splits a byte stream of HTTP responses into [{status, headers, body, raw}] (Content-Length, chunked,
// or to the end). `headMethods` marks which responses answer HEAD (no body).
export function parseResponses(data, headMethods = []) {
  const out = [];
  let buf = Buffer.from(data, 'latin1');
  let i = 0;
  while (buf.length) {
    const he = buf.indexOf('\r\n\r\n');
    if (he < 0) break;
    const head = buf.subarray(0, he).toString('latin1');
    const lines = head.split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (const l of lines.slice(1)) {
      const k = l.slice(0, l.indexOf(':')).toLowerCase();
      headers[k] = l.slice(l.indexOf(':') + 1).trim();
    }
    let end = he + 4;
    let body = Buffer.alloc(0);
    if (status === 100) {
      out.push({ status, headers, body, head });
      buf = buf.subarray(end);
      continue;
    }
    if (headMethods[i] || status === 204 || status === 304) {
      // no body
    } else if (headers['transfer-encoding'] === 'chunked') {
      const parts = [];
      let p = end;
      for (;;) {
        const le = buf.indexOf('\r\n', p);
        if (le < 0) { p = buf.length; break; }
        const size = parseInt(buf.subarray(p, le).toString('latin1'), 16);
        if (size === 0) { p = le + 4; break; }
        parts.push(buf.subarray(le + 2, le + 2 + size));
        p = le + 2 + size + 2;
      }
      body = Buffer.concat(parts);
      end = p;
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      body = buf.subarray(end, end + n);
      end += n;
    } else {
      body = buf.subarray(end);
      end = buf.length;
    }
    out.push({ status, headers, body: body.toString('latin1'), head });
    buf = buf.subarray(end);
    i++;
  }
  return out;
}

// Writes `total` bytes of `fill` to a socket in 1 MiB chunks, respecting back-pressure.
export function streamBytes(sock, total, fill) {
  const chunk = Buffer.alloc(1 << 20, fill);
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      if (!sock.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return sock.once('drain', pump);
    }
  };
  pump();
}

export function rss(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

// A free loopback port (listened on, then released).
export async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

export function apiYaml(name, pathPrefix, targets, extra = '') {
  return `  - name: ${name}
    route: { path: ${pathPrefix} }
    upstream: { targets: [${targets.map((t) => `"${t}"`).join(', ')}], connect_timeout: 1s, timeout: 2s }
${extra}`;
}

// A config for the access workflow's tests: the catalog from one file (teams, people, APIs), dev
// sign-in, plans starter and gold, and one gateway API `orders` owned by engineering; `extra` is
// appended to the API (indented four spaces), `rest` after it (access_rules...).
export function accessYaml({ catalogFile, upstream = 'http://127.0.0.1:1', extra = '', rest = '' }) {
  return `log: { access: off }
catalog:
  locations: [{ type: file, target: "${catalogFile}" }]
identity: { dev_login: true }
plans:
  - name: starter
  - name: gold
apis:
  - name: orders
    route: { path: /orders }
    upstream: { targets: ["${upstream}"] }
    lifecycle: production
    owner: engineering
    plans: [starter, gold]
${extra}${rest}`;
}

// Signs `user` in through the development sign-in (identity.dev_login): the session cookie and its
// CSRF token.
export async function devLogin(portal, user) {
  const r = await fetch(`${portal}/auth/dev-login`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }) });
  if (r.status !== 200) throw new Error(`dev-login ${user}: ${r.status} ${await r.text()}`);
  const cookie = r.headers.getSetCookie()[0].split(';')[0];
  const me = await (await fetch(`${portal}/api/me`, { headers: { cookie } })).json();
  return { cookie, csrf: me.csrfToken };
}
