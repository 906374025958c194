// Writes the tokenizer and chat-template fixtures under tests/fixtures/tokenizers/ from
// independent implementations: Hugging Face's JavaScript tokenizers (@huggingface/transformers,
// which uses @huggingface/tokenizers and @huggingface/jinja) and OpenAI's GPT-2 encoder as
// ported to JavaScript (gpt-3-encoder). See README.md for how to run it.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';

const here = path.dirname(new URL(import.meta.url).pathname);
const out = path.resolve(here, '../../fixtures/tokenizers');
const cache = process.env.EGRET_TOKENIZERS ?? '/var/cache/egret/tokenizers';
const modules = process.env.TOKREF_MODULES ?? '/tmp/tokref/node_modules';
const require = createRequire(path.join(modules, 'x.js'));
const { PreTokenizedString, PreTrainedTokenizer } = await import(path.join(modules, '@huggingface/transformers/dist/transformers.node.mjs'));
const gpt3 = require('gpt-3-encoder');
const versions = Object.fromEntries(['@huggingface/transformers', '@huggingface/tokenizers', '@huggingface/jinja', 'gpt-3-encoder']
  .map((p) => [p, JSON.parse(fs.readFileSync(path.join(modules, p, 'package.json'))).version]));

// The corpus: unicode, whitespace runs, digits, contractions, code, emoji, special tokens.
const corpus = [
  'Hello world',
  'The quick brown fox jumps over the lazy dog.',
  'café naïve résumé façade Ångström coöperate',
  'cafe\u0301 nai\u0308ve re\u0301sume\u0301',           // NFD input (combining accents)
  'e\u0301 vs \u00e9, A\u030a vs \u00c5',
  '你好，世界！日本語のテキストです。한국어 텍스트',
  'مرحبا بالعالم! שלום עולם',
  'नमस्ते दुनिया, สวัสดีครับ',
  'Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032d\u0308\u0307l\u036e\u0312\u036bo\u0328\u0317',
  'Привет, мир! Γειά σου Κόσμε',
  'a  b   c    d     e',
  '\t\ttabs\tand spaces  \n',
  'line1\nline2\r\nline3\n\n\nline4\r\r\n',
  'trailing spaces   ',
  '   leading spaces',
  ' ',
  '\n',
  '  \n  \n ',
  'a\u00a0b\u2009c\u3000d\u2028e',
  '1234567890',
  '3.14159 2,718 1e10 0x1F -42 +7 1/2',
  'In 2024, 12345678901234567890 items cost $1,234.56 (≈€1.100).',
  "I'm you're he's we've they'll I'd don't CAN'T He'S O'Neil's",
  'def f(x):\n    return x**2  # square\n\nprint(f(3))\n',
  'int main(void) {\n\tprintf("%d\\n", 42);\n\treturn 0;\n}',
  '<div class="a">&nbsp;</div>\n{"key": [1, 2, {"n": null}]}',
  'https://example.com/path?q=1&r=two#frag user@example.org',
  '👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇫🇷 😀😃🙈',
  '©®™ ± × ÷ → ∑ ∞ ≠ ≤ ≥ … «quotes» „German“',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  '!!!???... ---- ==== ____ ****',
  'HELLO World hElLo wORLD',
  'zero\u200bwidth\u200djoiner\ufeffbom',
  'tab\tseparated\tvalues\t1\t2',
  '<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>',
  'text<|endoftext|>more text <|endoftext|> end',
  '<s>[INST] Hello [/INST] Hi</s>',
  '<|start|>assistant<|channel|>final<|message|>Hi<|end|>',
  '<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜>',
  '<|im_end|><|im_end|>x<|im_start|>',
  '<think>\nreasoning\n</think>\n\nanswer',
  'Mixed: English, français, 日本語, العربية, emoji 🎉, numbers 42, code `x = 1`.',
  '',
];

// Conversations for the chat templates.
const chats = [
  [{ role: 'user', content: 'Hello!' }],
  [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'What is 2+2?' }, { role: 'assistant', content: '2+2 = 4.' }],
  [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Name a colour.' }, { role: 'assistant', content: 'Blue.' },
   { role: 'user', content: 'Another?' }, { role: 'assistant', content: 'Red.' }, { role: 'user', content: 'Thanks!' }],
  [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello! How can I help?' }, { role: 'user', content: 'Tell me a joke.' }],
  [{ role: 'user', content: '  spaced out  \n' }, { role: 'assistant', content: '\n answer with spaces \n' }],
  [{ role: 'user', content: 'q1' }, { role: 'assistant', content: '<think>\nfirst thoughts\n</think>\n\nA1' },
   { role: 'user', content: 'q2' }, { role: 'assistant', content: '<think>\nsecond thoughts\n</think>\n\nA2' }],
  [{ role: 'user', content: 'Unicode: café 你好 👍🏽' }, { role: 'assistant', content: 'Ça va — très bien. 🎉' }],
];

const load = (name) => JSON.parse(fs.readFileSync(path.join(cache, name)));

// What decode(encode(text)) must give back: TEXT itself, in the normalizer's Unicode form
// (JavaScript's String.normalize) — or null where the pipeline is lossy by design
// (SentencePiece-style tokenizers put a space after added tokens and read "▁" as a space).
function roundTrip(tj, text) {
  const norm = tj.normalizer;
  const forms = [norm, ...(norm?.normalizers ?? [])].map((n) => n?.type).filter((t) => /^NFK?[CD]$/.test(t ?? ''));
  const byteLevel = JSON.stringify(tj.decoder ?? {}).includes('"ByteLevel"');
  if (!byteLevel && (text.includes('\u2581') || tj.added_tokens.some((a) => text.includes(a.content)))) return null;
  return forms.reduce((t, f) => t.normalize(f), text);
}

function tokenizerCases(tok, texts, tj) {
  return texts.map((text, i) => {
    const ids = tok.encode(text, { add_special_tokens: true });
    const ids_no_special = tok.encode(text, { add_special_tokens: false });
    return {
      text_index: i,
      ids,
      ids_no_special,
      decoded: ids.length ? tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }) : '',
      decoded_skip_special: ids.length ? tok.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false }) : '',
      roundtrip: roundTrip(tj, text),
    };
  });
}

// Prompts come from Python's Jinja2 (render_chats.py), the engine transformers renders
// with; @huggingface/jinja's own rendering is kept as prompt_js (it ignores the argument of
// str.strip/lstrip/rstrip, so it differs where a template strips given characters).
let pythonPrompts = {};
function chatCases(tok, name) {
  if (!tok.chat_template) return [];
  const cases = [];
  chats.forEach((messages, k) => {
    for (const add_generation_prompt of [false, true]) {
      const prompt_js = tok.apply_chat_template(messages, { tokenize: false, add_generation_prompt });
      const py = (pythonPrompts[name] ?? []).find((c) => c.messages_index === k && c.add_generation_prompt === add_generation_prompt);
      const prompt = py ? py.prompt : prompt_js;
      const ids = tok.encode(prompt, { add_special_tokens: false });
      cases.push({ messages_index: k, add_generation_prompt, prompt, ids, ...(prompt_js !== prompt ? { prompt_js } : {}),
                   prompt_reference: py ? 'jinja2 (python)' : '@huggingface/jinja' });
    }
  });
  return cases;
}

function write(name, obj) {
  fs.writeFileSync(path.join(out, name), JSON.stringify(obj, null, 0) + '\n');
  console.log(`wrote ${name}`);
}

fs.mkdirSync(out, { recursive: true });
write('corpus.json', { texts: corpus, chats });
const templatesDir = path.resolve(here, '../../fixtures/tokenizers/templates');
const extra = fs.existsSync(templatesDir) ? fs.readdirSync(templatesDir).filter((f) => f.endsWith('.jinja')).map((f) => path.join(templatesDir, f)) : [];
pythonPrompts = JSON.parse(execFileSync('/usr/bin/python3', [path.join(here, 'render_chats.py'), path.join(out, 'corpus.json'), cache,
  'qwen3', 'llama3', 'llama3_1', 'gptoss', 'llama2', 'deepseek_v3'], { env: { ...process.env, EXTRA: extra.join(':') }, maxBuffer: 1 << 26 }));
versions.jinja2 = execFileSync('/usr/bin/python3', ['-c', 'import jinja2; print(jinja2.__version__)']).toString().trim();
const extraTemplates = Object.fromEntries(Object.entries(pythonPrompts).filter(([k]) => k.startsWith('templates/')));
write('templates.json', { reference: versions, renders: extraTemplates });

for (const name of ['qwen3', 'llama3', 'llama3_1', 'gptoss', 'llama2', 'deepseek_v3']) {
  const dir = path.join(cache, name);
  const tj = load(path.join(name, 'tokenizer.json'));
  const tc = load(path.join(name, 'tokenizer_config.json'));
  const tok = new PreTrainedTokenizer(tj, tc);
  write(`${name}.json`, {
    tokenizer: name, source: dir, reference: versions,
    cases: tokenizerCases(tok, corpus, tj), chats: chatCases(tok, name),
  });
}

// GPT-2 from encoder.json + vocab.bpe: OpenAI's encoder (which does not recognise special
// tokens in text), and Hugging Face's GPT-2 pipeline built from the same files (which does).
{
  const encoder = load('gpt2/encoder.json');
  const merges = fs.readFileSync(path.join(cache, 'gpt2/vocab.bpe'), 'utf8').split('\n')
    .filter((l) => l && !l.startsWith('#version'));
  const tj = {
    version: '1.0', truncation: null, padding: null, normalizer: null,
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab: encoder, merges },
  };
  const tok = new PreTrainedTokenizer(tj, { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' });
  const cases = tokenizerCases(tok, corpus, tj);
  corpus.forEach((text, i) => {
    // OpenAI's encoder reads "<|endoftext|>" as plain text; compare only where they agree in kind.
    if (!text.includes('<|endoftext|>')) cases[i].openai_ids = gpt3.encode(text);
  });
  write('gpt2.json', { tokenizer: 'gpt2', source: path.join(cache, 'gpt2'), reference: versions, cases, chats: [] });
}

// Variants: a base tokenizer.json with some sections replaced, to reach stages the shipped
// tokenizers do not use. The C++ test applies the same overrides.
const variants = [
  { name: 'gpt2_prefix_space_template', base: 'gpt2', override: {
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      post_processor: { type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|endoftext|>', type_id: 0 } }],
        pair: [], special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [50256], tokens: ['<|endoftext|>'] } } } } },
  { name: 'gpt2_nfkc_lowercase_digits', base: 'gpt2', override: {
      normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] },
      pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }] } } },
  { name: 'gpt2_nfd_split_removed', base: 'gpt2', override: {
      normalizer: { type: 'NFD' },
      pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Removed', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] } } },
  { name: 'gpt2_added_strip', base: 'gpt2', added: [
      { id: 50257, content: '[MASK]', single_word: false, lstrip: true, rstrip: true, normalized: false, special: true },
      { id: 50258, content: 'hello', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false }] },
  { name: 'llama2_metaspace', base: 'llama2', override: {
      normalizer: null,
      pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
      decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false } } },
];
const variantCases = [];
for (const v of variants) {
  const tj = v.base === 'gpt2'
    ? (() => { const e = load('gpt2/encoder.json'); const m = fs.readFileSync(path.join(cache, 'gpt2/vocab.bpe'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#version'));
        return { version: '1.0', normalizer: null, post_processor: null,
          added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
          pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
          decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
          model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab: e, merges: m } }; })()
    : load(path.join(v.base, 'tokenizer.json'));
  Object.assign(tj, v.override ?? {});
  if (v.added) {
    tj.added_tokens = [...tj.added_tokens, ...v.added];
    if (v.base === 'gpt2') for (const a of v.added) if (!(a.content in tj.model.vocab)) tj.model.vocab[a.content] = a.id;
  }
  const tok = new PreTrainedTokenizer(tj, {});
  const texts = [...corpus, 'Say [MASK] now', 'a   [MASK]   b', 'hello there, Hello HELLO hello', 'x[MASK]y', 'Ünïcödé ＡＢＣ ① ﬁ'];
  variantCases.push({ name: v.name, base: v.base, override: v.override ?? {}, added: v.added ?? [], texts,
    cases: texts.map((text) => ({ ids: tok.encode(text, { add_special_tokens: true }), ids_no_special: tok.encode(text, { add_special_tokens: false }) })) });
}
write('variants.json', { reference: versions, variants: variantCases });
