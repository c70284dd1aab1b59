// The page emot5 serve gives a browser on GET /: one self-contained file (no CDN, works offline).
// It calls POST /predict as it is typed into, and for many lines at once; a key, when the server
// wants one, is asked for once and kept for the tab's session.
#include "apps/http_api.h"

namespace emot5::app {

const std::string& page_html() {
  static const std::string page = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>emot5</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; margin-bottom: .2rem; }
  p.sub { margin-top: 0; color: #666; }
  textarea { width: 100%; box-sizing: border-box; font: inherit; padding: .5rem; border: 1px solid #bbb; border-radius: 4px; }
  .bars { margin: 1rem 0 2rem; }
  .row { display: flex; align-items: center; margin: .25rem 0; }
  .row .name { width: 6rem; }
  .row .track { display: block; flex: 1; background: #eee; height: 1.1rem; border-radius: 3px; overflow: hidden; }
  .row .bar { display: block; height: 100%; width: 0; background: #4a78c2; transition: width .15s; }
  .row.top .bar { background: #d9822b; }
  .row .value { width: 4.5rem; text-align: right; font-variant-numeric: tabular-nums; }
  table { border-collapse: collapse; width: 100%; margin-top: .5rem; }
  td, th { border-bottom: 1px solid #ddd; padding: .3rem; text-align: left; vertical-align: top; }
  .status { color: #a33; min-height: 1.4rem; }
  button { font: inherit; padding: .3rem .9rem; margin-top: .4rem; }
  #keybox { display: none; margin-bottom: 1rem; }
</style>
</head>
<body>
<h1>emot5</h1>
<p class="sub">Type a text: its six emotions show as you type.</p>
<div id="keybox"><label>API key <input id="key" type="password" autocomplete="off"></label>
  <button id="keysave">Use key</button></div>
<textarea id="text" rows="3" placeholder="i feel wonderful today"></textarea>
<div class="status" id="status"></div>
<div class="bars" id="bars"></div>
<h2>Many texts</h2>
<p class="sub">One text per line.</p>
<textarea id="lines" rows="6"></textarea>
<button id="classify">Classify</button>
<table id="table"><thead><tr><th>#</th><th>text</th><th>label</th><th>score</th></tr></thead><tbody></tbody></table>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let key = sessionStorage.getItem("emot5-key") || "";
let labels = [];

async function predict(inputs) {
  const headers = { "Content-Type": "application/json" };
  if (key) headers["Authorization"] = "Bearer " + key;
  const res = await fetch("/predict", { method: "POST", headers, body: JSON.stringify({ inputs }) });
  const body = await res.json().catch(() => ({ error: "HTTP " + res.status }));
  if (res.status === 401) { $("keybox").style.display = "block"; throw new Error("this server needs its API key"); }
  if (!res.ok) throw new Error(body.error || ("HTTP " + res.status));
  return body;
}

function drawBars(scores) {
  if (!labels.length) labels = scores.map((s) => s.label);
  const bars = $("bars");
  if (!bars.children.length)
    for (const label of labels) {
      const row = document.createElement("div");
      row.className = "row";
      row.dataset.label = label;
      row.innerHTML = '<span class="name"></span><span class="track"><span class="bar"></span></span><span class="value"></span>';
      row.querySelector(".name").textContent = label;
      bars.appendChild(row);
    }
  const top = scores[0].label;
  for (const s of scores) {
    const row = bars.querySelector('[data-label="' + CSS.escape(s.label) + '"]');
    if (!row) continue;
    row.classList.toggle("top", s.label === top);
    row.querySelector(".bar").style.width = (100 * s.score).toFixed(2) + "%";
    row.querySelector(".bar").dataset.score = String(s.score);
    row.querySelector(".value").textContent = (100 * s.score).toFixed(1) + "%";
  }
  bars.dataset.top = top;
}

let timer = null, latest = 0;
$("text").addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    const text = $("text").value;
    if (!text.trim()) return;
    const mine = ++latest;
    try {
      const scores = await predict(text);
      if (mine === latest) { drawBars(scores); $("status").textContent = ""; }
    } catch (e) { $("status").textContent = e.message; }
  }, 150);
});

$("classify").addEventListener("click", async () => {
  const lines = $("lines").value.split("\n").filter((l) => l.trim());
  const body = $("table").querySelector("tbody");
  body.innerHTML = "";
  try {
    for (let i = 0; i < lines.length; i += 32) {  // the server's default --max-client-batch-size
      const answers = await predict(lines.slice(i, i + 32));
      answers.forEach((scores, j) => {
        const tr = document.createElement("tr");
        for (const v of [i + j + 1, lines[i + j], scores[0].label, (100 * scores[0].score).toFixed(1) + "%"]) {
          const td = document.createElement("td");
          td.textContent = v;
          tr.appendChild(td);
        }
        body.appendChild(tr);
      });
    }
    $("status").textContent = "";
  } catch (e) { $("status").textContent = e.message; }
});

$("keysave").addEventListener("click", () => {
  key = $("key").value;
  sessionStorage.setItem("emot5-key", key);
  $("keybox").style.display = "none";
  $("status").textContent = "";
  $("text").dispatchEvent(new Event("input"));
});
</script>
</body>
</html>
)HTML";
  return page;
}

}  // namespace emot5::app
