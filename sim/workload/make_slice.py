#!/usr/bin/python3
"""Cuts the recorded tensors hsr ships from the team's recordings of the tinylm model (a folder
holding tinylm-code-2k and tinylm-docs-4k-f16, in the manifest + .npy layout that `npy:` reads;
see sim/workload/data/README.md). Two targets:

  make_slice.py testdata SOURCE   tiny test inputs for sim/workload/io, into sim/workload/io/testdata/
    (all from layer 3 of SOURCE/tinylm-code-2k, all 4 heads, head_dim 64; total < 200 KB):
      tinylm-code-64-f16/    manifest.json (n=64) + layer03_{q,k,v}.npy, float16, first 64 positions
      tinylm-code-12-f32/    the same layout, float32, first 12 positions
      tinylm-code-8.npz      q, k, v float32 [4, 8, 64] + scale, np.savez_compressed (deflate)
      tinylm-code-2.npz      q, k, v float16 [4, 2, 64], np.savez (stored)
      tinylm-code-8.safetensors   q F32, k F16, v BF16 [4, 8, 64], __metadata__ scale/causal
  make_slice.py data SOURCE       the recorded workloads of the default grid, tests and examples,
    into sim/workload/data/ (float16, ~6 MB):
      tinylm-code-2k-f16/    layer 3 of tinylm-code-2k, all 2048 positions, 4 heads
      tinylm-docs-2k-f16/    layer 2 of tinylm-docs-4k-f16, its first 2048 positions, 4 heads
    A prefix of a causal recording is exactly the recording of the shorter text: position i
    depends on tokens 0..i only. float32 values are rounded to the nearest float16.

Each target also writes checksums.json (per file and array: shape, dtype, CRC-32 of the values as
little-endian float32 (exact), float64 sum and sum of |x|, and sample values; the C++ tests check
them), and `data` writes SHA256SUMS (`sha256sum -c SHA256SUMS` in the folder). Running it again on
the same recordings rewrites the same bytes.
"""
import hashlib
import json
import os
import struct
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def load(src, layer, name, dtype):
    a = np.load(os.path.join(src, f"layer{layer:02d}_{name}.npy"))
    assert a.dtype == dtype and a.ndim == 3, (a.dtype, a.shape)
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


def write_folder(out_root, dirname, src, layer, n, dtype, full, checks, extra=None):
    """manifest.json + layerLL_{q,k,v}.npy with the first n positions of `full` in `dtype`."""
    os.makedirs(os.path.join(out_root, dirname), exist_ok=True)
    src_manifest = json.load(open(os.path.join(src, "manifest.json")))
    files = [f"layer{layer:02d}_{x}.npy" for x in "qkv"]
    manifest = {
        "model": src_manifest.get("model", ""),
        "source": src_manifest.get("source", ""),
        "slice": f"first {n} positions of layer {layer} of {os.path.basename(src)}",
        "n": n,
        "heads": full["q"].shape[0],
        "head_dim": full["q"].shape[2],
        "layers": [layer],
        "dtype": "float16" if dtype == np.float16 else "float32",
        "layout": "[heads, n, head_dim], C order",
        "causal": src_manifest["causal"],
        "scale": src_manifest.get("scale", 0.125),
        "files": {f"layer{layer:02d}": files},
    }
    manifest.update(extra or {})
    with open(os.path.join(out_root, dirname, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    for x, fname in zip("qkv", files):
        a = np.ascontiguousarray(full[x][:, :n, :]).astype(dtype)
        np.save(os.path.join(out_root, dirname, fname), a)
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


def write_checksums(out_root, checks):
    with open(os.path.join(out_root, "checksums.json"), "w") as f:
        json.dump(checks, f, indent=1, sort_keys=True)
        f.write("\n")


def folder_bytes(root):
    total = 0
    for r, _, names in os.walk(root):
        for name in names:
            total += os.path.getsize(os.path.join(r, name))
    return total


def make_testdata(source):
    out = os.path.join(HERE, "io", "testdata")
    src = os.path.join(source, "tinylm-code-2k")
    layer = 3
    full = {x: load(src, layer, x, np.float32) for x in "qkv"}
    checks = {}
    write_folder(out, "tinylm-code-64-f16", src, layer, 64, np.float16, full, checks)
    write_folder(out, "tinylm-code-12-f32", src, layer, 12, np.float32, full, checks)

    small = {x: np.ascontiguousarray(full[x][:, :8, :]) for x in "qkv"}
    np.savez_compressed(os.path.join(out, "tinylm-code-8.npz"), scale=np.float32(0.125), **small)
    for x in "qkv":
        checks[f"tinylm-code-8.npz/{x}"] = stats(small[x], "<f4")
    tiny = {x: np.ascontiguousarray(full[x][:, :2, :]).astype(np.float16) for x in "qkv"}
    np.savez(os.path.join(out, "tinylm-code-2.npz"), **tiny)
    for x in "qkv":
        checks[f"tinylm-code-2.npz/{x}"] = stats(tiny[x].astype(np.float32), "<f2")

    q = small["q"].astype("<f4")
    k = small["k"].astype("<f2")
    v_bits = bf16_bits(small["v"])
    write_safetensors(os.path.join(out, "tinylm-code-8.safetensors"),
                      {"q": ("F32", q.shape, q.tobytes()),
                       "k": ("F16", k.shape, k.tobytes()),
                       "v": ("BF16", v_bits.shape, v_bits.tobytes())},
                      {"scale": "0.125", "causal": "true", "source": "tinylm-code-2k layer 3"})
    checks["tinylm-code-8.safetensors/q"] = stats(q, "F32")
    checks["tinylm-code-8.safetensors/k"] = stats(k.astype(np.float32), "F16")
    checks["tinylm-code-8.safetensors/v"] = stats(bf16_to_f32(v_bits), "BF16")
    write_checksums(out, checks)
    print(f"make_slice.py: wrote {len(checks)} checked arrays, testdata/ is {folder_bytes(out)} bytes")


def make_data(source):
    out = os.path.join(HERE, "data")
    checks = {}
    cuts = [  # (folder, source recording, layer, positions, its dtype)
        ("tinylm-code-2k-f16", "tinylm-code-2k", 3, 2048, np.float32),
        ("tinylm-docs-2k-f16", "tinylm-docs-4k-f16", 2, 2048, np.float16),
    ]
    for dirname, rec, layer, n, src_dtype in cuts:
        src = os.path.join(source, rec)
        full = {x: load(src, layer, x, src_dtype) for x in "qkv"}
        assert full["q"].shape[1] >= n, full["q"].shape
        extra = {"q_k": json.load(open(os.path.join(src, "manifest.json"))).get("q_k", "")}
        if src_dtype != np.float16:
            extra["slice"] = (f"first {n} positions of layer {layer} of {rec}, float32 rounded to "
                              "the nearest float16")
        write_folder(out, dirname, src, layer, n, np.float16, full, checks, extra)
    write_checksums(out, checks)
    lines = []
    for dirname, *_ in cuts:
        for name in sorted(os.listdir(os.path.join(out, dirname))):
            path = os.path.join(out, dirname, name)
            lines.append(f"{hashlib.sha256(open(path, 'rb').read()).hexdigest()}  {dirname}/{name}\n")
    with open(os.path.join(out, "SHA256SUMS"), "w") as f:
        f.writelines(lines)
    print(f"make_slice.py: wrote {len(checks)} checked arrays, data/ is {folder_bytes(out)} bytes")
    sys.stdout.writelines(lines)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("testdata", "data"):
        sys.exit("usage: make_slice.py testdata|data SOURCE   (SOURCE: the folder holding "
                 "tinylm-code-2k and tinylm-docs-4k-f16)")
    (make_testdata if sys.argv[1] == "testdata" else make_data)(sys.argv[2])


if __name__ == "__main__":
    main()
