// Bundle the console into dist/: dist/index.html and dist/assets/ with
// content-hashed names (main-HASH.js, main-HASH.css), which the server sends
// as immutable, each with a gzip copy (NAME.gz) the server sends to clients
// that take gzip. Usage: node build.mjs [--dev] (dev: no minification).
import * as esbuild from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');
const dev = process.argv.includes('--dev');

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'assets'), { recursive: true });

const result = await esbuild.build({
  entryPoints: [join(root, 'src', 'main.js')],
  bundle: true,
  format: 'esm',
  target: ['es2020'],
  minify: !dev,
  sourcemap: false,
  legalComments: 'none',
  outdir: join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});

let js = '';
let css = '';
for (const out of Object.keys(result.metafile.outputs)) {
  const name = basename(out);
  if (name.endsWith('.js')) js = name;
  if (name.endsWith('.css')) css = name;
}
if (!js) throw new Error('esbuild produced no JavaScript bundle');

// The page itself: no inline script, so a strict Content-Security-Policy fits.
const index = `<!doctype html>
<html lang="en" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fulcrum</title>
<link rel="icon" href="data:,">
${css ? `<link rel="stylesheet" href="/assets/${css}">\n` : ''}<script type="module" src="/assets/${js}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The Fulcrum console needs JavaScript.</noscript>
</body>
</html>
`;
writeFileSync(join(dist, 'index.html'), index);
const files = [join(dist, 'index.html'), ...Object.keys(result.metafile.outputs).map((o) => join(dist, 'assets', basename(o)))];
for (const f of files) {
  const raw = readFileSync(f);
  const gz = gzipSync(raw, { level: 9 });
  writeFileSync(`${f}.gz`, gz);
  console.log(`${basename(f)}\t${raw.length} bytes, ${gz.length} gzipped`);
}
