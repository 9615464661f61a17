(function () {
  "use strict";
  // Data: columnar arrays with lookup tables (see validator/output/html_report.py).
  // Everything from EDI files is inserted with textContent only.
  // Large reports carry the JSON deflated and base64-encoded (unpacked with the browser's
  // DecompressionStream); small ones carry it as plain JSON.
  function load() {
    var node = document.getElementById("report-data");
    if (node.getAttribute("data-encoding") !== "deflate-base64") {
      start(JSON.parse(node.textContent));
      return;
    }
    if (typeof DecompressionStream === "undefined") {
      fatal("This browser cannot unpack the report's findings (it lacks DecompressionStream). " +
            "Open the report in a current Chrome, Edge, Firefox or Safari.");
      return;
    }
    var bin = atob(node.textContent.trim()), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    new Response(stream).text().then(function (t) { start(JSON.parse(t)); })
      .catch(function (e) { fatal("The report's findings could not be read: " + e); });
  }
  function fatal(msg) {
    var box = document.getElementById("count");
    box.textContent = msg; box.className = "count fatal";
    document.documentElement.dataset.ready = "error";
  }

  function start(D) {
  var F = D.f, S = D.S, T = D.T || [], SEV = D.sev, N = F.rule.length;
  var C = D.c.cols, CS = D.c.CS, PANELS = D.c.panels, CODED = {};
  D.c.coded.forEach(function (n) { CODED[n] = 1; });
  // A claim field (coded columns hold indices into the claims' string table CS).
  function cv(name, ci) {
    var a = C[name]; if (!a) return null;
    var v = a[ci];
    return CODED[name] ? (v < 0 ? null : CS[v]) : v;
  }
  var RULES = D.rules, FILES = D.files;
  var PRINT_CAP = 5000;
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function s(i) { return i < 0 ? "" : S[i]; }
  function base(p) { var i = Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\")); return p.slice(i + 1); }
  function fmt(n) { return n.toLocaleString("en-US"); }

  var state = { sev: [true, true, true], rule: -1, file: -1, q: "", key: null, dir: 1,
                page: 0, size: 100, view: "table" };
  var rows = new Int32Array(0);

  // ---- controls -------------------------------------------------------------
  function countBy(arr, n) { var c = new Int32Array(n); for (var i = 0; i < N; i++) if (arr[i] >= 0) c[arr[i]]++; return c; }
  function fillControls() {
    var rc = countBy(F.rule, RULES.code.length), fc = countBy(F.file, FILES.length), sc = countBy(F.sev, 3);
    var sel = $("f-rule");
    for (var r = 0; r < RULES.code.length; r++) {
      var o = el("option", null, RULES.code[r] + " — " + RULES.title[r] + " (" + fmt(rc[r]) + ")");
      o.value = r; sel.appendChild(o);
    }
    var fs = $("f-file"), order = [];
    for (var f = 0; f < FILES.length; f++) if (fc[f]) order.push(f);
    order.sort(function (a, b) { return FILES[a] < FILES[b] ? -1 : FILES[a] > FILES[b] ? 1 : 0; });
    order.forEach(function (f) {
      var o = el("option", null, base(FILES[f]) + " (" + fmt(fc[f]) + ")");
      o.value = f; o.title = FILES[f]; fs.appendChild(o);
    });
    var chips = $("f-sev").querySelectorAll("label");
    for (var k = 0; k < chips.length; k++) chips[k].querySelector(".cnt").textContent = fmt(sc[k]);
  }

  // ---- filtering and sorting ------------------------------------------------
  function matches(arr, q) {
    var m = new Uint8Array(arr.length);
    for (var i = 0; i < arr.length; i++) { var v = arr[i]; if (v !== null && String(v).toLowerCase().indexOf(q) >= 0) m[i] = 1; }
    return m;
  }
  function applyFilter() {
    var q = state.q.trim().toLowerCase(), qs, qc, qf, qr, qt, out = new Int32Array(N), n = 0;
    if (q) {
      qs = matches(S, q); qc = matches(C.id, q); qf = matches(FILES, q); qt = matches(T, q);
      qr = matches(RULES.code.map(function (c, i) { return c + " " + RULES.title[i]; }), q);
    }
    for (var i = 0; i < N; i++) {
      if (!state.sev[F.sev[i]]) continue;
      if (state.rule >= 0 && F.rule[i] !== state.rule) continue;
      if (state.file >= 0 && F.file[i] !== state.file) continue;
      if (q && !(qs[F.msg[i]] || qs[F.exp[i]] || qs[F.fnd[i]] || qs[F.sid[i]] || qs[F.el[i]] ||
                 qr[F.rule[i]] || qf[F.file[i]] || (F.claim[i] >= 0 && qc[F.claim[i]]) ||
                 (F.txt && F.txt[i] >= 0 && qt[F.txt[i]]))) continue;
      out[n++] = i;
    }
    rows = out.subarray(0, n);
    sortRows();
  }
  var ranks = {};
  function rankOf(values) {  // rank of each dictionary entry in string order
    var idx = values.map(function (_, i) { return i; });
    idx.sort(function (a, b) { var x = values[a] || "", y = values[b] || ""; return x < y ? -1 : x > y ? 1 : 0; });
    var r = new Int32Array(values.length);
    for (var k = 0; k < idx.length; k++) r[idx[k]] = k;
    return r;
  }
  function keyArray(key) {
    if (key === "sev" || key === "seg") return function (i) { return F[key][i]; };
    var src = { rule: RULES.code, file: FILES, claim: C.id }[key] || S;
    var col = { rule: "rule", file: "file", claim: "claim", msg: "msg", exp: "exp", fnd: "fnd" }[key];
    if (!ranks[key]) ranks[key] = rankOf(src);
    var r = ranks[key], a = F[col];
    return function (i) { return a[i] < 0 ? -1 : r[a[i]]; };
  }
  function sortRows() {
    if (!state.key) return;
    var k = keyArray(state.key), d = state.dir, arr = Array.prototype.slice.call(rows);
    arr.sort(function (a, b) { var x = k(a), y = k(b); return x !== y ? (x < y ? -d : d) : a - b; });
    rows = Int32Array.from(arr);
  }

  // ---- rendering ----------------------------------------------------------------
  function sevBadge(v) { return el("span", "sev " + SEV[v], SEV[v]); }
  function cell(tr, cls, child) { var td = el("td", cls); if (child !== undefined) td.appendChild(child); tr.appendChild(td); return td; }
  // Where a finding stands in its file: "line 42" (or "byte 1234" in a file without line
  // breaks) and the segment as written, PHI masked unless the report shows PHI.
  function whereText(i) {
    if (F.line && F.line[i] >= 0) return "line " + F.line[i];
    if (F.off && F.off[i] >= 0) return "byte " + F.off[i];
    return null;
  }
  function segText(i) { return F.txt && F.txt[i] >= 0 ? T[F.txt[i]] : null; }
  function claimId(ci) { var v = C.id[ci]; return v === null || v === "" ? "(no CLM01)" : v; }
  function claimButton(ci) {
    var b = el("button", "linkbtn", claimId(ci));
    b.type = "button"; b.dataset.claim = ci; b.title = "Show this claim";
    return b;
  }
  function findingRow(i) {
    var tr = el("tr", SEV[F.sev[i]]);
    cell(tr, "c-sev", sevBadge(F.sev[i]));
    var td = cell(tr, "c-rule");
    td.appendChild(el("div", "rc", RULES.code[F.rule[i]]));
    td.appendChild(el("div", "rt", RULES.title[F.rule[i]]));
    var fp = F.file[i] >= 0 ? FILES[F.file[i]] : "";
    cell(tr, "c-file", el("span", null, base(fp))).title = fp;
    cell(tr, "c-claim", F.claim[i] >= 0 ? claimButton(F.claim[i]) : el("span", "none", "—"));
    td = cell(tr, "c-seg");
    if (F.seg[i] >= 0) td.appendChild(document.createTextNode("#" + F.seg[i] + " "));
    if (F.sid[i] >= 0) td.appendChild(el("span", "sid", s(F.sid[i]) + (F.el[i] >= 0 && s(F.el[i]) !== s(F.sid[i]) ? " " + s(F.el[i]) : "")));
    if (whereText(i)) td.appendChild(el("div", "at", whereText(i)));
    if (segText(i) !== null) td.appendChild(el("div", "segtext", segText(i)));
    cell(tr, "c-msg").textContent = s(F.msg[i]);
    cell(tr, "c-exp").textContent = s(F.exp[i]);
    cell(tr, "c-fnd").textContent = s(F.fnd[i]);
    return tr;
  }
  function pages(total) { return Math.max(1, Math.ceil(total / state.size)); }
  function renderTable(all) {
    var body = $("fbody"), frag = document.createDocumentFragment();
    var start = all ? 0 : state.page * state.size;
    var end = all ? Math.min(rows.length, PRINT_CAP) : Math.min(rows.length, start + state.size);
    for (var k = start; k < end; k++) frag.appendChild(findingRow(rows[k]));
    if (!rows.length) { var tr = el("tr"); var td = cell(tr, "empty"); td.colSpan = 8; td.textContent = N ? "No finding matches these filters." : "No findings: every claim passed every enabled rule."; frag.appendChild(tr); }
    body.replaceChildren(frag);
    updatePager(rows.length, start, end);
  }

  // Grouped view: one card per claim (or per file for findings outside claims).
  var GROUPS_PER_PAGE = 20;
  function groups() {
    var order = [], seen = new Map();
    for (var k = 0; k < rows.length; k++) {
      var i = rows[k], g = F.claim[i] >= 0 ? F.claim[i] : -1 - F.file[i];
      var list = seen.get(g);
      if (!list) { list = []; seen.set(g, list); order.push(g); }
      list.push(i);
    }
    return { order: order, map: seen };
  }
  function kv(dl, label, value, cls) {
    if (value === null || value === undefined || value === "") return;
    dl.appendChild(el("dt", null, label));
    dl.appendChild(el("dd", cls || null, value));
  }
  // Annotator panels (registered by plugins): a titled box of a struct column's fields on
  // the claims its flag marks; D.c.panels describes each (see html_report._panel_columns).
  function panelValue(panel, field, ci) {
    var v = field.col ? cv(field.col, ci) : null;
    if (v === null || v === undefined || v === "") v = panel.extras[field.name];
    return v;
  }
  function panelShown(panel, ci) {
    if (panel.flag) return cv(panel.flag, ci) === true;
    return panel.fields.some(function (f) { var v = f.col ? cv(f.col, ci) : null; return v !== null && v !== ""; });
  }
  function panelBox(panel, ci) {
    if (!panelShown(panel, ci)) return null;
    var box = el("div", "panelbox");
    box.appendChild(el("h4", null, panel.title));
    var dl = el("dl", "kv");
    panel.fields.forEach(function (f) { kv(dl, f.label, panelValue(panel, f, ci), f.name); });
    box.appendChild(dl);
    return box;
  }
  function claimCard(g, list) {
    var card = el("article", "claimcard");
    var head = el("div", "ch");
    if (g >= 0) {
      card.classList.add(cv("status", g));
      head.appendChild(el("span", "muted", "Claim"));
      head.appendChild(el("span", "cid", claimId(g)));
      head.appendChild(el("span", "status " + cv("status", g), cv("status", g)));
      head.appendChild(el("span", null, [cv("type", g), cv("charge", g) ? "$" + cv("charge", g) : null].filter(Boolean).join(" · ")));
      var fp = C.file[g] >= 0 ? FILES[C.file[g]] : "";
      var loc = el("span", "muted", base(fp) + " · CLM at segment " + C.seg[g]); loc.title = fp;
      head.appendChild(loc);
    } else {
      var path = FILES[-1 - g];
      head.appendChild(el("span", "muted", "File / envelope"));
      var t = el("span", "cid", base(path)); t.title = path; head.appendChild(t);
    }
    card.appendChild(head);
    if (g >= 0) {
      var bodyEl = el("div", "cbody"), dl = el("dl", "kv");
      kv(dl, "Patient", cv("patient", g));
      if (cv("subscriber", g) && cv("subscriber", g) !== cv("patient", g)) kv(dl, "Subscriber", cv("subscriber", g));
      kv(dl, "Member ID", cv("member", g), "mono");
      kv(dl, "Patient birth date", cv("birth", g));
      kv(dl, "Payer", [cv("payer", g), cv("payer_id", g) ? "(" + cv("payer_id", g) + ")" : null].filter(Boolean).join(" "));
      kv(dl, "Plan (SBR04 / SBR09)", [cv("plan", g), cv("filing", g)].filter(Boolean).join(" · "));
      kv(dl, "Billing provider", [cv("billing", g), cv("npi", g) ? "NPI " + cv("npi", g) : null].filter(Boolean).join(" · "));
      kv(dl, "Service state", cv("state", g));
      kv(dl, "Service dates", cv("dates", g));
      PANELS.forEach(function (p) {
        if (p.flag && p.absent && cv(p.flag, g) === false) kv(dl, p.absent[0], p.absent[1]);
      });
      bodyEl.appendChild(dl);
      var boxes = PANELS.map(function (p) { return panelBox(p, g); }).filter(Boolean);
      boxes.forEach(function (b) { bodyEl.appendChild(b); });
      if (!boxes.length) bodyEl.classList.add("nopanel");
      card.appendChild(bodyEl);
    }
    if (g >= 0 && cv("env", g)) {
      card.appendChild(el("div", "envnote", "Also affected by findings on its transaction set or file: " +
        cv("env", g) + " (filter by the file to see them)."));
    }
    var ul = el("ul", "flist");
    list.forEach(function (i) {
      var li = el("li");
      li.appendChild(el("span", null)).appendChild(sevBadge(F.sev[i]));
      var rc = el("span", "rc", RULES.code[F.rule[i]]); rc.title = RULES.title[F.rule[i]]; li.appendChild(rc);
      var m = el("div");
      m.appendChild(el("div", null, s(F.msg[i])));
      var where = [];
      if (F.seg[i] >= 0) where.push("segment #" + F.seg[i]);
      if (F.sid[i] >= 0) where.push(s(F.sid[i]));
      if (F.el[i] >= 0) where.push(s(F.el[i]));
      if (whereText(i)) where.push(whereText(i));
      if (where.length) m.appendChild(el("div", "loc", where.join(" · ")));
      if (segText(i) !== null) m.appendChild(el("div", "segtext", segText(i)));
      li.appendChild(m);
      if (F.exp[i] >= 0 || F.fnd[i] >= 0) {
        var ef = el("div", "ef");
        if (F.exp[i] >= 0) { ef.appendChild(document.createTextNode("expected ")); ef.appendChild(el("b", null, s(F.exp[i]))); }
        if (F.exp[i] >= 0 && F.fnd[i] >= 0) ef.appendChild(document.createTextNode(" · "));
        if (F.fnd[i] >= 0) { ef.appendChild(document.createTextNode("found ")); ef.appendChild(el("b", null, s(F.fnd[i]))); }
        li.appendChild(ef);
      }
      ul.appendChild(li);
    });
    if (list.length) card.appendChild(ul);
    return card;
  }
  function renderClaims(all) {
    var G = groups(), total = G.order.length, box = $("view-claims"), frag = document.createDocumentFragment();
    var per = all ? PRINT_CAP : GROUPS_PER_PAGE;
    var start = all ? 0 : state.page * per, end = Math.min(total, start + per), shown = 0;
    if (all) {  // printing: whole claim cards up to PRINT_CAP findings in all
      for (end = 0; end < total && shown < PRINT_CAP; end++) {
        var list = G.map.get(G.order[end]);
        frag.appendChild(claimCard(G.order[end], list));
        shown += list.length;
      }
    } else {
      for (var k = start; k < end; k++) frag.appendChild(claimCard(G.order[k], G.map.get(G.order[k])));
    }
    if (!total) frag.appendChild(el("div", "empty", "No finding matches these filters."));
    box.replaceChildren(frag);
    updatePager(total, start, end, per, "claims");
    if (all && shown < rows.length) {
      $("print-note").textContent = "Printed: " + fmt(end) + " of " + fmt(total) + " claims and files, with " +
        fmt(shown) + " of " + fmt(rows.length) + " findings (the JSON/CSV outputs hold all).";
    }
  }
  function updatePager(total, start, end, per, unit) {
    per = per || state.size;
    var np = Math.max(1, Math.ceil(total / per));
    $("pageinfo").textContent = total ? "Page " + fmt(state.page + 1) + " of " + fmt(np) : "";
    var q = function (n) { return $("pager").querySelector("[data-page=" + n + "]"); };
    q("first").disabled = q("prev").disabled = state.page === 0;
    q("next").disabled = q("last").disabled = state.page >= np - 1;
    var what = unit === "claims" ? " claims and files with findings" : " findings";
    $("count").textContent = (total ? fmt(start + 1) + "–" + fmt(end) + " of " : "") + fmt(total) + what +
      (unit === "claims" ? " (" + fmt(rows.length) + " findings)" : (rows.length < N ? " (of " + fmt(N) + ")" : ""));
    $("print-note").textContent = rows.length > PRINT_CAP ? "Printed: the first " + fmt(PRINT_CAP) + " of " + fmt(rows.length) + " findings (the JSON/CSV outputs hold all)." : "";
  }
  function lastPage() {
    var total = state.view === "claims" ? groups().order.length : rows.length;
    return Math.max(0, Math.ceil(total / (state.view === "claims" ? GROUPS_PER_PAGE : state.size)) - 1);
  }
  function render(all) { if (state.view === "claims") renderClaims(all); else renderTable(all); }
  function refresh() { state.page = 0; applyFilter(); render(); }

  // ---- events -----------------------------------------------------------------
  function on(id, ev, fn) { $(id).addEventListener(ev, fn); }
  $("f-sev").addEventListener("change", function (e) { state.sev[+e.target.value] = e.target.checked; refresh(); });
  on("f-rule", "change", function (e) { state.rule = +e.target.value; refresh(); });
  on("f-file", "change", function (e) { state.file = +e.target.value; refresh(); });
  var timer = 0;
  on("f-q", "input", function (e) { clearTimeout(timer); timer = setTimeout(function () { state.q = e.target.value; refresh(); }, 160); });
  on("f-reset", "click", function () {
    state.sev = [true, true, true]; state.rule = state.file = -1; state.q = ""; state.key = null;
    $("f-rule").value = "-1"; $("f-file").value = "-1"; $("f-q").value = "";
    var boxes = $("f-sev").querySelectorAll("input"); for (var k = 0; k < boxes.length; k++) boxes[k].checked = true;
    setSortMarks(); refresh();
  });
  function setSortMarks() {
    var ths = document.querySelectorAll("#ftable th[data-sort]");
    for (var k = 0; k < ths.length; k++) {
      if (ths[k].dataset.sort === state.key) ths[k].setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
      else ths[k].removeAttribute("aria-sort");
    }
  }
  document.querySelector("#ftable thead").addEventListener("click", function (e) {
    var th = e.target.closest("th[data-sort]"); if (!th) return;
    var key = th.dataset.sort;
    if (state.key === key) state.dir = -state.dir; else { state.key = key; state.dir = 1; }
    setSortMarks(); state.page = 0; sortRows(); render();
  });
  $("pager").addEventListener("click", function (e) {
    var b = e.target.closest("[data-page]"); if (!b) return;
    var p = b.dataset.page, last = lastPage();
    state.page = p === "first" ? 0 : p === "prev" ? Math.max(0, state.page - 1) : p === "next" ? Math.min(last, state.page + 1) : last;
    render(); $("findings").scrollIntoView();
  });
  on("pagesize", "change", function (e) { state.size = +e.target.value; state.page = 0; render(); });
  function setView(v) {
    state.view = v; state.page = 0;
    $("tab-table").classList.toggle("on", v === "table"); $("tab-claims").classList.toggle("on", v === "claims");
    $("tab-table").setAttribute("aria-selected", v === "table"); $("tab-claims").setAttribute("aria-selected", v === "claims");
    $("view-table").hidden = v !== "table"; $("view-claims").hidden = v !== "claims";
    render();
  }
  on("tab-table", "click", function () { setView("table"); });
  on("tab-claims", "click", function () { setView("claims"); });
  function openClaim(ci) {
    var list = [];
    for (var i = 0; i < N; i++) if (F.claim[i] === ci) list.push(i);
    $("dlgbody").replaceChildren(claimCard(ci, list));
    var d = $("claimdlg");
    if (typeof d.showModal === "function") d.showModal(); else d.setAttribute("open", "");
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest(".linkbtn[data-claim]");
    if (b) { openClaim(+b.dataset.claim); return; }
    var r = e.target.closest("[data-rule]");
    if (r) { e.preventDefault(); selectRule(r.dataset.rule); return; }
    var f = e.target.closest("[data-file]");
    if (f) { selectFile(+f.dataset.file); }
  });
  function selectRule(code) {
    var idx = RULES.code.indexOf(code); if (idx < 0) return;
    state.rule = idx; $("f-rule").value = String(idx); refresh(); $("findings").scrollIntoView();
  }
  function selectFile(fid) {
    if (!(fid >= 0 && fid < FILES.length)) return;
    state.file = fid; $("f-file").value = String(fid); refresh(); $("findings").scrollIntoView();
  }
  on("dlgclose", "click", function () { var d = $("claimdlg"); if (d.close) d.close(); else d.removeAttribute("open"); });
  document.addEventListener("keydown", function (e) {
    if (e.key === "/" && document.activeElement !== $("f-q") && !e.ctrlKey && !e.metaKey) { e.preventDefault(); $("f-q").focus(); }
  });
  // Printing: every filtered finding (up to PRINT_CAP) as a list, not just the current page.
  window.addEventListener("beforeprint", function () { render(true); });
  window.addEventListener("afterprint", function () { render(false); });

  fillControls();
  applyFilter();
  render();
  document.documentElement.dataset.ready = "1";
  }

  load();
})();
