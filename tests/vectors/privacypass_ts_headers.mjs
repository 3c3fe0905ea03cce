// Interop probe for @cloudflare/privacypass-ts: documentation of how
// tests/vectors/privacypass_ts_headers.json was made. Not run by the test suite (tests never need
// node); tests/vectors/make_privacypass_ts_vectors.py copies this file into a scratch directory
// holding node_modules and runs it there.
//
//   node privacypass_ts_headers.mjs emit           -> JSON on stdout: the library's own headers
//   node privacypass_ts_headers.mjs check FILE     -> JSON on stdout: the library parsing the
//                                                     headers listed in FILE (privcloud's output)
//
// Token type 0x0002 (Blind RSA 2048, RSABSSA-SHA384-PSS-Deterministic: BlindRSAMode.PSS).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
    AuthorizationHeader,
    TOKEN_TYPES,
    WWWAuthenticateHeader,
    publicVerif,
} from '@cloudflare/privacypass-ts';

const { BlindRSAMode, Client, Issuer, Origin, getPublicKeyBytes } = publicVerif;
const MODE = BlindRSAMode.PSS;
const ISSUER_NAME = 'issuer.example';
const ORIGIN_INFO = ['origin.example'];

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const unhex = (text) => new Uint8Array(Buffer.from(text, 'hex'));

function versions() {
    const require = createRequire(import.meta.url);
    const out = { node: process.version };
    for (const name of ['@cloudflare/privacypass-ts', '@cloudflare/blindrsa-ts', 'rfc4648']) {
        // package.json of a dependency, resolved from this scratch directory's node_modules.
        out[name] = JSON.parse(
            readFileSync(require.resolve(`${name}/package.json`), 'utf8'),
        ).version;
    }
    return out;
}

async function emit() {
    const keys = await Issuer.generateKey(MODE, {
        modulusLength: 2048,
        publicExponent: Uint8Array.from([1, 0, 1]),
    });
    const tokenKey = await getPublicKeyBytes(keys.publicKey); // RSASSA-PSS SPKI (RFC 9578 §6.5)
    const issuer = new Issuer(MODE, ISSUER_NAME, keys.privateKey, keys.publicKey);
    const origin = new Origin(MODE, ORIGIN_INFO);
    const contexts = {
        'empty-context': new Uint8Array(0),
        'with-context': crypto.getRandomValues(new Uint8Array(32)),
    };
    const challenges = [];
    for (const [name, context] of Object.entries(contexts)) {
        const challenge = origin.createTokenChallenge(ISSUER_NAME, context);
        for (const maxAge of [undefined, 10]) {
            const header = new WWWAuthenticateHeader(challenge, tokenKey, maxAge);
            challenges.push({
                name: maxAge === undefined ? name : `${name}-max-age`,
                redemption_context: hex(context),
                challenge: hex(challenge.serialize()),
                max_age: maxAge ?? null,
                'www-authenticate': header.toString(), // the library's default: unquoted
                'www-authenticate-quoted': header.toString(true),
            });
        }
    }

    // A token for the first challenge, through the library's client and issuer.
    const challenge = origin.createTokenChallenge(ISSUER_NAME, contexts['empty-context']);
    const client = new Client(MODE);
    const request = await client.createTokenRequest(challenge, tokenKey);
    const response = await issuer.issue(request);
    const token = await client.finalize(response);
    const authorization = new AuthorizationHeader(token);
    return {
        versions: versions(),
        token_type: TOKEN_TYPES.BLIND_RSA.value,
        issuer_name: ISSUER_NAME,
        origin_info: ORIGIN_INFO.join(','),
        token_key: hex(tokenKey),
        challenges,
        token: {
            challenge: hex(challenge.serialize()),
            token: hex(token.serialize()),
            library_verifies: await origin.verify(token, keys.publicKey),
            authorization: authorization.toString(), // the library's default: unquoted
            'authorization-quoted': authorization.toString(true),
        },
    };
}

// The library's reading of each header in FILE: {"www-authenticate": [...], "authorization": [...],
// "token_key": hex}. A throw or an empty result is recorded, not hidden.
async function check(file) {
    const input = JSON.parse(readFileSync(file, 'utf8'));
    const out = { versions: versions(), 'www-authenticate': [], authorization: [] };
    for (const header of input['www-authenticate']) {
        try {
            const parsed = WWWAuthenticateHeader.parse(header);
            out['www-authenticate'].push({
                header,
                parsed: parsed.map((p) => ({
                    challenge: hex(p.challenge.serialize()),
                    token_key: hex(p.tokenKey),
                    max_age: p.maxAge ?? null,
                })),
            });
        } catch (err) {
            out['www-authenticate'].push({ header, error: String(err) });
        }
    }
    const origin = new Origin(MODE, ORIGIN_INFO);
    const publicKey = await crypto.subtle.importKey(
        'spki',
        publicVerif.convertRSASSAPSSToEnc(unhex(input.token_key)),
        TOKEN_TYPES.BLIND_RSA.rsaParams,
        true,
        ['verify'],
    );
    for (const header of input.authorization) {
        try {
            const parsed = AuthorizationHeader.parse(TOKEN_TYPES.BLIND_RSA, header);
            out.authorization.push({
                header,
                parsed: await Promise.all(
                    parsed.map(async (p) => ({
                        token: hex(p.token.serialize()),
                        library_verifies: await origin.verify(p.token, publicKey),
                    })),
                ),
            });
        } catch (err) {
            out.authorization.push({ header, error: String(err) });
        }
    }
    return out;
}

const [mode, file] = process.argv.slice(2);
const result = mode === 'emit' ? await emit() : mode === 'check' ? await check(file) : null;
if (result === null) {
    console.error('usage: node privacypass_ts_headers.mjs emit | check FILE');
    process.exit(2);
}
console.log(JSON.stringify(result, null, 2));
