// nerkit web page: tag pasted text through POST v1/entities, and show files: CoNLL columns
// (gold tags, or gold vs predicted with the differences marked) and saved predictions (JSON
// Lines with entities), all highlighted the same way (marks styled by static/style.css).
//
// Offsets from the API count Unicode code points (Python string indices), while JavaScript
// strings index UTF-16 units, so text is cut with Array.from (code points); otherwise every
// entity after an emoji would be shifted. User text only ever goes in through textContent.
"use strict";

(() => {
  const PALETTE = 8; // colour classes c0..c7 in style.css
  const MAX_SENTENCES = 2000; // CoNLL sentences drawn at once; the summary says if more exist
  // the kinds of nerkit.conll.analysis, as titles name them
  const KIND_NAMES = {
    correct: "correct", wrong_type: "wrong type", wrong_boundary: "wrong boundary",
    wrong_type_and_boundary: "wrong type and boundary", missed: "missed", spurious: "spurious",
  };
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

  // Draw `text` into `container` with each entity ({label, start, end, score?, kind?};
  // code-point offsets, end exclusive, sorted, not overlapping) wrapped in <mark class="entity">.
  // A kind (gold vs predicted) goes to data-kind, and a difference gets the class "diff".
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
      if (entity.kind) {
        mark.dataset.kind = entity.kind;
        mark.title = `${entity.label} · ${KIND_NAMES[entity.kind]}`;
        if (entity.kind !== "correct") mark.classList.add("diff");
      }
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

  // Sentences of a column file: word in the first column, tags in the last one or two; columns
  // split on tabs or spaces; a blank line ends a sentence; -DOCSTART- lines are document marks.
  function parseConll(content, name) {
    const sentences = [];
    let rows = [];
    let firstLine = 0;
    let nColumns = 0;
    const flush = () => {
      if (rows.length) sentences.push({ words: rows.map((r) => r[0]), rows, line: firstLine });
      rows = [];
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
      nColumns = nColumns || columns.length;
      if (!rows.length) firstLine = i + 1;
      rows.push(columns);
    });
    flush();
    return { sentences, nColumns };
  }

  // Which columns hold gold and predicted tags, decided as `nerkit render` decides
  // (nerkit/server/render_files.py, tag_columns): with "auto", gold and predicted when there
  // are 3 columns or more, the last two hold only tags, and they share an entity type or one
  // has none (so `word POS tag` and CoNLL-2003's `word POS chunk tag` are gold only).
  const TAG = /^(O|[BIESLU]-\S+)$/;
  function tagColumns(parsed, choice, name) {
    const n = parsed.nColumns;
    if (choice === "gold-pred" && n < 3) {
      throw new Error(`${name}: has ${n} columns; gold and predicted tags need three ` +
                      "(word ... gold predicted)");
    }
    let both = choice === "gold-pred";
    if (choice === "auto" && n >= 3) {
      const rows = parsed.sentences.flatMap((s) => s.rows);
      const gold = rows.map((r) => r[r.length - 2]);
      const pred = rows.map((r) => r[r.length - 1]);
      if ([...gold, ...pred].every((tag) => TAG.test(tag))) {
        const types = (tags) => new Set(tags.filter((t) => t !== "O").map((t) => t.slice(2)));
        const goldTypes = types(gold);
        const predTypes = types(pred);
        const shared = [...goldTypes].some((t) => predTypes.has(t));
        both = shared || !goldTypes.size || !predTypes.size;
      }
    }
    return both ? { gold: n - 2, pred: n - 1 } : { gold: n - 1, pred: null };
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

  // Gold and predicted spans paired one to one, each pair with its kind, as
  // nerkit.conll.analysis.pair_spans does: exact matches first, then overlapping pairs taken
  // greedily (larger overlap, then same type, then earlier gold, then earlier prediction);
  // gold left alone is missed, a prediction left alone is spurious.
  function pairSpans(gold, pred) {
    const same = (a, b) => a.start === b.start && a.end === b.end;
    const pairs = [];
    const freeGold = new Set(gold);
    const freePred = new Set(pred);
    for (const g of gold) {
      const p = pred.find((q) => same(g, q) && q.label === g.label);
      if (p) {
        pairs.push({ kind: "correct", gold: g, pred: p });
        freeGold.delete(g);
        freePred.delete(p);
      }
    }
    const candidates = [];
    for (const g of freeGold) {
      for (const p of freePred) {
        const overlap = Math.min(g.end, p.end) - Math.max(g.start, p.start);
        if (overlap > 0) candidates.push({ overlap, other: g.label !== p.label ? 1 : 0, g, p });
      }
    }
    candidates.sort((a, b) => b.overlap - a.overlap || a.other - b.other ||
                              a.g.start - b.g.start || a.p.start - b.p.start);
    for (const { g, p } of candidates) {
      if (!freeGold.has(g) || !freePred.has(p)) continue;
      freeGold.delete(g);
      freePred.delete(p);
      const kind = same(g, p)
        ? "wrong_type"
        : g.label === p.label ? "wrong_boundary" : "wrong_type_and_boundary";
      pairs.push({ kind, gold: g, pred: p });
    }
    for (const g of freeGold) pairs.push({ kind: "missed", gold: g, pred: null });
    for (const p of freePred) pairs.push({ kind: "spurious", gold: null, pred: p });
    const first = (pair) => Math.min(...[pair.gold, pair.pred].filter(Boolean).map((s) => s.start));
    const at = (span) => (span ? span.start : Infinity);
    return pairs.sort((a, b) => first(a) - first(b) || at(a.gold) - at(b.gold) ||
                                at(a.pred) - at(b.pred));
  }

  // Code-point offset of each word in the sentence text (words joined by spaces).
  function wordStarts(words) {
    const starts = [];
    let offset = 0;
    for (const word of words) {
      starts.push(offset);
      offset += Array.from(word).length + 1;
    }
    return starts;
  }

  function spanEntity(span, words, starts) {
    return {
      label: span.label,
      start: starts[span.start],
      end: starts[span.end - 1] + Array.from(words[span.end - 1]).length,
    };
  }

  // A sentence block with its gold entities only.
  function goldBlock(words, tags) {
    const starts = wordStarts(words);
    const entities = tagsToSpans(tags).map((span) => spanEntity(span, words, starts));
    const block = document.createElement("div");
    block.className = "nerkit-doc sentence";
    drawDocument(block, words.join(" "), entities);
    return { block, entities: entities.length, differences: 0 };
  }

  // A sentence drawn twice, gold above predicted; marks carry their pair's kind (data-kind)
  // and differences the class "diff", as nerkit.server.render.comparison_html draws them.
  function comparisonBlock(words, goldTags, predTags) {
    const starts = wordStarts(words);
    const pairs = pairSpans(tagsToSpans(goldTags), tagsToSpans(predTags));
    const block = document.createElement("div");
    block.className = "nerkit-compare sentence";
    for (const [side, name] of [["gold", "gold"], ["pred", "predicted"]]) {
      const row = document.createElement("div");
      row.className = "nerkit-doc " + side;
      row.dataset.row = name;
      const entities = pairs.filter((pair) => pair[side]).map((pair) => ({
        ...spanEntity(pair[side], words, starts), kind: pair.kind,
      }));
      drawDocument(row, words.join(" "), entities.sort((a, b) => a.start - b.start));
      block.append(row);
    }
    const differences = pairs.filter((pair) => pair.kind !== "correct").length;
    block.dataset.differences = String(differences);
    return { block, entities: pairs.filter((pair) => pair.gold).length, differences,
             predicted: pairs.filter((pair) => pair.pred).length };
  }

  // Saved predictions: JSON Lines of {"text": ..., "entities": [{label, start, end}, ...]}, as
  // `nerkit predict` writes them (offsets in code points), drawn without a model.
  function parseSaved(content, name) {
    const documents = [];
    content.split(/\r\n|\n|\r/).forEach((line, i) => {
      if (!line.trim()) return;
      const where = `${name}:${i + 1}`;
      let record;
      try {
        record = JSON.parse(line);
      } catch (err) {
        throw new Error(`${where}: not valid JSON (${err.message}); write one JSON object per line`);
      }
      const entities = record && record.entities;
      const valid = (e) => e && typeof e.label === "string" &&
        Number.isInteger(e.start) && Number.isInteger(e.end);
      if (typeof (record && record.text) !== "string" || !Array.isArray(entities) ||
          !entities.every(valid)) {
        throw new Error(`${where}: expected {"text": ..., "entities": [{label, start, end}]}, ` +
                        "as `nerkit predict` writes them");
      }
      documents.push({ text: record.text, entities, line: i + 1 });
    });
    return documents;
  }

  let lastFile = null; // redrawn when the column choice changes

  // Draw the blocks (the first MAX_SENTENCES); with `compare`, the differences-only box
  // applies (a gold-only view or saved predictions have no differences to filter on).
  function drawBlocks(name, items, compare = false) {
    const onlyDifferences = compare && byId("conll-errors-only").checked;
    const shown = items.filter((item) => !onlyDifferences || item.differences > 0);
    const drawn = shown.slice(0, MAX_SENTENCES);
    for (const item of drawn) {
      item.block.dataset.line = String(item.line);
      item.block.title = `${name}:${item.line}`;
    }
    byId("conll-output").replaceChildren(...drawn.map((item) => item.block));
    const more = shown.length > drawn.length
      ? ` (showing the first ${drawn.length.toLocaleString()})`
      : "";
    return { shown: shown.length, more };
  }

  function showSaved(name, content) {
    const items = parseSaved(content, name).map((doc) => {
      const block = document.createElement("div");
      block.className = "nerkit-doc sentence";
      try {
        drawDocument(block, doc.text, [...doc.entities].sort((a, b) => a.start - b.start));
      } catch (err) {
        throw new Error(`${name}:${doc.line}: ${err.message}`);
      }
      return { block, line: doc.line, entities: doc.entities.length, differences: 0 };
    });
    const { more } = drawBlocks(name, items);
    const total = items.reduce((n, item) => n + item.entities, 0);
    return `${name}: ${items.length.toLocaleString()} documents${more}, ` +
           `${total.toLocaleString()} saved entities`;
  }

  function showColumns(name, content) {
    const parsed = parseConll(content, name);
    const columns = tagColumns(parsed, byId("conll-columns").value, name);
    const items = parsed.sentences.map((sentence) => {
      const tags = (column) => sentence.rows.map((row) => row[column]);
      const item = columns.pred === null
        ? goldBlock(sentence.words, tags(columns.gold))
        : comparisonBlock(sentence.words, tags(columns.gold), tags(columns.pred));
      return { ...item, line: sentence.line };
    });
    const { shown, more } = drawBlocks(name, items, columns.pred !== null);
    const sum = (key) => items.reduce((n, item) => n + (item[key] || 0), 0);
    const count = `${name}: ${parsed.sentences.length.toLocaleString()} sentences`;
    if (columns.pred === null) {
      return `${count}${more}, ${sum("entities").toLocaleString()} gold entities ` +
             `(column ${columns.gold + 1})`;
    }
    const only = byId("conll-errors-only").checked
      ? `; showing the ${shown.toLocaleString()} sentences with one`
      : "";
    return `${count}${more}, gold (column ${columns.gold + 1}) vs predicted (column ` +
           `${columns.pred + 1}): ${sum("entities").toLocaleString()} gold entities, ` +
           `${sum("predicted").toLocaleString()} predicted, ` +
           `${sum("differences").toLocaleString()} differences${only}`;
  }

  async function showConll(file) {
    const output = byId("conll-output");
    const summary = byId("conll-summary");
    output.dataset.state = "busy";
    try {
      await modelReady;
      const content = await file.text();
      lastFile = file;
      const saved = /\.jsonl$/i.test(file.name) || content.trimStart().startsWith("{");
      setStatus(summary, saved ? showSaved(file.name, content) : showColumns(file.name, content));
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
    for (const id of ["conll-columns", "conll-errors-only"]) {
      byId(id).addEventListener("change", () => {
        if (lastFile) showConll(lastFile);
      });
    }
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
