// The dashboard in Debian's Chromium, driven by playwright-core. PAYT_URL and PAYWISE_URL name a
// running mock (browser-tests/run starts one with a frozen clock). Every test fails on a console
// error or an uncaught page error.
import { test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { createServer } from "node:http";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const PAYT = process.env.PAYT_URL;
const PAYWISE = process.env.PAYWISE_URL;
const TOKEN = "Bearer payt_test_token";
let browser, profile, page, errors;

before(async () => {
  assert.ok(PAYT && PAYWISE, "PAYT_URL and PAYWISE_URL must name a running mock");
  profile = mkdtempSync(join(tmpdir(), "dashboard-chromium-"));
  // A fresh --user-data-dir: Playwright passes `profile` as it (it refuses the flag in args).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => { await browser?.close(); if (profile) rmSync(profile, { recursive: true, force: true }); });

// Each test in its own world, so tests do not see each other's requests, clock or faults.
let world;
let n = 0;
beforeEach(async () => {
  world = "bt" + (++n);
  await fetch(PAYT + "/_mock/worlds/" + world, { method: "DELETE" });
  const made = await fetch(PAYT + "/_mock/worlds", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: world }) });
  assert.equal(made.status, 201, await made.text());
  page = await browser.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(PAYT + "/_mock/dashboard/#world=" + world);
  await page.locator("#live", { hasText: "live" }).waitFor();
});
afterEach(async () => {
  await page.close();
  await fetch(PAYT + "/_mock/worlds/" + world, { method: "DELETE" });
  assert.deepEqual(errors, [], "console errors");
});

// Presses Tab until the focused element matches `selector` (at most `max` times); whether it did.
async function tabTo(selector, max) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return true;
  }
  return false;
}

const api = (path, init = {}) => fetch(PAYT + "/_mock/w/" + world + path, { ...init, headers: { authorization: TOKEN, ...(init.headers || {}) } });

test("a curl-style request appears in the journal without a reload, with its detail", async () => {
  const res = await api("/v1/credit_cases?administration_id=81&per_page=2");
  assert.equal(res.status, 200);
  const row = page.locator("#journal tbody tr", { hasText: "/v1/credit_cases" });
  await row.waitFor();
  await assert.doesNotReject(row.locator("td", { hasText: "200" }).first().waitFor());
  await row.click();
  await page.locator("#detail").waitFor();
  const headers = await page.locator("#d-reqh").textContent();
  assert.match(headers, /authorization: Bearer \[redacted\]/);
  assert.doesNotMatch(headers, /payt_test_token/);
  assert.match(await page.locator("#d-curl").textContent(), /^curl -X GET '.*\/v1\/credit_cases\?administration_id=81&per_page=2'/);
  // Filters: a status that does not match hides the row, a matching one shows it.
  await page.fill("#f-status", "4xx");
  await row.waitFor({ state: "detached" });
  await page.fill("#f-status", "2xx");
  await row.waitFor();
});

test("advancing the clock moves a Payt credit case and the page shows what moved", async () => {
  await page.click("nav button[data-view=controls]");
  const before = await page.locator("#clock-now").textContent();
  assert.equal(before, "2026-03-02T09:00:00.000Z");
  await page.fill("#advance-by", "P7D");
  await page.click("#advance button");
  await page.locator("#clock-now", { hasText: "2026-03-09T09:00:00.000Z" }).waitFor();
  const moved = page.locator("#timeline tbody tr.moved", { hasText: "credit_case" });
  await moved.first().waitFor();
  assert.ok(await moved.count() > 0);
});

test("a fault rule added through the page fails the next matching request and shows it fired", async () => {
  await page.click("nav button[data-view=controls]");
  await page.selectOption("#fault-method", "GET");
  await page.fill("#fault-path", "/v1/debtors");
  await page.selectOption("#fault-type", "status");
  await page.fill("#fault-value", "503");
  await page.fill("#fault-times", "1");
  await page.click("#new-fault button:text('Add rule')");
  const rule = page.locator("#faults tbody tr[data-rule]");
  await rule.waitFor();
  assert.equal(await rule.locator("td.fired").textContent(), "0");
  const failed = await api("/v1/debtors?administration_id=81");
  assert.equal(failed.status, 503);
  await rule.locator("td.fired", { hasText: "1" }).waitFor();
  const next = await api("/v1/debtors?administration_id=81");
  assert.equal(next.status, 200);
  await page.click("nav button[data-view=journal]");
  await page.locator("#journal tbody tr", { hasText: "503" }).locator(".fault").waitFor();
});

test("keyboard: Tab reaches the journal rows and Enter opens one", async () => {
  await api("/v1/debtors?administration_id=81");
  await page.locator("#journal tbody tr").first().waitFor();
  assert.ok(await tabTo("#journal tbody tr", 40), "a journal row is reachable with Tab");
  await page.keyboard.press("Enter");
  await page.locator("#detail").waitFor();
  assert.ok(await page.evaluate(() => document.activeElement?.id === "copy-curl"), "Enter moves focus to the detail");
});

test("readable at 1280 px and at a narrow window: nothing overflows sideways", async () => {
  for (const width of [1280, 380]) {
    await page.setViewportSize({ width, height: 800 });
    for (const view of ["journal", "state", "webhooks", "controls"]) {
      await page.click("nav button[data-view=" + view + "]");
      if (view === "state") {
        await page.locator("#records tbody tr[data-id]").first().click();
        await page.locator("#record:not([hidden]) #r-links li").first().waitFor();
      }
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${view} at ${width} px overflows by ${overflow} px`);
    }
  }
});

test("the paywise mock serves its dashboard too", async () => {
  await page.goto(PAYWISE + "/_mock/dashboard/");
  await page.locator("#vendor", { hasText: "paywise" }).waitFor();
  await page.locator("#live", { hasText: "live" }).waitFor();
});

test("state browser: a credit case links to its invoice and debtor, and a request shows in the invoice's history", async () => {
  await page.click("nav button[data-view=state]");
  await page.click("#resources button[data-resource=credit_cases]");
  await page.locator("#resources button[data-resource=credit_cases][aria-pressed=true]").waitFor();
  // The rows of the resource just chosen (a row of the list shown before may still be there).
  const first = page.locator("#records tbody tr[data-resource=credit_cases][data-id]").first();
  await first.click();
  await page.locator("#r-title", { hasText: "credit case" }).waitFor();
  const invoiceLink = page.locator("#r-links button[data-resource=invoices]").first();
  const invoiceId = await invoiceLink.getAttribute("data-id");
  await invoiceLink.click();
  await page.locator("#record[data-resource=invoices][data-id='" + invoiceId + "']").waitFor();
  // The invoice links back to its credit case and to its debtor.
  await page.locator("#r-links button[data-resource=credit_cases]").first().waitFor();
  const json = JSON.parse(await page.locator("#r-json").textContent());
  assert.equal(json.id, invoiceId);
  // A request that names the invoice appears in its history without a reload.
  const res = await api("/v1/invoices/" + invoiceId + "?administration_id=" + json.administration_id);
  assert.equal(res.status, 200, await res.text());
  await page.locator("#r-history tbody tr.request", { hasText: "/v1/invoices/" + invoiceId }).waitFor();
  await page.click("#r-links button[data-resource=debtors]");
  await page.locator("#r-title", { hasText: "debtor" }).waitFor();
  await page.locator("#r-links button[data-resource=invoices][data-id='" + invoiceId + "']").waitFor();
  // Search by the debtor's number finds it.
  const number = JSON.parse(await page.locator("#r-json").textContent()).debtor_number;
  await page.click("#resources button[data-resource=debtors]");
  await page.fill("#state-q", number);
  await page.click("#state-search button:text('Search')");
  await page.locator("#records tbody tr[data-id]", { hasText: number }).first().waitFor();
});

test("state browser: keyboard reaches a record and its links", async () => {
  await page.click("nav button[data-view=state]");
  await page.locator("#records tbody tr[data-id]").first().waitFor();
  assert.ok(await tabTo("#resources button[data-resource=invoices]", 30), "the resources are reachable with Tab");
  await page.keyboard.press("Enter");
  await page.locator("#resources button[data-resource=invoices][aria-pressed=true]").waitFor();
  await page.locator("#records tbody tr[data-resource=invoices][data-id]").first().waitFor();
  assert.ok(await tabTo("#records tbody tr[data-resource=invoices][data-id]", 30), "a record row is reachable with Tab");
  await page.keyboard.press("Enter");
  await page.locator("#record:not([hidden])").waitFor();
  assert.ok(await page.evaluate(() => document.activeElement?.id === "r-close"), "Enter moves focus to the record");
  await page.keyboard.press("Tab");
  assert.ok(await page.evaluate(() => document.activeElement?.matches("#r-links button") ?? false), "then Tab reaches its links");
  const target = await page.evaluate(() => document.activeElement.dataset.id);
  await page.keyboard.press("Enter");
  await page.locator("#record[data-id='" + target + "']").waitFor();
});

test("webhooks view: a delivery appears with its attempt and Redeliver adds one", async () => {
  const received = [];
  const server = createServer((req, res) => { req.resume(); req.on("end", () => { received.push(req.url); res.end("ok"); }); });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  try {
    const url = "http://127.0.0.1:" + server.address().port + "/hook";
    const made = await fetch(PAYT + "/_mock/w/" + world + "/_mock/payt/webhooks", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url, secret: "s" }),
    });
    assert.equal(made.status, 201, await made.text());
    await page.click("nav button[data-view=webhooks]");
    await page.locator("#subscriptions tbody tr[data-subscription]", { hasText: url }).waitFor();
    // The clock moves invoices and cases on: their events are delivered.
    const moved = await fetch(PAYT + "/_mock/w/" + world + "/_mock/clock", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ action: "advance", by: "P7D" }),
    });
    assert.equal(moved.status, 200);
    const row = page.locator("#deliveries tbody tr[data-delivery]:has(button.redeliver)").first();
    await row.waitFor();
    const id = await row.getAttribute("data-delivery");
    const mine = page.locator("#deliveries tbody tr[data-delivery='" + id + "']");
    await mine.locator("td.status", { hasText: "delivered" }).waitFor();
    assert.equal(await mine.locator("td.attempts .n").textContent(), "1");
    assert.match(await mine.locator("td.attempts li").first().textContent(), /→ 200/);
    // The button works from the keyboard.
    await mine.locator("button.redeliver").focus();
    await page.keyboard.press("Enter");
    await mine.locator("td.attempts .n", { hasText: "2" }).waitFor();
    await mine.locator("td.status", { hasText: "delivered" }).waitFor();
    assert.ok(received.length >= 2);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test("paywise state browser: a mandate links its claims, a claim its debtor", async () => {
  await page.goto(PAYWISE + "/_mock/dashboard/#view=state");
  await page.locator("#live", { hasText: "live" }).waitFor();
  await page.click("#resources button[data-resource=mandates]");
  await page.locator("#records tbody tr[data-resource=mandates][data-id]").first().click();
  await page.locator("#r-title", { hasText: "mandate" }).waitFor();
  await page.click("#r-links button[data-resource=claims]");
  await page.locator("#r-title", { hasText: "claim" }).waitFor();
  await page.click("#r-links button[data-resource=debtors]");
  await page.locator("#r-title", { hasText: "debtor" }).waitFor();
  await page.click("nav button[data-view=webhooks]");
  await page.locator("#wh-note", { hasText: "v1 has no redeliver" }).waitFor();
});
