/**
 * `derive --variant-file FILE [its flags]`: the derivation document of a user's variant, the
 * library's deriveVariant (src/derive/variant-doc.ts), under the values its flags give: its prose,
 * then what its field graph gives.
 */
import type { DerivationDoc } from '../derive/model.js';
import { deriveVariant } from '../derive/files.js';
import { InputError } from '../field/index.js';
import type { SsimOptions } from '../model/options.js';
import { flagOf } from '../variants/define.js';
import type { VariantDeclaration } from '../variants/types.js';
import { number, numbers, type Parsed } from './args.js';

/**
 * The declaration's number options named by their flags, at their keys. A field option has no
 * image to broadcast against here (the document draws one for its sample images), so its flag is
 * refused, naming it.
 */
export function declarationValues(parsed: Parsed, decl: VariantDeclaration): Record<string, number | number[]> {
  const values: Record<string, number | number[]> = {};
  for (const [key, o] of Object.entries(decl.options ?? {})) {
    const flag = flagOf(key, o);
    const v = parsed.values.get(flag);
    if (v === undefined) continue;
    if (o.kind === 'field') throw new InputError(`--${flag}: derive takes no field option (the document draws ${o.noun ?? 'one'} for its sample images); leave it out`);
    if (o.kind === 'number') values[key] = number(parsed, flag)!;
    else values[key] = numbers(parsed, flag)!;
  }
  return values;
}

/** The derivation document of a declaration under these SSIM options and its own option values (by key). */
export function variantDerivation(decl: VariantDeclaration, options: SsimOptions, values: Readonly<Record<string, unknown>> = {}): DerivationDoc {
  return deriveVariant(decl, { options: { ...options, ...values } });
}
