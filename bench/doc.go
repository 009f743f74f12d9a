// Command bench measures sandbox-templates on this machine and prints one
// Markdown table: offline validation of many files, apply against the
// emulator with a chosen latency (at concurrency 1, at the default and
// against the round-trip lower bound), a bash+curl loop doing the same work,
// a no-op re-run, waiting for slow builds, a rate-limited sync, and process
// start-up and binary size.
//
// Run it from the module root:
//
//	go run ./bench            # the full run, about 2 to 3 minutes
//	go run ./bench --quick    # a scaled-down run, about 30 seconds
//
// The binary is built once into a temporary directory and run as a
// subprocess, the way the GitHub runner runs it; the emulator runs in this
// process, so its counters can be read between phases.
package main
