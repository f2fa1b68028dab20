// A real OpenID provider for black-box tests: oidc-provider (npm) on loopback, with one confidential
// client, accounts whose claims the test sets, and an interaction step that signs in whoever the
// test names next (no HTML forms to drive). Keys can be rotated; the provider can be told to send the
// RFC 9207 `iss` parameter or not.
import http from 'node:http';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import Provider from 'oidc-provider';

function signingKey(kid) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
}

// claimsInIdToken false: profile, e-mail and groups only from the userinfo endpoint (the OpenID
// Connect default when an access token is issued).
export async function startIdp({ clientId = 'gatehouse-portal', clientSecret = 'portal-secret', redirectUri, accounts,
  claimsInIdToken = true }) {
  const server = http.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  const idp = { url, clientId, clientSecret, next: null, keys: [signingKey('k1')], provider: null, requests: [] };
  const make = () => {
    const p = new Provider(url, {
      clients: [{
        client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri],
        post_logout_redirect_uris: [new URL('/', redirectUri).href],
        grant_types: ['authorization_code'], response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      }],
      jwks: { keys: idp.keys },
      findAccount: (ctx, id) => (accounts[id]
        ? { accountId: id, claims: () => ({ sub: id, ...accounts[id] }) } : undefined),
      claims: {
        openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'],
        groups: ['groups', 'roles'],
      },
      conformIdTokenClaims: !claimsInIdToken, // false: the scopes' claims go into the ID token, as Entra and Keycloak do
      pkce: { required: () => true, methods: ['S256'] },
      features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
      interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
      cookies: { keys: ['test-cookie-key'] },
      renderError: (ctx, out) => { ctx.type = 'json'; ctx.body = out; },
    });
    p.on('server_error', (ctx, err) => { console.error('idp server_error', err); });
    return p;
  };
  idp.provider = make();
  server.on('request', async (req, res) => {
    idp.requests.push(req.url);
    if (req.url.startsWith('/auth?')) idp.lastAuth = new URL(req.url, url).searchParams;
    // forging: the token endpoint answers with an ID token the test builds (signed with the
    // provider's own current key unless the test signs it otherwise)
    if (idp.forge && req.method === 'POST' && req.url === '/token') {
      let body = '';
      for await (const c of req) body += c;
      const claims = { iss: url, aud: clientId, sub: idp.next, iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 300, nonce: idp.lastAuth.get('nonce'), ...(accounts[idp.next] || {}) };
      const token = idp.forge({ claims, sign: (c, h = {}) => idp.sign(c, h), form: new URLSearchParams(body) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id_token: token, access_token: 'at', token_type: 'Bearer', expires_in: 300 }));
      return;
    }
    try {
      if (req.url.startsWith('/interaction/')) {
        const details = await idp.provider.interactionDetails(req, res);
        const accountId = idp.next;
        const grant = new idp.provider.Grant({ accountId, clientId: details.params.client_id });
        grant.addOIDCScope(details.params.scope);
        const grantId = await grant.save();
        await idp.provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } },
          { mergeWithLastSubmission: false });
        return;
      }
      idp.provider.callback()(req, res);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(e && e.stack));
    }
  });
  idp.sign = (claims, header = {}) => {
    const key = idp.keys[0];
    const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${b64({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...header })}.${b64(claims)}`;
    const sig = crypto.sign('sha256', Buffer.from(input), crypto.createPrivateKey({ key, format: 'jwk' }));
    return `${input}.${sig.toString('base64url')}`;
  };
  // a new signing key (kid k2, k3, ...) replaces the old: tokens signed from now on use it
  idp.rotate = () => {
    idp.keys = [signingKey(`k${idp.keys.length + 1}`), ...idp.keys.slice(0, 0)];
    idp.provider = make();
  };
  idp.close = () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); });
  return idp;
}

// A browser stand-in: a cookie jar per host:port and manual redirects, so each hop can be examined.
export function browser() {
  const jars = new Map();
  const b = {
    jar(host) { if (!jars.has(host)) jars.set(host, new Map()); return jars.get(host); },
    cookie(url, name) { return b.jar(new URL(url).host).get(name); },
    setCookie(url, name, value) { b.jar(new URL(url).host).set(name, value); },
    async request(url, { method = 'GET', headers = {}, body } = {}) {
      const u = new URL(url);
      const jar = b.jar(u.host);
      const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const res = await fetch(url, { method, redirect: 'manual', body,
        headers: { ...(cookie ? { cookie } : {}), ...headers } });
      for (const sc of res.headers.getSetCookie()) {
        const [pair, ...attrs] = sc.split(';');
        const i = pair.indexOf('=');
        const name = pair.slice(0, i).trim();
        const value = pair.slice(i + 1).trim();
        const maxAge = attrs.map((a) => a.trim()).find((a) => /^max-age=/i.test(a));
        const expired = /expires=Thu, 01 Jan 1970/i.test(sc) || (maxAge && Number(maxAge.split('=')[1]) <= 0);
        if (expired) jar.delete(name); else jar.set(name, value);
      }
      return res;
    },
    // follows redirects until a response that is not one, or until stop(url) says so; returns the
    // last response and the hops taken
    async go(url, { stop = () => false } = {}) {
      const hops = [];
      let res = await b.request(url);
      hops.push({ url, status: res.status, location: res.headers.get('location') });
      while (res.status >= 300 && res.status < 400 && hops.length < 20) {
        const next = new URL(res.headers.get('location'), url).href;
        if (stop(next)) return { res, hops, next };
        url = next;
        res = await b.request(url);
        hops.push({ url, status: res.status, location: res.headers.get('location') });
      }
      return { res, hops, next: null };
    },
  };
  return b;
}

// The portal's side of a test IdP: the `identity.oidc` block for a config (more identity keys in
// `more`, indented two spaces), and the before-start hook that stores the client secret.
export function oidcIdentity(idp, portal, more = '') {
  return `identity:
  oidc:
    issuer: "${idp.url}"
    client_id: ${idp.clientId}
    client_secret: secret:oidc-client
    redirect_uri: "${portal}/auth/callback"
    scopes: [openid, profile, email, groups]
${more}`;
}

export function storeClientSecret(bin, idp) {
  return (file) => {
    for (const args of [['secrets', 'init', '-c', file], ['secrets', 'set', '-c', file, 'oidc-client']]) {
      const r = spawnSync(bin, args, { input: idp.clientSecret, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    }
  };
}
