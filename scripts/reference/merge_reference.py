"""Checks a directory written by `llmft merge` against PEFT.

Loads the merged directory with transformers (AutoModelForCausalLM, fp32, eager attention) and the
base model with the PEFT adapter applied unmerged (PeftModel.from_pretrained), runs the same token
ids through both and writes {"max_abs_diff": ..., "tie_word_embeddings": ...} as JSON.
"""
import argparse
import warnings
import json
import sys

import torch


def logits(model, ids):
    model.eval()
    with torch.no_grad():
        return model(input_ids=ids).logits.float()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="base HF model directory")
    parser.add_argument("--adapter", required=True, help="PEFT adapter directory")
    parser.add_argument("--merged", required=True, help="llmft merge's output directory")
    parser.add_argument("--ids", required=True, help="JSON list of lists of token ids (one batch)")
    parser.add_argument("--out", required=True, help="output JSON file")
    args = parser.parse_args()

    warnings.filterwarnings("ignore")  # deprecation and tied-weight notices, not results
    import peft
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    ids = torch.tensor(json.loads(args.ids), dtype=torch.int64)
    load = dict(dtype=torch.float32, attn_implementation="eager")

    base = transformers.AutoModelForCausalLM.from_pretrained(args.base, **load)
    reference = logits(peft.PeftModel.from_pretrained(base, args.adapter), ids)
    merged_model = transformers.AutoModelForCausalLM.from_pretrained(args.merged, **load)
    merged = logits(merged_model, ids)
    result = {
        "max_abs_diff": (reference - merged).abs().max().item(),
        "tie_word_embeddings": bool(merged_model.config.tie_word_embeddings),
    }
    with open(args.out, "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
