"""Runs `mesh bench --paced` and llama.cpp's bench.mjs side by side, both loaded at once, and gives them
rounds in turn (the order flips every round), so that each pair of rounds sees nearly the same memory
bandwidth. Prints each pair, then the medians of the per-pair ratios. Called by scripts/bench-llamacpp.

Usage: alternate.py MODEL_DIR MODEL.gguf BENCH_MJS --rounds N --prompt-len P --gen G --threads T
"""
import argparse
import json
import statistics
import subprocess
import sys
import time


def start(name, command):
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    line = proc.stdout.readline()
    if not line or not json.loads(line).get("ready"):
        sys.exit(f"bench-llamacpp: {name} did not start: {' '.join(command)}")
    return proc, json.loads(line)


def one_round(name, proc):
    proc.stdin.write("go\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        sys.exit(f"bench-llamacpp: {name} stopped in the middle of a round")
    return json.loads(line)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("gguf")
    p.add_argument("bench_mjs")
    p.add_argument("--rounds", type=int, required=True)
    p.add_argument("--prompt-len", type=int, required=True)
    p.add_argument("--gen", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    a = p.parse_args()
    common = ["--prompt-len", str(a.prompt_len), "--gen", str(a.gen), "--threads", str(a.threads)]
    mesh, _ = start("mesh bench", ["./mesh", "bench", "--model", a.model, "--paced"] + common)
    llama, ready = start("llama.cpp", ["node", a.bench_mjs, a.gguf] + common)
    pairs = []
    begin = time.time()
    try:
        for r in range(a.rounds):
            order = [("mesh", mesh), ("llama", llama)] if r % 2 == 0 else [("llama", llama), ("mesh", mesh)]
            pair = {name: one_round(name, proc) for name, proc in order}
            pairs.append(pair)
            elapsed = time.time() - begin
            print(f"bench-llamacpp: round {r + 1}/{a.rounds}: decode {pair['mesh']['decode_tok_s']:.2f} vs "
                  f"{pair['llama']['decode_tok_s']:.2f} tok/s, {elapsed:.0f}s elapsed, "
                  f"ETA {elapsed / (r + 1) * (a.rounds - r - 1):.0f}s", file=sys.stderr)
    finally:
        for proc in (mesh, llama):
            proc.stdin.close()
            proc.wait()

    bytes_per_token = statistics.median(p["mesh"]["weight_bytes_per_decode_token"] for p in pairs)
    print(f"{a.model}: prompt {a.prompt_len} tokens, {a.gen} decode steps, {a.threads} threads, {a.rounds} rounds in turn "
          f"(order flipped every round), {ready['engine']} via node-llama-cpp")
    print("ExpertMesh's checkpoint in 2 MB pages: "
          f"{min(p['mesh']['checkpoint_in_2mb_pages'] for p in pairs):.0%} or more of what was resident")
    print(f"{'round':>5} {'mesh prefill':>13} {'llama prefill':>14} {'ratio':>6} {'mesh decode':>12} {'llama decode':>13} {'ratio':>6}"
          f" {'mesh GB/s':>10} {'llama GB/s':>11} {'read GB/s':>10}")
    prefill_ratios, decode_ratios = [], []
    for i, p in enumerate(pairs, 1):
        m, l = p["mesh"], p["llama"]
        pr, dr = m["prefill_tok_s"] / l["prefill_tok_s"], m["decode_tok_s"] / l["decode_tok_s"]
        prefill_ratios.append(pr)
        decode_ratios.append(dr)
        print(f"{i:>5} {m['prefill_tok_s']:>13.1f} {l['prefill_tok_s']:>14.1f} {pr:>6.2f} {m['decode_tok_s']:>12.2f}"
              f" {l['decode_tok_s']:>13.2f} {dr:>6.2f} {m['effective_weight_gb_s']:>10.1f}"
              f" {bytes_per_token * l['decode_tok_s'] / 1e9:>11.1f} {m['machine_read_gb_s']:>10.1f}")
    print(f"median ratio mesh / llama.cpp: prefill {statistics.median(prefill_ratios):.2f}, "
          f"decode {statistics.median(decode_ratios):.2f} ({bytes_per_token / 1e9:.3f} GB of weights read per decode token by both)")


if __name__ == "__main__":
    main()
