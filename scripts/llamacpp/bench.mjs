// llama.cpp (node-llama-cpp's prebuilt CPU build) on a GGUF written by to_gguf.py, measured like
// `mesh bench --paced`: after a warm-up round it prints {"ready":true}, then for every line read from
// stdin runs one round (the prefill of a prompt of --prompt-len token ids, then --gen greedy decode
// steps) and prints it as one JSON line. With --prompt-ids it instead prints the greedy ids generated
// after those ids (to check the conversion against the reference).
import {createInterface} from "node:readline";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import {parseArgs} from "node:util";

const {values: o, positionals} = parseArgs({allowPositionals: true, options: {
    threads: {type: "string", default: "2"},
    "prompt-len": {type: "string", default: "512"}, gen: {type: "string", default: "64"},
    "prompt-ids": {type: "string"}}});
if (positionals.length !== 1) {
    console.error("usage: node bench.mjs MODEL.gguf [--threads N] [--prompt-len P] [--gen G] [--prompt-ids 1,2,3]");
    process.exit(2);
}
const threads = Number(o.threads), gen = Number(o.gen);
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
    await run(prompt);
    console.log(JSON.stringify({ready: true, engine: "llama.cpp " + llama.llamaCppRelease.release}));
    for await (const _ of createInterface({input: process.stdin})) {
        const {prefill, decode} = await run(prompt);
        console.log(JSON.stringify({prefill_tok_s: prefill, decode_tok_s: decode}));
    }
}
await context.dispose();
await model.dispose();
await llama.dispose();
