#!/usr/bin/env python3
"""Does a long CPU training run hold its memory flat? Samples llmft's resident set while it trains.

    .venv/bin/python bench/rss_flat.py --build build [--steps 600] [--json out.json]

Trains a LoRA adapter on the ~20M-parameter Llama shape from bench/cpu_train_bench.py (made there,
or here when missing) with checkpoints and evaluations every 50 steps, so every path that runs
repeatedly (steps, evaluation, checkpoint writes, pruning, metrics) is exercised many times.
VmRSS is read from /proc every 0.2 s and matched to the step the run has reached (metrics.jsonl).
Within a step RSS swings by the activations; between windows of 50 steps what matters is the floor
(the lowest sample: weights, optimizer state, the allocator's retained heap) and the peak. Reported
per window, plus the least-squares slope of the floors over the second half (KiB per step): a leak of
even a few hundred bytes per step shows up there. Exit status 1 when that slope exceeds
--max-slope-kib (default 4).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
import cpu_train_bench as bench  # noqa: E402  (shared model and data preparation)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def steps_done(metrics: Path) -> int:
    try:
        lines = metrics.read_text().splitlines()
    except FileNotFoundError:
        return 0
    step = 0
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line being written
        if "loss" in row:
            step = max(step, row["step"])
    return step


def slope(points):
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--max-slope-kib", type=float, default=4.0)
    parser.add_argument("--json", help="write the samples and summary here")
    parser.add_argument("--work", help="scratch directory (default BUILD/bench-cpu)")
    parser.add_argument("--chars", type=int, default=600,
                        help="characters per text: 600 leaves a mix of lengths (padded batches), 2000 "
                             "truncates every example to the same 128 tokens (one shape throughout)")
    parser.add_argument("--steps-only", action="store_true",
                        help="no evaluation and no checkpoints: isolates the training step itself")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="recipe overrides passed to llmft train, e.g. data.pad_to_multiple_of=8")
    args = parser.parse_args()

    llmft = (REPO / args.build / "llmft").resolve()
    shared = REPO / args.build / "bench-cpu"  # models, shared with cpu_train_bench.py
    shared.mkdir(parents=True, exist_ok=True)
    work = Path(args.work) if args.work else shared
    work.mkdir(parents=True, exist_ok=True)
    model = bench.make_llama20m(shared, bench.make_smollm2(shared, llmft))
    data = work / f"wordnet-{args.chars}.jsonl"
    bench.make_data(data, records=2000, chars=args.chars)
    out = work / "rss-run"
    shutil.rmtree(out, ignore_errors=True)
    recipe = work / "rss-recipe.yaml"
    bench.llmft_recipe(recipe, model, data, seq=128, batch=4, steps=args.steps, out=out)
    overrides = ["output.save_every_steps=50", "output.keep_last_n=2", "data.eval_split=0.05",
                 "eval.every_steps=50", "eval.max_batches=4", "output.log_every_steps=50"]
    if args.steps_only:
        overrides = ["output.log_every_steps=50"]
    overrides += args.overrides

    env = dict(os.environ, LLMFT_CACHE_DIR=str(work / "cache"))
    start = time.time()
    proc = subprocess.Popen([str(llmft), "train", str(recipe), *overrides], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples = []  # (seconds, step, rss KiB)
    while proc.poll() is None:
        try:
            samples.append((time.time() - start, steps_done(out / "metrics.jsonl"), rss_kib(proc.pid)))
        except (FileNotFoundError, ProcessLookupError):
            pass
        time.sleep(0.2)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.read())
        return 2

    samples = [s for s in samples if s[2] > 0]
    windows = {}  # first step of the window -> RSS samples (KiB)
    for _, step, kib in samples:
        windows.setdefault(step // 50 * 50, []).append(kib)
    table = [(first, min(v) / 1024, max(v) / 1024) for first, v in sorted(windows.items())]
    second_half = [(first, floor * 1024) for first, floor, _ in table if args.steps // 2 <= first < args.steps]
    summary = {
        "steps": args.steps,
        "seconds": round(time.time() - start, 1),
        "windows": [{"from_step": f, "floor_mib": round(lo, 1), "peak_mib": round(hi, 1)} for f, lo, hi in table],
        "floor_slope_second_half_kib_per_step": round(slope(second_half), 3),
    }
    for f, lo, hi in table:
        print(f"steps {f:4d}-{f + 49:4d}: floor {lo:7.1f} MiB, peak {hi:7.1f} MiB")
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "samples": samples}))
    return 0 if summary["floor_slope_second_half_kib_per_step"] <= args.max_slope_kib else 1


if __name__ == "__main__":
    sys.exit(main())
