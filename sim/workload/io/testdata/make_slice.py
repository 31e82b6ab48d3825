#!/usr/bin/python3
"""Cuts small test inputs for sim/workload/io from a recorded workload (see /work/shared/workloads).

From layer 3 of tinylm-code-2k (all 4 heads, head_dim 64) it writes, next to this script:
  tinylm-code-64-f16/    manifest.json (n=64) + layer03_{q,k,v}.npy, float16, first 64 positions
  tinylm-code-12-f32/    the same layout, float32, first 12 positions
  tinylm-code-8.npz      q, k, v float32 [4, 8, 64] + scale, np.savez_compressed (deflate)
  tinylm-code-2.npz      q, k, v float16 [4, 2, 64], np.savez (stored)
  tinylm-code-8.safetensors   q F32, k F16, v BF16 [4, 8, 64], __metadata__ scale/causal
  checksums.json         per file and array: shape, dtype, CRC-32 of the values as little-endian
                         float32 (exact), float64 sum and sum of |x|, and sample values
Total < 200 KB. Usage: make_slice.py [SOURCE_DIR]   (default /work/shared/workloads/tinylm-code-2k)
"""
import json
import os
import struct
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/workloads/tinylm-code-2k"
LAYER = 3


def load(name):
    a = np.load(os.path.join(SRC, f"layer{LAYER:02d}_{name}.npy"))
    assert a.dtype == np.float32 and a.ndim == 3, (a.dtype, a.shape)
    return a


def bf16_bits(a):
    """float32 -> bfloat16 bits, round to nearest even (NaN kept quiet)."""
    u = np.ascontiguousarray(a, dtype="<f4").view("<u4").astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")
    nan = np.isnan(a)
    r[nan] = ((u[nan] >> 16) | 0x40).astype("<u2")
    return r


def bf16_to_f32(bits):
    return (bits.astype("<u4") << 16).view("<f4")


def stats(values_f32, dtype):
    v = np.ascontiguousarray(values_f32, dtype="<f4")
    flat = v.reshape(-1)
    idx = [0, flat.size // 3, flat.size // 2, flat.size - 1]
    return {
        "shape": list(v.shape),
        "dtype": dtype,
        "crc32": zlib.crc32(v.tobytes()),
        "sum": float(flat.astype(np.float64).sum()),
        "sum_abs": float(np.abs(flat.astype(np.float64)).sum()),
        "samples": [[i, float(flat[i])] for i in idx],
    }


def write_folder(dirname, n, dtype, full, checks):
    os.makedirs(os.path.join(HERE, dirname), exist_ok=True)
    src_manifest = json.load(open(os.path.join(SRC, "manifest.json")))
    files = [f"layer{LAYER:02d}_{x}.npy" for x in "qkv"]
    manifest = {
        "model": src_manifest.get("model", ""),
        "source": src_manifest.get("source", ""),
        "slice": f"first {n} positions of layer {LAYER} of {os.path.basename(SRC)}",
        "n": n,
        "heads": full["q"].shape[0],
        "head_dim": full["q"].shape[2],
        "layers": [LAYER],
        "dtype": "float16" if dtype == np.float16 else "float32",
        "layout": "[heads, n, head_dim], C order",
        "causal": True,
        "scale": src_manifest.get("scale", 0.125),
        "files": {f"layer{LAYER:02d}": files},
    }
    with open(os.path.join(HERE, dirname, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    for x, fname in zip("qkv", files):
        a = np.ascontiguousarray(full[x][:, :n, :]).astype(dtype)
        np.save(os.path.join(HERE, dirname, fname), a)
        checks[f"{dirname}/{fname}"] = stats(a.astype(np.float32), "<f2" if dtype == np.float16 else "<f4")


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    full = {x: load(x) for x in "qkv"}
    checks = {}
    write_folder("tinylm-code-64-f16", 64, np.float16, full, checks)
    write_folder("tinylm-code-12-f32", 12, np.float32, full, checks)

    small = {x: np.ascontiguousarray(full[x][:, :8, :]) for x in "qkv"}
    np.savez_compressed(os.path.join(HERE, "tinylm-code-8.npz"), scale=np.float32(0.125), **small)
    for x in "qkv":
        checks[f"tinylm-code-8.npz/{x}"] = stats(small[x], "<f4")
    tiny = {x: np.ascontiguousarray(full[x][:, :2, :]).astype(np.float16) for x in "qkv"}
    np.savez(os.path.join(HERE, "tinylm-code-2.npz"), **tiny)
    for x in "qkv":
        checks[f"tinylm-code-2.npz/{x}"] = stats(tiny[x].astype(np.float32), "<f2")

    q = small["q"].astype("<f4")
    k = small["k"].astype("<f2")
    v_bits = bf16_bits(small["v"])
    write_safetensors(os.path.join(HERE, "tinylm-code-8.safetensors"),
                      {"q": ("F32", q.shape, q.tobytes()),
                       "k": ("F16", k.shape, k.tobytes()),
                       "v": ("BF16", v_bits.shape, v_bits.tobytes())},
                      {"scale": "0.125", "causal": "true", "source": "tinylm-code-2k layer 3"})
    checks["tinylm-code-8.safetensors/q"] = stats(q, "F32")
    checks["tinylm-code-8.safetensors/k"] = stats(k.astype(np.float32), "F16")
    checks["tinylm-code-8.safetensors/v"] = stats(bf16_to_f32(v_bits), "BF16")

    with open(os.path.join(HERE, "checksums.json"), "w") as f:
        json.dump(checks, f, indent=1, sort_keys=True)
        f.write("\n")
    total = 0
    for root, _, names in os.walk(HERE):
        for name in names:
            total += os.path.getsize(os.path.join(root, name))
    print(f"make_slice.py: wrote {len(checks)} checked arrays, testdata/ is {total} bytes")


if __name__ == "__main__":
    main()
