/** The readable form of a check report (the CLI prints it; --json prints the report itself). */
import type { HeatmapInfo } from './heatmap.js';
import type { CheckReport, Diagnosis, ForwardCheckReport } from './schema.js';
import { CHECKER_KINDS, e2 } from './wording.js';

/** The verdict's line: MATCH, INCONCLUSIVE (within the allowance, which is too large to judge by) or MISMATCH. */
function verdictLine(verdict: CheckReport['verdict'], times: number, factor: number): string {
  if (verdict === 'match') return `verdict: MATCH, the difference is float32 rounding (${times.toPrecision(2)} x the floor at most; allowed ${factor} x)`;
  if (verdict === 'inconclusive') {
    return `verdict: INCONCLUSIVE, within the allowance (${times.toPrecision(2)} x the floor; ${factor} x allowed), but float32 rounding is too large on these inputs to judge by (see the diagnosis)`;
  }
  return `verdict: MISMATCH, ${times >= 100 ? times.toExponential(1) : times.toPrecision(3)} x the rounding floor (a match allows ${factor} x)`;
}

/** The diagnosis as check prints it: a bullet per entry, its why and its correct formula indented under it. */
function diagnosisLines(diagnosis: readonly Diagnosis[]): string[] {
  return diagnosis.flatMap((d) => [
    ...wrap(`${CHECKER_KINDS.includes(d.kind) ? `${d.kind}: ` : ''}${d.message}`, '    ').map((l, i) => (i === 0 ? `  * ${l.slice(4)}` : l)),
    ...(d.explanation === undefined ? [] : wrap(`why: ${d.explanation}`, '      ')),
    ...(d.correctFormula === undefined ? [] : wrap(`correct: ${d.correctFormula}`, '      ')),
  ]);
}

/** Breaks text into lines of at most `width` characters, each starting with `indent`. */
export function wrap(text: string, indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

/** What the report names: the candidate and the images as the user gave them. */
export interface ReportNames {
  readonly candidate: string;
  readonly x: string;
  readonly y: string;
}

/** The report as text, a few screens at most. */
export function formatCheckReport(r: CheckReport, names: ReportNames, heatmap?: { path: string; info: HeatmapInfo }): string {
  const c = r.configuration;
  const out: string[] = [];
  const v = r.variant;
  const opts = v === undefined ? '' : Object.entries(v.options).map(([k, val]) => `${k} ${Array.isArray(val) ? val.join(',') : String(val)}`).join(', ');
  out.push(`ssim-grad check: ${names.candidate} against the exact d ${v?.name ?? 'ssim'}/d${r.wrt}${opts !== '' ? ` (${opts})` : ''}`);
  out.push(`  images ${names.x}, ${names.y}: shape [${r.shape.join(', ')}], ${v !== undefined ? `${v.name} ${v.value.toPrecision(10)}, ` : ''}ssim ${r.ssim.toPrecision(10)}`);
  out.push(`  ${c['preset']}: ${c['window']} ${c['size']}${c['window'] === 'gaussian' ? ` (sigma ${c['sigma']})` : ''}, padding ${c['padding']}, C1 ${e2(c['C1'] as number)}, C2 ${e2(c['C2'] as number)}` +
    `${c['sampleCovariance'] ? ', sample covariance' : ''}${(c['crop'] as number) > 0 ? `, crop ${c['crop']}` : ''}${c['downsample'] !== '1' ? `, downsample ${c['downsample']}` : ''}, reduction ${c['reduction']}`);
  out.push('');
  const times = Math.max(r.errorOverFloor.maxAbs, r.errorOverFloor.l2);
  out.push(verdictLine(r.verdict, times, r.allowance.factor));
  out.push(`                       candidate error   rounding floor   allowed (${r.allowance.factor} x floor)`);
  out.push(`  max abs              ${e2(r.maxAbsError).padEnd(17)} ${e2(r.roundingFloor.maxAbs).padEnd(16)} ${e2(r.allowance.maxAbs)}    (max |exact| ${e2(r.maxAbsExact)})`);
  out.push(`  L2, relative         ${e2(r.relError).padEnd(17)} ${e2(r.roundingFloor.relL2).padEnd(16)} ${e2(r.allowance.factor * r.roundingFloor.relL2)}`);
  if (r.subsample !== undefined) {
    out.push(...wrap(`subsample: ${r.subsample.note} (the tiles reproduce the exact gradient to ${e2(r.subsample.exactAgreement)} relative L2)`, '  '));
  }
  // a variant's floor is its graph in float32 arithmetic (src/check/variant-model.ts); plain SSIM's its generated float32 kernel
  const how = v === undefined ? '' : "; the variant's graph in float32 arithmetic";
  out.push(...wrap(`floor: the exact gradient computed in float32 arithmetic (Math.fround after every operation${how}) minus the float64 one, on these inputs`, '  '));
  out.push('');
  out.push('diagnosis:', ...diagnosisLines(r.diagnosis));
  if (r.verdict === 'mismatch') {
    out.push('');
    out.push(`where (relative L2 error, max abs error in brackets; border band ${r.regions.band} px):`);
    out.push(`  ${'channel'.padEnd(10)}${'interior'.padEnd(24)}border band`);
    const cell = (s: { relL2: number; maxAbs: number; count: number }): string => (s.count === 0 ? '-' : `${e2(s.relL2)} (${e2(s.maxAbs)})`);
    for (const ch of r.regions.channels) out.push(`  ${String(ch.channel).padEnd(10)}${cell(ch.interior).padEnd(24)}${cell(ch.border)}`);
    out.push(`  ${'all'.padEnd(10)}${cell(r.regions.interior).padEnd(24)}${cell(r.regions.border)}`);
    out.push('');
    out.push(`nearest known mistakes (relative L2 distance; a name needs ${e2(r.mistakeTolerance.value)}, ${r.mistakeTolerance.reason}):`);
    for (const m of r.mistakes.slice(0, 4)) {
      const s = m.scaled !== null && m.scaled.distance < 0.5 * m.distance ? `, ${e2(m.scaled.distance)} after scaling by ${m.scaled.k.toPrecision(4)}` : '';
      // a mistake larger than the exact gradient is held to the allowance over its own norm
      const needs = m.tolerance < 0.99 * r.mistakeTolerance.value ? ` (needs ${e2(m.tolerance)})` : '';
      out.push(`  ${e2(m.distance).padEnd(10)}${m.kind}${s}${needs}`);
    }
  }
  if (heatmap !== undefined) {
    out.push('');
    out.push(...wrap(`heatmap: ${heatmap.path} (${heatmap.info.width} x ${heatmap.info.height}): |candidate - exact| per channel (columns) and image (rows), ` +
      `${heatmap.info.scale} x ${heatmap.info.scale} screen pixels per pixel, linear from 0 (black) to ${e2(heatmap.info.max)} (pale yellow), the border band's inner edge dotted blue`, ''));
  }
  return out.join('\n');
}

/** What a JVP or HVP report names: the candidate, the images and the direction files. */
export interface ForwardReportNames extends ReportNames {
  /** --dx and --dy (JVP) or --v (HVP), as given. */
  readonly directions: string;
}

/** The report of `check --jvp` or `check --hvp` as text (the gradient report's layout, one number for a JVP). */
export function formatForwardReport(r: ForwardCheckReport, names: ForwardReportNames): string {
  const c = r.configuration;
  const out: string[] = [];
  const v = r.variant;
  const name = v?.name ?? 'ssim';
  const opts = v === undefined ? '' : Object.entries(v.options).map(([k, val]) => `${k} ${Array.isArray(val) ? val.join(',') : String(val)}`).join(', ');
  const what = r.mode === 'jvp' ? `JVP of ${name} in the direction ${names.directions}` : `HVP of ${name} (d^2 ${name}/d${r.wrt}^2 times ${names.directions})`;
  out.push(`ssim-grad check --${r.mode}: ${names.candidate} against the exact ${what}${opts !== '' ? ` (${opts})` : ''}`);
  out.push(`  images ${names.x}, ${names.y}: shape [${r.shape.join(', ')}], ${v !== undefined ? `${v.name} ${v.value.toPrecision(10)}, ` : ''}ssim ${r.ssim.toPrecision(10)}`);
  out.push(`  ${c['preset']}: ${c['window']} ${c['size']}${c['window'] === 'gaussian' ? ` (sigma ${c['sigma']})` : ''}, padding ${c['padding']}, C1 ${e2(c['C1'] as number)}, C2 ${e2(c['C2'] as number)}` +
    `${c['sampleCovariance'] ? ', sample covariance' : ''}${(c['crop'] as number) > 0 ? `, crop ${c['crop']}` : ''}${c['downsample'] !== '1' ? `, downsample ${c['downsample']}` : ''}, reduction ${c['reduction']}`);
  if (r.jvp !== undefined) out.push(`  candidate JVP ${r.jvp.candidate.toPrecision(10)}, exact ${r.jvp.exact.toPrecision(10)}`);
  out.push('');
  const times = Math.max(r.errorOverFloor.maxAbs, r.errorOverFloor.l2);
  out.push(verdictLine(r.verdict, times, r.allowance.factor));
  out.push(`                       candidate error   rounding floor   allowed (${r.allowance.factor} x floor)`);
  out.push(`  ${(r.mode === 'jvp' ? 'abs' : 'max abs').padEnd(21)}${e2(r.maxAbsError).padEnd(17)} ${e2(r.roundingFloor.maxAbs).padEnd(16)} ${e2(r.allowance.maxAbs)}    (${r.mode === 'jvp' ? '|exact|' : 'max |exact|'} ${e2(r.maxAbsExact)})`);
  out.push(`  ${(r.mode === 'jvp' ? 'relative' : 'L2, relative').padEnd(21)}${e2(r.relError).padEnd(17)} ${e2(r.roundingFloor.relL2).padEnd(16)} ${e2(r.allowance.factor * r.roundingFloor.relL2)}`);
  out.push(...wrap(r.mode === 'jvp'
    ? "floor: the exact JVP computed in float32 arithmetic (forward mode, Math.fround after every operation) minus the float64 one, and no less than sqrt(sum ((g32 - g) d)^2), the spread its per-pixel shares' float32 rounding gives, on these inputs"
    : 'floor: the exact HVP computed in float32 arithmetic (forward over reverse, Math.fround after every operation) minus the float64 one, on these inputs', '  '));
  out.push('');
  out.push('diagnosis:', ...diagnosisLines(r.diagnosis));
  if (r.verdict === 'mismatch') {
    out.push('');
    out.push(`nearest known mistakes (relative distance; a name needs ${e2(r.mistakeTolerance.value)}, ${r.mistakeTolerance.reason}):`);
    for (const m of r.mistakes.slice(0, 4)) {
      const s = m.scaled !== null && m.scaled.distance < 0.5 * m.distance ? `, ${e2(m.scaled.distance)} after scaling by ${m.scaled.k.toPrecision(4)}` : '';
      const needs = m.tolerance < 0.99 * r.mistakeTolerance.value ? ` (needs ${e2(m.tolerance)})` : '';
      out.push(`  ${e2(m.distance).padEnd(10)}${m.kind}${s}${needs}`);
    }
  }
  return out.join('\n');
}
