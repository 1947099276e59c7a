"""Runs `mesh bench --paced` and llama.cpp's bench.mjs side by side, both loaded at once, and gives them
rounds in turn (the order flips every round), so that each pair of rounds sees nearly the same memory
bandwidth. Prints each pair, then the medians of the per-pair ratios. Called by scripts/bench-llamacpp.

With --one-at-a-time K only one engine is loaded at a time: each turn starts an engine (its warm-up
round reads the weights back into memory), runs K rounds and stops it; turns go mesh, llama, llama,
mesh, ... so drift favours neither. For checkpoints that do not fit in memory twice (llama.cpp repacks
Q4_K weights into its own memory, ExpertMesh reads them from the page cache). Round i of one engine
is then paired with round i of the other.

Usage: alternate.py MODEL_DIR MODEL.gguf BENCH_MJS --rounds N --prompt-len P --gen G --threads T [--one-at-a-time K]
"""
import argparse
import json
import statistics
import subprocess
import sys
import time


# The command whose messages these are (scripts/bench_builds.py sets its own).
PROGRAM = "bench-llamacpp"


def start(name, command):
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    line = proc.stdout.readline()
    if not line or not json.loads(line).get("ready"):
        sys.exit(f"{PROGRAM}: {name} did not start: {' '.join(command)}")
    return proc, json.loads(line)


def one_round(name, proc):
    proc.stdin.write("go\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        sys.exit(f"{PROGRAM}: {name} stopped in the middle of a round")
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
    p.add_argument("--one-at-a-time", type=int, default=0, metavar="K")
    a = p.parse_args()
    common = ["--prompt-len", str(a.prompt_len), "--gen", str(a.gen), "--threads", str(a.threads)]
    commands = {"mesh": ["./mesh", "bench", "--model", a.model, "--paced"] + common,
                "llama": ["node", a.bench_mjs, a.gguf] + common}
    names = {"mesh": "mesh bench", "llama": "llama.cpp"}
    begin = time.time()

    def progress(done, total, what):
        elapsed = time.time() - begin
        print(f"bench-llamacpp: {what}, {done}/{total} rounds, {elapsed:.0f}s elapsed, "
              f"ETA {elapsed / done * (total - done):.0f}s", file=sys.stderr)

    if a.one_at_a_time:
        runs = {"mesh": [], "llama": []}
        turn = 0
        while min(len(r) for r in runs.values()) < a.rounds:
            engine = ("mesh", "llama", "llama", "mesh")[turn % 4]
            turn += 1
            if len(runs[engine]) >= a.rounds:
                continue
            proc, ready = start(names[engine], commands[engine])
            if engine == "llama":
                engine_name = ready["engine"]
            try:
                for _ in range(min(a.one_at_a_time, a.rounds - len(runs[engine]))):
                    runs[engine].append(one_round(engine, proc))
                    done = sum(len(r) for r in runs.values())
                    progress(done, 2 * a.rounds, f"{engine} decode {runs[engine][-1]['decode_tok_s']:.2f} tok/s")
            finally:
                proc.stdin.close()
                proc.wait()
        pairs = [{"mesh": m, "llama": l} for m, l in zip(runs["mesh"], runs["llama"])]
        how = f"{a.rounds} rounds each, one engine loaded at a time, in turns of {a.one_at_a_time} rounds (mesh, llama, llama, mesh, ...)"
    else:
        mesh, _ = start(names["mesh"], commands["mesh"])
        llama, ready = start(names["llama"], commands["llama"])
        engine_name = ready["engine"]
        pairs = []
        try:
            for r in range(a.rounds):
                order = [("mesh", mesh), ("llama", llama)] if r % 2 == 0 else [("llama", llama), ("mesh", mesh)]
                pair = {name: one_round(name, proc) for name, proc in order}
                pairs.append(pair)
                progress(r + 1, a.rounds, f"decode {pair['mesh']['decode_tok_s']:.2f} vs {pair['llama']['decode_tok_s']:.2f} tok/s")
        finally:
            for proc in (mesh, llama):
                proc.stdin.close()
                proc.wait()
        how = f"{a.rounds} rounds in turn (order flipped every round)"

    bytes_per_token = statistics.median(p["mesh"]["weight_bytes_per_decode_token"] for p in pairs)
    print(f"{a.model}: prompt {a.prompt_len} tokens, {a.gen} decode steps, {a.threads} threads, {how}, {engine_name} via node-llama-cpp")
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
    median = {e: {k: statistics.median(p[e][k] for p in pairs) for k in ("prefill_tok_s", "decode_tok_s")} for e in ("mesh", "llama")}
    print(f"medians of the rounds, mesh / llama.cpp: prefill {median['mesh']['prefill_tok_s']:.1f} / {median['llama']['prefill_tok_s']:.1f} tok/s, "
          f"decode {median['mesh']['decode_tok_s']:.2f} / {median['llama']['decode_tok_s']:.2f} tok/s "
          f"(ratio {median['mesh']['decode_tok_s'] / median['llama']['decode_tok_s']:.2f})")


if __name__ == "__main__":
    main()
