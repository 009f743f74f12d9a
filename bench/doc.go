// Command bench measures sandbox-templates on this machine and prints one
// Markdown table: offline validation of many files, apply against the
// emulator with a chosen latency (at concurrency 1, at the default and
// against the round-trip lower bound), a bash+curl loop doing the same work,
// a no-op re-run, waiting for slow builds, a rate-limited sync, process
// start-up and binary size; then a request-economy section, what syncs of
// 10 templates cost in requests by the emulator's counters (new, nothing
// changed, one changed, waiting, and under a per-minute limit announced in
// headers or not), each against its target; last, a requests-per-run
// section, what runs of the action cost in Miosa and GitHub requests for 10
// and 1000 template files (all new, a new commit with nothing changed, one
// file changed), by the emulator's and a fake GitHub's counters, against
// their formulas. That section makes the bench exit 1 when a run makes more
// than 10 GitHub requests or a run with nothing changed writes. Last, a scale
// section: 1,000 and 10,000 files (new, no-op, one changed), an account of
// 10,000 templates, a template with 10,000 builds and one changed file under
// 60 requests a minute, each with wall time against its floor, requests,
// peak RSS, connections, and summary and output sizes; a missed target
// makes the bench exit 1.
//
// Run it from the module root:
//
//	go run ./bench            # the full run, about 4 to 5 minutes
//	go run ./bench --quick    # a scaled-down run, about 70 seconds
//	go run ./bench --phases 8 # the request-economy section alone, about 50 seconds
//	go run ./bench --phases 9 # the requests-per-run section alone, about 10 seconds
//	go run ./bench --phases 10 # the scale section alone, about a minute
//
// The binary is built once into a temporary directory and run as a
// subprocess, the way the GitHub runner runs it; the emulator and the fake
// GitHub run in this process, so their counters can be read between phases.
package main
