// Runs every graphql-http server audit (GraphQL over HTTP conformance)
// against a running server and fails unless each one comes back ok.
//
//   node audit.mjs http://127.0.0.1:8080/graphql
import { serverAudits } from 'graphql-http';

const url = process.argv[2] ?? process.env.GRAPHQL_URL ?? 'http://127.0.0.1:8080/graphql';
let failed = 0;
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  if (result.status === 'ok') {
    console.log(`ok      ${audit.name}`);
  } else {
    failed += 1;
    console.log(`${result.status.padEnd(7)} ${audit.name}\n        ${result.reason}`);
  }
}
const total = serverAudits({ url }).length;
console.log(`\n${total - failed} of ${total} audits ok`);
process.exit(failed === 0 ? 0 : 1);
