// Browser test of the playground (GET /) in headless Chromium through playwright-core, against a
// running ExpertMesh server. Arguments: the server's base URL (http://127.0.0.1:PORT/) and the folder
// for screenshots. It checks that
//  - the page and everything it loads come from the server itself (loopback only), without console errors;
//  - a prompt sent through the page at temperature 0 streams over the /v1/stream WebSocket, and the text
//    shown equals the API's non-streaming greedy answer to the same messages;
//  - Stop cancels a long answer mid-stream, and the server's running count drops to 0 (and no more
//    tokens are generated); Escape does the same, and Tab moves from the message box to Send;
//  - with log probabilities on, the page asks for top_logprobs 5, the token spans spell the API's greedy
//    answer, and hovering (or focusing) a token shows a tooltip with its probability and alternatives;
//  - with a json_schema response format the answer parses as JSON matching the schema; invalid JSON in
//    the schema box is reported next to it and nothing is sent; a schema keyword the server refuses
//    shows the server's 400 message in the chat;
//  - the cluster view shows the node and a 64-cell expert map with token counts, and the layout fits a
//    390 px wide screen;
// and saves screenshots of the playground and of the cluster view at 1280x800 and of a narrow screen.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) throw new Error("usage: playground-test.mjs BASE_URL OUT_DIR");
const origin = new URL(base).origin;
const wsOrigin = origin.replace(/^http/, "ws");
mkdirSync(outDir, { recursive: true });

const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run",
  // Belt and braces: no host name resolves except loopback, so nothing can leave the machine.
  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
];

const GREEDY_PROMPT = "Give me a short introduction to large language model.";
const GREEDY_MAX_TOKENS = 48;
const LONG_PROMPT = "Tell me a very long story about a mixture of experts.";
const LONG_MAX_TOKENS = 4000;
const SCHEMA = { type: "object", properties: { a: { type: "integer" } }, required: ["a"], additionalProperties: false };
const REFUSED_SCHEMA = { type: "object", properties: { a: { type: "string", pattern: "^x+$" } }, required: ["a"] };

function fail(message) {
  throw new Error(message);
}

async function chatApi(body) {
  const r = await fetch(new URL("v1/chat/completions", base), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

async function metrics() {
  const text = await (await fetch(new URL("metrics", base))).text();
  const out = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

async function until(what, predicate, timeoutMs = 30_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > deadline) fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A page that records what it loads, blocks and reports anything off the server, and collects errors. */
async function openPage(browser, viewport, problems, watch = () => {}) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, colorScheme: "light" });
  await context.route((url) => url.origin !== origin && url.protocol !== "data:", (route) => {
    problems.push("request outside the server: " + route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") problems.push("console error: " + m.text());
  });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("websocket", (ws) => {
    if (!ws.url().startsWith(wsOrigin + "/")) problems.push("WebSocket outside the server: " + ws.url());
  });
  watch(page);
  await page.goto(base, { waitUntil: "load" });
  await until("the WebSocket to connect", () => page.locator("#conn[data-state=open]").count());
  await until("the model list", () => page.locator("#model option").count());
  await until("the expert map", () => page.evaluate(() =>
    document.querySelectorAll("#expert-map li").length === 64
    && [...document.querySelectorAll("#expert-map li")].every((li) => li.dataset.node !== "")));
  return page;
}

const lastAssistant = (page) => page.locator(".msg.assistant").last();

const problems = [];
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: FLAGS });
let summary;
try {
  // Frames on the page's socket: what it sends, and how many content chunks come back per request.
  const sent = [];
  const contentFrames = new Map();
  const page = await openPage(browser, { width: 1280, height: 800 }, problems, (p) => p.on("websocket", (ws) => {
    ws.on("framesent", (f) => sent.push(JSON.parse(f.payload)));
    ws.on("framereceived", (f) => {
      const m = JSON.parse(f.payload);
      if (m.chunk?.choices?.[0]?.delta?.content) contentFrames.set(m.id, (contentFrames.get(m.id) || 0) + 1);
    });
  }));

  // 1. Greedy answer through the page equals the API's.
  await page.fill("#temperature", "0");
  await page.fill("#max-tokens", String(GREEDY_MAX_TOKENS));
  await page.fill("#prompt", GREEDY_PROMPT);
  await page.press("#prompt", "Enter");
  await lastAssistant(page).and(page.locator("[data-state=done]")).waitFor({ timeout: 60_000 });
  const shown = await lastAssistant(page).locator(".text").textContent();
  const request = sent.find((f) => f.type === "chat.completions");
  if (!request) fail("the page sent no chat.completions frame on /v1/stream");
  if (request.body.temperature !== 0 || request.body.max_tokens !== GREEDY_MAX_TOKENS) {
    fail("the page sent unexpected sampling settings: " + JSON.stringify(request.body));
  }
  const frames = contentFrames.get(request.id) || 0;
  if (frames < 2) fail(`expected the answer in several streamed chunks, got ${frames}`);
  const api = await (await fetch(new URL("v1/chat/completions", base), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: GREEDY_PROMPT }], max_tokens: GREEDY_MAX_TOKENS, temperature: 0 }),
  })).json();
  const expected = api.choices?.[0]?.message?.content;
  if (typeof expected !== "string") fail("unexpected API answer: " + JSON.stringify(api));
  if (shown !== expected) fail(`the page shows ${JSON.stringify(shown)} but the API's greedy text is ${JSON.stringify(expected)}`);
  const stats = await lastAssistant(page).locator(".stats").textContent();
  if (!/TTFT\s+\S+/.test(stats) || !/tokens\/s\s+[\d.]+/.test(stats)) fail("the answer lacks TTFT and tokens/s: " + stats);
  const greedyTokens = api.usage.completion_tokens;

  // The cluster view catches up with the traffic (expert token counts, throughput).
  await until("expert token counts in the cluster view", () => page.evaluate(() =>
    [...document.querySelectorAll("#expert-map li")].some((li) => Number(li.dataset.tokens) > 0)), 10_000);
  const members = await page.locator("#members tbody tr").count();
  if (members < 1) fail("the cluster view lists no node");
  const status = await page.locator("#members tbody td.status").first().textContent();
  if (status !== "Up") fail("node status shown as " + status);
  await sleep(1200);
  await page.screenshot({ path: join(outDir, "playground-1280x800.png") });

  // 2. Stop a long answer mid-stream; the server stops working on it.
  await page.click("#clear");
  await page.fill("#max-tokens", String(LONG_MAX_TOKENS));
  await page.fill("#prompt", LONG_PROMPT);
  await page.click("#send");
  await until("the long answer to stream some text", async () =>
    ((await lastAssistant(page).locator(".text").textContent()) || "").length >= 40, 60_000, 20);
  const runningBefore = (await metrics()).get("mesh:num_requests_running");
  if (!(runningBefore >= 1)) fail("expected a running request while the long answer streams, /metrics says " + runningBefore);
  if ((await lastAssistant(page).getAttribute("data-state")) !== "streaming") fail("the long answer ended before Stop");
  await page.click("#stop");
  const stoppedAt = Date.now();
  await lastAssistant(page).and(page.locator("[data-state=stopped]")).waitFor({ timeout: 10_000 });
  await until("mesh:num_requests_running to drop to 0", async () => (await metrics()).get("mesh:num_requests_running") === 0, 10_000, 50);
  const dropMs = Date.now() - stoppedAt;
  const generated1 = (await metrics()).get("mesh:generation_tokens_total");
  await sleep(1000);
  const generated2 = (await metrics()).get("mesh:generation_tokens_total");
  if (generated2 !== generated1) fail(`tokens still being generated after Stop (${generated1} -> ${generated2})`);
  const longStats = await lastAssistant(page).locator(".stats").textContent();
  const stoppedTokens = Number((/tokens\s+≈?(\d+)/.exec(longStats) || [])[1]);
  if (!(stoppedTokens < LONG_MAX_TOKENS)) fail("the stopped answer reports " + longStats);
  if (!(await page.locator("#send").isEnabled())) fail("Send stays disabled after Stop");

  // Keyboard: Tab goes from the message box to Send; Escape stops an answer.
  await page.focus("#prompt");
  await page.keyboard.press("Tab");
  if ((await page.evaluate(() => document.activeElement?.id)) !== "send") fail("Tab from the message box does not reach Send");
  await page.fill("#prompt", LONG_PROMPT);
  await page.press("#prompt", "Enter");
  await until("the second long answer to stream", async () =>
    ((await lastAssistant(page).locator(".text").textContent()) || "").length >= 20, 60_000, 20);
  await page.keyboard.press("Escape");
  await lastAssistant(page).and(page.locator("[data-state=stopped]")).waitFor({ timeout: 10_000 });
  await until("mesh:num_requests_running to drop to 0 after Escape", async () => (await metrics()).get("mesh:num_requests_running") === 0, 10_000, 50);

  // 3. Log probabilities: one span per token, spelling the greedy answer; a tooltip on hover and on focus.
  await page.click("#clear");
  await page.check("#logprobs");
  await page.fill("#max-tokens", String(GREEDY_MAX_TOKENS));
  await page.fill("#prompt", GREEDY_PROMPT);
  const sentBefore = sent.length;
  await page.press("#prompt", "Enter");
  await lastAssistant(page).and(page.locator("[data-state=done]")).waitFor({ timeout: 60_000 });
  const lpRequest = sent.slice(sentBefore).find((f) => f.type === "chat.completions");
  if (lpRequest?.body.logprobs !== true || lpRequest.body.top_logprobs !== 5) {
    fail("with log probabilities on, the page sent " + JSON.stringify(lpRequest?.body));
  }
  const spans = lastAssistant(page).locator(".text .tok");
  const spanTexts = await spans.allTextContents();
  if (spanTexts.length < 2) fail(`expected a span per token, got ${spanTexts.length}`);
  if (spanTexts.join("") !== expected) {
    fail(`the token spans spell ${JSON.stringify(spanTexts.join(""))}, the API's greedy text is ${JSON.stringify(expected)}`);
  }
  if ((await lastAssistant(page).locator(".text").textContent()) !== expected) fail("text outside the token spans");
  const tip = page.locator("#token-tip");
  const checkTip = async (how) => {
    await tip.waitFor({ state: "visible", timeout: 2000 }).catch(() => fail(`no tooltip on ${how} of a token`));
    const text = await tip.textContent();
    if (!/\d(\.\d+)? %/.test(text)) fail(`the tooltip on ${how} shows no percentage: ${JSON.stringify(text)}`);
    const alts = await tip.locator(".tip-alts li").count();
    if (alts < 1) fail(`the tooltip on ${how} lists no alternatives`);
    return { text, alts };
  };
  await spans.nth(1).hover();
  const hovered = await checkTip("hover");
  await page.mouse.move(1, 1);
  await tip.waitFor({ state: "hidden", timeout: 2000 }).catch(() => fail("the tooltip stays after the pointer leaves"));
  await spans.first().focus();
  await checkTip("focus");
  await page.keyboard.press("ArrowRight");
  if (!(await spans.nth(1).evaluate((el) => el === document.activeElement))) fail("ArrowRight does not move to the next token");
  await page.screenshot({ path: join(outDir, "logprobs-1280x800.png") });
  await page.uncheck("#logprobs");

  // 4. Structured output: a json_schema answer parses and matches; bad JSON is caught before sending;
  // a keyword the server refuses shows its 400 message.
  await page.click("#clear");
  await page.click("#format-box summary");
  await page.selectOption("#response-format", "json_schema");
  await page.fill("#schema", JSON.stringify(SCHEMA));
  await page.fill("#max-tokens", "32");
  await page.fill("#prompt", "Give me a JSON object with an integer a.");
  await page.press("#prompt", "Enter");
  await lastAssistant(page).and(page.locator("[data-state=done]")).waitFor({ timeout: 60_000 });
  const jsonText = await lastAssistant(page).locator(".text").textContent();
  let parsed;
  try {
    parsed = JSON.parse(jsonText);
  } catch {
    fail("the json_schema answer is not JSON: " + JSON.stringify(jsonText));
  }
  if (!parsed || typeof parsed !== "object" || Object.keys(parsed).join() !== "a" || !Number.isInteger(parsed.a)) {
    fail("the json_schema answer does not match the schema: " + jsonText);
  }

  const framesBeforeBad = sent.length;
  const messagesBeforeBad = await page.locator(".msg").count();
  await page.fill("#schema", '{"type": "object",');
  await page.fill("#prompt", "Hello!");
  await page.press("#prompt", "Enter");
  await page.locator("#schema-error").waitFor({ state: "visible", timeout: 2000 }).catch(() => fail("invalid JSON in the schema box is not reported"));
  if (!/not valid JSON/.test(await page.locator("#schema-error").textContent())) fail("the schema error does not say the JSON is invalid");
  if (sent.length !== framesBeforeBad || (await page.locator(".msg").count()) !== messagesBeforeBad) fail("a request went out with invalid JSON in the schema box");
  if ((await page.inputValue("#prompt")) !== "Hello!") fail("the message was lost when the schema was invalid");

  await page.fill("#schema", JSON.stringify(REFUSED_SCHEMA));
  if (await page.locator("#schema-error").isVisible()) fail("the schema error stays after editing the box");
  await page.press("#prompt", "Enter");
  await lastAssistant(page).and(page.locator("[data-state=error]")).waitFor({ timeout: 30_000 });
  const refused = await chatApi({
    messages: [{ role: "user", content: "Hello!" }], max_tokens: 32,
    response_format: { type: "json_schema", json_schema: { name: "playground", schema: REFUSED_SCHEMA, strict: true } },
  });
  const serverMessage = refused.body.error?.message;
  if (refused.status !== 400 || !/pattern/.test(serverMessage || "")) fail("the API does not refuse the pattern keyword: " + JSON.stringify(refused));
  const shownError = await lastAssistant(page).locator(".error-text").textContent().catch(() => "");
  if (!shownError.includes(serverMessage)) fail(`the chat shows ${JSON.stringify(shownError)}, not the server's ${JSON.stringify(serverMessage)}`);
  await page.screenshot({ path: join(outDir, "schema-error-1280x800.png") });
  await page.selectOption("#response-format", "none");

  // Let two polls draw the charts and the heat, then the cluster view.
  await sleep(2500);
  await page.locator("#cluster").screenshot({ path: join(outDir, "cluster-1280x800.png") });

  // 3. A narrow screen: one column, no horizontal scrolling, still usable.
  const narrow = await openPage(browser, { width: 390, height: 844 }, problems);
  await narrow.fill("#temperature", "0");
  await narrow.fill("#max-tokens", "24");
  await narrow.fill("#prompt", "Hello!");
  await narrow.press("#prompt", "Enter");
  await lastAssistant(narrow).and(narrow.locator("[data-state=done]")).waitFor({ timeout: 60_000 });
  await sleep(1200);
  const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 0) fail(`the page scrolls sideways by ${overflow} px at 390 px wide`);
  await narrow.screenshot({ path: join(outDir, "narrow-390x844.png"), fullPage: true });

  if (problems.length) fail(problems.join("\n"));
  summary = `playground-test: OK (greedy answer of ${greedyTokens} tokens in ${frames} WebSocket chunks equals the API's; `
    + `Stop after ${stoppedTokens} of ${LONG_MAX_TOKENS} tokens, running 0 after ${dropMs} ms; `
    + `${spanTexts.length} token spans, tooltip with ${hovered.alts} alternatives; json_schema answer ${jsonText}; `
    + `refused schema shown as ${JSON.stringify(shownError)}; screenshots in ${outDir})`;
} finally {
  await browser.close();
}
console.log(summary);
