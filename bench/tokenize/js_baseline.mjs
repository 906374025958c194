// Baseline: the same documents through Hugging Face's JavaScript tokenizer
// (@huggingface/transformers), same warm-up, single thread.
// usage: node js_baseline.mjs NODE_MODULES TOKENIZER_DIR TEXT_FILE
import fs from 'node:fs';
import path from 'node:path';
const [modules, dir, file] = process.argv.slice(2);
const { PreTrainedTokenizer } = await import(path.join(modules, '@huggingface/transformers/dist/transformers.node.mjs'));
const tok = new PreTrainedTokenizer(JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'))),
  JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'))));
const docs = fs.readFileSync(file, 'utf8').split('\n').filter((d, i, a) => i < a.length - 1 || d).map((d) => d + '\n');
const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d), 0);
for (let i = 0; i < Math.floor(docs.length / 20); ++i) tok.encode(docs[i], { add_special_tokens: false });
let tokens = 0;
const t0 = process.hrtime.bigint();
for (const d of docs) tokens += tok.encode(d, { add_special_tokens: false }).length;
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ mb_per_s: bytes / s / 1e6, tokens, bytes, seconds: s }));
