#!/usr/bin/env python3
"""Reference renderings of llmft's built-in chat templates, from transformers' apply_chat_template.

    chat_template_reference.py --tokenizer DIR --out OUT [--templates TEMPLATES_DIR]

DIR holds a byte-level BPE tokenizer.json (the tiny_chat fixture's). For each template family, the
tokenizer gets the special tokens the family needs and the model's real Jinja template (read from
TEMPLATES_DIR, e.g. ../shared/testdata/chat-templates; the Llama-2-chat template is written below,
as published in meta-llama/Llama-2-7b-chat-hf's tokenizer_config.json), and is saved to OUT/NAME/
(tokenizer.json + tokenizer_config.json) so the caller loads exactly the same tokenizer. OUT/reference.json:

  {"versions": {...},
   "families": [{"name": "llama3", "template": "...", "dir": "OUT/llama31",
                 "chats": [{"messages", "text", "ids",            apply_chat_template(messages)
                            "prompt_text", "prompt_ids"}]}]}      ... of messages[:-1] with
                                                                  add_generation_prompt=True
Families without their template file are left out. Llama 3.2's template asks for today's date;
date_string="26 Jul 2024" (3.1's default) is passed so the output does not change by the day.
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import tokenizers  # noqa: E402
import transformers  # noqa: E402
from tokenizers import AddedToken  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

LLAMA2_CHAT_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}"
    "{% endfor %}"
)

# name, built-in, template file (None: the text above), bos, eos, added special tokens, extra kwargs
FAMILIES = [
    ("qwen25", "chatml", "Qwen-Qwen2.5-7B-Instruct.jinja", None, "<|im_end|>", [], {}),
    ("llama31", "llama3", "meta-llama-Llama-3.1-8B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>",
     ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"], {}),
    ("llama32", "llama3", "meta-llama-Llama-3.2-3B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>",
     ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"], {"date_string": "26 Jul 2024"}),
    ("llama2", "llama2", None, "<s>", "</s>", ["<s>", "</s>"], {}),
    ("mistral_nemo", "mistral", "mistralai-Mistral-Nemo-Instruct-2407.jinja", "<s>", "</s>",
     ["<s>", "</s>", "[INST]", "[/INST]"], {}),
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
     {"role": "assistant", "content": " You're welcome  "},
     {"role": "user", "content": "\u3000Full-width space, then a tab:\t"},
     {"role": "assistant", "content": "  Noted.\u00a0"}],
    [{"role": "system", "content": "  Be kind. "},
     {"role": "user", "content": "Describe the task.\n\nInput: 12345 apples"},
     {"role": "assistant", "content": "Café — naïve façade.\nDone."}],
]


def ids_of(result):
    """apply_chat_template returns a BatchEncoding in transformers 5 and a list in 4."""
    return list(result["input_ids"]) if hasattr(result, "keys") else list(result)


def make_family(base, out_dir, template, bos, eos, specials):
    raw = tokenizers.Tokenizer.from_file(str(base / "tokenizer.json"))
    if specials:
        raw.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in specials])
    out_dir.mkdir(parents=True, exist_ok=True)
    raw.save(str(out_dir / "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": eos, "pad_token": "<|endoftext|>",
              "chat_template": template}
    if bos:
        config["bos_token"] = bos
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")
    return AutoTokenizer.from_pretrained(out_dir)


def render(tokenizer, messages, kwargs, generation):
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation, **kwargs)
    ids = ids_of(tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=generation, **kwargs))
    # apply_chat_template(tokenize=True) is rendering, then tokenizing without special tokens added.
    assert ids == tokenizer(text, add_special_tokens=False)["input_ids"]
    return text, ids


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokenizer", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--templates", type=Path)
    args = parser.parse_args()
    families = []
    for name, builtin, file, bos, eos, specials, kwargs in FAMILIES:
        if file is None:
            template = LLAMA2_CHAT_TEMPLATE
        elif args.templates and (args.templates / file).exists():
            template = (args.templates / file).read_text(encoding="utf-8")
        else:
            continue
        out_dir = args.out / name
        tokenizer = make_family(args.tokenizer, out_dir, template, bos, eos, specials)
        chats = []
        for messages in CHATS:
            text, ids = render(tokenizer, messages, kwargs, False)
            prompt_text, prompt_ids = render(tokenizer, messages[:-1], kwargs, True)
            chats.append({"messages": messages, "text": text, "ids": ids, "prompt_text": prompt_text,
                          "prompt_ids": prompt_ids})
        families.append({"name": name, "template": builtin, "dir": str(out_dir), "chats": chats})
    result = {"versions": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__},
              "families": families}
    (args.out / "reference.json").write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n",
                                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
