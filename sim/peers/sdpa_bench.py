#!/usr/bin/env python3
"""Time PyTorch's scaled_dot_product_attention (flash backend, fp16/bf16) on a GPU and print one
JSON row per dtype with the same keys as hsr's result rows (sim/bench/result_row.h), so reports can put
SDPA beside `hsr bench --format json` rows (runs where PyTorch and the GPU are, e.g. the device
machine; not part of CI).

Workloads:
  gaussian (default): Q, K, V ~ N(0, 1) drawn on the device from --seed (not bit-identical to
    hsr's gaussian generator, same distribution and shapes);
  --npy DIR [--layer L]: a recorded folder as `hsr ... --workload npy:DIR` reads it
    (manifest.json + layerLL_{q,k,v}.npy, [heads, n, d], float32 or float16).

Timing: CUDA events around each call after warm-up calls, median / p10 / p90 over --repeats
calls; times per query token (call time / m) in microseconds like hsr rows. gbs counts the K and
V bytes one call must read; roofline_frac divides by a device-to-device copy (read + write) measured
in the same run. max_abs_err / rel_l2_err: against a float64 reference on up to --oracle-rows
sampled query rows computed from the same (rounded) inputs.

Examples (the decode and prefill points of gpu/NOTES.md):
  python3 sim/peers/sdpa_bench.py --mode decode --n 1048576 --d 128 --heads 32 --kv-heads 8
  python3 sim/peers/sdpa_bench.py --mode prefill --n 32768 --d 128 --heads 32 --kv-heads 8
"""
import argparse
import json
import math
import os
import socket
import subprocess
import sys


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mode", choices=["decode", "prefill"], default="decode")
    p.add_argument("--n", type=int, default=1 << 20, help="keys (gaussian workload)")
    p.add_argument("--m", type=int, default=None,
                   help="queries per head (default: 1 for decode, n for prefill)")
    p.add_argument("--d", type=int, default=128)
    p.add_argument("--heads", type=int, default=32, help="query heads")
    p.add_argument("--kv-heads", type=int, default=None, help="kv heads (default: heads)")
    p.add_argument("--dtype", default="fp16,bf16", help="comma list of fp16, bf16")
    p.add_argument("--npy", default=None, help="recorded workload folder (manifest.json)")
    p.add_argument("--layer", type=int, default=None)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--oracle-rows", type=int, default=8)
    p.add_argument("--no-causal", action="store_true", help="prefill without the causal mask")
    a = p.parse_args(argv)
    if a.kv_heads is None:
        a.kv_heads = a.heads
    for name in ("n", "d", "heads", "kv_heads", "repeats"):
        if getattr(a, name) < 1:
            p.error(f"expected --{name.replace('_', '-')} >= 1, got {getattr(a, name)}")
    if a.heads % a.kv_heads:
        p.error(f"expected heads a multiple of kv-heads, got {a.heads} and {a.kv_heads}")
    for t in a.dtype.split(","):
        if t not in ("fp16", "bf16"):
            p.error(f"expected --dtype among fp16,bf16, got '{t}'")
    return a


def commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, check=True, cwd=os.path.dirname(os.path.abspath(__file__)))
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load_npy(torch, folder, layer):
    import numpy as np
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    files = manifest["files"]
    key = f"layer{layer:02d}" if layer is not None else sorted(files)[0]
    if key not in files:
        raise SystemExit(f"sdpa_bench: error: expected a layer among {sorted(files)}, got {key}")
    q, k, v = (torch.from_numpy(np.load(os.path.join(folder, name)).astype(np.float32))
               for name in files[key])
    scale = manifest.get("scale")
    return q, k, v, scale, f"npy:{folder},{key}"


def device_copy_gbs(torch, nbytes=1 << 30, repeats=7):
    src = torch.ones(nbytes // 4, dtype=torch.float32, device="cuda")
    dst = torch.empty_like(src)
    times = []
    for r in range(repeats + 1):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        dst.copy_(src)
        e.record()
        e.synchronize()
        if r > 0:
            times.append(s.elapsed_time(e))
    times.sort()
    return 2.0 * nbytes / (times[len(times) // 2] * 1e6)


def main(argv):
    a = parse_args(argv)
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    if not torch.cuda.is_available():
        raise SystemExit("sdpa_bench: error: expected a CUDA device, got none")
    dev = torch.device("cuda")
    torch.manual_seed(a.seed)
    causal = a.mode == "prefill" and not a.no_causal
    if a.npy:
        q32, k32, v32, scale, workload = load_npy(torch, a.npy, a.layer)
        hq, n, d = q32.shape[0], k32.shape[1], k32.shape[2]
        hkv = k32.shape[0]
        m = a.m if a.m is not None else (1 if a.mode == "decode" else q32.shape[1])
        q32 = q32[:, -m:, :]  # the last m positions query (decode: the newest token)
        q32, k32, v32 = q32.to(dev), k32.to(dev), v32.to(dev)
    else:
        hq, hkv, n, d = a.heads, a.kv_heads, a.n, a.d
        m = a.m if a.m is not None else (1 if a.mode == "decode" else n)
        scale = None
        workload = f"gaussian:n={n},d={d},seed={a.seed} (torch.randn on the device)"
        gen = torch.Generator(device=dev).manual_seed(a.seed)
        q32 = torch.randn(hq, m, d, device=dev, generator=gen)
        k32 = torch.randn(hkv, n, d, device=dev, generator=gen)
        v32 = torch.randn(hkv, n, d, device=dev, generator=gen)
    dv = v32.shape[2]
    scale = scale if scale is not None else 1.0 / math.sqrt(d)
    read_gbs = device_copy_gbs(torch)
    name = torch.cuda.get_device_name(dev)
    rows = []
    for tname in a.dtype.split(","):
        dt = torch.float16 if tname == "fp16" else torch.bfloat16
        q = q32.to(dt).unsqueeze(0)  # [1, Hq, m, d]
        k = k32.to(dt).unsqueeze(0)  # [1, Hkv, n, d]
        v = v32.to(dt).unsqueeze(0)
        notes = []
        attn_mask, is_causal = None, False
        if causal:
            if m == n:
                is_causal = True  # top-left == bottom-right when m == n
            else:
                from torch.nn.attention.bias import causal_lower_right
                attn_mask = causal_lower_right(m, n)  # bottom-right aligned, as hsr
        kwargs = dict(attn_mask=attn_mask, is_causal=is_causal, scale=scale)
        k_call, v_call = k, v
        if hq != hkv:
            kwargs["enable_gqa"] = True

        def call():
            with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
                return F.scaled_dot_product_attention(q, k_call, v_call, **kwargs)

        try:
            out = call()
        except RuntimeError as e:
            if hq == hkv:
                raise
            # Flash without native GQA support in this torch: expand K/V (more bytes than needed).
            notes.append(f"flash refused enable_gqa ({str(e).splitlines()[0]}); K/V expanded")
            kwargs.pop("enable_gqa")
            k_call = k.repeat_interleave(hq // hkv, dim=1)
            v_call = v.repeat_interleave(hq // hkv, dim=1)
            out = call()
        for _ in range(a.warmup):
            call()
        torch.cuda.synchronize()
        times = []
        for _ in range(a.repeats):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            call()
            e.record()
            e.synchronize()
            times.append(s.elapsed_time(e) * 1e3)  # us per call
        times.sort()

        def pct(p):
            return times[min(len(times) - 1, int(p * len(times)))]

        # float64 reference on sampled rows of the same rounded inputs.
        g = torch.Generator().manual_seed(a.seed + 1)
        total_rows = hq * m
        sample = torch.randperm(total_rows, generator=g)[:a.oracle_rows].tolist()
        max_abs, num, den = 0.0, 0.0, 0.0
        group = hq // hkv
        for row in sample:
            h, i = divmod(row, m)
            visible = min(n, i + n - m + 1) if causal else n
            if visible <= 0:
                continue
            qq = q[0, h, i].double()
            kk = k[0, h // group, :visible].double()
            vv = v[0, h // group, :visible].double()
            w = torch.softmax((kk @ qq) * scale, dim=0)
            ref = w @ vv
            got = out[0, h, i].double()
            max_abs = max(max_abs, (got - ref).abs().max().item())
            num += ((got - ref) ** 2).sum().item()
            den += (ref ** 2).sum().item()
        bytes_read = float(hkv * n * (d + dv) * k.element_size())
        median = pct(0.5)
        row = {
            "commit": commit(), "host": socket.gethostname(), "cpu_target": f"CUDA:{name}",
            "threads": 1, "backend": f"sdpa-flash-{tname}", "index": None, "workload": workload,
            "seed": a.seed, "n": n, "m": m, "d": d, "dv": dv, "heads": hq, "kv_heads": hkv,
            "mode": a.mode, "causal": causal, "alpha": None, "attention": "softmax",
            "threshold": None, "b": None, "scale": scale,
            "median_us": median / m, "p10_us": pct(0.1) / m, "p90_us": pct(0.9) / m,
            "time_unit": "us per query token (call time / m; a call covers all heads)",
            "repeats": a.repeats, "samples": a.repeats, "cold": False,
            "gbs": bytes_read / (median * 1e3), "roofline_frac": bytes_read / (median * 1e3) / read_gbs,
            "read_gbs": read_gbs, "reported_mean": None, "reported_p50": None,
            "reported_p99": None, "candidates_mean": None, "bytes_read": bytes_read,
            "max_abs_err": max_abs, "rel_l2_err": math.sqrt(num / den) if den > 0 else 0.0,
            "oracle_rows": len(sample), "total_rows": total_rows, "eps_max": None,
            "eps_mean": None, "empty_rows": 0, "fallbacks": 0, "speedup": None,
            "speedup_lo": None, "speedup_hi": None, "speedup_vs": None,
        }
        rows.append(row)
        notes.append(f"torch {torch.__version__} on {name}, device copy roofline "
                     f"{read_gbs:.0f} GB/s (read + write)")
        for note in notes:  # stdout carries only the JSON rows
            print(f"sdpa_bench: sdpa-flash-{tname}: {note}", file=sys.stderr)
        print(json.dumps(row), flush=True)
        del q, k, v, k_call, v_call, out
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
