#!/usr/bin/python3
"""Writes the small valid seed inputs of the libFuzzer targets into fuzz/corpus/<target>/.

Usage: fuzz/corpus/make_corpus.py   (numpy needed; every file is a few hundred bytes)
"""
import io
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def out(target, name, data):
    os.makedirs(os.path.join(HERE, target), exist_ok=True)
    with open(os.path.join(HERE, target, name), "wb") as f:
        f.write(data)


def npy_bytes(a, version=None):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


def main():
    f4 = np.arange(6, dtype="<f4").reshape(2, 3) - 2.5
    f2 = np.array([1.0, -2.0, 6e-8, np.inf, np.nan], dtype="<f2")
    out("npy", "f4_2x3.npy", npy_bytes(f4))
    out("npy", "f2_5.npy", npy_bytes(f2))
    out("npy", "f4_v2.npy", npy_bytes(f4[:1], version=(2, 0)))
    out("npy", "f4_0d.npy", npy_bytes(np.float32(3.0)))
    v3 = npy_bytes(np.zeros((1, 2), "<f4"), version=(2, 0))
    out("npy", "f4_v3.npy", v3[:6] + b"\x03" + v3[7:])

    buf = io.BytesIO()
    np.savez(buf, q=f4, k=f2)
    out("npz", "stored.npz", buf.getvalue())
    buf = io.BytesIO()
    np.savez_compressed(buf, q=f4, v=np.ones((2, 2), "<f2"))
    out("npz", "deflated.npz", buf.getvalue())

    q = np.ones((1, 2, 2), "<f4")
    k = np.full((1, 2, 2), 0.5, "<f2")
    v = np.array([0x3F80, 0xBF80, 0x7F80, 0x0001], "<u2").reshape(1, 2, 2)  # bf16 bits
    header = {"__metadata__": {"scale": "0.5"},
              "q": {"dtype": "F32", "shape": [1, 2, 2], "data_offsets": [0, 16]},
              "k": {"dtype": "F16", "shape": [1, 2, 2], "data_offsets": [16, 24]},
              "v": {"dtype": "BF16", "shape": [1, 2, 2], "data_offsets": [24, 32]}}
    text = json.dumps(header).encode()
    out("safetensors", "qkv.safetensors",
        struct.pack("<Q", len(text)) + text + q.tobytes() + k.tobytes() + v.tobytes())

    manifest = {"model": "seed", "source": "code", "n": 2, "heads": 1, "head_dim": 2,
                "layers": [0, 3], "dtype": "float32", "causal": True, "scale": 0.7071,
                "files": {"layer00": ["layer00_q.npy", "layer00_k.npy", "layer00_v.npy"],
                          "layer03": ["layer03_q.npy", "layer03_k.npy", "layer03_v.npy"]}}
    out("manifest", "manifest.json", json.dumps(manifest, indent=1).encode())
    del manifest["dtype"], manifest["source"]  # causal stays: it is required
    manifest["layers"] = [0]
    del manifest["files"]["layer03"]
    out("manifest", "minimal.json", json.dumps(manifest).encode())


if __name__ == "__main__":
    main()
