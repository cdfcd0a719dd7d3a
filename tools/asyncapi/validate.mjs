// Parse an AsyncAPI document with the official parser; print what it found as JSON.
// Exit 1 when the parser reports an error (severity 0), 0 otherwise.
import { Parser, fromFile } from "@asyncapi/parser";

const path = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await fromFile(parser, path).parse();
const errors = diagnostics
  .filter((d) => d.severity === 0)
  .map((d) => ({ code: d.code, message: d.message, path: d.path.join("/") }));
const channels = document
  ? document.channels().all().map((c) => ({ id: c.id(), address: c.address() }))
  : [];
console.log(JSON.stringify({ version: document ? document.version() : null, errors, channels }));
process.exit(errors.length === 0 && document ? 0 : 1);
