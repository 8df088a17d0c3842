/**
 * Printers of a derivation document: Markdown (GitHub renders its $$ blocks), HTML (KaTeX
 * rendered here, its CSS and fonts local, no network) and LaTeX source.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import katex from 'katex';
import type { Block, DerivationDoc } from './model.js';

const require = createRequire(import.meta.url);
/** KaTeX's dist folder (CSS and fonts), from the installed package. */
export const KATEX_DIST = dirname(require.resolve('katex/dist/katex.min.css'));

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Renders display or inline LaTeX with KaTeX, throwing on any error. */
export function renderKatex(latex: string, displayMode: boolean): string {
  return katex.renderToString(latex, { displayMode, throwOnError: true, strict: 'error', output: 'html' });
}

/** Prose with $inline math$, `code` and "eq. N" references, as HTML. */
function proseHtml(text: string): string {
  return text
    .split(/(\$[^$]+\$)/)
    .map((part) => {
      if (part.startsWith('$') && part.endsWith('$') && part.length > 1) return renderKatex(part.slice(1, -1), false);
      return escapeHtml(part)
        .replace(/\[([^\]]+)\]\(([\w.-]+)\.md\)/g, '<a href="$2.html">$1</a>')
        .replace(/`([^`]+)`/g, '<code>$1</code>')
        .replace(/eq\. (\d+)/g, '<a href="#eq-$1">eq. $1</a>');
    })
    .join('');
}

// ---- Markdown ----

function blockMd(b: Block): string {
  switch (b.kind) {
    case 'h2':
      return `## ${b.text}`;
    case 'p':
      return b.text;
    case 'eq':
      return `<a id="${b.id}"></a>\n\n$$\n${b.latex} \\tag{${b.number}}\n$$`;
    case 'table':
      return [`| ${b.header.join(' | ')} |`, `|${b.header.map(() => '---').join('|')}|`, ...b.rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  }
}

export function renderMarkdown(doc: DerivationDoc, header: string): string {
  return [`<!-- ${header} -->`, '', `# ${doc.title}`, '', ...doc.blocks.flatMap((b) => [blockMd(b), '']), `Rendered: [${doc.name}.html](${doc.name}.html). All derivations: [index](index.html).`, ''].join('\n');
}

// ---- HTML ----

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.55; color: #1b1b1b; }
nav { font-size: 0.95rem; margin-bottom: 1.5rem; }
nav a { margin-right: 0.8rem; }
h1 { font-size: 1.6rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
.equation { margin: 0.8rem 0; }
.equation details { font-size: 0.8rem; color: #555; margin-left: 1rem; }
.equation code { word-break: break-all; }
.katex-display { overflow-x: auto; overflow-y: hidden; padding: 0.3rem 0; }
table { border-collapse: collapse; margin: 1rem 0; }
td, th { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: left; }
code { background: #f3f3f3; padding: 0 0.2rem; }
`;

/** KaTeX's stylesheet with its woff2 fonts inlined (for a single self-contained file). */
function inlineKatexCss(): string {
  const css = readFileSync(join(KATEX_DIST, 'katex.min.css'), 'utf8');
  return css.replace(/url\(fonts\/([\w-]+)\.woff2\) format\("woff2"\)/g, (_, font: string) => {
    const data = readFileSync(join(KATEX_DIST, 'fonts', `${font}.woff2`)).toString('base64');
    return `url(data:font/woff2;base64,${data}) format("woff2")`;
  });
}

function blockHtml(b: Block): string {
  switch (b.kind) {
    case 'h2':
      return `<h2 id="${b.id}">${escapeHtml(b.text)}</h2>`;
    case 'p':
      return `<p>${proseHtml(b.text)}</p>`;
    case 'eq':
      return `<div class="equation" id="${b.id}">${renderKatex(`${b.latex} \\tag{${b.number}}`, true)}<details><summary>as ssim-grad evaluates it (mathjs)</summary><code>${escapeHtml(b.twin)}</code></details></div>`;
    case 'table':
      return `<table><thead><tr>${b.header.map((h) => `<th>${proseHtml(h)}</th>`).join('')}</tr></thead><tbody>${b.rows
        .map((r) => `<tr>${r.map((c) => `<td>${proseHtml(c)}</td>`).join('')}</tr>`)
        .join('')}</tbody></table>`;
  }
}

export interface HtmlOptions {
  /** Other documents to link in the navigation (name, title). */
  readonly siblings?: ReadonlyArray<{ name: string; title: string }>;
  /** Inline KaTeX's CSS and fonts (one self-contained file) instead of linking katex/katex.min.css. */
  readonly standalone?: boolean;
}

function page(title: string, header: string, body: string, standalone: boolean): string {
  const css = standalone ? `<style>${inlineKatexCss()}</style>` : '<link rel="stylesheet" href="katex/katex.min.css">';
  return `<!DOCTYPE html>
<!-- ${header} -->
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
${css}
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

export function renderHtml(doc: DerivationDoc, header: string, opts: HtmlOptions = {}): string {
  const nav = opts.siblings
    ? `<nav><a href="index.html">All derivations</a>${opts.siblings
        .filter((s) => s.name !== doc.name)
        .map((s) => `<a href="${s.name}.html">${escapeHtml(s.name)}</a>`)
        .join('')}</nav>`
    : '';
  return page(doc.title, header, `${nav}\n<h1>${escapeHtml(doc.title)}</h1>\n${doc.blocks.map(blockHtml).join('\n')}`, opts.standalone ?? false);
}

export function renderIndexHtml(docs: readonly DerivationDoc[], header: string, sample: string): string {
  const items = docs.map((d) => `<li><a href="${d.name}.html">${escapeHtml(d.title)}</a> (<a href="${d.name}.md">markdown</a>)<br><small>${proseHtml(d.summary)}</small></li>`).join('\n');
  const body = `<h1>ssim-grad: derivations of the SSIM gradient</h1>
<p>Each document derives an exact gradient line by line, printed from the graph ssim-grad evaluates: SSIM for one family of presets, or a variant from its declaration. SSIM's gradient, as reverse mode over its graph gives it:</p>
<div class="equation">${renderKatex(sample, true)}</div>
<ul>
${items}
</ul>`;
  return page('ssim-grad derivations', header, body, false);
}

// ---- LaTeX ----

const texEscape = (s: string): string => s.replace(/([&%#_{}])/g, '\\$1');

function proseTex(text: string): string {
  return text
    .split(/(\$[^$]+\$)/)
    .map((part) =>
      part.startsWith('$') && part.endsWith('$') && part.length > 1 ? part : texEscape(part.replace(/\[([^\]]+)\]\([^)]+\)/g, '$1')).replace(/`([^`]+)`/g, '\\texttt{$1}'),
    )
    .join('');
}

function blockTex(b: Block): string {
  switch (b.kind) {
    case 'h2':
      return `\\section*{${texEscape(b.text)}}`;
    case 'p':
      return proseTex(b.text);
    case 'eq':
      return `\\begin{equation}\\label{${b.id}}\\tag{${b.number}}\n${b.latex}\n\\end{equation}`;
    case 'table':
      return `\\begin{tabular}{${b.header.map(() => 'l').join('')}}\n${b.header.map(proseTex).join(' & ')} \\\\ \\hline\n${b.rows.map((r) => `${r.map(proseTex).join(' & ')} \\\\`).join('\n')}\n\\end{tabular}`;
  }
}

export function renderLatex(doc: DerivationDoc, header: string): string {
  return [
    `% ${header}`,
    '\\documentclass{article}',
    '\\usepackage{amsmath,amssymb}',
    '\\begin{document}',
    `\\title{${texEscape(doc.title)}}\\date{}\\maketitle`,
    ...doc.blocks.map(blockTex),
    '\\end{document}',
    '',
  ].join('\n\n');
}
