// Generates random JSON texts and their RFC 8785 canonical form computed by an
// independent implementation: ECMAScript itself (`JSON.parse`, whose numbers are the
// correctly rounded doubles and whose `Number.prototype.toString` is the normative number
// format) with the npm package `canonicalize` (by one of RFC 8785's authors).
//
// Usage: node jcs_reference.mjs <count> <seed>   → JSON Lines {"input": …, "canonical": …}
//
// Where `canonicalize` is found: the environment variable CANONICALIZE_MODULE (a path to
// the package's `lib/canonicalize.js`), else normal module resolution from this file.
// Used by tests/jcs_independent.rs (skipped when node or the package is missing) and to
// produce tests/data/independent/jcs_vectors.jsonl once:
//
//   npm install --prefix /tmp/jcsnode canonicalize
//   CANONICALIZE_MODULE=/tmp/jcsnode/node_modules/canonicalize/lib/canonicalize.js \
//     node tests/tools/jcs_reference.mjs 200 8785 > tests/data/independent/jcs_vectors.jsonl

import { pathToFileURL } from 'node:url';

const modulePath = process.env.CANONICALIZE_MODULE;
const canonicalize = (await import(modulePath ? pathToFileURL(modulePath).href : 'canonicalize')).default;

const count = Number(process.argv[2] ?? 200);
let state = Number(process.argv[3] ?? 1) >>> 0;

// mulberry32: a small seeded PRNG, so a seed always gives the same documents.
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(random() * n);
const pick = (list) => list[int(list.length)];

// ---- numbers: the text as written in the input -------------------------------------

const TRICKY = [
  '0', '-0', '-0.0', '0.0', '0e0', '-0E-0', '0e+999', '1', '-1', '1.0', '1.50', '0.1e1', '1E+2',
  '1e2', '100e-2', '10E-1', '1e21', '1e+21', '999999999999999999999', '1000000000000000000000',
  '100000000000000000000', '123456789012345678901', '123456789012345680000', '1e20', '9.999999999999999e20',
  '0.000001', '0.0000001', '1e-6', '1e-7', '1.2e-7', '0.00000123', '5e-324', '-5e-324',
  '4.9406564584124654e-324', '2.4703282292062328e-324', '2.4703282292062327e-324', '1e-400',
  '2.2250738585072014e-308', '2.2250738585072011e-308', '2.225073858507201e-308',
  '1.7976931348623157e308', '-1.7976931348623157E+308', '1.7976931348623158e308',
  '9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993', '9007199254740995',
  '18014398509481985', '295147905179352825856', '0.1', '0.2', '0.3', '0.30000000000000004',
  '333333333.33333329', '333333333.3333333', '1.0000000000000002', '0.9999999999999999',
  '4.35', '0.5', '-0.5', '1e23', '8.41e21', '5e-7', '123e-20', '1.5e300', '1e308', '1e-323',
  '0.000001000', '12345678901234567890.5', '100', '1e1', '4294967296', '18446744073709551616',
  '-1e-7', '3.141592653589793', '2.718281828459045', '6.02214076e23', '1.602176634E-19',
];

function randomDouble() {
  switch (int(5)) {
    case 0: { // any finite double, from random bits
      const view = new DataView(new ArrayBuffer(8));
      for (;;) {
        view.setUint32(0, int(2 ** 32));
        view.setUint32(4, int(2 ** 32));
        const x = view.getFloat64(0);
        if (Number.isFinite(x)) return x;
      }
    }
    case 1: return (random() - 0.5) * 10 ** (int(60) - 30);
    case 2: return int(2 ** 31) * (random() < 0.5 ? -1 : 1);
    case 3: return (int(2 ** 26) * 2 ** 27 + int(2 ** 27)) * (random() < 0.5 ? -1 : 1); // up to 2^53
    default: return int(1000000) / 10 ** int(12);
  }
}

/// Writes a double in one of several JSON spellings that all parse back to it.
function spellDouble(x) {
  switch (int(5)) {
    case 0: return String(x);
    case 1: return x.toExponential();
    case 2: return x.toExponential().replace('e', 'E');
    case 3: return x.toExponential().replace('e+', 'e');
    default: return x.toPrecision(17).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '.0');
  }
}

function randomDigits(n) {
  let s = String(1 + int(9));
  for (let i = 1; i < n; i++) s += int(10);
  return s;
}

function numberText() {
  switch (int(4)) {
    case 0: return pick(TRICKY);
    case 1: { // long decimals that need correct rounding
      const sign = random() < 0.3 ? '-' : '';
      const intPart = random() < 0.3 ? '0' : randomDigits(1 + int(22));
      const frac = random() < 0.7 ? '.' + randomDigits(1 + int(25)) : '';
      const exp = random() < 0.5 ? pick(['e', 'E']) + pick(['', '+', '-']) + int(40) : '';
      return sign + intPart + frac + exp;
    }
    default: return spellDouble(randomDouble());
  }
}

// ---- strings: [input spelling, decoded value] ---------------------------------------

const hex4 = (code, upper) => {
  const h = code.toString(16).padStart(4, '0');
  return '\\u' + (upper ? h.toUpperCase() : h);
};

function randomChar() {
  switch (int(12)) {
    case 0: { const c = int(0x20); return [pick([hex4(c, false), hex4(c, true), ...(
      { 8: ['\\b'], 9: ['\\t'], 10: ['\\n'], 12: ['\\f'], 13: ['\\r'] }[c] ?? [])]), String.fromCharCode(c)]; }
    case 1: return pick([['\\"', '"'], ['\\\\', '\\'], ['\\/', '/'], ['/', '/'], ['\\u0022', '"'], ['\\u005C', '\\']]);
    case 2: { const s = pick(['\u007f', '\u0080', '\u00e9', '\u2028', '\u2029', '\u20ac', '\ufeff', '\ud7ff']); return [random() < 0.5 ? s : hex4(s.charCodeAt(0), random() < 0.5), s]; }
    case 3: { const c = 0xe000 + int(0x2000); const s = String.fromCharCode(c); return [random() < 0.5 ? s : hex4(c, false), s]; }
    case 4: { // supplementary plane: a surrogate pair, literal or escaped
      const cp = 0x10000 + int(0x100000);
      const s = String.fromCodePoint(cp);
      return [random() < 0.5 ? s : hex4(s.charCodeAt(0), random() < 0.5) + hex4(s.charCodeAt(1), false), s];
    }
    case 5: { const c = 0x100 + int(0xd700); const s = String.fromCharCode(c); return [random() < 0.7 ? s : hex4(c, true), s]; }
    default: { const s = String.fromCharCode(0x20 + int(0x5f)); return s === '"' || s === '\\' ? ['\\' + s, s] : [s, s]; }
  }
}

function stringToken(maxLen) {
  let spelled = '"';
  let value = '';
  const n = int(maxLen + 1);
  for (let i = 0; i < n; i++) {
    const [s, v] = randomChar();
    spelled += s;
    value += v;
  }
  return [spelled + '"', value];
}

// ---- documents ----------------------------------------------------------------------

const ws = () => (random() < 0.7 ? '' : pick([' ', '\n', '\t', '\r\n', '  ']));

function valueText(depth) {
  const r = random();
  if (depth > 0 && r < 0.2) {
    const n = int(6);
    const items = [];
    for (let i = 0; i < n; i++) items.push(ws() + valueText(depth - 1) + ws());
    return '[' + ws() + items.join(',') + ']';
  }
  if (depth > 0 && r < 0.45) return objectText(depth - 1);
  if (r < 0.7) return numberText();
  if (r < 0.9) return stringToken(12)[0];
  return pick(['true', 'false', 'null']);
}

function objectText(depth) {
  const n = int(7);
  const seen = new Set(['__proto__']);
  const members = [];
  for (let i = 0; i < n; i++) {
    const [spelled, name] = random() < 0.5 ? stringToken(6) : (() => { const k = pick(['a', 'b', 'B', 'aa', 'a1', '10', '2', '1', '\u00e9', '\ue000', '\ud83d\ude00', '\uffff', '\u{10000}', '']); return [JSON.stringify(k), k]; })();
    if (seen.has(name)) continue;
    seen.add(name);
    members.push(ws() + spelled + ws() + ':' + ws() + valueText(depth) + ws());
  }
  return '{' + ws() + members.join(',') + '}';
}

const out = [];
for (let made = 0; made < count;) {
  const input = ws() + (random() < 0.8 ? objectText(4) : valueText(4)) + ws();
  let canonical;
  try {
    const parsed = JSON.parse(input);
    canonical = canonicalize(parsed);
  } catch {
    continue; // e.g. a number out of double range (RFC 8785 rejects it): not a vector
  }
  out.push(JSON.stringify({ input, canonical }));
  made++;
}
process.stdout.write(out.join('\n') + '\n');
