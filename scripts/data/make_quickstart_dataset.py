#!/usr/bin/env python3
"""Builds the quickstart chat dataset from WordNet 3.0 definitions (Debian package wordnet-base).

    make_quickstart_dataset.py --out DIR [--wordnet /usr/share/wordnet] [--train 3000] [--eval 200]

Writes DIR/train.jsonl and DIR/eval.jsonl, one chat record per line:
    {"messages": [{"role": "user", "content": "Define the word 'harbor'."},
                  {"role": "assistant", "content": "harbor (noun): a sheltered port where ships can take on or discharge cargo."}]}
and DIR/NOTICE with WordNet's license, which asks that its notice travel with every copy.

Reproducible: the same WordNet files and arguments give byte-identical output (sorted candidates,
then a shuffle seeded with SEED; Python's random.shuffle is stable across versions). Train and eval
never share a word. Standard library only.
"""

import argparse
import json
import random
import re
import sys
from pathlib import Path

SEED = 20241128
PARTS = [("noun", "data.noun"), ("verb", "data.verb"), ("adjective", "data.adj")]
WORD = re.compile(r"^[a-z]{3,14}$")  # lowercase: proper nouns (Paris, Kieslowski) are left out
MAX_GLOSS = 140

WORDNET_LICENSE = """WordNet Release 3.0

This software and database is being provided to you, the LICENSEE, by Princeton University under the
following license. By obtaining, using and/or copying this software and database, you agree that you
have read, understood, and will comply with these terms and conditions.:

Permission to use, copy, modify and distribute this software and database and its documentation for
any purpose and without fee or royalty is hereby granted, provided that you agree to comply with the
following copyright notice and statements, including the disclaimer, and that the same appear on ALL
copies of the software, database and documentation, including modifications that you make for
internal use or for distribution.

WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.

THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR
WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON UNIVERSITY MAKES NO
REPRESENTATIONS OR WARRANTIES OF MERCHANTABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE
OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS,
COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS.

The name of Princeton University or Princeton may not be used in advertising or publicity pertaining
to distribution of the software and/or database. Title to copyright in this software, database and
any associated documentation shall at all times remain with Princeton University and LICENSEE agrees
to preserve same.
"""

NOTICE = """The records in train.jsonl and eval.jsonl are derived from WordNet 3.0 (word, part of speech
and the definition part of each synset's gloss), as shipped by Debian's wordnet-base package.

""" + WORDNET_LICENSE


def read_definitions(path, part):
    """(word, part, definition) for the first word of each synset in a WordNet data.* file.

    A data line is: offset lex_filenum ss_type w_cnt(hex) word lex_id [word lex_id ...] ... | gloss;
    the gloss is the definition, then optional '; "example"' sentences, which are dropped.
    """
    out = []
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith("  ") or "|" not in line:  # license header lines start with two spaces
                continue
            fields, gloss = line.split("|", 1)
            word = re.sub(r"\([a-z]+\)$", "", fields.split()[4])  # adjective markers: able(a)
            definition = gloss.strip().split('; "')[0].strip().rstrip(";").strip()
            if WORD.match(word) and 10 <= len(definition) <= MAX_GLOSS and '"' not in definition:
                out.append((word, part, definition))
    return out


def record(word, part, definition):
    answer = f"{word} ({part}): {definition}" + ("" if definition.endswith((".", "!", "?")) else ".")
    return {"messages": [{"role": "user", "content": f"Define the word '{word}'."},
                         {"role": "assistant", "content": answer}]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--train", type=int, default=3000)
    parser.add_argument("--eval", type=int, default=200)
    args = parser.parse_args()

    by_word = {}
    for part, name in PARTS:
        path = args.wordnet / name
        if not path.exists():
            print(f"make_quickstart_dataset: {path} not found (install the Debian package wordnet-base)",
                  file=sys.stderr)
            return 1
        for word, pos, definition in read_definitions(path, part):
            by_word.setdefault(word, (word, pos, definition))  # a word's first sense in PARTS order
    words = sorted(by_word)
    random.Random(SEED).shuffle(words)
    if len(words) < args.train + args.eval:
        print(f"make_quickstart_dataset: only {len(words)} words available", file=sys.stderr)
        return 1

    args.out.mkdir(parents=True, exist_ok=True)
    splits = {"eval.jsonl": words[:args.eval], "train.jsonl": words[args.eval:args.eval + args.train]}
    for name, chosen in splits.items():
        with open(args.out / name, "w", encoding="utf-8", newline="\n") as out:
            for word in chosen:
                out.write(json.dumps(record(*by_word[word]), ensure_ascii=False) + "\n")
    (args.out / "NOTICE").write_text(NOTICE, encoding="utf-8")
    print(f"make_quickstart_dataset: {args.train} train, {args.eval} eval records in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
