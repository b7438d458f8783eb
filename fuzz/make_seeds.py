#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (small real files, a few KB each).

Run with the project venv (it has torch, safetensors, gguf, tokenizers):
    .venv/bin/python fuzz/make_seeds.py
The outputs are committed; rerun only to change them. Layouts of the multi-part inputs (recipe,
tokenizer_json, chat_template) are described in fuzz/targets/<name>.cpp.
"""
import json
import pathlib
import shutil

import numpy as np
import torch
from safetensors.torch import save_file
import gguf
from tokenizers import Tokenizer, decoders, models, normalizers

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def out(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


def safetensors_seeds():
    tmp = CORPUS / "safetensors"
    tmp.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    save_file({"model.embed_tokens.weight": torch.randn(8, 4, generator=g),
               "model.norm.weight": torch.ones(4, dtype=torch.bfloat16),
               "lm_head.weight": torch.randn(8, 4, generator=g).half()},
              str(tmp / "tiny_llama.safetensors"), metadata={"format": "pt"})
    save_file({"ids": torch.arange(6, dtype=torch.int64).reshape(2, 3),
               "mask": torch.tensor([True, False, True]),
               "scalar": torch.tensor(1.5, dtype=torch.float64),
               "empty": torch.zeros(0, 3, dtype=torch.int32),
               "bytes": torch.arange(5, dtype=torch.uint8),
               "small": torch.tensor([-1, 2], dtype=torch.int8)},
              str(tmp / "dtypes.safetensors"))
    save_file({}, str(tmp / "empty.safetensors"), metadata={"note": "no tensors"})


def gguf_seeds():
    tmp = CORPUS / "gguf"
    tmp.mkdir(parents=True, exist_ok=True)
    # A llama-shaped model: 1 block, hidden 8, 2 heads, vocab 8, gpt2 tokenizer, F32/F16/Q8_0 tensors.
    w = gguf.GGUFWriter(str(tmp / "tiny_llama.gguf"), "llama")
    w.add_name("tiny")
    w.add_block_count(1)
    w.add_context_length(64)
    w.add_embedding_length(8)
    w.add_feed_forward_length(16)
    w.add_head_count(2)
    w.add_head_count_kv(1)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(0)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    tokens = ["a", "b", "ab", "Ġ", "c", "abc", "<s>", "</s>"]
    w.add_token_list(tokens)
    w.add_token_types([1, 1, 1, 1, 1, 1, 3, 3])
    w.add_token_merges(["a b", "ab c"])
    w.add_bos_token_id(6)
    w.add_eos_token_id(7)
    w.add_chat_template("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}")
    rng = np.random.default_rng(0)
    w.add_tensor("token_embd.weight", rng.standard_normal((8, 8)).astype(np.float32))
    w.add_tensor("output_norm.weight", np.ones(8, dtype=np.float32))
    w.add_tensor("blk.0.attn_norm.weight", np.ones(8, dtype=np.float16))
    q = gguf.quants.quantize(rng.standard_normal((8, 32)).astype(np.float32), gguf.GGMLQuantizationType.Q8_0)
    w.add_tensor("blk.0.attn_q.weight", q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    # Every metadata value type, nested arrays, a custom alignment and no tensors.
    w = gguf.GGUFWriter(str(tmp / "metadata_types.gguf"), "qwen2")
    w.add_uint8("t.u8", 7)
    w.add_int8("t.i8", -7)
    w.add_uint16("t.u16", 700)
    w.add_int16("t.i16", -700)
    w.add_uint32("t.u32", 70000)
    w.add_int32("t.i32", -70000)
    w.add_float32("t.f32", 1.5)
    w.add_uint64("t.u64", 1 << 40)
    w.add_int64("t.i64", -(1 << 40))
    w.add_float64("t.f64", 2.25)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo")
    w.add_array("t.arr_int", [1, 2, 3])
    w.add_array("t.arr_str", ["x", "yz"])
    w.add_array("t.arr_nested", [[1, 2], [3]])
    w.add_custom_alignment(64)
    w.add_tensor("x", np.arange(4, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def hf_config_seeds():
    llama = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 128256,
             "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
             "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64,
             "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
             "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                              "original_max_position_embeddings": 8192, "rope_type": "llama3"},
             "tie_word_embeddings": True, "attention_bias": False, "mlp_bias": False,
             "hidden_act": "silu", "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
             "torch_dtype": "bfloat16", "initializer_range": 0.02}
    qwen2 = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 151936,
             "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28,
             "num_attention_heads": 12, "num_key_value_heads": 2, "max_position_embeddings": 32768,
             "max_window_layers": 21, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
             "sliding_window": 32768, "use_sliding_window": False, "tie_word_embeddings": True,
             "hidden_act": "silu", "bos_token_id": 151643, "eos_token_id": 151645,
             "torch_dtype": "bfloat16", "use_cache": True}
    mistral = {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "vocab_size": 32768,
               "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
               "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
               "max_position_embeddings": 32768, "rms_norm_eps": 1e-05, "rope_theta": 1000000.0,
               "sliding_window": None, "tie_word_embeddings": False, "hidden_act": "silu",
               "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"}
    smollm2 = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 49152,
               "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
               "num_attention_heads": 9, "num_key_value_heads": 3, "max_position_embeddings": 8192,
               "rms_norm_eps": 1e-05, "rope_theta": 100000, "rope_scaling": None,
               "tie_word_embeddings": True, "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2,
               "pad_token_id": 2, "torch_dtype": "bfloat16"}
    transformers5 = dict(llama)
    del transformers5["rope_theta"], transformers5["rope_scaling"], transformers5["torch_dtype"]
    transformers5["rope_parameters"] = {"rope_theta": 500000.0, "rope_type": "default"}
    transformers5["dtype"] = "bfloat16"
    for name, cfg in [("llama3.2-1b", llama), ("qwen2.5-1.5b", qwen2), ("mistral-7b-v0.3", mistral),
                      ("smollm2-135m", smollm2), ("llama-transformers5", transformers5)]:
        out("hf_config", name + ".json", json.dumps(cfg, indent=2))


def recipe_seeds():
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        out("recipe", path.name, path.read_bytes())
    quick = (ROOT / "configs" / "quickstart.yaml").read_bytes()
    out("recipe", "quickstart_overrides.bin",
        quick + b"\0train.lr=1e-4\nlora.rank=8\nlora.target_modules=[q_proj,v_proj]\nmodel.device=cuda:1")
    out("recipe", "custom_template.bin",
        b"model:\n  path: m\ndata:\n  path: d.jsonl\n  template: custom\n  custom_template:\n    bos: true\n"
        b"    system: \"<|system|>\\n{content}<|end|>\\n\"\n    user: \"<|user|>\\n{content}<|end|>\\n\"\n"
        b"    assistant: \"<|assistant|>\\n{content}<|end|>\\n\"\n    default_system: \"Be brief.\"\n"
        b"\0data.format=sharegpt\ntrain.max_steps=3\nmethod=full")


def jsonl_seeds():
    chat = [{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"},
                          {"role": "assistant", "content": "Hello! 👋"}]},
            {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
                          {"role": "user", "content": "and 3+3?"}, {"role": "assistant", "content": "6"}]}]
    out("jsonl", "chat.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chat))
    share = [{"conversations": [{"from": "human", "value": "Name a color."}, {"from": "gpt", "value": "Blue."}]},
             {"conversations": [{"from": "system", "value": "Terse."}, {"from": "human", "value": "Hi"},
                                {"from": "gpt", "value": "Hi."}]}]
    out("jsonl", "sharegpt.jsonl", "".join(json.dumps(r) + "\n" for r in share))
    alpaca = [{"instruction": "Add the numbers.", "input": "1 2", "output": "3"},
              {"instruction": "Say hi.", "output": "hi"}]
    out("jsonl", "alpaca.jsonl", "\n".join(json.dumps(r) for r in alpaca) + "\n\n")
    out("jsonl", "text.jsonl", '{"text": "The quick brown fox."}\r\n  \n{"text": "caf\\u00e9 \\"quoted\\"\\n"}')
    out("jsonl", "array.json", "\ufeff[\n  " + ",\n  ".join(json.dumps(r) for r in chat + alpaca) + "\n]\n")


def tokenizer_json_seeds():
    byte_level = {
        "version": "1.0", "normalizer": None,
        "added_tokens": [{"id": 6, "content": "<s>", "special": True}, {"id": 7, "content": "<tool>", "special": False}],
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [6], "tokens": ["<s>"]}}},
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "ignore_merges": False,
                  "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3, "c": 4, "abc": 5, "<s>": 6, "<tool>": 7},
                  "merges": ["a b", ["ab", "c"]]}}
    config = {"bos_token": {"content": "<s>"}, "eos_token": "<s>", "pad_token": None,
              "chat_template": [{"name": "default", "template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}"}]}
    out("tokenizer_json", "byte_level.json", json.dumps(byte_level))
    out("tokenizer_json", "byte_level_with_config.bin", json.dumps(byte_level) + "\0" + json.dumps(config))
    seq = json.loads(json.dumps(byte_level))
    seq["normalizer"] = {"type": "NFC"}
    seq["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\s+"},
         "behavior": "Isolated", "invert": False},
        {"type": "Split", "pattern": {"String": "a.b"}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}]}
    seq["post_processor"] = {"type": "ByteLevel"}
    out("tokenizer_json", "sequence_nfc.json", json.dumps(seq))
    # sentencepiece flavour (Llama 2 / Mistral): byte_fallback BPE, "▁" spaces via Prepend/Replace.
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for piece in ["▁", "H", "e", "l", "o", "w", "r", "d", "▁H", "ll", "▁w", "or", "ld", "▁Hello"]:
        vocab.setdefault(piece, len(vocab))
    model = models.BPE(vocab=vocab, merges=[("▁", "H"), ("l", "l"), ("▁", "w"), ("o", "r"), ("l", "d")],
                       unk_token="<unk>", byte_fallback=True, fuse_unk=True)
    tok = Tokenizer(model)
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens(["<unk>", "<s>", "</s>"])
    spm = json.loads(tok.to_str())
    spm["post_processor"] = {"type": "TemplateProcessing",
                             "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                             "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
    spm_config = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
                  "chat_template": "{{ bos_token }}{% for m in messages %}[INST] {{ m.content }} [/INST]{% endfor %}"}
    out("tokenizer_json", "sentencepiece_style.bin", json.dumps(spm, ensure_ascii=False) + "\0" + json.dumps(spm_config))


def chat_template_seeds():
    names = {"chatml": 0, "llama3": 1, "llama2": 2, "mistral": 3, "custom": 4}
    roles = {"system": 0, "user": 1, "assistant": 2, "tool": 5}
    chatml_jinja = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
                    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
                    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
    llama3_jinja = ("{{- bos_token }}{%- if custom_tools is defined %}{%- endif %}Cutting Knowledge Date: December 2023\n"
                    "<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n{{ message['content'] | trim }}<|eot_id|>")

    def conv(msgs):
        return b"\0".join(bytes([roles[r]]) + c.encode() for r, c in msgs)

    talk = [("system", "Be brief."), ("user", "Hi there"), ("assistant", "Hello! {content} <s>"),
            ("user", "Thanks [INST]"), ("assistant", "  You're welcome.\n")]
    for name, flags, jinja in [("chatml", 16 | 1, chatml_jinja), ("llama3", 1, llama3_jinja),
                               ("llama2", 0, ""), ("mistral", 0, "{{ bos_token }}[INST] x [/INST]")]:
        out("chat_template", name + ".bin", bytes([names[name], flags]) + jinja.encode() + b"\0" + conv(talk))
    formats = [b"<|system|>\n{content}<|end|>\n", b"<|user|>\n{content}<|end|>\n",
               b"<|assistant|> {content}<|end|></s>\n", b"Default {{braces}}."]
    out("chat_template", "custom.bin", bytes([names["custom"], 2 | 4 | 8 | 1]) + b"\0" + b"\0".join(formats) + b"\0" +
        conv(talk[1:]))


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    safetensors_seeds()
    gguf_seeds()
    hf_config_seeds()
    recipe_seeds()
    jsonl_seeds()
    tokenizer_json_seeds()
    chat_template_seeds()
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    print(f"wrote {sum(1 for p in CORPUS.rglob('*') if p.is_file())} seeds, {total} bytes, under {CORPUS}")


if __name__ == "__main__":
    main()
