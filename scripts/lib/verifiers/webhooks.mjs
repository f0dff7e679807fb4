// Verifies webhook deliveries as a receiver written for Node would, with the Standard Webhooks
// reference library. Reads a JSON list of {secret, headers, body} on stdin; prints a JSON list
// with, for each, true or the library's refusal.
//
// usage: node webhooks.mjs < deliveries.json
import { createRequire } from "node:module";
import { join } from "node:path";

// The library is installed in JWT_VERIFIERS (scripts/lib/verifiers.sh), not beside this file.
const require = createRequire(join(process.env.JWT_VERIFIERS, "package.json"));
const { Webhook } = await import(require.resolve("standardwebhooks"));

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map(({ secret, headers, body }) => {
  try {
    new Webhook(secret).verify(body, headers);
    return true;
  } catch (e) {
    return `${e.name}: ${e.message}`;
  }
});
console.log(JSON.stringify(results));
