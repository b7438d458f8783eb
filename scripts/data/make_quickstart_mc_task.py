#!/usr/bin/env python3
"""Builds a small multiple-choice task from WordNet 3.0 definitions (Debian package wordnet-base).

    make_quickstart_mc_task.py --out FILE.jsonl [--wordnet /usr/share/wordnet] [--items 300]

Writes FILE.jsonl, one item per line, in the format `llmft eval` reads (docs/eval.md):
    {"context": "Question: Which is the definition of 'harbor'?\\nAnswer:",
     "choices": ["a sheltered port where ships can take on or discharge cargo", "...", "...", "..."],
     "gold": 0}
four definitions of the same part of speech, one of them the word's own (its first sense), the
gold position drawn at random; and FILE.NOTICE with WordNet's license, which asks that its notice
travel with every copy.

The asked words are never words of the quickstart's training split: the candidates are ordered
exactly as make_quickstart_dataset.py orders them (same filter, same seeded shuffle), and the
items take the quickstart's held-out words first (its first 200), then words past its training
words (after the first 3,200). So `llmft eval` on this task before and after `make quickstart`
measures what fine-tuning taught about unseen words.

Reproducible: the same WordNet files and arguments give byte-identical output (seeded
random.Random, stable across Python versions). Standard library only.
"""

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_quickstart_dataset import PARTS, SEED, WORDNET_LICENSE, read_definitions  # noqa: E402

MC_SEED = 20241129
CHOICES = 4
QUICKSTART_EVAL, QUICKSTART_TRAIN = 200, 3000  # make_quickstart_dataset.py's defaults

NOTICE = """The items of {name} are derived from WordNet 3.0 (words and the definition part of each
synset's gloss), as shipped by Debian's wordnet-base package.

""" + WORDNET_LICENSE


def item(word, definition, distractors, rng):
    choices = list(distractors)
    gold = rng.randrange(CHOICES)
    choices.insert(gold, definition)
    return {"context": f"Question: Which is the definition of '{word}'?\nAnswer:", "choices": choices, "gold": gold}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="the task file to write (JSONL)")
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--items", type=int, default=300)
    args = parser.parse_args()

    by_word = {}
    for part, name in PARTS:
        path = args.wordnet / name
        if not path.exists():
            print(f"make_quickstart_mc_task: {path} not found (install the Debian package wordnet-base)",
                  file=sys.stderr)
            return 1
        for word, pos, definition in read_definitions(path, part):
            by_word.setdefault(word, (word, pos, definition))
    words = sorted(by_word)
    random.Random(SEED).shuffle(words)  # the quickstart dataset's order
    unseen = words[:QUICKSTART_EVAL] + words[QUICKSTART_EVAL + QUICKSTART_TRAIN:]
    if len(unseen) < args.items:
        print(f"make_quickstart_mc_task: only {len(unseen)} words available", file=sys.stderr)
        return 1

    # Distractors: definitions of other words of the same part of speech, sorted for reproducibility.
    by_part = {}
    for word in sorted(by_word):
        _, pos, definition = by_word[word]
        by_part.setdefault(pos, []).append(definition)

    rng = random.Random(MC_SEED)
    lines = []
    for word in unseen[:args.items]:
        _, pos, definition = by_word[word]
        distractors = []
        while len(distractors) < CHOICES - 1:
            other = rng.choice(by_part[pos])
            if other != definition and other not in distractors:
                distractors.append(other)
        lines.append(json.dumps(item(word, definition, distractors, rng), ensure_ascii=False))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
    args.out.with_suffix(".NOTICE").write_text(NOTICE.format(name=args.out.name), encoding="utf-8")
    print(f"make_quickstart_mc_task: {args.items} items in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
