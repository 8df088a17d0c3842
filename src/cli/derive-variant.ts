/**
 * `derive --variant-file FILE`: the derivation document of a user's variant. The document itself
 * is the library's (engineer B's deriveVariant, src/derive); until it lands this adapter builds a
 * minimal one from the declaration (its summary, options and prose) so that the command works.
 * MERGE: replace the body of variantDerivation with `return deriveVariant(decl, options);`.
 */
import type { DerivationDoc, Block } from '../derive/model.js';
import type { SsimOptions } from '../ssim/options.js';
import { flagOf } from '../variants/define.js';
import type { VariantDeclaration } from '../variants/types.js';

/** The derivation document of a declaration under these SSIM options. */
export function variantDerivation(decl: VariantDeclaration, options: SsimOptions): DerivationDoc {
  return provisionalDerivation(decl, options);
}

/** The stand-in: the declaration's own words, and where its gradient comes from. */
function provisionalDerivation(decl: VariantDeclaration, options: SsimOptions): DerivationDoc {
  const blocks: Block[] = [{ kind: 'p', text: `The variant \`${decl.name}\`: ${decl.summary}.` }];
  const opts = Object.entries(decl.options ?? {});
  if (opts.length > 0) {
    blocks.push({
      kind: 'table',
      header: ['option', 'flag', 'kind', 'default', 'meaning'],
      rows: opts.map(([key, o]) => [key, `--${flagOf(key, o)}`, o.kind, o.default === undefined ? '(required)' : String(o.default), o.help]),
    });
  }
  let n = 0;
  for (const b of decl.doc ?? []) {
    if ('p' in b) blocks.push({ kind: 'p', text: b.p });
    else if ('h2' in b) blocks.push({ kind: 'h2', text: b.h2, id: b.h2.toLowerCase().replace(/[^a-z0-9]+/g, '-') });
    else {
      n++;
      blocks.push({ kind: 'eq', id: `eq-${n}`, number: n, latex: b.eq, twin: b.twin ?? '', samples: () => [] });
    }
  }
  blocks.push({
    kind: 'p',
    text: `Its exact gradient with respect to both images is reverse mode over the variant's field graph, under the ${options.preset ?? 'pytorch-ssim'} preset's SSIM: each linear operator contributes its transpose, each pointwise map its partials.`,
  });
  return { name: decl.name, title: `${decl.name}: ${decl.summary}`, summary: decl.summary, blocks };
}
