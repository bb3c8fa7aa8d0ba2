// Loaded first (`node --import`) into the test processes of test/native/sanitize.test.ts:
// sanitized-addons.ts says why.
import { takeAsanPreload } from "./sanitized-addons.js";

takeAsanPreload();
