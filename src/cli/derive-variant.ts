/**
 * `derive --variant-file FILE`: the derivation document of a user's variant, the library's
 * deriveVariant (src/derive/variant-doc.ts): its prose, then what its field graph gives.
 */
import type { DerivationDoc } from '../derive/model.js';
import { deriveVariant } from '../derive/files.js';
import type { SsimOptions } from '../ssim/options.js';
import type { VariantDeclaration } from '../variants/types.js';

/** The derivation document of a declaration under these SSIM options. */
export function variantDerivation(decl: VariantDeclaration, options: SsimOptions): DerivationDoc {
  return deriveVariant(decl, { options: { ...options } });
}
