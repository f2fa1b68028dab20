// For the JWT benchmark: an RSA signing key published as a JWKS file and one token signed with it.
//   node bench/jwt_setup.mjs JWKS_FILE TOKEN_FILE ISSUER CLIENT
import crypto from 'node:crypto';
import { writeFileSync } from 'node:fs';

const [jwksFile, tokenFile, iss, client] = process.argv.slice(2);
const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'b1', use: 'sig', alg: 'RS256' }] }));
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = Math.floor(Date.now() / 1000);
const input = `${b64({ alg: 'RS256', kid: 'b1', typ: 'JWT' })}.${b64({ iss, aud: 'gatehouse', azp: client, sub: client, iat: now, exp: now + 86400 })}`;
writeFileSync(tokenFile, `${input}.${crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`);
