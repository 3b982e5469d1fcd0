/**
 * zod as jgo's contracts use it: `zod/mini`, with zod's English messages and without its JIT.
 * Every module that declares a schema imports zod from here, so the configuration is always in
 * force before a schema parses anything.
 *
 * Why mini: every jgo process parses an envelope, so every process builds the envelope's schema
 * (about a hundred schema objects) as it starts. zod's classic API gives each schema object some
 * forty methods of its own as it is made; mini gives it a handful and keeps the rest as
 * functions (`z.optional(s)` for `s.optional()`). The same schemas, the same checks and messages,
 * for a fraction of the CPU and memory at start.
 *
 * Why no JIT: a process parses a handful of envelopes. zod compiles each object schema into a
 * function the first time it is used (`new Function`, which no compile cache keeps), which costs
 * more than interpreting it those few times.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';

// mini ships without a locale: its messages would all be "Invalid input".
z.config({ ...en(), jitless: true });

export * from 'zod/mini';
