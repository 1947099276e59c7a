"""Runs `mesh bench --paced` of two ExpertMesh distributions side by side, both loaded at once, and
gives them rounds in turn (the order flips every round). Prints each pair, then the medians of the
per-round ratios (this checkout / base). Called by scripts/bench-builds.

Usage: bench_builds.py BASE_MESH THIS_MESH --base-name REV --model M --rounds N --prompt-len P --gen G --threads T
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "llamacpp"))
import alternate  # noqa: E402
from alternate import one_round, start  # noqa: E402

alternate.PROGRAM = "bench-builds"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("base_mesh")
    p.add_argument("this_mesh")
    p.add_argument("--base-name", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--rounds", type=int, required=True)
    p.add_argument("--prompt-len", type=int, required=True)
    p.add_argument("--gen", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    a = p.parse_args()
    common = ["bench", "--model", a.model, "--paced", "--prompt-len", str(a.prompt_len), "--gen", str(a.gen), "--threads", str(a.threads)]
    engines = {}
    try:
        for name, mesh in (("base", a.base_mesh), ("this", a.this_mesh)):
            engines[name], _ = start(f"mesh bench of {name}", [mesh] + common)
        pairs = []
        begin = time.time()
        for r in range(a.rounds):
            order = ("base", "this") if r % 2 == 0 else ("this", "base")
            pair = {name: one_round(name, engines[name]) for name in order}
            pairs.append(pair)
            elapsed = time.time() - begin
            print(f"bench-builds: decode {pair['base']['decode_tok_s']:.2f} (base) vs {pair['this']['decode_tok_s']:.2f} tok/s,"
                  f" {r + 1}/{a.rounds} rounds, {elapsed:.0f}s elapsed, ETA {elapsed / (r + 1) * (a.rounds - r - 1):.0f}s", file=sys.stderr)
    finally:
        for proc in engines.values():
            proc.stdin.close()
            proc.wait()
    print(f"{a.model}: prompt {a.prompt_len} tokens, {a.gen} decode steps, {a.threads} threads, {a.rounds} rounds in turn"
          f" (order flipped every round); base {a.base_name}, this: the checkout's working tree")
    print(f"{'round':>5} {'base prefill':>13} {'this prefill':>13} {'ratio':>6} {'base decode':>12} {'this decode':>12} {'ratio':>6}")
    prefill, decode = [], []
    for i, pair in enumerate(pairs, 1):
        b, t = pair["base"], pair["this"]
        pr, dr = t["prefill_tok_s"] / b["prefill_tok_s"], t["decode_tok_s"] / b["decode_tok_s"]
        prefill.append(pr)
        decode.append(dr)
        print(f"{i:>5} {b['prefill_tok_s']:>13.1f} {t['prefill_tok_s']:>13.1f} {pr:>6.3f} {b['decode_tok_s']:>12.2f} {t['decode_tok_s']:>12.2f} {dr:>6.3f}")
    print(f"median ratio this / base: prefill {statistics.median(prefill):.3f} ({min(prefill):.3f}-{max(prefill):.3f}),"
          f" decode {statistics.median(decode):.3f} ({min(decode):.3f}-{max(decode):.3f})")
    median = {e: {k: statistics.median(pair[e][k] for pair in pairs) for k in ("prefill_tok_s", "decode_tok_s")} for e in ("base", "this")}
    print(f"medians of the rounds, base / this: prefill {median['base']['prefill_tok_s']:.1f} / {median['this']['prefill_tok_s']:.1f} tok/s,"
          f" decode {median['base']['decode_tok_s']:.2f} / {median['this']['decode_tok_s']:.2f} tok/s")


if __name__ == "__main__":
    main()
