/** Escapes text for XML (SVG) content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
}

export interface Bar {
  label: string;
  count: number;
  percent: string;
}

/**
 * A horizontal bar chart as a standalone SVG: readable in print and on a
 * phone, sized by its viewBox. The table beside it on the page is its text
 * alternative; the SVG also carries a title and description for downloads.
 */
export function barChartSvg(title: string, description: string, bars: Bar[]): string {
  const width = 640;
  const labelWidth = 230;
  const barArea = width - labelWidth - 110;
  const rowHeight = 34;
  const top = 44;
  const height = top + bars.length * rowHeight + 12;
  const max = Math.max(1, ...bars.map((b) => b.count));
  const rows = bars
    .map((bar, i) => {
      const y = top + i * rowHeight;
      const length = Math.max(bar.count > 0 ? 2 : 0, Math.round((bar.count / max) * barArea));
      return [
        `<text x="${labelWidth - 8}" y="${y + 21}" text-anchor="end">${escapeXml(bar.label)}</text>`,
        `<rect x="${labelWidth}" y="${y + 6}" width="${length}" height="22" fill="#1d3557"/>`,
        `<text x="${labelWidth + length + 6}" y="${y + 21}">${escapeXml(`${bar.count} (${bar.percent})`)}</text>`,
      ].join('');
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="chart-title chart-desc" font-family="system-ui, Arial, sans-serif" font-size="15" fill="#0b0c0c">
<title id="chart-title">${escapeXml(title)}</title>
<desc id="chart-desc">${escapeXml(description)}</desc>
<text x="0" y="24" font-size="18" font-weight="bold">${escapeXml(title)}</text>
${rows}
</svg>
`;
}
