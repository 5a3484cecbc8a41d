#!/usr/bin/env node
// Launcher for `npx iotguard`: loads the TypeScript CLI through tsx (as `npm run cluster-head` does).
require("tsx/cjs/api").register();
require("./main.ts").run();
