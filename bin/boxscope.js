#!/usr/bin/env node
// Entry point: the CLI bundled by `npm run build` (tsc into dist/, then scripts/bundle.mjs into
// dist/bundle/; the bundle is what starts fast, see scripts/bundle.mjs).
import { main } from "../dist/bundle/main.js";

process.exitCode = await main(process.argv);
