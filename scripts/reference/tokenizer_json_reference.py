#!/usr/bin/env python3
"""Reference ids for llmft's tokenizer.json reader and chat templating, from Hugging Face.

    tokenizer_json_reference.py --tokenizer DIR --out FILE

DIR is a model directory with tokenizer.json (+ tokenizer_config.json). FILE gets:
  {"versions": {...},
   "corpus": [{"text", "ids", "ids_special"}],   ids: tokenizers' encode without special tokens;
                                                  ids_special: AutoTokenizer(text).input_ids
   "chats":  [{"messages", "ids"}]}              apply_chat_template(messages, tokenize=True),
                                                  only when the tokenizer has a chat template
The corpus is make_tokenizer_fixtures.py's (prose, code, digits, whitespace runs, newlines, CJK,
emoji, special tokens written in the text) plus a few chat-like strings.
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import tokenizers  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

from make_tokenizer_fixtures import CORPUS  # noqa: E402

EXTRA = [
    "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n Hello there.<|im_end|>\n",
    "answer:\n\n\n  indented\n\t tab",
    "2024-11-28T03:35:00Z 0.001 -42 1e10",
]

CHATS = [
    [{"role": "user", "content": "What is the capital of France?"},
     {"role": "assistant", "content": "The capital of France is Paris."}],
    [{"role": "system", "content": "You are a concise assistant."},
     {"role": "user", "content": "How many legs does a spider have?"},
     {"role": "assistant", "content": "Eight."}],
    [{"role": "user", "content": "Count to three."},
     {"role": "assistant", "content": "1, 2, 3."},
     {"role": "user", "content": "And in French?"},
     {"role": "assistant", "content": "Un, deux, trois."},
     {"role": "user", "content": "日本語では？ 🚀"},
     {"role": "assistant", "content": "一、二、三。"}],
    [{"role": "system", "content": "Answer in code.\n\nBe brief."},
     {"role": "user", "content": "  Print hello in Python\n"},
     {"role": "assistant", "content": "\nprint(\"hello\")\n\n"},
     {"role": "user", "content": "Thanks!"},
     {"role": "assistant", "content": " You're welcome  "}],
    [{"role": "user", "content": "Describe the task.\n\nInput: 12345 apples"},
     {"role": "assistant", "content": ""}],
]


def ids_of(result):
    """apply_chat_template returns a BatchEncoding in transformers 5 and a list in 4."""
    return list(result["input_ids"]) if hasattr(result, "keys") else list(result)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokenizer", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    raw = tokenizers.Tokenizer.from_file(str(args.tokenizer / "tokenizer.json"))
    auto = AutoTokenizer.from_pretrained(args.tokenizer)
    corpus = [{"text": text, "ids": raw.encode(text, add_special_tokens=False).ids,
               "ids_special": list(auto(text)["input_ids"])} for text in CORPUS + EXTRA]
    chats = []
    if auto.chat_template:
        chats = [{"messages": m, "ids": ids_of(auto.apply_chat_template(m, tokenize=True))} for m in CHATS]
    result = {"versions": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__},
              "corpus": corpus, "chats": chats}
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
