// Takes the README's screenshots of the dashboard in Debian's Chromium (playwright-core).
// PAYT_URL and PAYWISE_URL name a mock that browser-tests/with-mock started (frozen clock, seed
// 42); SCREENSHOTS_DIR is where the PNGs go. Each view is made by the same requests a user would
// send, then shown in the default world. Fails on a console error.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { createServer } from "node:http";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const PAYT = process.env.PAYT_URL;
const PAYWISE = process.env.PAYWISE_URL;
const OUT = process.env.SCREENSHOTS_DIR;
if (!PAYT || !PAYWISE || !OUT) throw new Error("PAYT_URL, PAYWISE_URL and SCREENSHOTS_DIR must be set");

const json = (method, body, headers = {}) => ({
  method, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body),
});
async function must(res) {
  if (!res.ok) throw new Error(res.url + ": " + res.status + " " + (await res.text()));
  return res;
}
const payt = (path, init = {}) => fetch(PAYT + path, { ...init, headers: { authorization: "Bearer payt_test_token", ...(init.headers || {}) } });
const paywise = (path, init = {}) => fetch(PAYWISE + path, { ...init, headers: { authorization: "Bearer paywise_test_token", ...(init.headers || {}) } });

// A receiver for the webhook deliveries: answers 200.
const receiver = createServer((req, res) => { req.resume(); req.on("end", () => res.end("ok")); });
await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
const hook = "http://127.0.0.1:" + receiver.address().port + "/hook";

const profile = mkdtempSync(join(tmpdir(), "dashboard-shots-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 640 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const errors = [];
const page = await browser.newPage();
page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
page.on("pageerror", (e) => errors.push(String(e)));
const shots = [];
async function shot(name, height = 640) {
  // The status message fades on its own; take it out of the picture.
  await page.evaluate(() => { document.querySelector("#message").hidden = true; });
  await page.mouse.move(1279, 639); // no row under the pointer's hover highlight
  const file = join(OUT, name + ".png");
  await page.screenshot({ path: file, clip: { x: 0, y: 0, width: 1280, height } });
  shots.push([file, statSync(file).size]);
}

try {
  // ---- Payt ----------------------------------------------------------------------------------
  await page.goto(PAYT + "/_mock/dashboard/");
  await page.locator("#live", { hasText: "live" }).waitFor();
  await must(await payt("/v1/credit_cases?administration_id=81&per_page=2"));
  await must(await payt("/v1/debtors", json("POST", { administration_id: 81, debtors: [{ debtor_number: "D-42", name: "Screenshot B.V.", debtor_identifier: "shot-42" }] })));
  await payt("/v1/debtors/NOPE?administration_id=81&identifier_type=debtor_number");
  await must(await payt("/v1/invoices?administration_id=81&per_page=5"));
  await page.locator("#journal tbody tr").nth(3).waitFor();
  await page.locator("#journal tbody tr", { hasText: "POST" }).click();
  await page.locator("#detail:not([hidden])").waitFor();
  await shot("payt-journal");

  await page.click("nav button[data-view=controls]");
  await page.fill("#advance-by", "P14D");
  await page.click("#advance button");
  await page.locator("#timeline tbody tr.moved").first().waitFor();
  await page.selectOption("#fault-method", "POST");
  await page.fill("#fault-path", "/v1/invoices");
  await page.fill("#fault-value", "503");
  await page.fill("#fault-times", "2");
  await page.click("#new-fault button:text('Add rule')");
  await page.locator("#faults tbody tr[data-rule]").waitFor();
  await shot("payt-controls");

  await page.click("nav button[data-view=state]");
  await page.click("#resources button[data-resource=credit_cases]");
  await page.locator("#records tbody tr[data-resource=credit_cases][data-id]").first().click();
  await page.locator("#r-links button[data-resource=invoices]").first().click();
  await page.locator("#r-title", { hasText: "invoice" }).waitFor();
  const invoice = JSON.parse(await page.locator("#r-json").textContent());
  await must(await payt("/v1/invoices/" + invoice.id + "?administration_id=" + invoice.administration_id));
  await page.locator("#r-history tbody tr.request").first().waitFor();
  await shot("payt-state");

  await must(await fetch(PAYT + "/_mock/payt/webhooks", json("POST", { url: hook, secret: "whsec_screenshot" })));
  await must(await fetch(PAYT + "/_mock/clock", json("POST", { action: "advance", by: "P7D" })));
  await page.click("nav button[data-view=webhooks]");
  const delivered = page.locator("#deliveries tbody tr[data-delivery]:has(button.redeliver)").first();
  await delivered.waitFor();
  const id = await delivered.getAttribute("data-delivery");
  await delivered.locator("button.redeliver").click();
  await page.locator("#deliveries tbody tr[data-delivery='" + id + "'] td.attempts .n", { hasText: "2" }).waitFor();
  await shot("payt-webhooks");

  // ---- paywise -------------------------------------------------------------------------------
  await page.goto(PAYWISE + "/_mock/dashboard/#view=state");
  await page.locator("#live", { hasText: "live" }).waitFor();
  await page.click("#resources button[data-resource=mandates]");
  await page.locator("#records tbody tr[data-resource=mandates][data-id]").first().click();
  await page.locator("#r-links button[data-resource=claims]").first().click();
  await page.locator("#r-title", { hasText: "claim" }).waitFor();
  // Its ids are UUIDs, which compress worse: a shorter picture keeps the file small.
  await shot("paywise-state", 560);

  const endpoint = await (await must(await paywise("/v1/webhooks/", json("POST", { url: hook, events: ["mandate.created", "mandate.status_updated"], description: "screenshot" })))).json();
  await must(await paywise("/v1/webhooks/" + endpoint.id + "/test/", json("POST", {})));
  const v2 = await (await must(await paywise("/v2/webhooks/", json("POST", { url: hook, description: "screenshot v2" }, { "idempotency-key": "shot-1" })))).json();
  await must(await paywise("/v2/webhooks/" + v2.id + "/test/", json("POST", { event: "mandate.created" }, { "idempotency-key": "shot-2" })));
  await page.click("nav button[data-view=webhooks]");
  const v2row = page.locator("#deliveries tbody tr[data-delivery]:has(button.redeliver)").first();
  await v2row.waitFor();
  await v2row.locator("button.redeliver").click();
  await page.locator("#deliveries tbody tr[data-delivery] td.status", { hasText: "success" }).nth(2).waitFor();
  await shot("paywise-webhooks");

  if (errors.length) throw new Error("console errors: " + errors.join("; "));
  for (const [file, size] of shots) console.log(file + "  " + Math.round(size / 1024) + " KiB");
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
  receiver.close();
}
