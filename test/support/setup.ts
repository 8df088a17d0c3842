// fast-check: in CI (CI=true) every property runs from one fixed seed, so a submission's CI is
// reproducible; on a developer's machine each run draws a new seed and explores further. A failure
// prints its seed and path either way.
import fc from 'fast-check';

if (process.env.CI) fc.configureGlobal({ seed: 20261125 });
