// nerkit web page: tag pasted text through POST v1/entities, and show CoNLL files with their
// gold tags, both highlighted the same way (marks styled by static/style.css).
//
// Offsets from the API count Unicode code points (Python string indices), while JavaScript
// strings index UTF-16 units, so text is cut with Array.from (code points); otherwise every
// entity after an emoji would be shifted. User text only ever goes in through textContent.
"use strict";

(() => {
  const PALETTE = 8; // colour classes c0..c7 in style.css
  const MAX_SENTENCES = 2000; // CoNLL sentences drawn at once; the summary says if more exist
  const types = []; // model types first (same order as `nerkit render`), then new ones
  let modelReady = Promise.resolve(); // colours wait for the model's type list
  const byId = (id) => document.getElementById(id);

  // ------------------------------------------------------------------ colours and legend

  function colourClass(label) {
    let index = types.indexOf(label);
    if (index < 0) {
      types.push(label);
      index = types.length - 1;
      drawLegend();
    }
    return "c" + (index % PALETTE);
  }

  function drawLegend() {
    const legend = byId("legend");
    legend.replaceChildren(
      ...types.map((label, index) => {
        const item = document.createElement("li");
        item.className = "legend-item c" + (index % PALETTE);
        item.dataset.label = label;
        item.textContent = label;
        return item;
      }),
    );
  }

  // ------------------------------------------------------------------ highlighting

  // Draw `text` into `container` with each entity ({label, start, end, score?}; code-point
  // offsets, end exclusive, sorted, not overlapping) wrapped in <mark class="entity">.
  function drawDocument(container, text, entities) {
    const chars = Array.from(text);
    const fragment = document.createDocumentFragment();
    let cursor = 0;
    for (const entity of entities) {
      if (entity.start < cursor || entity.end > chars.length || entity.start >= entity.end) {
        throw new Error(`entity ${entity.label} [${entity.start}, ${entity.end}) does not fit the text`);
      }
      fragment.append(chars.slice(cursor, entity.start).join(""));
      const mark = document.createElement("mark");
      mark.className = "entity " + colourClass(entity.label);
      mark.dataset.label = entity.label;
      mark.dataset.start = String(entity.start);
      mark.dataset.end = String(entity.end);
      mark.textContent = chars.slice(entity.start, entity.end).join("");
      mark.title = typeof entity.score === "number"
        ? `${entity.label} · score ${entity.score.toFixed(3)}`
        : entity.label;
      fragment.append(mark);
      cursor = entity.end;
    }
    fragment.append(chars.slice(cursor).join(""));
    container.replaceChildren(fragment);
  }

  // ------------------------------------------------------------------ tagging through the API

  function setStatus(element, message, isError = false) {
    element.textContent = message;
    element.classList.toggle("error", isError);
  }

  // FastAPI answers {"detail": "..."} or, for validation errors, {"detail": [{loc, msg}, ...]}.
  function errorMessage(status, answer) {
    const detail = answer && answer.detail;
    if (Array.isArray(detail)) {
      return `${status}: ` + detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
    }
    return `${status}: ${detail || "request failed"}`;
  }

  async function tagText() {
    const button = byId("tag");
    const output = byId("output");
    const status = byId("status");
    const text = byId("text").value;
    button.disabled = true;
    output.dataset.state = "busy";
    setStatus(status, "Tagging…");
    try {
      await modelReady;
      const response = await fetch("v1/entities", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text }),
      });
      const answer = await response.json();
      byId("json").textContent = JSON.stringify(answer, null, 2);
      if (!response.ok) {
        output.replaceChildren();
        output.dataset.state = "error";
        setStatus(status, errorMessage(response.status, answer), true);
        return;
      }
      drawDocument(output, text, answer.entities);
      output.dataset.state = "done";
      const n = answer.entities.length;
      setStatus(status, `${n} ${n === 1 ? "entity" : "entities"} (hover one for its score)`);
    } catch (err) {
      output.dataset.state = "error";
      setStatus(status, `Request failed: ${err.message}`, true);
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------ CoNLL files

  // Sentences of a column file: word in the first column, gold tag in the last; columns split
  // on tabs or spaces; a blank line ends a sentence; -DOCSTART- lines are document marks.
  function parseConll(content, name) {
    const sentences = [];
    let words = [];
    let tags = [];
    let firstLine = 0;
    const flush = () => {
      if (words.length) sentences.push({ words, tags, line: firstLine });
      words = [];
      tags = [];
    };
    content.split(/\r\n|\n|\r/).forEach((line, i) => {
      const columns = line.trim().split(/\s+/);
      if (!columns[0]) return flush();
      if (columns[0] === "-DOCSTART-") return flush();
      if (columns.length < 2) {
        throw new Error(
          `${name}:${i + 1}: expected at least 2 columns (word ... tag), found 1 ` +
          `(${JSON.stringify(columns[0])}); give a file with the tag in the last column`,
        );
      }
      if (!words.length) firstLine = i + 1;
      words.push(columns[0]);
      tags.push(columns[columns.length - 1]);
    });
    flush();
    return sentences;
  }

  // Word spans from tags in IOB1, IOB2, IOE, BIOES or BILOU. As in conlleval, an I- tag after
  // O or after another type opens an entity; E-/L-/S-/U- close one; a bare "PER" counts as I-.
  function tagsToSpans(tags) {
    const spans = [];
    let current = null;
    const close = (end) => {
      if (current) spans.push({ ...current, end });
      current = null;
    };
    tags.forEach((tag, i) => {
      if (tag === "O") return close(i);
      const match = /^([BIELSU])-(.+)$/.exec(tag);
      const prefix = match ? match[1] : "I";
      const label = match ? match[2] : tag;
      if ("BSU".includes(prefix) || !current || current.label !== label) {
        close(i);
        current = { label, start: i };
      }
      if ("ELSU".includes(prefix)) close(i + 1);
    });
    close(tags.length);
    return spans;
  }

  // A sentence as text (words joined by spaces) with its spans in code-point offsets.
  function sentenceDocument(sentence) {
    const starts = [];
    let offset = 0;
    for (const word of sentence.words) {
      starts.push(offset);
      offset += Array.from(word).length + 1;
    }
    const entities = tagsToSpans(sentence.tags).map((span) => ({
      label: span.label,
      start: starts[span.start],
      end: starts[span.end - 1] + Array.from(sentence.words[span.end - 1]).length,
    }));
    return { text: sentence.words.join(" "), entities };
  }

  async function showConll(file) {
    const output = byId("conll-output");
    const summary = byId("conll-summary");
    output.dataset.state = "busy";
    try {
      await modelReady;
      const sentences = parseConll(await file.text(), file.name);
      const shown = sentences.slice(0, MAX_SENTENCES);
      let entityCount = 0;
      output.replaceChildren(
        ...shown.map((sentence) => {
          const { text, entities } = sentenceDocument(sentence);
          entityCount += entities.length;
          const block = document.createElement("div");
          block.className = "nerkit-doc sentence";
          block.dataset.line = String(sentence.line);
          block.title = `${file.name}:${sentence.line}`;
          drawDocument(block, text, entities);
          return block;
        }),
      );
      const more = sentences.length > shown.length
        ? ` (showing the first ${shown.length.toLocaleString()})`
        : "";
      setStatus(
        summary,
        `${file.name}: ${sentences.length.toLocaleString()} sentences${more}, ` +
        `${entityCount.toLocaleString()} gold entities shown`,
      );
      output.dataset.state = "done";
    } catch (err) {
      output.replaceChildren();
      output.dataset.state = "error";
      setStatus(summary, err.message, true);
    }
  }

  // ------------------------------------------------------------------ model info and wiring

  async function loadModelInfo() {
    const info = byId("model-info");
    try {
      const response = await fetch("v1/model");
      const model = await response.json();
      for (const label of model.types || []) if (!types.includes(label)) types.push(label);
      drawLegend();
      const parts = [model.name || "model", `types ${(model.types || []).join(", ")}`];
      if (model.encoder) parts.push(`encoder ${model.encoder}`);
      const scores = model.scores || {};
      for (const split of ["dev", "test"]) {
        const f1 = scores[`${split}_f1`];
        if (typeof f1 === "number") parts.push(`${split} F1 ${f1.toFixed(2)}`);
      }
      info.textContent = parts.join(" · ");
    } catch (err) {
      setStatus(info, `Could not read v1/model: ${err.message}`, true);
    }
  }

  function wire() {
    byId("tag").addEventListener("click", tagText);
    byId("text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) tagText();
    });
    byId("conll-file").addEventListener("change", (event) => {
      const file = event.target.files[0];
      if (file) showConll(file);
    });
    const drop = byId("drop");
    // Dropping anywhere opens the file here instead of the browser navigating away to it.
    document.addEventListener("dragover", (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
    document.addEventListener("dragleave", () => drop.classList.remove("over"));
    document.addEventListener("drop", (event) => {
      event.preventDefault();
      drop.classList.remove("over");
      const file = event.dataTransfer && event.dataTransfer.files[0];
      if (file) showConll(file);
    });
    modelReady = loadModelInfo();
  }

  wire();
})();
