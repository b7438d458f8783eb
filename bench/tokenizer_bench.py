"""Encode throughput: llmft's GGUF byte-level BPE tokenizer vs HF tokenizers, one thread each.

    .venv/bin/python bench/tokenizer_bench.py [--build build] [--gguf FILE] [--mb 4] [--repeats 5]

Builds bench/tokenizer_bench.cpp against the static libraries of an existing build folder (it is
in no CMake target: performance is kept out of the test build), makes a corpus of documents (the
transformers package's Python sources: code, docstrings, English comments, until --mb megabytes),
and encodes it document by document with both tokenizers. The HF tokenizer is transformers' GGUF
import given SmolLM2's tokenizer.json pre-tokenizer, as in scripts/reference. Cold = first pass
(empty word caches), warm = best later pass. Also checks the two produce the same ids.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one thread, like the C++ side

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "reference"))


def build_bench(build_dir):
    """Compiles tokenizer_bench.cpp with the flags the build used for data/, links its libraries."""
    commands = json.loads((build_dir / "compile_commands.json").read_text())
    entry = next((e for e in commands if e["file"].endswith("data/bpe_tokenizer.cpp")), None)
    if entry is None:
        sys.exit(f"{build_dir}: no compile command for data/bpe_tokenizer.cpp (configure and build llmft_data first)")
    args = shlex.split(entry["command"])
    compiler, flags = args[0], []
    skip = False
    for arg in args[1:]:
        if skip:
            skip = False
        elif arg in ("-o", "-c"):
            skip = True
        else:
            flags.append(arg)
    torch_include = next(a for a in args if a.endswith("torch/include"))
    torch_lib = str(Path(torch_include).parent / "lib")
    out = build_dir / "bench" / "tokenizer_bench"
    out.parent.mkdir(parents=True, exist_ok=True)
    libs = [str(build_dir / "libllmft_data.a"), str(build_dir / "libllmft_io.a")]
    for lib in libs:
        if not Path(lib).exists():
            sys.exit(f"{lib} is missing: run ninja -C {build_dir} llmft_data")
    pkg = subprocess.run(["pkg-config", "--libs", "libpcre2-8", "sentencepiece"], check=True,
                         capture_output=True, text=True).stdout.split()
    cmd = [compiler, *flags, str(ROOT / "bench" / "tokenizer_bench.cpp"), "-o", str(out), *libs,
           f"-L{torch_lib}", f"-Wl,-rpath,{torch_lib}", "-ltorch", "-ltorch_cpu", "-lc10", *pkg, "-lpthread"]
    print("building", out, flush=True)
    subprocess.run(cmd, check=True, cwd=build_dir)
    return out


def make_docs(megabytes):
    import transformers

    docs, total = [], 0
    for path in sorted(Path(transformers.__file__).parent.rglob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        docs.append(text)
        total += len(text.encode("utf-8"))
        if total >= megabytes * 1e6:
            break
    return docs


def hf_tokenizer(gguf_path):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    import make_tokenizer_fixtures as fixtures

    hf = AutoTokenizer.from_pretrained(os.path.dirname(gguf_path), gguf_file=os.path.basename(gguf_path))
    tok = Tokenizer.from_str(hf.backend_tokenizer.to_str())
    tok.pre_tokenizer = fixtures.smollm_pre_tokenizer()
    return tok


def time_hf(gguf_path, docs, repeats):
    tok = hf_tokenizer(gguf_path)
    cold, warm, ids = None, float("inf"), None
    for rep in range(repeats):
        start = time.perf_counter()
        ids = [tok.encode(doc, add_special_tokens=False).ids for doc in docs]
        seconds = time.perf_counter() - start
        if rep == 0:
            cold = seconds
        else:
            warm = min(warm, seconds)
    return cold, warm, ids


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=ROOT / "build", type=Path)
    parser.add_argument("--gguf", default=None)
    parser.add_argument("--mb", default=4.0, type=float, help="corpus size in megabytes")
    parser.add_argument("--repeats", default=5, type=int)
    args = parser.parse_args()

    import make_tokenizer_fixtures as fixtures

    gguf_path = os.path.abspath(args.gguf or fixtures.default_gguf())
    binary = build_bench(args.build.resolve())
    docs = make_docs(args.mb)
    nbytes = sum(len(d.encode("utf-8")) for d in docs)

    with tempfile.TemporaryDirectory() as tmp:
        docs_path = Path(tmp) / "docs.json"
        docs_path.write_text(json.dumps(docs), encoding="utf-8")
        run = subprocess.run([str(binary), gguf_path, str(docs_path), str(args.repeats)], check=True,
                             capture_output=True, text=True)
    ours = json.loads(run.stdout)
    hf_cold, hf_warm, hf_ids = time_hf(gguf_path, docs, args.repeats)

    same = ours["ids"] == hf_ids
    tokens = ours["tokens"]
    print(f"\ncorpus: {len(docs)} documents, {nbytes / 1e6:.2f} MB, {tokens} tokens; ids identical: {same}")
    print("| tokenizer (1 thread) | cold MB/s | warm MB/s | warm tokens/s |")
    print("|---|---|---|---|")
    print(f"| llmft BpeTokenizer | {nbytes / ours['cold_s'] / 1e6:.2f} | {nbytes / ours['warm_s'] / 1e6:.2f} "
          f"| {tokens / ours['warm_s'] / 1e6:.2f} M |")
    print(f"| HF tokenizers | {nbytes / hf_cold / 1e6:.2f} | {nbytes / hf_warm / 1e6:.2f} "
          f"| {tokens / hf_warm / 1e6:.2f} M |")
    print(f"llmft vocabulary load: {ours['load_s']:.2f} s")
    if not same:
        sys.exit("the two tokenizers disagree on the corpus")


if __name__ == "__main__":
    main()
