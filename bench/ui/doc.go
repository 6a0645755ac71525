// Package uibench measures the web UI's trace view in headless Chromium
// against the budgets of issue 13: a 10,000-span trace interactive within
// 1 s of its data arriving, a 100,000-span trace within 3 s, and the
// timeline's frame times while scrolling and zooming at p95 under 16 ms.
//
// The measurement is TestUIBench, behind the build tag uibench (bench/ui.sh
// runs it). The package itself holds the generator of large traces, shared
// with the browser tests in e2e.
package uibench
