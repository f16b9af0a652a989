// The query page (/sparql): turns the plain form into an editor with SPARQL highlighting
// (CodeMirror 6 with the SPARQL mode of @codemirror/legacy-modes), loads the named queries as
// examples, runs the query with fetch and shows the results as a table whose IRIs link to
// their pages. Without JavaScript the form still works: it sends the query to /sparql.
// Every value from a result is put in the page with textContent, never as HTML.
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from "@codemirror/view";
import { EditorState } from "@codemirror/state";
import { StreamLanguage, syntaxHighlighting, defaultHighlightStyle, bracketMatching, indentOnInput } from "@codemirror/language";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { sparql } from "@codemirror/legacy-modes/mode/sparql";

const form = document.getElementById("query-form");
const textarea = form && form.querySelector("textarea[name=query]");
const output = document.getElementById("results");
const status = document.getElementById("query-status");
const downloads = document.getElementById("downloads");
const picker = document.getElementById("examples");
const about = document.getElementById("example-about");
const examples = JSON.parse(document.getElementById("examples-data")?.textContent || "[]");
const base = form?.dataset.base || "";
const text = (key) => form?.dataset[key] || key;

function localPath(iri) {
  // Our IRIs that this server describes open its page; the rest stay external links.
  if (!base || !iri.startsWith(base)) return null;
  const rest = iri.slice(base.length);
  return /^(id\/.+|def(#.*)?|dataset(\/.*)?|catalog(#.*)?)$/.test(rest) ? "/" + rest : null;
}

function cell(term) {
  const td = document.createElement("td");
  if (!term) return td;
  if (term.type === "uri") {
    const a = document.createElement("a");
    const local = localPath(term.value);
    const safe = local || (/^https?:\/\//.test(term.value) ? term.value : null);
    a.textContent = term.value;
    if (safe) a.href = safe; else return Object.assign(td, { textContent: term.value });
    if (!local) a.className = "external";
    td.append(a);
  } else if (term.type === "bnode") {
    td.textContent = `_:${term.value}`;
  } else {
    td.textContent = term.value;
    const tag = term["xml:lang"];
    if (tag) {
      const span = document.createElement("span");
      span.className = "lang";
      span.textContent = tag;
      td.append(" ", span);
    }
  }
  return td;
}

function table(data) {
  const vars = data.head.vars || [];
  const rows = data.results.bindings;
  const t = document.createElement("table");
  t.className = "results";
  const head = t.createTHead().insertRow();
  for (const name of vars) {
    const th = document.createElement("th");
    th.textContent = name;
    head.append(th);
  }
  const body = t.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const name of vars) tr.append(cell(row[name]));
  }
  return t;
}

function setDownloads(query) {
  downloads.replaceChildren();
  for (const format of ["csv", "json"]) {
    const a = document.createElement("a");
    a.href = `/sparql?${new URLSearchParams({ query, format })}`;
    a.textContent = format.toUpperCase();
    a.setAttribute("download", `gros-results.${format}`);
    downloads.append(a, " ");
  }
  downloads.hidden = false;
}

async function run(query) {
  status.textContent = text("running");
  output.replaceChildren();
  const started = performance.now();
  let response;
  try {
    response = await fetch("/sparql", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded",
                 Accept: "application/sparql-results+json, text/turtle;q=0.9" },
      body: new URLSearchParams({ query }),
    });
  } catch (error) {
    status.textContent = String(error);
    return;
  }
  const type = response.headers.get("content-type") || "";
  if (!response.ok) {
    let message = `${response.status}`;
    try { message += ": " + (type.includes("json") ? (await response.json()).error : await response.text()); } catch (e) { /* keep the status */ }
    status.textContent = message;
    status.classList.add("error");
    return;
  }
  status.classList.remove("error");
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  if (type.includes("sparql-results+json")) {
    const data = await response.json();
    if ("boolean" in data) {
      status.textContent = `${text("answer")}: ${data.boolean} (${seconds} s)`;
    } else {
      status.textContent = `${data.results.bindings.length} ${text("rows")} (${seconds} s)`;
      output.append(table(data));
      setDownloads(query);
    }
  } else {
    const pre = document.createElement("pre");
    pre.textContent = await response.text();
    status.textContent = `${seconds} s`;
    output.append(pre);
  }
  const truncated = response.headers.get("gros-result-truncated");
  if (truncated) status.textContent += ` · ${truncated}`;
}

// CodeMirror puts its styles in a <style> element, which the pages' Content-Security-Policy
// (no inline styles) refuses. Inside a shadow root it uses a constructed stylesheet
// (adoptedStyleSheets) instead, which the policy allows: so the editor lives in one.
const THEME = EditorView.theme({
  "&": { border: "1px solid #d9e0e4", borderRadius: "4px", backgroundColor: "#fff", fontSize: "14px" },
  ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", minHeight: "14rem", maxHeight: "32rem" },
  "&.cm-focused": { outline: "2px solid #1f6f8b" },
});

if (form && textarea) {
  const host = document.createElement("div");
  host.className = "editor";
  textarea.after(host);
  const shadow = host.attachShadow({ mode: "open" });
  const view = new EditorView({
    root: shadow,
    parent: shadow,
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        lineNumbers(), history(), drawSelection(), highlightActiveLine(), bracketMatching(), indentOnInput(),
        StreamLanguage.define(sparql), syntaxHighlighting(defaultHighlightStyle),
        keymap.of([{ key: "Mod-Enter", run: () => { form.requestSubmit(); return true; } },
                   indentWithTab, ...defaultKeymap, ...historyKeymap]),
        EditorView.lineWrapping, THEME,
      ],
    }),
  });
  textarea.hidden = true;

  const setQuery = (value) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });

  form.addEventListener("submit", (event) => {
    // Only the run button is taken over; "download" submits the form to /sparql as usual.
    if (event.submitter && event.submitter.name === "download") {
      textarea.value = view.state.doc.toString();
      return;
    }
    event.preventDefault();
    textarea.value = view.state.doc.toString();
    run(textarea.value);
  });

  function describe(example) {
    about.replaceChildren();
    if (!example) return;
    const p = document.createElement("p");
    p.textContent = example.description || "";
    about.append(p);
    const names = Object.keys(example.parameters || {});
    const note = document.createElement("p");
    note.className = "note";
    const link = document.createElement("a");
    link.href = `/queries/${encodeURIComponent(example.name)}`;
    link.textContent = `/queries/${example.name}`;
    note.append(names.length ? `${text("parameters")}: ${names.join(", ")}. ${text("unbound")} ` : `${text("named")} `, link);
    about.append(note);
  }

  if (picker) {
    picker.addEventListener("change", () => {
      const example = examples.find((e) => e.name === picker.value);
      if (example) setQuery(example.text);
      describe(example);
    });
    describe(examples.find((e) => e.name === picker.value));
  }
  if (form.dataset.autorun === "true") run(textarea.value);
}
