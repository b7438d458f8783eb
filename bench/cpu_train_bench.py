#!/usr/bin/env python3
"""CPU LoRA fine-tuning, llmft against HF transformers + peft, side by side on this machine.

    .venv/bin/python bench/cpu_train_bench.py --build build [--runs 3] [--markdown docs/benchmarks.md]

Models (both sides read the same HF directory, fp32 safetensors + tokenizer.json):
  * smollm2-135m: the bundled SmolLM2-135M-Instruct GGUF, dequantized once by `llmft convert`;
  * llama-20m: a ~20M-parameter Llama shape (hidden 256, 8 layers, SmolLM2's 49,152-token
    vocabulary, tied embeddings), random weights from a fixed seed, written by transformers.
Data: WordNet 3.0 glosses joined into long texts (each longer than the sequence), `text` format,
so every example is exactly `seq` tokens and neither side pads. LoRA r16, alpha 32, no dropout, on
every linear layer of the decoder; AdamW; batch B; one optimizer step per batch; no activation
checkpointing; fp32; all cores.

Measured per run, from outside the process (the harness starts it and timestamps its output):
  * tokens/s: tokens of steps 2..N over the time between the first and the last step's line
    (step 1 holds one-off warm-up: allocator growth, oneDNN primitive creation);
  * time to first step: from the command's start to the first step's line (imports, model load,
    tokenization, first forward/backward/update);
  * peak RSS: the process's ru_maxrss from wait4.
llmft and HF alternate (A B A B ...) so drift in the machine's load hits both alike; medians and the
llmft/HF ratios are printed, and appended as a table to --markdown when given.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORDNET = Path("/usr/share/wordnet")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---- inputs ----------------------------------------------------------------------------------------

def wordnet_glosses():
    for name in ("data.noun", "data.verb", "data.adj", "data.adv"):
        with open(WORDNET / name, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue  # licence header
                yield line.split("|", 1)[1].strip()


def make_data(path: Path, records: int, chars: int) -> None:
    """`records` texts of about `chars` characters each (WordNet glosses, in file order)."""
    if path.exists():
        return
    glosses = wordnet_glosses()
    with open(path, "w", encoding="utf-8") as out:
        for _ in range(records):
            parts, size = [], 0
            while size < chars:
                gloss = next(glosses)
                parts.append(gloss)
                size += len(gloss) + 1
            out.write(json.dumps({"text": " ".join(parts)}) + "\n")


def make_smollm2(work: Path, llmft: Path) -> Path:
    out = work / "smollm2-135m"
    if not (out / "config.json").exists():
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([str(llmft), "convert", "smollm2-135m", "--out", str(out), "--dtype", "fp32"],
                       check=True, stdout=subprocess.DEVNULL)
    return out


def make_llama20m(work: Path, tokenizer_dir: Path) -> Path:
    out = work / "llama-20m"
    if (out / "config.json").exists():
        return out
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(1234)
    config = LlamaConfig(vocab_size=49152, hidden_size=256, intermediate_size=704, num_hidden_layers=8,
                         num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=8192,
                         rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True,
                         bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (tokenizer_dir / name).exists():
            shutil.copy(tokenizer_dir / name, out / name)
    return out


def parameter_count(model_dir: Path) -> int:
    from safetensors import safe_open
    total = 0
    for file in model_dir.glob("*.safetensors"):
        with safe_open(file, "pt") as f:
            for name in f.keys():
                shape = f.get_slice(name).get_shape()
                count = 1
                for d in shape:
                    count *= d
                total += count
    return total


def llmft_recipe(path: Path, model: Path, data: Path, seq: int, batch: int, steps: int, out: Path) -> None:
    path.write_text(f"""model:
  path: {model}
  dtype: fp32
  device: cpu
method: lora
lora:
  rank: 16
  alpha: 32
  dropout: 0.0
  target_modules: all-linear
data:
  path: {data}
  format: text
  max_seq_len: {seq}
  truncation: right
  cache: false
train:
  batch_size: {batch}
  grad_accum_steps: 1
  max_steps: {steps}
  lr: 1.0e-4
  lr_scheduler: constant
  warmup_steps: 0
  weight_decay: 0.0
  activation_checkpointing: false
  seed: 0
output:
  dir: {out}
  save_every_steps: 0
  log_every_steps: 1
""")


# ---- one measured run ------------------------------------------------------------------------------

def run_measured(command, env=None):
    """Runs `command`, returns (step_times, tokens_per_step, peak_rss_bytes, output).

    step_times: seconds from start to each line that begins with 'step N' (both sides print one per
    optimizer step). tokens are parsed from HF's lines; llmft's come from metrics.jsonl."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
                            bufsize=1)
    times, lines = [], []
    for line in proc.stdout:
        now = time.perf_counter() - start
        lines.append(line)
        if line.startswith("step "):
            times.append(now)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.stderr.write("".join(lines[-30:]))
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(map(str, command))}")
    return times, usage.ru_maxrss * 1024, "".join(lines)


def summarize(times, tokens_after_first):
    return {
        "first_step_s": times[0],
        "tokens_per_s": tokens_after_first / (times[-1] - times[0]),
    }


def run_llmft(llmft: Path, work: Path, model: Path, data: Path, seq: int, batch: int, steps: int):
    out = work / "llmft-run"
    shutil.rmtree(out, ignore_errors=True)
    recipe = work / "llmft-recipe.yaml"
    llmft_recipe(recipe, model, data, seq, batch, steps, out)
    env = dict(os.environ, LLMFT_CACHE_DIR=str(work / "cache"))
    times, rss, output = run_measured([str(llmft), "train", str(recipe)], env=env)
    rows = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines() if l.strip()]
    rows = [r for r in rows if "loss" in r and "step" in r]
    if len(times) != steps or len(rows) != steps:
        raise SystemExit(f"llmft printed {len(times)} step lines and {len(rows)} metric rows, expected {steps}")
    tokens = [r["tokens"] for r in rows]
    result = summarize(times, sum(tokens[1:]))
    result.update(peak_rss=rss, tokens_per_step=tokens[0], final_loss=rows[-1]["loss"])
    return result


def run_hf(python: str, model: Path, data: Path, seq: int, batch: int, steps: int):
    command = [python, str(REPO / "bench" / "cpu_train_hf.py"), "--model", str(model), "--data", str(data),
               "--seq", str(seq), "--batch", str(batch), "--steps", str(steps)]
    times, rss, output = run_measured(command)
    step_lines = [l.split() for l in output.splitlines() if l.startswith("step ")]
    if len(times) != steps:
        raise SystemExit(f"HF printed {len(times)} step lines, expected {steps}")
    tokens = [int(parts[5]) for parts in step_lines]
    result = summarize(times, sum(tokens[1:]))
    result.update(peak_rss=rss, tokens_per_step=tokens[0], final_loss=float(step_lines[-1][3]))
    return result


# ---- report ----------------------------------------------------------------------------------------

def median(runs, key):
    return statistics.median(r[key] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build", help="llmft build directory")
    parser.add_argument("--runs", type=int, default=3, help="A/B pairs per case")
    parser.add_argument("--models", default="llama-20m,smollm2-135m")
    parser.add_argument("--seqs", default="256,1024")
    parser.add_argument("--markdown", help="append the result table to this file")
    parser.add_argument("--work", default=None, help="scratch directory (default BUILD/bench-cpu)")
    args = parser.parse_args()

    llmft = (REPO / args.build / "llmft").resolve()
    work = Path(args.work) if args.work else REPO / args.build / "bench-cpu"
    work.mkdir(parents=True, exist_ok=True)
    python = sys.executable

    smollm2 = make_smollm2(work, llmft)
    model_dirs = {"smollm2-135m": smollm2, "llama-20m": make_llama20m(work, smollm2)}
    # Per case: batch and steps sized so a run takes seconds to a minute on two cores.
    plans = {  # (model, seq) -> (batch, steps)
        ("llama-20m", 256): (8, 12), ("llama-20m", 1024): (2, 12),
        ("smollm2-135m", 256): (4, 8), ("smollm2-135m", 1024): (1, 8),
    }
    data = work / "wordnet-long.jsonl"
    make_data(data, records=256, chars=6000)  # ~1,300+ tokens each: longer than every seq

    results = []
    for model_name in args.models.split(","):
        model = model_dirs[model_name]
        params = parameter_count(model)
        for seq in (int(s) for s in args.seqs.split(",")):
            batch, steps = plans[(model_name, seq)]
            case = f"{model_name} ({params / 1e6:.1f}M) seq {seq} batch {batch}"
            llmft_runs, hf_runs = [], []
            for i in range(args.runs):
                llmft_runs.append(run_llmft(llmft, work, model, data, seq, batch, steps))
                hf_runs.append(run_hf(python, model, data, seq, batch, steps))
                log(f"{case} run {i + 1}: llmft {llmft_runs[-1]['tokens_per_s']:.0f} tok/s "
                    f"{llmft_runs[-1]['peak_rss'] / 2**20:.0f} MiB {llmft_runs[-1]['first_step_s']:.2f} s | "
                    f"HF {hf_runs[-1]['tokens_per_s']:.0f} tok/s {hf_runs[-1]['peak_rss'] / 2**20:.0f} MiB "
                    f"{hf_runs[-1]['first_step_s']:.2f} s")
            row = {"case": case}
            for key in ("tokens_per_s", "peak_rss", "first_step_s"):
                row["llmft_" + key] = median(llmft_runs, key)
                row["hf_" + key] = median(hf_runs, key)
            row["tokens_per_step"] = (llmft_runs[0]["tokens_per_step"], hf_runs[0]["tokens_per_step"])
            results.append(row)

    header = ("| case | tok/s llmft / HF (ratio) | peak RSS MiB llmft / HF (ratio) | "
              "time to first step s llmft / HF (ratio) |")
    lines = [header, "| --- | --- | --- | --- |"]
    for r in results:
        lines.append(
            f"| {r['case']} | {r['llmft_tokens_per_s']:.0f} / {r['hf_tokens_per_s']:.0f} "
            f"({r['llmft_tokens_per_s'] / r['hf_tokens_per_s']:.2f}x) | "
            f"{r['llmft_peak_rss'] / 2**20:.0f} / {r['hf_peak_rss'] / 2**20:.0f} "
            f"({r['llmft_peak_rss'] / r['hf_peak_rss']:.2f}x) | "
            f"{r['llmft_first_step_s']:.2f} / {r['hf_first_step_s']:.2f} "
            f"({r['llmft_first_step_s'] / r['hf_first_step_s']:.2f}x) |")
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        import torch, transformers, peft
        with open(args.markdown, "a", encoding="utf-8") as f:
            f.write(f"\n{date.today()}, {platform.machine()} {os.cpu_count()} cores, medians of {args.runs} "
                    f"alternating runs; transformers {transformers.__version__}, peft {peft.__version__}, "
                    f"torch {torch.__version__} (both sides' kernels):\n\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
