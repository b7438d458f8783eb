"""The tiny chat fixture: a trainable model directory and datasets small enough for CPU tests.

    DIR/tiny_chat/   config.json, model.safetensors (fp32, random init), tokenizer.json,
                     tokenizer_config.json (+ chat_template.jinja when transformers writes one),
                     train.jsonl (64 chat records), eval.jsonl (16), alpaca.jsonl (32), text.jsonl (32)

The model is a LlamaForCausalLM (hidden 64, 2 layers, 4 heads, 2 KV heads, MLP 128). Its tokenizer
is a byte-level BPE trained here with `tokenizers` on the fixture's own text (vocabulary 400, with
<|endoftext|> (pad), <|im_start|> and <|im_end|> (EOS) as special tokens) and carries a ChatML chat
template in the Qwen2.5 style without a default system prompt. Seeded, offline, a few seconds.
"""

import json
import random
import shutil

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from chat_fixture_text import FOLLOW_UPS, QA, SYSTEM_PROMPTS
from fixture_lib import fail_unless

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
VOCAB_SIZE = 400
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def chat_records(rng, count):
    records = []
    for i in range(count):
        question, answer = QA[i % len(QA)]
        messages = []
        if i % 4 == 1:
            messages.append({"role": "system", "content": SYSTEM_PROMPTS[i % len(SYSTEM_PROMPTS)]})
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        if i % 3 == 2:  # multi-turn: every assistant turn is supervised
            follow, reply = FOLLOW_UPS[rng.randrange(len(FOLLOW_UPS))]
            messages += [{"role": "user", "content": follow}, {"role": "assistant", "content": reply}]
        records.append({"messages": messages})
    return records


def alpaca_records(count):
    records = []
    for i in range(count):
        question, answer = QA[(i * 7) % len(QA)]
        if i % 2:
            records.append({"instruction": "Answer the question in one sentence.", "input": question, "output": answer})
        else:
            records.append({"instruction": question, "input": "", "output": answer})
    return records


def text_records(count):
    return [{"text": f"{QA[i % len(QA)][1]} {QA[(i + 5) % len(QA)][1]}"} for i in range(count)]


def write_jsonl(path, records):
    with open(path, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def train_tokenizer(corpus):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   chat_template=CHATML_TEMPLATE)


def build(out, seed=4242):
    case_dir = out / "tiny_chat"
    if case_dir.exists():
        shutil.rmtree(case_dir)
    case_dir.mkdir(parents=True)
    rng = random.Random(seed)
    train, evals = chat_records(rng, 64), chat_records(rng, 80)[64:]
    alpaca, text = alpaca_records(32), text_records(32)

    corpus = [q + " " + a for q, a in QA + FOLLOW_UPS] + SYSTEM_PROMPTS + [r["instruction"] for r in alpaca]
    tokenizer = train_tokenizer(corpus * 4)
    tokenizer.save_pretrained(case_dir)
    fail_unless(len(tokenizer) == VOCAB_SIZE, f"tiny_chat: tokenizer has {len(tokenizer)} tokens, want {VOCAB_SIZE}")

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, intermediate_size=128, max_position_embeddings=512,
                         tie_word_embeddings=False, bos_token_id=None,
                         eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
                         pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"))
    model = LlamaForCausalLM(config).to(torch.float32).eval()
    model.save_pretrained(case_dir)
    fail_unless((case_dir / "model.safetensors").exists(), "tiny_chat: no model.safetensors written")

    write_jsonl(case_dir / "train.jsonl", train)
    write_jsonl(case_dir / "eval.jsonl", evals)
    write_jsonl(case_dir / "alpaca.jsonl", alpaca)
    write_jsonl(case_dir / "text.jsonl", text)
    return {"name": "tiny_chat", "vocab_size": len(tokenizer), "train": len(train), "eval": len(evals),
            "alpaca": len(alpaca), "text": len(text)}
