() => Array.from(document.querySelectorAll("figure.gtm-chart")).map(fig => {
  // Labels that overlap in a chart's visible static SVG. Rotated labels (axis labels at an angle) are
  // compared by the perpendicular distance between their baselines, which must be at least the font size.
  const svg = Array.from(fig.querySelectorAll(".gtm-chart-static svg")).find(s => s.getBoundingClientRect().width > 0);
  const title = (fig.querySelector("figcaption") || {}).textContent || "";
  if (!svg) return [title, []];
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width || 1;
  const texts = Array.from(svg.querySelectorAll("text")).filter(t => {
    const r = t.getBoundingClientRect();
    return t.textContent.trim() && r.width > 0 && !t.closest('[opacity="0"]') && t.getAttribute("opacity") !== "0";
  }).map(t => {
    const m = /rotate\((-?[\d.]+)\)/.exec(t.getAttribute("transform") || "");
    return { text: t.textContent.trim(), box: t.getBoundingClientRect(), angle: m ? parseFloat(m[1]) : 0,
             size: parseFloat(getComputedStyle(t).fontSize) * scale };
  });
  const edge = svg.getBoundingClientRect();
  const page = document.documentElement.clientWidth;
  const pairs = [];
  texts.forEach((a, i) => {
    if (a.box.left < Math.max(0, edge.left - 16) - 1 || a.box.right > Math.min(page, edge.right + 16) + 1) pairs.push([a.text, "clipped"]);
    texts.slice(i + 1).forEach(b => {
      const ox = Math.min(a.box.right, b.box.right) - Math.max(a.box.left, b.box.left);
      const oy = Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top);
      if (ox <= 1 || oy <= 1) return;
      if (a.angle && a.angle === b.angle && a.angle % 180) {
        const gap = Math.abs(a.box.right - b.box.right) * Math.abs(Math.sin(a.angle * Math.PI / 180));
        if (gap >= a.size * 0.95) return;
      }
      pairs.push([a.text, b.text]);
    });
  });
  return [title, pairs];
})
