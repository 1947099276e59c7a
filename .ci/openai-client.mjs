// Compatibility check with the official OpenAI Node client against a running ExpertMesh server (base
// URL as the first argument): a streaming and a non-streaming chat completion, which at temperature 0
// must agree; their log probabilities, as the client reads them; n = 2 choices; logit_bias; and a tool
// call round trip.
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

// Log probabilities: one entry per token, the greedy token first among the alternatives, and the
// same entries whether streamed or not.
const withLogprobs = { ...request, logprobs: true, top_logprobs: 3 };
const scored = await client.chat.completions.create(withLogprobs);
const content = scored.choices[0].logprobs?.content;
if (!Array.isArray(content) || content.length !== scored.usage.completion_tokens) {
  throw new Error("non-streamed logprobs missing or not one per token: " + JSON.stringify(scored.choices[0]));
}
for (const entry of content) {
  if (typeof entry.token !== "string" || typeof entry.logprob !== "number" || entry.logprob > 0 || !Array.isArray(entry.bytes)
      || entry.top_logprobs.length !== 3 || entry.top_logprobs[0].token !== entry.token) {
    throw new Error("unexpected logprobs entry: " + JSON.stringify(entry));
  }
}
const streamedEntries = [];
for await (const chunk of await client.chat.completions.create({ ...withLogprobs, stream: true })) {
  for (const choice of chunk.choices) streamedEntries.push(...(choice.logprobs?.content ?? []));
}
if (JSON.stringify(streamedEntries) !== JSON.stringify(content)) {
  throw new Error(`streamed logprobs ${JSON.stringify(streamedEntries)} differ from ${JSON.stringify(content)}`);
}

// n = 2 at temperature 0: two choices, indexed 0 and 1, with the same text.
const two = await client.chat.completions.create({ ...request, n: 2 });
if (two.choices.length !== 2 || two.choices.map((c) => c.index).join() !== "0,1"
    || two.choices.some((c) => c.message.content !== text)) {
  throw new Error("unexpected n=2 response: " + JSON.stringify(two.choices));
}

// logit_bias: +100 on the id of "A" (from /tokenize) makes every token that one.
const root = process.argv[2].replace(/\/v1\/?$/, "");
const tokenized = await (await fetch(root + "/tokenize", { method: "POST", headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ model: request.model, prompt: "A" }) })).json();
const forced = tokenized.tokens[tokenized.tokens.length - 1];
const biased = await client.chat.completions.create({ ...request, max_tokens: 4, logprobs: true, logit_bias: { [forced]: 100 } });
const biasedTokens = biased.choices[0].logprobs.content.map((e) => e.token);
if (biasedTokens.length !== 4 || new Set(biasedTokens).size !== 1 || !biasedTokens[0].includes("A")) {
  throw new Error("logit_bias was not honoured: " + JSON.stringify(biasedTokens));
}

// Tool calls: a named tool_choice guides the output to a call of that tool whose arguments follow its
// schema, so even the random tiny model's streamed arguments are JSON the schema allows, and the
// whole response carries the same call. The schema is bounded (an enum and an integer of at most 15
// digits), so 160 tokens always complete the call.
const units = ["celsius", "fahrenheit"];
const tools = [{ type: "function", function: { name: "get_weather", description: "Current weather in a city",
  parameters: { type: "object", properties: { days: { type: "integer" }, unit: { type: "string", enum: units } },
    required: ["days", "unit"] } } }];
const toolRequest = { ...request, max_tokens: 160, tools, tool_choice: { type: "function", function: { name: "get_weather" } } };
const called = await client.chat.completions.create(toolRequest);
const call = called.choices[0].message.tool_calls?.[0];
if (!call || call.type !== "function" || call.function.name !== "get_weather" || !call.id.startsWith("call_")
    || typeof call.function.arguments !== "string") {
  throw new Error("no get_weather tool call: " + JSON.stringify(called.choices[0]));
}
const streamedCalls = [];
let toolFinish = null;
for await (const chunk of await client.chat.completions.create({ ...toolRequest, stream: true })) {
  for (const choice of chunk.choices) {
    for (const delta of choice.delta?.tool_calls ?? []) {
      const c = (streamedCalls[delta.index] ??= { id: "", name: "", arguments: "" });
      c.id += delta.id ?? "";
      c.name += delta.function?.name ?? "";
      c.arguments += delta.function?.arguments ?? "";
    }
    if (choice.finish_reason) toolFinish = choice.finish_reason;
  }
}
if (streamedCalls.length !== 1 || streamedCalls[0].name !== "get_weather" || !streamedCalls[0].id.startsWith("call_")
    || streamedCalls[0].arguments !== call.function.arguments) {
  throw new Error(`streamed tool calls ${JSON.stringify(streamedCalls)} differ from ${JSON.stringify(call)}`);
}
if (toolFinish !== "tool_calls" || called.choices[0].finish_reason !== "tool_calls") {
  throw new Error(`tool call finish_reason ${toolFinish} vs ${called.choices[0].finish_reason}, expected tool_calls`);
}
let streamedArguments;
try {
  streamedArguments = JSON.parse(streamedCalls[0].arguments);
} catch (e) {
  throw new Error(`streamed tool call arguments are not JSON: ${JSON.stringify(streamedCalls[0].arguments)} (${e.message})`);
}
if (Object.keys(streamedArguments).sort().join() !== "days,unit" || !Number.isInteger(streamedArguments.days)
    || !units.includes(streamedArguments.unit)) {
  throw new Error("streamed tool call arguments do not follow the schema: " + JSON.stringify(streamedArguments));
}

// The round trip: the call and its result go back as an assistant message and a tool message.
const answered = await client.chat.completions.create({ ...request, max_tokens: 4, tools, messages: [...request.messages,
  { role: "assistant", content: null, tool_calls: [{ id: call.id, type: "function",
    function: { name: "get_weather", arguments: JSON.stringify({ city: "Paris" }) } }] },
  { role: "tool", tool_call_id: call.id, content: "18 degrees" }] });
if (answered.choices[0].message.role !== "assistant" || answered.usage.prompt_tokens <= called.usage.prompt_tokens) {
  throw new Error("the tool result round trip failed: " + JSON.stringify(answered));
}

const models = await client.models.list();
if (!models.data.some((m) => m.id === request.model)) throw new Error("model list lacks " + request.model);

console.log(`openai-compat: OK (${usage.completion_tokens} tokens, finish_reason ${finish}, text ${JSON.stringify(text)};`
  + ` logprobs of ${content.length} tokens streamed and not; n=2; logit_bias forced ${JSON.stringify(biasedTokens[0])};`
  + ` tool call get_weather streamed and not, finish_reason ${toolFinish}, arguments ${call.function.arguments}`
  + ` valid against the schema; tool result round trip)`);
