// ansflow ui: live updates of a run page and log follow on a step page,
// through server-sent events. No inline script: the page's Content
// Security Policy allows only this file.
"use strict";

(function () {
  const STATUS = /(^|\s)st-[a-z_]+/g;

  function setStatus(el, status) {
    const cls = (el.getAttribute("class") || "").replace(STATUS, "").trim();
    el.setAttribute("class", (cls + " st-" + status).trim());
  }

  function label(status) { return status.replace(/_/g, " "); }

  // Run page: the graph nodes, the table rows and the timeline follow the
  // apply as its events arrive.
  function followRun(root) {
    const run = root.dataset.run;
    const byAddr = new Map();
    for (const el of document.querySelectorAll("[data-addr]")) {
      const addr = el.dataset.addr;
      if (!byAddr.has(addr)) byAddr.set(addr, []);
      byAddr.get(addr).push(el);
    }
    let timelineDue = null;
    function refreshTimeline() {
      if (timelineDue) return;
      timelineDue = setTimeout(function () {
        timelineDue = null;
        fetch("/runs/" + run + "/timeline", { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
          .then(function (html) {
            const doc = new DOMParser().parseFromString(html, "text/html");
            const box = document.getElementById("timeline");
            box.replaceChildren(...Array.from(doc.body.childNodes).map(function (n) { return document.importNode(n, true); }));
          })
          .catch(function () { /* the next event tries again */ });
      }, 500);
    }
    const statusOf = new Map();
    const order = ["running", "waiting", "planned", "succeeded", "failed", "skipped", "not_started", "up_to_date"];
    function recount() {
      const n = {};
      for (const st of statusOf.values()) n[st] = (n[st] || 0) + 1;
      const box = document.getElementById("counts");
      box.replaceChildren();
      for (const st of order) {
        if (!n[st]) continue;
        const span = document.createElement("span");
        span.setAttribute("class", "count st-" + st);
        span.textContent = n[st] + " " + label(st);
        box.append(span, " ");
      }
    }
    function apply(u) {
      statusOf.set(u.addr, u.status);
      for (const el of byAddr.get(u.addr) || []) {
        if (el.tagName.toLowerCase() === "tr") {
          setStatus(el, u.status);
          const pill = el.querySelector(".status .pill");
          if (pill) { setStatus(pill, u.status); pill.textContent = label(u.status); }
          const cells = { attempts: String(u.attempts), duration: u.duration, error: u.error || "" };
          for (const k in cells) {
            const td = el.querySelector("td." + k);
            if (td) td.textContent = cells[k];
          }
        } else if ((el.getAttribute("class") || "").indexOf("node") >= 0) {
          setStatus(el, u.status);
        }
      }
    }
    function finish(s) {
      const res = document.getElementById("run-result");
      res.textContent = s.result;
      res.setAttribute("class", "result res-" + s.result);
      document.getElementById("run-duration").textContent = s.duration;
      document.getElementById("live-note").hidden = true;
      root.dataset.live = "false";
    }
    const es = new EventSource("/runs/" + run + "/events");
    es.addEventListener("snapshot", function (e) {
      const s = JSON.parse(e.data);
      for (const u of s.steps || []) apply(u);
      recount();
      refreshTimeline();
      if (s.done) { finish(s); es.close(); }
    });
    es.addEventListener("step", function (e) { apply(JSON.parse(e.data)); recount(); refreshTimeline(); });
    es.addEventListener("end", function (e) {
      const s = JSON.parse(e.data);
      for (const u of s.steps || []) apply(u);
      recount();
      finish(s);
      refreshTimeline();
      es.close();
    });
  }

  // Step page: stdout and stderr grow while the step runs.
  function followLogs(root) {
    for (const pre of root.querySelectorAll("pre[data-stream]")) {
      const q = new URLSearchParams({ addr: root.dataset.addr, stream: pre.dataset.stream, from: pre.dataset.offset });
      const es = new EventSource("/runs/" + root.dataset.run + "/log?" + q.toString());
      es.addEventListener("log", function (e) {
        pre.append(JSON.parse(e.data).text);
        const empty = document.getElementById("empty-" + pre.dataset.stream);
        if (empty) empty.remove();
        pre.scrollTop = pre.scrollHeight;
      });
      es.addEventListener("end", function () { es.close(); });
    }
    const status = document.getElementById("step-status");
    const es = new EventSource("/runs/" + root.dataset.run + "/events");
    function apply(u) {
      if (u.addr !== root.dataset.addr) return;
      setStatus(status, u.status);
      status.textContent = label(u.status);
    }
    es.addEventListener("snapshot", function (e) { for (const u of JSON.parse(e.data).steps || []) apply(u); });
    es.addEventListener("step", function (e) { apply(JSON.parse(e.data)); });
    es.addEventListener("end", function (e) { for (const u of JSON.parse(e.data).steps || []) apply(u); es.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const run = document.getElementById("run");
    if (run && run.dataset.live === "true") followRun(run);
    const step = document.getElementById("step");
    if (step && step.dataset.live === "true") followLogs(step);
  });
})();
