// llama.cpp (node-llama-cpp's prebuilt CPU build) on a GGUF written by to_gguf.py, measured like
// `mesh bench`: per round, the prefill of a prompt of --prompt-len token ids, then --gen greedy decode
// steps; one warm-up round first; prints one JSON line with the medians. With --prompt-ids it instead
// prints the greedy ids generated after those ids (to check the conversion against the reference).
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import {parseArgs} from "node:util";

const {values: o, positionals} = parseArgs({allowPositionals: true, options: {
    threads: {type: "string", default: "2"}, rounds: {type: "string", default: "3"},
    "prompt-len": {type: "string", default: "512"}, gen: {type: "string", default: "64"},
    "prompt-ids": {type: "string"}}});
if (positionals.length !== 1) {
    console.error("usage: node bench.mjs MODEL.gguf [--threads N] [--rounds R] [--prompt-len P] [--gen G] [--prompt-ids 1,2,3]");
    process.exit(2);
}
const threads = Number(o.threads), rounds = Number(o.rounds), gen = Number(o.gen);
const fixed = o["prompt-ids"]?.split(",").map(Number);
const promptLen = fixed ? fixed.length : Number(o["prompt-len"]);
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: positionals[0], gpuLayers: 0});
const context = await model.createContext({contextSize: promptLen + gen + 16, batchSize: promptLen, threads, flashAttention: false});
const seq = context.getSequence();

async function run(prompt) {
    await seq.clearHistory();
    const ids = [];
    const t0 = performance.now();
    let t1 = t0;
    for await (const token of seq.evaluate(prompt, {temperature: 0})) {
        if (ids.length === 0) t1 = performance.now();
        ids.push(token);
        if (ids.length > gen) break;
    }
    return {ids: ids.slice(0, gen), prefill: promptLen / ((t1 - t0) / 1000), decode: gen / ((performance.now() - t1) / 1000)};
}

if (fixed) {
    console.log(JSON.stringify({generated_ids: (await run(fixed)).ids}));
} else {
    const prompt = Array.from({length: promptLen}, (_, i) => 259 + ((i * 7919 + 17) % 50000));
    const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const prefill = [], decode = [];
    for (let r = 0; r <= rounds; r++) {
        const result = await run(prompt);
        if (r === 0) continue;
        prefill.push(result.prefill);
        decode.push(result.decode);
        console.error(`llama.cpp: round ${r}/${rounds}: prefill ${result.prefill.toFixed(1)} tok/s, decode ${result.decode.toFixed(2)} tok/s`);
    }
    console.log(JSON.stringify({engine: "llama.cpp " + llama.llamaCppRelease.release, threads, prompt_len: promptLen, gen,
        prefill_tok_s: median(prefill), decode_tok_s: median(decode), prefill, decode}));
}
await context.dispose();
await model.dispose();
await llama.dispose();
