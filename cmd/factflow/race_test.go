//go:build race

package main

// raceEnabled: the tests run with -race, so the binary they build for
// end-to-end runs is built with it too.
const raceEnabled = true
