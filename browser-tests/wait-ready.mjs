// Waits (polling, no fixed sleep) until the mock's banner names both ports and both answer
// GET /_mock; fails after 30 s or when the mock exits.
import { readFileSync } from "node:fs";
const deadline = Date.now() + 30000;
const pause = () => new Promise((r) => setTimeout(r, 50));
const alive = () => { try { process.kill(Number(process.env.MOCK_PID), 0); return true; } catch { return false; } };
for (;;) {
  let banner = "";
  try { banner = readFileSync(process.env.MOCK_BANNER, "utf8"); } catch { /* not yet */ }
  const payt = /^Payt mock +(http:\/\/[0-9.:]+)\//m.exec(banner);
  const paywise = /^paywise mock +(http:\/\/[0-9.:]+)\//m.exec(banner);
  if (payt && paywise) {
    try {
      const [a, b] = await Promise.all([fetch(payt[1] + "/_mock"), fetch(paywise[1] + "/_mock")]);
      if (a.ok && b.ok) process.exit(0);
    } catch { /* not yet */ }
  }
  if (!alive()) { console.error("the mock exited:\n" + banner); process.exit(1); }
  if (Date.now() > deadline) { console.error("the mock did not get ready in 30 s:\n" + banner); process.exit(1); }
  await pause();
}
