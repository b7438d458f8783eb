"""Data preprocessing throughput: `llmft data inspect` vs Hugging Face-style preprocessing in Python.

    .venv/bin/python bench/data_bench.py [--build build] [--records 200000] [--procs N] [--work DIR]

Builds a chat JSONL of --records conversations from WordNet 3.0 (Debian's wordnet-base in
/usr/share/wordnet: each synset's words, definition and example sentences as one- and multi-turn
chats, some with a system prompt; deterministic, the same files give the same bytes), then times
the same preprocessing of it for SmolLM2-135M-Instruct (the bundled `smollm2-135m`):

  llmft, cache off   llmft data inspect RECIPE data.cache=false    (read, template, tokenize, mask)
  llmft, cache cold  llmft data inspect RECIPE data.cache=true     (the same, and the cache written)
  llmft, cache warm  the same command again                        (ids read back from the cache)
  HF, 1 process      transformers: apply_chat_template(tokenize=False), the fast tokenizer with
                     offsets in batches of 1,000 (datasets.map(batched=True) style), assistant
                     spans -> labels (-100 elsewhere), truncation to max_seq_len
  HF, N processes    the same over a multiprocessing pool of --procs workers
                     (datasets.map(num_proc=N) style; `datasets` itself is not needed)

Every timing is wall-clock, end to end: process start, tokenizer load, reading the JSONL, and
preprocessing (llmft also hashes the file). The HF tokenizer is SmolLM2's as `llmft convert`
exports it (tokenizer.json + tokenizer_config.json with the chat template), which gives llmft's
ids; the script checks that both sides count the same examples, tokens and supervised tokens.
The token cache lives in a temporary $LLMFT_CACHE_DIR. Needs a built llmft in --build and
transformers (the project venv).
"""

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# One thread per process on the HF side: the pool supplies the parallelism, as datasets does.
os.environ["TOKENIZERS_PARALLELISM"] = "false"

ROOT = Path(__file__).resolve().parent.parent
WORDNET = Path("/usr/share/wordnet")
IGNORE = -100
BATCH = 1000


# ---------------------------------------------------------------------------------------------
# The dataset


def wordnet_synsets():
    """(pos, words, definition, examples) for every synset of WordNet's data files, in file order."""
    synsets = []
    for pos, name in (("noun", "data.noun"), ("verb", "data.verb"), ("adjective", "data.adj"), ("adverb", "data.adv")):
        path = WORDNET / name
        if not path.exists():
            sys.exit(f"{path} is missing: install Debian's wordnet-base (scripts/install-deps.sh does)")
        for line in path.read_text(encoding="latin-1").splitlines():
            if line.startswith("  ") or "|" not in line:
                continue  # the license header
            fields, gloss = line.split("|", 1)
            parts = fields.split()
            count = int(parts[3], 16)
            words = [parts[4 + 2 * i].split("(")[0].replace("_", " ") for i in range(count)]
            pieces = [p.strip() for p in gloss.split(";")]
            definition = pieces[0]
            examples = [p.strip('"') for p in pieces[1:] if p.startswith('"')]
            if definition:
                synsets.append((pos, words, definition, examples))
    return synsets


SYSTEMS = ["You are a concise dictionary.", "Answer in one sentence.", "Explain words to a curious student."]


def chat_record(i, synset):
    """Record i: one of four conversation shapes, chosen by i, around one synset."""
    pos, words, definition, examples = synset
    word = words[0]
    shape = i % 4
    if shape == 0:
        messages = [{"role": "user", "content": f"Define the word '{word}'."},
                    {"role": "assistant", "content": f"{word} ({pos}): {definition}."}]
    elif shape == 1:
        answer = definition[0].upper() + definition[1:] + "."
        if examples:
            answer += f' For example: "{examples[0]}".'
        messages = [{"role": "system", "content": SYSTEMS[i % len(SYSTEMS)]},
                    {"role": "user", "content": f"What does '{word}' mean?"},
                    {"role": "assistant", "content": answer}]
    elif shape == 2:
        follow = (f'"{examples[0]}"' if examples else f"There is no common example; it means {definition}.")
        messages = [{"role": "user", "content": f"What is a {word}?" if pos == "noun" else f"What does {word} mean?"},
                    {"role": "assistant", "content": definition[0].upper() + definition[1:] + "."},
                    {"role": "user", "content": "Use it in a sentence."},
                    {"role": "assistant", "content": follow}]
    else:
        others = ", ".join(words[1:]) if len(words) > 1 else "none in WordNet"
        messages = [{"role": "user", "content": f"Give the synonyms of '{word}' and its meaning."},
                    {"role": "assistant", "content": f"Synonyms: {others}. Meaning: {definition}."}]
    return {"messages": messages}


def write_dataset(path, records):
    synsets = wordnet_synsets()
    # Synsets in a fixed stride order, so consecutive records are not neighbours in the files; past
    # the end, the next pass gives the same synsets other conversation shapes.
    stride = 7919  # a prime not dividing the synset count
    with open(path, "w", encoding="utf-8") as out:
        for i in range(records):
            synset = synsets[(i * stride + i // len(synsets)) % len(synsets)]
            out.write(json.dumps(chat_record(i, synset), ensure_ascii=False) + "\n")
    return len(synsets)


# ---------------------------------------------------------------------------------------------
# llmft


def write_recipe(path, data_path, max_seq_len):
    path.write_text(
        "model:\n  path: smollm2-135m\n  device: cpu\n"
        f"data:\n  path: {data_path}\n  format: chat\n  template: auto\n  max_seq_len: {max_seq_len}\n"
        "train:\n  seed: 42\n",
        encoding="utf-8")


def run_llmft(binary, recipe, cache, env):
    command = [str(binary), "data", "inspect", str(recipe), f"data.cache={'true' if cache else 'false'}",
               "--json", "--samples", "0"]
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{run.stderr}")
    train = json.loads(run.stdout)["train"]
    return seconds, {"examples": train["examples"], "tokens": train["tokens"],
                     "supervised": train["supervised_tokens"]}


# ---------------------------------------------------------------------------------------------
# Hugging Face-style preprocessing

_tokenizer = None
_im_end = "<|im_end|>"
_assistant_head = "<|im_start|>assistant\n"


def load_hf_tokenizer(directory):
    global _tokenizer
    from transformers import AutoTokenizer

    _tokenizer = AutoTokenizer.from_pretrained(directory)


def assistant_spans(text, messages):
    """Character spans of each assistant content and the <|im_end|> closing it, found in order."""
    spans, pos = [], 0
    for message in messages:
        if message["role"] != "assistant":
            continue
        turn = _assistant_head + message["content"] + _im_end
        at = text.find(turn, pos)
        if at < 0:
            raise ValueError("assistant turn not found in the rendered chat")
        start = at + len(_assistant_head)
        spans.append((start, start + len(message["content"]) + len(_im_end)))
        pos = start
    return spans


def preprocess_batch(args):
    """A batch of conversations -> (examples kept, tokens, supervised tokens), as SFT scripts do it."""
    conversations, max_seq_len = args
    texts = [_tokenizer.apply_chat_template(messages, tokenize=False) for messages in conversations]
    encoded = _tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
    kept = tokens = supervised = 0
    for text, messages, ids, offsets in zip(texts, conversations, encoded["input_ids"], encoded["offset_mapping"]):
        spans = assistant_spans(text, messages)
        labels = []
        for token_id, (start, _end) in zip(ids, offsets):
            inside = any(lo <= start < hi for lo, hi in spans)
            labels.append(token_id if inside else IGNORE)
        ids, labels = ids[:max_seq_len], labels[:max_seq_len]
        targets = sum(1 for label in labels[1:] if label != IGNORE)
        if targets == 0:
            continue  # nothing to learn from: dropped, as llmft drops it
        kept += 1
        tokens += len(ids)
        supervised += targets
    return kept, tokens, supervised


def read_conversations(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["messages"] for line in f if line.strip()]


def run_hf(tokenizer_dir, data_path, max_seq_len, procs):
    # One untimed load first: transformers imports its modules lazily on first use (seconds), a
    # one-time cost of Python, not of preprocessing. The timed run loads the tokenizer again.
    load_hf_tokenizer(tokenizer_dir)
    start = time.perf_counter()
    conversations = read_conversations(data_path)
    batches = [(conversations[i:i + BATCH], max_seq_len) for i in range(0, len(conversations), BATCH)]
    if procs == 1:
        load_hf_tokenizer(tokenizer_dir)
        results = [preprocess_batch(b) for b in batches]
    else:
        with multiprocessing.get_context("fork").Pool(procs, initializer=load_hf_tokenizer,
                                                     initargs=(tokenizer_dir,)) as pool:
            results = pool.map(preprocess_batch, batches, chunksize=1)
    seconds = time.perf_counter() - start
    kept, tokens, supervised = (sum(r[k] for r in results) for k in range(3))
    return seconds, {"examples": kept, "tokens": tokens, "supervised": supervised}


def export_hf_tokenizer(binary, out_dir):
    """SmolLM2's tokenizer files as `llmft convert` writes them (the weights are not kept)."""
    subprocess.run([str(binary), "convert", "smollm2-135m", "--out", str(out_dir), "--dtype", "bf16"], check=True,
                   capture_output=True)
    for weights in out_dir.glob("*.safetensors"):
        weights.unlink()
    return out_dir


# ---------------------------------------------------------------------------------------------


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=ROOT / "build", type=Path, help="build folder holding llmft (default: build)")
    parser.add_argument("--records", default=200_000, type=int, help="conversations in the dataset (default 200000)")
    parser.add_argument("--max-seq-len", default=2048, type=int)
    parser.add_argument("--procs", default=len(os.sched_getaffinity(0)), type=int,
                        help="HF pool size (default: all cores this process may use, as nproc counts them)")
    parser.add_argument("--work", default=None, type=Path,
                        help="keep the dataset, recipe, tokenizer export and cache here (default: a temporary folder)")
    args = parser.parse_args()

    binary = args.build.resolve() / "llmft"
    if not binary.exists():
        sys.exit(f"{binary} is missing: build llmft first (cmake --build {args.build} --target llmft)")

    with tempfile.TemporaryDirectory(prefix="llmft-data-bench-") as tmp:
        work = args.work.resolve() if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        data_path, recipe = work / "chats.jsonl", work / "recipe.yaml"
        synsets = write_dataset(data_path, args.records)
        size_mb = data_path.stat().st_size / 1e6
        print(f"dataset: {args.records} chats from {synsets} WordNet synsets, {size_mb:.1f} MB -> {data_path}",
              flush=True)
        write_recipe(recipe, data_path, args.max_seq_len)
        env = dict(os.environ, LLMFT_CACHE_DIR=str(work / "cache"))
        tokenizer_dir = export_hf_tokenizer(binary, work / "smollm2_hf")

        rows = []  # (name, seconds, counts)
        for name, cache in (("llmft, cache off", False), ("llmft, cache cold", True), ("llmft, cache warm", True)):
            seconds, counts = run_llmft(binary, recipe, cache, env)
            rows.append((name, seconds, counts))
            print(f"{name}: {seconds:.2f} s", flush=True)
        for procs in sorted({1, args.procs}):
            name = "HF, 1 process" if procs == 1 else f"HF, {procs} processes"
            seconds, counts = run_hf(str(tokenizer_dir), data_path, args.max_seq_len, procs)
            rows.append((name, seconds, counts))
            print(f"{name}: {seconds:.2f} s", flush=True)

    reference = rows[0][2]
    agree = all(counts == reference for _, _, counts in rows)
    print(f"\nexamples {reference['examples']}, tokens {reference['tokens']}, supervised {reference['supervised']}; "
          f"all runs agree: {agree}")
    hf_one = next(s for n, s, _ in rows if n == "HF, 1 process")
    hf_pool = [s for n, s, _ in rows if n.startswith("HF, ") and n != "HF, 1 process"]
    print("| run | seconds | records/s | tokens/s | vs HF 1 process | vs HF pool |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, seconds, counts in rows:
        pool = f"{hf_pool[0] / seconds:.1f}x" if hf_pool else "-"
        print(f"| {name} | {seconds:.2f} | {args.records / seconds:,.0f} | {counts['tokens'] / seconds / 1e6:.2f} M "
              f"| {hf_one / seconds:.1f}x | {pool} |")
    print(f"\n{date.today().isoformat()}, nproc {len(os.sched_getaffinity(0))}, {cpu_model()}, "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    if not agree:
        for name, _, counts in rows:
            print(f"  {name}: {counts}")
        sys.exit("the runs disagree on what the data holds")


if __name__ == "__main__":
    main()
