// Compatibility check with the official OpenAI Node client: a streaming and a non-streaming chat
// completion against a running ExpertMesh server (base URL as the first argument). Both must
// succeed and, at temperature 0, agree.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "unused", maxRetries: 0, timeout: 60_000 });
const request = {
  model: "tiny-ernie-4.5-moe",
  messages: [{ role: "user", content: "Give me a short introduction to large language model." }],
  max_tokens: 24,
  temperature: 0,
};

const whole = await client.chat.completions.create(request);
const text = whole.choices[0].message.content;
if (whole.object !== "chat.completion" || typeof text !== "string" || whole.usage.completion_tokens < 1) {
  throw new Error("unexpected non-streaming response: " + JSON.stringify(whole));
}

let streamed = "";
let finish = null;
let usage = null;
const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  for (const choice of chunk.choices) {
    streamed += choice.delta?.content ?? "";
    if (choice.finish_reason) finish = choice.finish_reason;
  }
}
if (streamed !== text) throw new Error(`streamed text ${JSON.stringify(streamed)} differs from ${JSON.stringify(text)}`);
if (finish !== whole.choices[0].finish_reason) throw new Error(`finish_reason ${finish} vs ${whole.choices[0].finish_reason}`);
if (!usage || usage.completion_tokens !== whole.usage.completion_tokens) throw new Error("usage chunk missing or different");

const models = await client.models.list();
if (!models.data.some((m) => m.id === request.model)) throw new Error("model list lacks " + request.model);

console.log(`openai-compat: OK (${usage.completion_tokens} tokens, finish_reason ${finish}, text ${JSON.stringify(text)})`);
