// Runs SQL statements on chdb (in-process ClickHouse) in one session.
// Input on stdin: JSON [{"name": "...", "sql": "..."}]. Output on stdout:
// JSON {"version": "...", "results": [{"name", "error", "output"}]}; a
// statement's failure is reported, not thrown, and the next one still runs.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { Session } = require("chdb");

const stmts = JSON.parse(fs.readFileSync(0, "utf8"));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tracer-chdb-"));
let session;
try {
  session = new Session(dir);
  const version = session.query("SELECT version()", "TabSeparated").trim();
  const results = stmts.map((s) => {
    try {
      return { name: s.name, error: "", output: session.query(s.sql, "JSONEachRow") };
    } catch (e) {
      return { name: s.name, error: String((e && e.message) || e), output: "" };
    }
  });
  process.stdout.write(JSON.stringify({ version, results }));
} finally {
  if (session) {
    try { session.cleanup(); } catch (e) { /* the temp dir is removed below */ }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
