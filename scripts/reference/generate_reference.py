"""Greedy generation references from transformers' generate(do_sample=False), for llmft generate.

  generate_reference.py --fixtures DIR --out FILE.json [--smollm2 FILE.gguf]

For each tiny fixture checkpoint (fp32) two seeded random prompts are continued for a fixed number
of tokens with EOS disabled, so the whole KV-cached decode path is compared (Mistral's sliding
window of 8 is exceeded). tiny_chat continues a chat prompt rendered with its ChatML template, with
its normal EOS. With --smollm2, the real SmolLM2-135M-Instruct GGUF (loaded by transformers itself,
fp32) answers a chat prompt for 24 new tokens. FILE.json holds, per case: name, prompt text (chat
cases), prompt_ids, output_ids (generated only) and eos_token_id (the ids that end generation).
"""
import argparse
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()

TINY_CASES = ["llama_gqa", "qwen2_bias", "mistral", "llama3_rope_tied"]
TINY_NEW_TOKENS = 12
CHAT_QUESTION = "What is a llama?"
SMOLLM2_NEW_TOKENS = 24


def eos_list(model):
    eos = model.generation_config.eos_token_id
    if eos is None:
        return []
    return [int(eos)] if isinstance(eos, int) else [int(e) for e in eos]


def greedy(model, prompt_ids, new_tokens):
    ids = torch.tensor([prompt_ids], dtype=torch.int64)
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                             max_new_tokens=new_tokens, pad_token_id=0)
    return out[0, len(prompt_ids):].tolist()


def tiny_cases(fixtures):
    cases = []
    for name in TINY_CASES:
        model = AutoModelForCausalLM.from_pretrained(os.path.join(fixtures, name), dtype=torch.float32).eval()
        model.generation_config.eos_token_id = None  # run every step: the comparison is the decode path
        generator = torch.Generator().manual_seed(1234)
        for length in (5, 13):
            prompt = torch.randint(3, model.config.vocab_size, (length,), generator=generator).tolist()
            output = greedy(model, prompt, TINY_NEW_TOKENS)
            assert len(output) == TINY_NEW_TOKENS, (name, output)
            cases.append({"name": f"{name}/{length}", "fixture": name, "prompt_ids": prompt,
                          "output_ids": output, "eos_token_id": []})
    return cases


def chat_case(name, model, tokenizer, new_tokens):
    messages = [{"role": "user", "content": CHAT_QUESTION}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    prompt = tokenizer(text, add_special_tokens=False).input_ids
    return {"name": name, "fixture": name, "question": CHAT_QUESTION, "prompt_text": text, "prompt_ids": prompt,
            "output_ids": greedy(model, prompt, new_tokens), "eos_token_id": eos_list(model)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fixtures", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--smollm2")
    args = parser.parse_args()
    torch.manual_seed(0)
    cases = tiny_cases(args.fixtures)
    chat_dir = os.path.join(args.fixtures, "tiny_chat")
    model = AutoModelForCausalLM.from_pretrained(chat_dir, dtype=torch.float32).eval()
    cases.append(chat_case("tiny_chat", model, AutoTokenizer.from_pretrained(chat_dir), 16))
    if args.smollm2:
        directory, name = os.path.split(os.path.abspath(args.smollm2))
        model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32).eval()
        tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
        cases.append(chat_case("smollm2", model, tokenizer, SMOLLM2_NEW_TOKENS))
    with open(args.out, "w") as f:
        json.dump({"cases": cases}, f, indent=1)


if __name__ == "__main__":
    main()
