package browser

// a11yScript returns, as a list of strings, every accessibility basic the page misses:
//   - a form control (input, select, textarea) without a label: a <label for>, a wrapping
//     <label>, aria-label or aria-labelledby (hidden inputs excepted);
//   - a button or link without text or aria-label;
//   - headings out of order: not exactly one h1, or a level skipped on the way down;
//   - the page without lang or title;
//   - visible text whose contrast against the background behind it is below 4.5:1 (3:1 for large
//     text, 24px or 18.66px bold), WCAG 2 AA, computing the background by walking up to the first
//     ancestor with an opaque enough background colour.
const a11yScript = `(() => {
  const out = [];
  const visible = el => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none" && !el.closest("[hidden]"); };
  const name = el => (el.getAttribute("aria-label") || el.textContent || el.getAttribute("title") || el.value || "").trim();
  const desc = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : "");
  if (!document.documentElement.lang) out.push("html has no lang");
  if (!document.title.trim()) out.push("page has no title");
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden") continue;
    const labelled = (el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]')) || el.closest("label") ||
      el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
    if (!labelled) out.push("unlabelled " + desc(el));
  }
  for (const el of document.querySelectorAll("button, a[href]")) {
    if (!name(el)) out.push("no accessible name: " + desc(el));
  }
  const hs = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")];
  if (hs.filter(h => h.tagName === "H1").length !== 1) out.push("not exactly one h1 (" + hs.filter(h => h.tagName === "H1").length + ")");
  let level = 0;
  for (const h of hs) { const l = +h.tagName[1]; if (l > level + 1) out.push("heading " + h.tagName + " '" + h.textContent.trim() + "' after h" + level); level = l; }

  const parse = c => { const m = c.match(/rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)/); return m ? [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]] : null; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const bgOf = el => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c[3] >= 0.5) return c; }
    return parse(getComputedStyle(document.documentElement).backgroundColor) || [255, 255, 255, 1]; };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const el = n.parentElement;
    if (!el || seen.has(el) || !visible(el) || el.closest(".vh, .skip")) continue;
    seen.add(el);
    const s = getComputedStyle(el);
    const fg = parse(s.color), bg = bgOf(el);
    if (!fg) continue;
    // A translucent text colour is blended over the background.
    const a = fg[3], blended = [0, 1, 2].map(i => fg[i] * a + bg[i] * (1 - a));
    const L1 = lum(blended), L2 = lum(bg);
    const ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05);
    const size = parseFloat(s.fontSize), bold = +s.fontWeight >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) out.push("contrast " + ratio.toFixed(2) + " < " + need + " for '" + n.textContent.trim().slice(0, 40) + "' in " + desc(el) + " (" + s.color + " on rgb(" + bg.slice(0, 3).join(",") + "))");
  }
  return out;
})()`

// A11y returns the accessibility basics the page in the tab misses; empty when it has them all.
func (b *Browser) A11y() []string {
	b.t.Helper()
	return Eval[[]string](b, a11yScript)
}
