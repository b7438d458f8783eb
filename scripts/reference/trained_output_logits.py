"""Logits of what `llmft train` wrote, computed by transformers (and PEFT for adapters).

Loads a Hugging Face model directory with AutoModelForCausalLM (fp32, eager attention), optionally
applies a PEFT adapter with PeftModel.from_pretrained, runs one batch of token ids and writes the
logits to a safetensors file for the C++ test to compare with llmft's own.
"""
import argparse
import json
import sys

import torch
from safetensors.torch import save_file


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="HF model directory (base model for --adapter)")
    parser.add_argument("--adapter", help="PEFT adapter directory")
    parser.add_argument("--ids", required=True, help="JSON list of lists of token ids (one batch)")
    parser.add_argument("--out", required=True, help="output .safetensors with 'logits'")
    args = parser.parse_args()

    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    model = transformers.AutoModelForCausalLM.from_pretrained(
        args.model, dtype=torch.float32, attn_implementation="eager")
    if args.adapter:
        import peft

        model = peft.PeftModel.from_pretrained(model, args.adapter)
    model.eval()
    ids = torch.tensor(json.loads(args.ids), dtype=torch.int64)
    with torch.no_grad():
        logits = model(input_ids=ids).logits.float().contiguous()
    save_file({"logits": logits}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
