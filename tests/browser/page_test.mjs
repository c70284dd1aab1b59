// The page emot5 serve gives a browser (GET /), in Debian's headless Chromium driven by
// playwright-core: typing a text shows the six emotions as bars whose top label and widths are
// /predict's scores; the box for many lines fills a table with /predict's labels; with --api-key
// the page asks for the key once and then works. Exits 77 (skipped) without Chromium or
// playwright-core (npm ci in tests/browser).
//
// usage: node page_test.mjs EMOT5_BINARY [SCREENSHOT.png]
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

const [emot5, screenshot] = process.argv.slice(2);
const chromiumPath = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
if (!chromiumPath) {
  console.log("SKIPPED: Chromium is not installed (Debian's chromium package)");
  process.exit(77);
}
let chromium;
try {
  ({ chromium } = await import("playwright-core"));
} catch {
  console.log("SKIPPED: playwright-core is not installed (npm ci in tests/browser)");
  process.exit(77);
}

let passed = 0, failed = 0;
function check(ok, what) {
  if (ok) passed++;
  else {
    failed++;
    console.error("FAIL:", what);
  }
}

function startServer(args) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.EMOT5_MODEL;
    delete env.EMOT5_API_KEY;
    const srv = spawn(emot5, ["serve", "--port", "0", "--threads", "1", ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    srv.stderr.on("data", (d) => {
      err += d.toString();
      const m = err.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) resolve({ srv, port: Number(m[1]) });
    });
    srv.on("exit", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

async function predict(port, inputs, key) {
  const headers = { "Content-Type": "application/json" };
  if (key) headers.Authorization = "Bearer " + key;
  const res = await fetch(`http://127.0.0.1:${port}/predict`, { method: "POST", headers, body: JSON.stringify({ inputs }) });
  return res.json();
}

// Each bar as drawn: its label, its rendered width as a share of its track (%), and whether it is
// marked as the top label.
async function bars(page) {
  return page.$$eval("#bars .row", (rows) =>
    rows.map((r) => ({
      label: r.dataset.label,
      width: 100 * r.querySelector(".bar").getBoundingClientRect().width / r.querySelector(".track").getBoundingClientRect().width,
      top: r.classList.contains("top"),
    })));
}

const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
const servers = [];
try {
  // The built-in model, as a person would run it.
  const { srv, port } = await startServer([]);
  servers.push(srv);
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  check((await page.title()) === "emot5", "the page's title");
  const text = "i feel wonderful today";
  await page.locator("#text").pressSequentially(text, { delay: 20 });
  await page.waitForFunction((t) => document.getElementById("bars").dataset.top && document.getElementById("text").value === t, text);
  await page.waitForTimeout(600);  // the last keystroke's answer
  const want = await predict(port, text);
  const shown = await bars(page);
  check(shown.length === 6, `six bars: ${shown.length}`);
  check(shown.find((b) => b.top)?.label === want[0].label && want[0].label === "joy", `top label: ${JSON.stringify(shown)} vs ${want[0].label}`);
  for (const w of want) {
    const b = shown.find((s) => s.label === w.label);
    // Rendered to whole pixels of a track some 500 px wide: half a percent.
    check(b && Math.abs(b.width - 100 * w.score) < 0.5, `bar ${w.label}: ${b && b.width}% vs ${100 * w.score}%`);
  }
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

  // Many lines at once: a row per line, /predict's top labels.
  const lines = ["i am so scared of the dark", "this makes me furious", "i feel so alone tonight", "what a surprise"];
  await page.fill("#lines", lines.join("\n"));
  await page.click("#classify");
  await page.waitForFunction((n) => document.querySelectorAll("#table tbody tr").length === n, lines.length);
  const rows = await page.$$eval("#table tbody tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  const batch = await predict(port, lines);
  check(rows.length === lines.length && rows.every((r, i) => r[1] === lines[i] && r[2] === batch[i][0].label),
        `table: ${JSON.stringify(rows)} vs ${JSON.stringify(batch.map((b) => b[0].label))}`);

  // With a key: the page asks for it once, then the bars come.
  const keyed = await startServer(["--api-key", "s3cret"]);
  servers.push(keyed.srv);
  const page2 = await browser.newPage();
  await page2.goto(`http://127.0.0.1:${keyed.port}/`);
  await page2.fill("#text", "i feel wonderful today");
  await page2.waitForSelector("#keybox", { state: "visible" });
  check((await page2.textContent("#status")).includes("API key"), "the page says it needs the key");
  await page2.fill("#key", "s3cret");
  await page2.click("#keysave");
  await page2.waitForFunction(() => document.getElementById("bars").dataset.top === "joy");
  check(!(await page2.isVisible("#keybox")), "the key box goes once the key is given");
  await page2.fill("#lines", "i am so scared of the dark");
  await page2.click("#classify");
  await page2.waitForFunction(() => document.querySelectorAll("#table tbody tr").length === 1);
  check(true, "the key is kept for the table too");
} finally {
  await browser.close();
  for (const s of servers) s.kill("SIGTERM");
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
