// Render LaTeX strings with KaTeX as a page would, refusing anything KaTeX
// would only warn about.  Input on stdin: a JSON list of
// {"tex": "...", "display": true|false}.  Output on stdout: a JSON list of
// the same length, null where the string rendered, else the error message.
"use strict";
const katex = require("katex");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const items = JSON.parse(input);
  const results = items.map(({ tex, display }) => {
    try {
      katex.renderToString(tex, { throwOnError: true, strict: "error", displayMode: !!display });
      return null;
    } catch (err) {
      return String(err.message || err);
    }
  });
  process.stdout.write(JSON.stringify(results));
});
