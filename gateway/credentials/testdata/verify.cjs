// An independent verifier of Obert's SD-JWT VCs, built on the OpenWallet
// Foundation's sd-jwt-js (@sd-jwt/sd-jwt-vc, @sd-jwt/crypto-nodejs and
// @sd-jwt/jwt-status-list 0.19.0), which Obert did not write.
//
// Reads one JSON object on stdin:
//   {"credential": "<sd-jwt>", "issuerJwk": {...},
//    "nonce": "...", "audience": "..."}     (nonce: require key binding)
// and prints one JSON object on stdout:
//   {"ok": true, "header": {...}, "claims": {...}, "keyBinding": {...}|null,
//    "status": {"idx": N, "uri": "...", "value": 0|1, "listTyp": "...",
//               "listSub": "..."}|null, "revoked": bool}
// or {"ok": false, "error": "..."} with exit status 1.
//
// The status list is fetched from the credential's status_list.uri by the
// library's own fetcher (which wants Content-Type application/statuslist+jwt)
// and its signature checked with the issuer's key. The library reports the
// status through statusValidator; this script records it instead of
// throwing, so that a revoked credential is reported as such.
//
// CommonJS, so that NODE_PATH can point at the installed node_modules.
'use strict';

const { SDJwtVcInstance } = require('@sd-jwt/sd-jwt-vc');
const { ES256, digest, generateSalt } = require('@sd-jwt/crypto-nodejs');
const { getListFromStatusListJWT } = require('@sd-jwt/jwt-status-list');

function decodePart(jwt, i) {
  return JSON.parse(Buffer.from(jwt.split('.')[i], 'base64url').toString('utf8'));
}

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const req = JSON.parse(input);

  const verifier = await ES256.getVerifier(req.issuerJwk);
  const kbVerifier = async (data, sig, payload) => {
    if (!payload || !payload.cnf || !payload.cnf.jwk) throw new Error('no cnf.jwk to verify the key binding with');
    const v = await ES256.getVerifier(payload.cnf.jwk);
    return v(data, sig);
  };

  let statusList = null;
  let statusValue = null;
  const fetchList = SDJwtVcInstance.prototype.statusListFetcher;
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    verifier,
    kbVerifier,
    statusListFetcher: async (uri) => {
      statusList = await fetchList.call(sdjwt, uri);
      return statusList;
    },
    statusValidator: async (status) => {
      statusValue = status;
    },
  });

  const options = {};
  if (req.nonce) options.keyBindingNonce = req.nonce;
  const result = await sdjwt.verify(req.credential, options);

  // The library leaves the header's typ and the key binding's aud to the
  // application: check them here, as a verifier must.
  if (result.header.typ !== 'dc+sd-jwt') throw new Error(`typ ${result.header.typ}, want dc+sd-jwt`);
  if (req.audience && (!result.kb || result.kb.payload.aud !== req.audience)) {
    throw new Error('key binding audience mismatch');
  }

  let status = null;
  const ref = result.payload.status && result.payload.status.status_list;
  if (ref) {
    const listHeader = decodePart(statusList, 0);
    const listPayload = decodePart(statusList, 1);
    if (listHeader.typ !== 'statuslist+jwt') throw new Error(`status list typ ${listHeader.typ}`);
    if (listPayload.sub !== ref.uri) throw new Error(`status list sub ${listPayload.sub}, want ${ref.uri}`);
    // Read the entry a second way, straight from the list, as a cross-check
    // of what the validator was given.
    const direct = getListFromStatusListJWT(statusList).getStatus(ref.idx);
    if (direct !== statusValue) throw new Error(`status ${statusValue} from verify, ${direct} from the list`);
    status = {
      idx: ref.idx,
      uri: ref.uri,
      value: statusValue,
      listTyp: listHeader.typ,
      listSub: listPayload.sub,
      bits: listPayload.status_list.bits,
    };
  }

  process.stdout.write(JSON.stringify({
    ok: true,
    header: result.header,
    claims: result.payload,
    keyBinding: result.kb ? { header: result.kb.header, payload: result.kb.payload } : null,
    status,
    revoked: status !== null && status.value !== 0,
  }) + '\n');
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ ok: false, error: String(err && err.message || err) }) + '\n');
  process.exit(1);
});
