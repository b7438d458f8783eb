#!/usr/bin/env python3
"""Memory per rank of sharded optimizer state (train.zero_stage), measured on this machine.

    .venv/bin/python bench/zero_memory.py --build build [--model smollm2-135m] [--markdown docs/distributed.md]

Full fine-tuning (every weight trainable, fp32, AdamW) of the bundled SmolLM2-135M (dequantized by
`llmft convert`, as bench/cpu_train_bench.py does) on WordNet glosses, seq 256, 2 sequences per
micro-batch in all, accumulation 2, activation checkpointing on (so weights, gradients and optimizer
state dominate), 4 steps:
  * one process with batch 2;
  * `--nproc 2` with batch 1 per rank, OMP_NUM_THREADS=1, for train.zero_stage 0, 1 and 2.
Peak RSS is the largest process's ru_maxrss (wait4 on the launcher covers the ranks it reaped), so
it is the peak of the heaviest rank. The final loss shows that every layout trained the same steps.
"""
import argparse
import json
import os
import shutil
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_train_bench import REPO, make_data, make_smollm2, run_measured  # noqa: E402


def recipe(path: Path, model: Path, data: Path, batch: int, zero_stage: int, out: Path) -> None:
    path.write_text(f"""model:
  path: {model}
  dtype: fp32
  device: cpu
method: full
data:
  path: {data}
  format: text
  max_seq_len: 256
  truncation: right
  cache: false
train:
  batch_size: {batch}
  grad_accum_steps: 2
  max_steps: 4
  lr: 1.0e-5
  lr_scheduler: constant
  warmup_steps: 0
  weight_decay: 0.0
  activation_checkpointing: true
  zero_stage: {zero_stage}
  seed: 0
output:
  dir: {out}
  save_every_steps: 0
  log_every_steps: 1
""")


def measure(llmft: Path, work: Path, model: Path, data: Path, nproc: int, zero_stage: int) -> dict:
    out = work / f"zero-run-{nproc}-{zero_stage}"
    shutil.rmtree(out, ignore_errors=True)
    path = work / f"zero-recipe-{nproc}-{zero_stage}.yaml"
    recipe(path, model, data, 2 // nproc, zero_stage, out)
    env = dict(os.environ, LLMFT_CACHE_DIR=str(work / "cache"))
    command = [str(llmft), "train", str(path)]
    if nproc > 1:
        command += ["--nproc", str(nproc)]
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // nproc))
    times, rss, _ = run_measured(command, env=env)
    rows = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines() if l.strip()]
    rows = [r for r in rows if "loss" in r]
    tokens = sum(r["tokens"] for r in rows[1:])
    shutil.rmtree(out, ignore_errors=True)
    return {"peak_rss": rss, "rank0_peak": rows[-1]["peak_memory_bytes"], "final_loss": rows[-1]["loss"],
            "tokens_per_s": tokens / (times[-1] - times[0])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--markdown", default=None)
    args = parser.parse_args()
    llmft = REPO / args.build / "llmft"
    work = REPO / args.build / "bench-cpu"
    work.mkdir(parents=True, exist_ok=True)
    model = make_smollm2(work, llmft)
    data = work / "wordnet-long.jsonl"
    if not data.exists():
        make_data(data, records=400, chars=4000)
    layouts = [("1 process, batch 2", 1, 0)] + [(f"--nproc 2, zero_stage {s}", 2, s) for s in (0, 1, 2)]
    results = []
    for label, nproc, stage in layouts:
        r = measure(llmft, work, model, data, nproc, stage)
        print(f"{label:28s} peak {r['peak_rss'] / 2**20:7.0f} MiB (rank 0 {r['rank0_peak'] / 2**20:6.0f} MiB)"
              f"  {r['tokens_per_s']:6.1f} tok/s  loss {r['final_loss']:.6f}", flush=True)
        results.append((label, r))
    base = results[1][1]["peak_rss"]
    lines = [f"\n{date.today().isoformat()}, `bench/zero_memory.py`: SmolLM2-135M full fine-tuning, fp32, seq 256, "
             "2 sequences x 2 accumulation per step, activation checkpointing, 4 steps.\n",
             "| layout | peak RSS of the largest process | vs. zero_stage 0 | tokens/s | final loss |",
             "| --- | --- | --- | --- | --- |"]
    for label, r in results:
        lines.append(f"| {label} | {r['peak_rss'] / 2**20:.0f} MiB | {r['peak_rss'] / base:.2f}x | "
                     f"{r['tokens_per_s']:.0f} | {r['final_loss']:.6f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "a") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
