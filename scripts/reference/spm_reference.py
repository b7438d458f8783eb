#!/usr/bin/env python3
"""Reference tokenizers and ids for llmft's sentencepiece and tokenizer.json readers, from the
libraries llmft must agree with.

    spm_reference.py --out DIR [--llama2 PATH] [--wordnet DIR]

Writes into DIR one model directory per tokenizer and DIR/reference.json:
  {"versions": {...}, "corpus": [text, ...],
   "tokenizers": {NAME: {"dir": "...", "kind": "...", <reference lists, one entry per corpus text>}}}
Tokenizers:
  wordnet_spm      tokenizer.model trained by spm_train (sentencepiece BPE, byte fallback, vocab
                   3000) on WordNet noun glosses; "sp_ids"/"sp_decoded": python sentencepiece;
                   "hf_ids"/"hf_decoded": transformers' LlamaTokenizer made from that model
  wordnet_json     the tokenizer.json that LlamaTokenizer writes (Metaspace, prepend_scheme first)
  wordnet_legacy   the same vocabulary with the older Llama layout (normalizer Prepend + Replace)
  llama2_spm / llama2_json / llama2_legacy   the same three for --llama2 (Llama-2's tokenizer.model)
  bytelevel_llama3 byte-level BPE trained with HF tokenizers, Llama-3's split regex
  bytelevel_qwen2  the same with Qwen2's split regex and the NFC normalizer
  bytelevel_gpt2   GPT-2's layout (ByteLevel pre-tokenizer with its regex)
tokenizer.json entries hold "ids" (tokenizers' encode without added BOS/EOS, special-token text
parsed) and "decoded" (tokenizers' decode of those ids, special tokens kept).

transformers turns a tokenizer.model into LlamaTokenizer through the protobuf package; without it
the vocabulary is read with sentencepiece's API and handed to the same LlamaTokenizer constructor
together with transformers' own generate_merges, which is what its converter does.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sentencepiece as spm  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers  # noqa: E402
from transformers import LlamaTokenizer  # noqa: E402

import make_tokenizer_fixtures  # noqa: E402
from make_tokenizer_fixtures import CORPUS as BASE_CORPUS  # noqa: E402

EXTRA = [
    " leading space", "trailing space ", "double  space  inside", "   three leading", "x  ",
    "<s>Hello</s>", "a<s>b </s> c", "<s> [INST] Hi [/INST] Hello </s><s>[INST] Again [/INST]",
    "<unk> literal", "▁literal ▁▁meta ▁", "<0x41> is not a byte token in text",
    "e\u0301e\u0301 A\u030a \u1100\u1161\u11a8 Å Å",
    "Numbers 1234567 and 3.14159, tabs\t\tand\nnew\n\nlines",
    "<|begin_of_text|>Hi<|end_of_text|>",
]
# Seeded random texts mixing every character class (and, rarely, special-token text).
make_tokenizer_fixtures.RANDOM_WORDS = make_tokenizer_fixtures.RANDOM_WORDS + ["<s>", "</s>", "▁"]
CORPUS = BASE_CORPUS + EXTRA + make_tokenizer_fixtures.random_texts(150, 7)

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def wordnet_glosses(wordnet_dir, limit):
    """The gloss of each synset in data.noun (after the '| ')."""
    glosses = []
    with open(Path(wordnet_dir) / "data.noun", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  ") or " | " not in line:
                continue  # license header
            glosses.append(line.split(" | ", 1)[1].strip())
            if len(glosses) >= limit:
                break
    return glosses


def train_spm(text_file, prefix):
    """Llama's trainer settings: BPE, byte fallback, identity normalization, spaces kept."""
    flags = [f"--input={text_file}", f"--model_prefix={prefix}", "--vocab_size=3000", "--model_type=bpe",
             "--byte_fallback=true", "--character_coverage=0.9995", "--normalization_rule_name=identity",
             "--remove_extra_whitespaces=false", "--split_digits=true", "--allow_whitespace_only_pieces=true",
             "--minloglevel=2"]
    binary = shutil.which("spm_train")
    if binary:
        subprocess.run([binary] + flags, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        spm.SentencePieceTrainer.train(" ".join(flags))


def llama_tokenizer(model_file):
    """transformers' LlamaTokenizer for a tokenizer.model (see the module docstring)."""
    try:
        import google.protobuf  # noqa: F401
        directory = Path(model_file).parent
        return LlamaTokenizer.from_pretrained(directory)
    except ImportError:
        from transformers.tokenization_utils_base import generate_merges
        sp = spm.SentencePieceProcessor(model_file=str(model_file))
        vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
        return LlamaTokenizer(vocab=vocab, merges=generate_merges(vocab), bos_token="<s>", eos_token="</s>",
                              unk_token="<unk>")


def legacy_layout(tokenizer_json_path, out_dir):
    """The Llama tokenizer.json layout transformers 4 wrote: Prepend + Replace normalizer."""
    tok = Tokenizer.from_file(str(tokenizer_json_path))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = None
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    return tok


def json_entry(tok, directory, kind):
    ids = [tok.encode(text, add_special_tokens=False).ids for text in CORPUS]
    return {"dir": str(directory), "kind": kind, "ids": ids,
            "decoded": [tok.decode(i, skip_special_tokens=False) for i in ids]}


def sentencepiece_family(name, model_file, out):
    """NAME_spm, NAME_json and NAME_legacy for one tokenizer.model."""
    spm_dir = out / f"{name}_spm"
    spm_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_file, spm_dir / "tokenizer.model")
    sp = spm.SentencePieceProcessor(model_file=str(spm_dir / "tokenizer.model"))
    hf = llama_tokenizer(spm_dir / "tokenizer.model")
    sp_ids = [sp.encode(text) for text in CORPUS]
    hf_ids = [list(hf(text, add_special_tokens=False)["input_ids"]) for text in CORPUS]
    entries = {f"{name}_spm": {"dir": str(spm_dir), "kind": "tokenizer.model", "sp_ids": sp_ids,
                                "sp_decoded": [sp.decode(i) for i in sp_ids], "hf_ids": hf_ids,
                                "hf_decoded": [hf.decode(i) for i in hf_ids]}}
    json_dir = out / f"{name}_json"
    hf.save_pretrained(json_dir)
    (json_dir / "tokenizer.model").unlink(missing_ok=True)  # the directory must be read through tokenizer.json
    raw = Tokenizer.from_file(str(json_dir / "tokenizer.json"))
    entries[f"{name}_json"] = json_entry(raw, json_dir, "tokenizer.json metaspace")
    legacy_dir = out / f"{name}_legacy"
    entries[f"{name}_legacy"] = json_entry(legacy_layout(json_dir / "tokenizer.json", legacy_dir), legacy_dir,
                                           "tokenizer.json legacy")
    return entries


def byte_level(name, texts, out, split, nfc, specials):
    tok = Tokenizer(models.BPE())
    if nfc:
        tok.normalizer = normalizers.NFC()
    if split is None:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(split), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=2500, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    directory = out / name
    directory.mkdir(parents=True, exist_ok=True)
    tok.save(str(directory / "tokenizer.json"))
    return json_entry(tok, directory, "tokenizer.json byte-level")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--llama2", type=Path, help="Llama-2's tokenizer.model (optional)")
    args = parser.parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    glosses = wordnet_glosses(args.wordnet, 20000)
    corpus_file = args.out / "glosses.txt"
    corpus_file.write_text("\n".join(glosses) + "\n", encoding="utf-8")
    train_spm(corpus_file, args.out / "wordnet")
    result = {}
    result.update(sentencepiece_family("wordnet", args.out / "wordnet.model", args.out))
    if args.llama2:
        result.update(sentencepiece_family("llama2", args.llama2, args.out))
    # The byte-level models see the glosses plus the corpus, so every character class has pieces.
    texts = glosses[:6000] + CORPUS
    result["bytelevel_llama3"] = byte_level("bytelevel_llama3", texts, args.out, LLAMA3_SPLIT, False,
                                            ["<|begin_of_text|>", "<|end_of_text|>"])
    result["bytelevel_qwen2"] = byte_level("bytelevel_qwen2", texts, args.out, QWEN2_SPLIT, True,
                                           ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    result["bytelevel_gpt2"] = byte_level("bytelevel_gpt2", texts, args.out, None, False, ["<|endoftext|>"])
    versions = {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__,
                "sentencepiece": spm.__version__}
    payload = {"versions": versions, "corpus": CORPUS, "tokenizers": result}
    (args.out / "reference.json").write_text(json.dumps(payload, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
